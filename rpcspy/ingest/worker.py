"""Records built and written in a second process, so that an import uses two cores.

Strategy: reading a pcap (packets, TCP, HTTP framing) and building records (decoding XML-RPC,
JSON) cost about the same; on two cores the reading stays in the command's process and the
building moves here. Exchanges go over in batches through a bounded queue (memory stays bounded
whatever the file's size) in the order they were read; the worker sniffs what the reader left
unjudged, numbers the records and writes them in that order with the one ``CaptureWriter``.
The worker is forked, so it starts in milliseconds with everything already imported.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from pathlib import Path
from types import TracebackType
from typing import Final

from rpcspy.capture import CaptureWriter
from rpcspy.ingest.exchange import Exchange, ImportCounts, InlineRecorder

__all__ = ["RecorderProcess", "RecorderProcessError", "two_cores"]

#: Exchanges sent to the worker at once: few enough to keep memory small, enough to make the
#: hand-over cheap.
BATCH: Final = 256
#: Batches waiting for the worker at most.
QUEUE: Final = 8

_Batch = list[Exchange]


class RecorderProcessError(Exception):
    """The worker could not write the capture (the message says why) or died."""


def two_cores() -> bool:
    """Whether this process may run on two cores or more (and fork is there to start a worker)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return cores >= 2 and "fork" in multiprocessing.get_all_start_methods()


def _work(
    path: Path,
    redact: bool,
    first_seq: int,
    max_body: int | None,
    jobs: multiprocessing.Queue[_Batch | None],
    results: multiprocessing.Queue[tuple[str, object]],
) -> None:
    counts = ImportCounts()
    try:
        with CaptureWriter(path, redact=redact, append=True) as writer:
            recorder = InlineRecorder(writer, counts, first_seq=first_seq, max_body=max_body)
            while (batch := jobs.get()) is not None:
                for exchange in batch:
                    recorder.add(exchange)
    except Exception as exc:
        results.put(("error", f"{exc}"))
        while jobs.get() is not None:  # let the reader finish sending, then stop
            pass
        return
    results.put(("ok", (counts.calls, counts.problems, counts.damaged, counts.skipped)))


class RecorderProcess:
    """A ``Recorder`` whose records are built and written by a forked worker process.

    ``path`` must already be a capture (its header written, e.g. by a ``CaptureWriter`` that
    was closed): the worker appends to it. ``close`` waits for the last record and adds the
    worker's counts to ``counts``; ``RecorderProcessError`` if the worker failed.
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
        self._jobs: multiprocessing.Queue[_Batch | None] = ctx.Queue(QUEUE)
        self._results: multiprocessing.Queue[tuple[str, object]] = ctx.Queue()
        self._batch: _Batch = []
        self._closed = False
        self._process = ctx.Process(
            target=_work,
            args=(path, redact, first_seq, max_body, self._jobs, self._results),
            name="rpcspy-import-recorder",
            daemon=True,
        )
        self._process.start()

    def add(self, exchange: Exchange) -> None:
        """Queue the exchange; sent to the worker with its batch."""
        self._batch.append(exchange)
        if len(self._batch) >= BATCH:
            self._send(self._batch)
            self._batch = []

    def _send(self, item: _Batch | None) -> None:
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
                self._send(self._batch)
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
        calls, problems, damaged, skipped = value
        self.counts.calls += calls
        self.counts.skipped += skipped
        self.counts.problems += problems
        self.counts.damaged += damaged

    def __enter__(self) -> RecorderProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
