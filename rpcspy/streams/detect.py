"""Which protocol a TCP connection speaks, from the first bytes its client sent.

An ONC RPC client's first record starts with a record-marking header (the last-fragment bit and
a length), then the call's xid, message type CALL (0) and RPC version 2: sixteen bytes of which
eight are fixed. An RPyC client's first frame is rpyc's channel header (a 4-byte length, a
compression flag of 0 or 1) and a message whose type byte is a request, reply or exception
(1-3), and the frame ends with a newline when all of it is there. ONC RPC is tried first since it
fixes more bytes. Too few bytes, or anything else: None.
"""

from __future__ import annotations

import struct
from typing import Final

from rpcspy.oncrpc import DEFAULT_LIMITS as ONCRPC_LIMITS
from rpcspy.rpyc import DEFAULT_LIMITS as RPYC_LIMITS

__all__ = ["DETECT_BYTES", "detect"]

#: Bytes ``detect`` needs to decide (fewer: it says None).
DETECT_BYTES: Final = 16

_ONC_HEADER: Final = struct.Struct(">IIII")
_RPYC_HEADER: Final = struct.Struct("!LB")
_LAST_FRAGMENT: Final = 0x80000000
_CALL_HEADER_BYTES: Final = 40  # xid .. an empty verifier: the smallest call


def _is_oncrpc(head: bytes) -> bool:
    mark, _xid, mtype, rpcvers = _ONC_HEADER.unpack_from(head)
    length = mark & ~_LAST_FRAGMENT & 0xFFFFFFFF
    # A first fragment holds the call header at least, unless the client fragments tiny.
    return (
        mtype == 0
        and rpcvers == 2
        and 12 <= length <= ONCRPC_LIMITS.max_message
        and (length >= _CALL_HEADER_BYTES or not mark & _LAST_FRAGMENT)
    )


def _is_rpyc(head: bytes) -> bool:
    length, flag = _RPYC_HEADER.unpack_from(head)
    if flag not in (0, 1) or not 2 <= length <= RPYC_LIMITS.max_frame_bytes:
        return False
    if flag == 0 and head[5] not in (1, 2, 3):
        return False
    end = _RPYC_HEADER.size + length
    return len(head) <= end or bool(head[end] == 0x0A)


def detect(first_bytes: bytes) -> str | None:
    """``"oncrpc"``, ``"rpyc"`` or None, from the first bytes of a TCP stream (the client's)."""
    head = bytes(first_bytes[:65536])
    if len(head) < DETECT_BYTES:
        return None
    if _is_oncrpc(head):
        return "oncrpc"
    if _is_rpyc(head):
        return "rpyc"
    return None
