"""Bodies over ``--max-body`` stream through the proxy instead of being held (issue 11, item 4).

A real ``rpcspy proxy`` process (and a real ``mitmdump -s addons/rpcspy_record.py``) between the
stdlib client and a raw-socket upstream: 64 MiB bodies with ``--max-body 1m`` arrive byte for
byte (sha256 on the far side), the record says ``too-large`` with the size when it was counted,
and the proxy's peak RSS (``VmHWM``) grows by far less than the body. Before the fix a 64 MiB
request took the proxy from 80 to 223 MiB.
"""

from __future__ import annotations

import concurrent.futures
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from rpcspy.capture import CallRecord, HttpMessage, build_record, read_capture
from tests.conftest import REPO, free_port
from tests.hostile.processes import Running, peak_rss, start_measured
from tests.hostile.streams import MIB, Answer, Body, StreamUpstream, post
from tests.proxy.helpers import MITMDUMP, wait_for, wait_listening

BIG = 64 * MIB
LIMIT = "1m"
#: What the proxy's peak RSS may grow by while a 64 MiB body passes (it held 2 x the body).
GROWTH = 16 * MIB
RPCSPY = [sys.executable, "-m", "rpcspy"]


@dataclass
class Proxy:
    port: int
    running: Running
    capture: Path

    def records(self) -> list[CallRecord]:
        return list(read_capture(self.capture))


@contextmanager
def rpcspy_proxy(upstream: StreamUpstream, tmp_path: Path) -> Iterator[Proxy]:
    """``rpcspy proxy TARGET --max-body 1m -w capture``, stopped with SIGINT at the end."""
    port = free_port()
    capture = tmp_path / "big.jsonl"
    argv = [
        *RPCSPY,
        "proxy",
        upstream.url,
        "--listen",
        str(port),
        "--max-body",
        LIMIT,
        "-w",
        str(capture),
        "-q",
        "--confdir",
        str(tmp_path / "confdir"),
    ]
    running = start_measured(argv, cwd=str(REPO))
    try:
        wait_listening(port, 60)
        yield Proxy(port, running, capture)
    finally:
        done = running.finish(timeout=30, interrupt=True)
    assert done.code == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]


def warm_up(proxy: Proxy) -> int:
    """One call of exactly the limit (decoded and stored as usual); the peak RSS after it."""
    body = Body(MIB)
    assert post(proxy.port, body).status == 200
    return peak_rss(proxy.running.pid)


def assert_bounded(proxy: Proxy, baseline: int, body_size: int) -> None:
    grown = peak_rss(proxy.running.pid) - baseline
    assert grown < GROWTH, f"peak RSS grew {grown / MIB:.1f} MiB for a {body_size / MIB} MiB body"


def at_the_limit(record: CallRecord) -> None:
    """The warm-up call: a body of exactly --max-body is decoded and kept, as before."""
    assert record.method == "echo"
    assert record.request.size == MIB
    assert record.problems == ()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_large_request_streams_through_unchanged_and_is_recorded_too_large(
    tmp_path: Path, chunked: bool
) -> None:
    body = Body(BIG)
    with StreamUpstream() as upstream, rpcspy_proxy(upstream, tmp_path) as proxy:
        baseline = warm_up(proxy)
        reply = post(proxy.port, body, chunked=chunked)
        assert reply.status == 200
        assert_bounded(proxy, baseline, body.size)
        got = upstream.received[-1]
        assert got.chunked is chunked
        assert (got.size, got.sha256) == (body.size, body.sha256)
        assert (reply.size, reply.sha256) == (got.sent, got.sent_sha256)
        wait_for(lambda: len(proxy.records()) == 2)
    first, big = proxy.records()
    at_the_limit(first)
    assert big.method is None
    assert big.request.size == 0  # not stored
    [problem] = big.problems
    assert (problem.where, problem.kind) == ("request", "too-large")
    # A length announced is counted as it streams; a chunked body past the limit is not.
    over = "more than 1048576 bytes" if chunked else f"{BIG} bytes > 1048576"
    assert over in problem.reason
    # The answer is small: decoded as usual.
    assert big.response is not None and big.response.decoded is not None
    assert big.status == 200


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_large_response_streams_through_unchanged_and_is_recorded_too_large(
    tmp_path: Path, chunked: bool
) -> None:
    answer = Answer(size=BIG, chunked=chunked)
    with StreamUpstream(answer) as upstream, rpcspy_proxy(upstream, tmp_path) as proxy:
        baseline = peak_rss(proxy.running.pid)
        reply = post(proxy.port, Body(1000))
        assert reply.status == 200
        assert_bounded(proxy, baseline, BIG)
        got = upstream.received[-1]
        assert got.sent == BIG
        assert (reply.size, reply.sha256) == (BIG, got.sent_sha256)
        assert got.sha256 == Body(1000).sha256
        wait_for(lambda: len(proxy.records()) == 1)
    [record] = proxy.records()
    # The call itself was small: decoded and kept.
    assert record.method == "echo" and record.request.size == 1000
    assert record.response is not None and record.response.size == 0
    assert record.response.decoded is None
    [problem] = record.problems
    assert (problem.where, problem.kind) == ("response", "too-large")
    over = "more than 1048576 bytes" if chunked else f"{BIG} bytes > 1048576"
    assert over in problem.reason


def test_four_concurrent_large_requests_stay_bounded(tmp_path: Path) -> None:
    body = Body(32 * MIB)
    with StreamUpstream() as upstream, rpcspy_proxy(upstream, tmp_path) as proxy:
        baseline = warm_up(proxy)
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            replies = list(pool.map(lambda _: post(proxy.port, body), range(4)))
        assert [r.status for r in replies] == [200] * 4
        assert_bounded(proxy, baseline, 4 * body.size)
        big = [r for r in upstream.received if r.size == body.size]
        assert [r.sha256 for r in big] == [body.sha256] * 4
        wait_for(lambda: len(proxy.records()) == 5)
    records = proxy.records()
    assert sorted(p.kind for r in records[1:] for p in r.problems) == ["too-large"] * 4


def test_mitmdump_with_the_addon_streams_a_large_request(tmp_path: Path) -> None:
    """The addon streams a body whose Content-Length is over rpcspy_max_body by itself, in a
    mitmdump where ``stream_large_bodies`` is not set."""
    body = Body(BIG)
    capture = tmp_path / "dump.jsonl"
    port = free_port()
    with StreamUpstream() as upstream:
        argv = [
            MITMDUMP,
            "-q",
            "-s",
            str(REPO / "addons" / "rpcspy_record.py"),
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            str(port),
            "--mode",
            f"reverse:{upstream.url}",
            "--set",
            f"confdir={tmp_path / 'confdir'}",
            "--set",
            f"rpcspy_capture={capture}",
            "--set",
            f"rpcspy_max_body={LIMIT}",
        ]
        running = start_measured(argv, cwd=str(REPO))
        try:
            wait_listening(port, 60)
            assert post(port, Body(MIB)).status == 200
            baseline = peak_rss(running.pid)
            assert post(port, body).status == 200
            grown = peak_rss(running.pid) - baseline
            got = upstream.received[-1]
            assert (got.size, got.sha256) == (body.size, body.sha256)
            wait_for(lambda: len(list(read_capture(capture))) == 2)
        finally:
            running.proc.send_signal(signal.SIGINT)
            done = running.finish(timeout=30)
    assert done.code == 0, done.stderr[-3000:]
    assert grown < GROWTH, f"mitmdump grew {grown / MIB:.1f} MiB for a 64 MiB body"
    first, big = read_capture(capture)
    at_the_limit(first)
    assert [(p.where, p.kind) for p in big.problems] == [("request", "too-large")]
    assert f"{BIG} bytes > 1048576" in big.problems[0].reason


def test_the_record_of_streamed_halves() -> None:
    """``build_record(streamed=...)``: over the limit or of unknown size is ``too-large``, a
    body mitmproxy streamed below the limit (its own, lower threshold) is ``streamed``; neither
    is kept nor decoded, and the other half is decoded as usual."""
    call = Body(200)
    request = HttpMessage((("Content-Type", "text/xml"),), None)
    response = HttpMessage((("Content-Type", "text/xml"),), Answer().body)
    record = build_record(request, response, started=0.0, max_body=1000, streamed={"request": 5000})
    assert [(p.where, p.kind) for p in record.problems] == [("request", "too-large")]
    assert "5000 bytes > 1000" in record.problems[0].reason
    assert record.request.size == 0
    assert record.response is not None and record.response.decoded is not None
    record = build_record(
        HttpMessage((), b"".join(call.chunks())),
        HttpMessage((("Content-Type", "text/xml"),), None),
        started=0.0,
        status=200,
        max_body=1000,
        streamed={"response": None},
    )
    assert record.method == "echo"
    assert [(p.where, p.kind) for p in record.problems] == [("response", "too-large")]
    assert "more than 1000 bytes" in record.problems[0].reason
    assert record.response is not None and record.response.size == 0
    record = build_record(request, None, started=0.0, max_body=1000, streamed={"request": 600})
    assert [(p.where, p.kind) for p in record.problems] == [("request", "streamed")]
    assert "600 bytes" in record.problems[0].reason
