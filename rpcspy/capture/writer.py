"""Writing capture files: append-only JSON Lines, one whole line per completed exchange.

``CaptureWriter`` is safe to share between threads of one process. Every ``write`` serialises the
record (outside the lock), then writes its line under the lock with one unbuffered write, so a
crash loses at most the exchange in flight. For ``.gz`` files each record ends with a zlib sync
flush, so what a killed process leaves is a readable prefix; appending opens a new gzip member
(after closing a member a killed writer left open, see ``_gzip``).

Strategy for a failing disk: the writer knows the file's size after its last whole record (the
last good offset). When a write fails (a full disk, a quota), it cuts the file back to that
offset and raises ``CaptureWriteError``; the record is not counted. The next record starts again
at a clean boundary: a plain capture simply appends the line to the cut-back file; a gzip
capture ends the member it was writing (its data up to the cut is whole) and starts a new
member, since the compressor already took in the lost line. So every record counted in
``records_written`` reads back, before and after the disk was full.
"""

from __future__ import annotations

import io
import os
import struct
import threading
import time
import zlib
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final

from rpcspy.capture._gzip import (
    GZIP_MAGIC,
    GzipCorrupt,
    GzipRaw,
    close_torn_member,
    scan_for_append,
)
from rpcspy.capture.reader import HEADER_MAX_BYTES
from rpcspy.capture.record import CallRecord
from rpcspy.capture.redact import DEFAULT_REDACTION, Redaction
from rpcspy.capture.schema import (
    CaptureFormatError,
    CaptureHeader,
    dumps_line,
    loads_line,
    make_header,
    parse_header,
    record_to_json,
)

__all__ = ["CaptureWriteError", "CaptureWriter", "encode_record"]

_COMPRESS_LEVEL: Final = 6
# An empty final fixed-Huffman block: ends a deflate stream that stopped at a sync flush.
_FINAL_BLOCK: Final = b"\x03\x00"
#: How many complete lines at the end of an existing capture are tried for the last ``seq``.
_TAIL_LINES: Final = 8
_TAIL_CHUNK: Final = 1 << 16


class CaptureWriteError(Exception):
    """A record could not be written to the capture (a full disk, a quota, an I/O error).

    The file was cut back to its last whole record, so it still reads back completely; the
    record was not counted. ``strerror`` is the system's text for ``errno``.
    """

    def __init__(self, path: Path, cause: OSError, records_written: int) -> None:
        self.path = path
        self.errno = cause.errno
        self.strerror = cause.strerror or (os.strerror(cause.errno) if cause.errno else str(cause))
        self.records_written = records_written
        super().__init__(f"cannot write to {path}: {self.strerror}")


def _is_gzip_name(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def _check_existing_header(path: Path, head: bytes) -> CaptureHeader:
    try:
        obj = loads_line(head)
    except ValueError:
        raise CaptureFormatError(
            f"refusing to append to {path}: it is not an rpcspy capture "
            "(its first line is not a capture header)"
        ) from None
    try:
        return parse_header(obj)
    except CaptureFormatError as exc:
        raise CaptureFormatError(f"refusing to append to {path}: {exc}") from None


def _seq_of(line: bytes) -> int | None:
    """The ``seq`` of a record line, or None when the line is not a record with one."""
    try:
        obj = loads_line(line)
    except ValueError:
        return None
    if not isinstance(obj, dict) or "rpcspy" in obj:
        return None
    seq = obj.get("seq")
    if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0:
        return seq
    return None


def _last_seq(lines: list[bytes]) -> int:
    """The ``seq`` of the last record among ``lines`` (0 when none has one)."""
    for line in reversed(lines):
        seq = _seq_of(line)
        if seq is not None:
            return seq
    return 0


def _plain_tail_lines(f: BinaryIO) -> list[bytes]:
    """The last few complete lines of a plain file, read backwards from its end."""
    pos = f.seek(0, io.SEEK_END)
    chunks: list[bytes] = []
    newlines = 0
    step = _TAIL_CHUNK
    # Enough once the chunks hold more newlines than the lines wanted (the first piece may be a
    # partial line). Steps double, so a very long last line costs linear time, not quadratic.
    while pos > 0 and newlines <= _TAIL_LINES:
        size = min(step, pos)
        pos -= size
        f.seek(pos)
        chunk = f.read(size)
        chunks.append(chunk)
        newlines += chunk.count(b"\n")
        step *= 2
    lines = b"".join(reversed(chunks)).split(b"\n")
    if pos > 0:
        lines = lines[1:]  # may start mid-line
    return [line for line in lines if line.strip()][-_TAIL_LINES:]


def _gzip_tail_lines(f: BinaryIO) -> list[bytes]:
    """The last few lines of a gzip capture (one streaming pass; damage ends it early)."""
    f.seek(0)
    raw = GzipRaw(f)
    tail: deque[bytes] = deque(maxlen=_TAIL_LINES)
    partial: list[bytes] = []  # the pieces of a line not ended yet
    try:
        while chunk := raw.read(1 << 20):
            if b"\n" not in chunk:
                partial.append(chunk)
                continue
            pieces = chunk.split(b"\n")
            partial.append(pieces[0])
            lines = [b"".join(partial), *pieces[1:-1]]
            tail.extend(line for line in lines if line.strip())
            partial = [pieces[-1]]
    except GzipCorrupt:
        pass
    last = b"".join(partial)
    if last.strip():
        tail.append(last)
    return list(tail)


def _member_header() -> bytes:
    # A gzip member header: magic, deflate, no flags, mtime, no extra flags, OS unknown.
    return GZIP_MAGIC + b"\x08\x00" + struct.pack("<I", int(time.time())) + b"\x00\xff"


def encode_record(
    record: CallRecord, *, redact: bool = True, redaction: Redaction = DEFAULT_REDACTION
) -> bytes:
    """The line of ``record`` in a capture (JSON and a newline), as ``CaptureWriter`` writes it."""
    try:
        return dumps_line(record_to_json(record, redact=redact, redaction=redaction))
    except (RecursionError, ValueError, TypeError) as exc:
        # Values nested deeper than JSON tools go: keep the raw bodies, say why the rest is
        # not here.
        obj = record_to_json(record, redact=redact, with_messages=False, redaction=redaction)
        problems = obj["problems"]
        assert isinstance(problems, list)
        problems.append(
            {
                "where": "capture",
                "kind": "not-stored",
                "reason": "the decoded call and response could not be stored as JSON "
                f"({type(exc).__name__}); the raw bodies are kept",
                "line": None,
                "column": None,
                "path": None,
            }
        )
        return dumps_line(obj)


class CaptureWriter:
    """Appends records to a capture file (``.jsonl``, or ``.jsonl.gz`` when the name ends in .gz).

    ``redact`` (default) replaces the values of the secret headers and query parameters that
    ``redaction`` names (``rpcspy.capture.redact``: Authorization, Cookie, X-Api-Key,
    ``?access_token=`` ... by default). ``append`` (default) adds to an existing capture after
    checking its header (``CaptureFormatError`` for a non-capture file or another major
    version); ``append=False`` starts the file afresh. When appending, ``last_seq`` is the
    ``seq`` of the file's last record (0 for a new file), so a new session can go on numbering
    from there.

    ``write`` raises ``CaptureWriteError`` when the disk refuses the record; the file is then
    cut back to its last whole record and the next ``write`` tries again from there.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        redact: bool = True,
        append: bool = True,
        redaction: Redaction = DEFAULT_REDACTION,
    ) -> None:
        self.path = Path(path)
        self.redact = redact
        self.redaction = redaction
        self.compressed = _is_gzip_name(self.path)
        #: Records written by this writer (each one reads back).
        self.records_written = 0
        #: Records that could not be written (``CaptureWriteError``).
        self.records_failed = 0
        #: The last write error while writing fails; None once a record was written again.
        self.failing: CaptureWriteError | None = None
        #: The ``seq`` of the last record already in the file when it was opened (0: none).
        self.last_seq = 0
        #: The header of the file: the existing one when appending, else the one written.
        self.header: CaptureHeader
        #: The file's size after its last whole record (set when it is opened).
        self._good = 0
        #: A failed write could not be cut back at the time: cut before the next write.
        self._dirty = False
        self._lock = threading.Lock()
        self._closed = False
        # Gzip: the compressor of the open member (None: start a new member with the next
        # record), whether a member is open (needs its end and trailer), and its CRC and size.
        self._comp: zlib._Compress | None = None
        self._member_open = False
        self._crc = 0
        self._size = 0
        exists = append and self.path.exists() and self.path.stat().st_size > 0
        if self.compressed:
            self._file = self._open_gzip(exists)
        else:
            self._file = self._open_plain(exists)

    # -- opening

    def _open_file(self, exists: bool) -> BinaryIO:
        # Unbuffered: each record goes out in one write (or a few for a short write) that the
        # writer checks, and the file's size after it is the last good offset.
        # Always O_APPEND: after a failed write is cut back, the next one lands at the new end
        # (a plain file position would stay past the cut and leave a hole of zeros).
        out = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed by close()
        if not exists:
            out.truncate(0)
        self._good = os.fstat(out.fileno()).st_size
        return out

    def _open_plain(self, exists: bool) -> BinaryIO:
        needs_newline = False
        if exists:
            with open(self.path, "rb") as f:
                head = f.readline(HEADER_MAX_BYTES + 1)
                if head.startswith(GZIP_MAGIC):
                    raise CaptureFormatError(
                        f"refusing to append to {self.path}: it is gzip-compressed but its name "
                        "does not end in .gz"
                    )
                self.header = _check_existing_header(self.path, head)
                self.last_seq = _last_seq(_plain_tail_lines(f))
                f.seek(-1, 2)
                needs_newline = f.read(1) != b"\n"
        out = self._open_file(exists)
        try:
            if exists:
                # A torn last line (a writer was killed mid-record) stays a bad line of its own.
                if needs_newline:
                    self._put(out, b"\n")
            else:
                self._put(out, self._header_line())
        except BaseException:
            out.close()
            raise
        return out

    def _open_gzip(self, exists: bool) -> BinaryIO:
        needs_newline = False
        if exists:
            with open(self.path, "r+b") as f:
                # One byte of magic is a writer killed while starting the file.
                if not GZIP_MAGIC.startswith(f.read(2)):
                    raise CaptureFormatError(
                        f"refusing to append to {self.path}: "
                        "its name ends in .gz but it is not gzip"
                    )
                try:
                    scan = scan_for_append(f, HEADER_MAX_BYTES + 1)
                except GzipCorrupt as exc:
                    raise CaptureFormatError(
                        f"refusing to append to {self.path}: damaged gzip data ({exc})"
                    ) from None
                if scan.head:
                    self.header = _check_existing_header(self.path, scan.head)
                close_torn_member(f, scan)
                if scan.head:
                    self.last_seq = _last_seq(_gzip_tail_lines(f))
            exists = bool(scan.head)
            needs_newline = exists and scan.last_byte != b"\n"
        out = self._open_file(exists)
        try:
            first = b"\n" if needs_newline else b""
            if not exists:
                first += self._header_line()
            if first:
                self._put_gzip(out, first)
        except BaseException:
            out.close()
            raise
        return out

    def _header_line(self) -> bytes:
        header = make_header()
        self.header = parse_header(header)
        return dumps_line(header)

    # -- the bytes

    def _put(self, out: BinaryIO, data: bytes) -> None:
        """Write all of ``data`` at the end of the file, or cut back to the last good offset
        and raise the ``OSError``."""
        fd = out.fileno()
        try:
            if self._dirty:
                os.ftruncate(fd, self._good)
                self._dirty = False
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except OSError:
            try:
                os.ftruncate(fd, self._good)
            except OSError:
                self._dirty = True  # tried again before the next write
            self._comp = None  # a gzip compressor has taken data that is not in the file
            raise
        self._good += len(data)

    def _gzip_chunk(self, line: bytes) -> bytes:
        """The compressed bytes that append ``line``; starts a new member when needed.

        Commits the compressor state on the spot: ``_put`` discards it when the write fails.
        """
        parts = []
        if self._comp is None:
            if self._member_open:
                # The open member's data up to the last good offset is whole: end it there.
                parts.append(_FINAL_BLOCK + struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))
            parts.append(_member_header())
            comp = zlib.compressobj(_COMPRESS_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
            crc = size = 0
        else:
            comp, crc, size = self._comp, self._crc, self._size
        parts.append(comp.compress(line))
        parts.append(comp.flush(zlib.Z_SYNC_FLUSH))  # everything so far can be decompressed
        self._pending_gzip: tuple[zlib._Compress, int, int] = (
            comp,
            zlib.crc32(line, crc),
            size + len(line),
        )
        self._comp = comp
        return b"".join(parts)

    def _put_gzip(self, out: BinaryIO, line: bytes) -> None:
        """Compress and write ``line`` (see ``_put``); the member's CRC and size follow."""
        data = self._gzip_chunk(line)
        self._put(out, data)
        comp, self._crc, self._size = self._pending_gzip
        self._comp = comp
        self._member_open = True

    # -- writing

    def _encode(self, record: CallRecord) -> bytes:
        return encode_record(record, redact=self.redact, redaction=self.redaction)

    def write(self, record: CallRecord) -> None:
        """Append one record as one line. Thread-safe.

        Raises ``CaptureWriteError`` when the file system refuses it (the file is left ending
        with its last whole record; the next call tries again).
        """
        self._write(self._encode(record), 1)

    def write_lines(self, lines: bytes, count: int) -> None:
        """Append ``count`` records already made lines by ``encode_record`` (joined, in order)
        in one write. Thread-safe; fails as ``write`` does, for all of them."""
        self._write(lines, count)

    def _write(self, data: bytes, count: int) -> None:
        with self._lock:
            if self._closed:
                raise ValueError(f"capture writer for {self.path} is closed")
            try:
                if self.compressed:
                    self._put_gzip(self._file, data)
                else:
                    self._put(self._file, data)
            except OSError as exc:
                self.records_failed += count
                self.failing = CaptureWriteError(self.path, exc, self.records_written)
                raise self.failing from exc
            self.records_written += count
            self.failing = None

    def close(self) -> None:
        """Finish the file (the gzip member's end) and close it. Safe to call twice.

        Raises ``CaptureWriteError`` when the gzip member's end cannot be written: the file then
        ends at a sync flush after its last record, which reads back like a killed writer's.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self.compressed and self._member_open:
                    if self._comp is not None:
                        end = self._comp.flush(zlib.Z_FINISH)
                    else:
                        end = _FINAL_BLOCK
                    trailer = struct.pack("<II", self._crc, self._size & 0xFFFFFFFF)
                    try:
                        self._put(self._file, end + trailer)
                    except OSError as exc:
                        raise CaptureWriteError(self.path, exc, self.records_written) from exc
            finally:
                self._file.close()

    @property
    def closed(self) -> bool:
        """True once ``close`` has run."""
        return self._closed

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
