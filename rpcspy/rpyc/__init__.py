"""The sans-IO RPyC codec: bytes of a classic-mode connection in, typed operations out.

Layers, lowest first (each a module):

- ``framing``: rpyc's channel frames (``!LB`` header, zlib for large payloads, a newline), cut
  out of each direction's byte stream fed in chunks of any size, under ``Limits``;
- ``messages``: a frame's message, ``MSG_REQUEST`` / ``MSG_REPLY`` / ``MSG_EXCEPTION`` with its
  seq, handler (``rpyc.core.consts``) and boxed arguments, read by rpyc's own ``brine.load``
  behind a guard (``_brine``); ``values``: boxes, netref ids and their JSON form;
- ``session``: a connection as operations (request + outcome + raw frames), netrefs named by
  the expression that produced them (``modules.sys.stdout``); ``story`` folds them into what a
  person wrote (``for item in modules.sys.path -> [...]``);
- ``replay``: a plan for replaying a recorded session against a fresh server, with the netref ids
  it maps and what it cannot reproduce (docs/rpyc.md).

It imports nothing of rpcspy and no I/O: the proxy feeds it bytes, the capture stores what it
returns (``Operation.to_json``). Bad bytes never raise out of a ``Session``: they come out as
``Problem`` values and reading goes on with the next frame.
"""

from rpcspy.rpyc._rpyc import HANDLER_NAMES, RPYC_VERSION
from rpcspy.rpyc.errors import KINDS, Problem, RpycError, Side
from rpcspy.rpyc.framing import DEFAULT_LIMITS, Frame, FrameDecoder, Limits, encode_frame
from rpcspy.rpyc.messages import (
    HANDLERS,
    ExceptionReply,
    Handler,
    Message,
    RemoteError,
    Reply,
    Request,
    decode_message,
    encode_message,
)
from rpcspy.rpyc.session import Netref, Operation, Outcome, RawFrame, Session, decode_streams
from rpcspy.rpyc.story import story
from rpcspy.rpyc.values import Boxed, BoxedTuple, IdPack, Plain, Ref

__all__ = [
    "DEFAULT_LIMITS",
    "HANDLERS",
    "HANDLER_NAMES",
    "KINDS",
    "RPYC_VERSION",
    "Boxed",
    "BoxedTuple",
    "ExceptionReply",
    "Frame",
    "FrameDecoder",
    "Handler",
    "IdPack",
    "Limits",
    "Message",
    "Netref",
    "Operation",
    "Outcome",
    "Plain",
    "Problem",
    "RawFrame",
    "Ref",
    "RemoteError",
    "Reply",
    "Request",
    "RpycError",
    "Session",
    "Side",
    "decode_message",
    "decode_streams",
    "encode_frame",
    "encode_message",
    "story",
]
