"""Writing capture files: append-only JSON Lines, one flushed line per completed exchange.

``CaptureWriter`` is safe to share between threads of one process. Every ``write`` serialises the
record (outside the lock), then writes and flushes its line under the lock, so a crash loses at
most the exchange in flight. For ``.gz`` files each record ends with a zlib sync flush, so what a
killed process leaves is a readable prefix; appending opens a new gzip member (after closing a
member a killed writer left open, see ``_gzip``).
"""

from __future__ import annotations

import gzip
import threading
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final

from rpcspy.capture._gzip import GZIP_MAGIC, GzipCorrupt, close_torn_member, scan_for_append
from rpcspy.capture.reader import HEADER_MAX_BYTES
from rpcspy.capture.record import CallRecord
from rpcspy.capture.schema import (
    CaptureFormatError,
    CaptureHeader,
    dumps_line,
    loads_line,
    make_header,
    parse_header,
    record_to_json,
)

__all__ = ["CaptureWriter"]

_COMPRESS_LEVEL: Final = 6


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


class CaptureWriter:
    """Appends records to a capture file (``.jsonl``, or ``.jsonl.gz`` when the name ends in .gz).

    ``redact`` (default) replaces the values of Authorization, Proxy-Authorization, Cookie and
    Set-Cookie headers. ``append`` (default) adds to an existing capture after checking its header
    (``CaptureFormatError`` for a non-capture file or another major version); ``append=False``
    starts the file afresh.
    """

    def __init__(self, path: str | Path, *, redact: bool = True, append: bool = True) -> None:
        self.path = Path(path)
        self.redact = redact
        self.compressed = _is_gzip_name(self.path)
        #: Records written by this writer.
        self.records_written = 0
        #: The header of the file: the existing one when appending, else the one written.
        self.header: CaptureHeader
        self._lock = threading.Lock()
        self._closed = False
        self._gzip: gzip.GzipFile | None = None
        exists = append and self.path.exists() and self.path.stat().st_size > 0
        if self.compressed:
            self._file = self._open_gzip(exists)
        else:
            self._file = self._open_plain(exists)

    # -- opening

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
                f.seek(-1, 2)
                needs_newline = f.read(1) != b"\n"
        out = open(self.path, "ab" if exists else "wb")  # noqa: SIM115 - closed by close()
        try:
            if exists:
                # A torn last line (a writer was killed mid-record) stays a bad line of its own.
                if needs_newline:
                    out.write(b"\n")
            else:
                self._write_header(out)
            out.flush()
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
            exists = bool(scan.head)
            needs_newline = exists and scan.last_byte != b"\n"
        out = open(self.path, "ab" if exists else "wb")  # noqa: SIM115 - closed by close()
        try:
            self._gzip = gzip.GzipFile(
                filename="", mode="wb", fileobj=out, compresslevel=_COMPRESS_LEVEL
            )
            if needs_newline:
                self._gzip.write(b"\n")
            if not exists:
                self._write_header(self._gzip)
            self._gzip.flush()
        except BaseException:
            out.close()
            raise
        return out

    def _write_header(self, out: BinaryIO | gzip.GzipFile) -> None:
        header = make_header()
        out.write(dumps_line(header))
        self.header = parse_header(header)

    # -- writing

    def _encode(self, record: CallRecord) -> bytes:
        try:
            return dumps_line(record_to_json(record, redact=self.redact))
        except (RecursionError, ValueError, TypeError) as exc:
            # Values nested deeper than JSON tools go: keep the raw bodies, say why the rest is
            # not here.
            obj = record_to_json(record, redact=self.redact, with_messages=False)
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

    def write(self, record: CallRecord) -> None:
        """Append one record as one line and flush it. Thread-safe."""
        line = self._encode(record)
        with self._lock:
            if self._closed:
                raise ValueError(f"capture writer for {self.path} is closed")
            if self._gzip is not None:
                self._gzip.write(line)
                self._gzip.flush()  # a sync flush: everything so far can be decompressed
            else:
                self._file.write(line)
                self._file.flush()
            self.records_written += 1

    def close(self) -> None:
        """Finish the file (the gzip member trailer) and close it. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self._gzip is not None:
                    self._gzip.close()
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
