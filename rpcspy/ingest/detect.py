"""Which format a file to import is in, judged from its first bytes (never from its name)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

__all__ = ["FORMATS", "detect_format"]

#: The formats ``rpcspy import`` reads.
FORMATS: Final = ("pcap", "pcapng", "har", "mitm")

_PCAP_MAGICS: Final = (
    b"\xa1\xb2\xc3\xd4",  # microseconds, big-endian
    b"\xd4\xc3\xb2\xa1",  # microseconds, little-endian
    b"\xa1\xb2\x3c\x4d",  # nanoseconds, big-endian
    b"\x4d\x3c\xb2\xa1",  # nanoseconds, little-endian
)
_PCAPNG_MAGIC: Final = b"\x0a\x0d\x0d\x0a"


def detect_format(path: Path) -> str | None:
    """``pcap``, ``pcapng``, ``har`` or ``mitm`` from the file's first bytes; None if unknown.

    HAR is JSON whose top object is ``{"log": ...}`` (a byte order mark allowed); ``mitm`` is
    a tnetstring (digits, then a colon), which mitmproxy's reader then reads or refuses.
    """
    with open(path, "rb") as f:
        head = f.read(4096)
    if head[:4] in _PCAP_MAGICS:
        return "pcap"
    if head[:4] == _PCAPNG_MAGIC:
        return "pcapng"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"{") and b'"log"' in head:
        return "har"
    digits = text[:12].split(b":", 1)
    if len(digits) == 2 and digits[0].isdigit():
        return "mitm"
    return None
