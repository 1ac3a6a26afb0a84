"""The recording worker: builds call records from raw exchanges and appends them to the capture.

Large exchanges are recorded on one background thread, so that decoding them never holds up
mitmproxy's event loop. Small ones, when nothing is queued, are recorded right away in the caller's
thread (``record_now``): measured on the proxy, handing a small call to a thread costs more CPU
than decoding it (the two threads contend for the GIL), and it delays the flow metadata. One
thread (not a pool) keeps the capture in the order exchanges completed, and the queue is bounded
so a flood of traffic cannot grow memory without limit. Nothing here knows mitmproxy: the addon
hands over plain bytes and tuples.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from rpcspy.capture import CallRecord, Problem, build_record
from rpcspy.xmlrpc import Limits

__all__ = ["DEFAULT_MAX_BODY", "Exchange", "RecordSink", "RecordWorker", "make_record"]

logger = logging.getLogger(__name__)

#: Bodies larger than this (bytes, on the wire or decompressed) are recorded but not decoded.
DEFAULT_MAX_BODY = 16 * 1024 * 1024


class RecordSink(Protocol):
    """Where records go: a ``CaptureWriter`` or anything with the same two methods."""

    def write(self, record: CallRecord) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP exchange as the proxy saw it, copied out of mitmproxy's flow."""

    seq: int
    started: float
    ended: float | None
    client: tuple[str, int] | None
    server: tuple[str, int] | None
    scheme: str
    host: str
    port: int
    path: str
    status: int | None
    request_headers: tuple[tuple[str, str], ...]
    response_headers: tuple[tuple[str, str], ...]
    request_body: bytes | None
    response_body: bytes | None
    request_content_encoding: str | None
    response_content_encoding: str | None
    error: str | None
    max_body: int = DEFAULT_MAX_BODY
    #: Opaque to the worker; handed back with the record (the addon puts its flow here).
    token: object = field(default=None, compare=False)


def _body_problem(where: Literal["request", "response"], size: int, limit: int) -> Problem:
    return Problem(
        where,
        "too-large",
        f"body over the limit ({size} bytes > {limit}); not decoded",
    )


def make_record(exchange: Exchange) -> CallRecord:
    """Build the call record for one exchange: decode, pair multicall, note every problem.

    A body over ``exchange.max_body`` is neither decoded nor kept (the record says so in a
    ``too-large`` problem); a body mitmproxy streamed (None) is noted likewise.
    """
    extra: list[Problem] = []
    skipped: set[str] = set()
    request_body = exchange.request_body
    response_body = exchange.response_body
    if request_body is None:
        extra.append(Problem("request", "streamed", "body was streamed by mitmproxy; not recorded"))
        skipped.add("request")
        request_body = b""
    elif len(request_body) > exchange.max_body:
        extra.append(_body_problem("request", len(request_body), exchange.max_body))
        skipped.add("request")
        request_body = b""
    if response_body is not None and len(response_body) > exchange.max_body:
        extra.append(_body_problem("response", len(response_body), exchange.max_body))
        skipped.add("response")
        response_body = b""
    record = build_record(
        started=exchange.started,
        ended=exchange.ended,
        client=exchange.client,
        server=exchange.server,
        scheme=exchange.scheme,
        host=exchange.host,
        port=exchange.port,
        path=exchange.path,
        status=exchange.status,
        request_headers=exchange.request_headers,
        response_headers=exchange.response_headers,
        request_body=request_body,
        response_body=response_body,
        request_content_encoding=exchange.request_content_encoding,
        response_content_encoding=exchange.response_content_encoding,
        error=exchange.error,
        seq=exchange.seq,
        # The same bound applies after decompression: a small gzip bomb is not decoded either.
        limits=Limits(max_bytes=exchange.max_body),
    )
    if not skipped:
        return record
    # What build_record said about a body we replaced with nothing is noise; say why instead.
    kept = tuple(
        p
        for p in record.problems
        if p.where not in skipped and not (p.where == "multicall" and skipped)
    )
    changes: dict[str, object] = {"problems": (*extra, *kept)}
    if "request" in skipped:
        changes.update(call=None, subcalls=())
    if "response" in skipped:
        changes.update(response=None, subcalls=())
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


@dataclass(slots=True)
class _SetSink:
    sink: RecordSink | None


_STOP = object()


class RecordWorker:
    """A background thread that turns exchanges into records, writes them, and reports them.

    ``deliver(exchange, record)`` is called on the worker thread after each queued record is
    written (or when writing failed: the record is still delivered so the live view does not
    miss it). ``record_now`` does the same work in the caller's thread when the queue is empty.
    The queue holds at most ``max_queue`` exchanges and ``max_queue_bytes`` of bodies (one
    exchange always fits, however large), so a burst of huge bodies waits instead of piling up.
    """

    def __init__(
        self,
        deliver: Callable[[Exchange, CallRecord], None],
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

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def pending(self) -> int:
        """Exchanges queued or being recorded."""
        return self._pending

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    @staticmethod
    def _size(exchange: Exchange) -> int:
        return len(exchange.request_body or b"") + len(exchange.response_body or b"")

    def _fits(self, size: int) -> bool:
        return self._pending == 0 or (
            self._pending < self._max_queue and self._pending_bytes + size <= self._max_queue_bytes
        )

    def _enqueue(self, exchange: Exchange, size: int) -> None:
        self._pending += 1
        self._pending_bytes += size
        self._queue.put(exchange)

    def submit_nowait(self, exchange: Exchange) -> bool:
        """Queue an exchange; False (and nothing queued) when the queue is full."""
        self._ensure_started()
        size = self._size(exchange)
        with self._room:
            if not self._fits(size):
                return False
            self._enqueue(exchange, size)
        return True

    def submit(self, exchange: Exchange) -> None:
        """Queue an exchange, waiting for room (call this off the event loop)."""
        self._ensure_started()
        size = self._size(exchange)
        with self._room:
            self._room.wait_for(lambda: self._fits(size))
            self._enqueue(exchange, size)

    def record_now(self, exchange: Exchange) -> tuple[bool, CallRecord | None]:
        """Build and write the record right here, in the caller's thread, if nothing is queued.

        Returns ``(False, None)``, having done nothing, when the worker has work pending: the
        exchange must then be queued, so that records stay in order. Otherwise ``(True, record)``
        (record None if building it failed, which is logged). Nothing is delivered.
        """
        with self._room:
            if self._pending:
                return False, None
            # Counted as pending while it is written, so nothing overtakes it.
            self._pending += 1
        try:
            return True, self._process(exchange)
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
            assert isinstance(item, Exchange)
            try:
                record = self._process(item)
                if record is not None:
                    try:
                        self._deliver(item, record)
                    except Exception:
                        logger.exception("rpcspy: delivering a record failed")
            finally:
                self._done_with(self._size(item))

    def _process(self, exchange: Exchange) -> CallRecord | None:
        """Build the record and write it; None only if building failed (logged)."""
        try:
            record = make_record(exchange)
        except Exception:
            # build_record promises not to raise; if it does, losing one record beats losing
            # the worker (and every record after it).
            self.failed += 1
            logger.exception(
                "rpcspy: could not build a record for %s%s", exchange.host, exchange.path
            )
            return None
        if self._sink is not None:
            try:
                self._sink.write(record)
                self.written += 1
            except Exception:
                # The record is still delivered, so the live view does not miss it.
                self.failed += 1
                logger.exception("rpcspy: writing to the capture failed")
        return record
