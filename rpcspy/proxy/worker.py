"""The recording worker: builds call records from exchanges and appends them to the capture.

Large exchanges are recorded on one background thread, so that decoding them never holds up
mitmproxy's event loop. Small ones, when nothing is queued, are recorded right away in the caller's
thread (``record_now``): measured on the proxy, handing a small call to a thread costs more CPU
than decoding it (the two threads contend for the GIL), and it delays the flow metadata. One
thread (not a pool) keeps the capture in the order exchanges completed, and the queue is bounded
so a flood of traffic cannot grow memory without limit. Nothing here knows mitmproxy: the addon
hands over a ``Job``, the two ``HttpMessage`` halves it read off the flow with ``build_record``
bound to the rest of the exchange, and the worker only decides where and when that runs.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from rpcspy.capture import CallRecord, HttpMessage
from rpcspy.capture.writer import CaptureWriteError

__all__ = ["DEFAULT_MAX_BODY", "Job", "RecordSink", "RecordWorker"]

logger = logging.getLogger(__name__)

#: Bodies larger than this (bytes, on the wire or decompressed) are recorded but not decoded.
DEFAULT_MAX_BODY = 16 * 1024 * 1024


class RecordSink(Protocol):
    """Where records go: a ``CaptureWriter`` or anything with the same two methods."""

    def write(self, record: CallRecord) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Job:
    """One exchange waiting to be recorded: its two halves as the proxy saw them, and the rest.

    ``build`` makes the record from the halves (``build_record`` with the envelope bound: times,
    peers, URL, status, error, ``seq``, ``max_body``); the worker calls it on its thread.
    """

    seq: int
    request: HttpMessage
    response: HttpMessage | None
    build: Callable[[HttpMessage, HttpMessage | None], CallRecord] = field(compare=False)
    #: Opaque to the worker; handed back with the record (the addon puts its flow here).
    token: object = field(default=None, compare=False)

    @property
    def size(self) -> int:
        """Body bytes the job holds (request plus response)."""
        response = 0 if self.response is None else self.response.size or 0
        return (self.request.size or 0) + response

    def record(self) -> CallRecord:
        """Build the record (decode, pair multicall, note every problem)."""
        return self.build(self.request, self.response)


@dataclass(slots=True)
class _SetSink:
    sink: RecordSink | None


_STOP = object()


class RecordWorker:
    """A background thread that turns jobs into records, writes them, and reports them.

    ``deliver(job, record)`` is called on the worker thread after each queued record is
    written (or when writing failed: the record is still delivered so the live view does not
    miss it). ``record_now`` does the same work in the caller's thread when the queue is empty.
    The queue holds at most ``max_queue`` jobs and ``max_queue_bytes`` of bodies (one
    job always fits, however large), so a burst of huge bodies waits instead of piling up.
    """

    def __init__(
        self,
        deliver: Callable[[Job, CallRecord], None],
        *,
        max_queue: int = 10_000,
        max_queue_bytes: int = 256 * 1024 * 1024,
        name: str = "rpcspy-recorder",
    ) -> None:
        self._deliver = deliver
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._name = name
        self._thread: threading.Thread | None = None
        self._sink: RecordSink | None = None
        self._lock = threading.Lock()
        self._room = threading.Condition()
        self._max_queue = max_queue
        self._max_queue_bytes = max_queue_bytes
        self._pending = 0
        self._pending_bytes = 0
        self.written = 0
        self.failed = 0
        #: Records the sink refused (a full disk): delivered, but not in the capture.
        self.unwritten = 0
        #: The first write error of the current run of failures (None while writing works).
        self.write_error: Exception | None = None
        #: The first write error since start (kept after writing works again).
        self.first_write_error: Exception | None = None

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def pending(self) -> int:
        """Jobs queued or being recorded."""
        return self._pending

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    @staticmethod
    def _size(job: Job) -> int:
        return job.size

    def _fits(self, size: int) -> bool:
        return self._pending == 0 or (
            self._pending < self._max_queue and self._pending_bytes + size <= self._max_queue_bytes
        )

    def _enqueue(self, job: Job, size: int) -> None:
        self._pending += 1
        self._pending_bytes += size
        self._queue.put(job)

    def submit_nowait(self, job: Job) -> bool:
        """Queue a job; False (and nothing queued) when the queue is full."""
        self._ensure_started()
        size = self._size(job)
        with self._room:
            if not self._fits(size):
                return False
            self._enqueue(job, size)
        return True

    def submit(self, job: Job) -> None:
        """Queue a job, waiting for room (call this off the event loop)."""
        self._ensure_started()
        size = self._size(job)
        with self._room:
            self._room.wait_for(lambda: self._fits(size))
            self._enqueue(job, size)

    def record_now(self, job: Job) -> tuple[bool, CallRecord | None]:
        """Build and write the record right here, in the caller's thread, if nothing is queued.

        Returns ``(False, None)``, having done nothing, when the worker has work pending: the
        job must then be queued, so that records stay in order. Otherwise ``(True, record)``
        (record None if building it failed, which is logged). Nothing is delivered.
        """
        with self._room:
            if self._pending:
                return False, None
            # Counted as pending while it is written, so nothing overtakes it.
            self._pending += 1
        try:
            return True, self._process(job)
        finally:
            self._done_with(0)

    def set_sink(self, sink: RecordSink | None) -> None:
        """Write subsequent records to ``sink``; the previous sink is closed once drained."""
        self._ensure_started()
        with self._room:
            self._pending += 1
            self._queue.put(_SetSink(sink))

    def stop(self, timeout: float | None = None) -> bool:
        """Write everything queued, close the sink and end the thread. True when it ended."""
        with self._lock:
            thread = self._thread
        if thread is None or not thread.is_alive():
            self._close_sink()
            return True
        self._queue.put(_STOP)
        thread.join(timeout)
        return not thread.is_alive()

    def _close_sink(self) -> None:
        sink, self._sink = self._sink, None
        if sink is not None:
            try:
                sink.close()
            except (CaptureWriteError, OSError) as exc:
                if self.first_write_error is None:
                    self.first_write_error = exc
                logger.error("rpcspy: closing the capture: %s", exc)
            except Exception:
                logger.exception("rpcspy: closing the capture failed")

    def _done_with(self, size: int) -> None:
        with self._room:
            self._pending -= 1
            self._pending_bytes -= size
            self._room.notify_all()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                self._close_sink()
                return
            if isinstance(item, _SetSink):
                self._close_sink()
                self._sink = item.sink
                self._done_with(0)
                continue
            assert isinstance(item, Job)
            try:
                record = self._process(item)
                if record is not None:
                    try:
                        self._deliver(item, record)
                    except Exception:
                        logger.exception("rpcspy: delivering a record failed")
            finally:
                self._done_with(self._size(item))

    def _process(self, job: Job) -> CallRecord | None:
        """Build the record and write it; None only if building failed (logged)."""
        try:
            record = job.record()
        except Exception:
            # build_record promises not to raise; if it does, losing one record beats losing
            # the worker (and every record after it).
            self.failed += 1
            logger.exception("rpcspy: could not build a record for exchange #%d", job.seq)
            return None
        if self._sink is not None:
            try:
                self._sink.write(record)
            except Exception as exc:
                # The record is still delivered, so the live view does not miss it.
                self.failed += 1
                self.unwritten += 1
                self._write_failed(exc)
            else:
                self.written += 1
                self._write_worked()
        return record

    def _write_failed(self, exc: Exception) -> None:
        """Say once (not once per call) that the capture stopped taking records."""
        if self.write_error is not None:
            return
        self.write_error = exc
        if self.first_write_error is None:
            self.first_write_error = exc
        if isinstance(exc, (CaptureWriteError, OSError)):
            # A full disk or the like: the message says it all, no traceback.
            logger.error(
                "rpcspy: %s; %d calls recorded so far. Calls are still forwarded, but not "
                "recorded until the capture can be written again.",
                exc,
                self.written,
            )
        else:
            logger.exception("rpcspy: writing to the capture failed; calls are not recorded")

    def _write_worked(self) -> None:
        if self.write_error is None:
            return
        self.write_error = None
        logger.warning(
            "rpcspy: the capture is written again; %d calls were not recorded so far",
            self.unwritten,
        )
