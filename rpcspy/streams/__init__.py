"""A connection's bytes to call records, for the protocols that run on TCP or UDP themselves
(ONC RPC, RPyC): the one owner of that concern (docs/architecture.md, "The protocol seam").

The proxy's TCP and UDP modes and ``rpcspy import`` feed a ``Conversation`` each direction's bytes
as they cross the wire; it decodes them with the protocol's codec (``rpcspy.oncrpc``,
``rpcspy.rpyc``), pairs calls with replies and gives back ``CallRecord``s built by
``rpcspy.capture.record.build_native_record``, ready for the capture writer (``seq`` 0: the
writer numbers them). It never raises on what arrives, and holds bounded memory.

    conversation = oncrpc_conversation(client=peer, server=target, transport="tcp")
    for record in conversation.feed("client", chunk, time.time()): ...
    for record in conversation.close(time.time()): ...
"""

from rpcspy.streams.base import CLOSED_BEFORE_REPLY, Conversation, Side
from rpcspy.streams.detect import DETECT_BYTES, detect
from rpcspy.streams.oncrpc import OncRpcConversation, oncrpc_conversation
from rpcspy.streams.rpyc import RpycConversation, rpyc_conversation

__all__ = [
    "CLOSED_BEFORE_REPLY",
    "DETECT_BYTES",
    "Conversation",
    "OncRpcConversation",
    "RpycConversation",
    "Side",
    "detect",
    "oncrpc_conversation",
    "rpyc_conversation",
]
