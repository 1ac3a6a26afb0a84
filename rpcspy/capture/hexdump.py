"""Raw bytes as a hexdump with offsets, the way ``rpcspy show`` and the TUI show the bodies of
binary protocols (ONC RPC records, RPyC frames)::

    00000000  80 00 00 54 9d 13 93 8a  00 00 00 00 00 00 00 02  |...T............|

Sixteen bytes a line, offset in hex, printable ASCII on the right (anything else a dot).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

__all__ = ["DEFAULT_MAX_BYTES", "hexdump"]

#: Bytes shown before the dump says how many more there are.
DEFAULT_MAX_BYTES: Final = 64 * 1024

_PRINTABLE: Final = bytes(c if 0x20 <= c < 0x7F else 0x2E for c in range(256))


def hexdump(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[str]:
    """The lines of a hexdump of ``data`` (at most ``max_bytes`` of it, then a line saying how
    many bytes were left out)."""
    shown = data[:max_bytes]
    for offset in range(0, len(shown), 16):
        chunk = shown[offset : offset + 16]
        left = chunk[:8].hex(" ")
        right = chunk[8:].hex(" ")
        text = chunk.translate(_PRINTABLE).decode("ascii")
        yield f"{offset:08x}  {left:<23}  {right:<23}  |{text}|"
    if len(data) > len(shown):
        yield f"… {len(data) - len(shown):,} more bytes ({len(data):,} in all)"
