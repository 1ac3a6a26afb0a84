"""The recording worker on its own: order, drain, back-pressure, failures that must not stop it."""

from __future__ import annotations

import functools
import threading
import time
from pathlib import Path

from rpcspy.capture import CallRecord, CaptureWriter, HttpMessage, build_record, read_capture
from rpcspy.proxy.worker import DEFAULT_MAX_BODY, Job, RecordWorker
from tests.proxy.helpers import wait_for


def call_body(arg: str) -> bytes:
    return (
        b"<?xml version='1.0'?><methodCall><methodName>echo</methodName><params><param><value>"
        b"<string>" + arg.encode() + b"</string></value></param></params></methodCall>"
    )


def response_body(arg: str) -> bytes:
    return (
        b"<?xml version='1.0'?><methodResponse><params><param><value><string>"
        + arg.upper().encode()
        + b"</string></value></param></params></methodResponse>"
    )


def job(seq: int, arg: str = "x", *, request_body: bytes | None = None) -> Job:
    """The job the addon would hand over for ``echo(arg)``, as ``seq``."""
    request = HttpMessage(
        (("Content-Type", "text/xml"),), call_body(arg) if request_body is None else request_body
    )
    response = HttpMessage((("Content-Type", "text/xml"),), response_body(arg))
    build = functools.partial(
        build_record,
        started=1000.0 + seq,
        ended=1000.5 + seq,
        client=("127.0.0.1", 40000),
        server=("127.0.0.1", 8000),
        scheme="http",
        host="127.0.0.1",
        port=8000,
        path="/RPC2",
        status=200,
        seq=seq,
        max_body=DEFAULT_MAX_BODY,
    )
    return Job(seq, request, response, build)


def test_a_job_builds_its_record_and_keeps_the_wire_bytes() -> None:
    record = job(3, "abc").record()
    assert record.seq == 3 and record.method == "echo" and record.ok
    assert record.request.body == call_body("abc")
    assert record.duration_ms == 500.0


def test_streamed_body_is_noted() -> None:
    streamed = Job(1, HttpMessage(body=None), job(1).response, job(1).build)
    record = streamed.record()
    assert [(p.where, p.kind) for p in record.problems] == [("request", "streamed")]
    assert record.call is None


def test_records_are_written_in_order_and_drained_on_stop(tmp_path: Path) -> None:
    delivered: list[int] = []
    worker = RecordWorker(lambda ex, rec: delivered.append(rec.seq))
    worker.set_sink(CaptureWriter(tmp_path / "w.jsonl"))
    for i in range(1, 501):
        assert worker.submit_nowait(job(i, f"a{i}"))
    assert worker.stop(timeout=60)
    assert delivered == list(range(1, 501))
    assert [r.seq for r in read_capture(tmp_path / "w.jsonl")] == list(range(1, 501))
    assert worker.written == 500 and worker.pending == 0


def test_switching_sinks_keeps_each_record_in_one_file(tmp_path: Path) -> None:
    worker = RecordWorker(lambda ex, rec: None)
    worker.set_sink(CaptureWriter(tmp_path / "a.jsonl"))
    worker.submit(job(1))
    worker.set_sink(CaptureWriter(tmp_path / "b.jsonl"))
    worker.submit(job(2))
    worker.set_sink(None)
    worker.submit(job(3))
    worker.stop(timeout=30)
    assert [r.seq for r in read_capture(tmp_path / "a.jsonl")] == [1]
    assert [r.seq for r in read_capture(tmp_path / "b.jsonl")] == [2]


def test_the_queue_is_bounded_by_bytes_but_one_exchange_always_fits() -> None:
    gate = threading.Event()

    def slow_deliver(ex: Job, rec: CallRecord) -> None:
        gate.wait(30)

    worker = RecordWorker(slow_deliver, max_queue_bytes=1000)
    big = job(1, "x" * 5000)
    assert worker.submit_nowait(big)  # larger than the bound, but the queue was empty
    assert not worker.submit_nowait(job(2))
    submitted = threading.Event()

    def blocking_submit() -> None:
        worker.submit(job(2))
        submitted.set()

    t = threading.Thread(target=blocking_submit)
    t.start()
    time.sleep(0.2)
    assert not submitted.is_set()  # waits for room
    gate.set()
    assert submitted.wait(10)
    t.join(10)
    assert worker.stop(timeout=30)


def test_a_failing_sink_or_callback_does_not_stop_the_worker() -> None:
    class Broken:
        def write(self, record: CallRecord) -> None:
            raise OSError("disk full")

        def close(self) -> None:
            raise OSError("still full")

    seen: list[int] = []

    def deliver(ex: Job, rec: CallRecord) -> None:
        seen.append(rec.seq)
        if rec.seq == 1:
            raise RuntimeError("callback bug")

    worker = RecordWorker(deliver)
    worker.set_sink(Broken())
    worker.submit(job(1))
    worker.submit(job(2))
    wait_for(lambda: len(seen) == 2)
    assert worker.running
    assert worker.failed == 2
    assert worker.stop(timeout=30)
    assert not worker.running


def test_record_now_only_when_idle_so_order_is_kept(tmp_path: Path) -> None:
    gate = threading.Event()
    delivered: list[int] = []

    def deliver(ex: Job, rec: CallRecord) -> None:
        gate.wait(30)
        delivered.append(rec.seq)

    worker = RecordWorker(deliver)
    worker.set_sink(CaptureWriter(tmp_path / "n.jsonl"))
    wait_for(lambda: worker.pending == 0)
    done, record = worker.record_now(job(1))
    assert done and record is not None and record.seq == 1 and delivered == []
    assert worker.submit_nowait(job(2))  # held up in deliver
    assert worker.record_now(job(3)) == (False, None)  # must queue behind 2
    assert worker.submit_nowait(job(3))
    gate.set()
    assert worker.stop(timeout=30)
    assert delivered == [2, 3]
    assert [r.seq for r in read_capture(tmp_path / "n.jsonl")] == [1, 2, 3]
