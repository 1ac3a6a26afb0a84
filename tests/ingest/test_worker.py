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


def _full_exchange(headers: tuple[tuple[str, str], ...]) -> object:
    from rpcspy.capture import HttpMessage, Problem
    from rpcspy.ingest import Exchange

    return Exchange(
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
        problems=(Problem("request", "gap", "lost", 3, 4, "params[0]"),),
        damaged=frozenset({"request", "response"}),
        judged=False,
        redacted=True,
    )


def test_exchanges_packed_for_the_recorder_come_back_equal() -> None:
    from rpcspy.capture import HttpMessage
    from rpcspy.ingest import Exchange
    from rpcspy.ingest.exchange import pack_exchanges, unpack_exchanges

    batch = [_full_exchange(h) for h in [(), (("Host", "a"),), (("X-Nul", "a\0b"), ("Y", ""))]]
    batch.append(Exchange("GET", HttpMessage((), None), None, started=0.0))
    packed = pack_exchanges(batch)  # type: ignore[arg-type]
    assert packed is not None
    again = unpack_exchanges(packed)
    assert again == batch
    for one in again:
        assert type(one.request.headers) is tuple
        assert all(type(pair) is tuple for pair in one.request.headers)
        assert all(type(p).__name__ == "Problem" for p in one.problems)


def test_what_cannot_be_packed_is_pickled_and_recorded_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A decoded message, or a str subclass in a header, is not marshal's: the batch is sent
    # pickled ("build") and the worker makes the same records of it.
    from rpcspy.ingest.exchange import pack_exchanges

    class Text(str):
        pass

    from rpcspy.ingest import Exchange

    found = read_pcap(FIXTURES / "lo.pcap", ImportCounts())
    exchanges = [x for x in found if isinstance(x, Exchange)]
    odd = dataclasses.replace(
        exchanges[0],
        request=dataclasses.replace(
            exchanges[0].request, headers=((Text("Host"), "x"), *exchanges[0].request.headers)
        ),
    )
    assert pack_exchanges([odd]) is None
    assert pack_exchanges(exchanges) is not None

    sent: list[str] = []
    build = worker._build

    def noted_build(first: int, batch: list[object]) -> object:
        job = build(first, batch)  # type: ignore[arg-type]
        sent.append(job[0])
        return job

    monkeypatch.setattr(worker, "_build", noted_build)
    monkeypatch.setattr(worker, "BATCH", 2)
    out = {}
    for name, items in [("plain", exchanges), ("odd", [odd, *exchanges[1:]])]:
        path = tmp_path / f"{name}.jsonl"
        CaptureWriter(path, append=False).close()
        counts = ImportCounts()
        with RecorderProcess(path, counts) as recorder:
            for item in items:
                recorder.add(item)
        out[name] = list(read_capture(path))
    assert "build" in sent and "packed" in sent
    plain, odd_records = out["plain"], out["odd"]
    assert len(plain) == len(odd_records) >= 9
    assert _calls(odd_records[1:]) == _calls(plain[1:])
    # The first differs by its extra header only.
    first, other = odd_records[0], plain[0]
    assert first.request.headers == (("Host", "x"), *other.request.headers)
    assert _calls([dataclasses.replace(first, request=other.request)]) == _calls([other])
