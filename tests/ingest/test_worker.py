"""The recorder process: records come out the same whichever process built them."""

from __future__ import annotations

import dataclasses
import pickle
import queue
from pathlib import Path

import pytest

from rpcspy.capture import CallRecord, read_capture
from rpcspy.capture.writer import CaptureWriter
from rpcspy.ingest import ImportCounts, import_exchanges, worker
from rpcspy.ingest.pcap import read_pcap
from rpcspy.ingest.worker import RecorderProcess
from tests.ingest.helpers import FIXTURES, import_file


def _two_processes(
    path: Path, out: Path, refuse: int
) -> tuple[list[CallRecord], ImportCounts, int]:
    """Import with the recorder process, its queue refusing every ``refuse``-th batch (0: none),
    which this process then builds itself, as it does when the worker is behind."""
    counts = ImportCounts()
    CaptureWriter(out, append=False).close()
    recorder = RecorderProcess(out, counts)
    jobs = recorder._jobs
    put = jobs.put_nowait
    offered = 0

    def put_nowait(item: object) -> None:
        nonlocal offered
        offered += 1
        if refuse and offered % refuse == 0:
            raise queue.Full
        put(item)

    jobs.put_nowait = put_nowait  # type: ignore[method-assign]
    with recorder:
        import_exchanges(read_pcap(path, counts), recorder, counts)
    return list(read_capture(out)), counts, recorder.built_here


def _calls(records: list[CallRecord]) -> list[tuple[object, ...]]:
    return [
        (
            r.seq,
            r.method,
            r.problems,
            r.findings,
            r.call,
            r.reply,
            r.started,
            r.ended,
            r.request,
            r.response,
        )
        for r in records
    ]


@pytest.mark.parametrize("name", ["lo.pcap", "lossy.pcap"])
@pytest.mark.parametrize("refuse", [0, 1, 2, 3])
def test_batches_built_by_the_reader_or_the_worker_make_the_same_capture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, refuse: int
) -> None:
    monkeypatch.setattr(worker, "BATCH", 2)
    one, one_counts = import_file(FIXTURES / name, tmp_path / "one.jsonl")
    two, two_counts, built_here = _two_processes(FIXTURES / name, tmp_path / "two.jsonl", refuse)
    assert len(one) >= 9
    assert _calls(two) == _calls(one)
    assert [r.seq for r in two] == list(range(1, len(one) + 1))
    assert two_counts == one_counts
    # (A real queue may be full too, when the worker is slow: then this process builds more.)
    if refuse == 1:
        assert built_here == len(one) - len(one) % 2  # all but the last, short batch
    elif refuse > 1:
        assert built_here >= 2


def test_an_exchange_pickles_whole_whatever_its_headers_hold() -> None:
    from rpcspy.capture import HttpMessage, Problem
    from rpcspy.ingest import Exchange

    for headers in [(), (("Host", "a"),), (("X-Nul", "a\0b"), ("Y", "")), (("", ""), ("Z", "\0"))]:
        exchange = Exchange(
            "POST",
            HttpMessage(headers, b"<methodCall/>", "gzip"),
            HttpMessage(headers[::-1], None) if headers else None,
            started=1.5,
            ended=2.5,
            client=("::1", 5),
            server=("127.0.0.1", 80),
            scheme="https",
            host="h",
            port=80,
            path="/RPC2",
            status=200,
            error="e",
            problems=(Problem("request", "gap", "lost"),),
            damaged=frozenset({"request", "response"}),
            judged=False,
            redacted=True,
        )
        # Every field is set away from its default here, so a field the pickled form forgets
        # comes back as its default and the comparison fails.
        defaults = Exchange("GET", HttpMessage((), None), None, started=0.0)
        for f in dataclasses.fields(Exchange) if headers else ():
            assert getattr(exchange, f.name) != getattr(defaults, f.name), f.name
        again = pickle.loads(pickle.dumps(exchange))
        assert again == exchange
        assert type(again.request.headers) is tuple
        assert all(type(pair) is tuple for pair in again.request.headers)
