"""Records built and written in a second process, so that an import uses two cores.

Strategy: reading a pcap (packets, TCP, HTTP framing) stays in the command's process; building
records (decoding XML-RPC, JSON) and writing them happens in a forked worker. The reader judges
each exchange (the XML-RPC sniff) and numbers the records, so a batch can be built on either
side: batches go to the worker through a bounded queue while it keeps up, and when the queue is
full the reader builds and encodes the batch itself and queues the finished lines, which the
worker writes in their turn. So the two processes share the work whatever its mix (small calls
that are cheap to decode, big ones that are not), both cores stay busy, memory stays bounded,
and the lines are written in the order the exchanges were read. The worker is forked, so it
starts in milliseconds with everything already imported.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Final

from rpcspy.capture import CallRecord, CaptureWriter
from rpcspy.capture.writer import encode_record
from rpcspy.ingest.exchange import (
    Exchange,
    ImportCounts,
    count_record,
    is_recorded,
    pack_exchanges,
    to_record,
    unpack_records,
)

__all__ = ["RecorderProcess", "RecorderProcessError", "encode_batch", "two_cores"]

#: Exchanges sent to the worker at once: few enough to keep memory small, enough to make the
#: hand-over cheap.
BATCH: Final = 256
#: Batches waiting for the worker at most; past that the reader builds the next one itself.
QUEUE: Final = 4

#: ("build", first seq, exchanges): the worker builds and writes them; ("packed", first seq,
#: the exchanges packed by ``pack_exchanges``): the same, as one string (cheaper to send).
#: ("lines", lines, how many): records the reader built, written as they are.
_Job = tuple[str, int, list[Exchange]] | tuple[str, int, bytes] | tuple[str, bytes, int]


class RecorderProcessError(Exception):
    """The worker could not write the capture (the message says why) or died."""


def two_cores() -> bool:
    """Whether this process may run on two cores or more (and fork is there to start a worker)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return cores >= 2 and "fork" in multiprocessing.get_all_start_methods()


def encode_batch(
    batch: Sequence[Exchange],
    first_seq: int,
    counts: ImportCounts,
    *,
    redact: bool = True,
    max_body: int | None = None,
) -> bytes:
    """The capture lines of the records of ``batch`` (numbered from ``first_seq``), counted."""
    records = (to_record(e, seq, max_body=max_body) for seq, e in enumerate(batch, first_seq))
    return _encode(records, counts, redact)[0]


def _encode(records: Iterable[CallRecord], counts: ImportCounts, redact: bool) -> tuple[bytes, int]:
    """The capture lines of ``records``, counted, and how many there are."""
    lines = []
    for record in records:
        lines.append(encode_record(record, redact=redact))
        count_record(record, counts)
    return b"".join(lines), len(lines)


def _work(
    path: Path,
    redact: bool,
    max_body: int | None,
    jobs: multiprocessing.Queue[_Job | None],
    results: multiprocessing.Queue[tuple[str, object]],
) -> None:
    counts = ImportCounts()
    try:
        with CaptureWriter(path, redact=redact, append=True) as writer:
            while (job := jobs.get()) is not None:
                kind, first, items = job
                if kind == "packed":
                    # Records straight from the packed fields (no exchanges made on this side).
                    assert isinstance(first, int) and isinstance(items, bytes)
                    records = unpack_records(items, first, max_body=max_body)
                    writer.write_lines(*_encode(records, counts, redact))
                elif kind == "build":
                    assert isinstance(first, int) and isinstance(items, list)
                    lines = encode_batch(items, first, counts, redact=redact, max_body=max_body)
                    writer.write_lines(lines, len(items))
                else:
                    assert isinstance(first, bytes) and isinstance(items, int)
                    writer.write_lines(first, items)
    except Exception as exc:
        results.put(("error", f"{exc}"))
        while jobs.get() is not None:  # let the reader finish sending, then stop
            pass
        return
    results.put(("ok", (counts.calls, counts.problems, counts.damaged)))


def _build(first: int, batch: list[Exchange]) -> _Job:
    """The job of building ``batch``: packed, or pickled as it is when it cannot be packed."""
    packed = pack_exchanges(batch)
    return ("build", first, batch) if packed is None else ("packed", first, packed)


class RecorderProcess:
    """A ``Recorder`` whose records are built and written by a forked worker process (and by
    this one when the worker is behind).

    Exchanges not judged XML-RPC yet are sniffed here and counted skipped when they are not;
    records are numbered from ``first_seq``. ``path`` must already be a capture (its header
    written, e.g. by a ``CaptureWriter`` that was closed): the worker appends to it. ``close``
    waits for the last record and adds the counts to ``counts``; ``RecorderProcessError`` if
    the worker failed.
    """

    def __init__(
        self,
        path: Path,
        counts: ImportCounts,
        *,
        first_seq: int = 1,
        redact: bool = True,
        max_body: int | None = None,
    ) -> None:
        ctx = multiprocessing.get_context("fork")
        self.counts = counts
        self.seq = first_seq
        self.redact = redact
        self.max_body = max_body
        #: Records built in this process because the worker was behind (the rest: there).
        self.built_here = 0
        self._here = ImportCounts()
        self._jobs: multiprocessing.Queue[_Job | None] = ctx.Queue(QUEUE)
        self._results: multiprocessing.Queue[tuple[str, object]] = ctx.Queue()
        self._batch: list[Exchange] = []
        self._closed = False
        self._process = ctx.Process(
            target=_work,
            args=(path, redact, max_body, self._jobs, self._results),
            name="rpcspy-import-recorder",
            daemon=True,
        )
        self._process.start()

    def add(self, exchange: Exchange) -> None:
        """Queue the exchange (or count it skipped); sent with its batch."""
        if not is_recorded(exchange):
            self.counts.skipped += 1
            return
        self._batch.append(exchange)
        if len(self._batch) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        first = self.seq
        self.seq += len(batch)
        try:
            self._jobs.put_nowait(_build(first, batch))
            return
        except queue.Full:
            pass
        # The worker is behind: this process builds the batch (the other core is busy).
        lines = encode_batch(batch, first, self._here, redact=self.redact, max_body=self.max_body)
        self.built_here += len(batch)
        self._send(("lines", lines, len(batch)))

    def _send(self, item: _Job | None) -> None:
        while True:
            try:
                self._jobs.put(item, timeout=1.0)
                return
            except queue.Full:
                if not self._process.is_alive():
                    raise RecorderProcessError("the record writer process died") from None

    def close(self) -> None:
        """Send what is left, wait for the worker, and take its counts."""
        if self._closed:
            return
        self._closed = True
        if self._process.is_alive():
            if self._batch:
                batch, self._batch = self._batch, []
                self._send(_build(self.seq, batch))
                self.seq += len(batch)
            self._send(None)
        kind: str = "error"
        value: object = "the record writer process died"
        while True:
            try:
                kind, value = self._results.get(timeout=1.0)
                break
            except queue.Empty:
                if not self._process.is_alive():
                    break
        self._process.join()
        if kind != "ok":
            raise RecorderProcessError(str(value))
        assert isinstance(value, tuple)
        calls, problems, damaged = value
        here = self._here
        self.counts.calls += calls + here.calls
        self.counts.problems += problems + here.problems
        self.counts.damaged += damaged + here.damaged

    def __enter__(self) -> RecorderProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
