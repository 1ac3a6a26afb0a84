"""A guard around rpyc's ``brine.load`` for bytes from the network.

Strategy: rpyc's own ``brine.load`` reads the bytes (fast path), inside a guard: the input is
already bounded by the frame limits, every item brine builds costs at least one input byte (so
memory stays linear in the input), a declared length past the end reads short, and whatever it
raises (``TypeError`` for an unknown tag, ``struct.error`` when cut off, ``RecursionError`` when
nested too deep, ``UnicodeDecodeError``, ``ValueError`` from ``int``) is caught. Only then, to say
*where* and *why*, an iterative scan walks brine's tags without building anything and names the
byte offset of the first fault.

``strict=True`` runs the scan first: it also finds bytes after the value (rpyc ignores them) and
refuses nesting over ``MAX_DEPTH`` before ``brine.load`` recurses into it. It costs about as much
as ``brine.load`` itself, so the session reader leaves it off by default.
"""

from __future__ import annotations

import struct
from typing import Final

from rpcspy.rpyc._rpyc import brine_load
from rpcspy.rpyc.errors import RpycError

__all__ = ["DEFAULT_MAX_VALUES", "MAX_DEPTH", "SCAN_ABOVE", "load_brine", "scan_brine"]

#: Deepest nesting of tuples (and frozensets, slices, str) the scan accepts.
MAX_DEPTH: Final = 100
#: Values over this many bytes are scanned before brine.load builds them.
SCAN_ABOVE: Final = 256 * 1024
#: The most values (each a Python object brine builds) one message may hold, by default.
DEFAULT_MAX_VALUES: Final = 2_000_000

# Tag kinds, indexed by tag byte.
_FIXED, _LEN1, _LEN4, _TUPN, _TUPL1, _TUPL4, _STR, _WRAP, _UNKNOWN = range(9)


def _tables() -> tuple[bytes, bytes]:
    kind = [_UNKNOWN] * 256
    size = [0] * 256
    for tag in range(0x00, 0x07):  # None, b"", (), True, False, NotImplemented, Ellipsis
        kind[tag] = _FIXED
    for tag, n in ((0x0A, 1), (0x0B, 2), (0x0C, 3), (0x0D, 4), (0x18, 8), (0x1B, 16)):
        kind[tag], size[tag] = _FIXED, n  # bytes of 1..4, float, complex
    for tag in range(0x20, 0xF0):  # immediate ints -48..159
        kind[tag] = _FIXED
    kind[0x0E] = kind[0x16] = _LEN1  # bytes, int digits: 1-byte length
    kind[0x0F] = kind[0x17] = _LEN4  # the same with a 4-byte length
    for tag, n in ((0x10, 1), (0x11, 2), (0x12, 3), (0x13, 4)):
        kind[tag], size[tag] = _TUPN, n
    kind[0x14], kind[0x15] = _TUPL1, _TUPL4
    kind[0x08] = _STR  # str: UTF-8 bytes follow
    kind[0x19] = kind[0x1A] = _WRAP  # slice, frozenset: a tuple follows
    return bytes(kind), bytes(size)


_KIND, _SIZE = _tables()
_BYTES_TAGS: Final = frozenset({0x01, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F})
_TUPLE_TAGS: Final = frozenset({0x02, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15})
_L4 = struct.Struct("!L").unpack_from


def scan_brine(data: bytes, start: int = 0, *, max_values: int | None = None) -> int:
    """The offset where the brine value at ``start`` ends; ``RpycError("bad-brine")`` with the
    offset if it is cut off, nested over ``MAX_DEPTH``, holds a tag brine does not know, or (with
    ``max_values``) more values than that, each of which brine would build as an object."""
    end = len(data)
    pos = start
    budget = max_values if max_values is not None else end + 1
    stack: list[int] = []  # items still to read at each open tuple
    need: frozenset[int] | None = None  # the tags allowed next (after a str/slice/frozenset tag)
    while True:
        if pos >= end:
            raise RpycError("bad-brine", "the value is cut off where a tag should be", offset=pos)
        tag = data[pos]
        kind = _KIND[tag]
        budget -= 1
        if budget < 0:
            raise RpycError(
                "bad-brine", f"more than {max_values} values: over the limit", offset=pos
            )
        if need is not None:
            if tag not in need:
                what = "UTF-8 bytes" if need is _BYTES_TAGS else "a tuple"
                raise RpycError("bad-brine", f"tag 0x{tag:02x} where {what} must be", offset=pos)
            need = None
        at = pos
        if kind == _FIXED:
            pos += 1 + _SIZE[tag]
        elif kind in (_TUPN, _TUPL1, _TUPL4):
            if kind == _TUPN:
                n = _SIZE[tag]
                pos += 1
            elif pos + (2 if kind == _TUPL1 else 5) > end:
                raise RpycError("bad-brine", "a tuple's length is cut off", offset=at)
            elif kind == _TUPL1:
                n = data[pos + 1]
                pos += 2
            else:
                n = _L4(data, pos + 1)[0]
                pos += 5
            if n:
                if len(stack) >= MAX_DEPTH:
                    raise RpycError("bad-brine", f"nested over {MAX_DEPTH} deep", offset=at)
                if n > end - pos:
                    raise RpycError(
                        "bad-brine", f"a tuple of {n} items in {end - pos} bytes", offset=at
                    )
                stack.append(n)
                continue
        elif kind in (_LEN1, _LEN4):
            width = 1 if kind == _LEN1 else 4
            if pos + 1 + width > end:
                raise RpycError("bad-brine", "a length is cut off", offset=at)
            n = data[pos + 1] if width == 1 else _L4(data, pos + 1)[0]
            pos += 1 + width + n
            if pos > end:
                raise RpycError(
                    "bad-brine", f"declares {n} bytes; {end - at - 1 - width} are left", offset=at
                )
        elif kind in (_STR, _WRAP):
            if len(stack) >= MAX_DEPTH:
                raise RpycError("bad-brine", f"nested over {MAX_DEPTH} deep", offset=at)
            need = _BYTES_TAGS if kind == _STR else _TUPLE_TAGS
            pos += 1
            continue
        else:
            raise RpycError("bad-brine", f"unknown brine tag 0x{tag:02x}", offset=at)
        if pos > end:
            raise RpycError("bad-brine", f"tag 0x{tag:02x} is cut off", offset=at)
        while stack:  # one value read: close the tuples it completes
            n = stack[-1] - 1
            if n:
                stack[-1] = n
                break
            stack.pop()
        else:
            return pos


def load_brine(
    data: bytes, *, strict: bool = False, max_values: int = DEFAULT_MAX_VALUES
) -> object:
    """``data`` loaded by rpyc's ``brine.load``, or ``RpycError("bad-brine")`` saying where and
    why. ``strict``: scan first, refusing trailing bytes and deep nesting before loading. A value
    over ``SCAN_ABOVE`` bytes is always scanned first, and refused past ``max_values`` values:
    brine spends up to ~30 bytes of memory per input byte on tiny tuples, which a bound on the
    bytes alone does not stop."""
    if strict or len(data) > SCAN_ABOVE:
        stop = scan_brine(data, max_values=max_values)
        if strict and stop != len(data):
            raise RpycError(
                "brine-trailing-bytes", f"{len(data) - stop} byte(s) after the value", offset=stop
            )
    try:
        return brine_load(data)
    except Exception as exc:  # brine raises whatever its decoders hit (RecursionError too)
        failure = f"{type(exc).__name__}: {exc}"[:200]
    try:
        scan_brine(data)
    except RpycError as located:
        raise RpycError(
            "bad-brine", f"{located.reason} (brine.load: {failure})", offset=located.offset
        ) from None
    raise RpycError("bad-brine", f"brine.load refused it: {failure}", offset=0)
