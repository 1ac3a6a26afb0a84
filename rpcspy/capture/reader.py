"""Reading capture files: a stream of records in constant memory, damaged lines reported and
skipped.

``read_capture(path)`` checks the header at once (``CaptureFormatError`` for an empty file, a file
that is not a capture, or an unsupported major version), then iterates ``CallRecord``s. A line
that is torn, not JSON, or not a valid record becomes a ``Problem`` in ``reader.problems`` (with
its line number) and the rest still loads. Gzip captures (``.jsonl.gz``, recognised by their magic
bytes) may hold several members; a torn gzip tail yields the records before it and a problem.

With ``follow=True`` the reader behaves like ``tail -f``: at the end of the file it waits
(``poll_interval``) for more, leaves a partly written last line until its newline arrives, and
stops when ``stop()`` is called or the ``stop_event`` given is set.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final

from rpcspy.capture._gzip import GZIP_MAGIC, GzipCorrupt, GzipRaw
from rpcspy.capture.record import CallRecord, Problem
from rpcspy.capture.schema import (
    FORMAT_NAME,
    CaptureFormatError,
    CaptureHeader,
    RecordError,
    loads_line,
    parse_header,
    record_from_json,
)

__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "HEADER_MAX_BYTES",
    "CaptureReader",
    "count_records_hint",
    "read_capture",
    "read_header",
]

#: The header line is small; a first line longer than this is not a capture header.
HEADER_MAX_BYTES: Final = 64 * 1024
#: Lines longer than this are skipped (a record holds two bodies of up to 64 MiB, base64'd).
DEFAULT_MAX_LINE_BYTES: Final = 512 * 1024 * 1024
_BUFFER: Final = 1 << 16
#: A long line is read in pieces of this size: ``readline(limit)`` would hold a second copy of
#: it while joining its own reads (a 512 MiB line would cost 1 GiB).
_PIECE: Final = 1 << 20


def _looks_binary(data: bytes) -> bool:
    if b"\x00" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A cut at the end of the sample is not evidence of binary data.
        return exc.start < len(data) - 4
    return False


class CaptureReader:
    """Iterates the records of one capture file; see the module docstring. Use ``read_capture``."""

    def __init__(
        self,
        path: str | Path,
        *,
        follow: bool = False,
        poll_interval: float = 0.2,
        stop_event: threading.Event | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    ) -> None:
        self.path = Path(path)
        self.follow = follow
        self.poll_interval = poll_interval
        self.max_line_bytes = max_line_bytes
        #: Torn, corrupt or skipped lines so far (``where == "capture"``, ``line`` = file line).
        self.problems: list[Problem] = []
        #: The header, once read (at once unless following a file that is still empty).
        self.header: CaptureHeader | None = None
        #: Records yielded so far.
        self.records_read = 0
        #: Lines of an unknown ``type`` (from a newer minor version), skipped silently.
        self.unknown_lines = 0
        self._stop = stop_event if stop_event is not None else threading.Event()
        # Unbuffered: one BufferedReader on top serves plain and gzip files alike.
        self._file: BinaryIO = open(self.path, "rb", buffering=0)  # noqa: SIM115 - closed by close()
        self._stream: io.BufferedReader | None = None
        self._gzip: GzipRaw | None = None
        self._lineno = 0
        self._offset = 0  # decompressed bytes before the next line
        self._resume: tuple[int, int] | None = None
        self._end_at: int | None = None
        try:
            if not follow:
                self._read_header()
        except BaseException:
            self.close()
            raise
        self._records = self._iterate()

    # -- lifecycle

    def stop(self) -> None:
        """Ask a following reader to end; iteration stops at its next wait. Thread-safe."""
        self._stop.set()

    def close(self) -> None:
        """Close the file. Iteration ends."""
        self._stop.set()
        self._file.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> CaptureReader:
        return self

    def __next__(self) -> CallRecord:
        return next(self._records)

    @property
    def compressed(self) -> bool:
        """True for a gzip capture (known once its first bytes are read)."""
        return self._gzip is not None

    def resume_at(self, offset: int, lineno: int) -> None:
        """Yield only lines from decompressed ``offset`` on (line ``lineno`` + 1 and later).

        A plain file seeks there; a gzip file is decompressed from the start and the lines
        before ``offset`` are read but not yielded (so their problems are not reported again).
        """
        self._resume = (offset, lineno)

    def end_at(self, offset: int) -> None:
        """End the lines (quietly: the file goes on) once a line would start at ``offset`` or
        after it: one part of a file read in parts (plain files; see ``resume_at``)."""
        self._end_at = offset

    def _apply_resume(self) -> None:
        if self._resume is None or self._stream is None:
            return
        offset, lineno = self._resume
        self._resume = None
        if offset <= self._offset:
            return
        if self._gzip is None:
            self._stream.seek(offset)
            self._offset = offset
            self._lineno = lineno
            return
        stream = self._stream
        while self._offset < offset:
            try:
                data = stream.readline(offset - self._offset)
            except GzipCorrupt:
                return  # the reading that follows reports it
            if not data:
                return
            self._offset += len(data)
            if data.endswith(b"\n"):
                self._lineno += 1

    # -- opening

    def _open_stream(self) -> io.BufferedReader | None:
        """Pick plain or gzip from the first bytes; None while the file is still empty."""
        if self._stream is not None:
            return self._stream
        start = self._file.read(2)
        if not start:
            return None
        if len(start) < 2 and start == GZIP_MAGIC[:1] and self.follow:
            self._file.seek(0)
            return None
        self._file.seek(0)
        raw: io.RawIOBase
        if start == GZIP_MAGIC:
            self._gzip = GzipRaw(self._file)
            raw = self._gzip
        else:
            assert isinstance(self._file, io.RawIOBase)
            raw = self._file
        self._stream = io.BufferedReader(raw, _BUFFER)
        return self._stream

    def _readline(self, stream: io.BufferedReader, limit: int) -> bytes:
        try:
            return stream.readline(limit)
        except GzipCorrupt as exc:
            if self.header is None:
                raise CaptureFormatError(f"not a readable gzip file: {exc}") from None
            raise

    def _read_header(self) -> bool:
        """Read and check line 1. False when following and it is not all there yet."""
        stream = self._open_stream()
        if stream is None:
            if self.follow:
                return False
            raise CaptureFormatError("empty file: not an rpcspy capture (no header line)")
        line = self._readline(stream, HEADER_MAX_BYTES + 1)
        while self.follow and line and not line.endswith(b"\n") and len(line) <= HEADER_MAX_BYTES:
            if self._stop.wait(self.poll_interval):
                return False
            line += self._readline(stream, HEADER_MAX_BYTES + 1 - len(line))
        if not line.strip():
            if self.follow and not line:
                return False
            raise CaptureFormatError("empty file: not an rpcspy capture (no header line)")
        if _looks_binary(line[:4096]):
            raise CaptureFormatError("not an rpcspy capture: the file holds binary data")
        if len(line) > HEADER_MAX_BYTES:
            raise CaptureFormatError(
                "not an rpcspy capture: the first line is far too long to be a capture header"
            )
        try:
            obj = loads_line(line)
        except ValueError:
            torn = "" if line.endswith(b"\n") else " (or is cut short)"
            raise CaptureFormatError(
                f"not an rpcspy capture: the first line is not JSON{torn}"
            ) from None
        self.header = parse_header(obj)
        self._lineno = 1
        self._offset = len(line)
        return True

    # -- records

    def _problem(
        self,
        kind: str,
        reason: str,
        *,
        line: int | None = None,
        column: int | None = None,
        path: str | None = None,
    ) -> None:
        where = line if line is not None else self._lineno
        self.problems.append(Problem("capture", kind, reason, where, column, path))

    def call_object(self, line: bytes) -> dict[str, object] | None:
        """The JSON object of a ``"type": "call"`` line, not yet validated; None for a blank,
        header or unknown line, or one that is not JSON (then a problem is recorded)."""
        if not line.strip():
            return None
        try:
            obj = loads_line(line)
        except ValueError as exc:
            msg = getattr(exc, "msg", str(exc))
            pos = getattr(exc, "pos", None)
            hint = ""
            if pos is not None and pos >= len(line.rstrip()) - 1:
                hint = " (the line is cut short: a writer probably stopped mid-record)"
            self._problem(
                "bad-json",
                f"not valid JSON: {msg}{hint}",
                column=pos + 1 if isinstance(pos, int) else None,
            )
            return None
        if not isinstance(obj, dict):
            self._problem("bad-record", f"a line holds a JSON object, not {type(obj).__name__}")
            return None
        kind = obj.get("type")
        if kind == "call":
            return obj
        if kind == "header":
            # Captures joined with cat: what follows a later header is in its version, so one
            # of an unknown major version ends the reading (CaptureFormatError), like line 1.
            if obj.get("format") == FORMAT_NAME:
                parse_header(obj)
            else:
                self._problem("bad-record", "a header line that is not an rpcspy capture header")
            return None
        if isinstance(kind, str):
            self.unknown_lines += 1
            return None
        self._problem("bad-record", 'a line has no "type" (expected "call")')
        return None

    def record_problem(self, exc: RecordError) -> None:
        """Report the current line as an invalid record (the reader's wording)."""
        self._problem(exc.kind, f"not a valid record: {exc.reason}", path=exc.path)

    def _parse(self, line: bytes) -> CallRecord | None:
        obj = self.call_object(line)
        if obj is None:
            return None
        try:
            return record_from_json(obj)
        except RecordError as exc:
            self.record_problem(exc)
            return None

    def _wait(self) -> bool:
        """Following: wait for the file to grow. False when asked to stop (or not following)."""
        return self.follow and not self._stop.wait(self.poll_interval)

    def _iterate(self) -> Iterator[CallRecord]:
        for item in self.lines():
            if item is None:
                continue
            record = self._parse(item[2])
            if record is not None:
                self.records_read += 1
                yield record
                if self.follow and self._stop.is_set():
                    return

    def lines(self, *, idle: bool = False) -> Iterator[tuple[int, int, bytes] | None]:
        """``(line number, offset, line)`` for each whole line after the header, where the offset
        counts decompressed bytes from the start of the file; the guards and problems are those
        of the records. With ``idle``, a None is yielded each time a following reader reaches the
        current end of the file (before it waits), so a caller can publish what it has."""
        try:
            while self.header is None:
                if self._read_header():
                    break
                if idle and self.follow:
                    yield None
                if not self._wait():
                    return
            self._apply_resume()
            stream = self._stream
            assert stream is not None
            yield from self._lines_from(stream, idle)
        finally:
            self._file.close()

    def blocks(self, size: int = 1 << 20) -> Iterator[tuple[int, int, list[bytes]]]:
        """``(line number, offset, lines)``: what ``lines`` gives, many lines at a time (plain
        files only, not followed): ``lines`` are whole lines without their newline, the first
        one numbered ``line number`` + 1 and starting at ``offset``. A line over
        ``max_line_bytes`` is left out (a ``line-too-long`` problem, as ``lines`` says it), and
        so is a torn last line (``torn-line``). ``resume_at`` and ``end_at`` apply."""
        try:
            while self.header is None:
                self._read_header()
            self._apply_resume()
            stream = self._stream
            assert stream is not None and self._gzip is None and not self.follow
            # Lines wholly inside one read are never too long: only the line begun before it
            # (``pending``) can be.
            step = max(1, min(size, self.max_line_bytes + 1))
            end_at = self._end_at
            pending: list[bytes] = []  # the start of a line begun in earlier reads
            pending_size = 0
            skipping = False  # inside a line over max_line_bytes: dropped up to its newline
            while end_at is None or pending or skipping or self._offset < end_at:
                chunk = stream.read(step)
                if not chunk:
                    if pending or skipping:
                        self._problem(
                            "torn-line",
                            "the file ends in the middle of a record (the writer was stopped "
                            "mid-write, or is still writing); it was skipped",
                            line=self._lineno + 1,
                        )
                    return
                first = chunk.find(b"\n")
                if first < 0:
                    if skipping:
                        self._offset += len(chunk)
                    else:
                        pending.append(chunk)
                        pending_size += len(chunk)
                        if pending_size > self.max_line_bytes:
                            skipping = True
                            self._offset += pending_size
                            pending.clear()
                            pending_size = 0
                    continue
                start = 0
                if skipping or pending_size + first > self.max_line_bytes:
                    self._lineno += 1
                    self._offset += pending_size + first + 1
                    self._problem(
                        "line-too-long", f"line longer than {self.max_line_bytes} bytes; skipped"
                    )
                    skipping = False
                    pending.clear()
                    pending_size = 0
                    start = first + 1
                    if end_at is not None and self._offset >= end_at:
                        return
                last = chunk.rfind(b"\n") + 1
                lines: list[bytes] = []
                if pending:
                    pending.append(chunk[:first])
                    lines.append(b"".join(pending))
                    pending.clear()
                    start = first + 1
                # (``find`` scans with ``memchr``: far faster than ``split`` on long lines)
                find = chunk.find
                append = lines.append
                while start < last:
                    nl = find(b"\n", start)
                    append(chunk[start:nl])
                    start = nl + 1
                if last < len(chunk):
                    pending.append(chunk[last:])
                pending_size = len(chunk) - last
                if not lines:
                    continue
                lineno, offset = self._lineno, self._offset
                size_read = len(lines) + sum(map(len, lines))
                if end_at is not None and offset + size_read >= end_at:
                    # Up to the line that reaches ``end_at``.
                    at = offset
                    for n, line in enumerate(lines, 1):
                        at += len(line) + 1
                        if at >= end_at:
                            del lines[n:]
                            break
                    size_read = at - offset
                self._lineno += len(lines)
                self._offset += size_read
                yield lineno, offset, lines
                if end_at is not None and self._offset >= end_at:
                    return
        finally:
            self._file.close()

    def _lines_from(
        self, stream: io.BufferedReader, idle: bool
    ) -> Iterator[tuple[int, int, bytes] | None]:
        pending: list[bytes] = []
        pending_size = 0  # bytes of the line so far, kept or not
        blank = 0  # leading whitespace of the line so far, counted but not kept
        skipping = False  # inside a line over max_line_bytes: drop bytes up to its newline
        max_line = self.max_line_bytes
        while True:
            limit = _BUFFER if skipping else min(_PIECE, max_line + 1 - pending_size)
            try:
                data = stream.readline(limit)
            except GzipCorrupt as exc:
                self._problem(
                    "bad-gzip", f"{exc}; the rest of the file cannot be read", line=self._lineno + 1
                )
                return
            except (ValueError, OSError):
                if self._stop.is_set():
                    return  # closed by close() from another thread
                raise
            if data.endswith(b"\n"):
                self._lineno += 1
                if skipping:
                    skipping = False
                    self._offset += len(data)
                    self._problem("line-too-long", f"line longer than {max_line} bytes; skipped")
                    continue
                size = pending_size + len(data)
                if pending:
                    pending.append(data)
                    data = b"".join(pending)
                    pending.clear()
                # A line that starts with a long run of blanks is yielded without them (JSON
                # does not care), its offset where what is kept starts.
                offset = self._offset + blank
                self._offset += size
                pending_size = blank = 0
                yield self._lineno, offset, data
                if self._end_at is not None and self._offset >= self._end_at:
                    return
                continue
            if data:
                if skipping:
                    self._offset += len(data)
                    continue
                if blank == pending_size and data.isspace():
                    # Only blanks so far (a blank line, or a gzip bomb of spaces): counted, not
                    # kept; holding them would cost the line's size for nothing.
                    blank += len(data)
                else:
                    pending.append(data)
                pending_size += len(data)
                if pending_size > max_line:
                    skipping = True
                    self._offset += pending_size
                    pending.clear()
                    pending_size = blank = 0
                continue
            if idle and self.follow and not self._stop.is_set():
                yield None
            if self._wait():
                continue
            if self.follow:
                return
            # The real end of the file.
            if self._gzip is not None and self._gzip.torn:
                self._problem(
                    "torn-gzip",
                    "the gzip stream ends early (the writer was killed, or is still writing); "
                    "the records before this point were read",
                    line=self._lineno + 1,
                )
            elif skipping:
                self._problem(
                    "line-too-long",
                    f"line longer than {max_line} bytes, and the file ends inside it; skipped",
                    line=self._lineno + 1,
                )
            elif pending or blank:
                self._problem(
                    "torn-line",
                    "the file ends in the middle of a record (the writer was stopped mid-write, "
                    "or is still writing); it was skipped",
                    line=self._lineno + 1,
                )
            return


def read_capture(
    path: str | Path,
    *,
    follow: bool = False,
    poll_interval: float = 0.2,
    stop_event: threading.Event | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> CaptureReader:
    """Open a capture and check its header; iterate the result for ``CallRecord``s.

    Raises ``CaptureFormatError`` (empty file, not a capture, unsupported version) and
    ``OSError`` (missing, unreadable) at once. When following, an empty file is waited on.
    """
    return CaptureReader(
        path,
        follow=follow,
        poll_interval=poll_interval,
        stop_event=stop_event,
        max_line_bytes=max_line_bytes,
    )


#: A plain capture bigger than this has its lines estimated from samples, not counted.
_COUNT_ALL_BELOW: Final = 64 << 20
#: How many samples, and the bytes of each, an estimate reads (spread over the file).
_SAMPLES: Final = 16
_SAMPLE_BYTES: Final = 1 << 20


def count_records_hint(path: str | Path) -> int | None:
    """About how many records a plain capture holds (its lines less the header), for a progress
    bar's total; None for a gzip capture or an unreadable file. Up to 64 MB the lines are
    counted; above, they are estimated from 16 samples of 1 MB spread over the file (counting
    every byte of a big capture took a core a second per 1.4 GB before the work began)."""
    try:
        with open(path, "rb") as f:
            if f.read(2) == GZIP_MAGIC:
                return None
            size = os.fstat(f.fileno()).st_size
            f.seek(0)
            if size < _COUNT_ALL_BELOW:
                lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
            else:
                newlines = read = 0
                for k in range(_SAMPLES):
                    f.seek((size - _SAMPLE_BYTES) * k // (_SAMPLES - 1))
                    chunk = f.read(_SAMPLE_BYTES)
                    newlines += chunk.count(b"\n")
                    read += len(chunk)
                lines = round(newlines * size / read) if read else 0
    except OSError:
        return None
    return max(lines - 1, 0)


def read_header(path: str | Path) -> CaptureHeader:
    """The header of a capture file; ``CaptureFormatError`` when it has none usable."""
    with CaptureReader(path) as reader:
        assert reader.header is not None
        return reader.header
