"""Gzip for capture files: a streaming reader that survives a torn tail, and the repair that lets a
writer append after a crash.

The writer sync-flushes after each record, so the compressed stream holds a flush marker (an empty
stored block, bytes ``00 00 ff ff``) after every record. A killed writer leaves a member with no
end: everything before its last marker is readable, but a new member appended after it would be
read as garbage deflate data. So before appending, ``scan_for_append`` finds the last marker that
ends a whole line and ``close_torn_member`` ends the member there with an empty final block and
the gzip trailer, dropping only the record that was being written.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections import deque
from dataclasses import dataclass
from typing import BinaryIO, Final

__all__ = [
    "GZIP_MAGIC",
    "GzipCorrupt",
    "GzipRaw",
    "GzipScan",
    "close_torn_member",
    "scan_for_append",
]

GZIP_MAGIC: Final = b"\x1f\x8b"
_GZIP_WBITS: Final = 16 + zlib.MAX_WBITS
_MARKER: Final = b"\x00\x00\xff\xff"
# An empty final fixed-Huffman block: what zlib writes to end a stream that is byte-aligned.
_FINAL_BLOCK: Final = b"\x03\x00"
_READ: Final = 1 << 16
_OUT: Final = 1 << 16


class GzipCorrupt(Exception):
    """The compressed data is not gzip, or is damaged (not merely cut short)."""


class GzipRaw(io.RawIOBase):
    """The decompressed bytes of a (multi-member) gzip file, readable as it grows.

    ``readinto`` returns 0 when no more data is available *now*; ``torn`` then says whether the
    file stopped inside a member (a killed or still-running writer). Damage raises ``GzipCorrupt``.
    """

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        self._d: zlib._Decompress | None = None
        self._pending = b""
        self._out = memoryview(b"")
        self._offset = 0  # compressed bytes fed so far, for messages
        self.members = 0

    def readable(self) -> bool:
        return True

    @property
    def torn(self) -> bool:
        """True when the data seen so far ends inside a gzip member."""
        return self._d is not None or bool(self._pending.strip(b"\x00"))

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._out:
            self._out = memoryview(self._next())
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def _fill(self) -> bool:
        data = self._raw.read(_READ)
        if not data:
            return False
        self._pending += data
        return True

    def _next(self) -> bytes:
        while True:
            if self._d is None:
                # Between members: zero padding is allowed; anything else must be a gzip header.
                self._pending = self._pending.lstrip(b"\x00")
                if len(self._pending) < 2 and not self._fill():
                    return b""
                if len(self._pending) < 2:
                    continue
                if not self._pending.startswith(GZIP_MAGIC):
                    raise GzipCorrupt(
                        f"bytes after gzip member {self.members} are not gzip "
                        f"(at compressed offset {self._offset})"
                    )
                self._d = zlib.decompressobj(_GZIP_WBITS)
            if not self._pending and not self._fill():
                return b""
            fed = len(self._pending)
            try:
                out = self._d.decompress(self._pending, _OUT)
            except zlib.error as exc:
                raise GzipCorrupt(
                    f"damaged gzip data in member {self.members + 1} "
                    f"(near compressed offset {self._offset}): {exc}"
                ) from None
            self._pending = self._d.unconsumed_tail
            if self._d.eof:
                self._pending = self._d.unused_data
                self._d = None
                self.members += 1
            self._offset += fed - len(self._pending)
            if out:
                return out


@dataclass(frozen=True, slots=True)
class GzipScan:
    """What a writer needs to know before appending to a gzip capture."""

    #: The decompressed data's first line (with its newline when it has one), at most
    #: ``head_limit``.
    head: bytes
    #: The decompressed data's last byte once any torn member is closed (b"" when there is none).
    last_byte: bytes
    #: For a torn last member: where to cut the file, and the CRC and size of the data kept.
    cut: int | None = None
    crc: int = 0
    size: int = 0
    #: True when the torn member keeps some data (and so needs a trailer), False to drop it whole.
    close_member: bool = False


@dataclass
class _Candidate:
    offset: int
    crc: int
    size: int


def _marker_ends(prev_tail: bytes, data: bytes, start: int) -> list[int]:
    """Offsets in ``data`` just past each flush marker ending at or after ``start``."""
    ends = []
    if prev_tail and start == 0:
        joined = prev_tail + data[: len(_MARKER) - 1]
        i = joined.find(_MARKER)
        if i >= 0 and i + len(_MARKER) > len(prev_tail):
            ends.append(i + len(_MARKER) - len(prev_tail))
    i = data.find(_MARKER, start)
    while i >= 0:
        ends.append(i + len(_MARKER))
        i = data.find(_MARKER, i + 1)
    return ends


def _verify(f: BinaryIO, start: int, cand: _Candidate) -> bool:
    """Would ending the member at ``cand`` give a valid gzip member holding exactly its data?"""
    d = zlib.decompressobj(_GZIP_WBITS)
    f.seek(start)
    remaining = cand.offset - start
    trailer = _FINAL_BLOCK + struct.pack("<II", cand.crc, cand.size & 0xFFFFFFFF)
    total = 0
    try:
        while remaining > 0 or trailer:
            if remaining > 0:
                chunk = f.read(min(_READ, remaining))
                if not chunk:
                    return False
                remaining -= len(chunk)
            else:
                chunk, trailer = trailer, b""
            out = d.decompress(chunk, _OUT)
            total += len(out)
            while d.unconsumed_tail:
                out = d.decompress(d.unconsumed_tail, _OUT)
                total += len(out)
            if d.eof and (remaining > 0 or trailer):
                return False
    except zlib.error:
        return False
    return d.eof and not d.unused_data and total == cand.size


def scan_for_append(f: BinaryIO, head_limit: int) -> GzipScan:
    """Read a whole gzip capture; say how to close a torn last member. ``GzipCorrupt`` on damage."""
    f.seek(0)
    head = bytearray()
    head_done = False
    last = b""
    last_before_member = b""
    d: zlib._Decompress | None = None
    member_start = 0
    crc = size = 0
    candidates: deque[_Candidate] = deque(maxlen=8)
    base = 0
    prev_tail = b""

    def take(out: bytes) -> None:
        nonlocal head_done, last, crc, size
        if not out:
            return
        if not head_done:
            room = head_limit - len(head)
            piece = out[:room]
            nl = piece.find(b"\n")
            if nl >= 0:
                head.extend(piece[: nl + 1])
                head_done = True
            else:
                head.extend(piece)
                head_done = len(head) >= head_limit
        crc = zlib.crc32(out, crc)
        size += len(out)
        last = out[-1:]

    while True:
        data = f.read(1 << 20)
        if not data:
            break
        pos = 0
        while pos < len(data):
            if d is None:
                if data[pos] == 0:
                    pos += 1
                    continue
                d = zlib.decompressobj(_GZIP_WBITS)
                member_start = base + pos
                last_before_member = last
                crc = size = 0
                candidates.clear()
            ends = [e for e in _marker_ends(prev_tail if pos == 0 else b"", data, pos) if e > pos]
            cut = ends[0] if ends else len(data)
            try:
                take(d.decompress(data[pos:cut], _OUT))
                while d.unconsumed_tail and not d.eof:
                    take(d.decompress(d.unconsumed_tail, _OUT))
            except zlib.error as exc:
                raise GzipCorrupt(f"damaged gzip data near offset {base + pos}: {exc}") from None
            if d.eof:
                pos = cut - len(d.unused_data)
                d = None
                continue
            if ends and last == b"\n" and size:
                candidates.append(_Candidate(base + cut, crc, size))
            pos = cut
        base += len(data)
        prev_tail = data[-(len(_MARKER) - 1) :]

    if d is None:
        return GzipScan(bytes(head), last)
    for cand in reversed(candidates):
        if _verify(f, member_start, cand):
            return GzipScan(
                bytes(head), b"\n", cut=cand.offset, crc=cand.crc, size=cand.size, close_member=True
            )
    # Nothing in the torn member can be kept: drop it whole.
    if member_start == 0:
        head = bytearray()
    return GzipScan(bytes(head), last_before_member, cut=member_start)


def close_torn_member(f: BinaryIO, scan: GzipScan) -> None:
    """Cut the file where ``scan`` says and, when data is kept, end the member properly."""
    if scan.cut is None:
        return
    f.seek(scan.cut)
    f.truncate()
    if scan.close_member:
        f.write(_FINAL_BLOCK + struct.pack("<II", scan.crc, scan.size & 0xFFFFFFFF))
    f.flush()
