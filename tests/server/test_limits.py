"""``rpcspy serve`` as a real process under load it must bound: connections over the limit get
503 without a thread, bodies in flight are bounded, idle clients are cut, a short body is never
dispatched."""

from __future__ import annotations

import os
import socket
import time
import xmlrpc.client
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import free_port
from tests.hostile.processes import Measured, Running, start_measured
from tests.hostile.targets import held_posts, idle_connections, short_body
from tests.replay.support import rpcspy_command


class Served:
    def __init__(self, running: Running, port: int) -> None:
        self.running = running
        self.port = port
        self.done: Measured | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/RPC2"

    def threads(self) -> int:
        with open(f"/proc/{self.running.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("Threads:"))


@contextmanager
def serve(*options: str) -> Iterator[Served]:
    port = free_port()
    running = start_measured(
        [*rpcspy_command(), "serve", "--port", str(port), *options],
        env={**os.environ, "NO_COLOR": "1"},
    )
    served = Served(running, port)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert running.proc.poll() is None, running.stderr_so_far()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server never listened"
                time.sleep(0.05)
        yield served
    finally:
        served.done = running.finish(timeout=20, interrupt=True)


def test_bodies_in_flight_are_bounded() -> None:
    body = xmlrpc.client.dumps(("a" * 6_000_000,), "echo").encode()
    with serve("--max-inflight", "10m", "-q") as served:
        statuses = held_posts("127.0.0.1", served.port, [body] * 4)
        # One 6 MB body fits in 10 MB, a second would not: the other three are 503.
        assert sorted(statuses) == [b"HTTP/1.0 200 OK"] + [b"HTTP/1.0 503 Service Unavailable"] * 3
        assert xmlrpc.client.ServerProxy(served.url).add(2, 3) == 5
    with serve("--max-body", "1m", "-q") as served:
        assert held_posts("127.0.0.1", served.port, [body]) == [
            b"HTTP/1.0 413 Request Entity Too Large"
        ]
    assert served.done is not None and "Traceback" not in served.done.stderr


def test_connections_over_the_limit_get_503_and_idle_ones_are_cut() -> None:
    with serve("--max-connections", "4", "--idle-timeout", "1") as served:
        baseline = served.threads()
        with idle_connections("127.0.0.1", served.port, 12) as socks:
            time.sleep(0.5)
            assert served.threads() <= baseline + 4
            answers = []
            for sock in socks:
                sock.settimeout(5)
                try:
                    answers.append(sock.recv(65536))
                except OSError as exc:
                    answers.append(type(exc).__name__.encode())
        busy = [a for a in answers if a.startswith(b"HTTP/1.1 503")]
        assert len(busy) == 8, answers
        assert all(b"Retry-After: 1" in a for a in busy)
        # The four served connections sent nothing: cut after a second, not kept for 30.
        assert answers.count(b"") == 4, answers
        time.sleep(0.5)
        assert served.threads() <= baseline + 1
        assert xmlrpc.client.ServerProxy(served.url).add(2, 3) == 5
    assert served.done is not None
    assert "Traceback" not in served.done.stderr
    assert "connection -> 503 (busy: 4 connections served already)" in served.done.stderr


def test_a_body_shorter_than_its_length_is_never_dispatched(tmp_path: Path) -> None:
    """The demo server already refused these; kept as the guard beside the mock's test."""
    root = tmp_path / "root"
    (root / "tmp").mkdir(parents=True)
    body = xmlrpc.client.dumps(("/tmp/made",), "dir.create").encode()
    with serve("--root", str(root)) as served:
        # The whole call, announced 10 bytes longer, then the client closes its side.
        got = short_body("127.0.0.1", served.port, body, announced=len(body) + 10)
        assert got == b""
        time.sleep(0.3)
        assert not (root / "tmp" / "made").exists()
        assert xmlrpc.client.ServerProxy(served.url).dir.list("/tmp") == []
    assert served.done is not None
    assert f"client sent {len(body)} of {len(body) + 10} body bytes" in served.done.stderr
