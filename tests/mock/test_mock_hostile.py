"""``rpcspy mock`` as a real process against hostile clients: clients that leave mid-request cost
no traceback, idle connections are bounded and closed, bodies in flight are bounded, and a body
shorter than its Content-Length is not a call."""

from __future__ import annotations

import os
import socket
import time
import xmlrpc.client
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rpcspy.capture import CallRecord
from tests.conftest import free_port
from tests.hostile.processes import Measured, Running, start_measured
from tests.hostile.targets import (
    half_headers,
    held_posts,
    idle_connections,
    rst_after_request,
    short_body,
)
from tests.replay.support import rpcspy_command


def _wait_listening(port: int, running: Running, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert running.proc.poll() is None, running.stderr_so_far()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port} after {timeout} s")


class Mock:
    def __init__(self, running: Running, port: int) -> None:
        self.running = running
        self.port = port
        self.done: Measured | None = None

    def proxy(self) -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(f"http://127.0.0.1:{self.port}/RPC2")

    def threads(self) -> int:
        with open(f"/proc/{self.running.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("Threads:"))


@contextmanager
def mock(capture: Path, *options: str) -> Iterator[Mock]:
    port = free_port()
    running = start_measured(
        [*rpcspy_command(), "mock", str(capture), "--port", str(port), *options],
        env={**os.environ, "NO_COLOR": "1"},
    )
    served = Mock(running, port)
    try:
        _wait_listening(port, running)
        yield served
    finally:
        served.done = running.finish(timeout=20, interrupt=True)


def _call(text: str) -> bytes:
    return xmlrpc.client.dumps((text,), "echo").encode()


def test_clients_leaving_mid_request_cost_no_traceback(
    session: tuple[Path, list[CallRecord]],
) -> None:
    path, _ = session
    with mock(path) as served:
        for _ in range(5):
            half_headers("127.0.0.1", served.port)
            rst_after_request("127.0.0.1", served.port, _call("x" * 200_000))
        time.sleep(0.5)
        assert served.proxy().demo.version() == "1.0"
    assert served.done is not None
    err = served.done.stderr
    assert served.done.code == 0, err
    assert "Traceback" not in err
    assert "Exception occurred" not in err
    # A word per client that left, no more.
    left = [line for line in err.splitlines() if "left mid-request" in line]
    assert 1 <= len(left) <= 10, err
    assert all(len(line) < 120 for line in left)
    assert "1 matched" in err


def test_quiet_mock_says_nothing_of_clients_that_left(
    session: tuple[Path, list[CallRecord]],
) -> None:
    path, _ = session
    with mock(path, "-q") as served:
        half_headers("127.0.0.1", served.port)
        time.sleep(0.3)
        assert served.proxy().demo.version() == "1.0"
    assert served.done is not None
    assert "left mid-request" not in served.done.stderr
    assert "Traceback" not in served.done.stderr


def test_idle_connections_are_bounded_and_closed(session: tuple[Path, list[CallRecord]]) -> None:
    path, _ = session
    with mock(path, "--max-connections", "8", "--idle-timeout", "1") as served:
        baseline = served.threads()
        with idle_connections("127.0.0.1", served.port, 40) as socks:
            time.sleep(0.5)
            # No thread for a connection over the limit: at most 8 more than before.
            assert served.threads() <= baseline + 8
            answers = []
            for sock in socks:
                sock.settimeout(5)
                try:
                    answers.append(sock.recv(65536))
                except OSError as exc:
                    answers.append(type(exc).__name__.encode())
        busy = [a for a in answers if a.startswith(b"HTTP/1.1 503")]
        closed = [a for a in answers if a == b""]
        # 32 over the limit got 503 at once; the 8 served were closed after 1 s of idling.
        assert len(busy) == 32, answers
        assert all(b"Retry-After: 1" in a for a in busy)
        assert len(closed) == 8, answers
        time.sleep(0.5)
        assert served.threads() <= baseline + 1
        assert served.proxy().demo.version() == "1.0"
    assert served.done is not None and served.done.code == 0
    assert "Traceback" not in served.done.stderr


def test_a_body_shorter_than_its_length_is_not_a_call(
    session: tuple[Path, list[CallRecord]],
) -> None:
    path, _ = session
    body = _call("hello")
    with mock(path) as served:
        got = short_body("127.0.0.1", served.port, body[:40], announced=len(body))
        assert got.startswith(b"HTTP/1.1 400"), got
        assert b"shorter than its Content-Length" in got
        assert served.proxy().demo.version() == "1.0"
    assert served.done is not None
    err = served.done.stderr
    assert f"sent 40 of {len(body)} body bytes and closed: not a call (400)" in err
    assert not [line for line in err.splitlines() if " miss " in line], err
    assert "1 matched, 0 missed" in err


def test_bodies_in_flight_are_bounded(session: tuple[Path, list[CallRecord]]) -> None:
    path, _ = session
    body = _call("a" * 6_000_000)
    with mock(path, "--max-inflight", "10m", "-q") as served:
        statuses = held_posts("127.0.0.1", served.port, [body] * 4)
        # One 6 MB body fits in 10 MB, a second would not: the other three are 503.
        assert sorted(statuses) == [b"HTTP/1.1 200 OK"] + [b"HTTP/1.1 503 Service Unavailable"] * 3
        # The budget is given back once the admitted call is answered (a moment after the
        # client has read its status line).
        time.sleep(0.5)
        statuses = held_posts("127.0.0.1", served.port, [body] * 4)
        assert sorted(statuses).count(b"HTTP/1.1 200 OK") == 1
        # Over --max-body is 413, never held.
    with mock(path, "--max-body", "1m", "-q") as served:
        assert held_posts("127.0.0.1", served.port, [body]) == [
            b"HTTP/1.1 413 Request Entity Too Large"
        ]
    assert served.done is not None and "Traceback" not in served.done.stderr


def test_a_miss_on_a_huge_param_answers_a_short_fault(
    session: tuple[Path, list[CallRecord]],
) -> None:
    path, _ = session
    with mock(path) as served:
        try:
            served.proxy().demo.echo({"b": [1, 2.5], "a": "x" * 2_000_000})
        except xmlrpc.client.Fault as fault:
            text = fault.faultString
        else:
            raise AssertionError("a call that matches nothing must be a fault")
    # The difference is named and cut, not the 2 MB value sent back (and logged) whole.
    assert "closest is #9 demo.echo" in text, text[:300]
    assert 'params[0].a: string "x" -> string "xxxx' in text, text[:400]
    assert len(text) < 1000
    assert served.done is not None
    assert max(len(line) for line in served.done.stderr.splitlines()) < 1000
