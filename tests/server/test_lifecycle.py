"""Start, stop, addresses, concurrency, clean-up and the one-line request log."""

from __future__ import annotations

import gc
import re
import socket
import ssl
import threading
import time
import xmlrpc.client
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from rpcspy.server import DemoServer, ServerConfig
from rpcspy.server.faults import FAULT_SYSTEM
from tests.conftest import MakeServer, free_port
from tests.server.helpers import connect, raw_post, wait_until


def test_listening_once_constructed_and_serving_once_started() -> None:
    server = DemoServer(ServerConfig(port=0, quiet=True))
    try:
        assert server.port > 0
        with socket.create_connection(("127.0.0.1", server.port), timeout=5):
            pass  # the socket listens before start(): connections wait in the backlog
        assert not server.running
        server.start()
        assert server.running
        assert connect(server).echo("up") == "UP"
    finally:
        server.stop()
    assert not server.running


def test_addresses() -> None:
    port = free_port()
    with DemoServer(ServerConfig(port=port, quiet=True)) as server:
        assert server.port == port
        assert server.host == "127.0.0.1"
        assert server.scheme == "http"
        assert server.base_url == f"http://127.0.0.1:{port}"
        assert server.url == f"http://127.0.0.1:{port}/RPC2"
        assert server.cafile is None
        assert repr(server) == f"<DemoServer http://127.0.0.1:{port}/RPC2 running>"


def test_binding_all_addresses_shows_a_loopback_url() -> None:
    with DemoServer(ServerConfig(host="0.0.0.0", port=0, quiet=True)) as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        assert connect(server).echo("any") == "ANY"


def test_ipv6_loopback() -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with DemoServer(ServerConfig(host="::1", port=0, quiet=True)) as server:
        assert server.url == f"http://[::1]:{server.port}/RPC2"
        proxy = xmlrpc.client.ServerProxy(server.url)
        assert proxy.echo("six") == "SIX"


def test_a_busy_port_is_an_os_error_at_construction() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            DemoServer(ServerConfig(port=taken.getsockname()[1], quiet=True))


def test_stop_is_idempotent_and_final(make_server: MakeServer) -> None:
    server = make_server()
    port = server.port
    server.stop()
    server.stop()
    with pytest.raises(RuntimeError):
        server.start()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_stop_without_start_cleans_up() -> None:
    server = DemoServer(ServerConfig(port=0, tls=True, quiet=True))
    root, cafile = server.root, server.cafile
    assert cafile is not None and root.is_dir()
    server.stop()
    assert not root.exists()
    assert not cafile.exists()


def test_a_forgotten_server_still_removes_its_temp_files() -> None:
    server = DemoServer(ServerConfig(port=0, tls=True, quiet=True))
    root, cafile = server.root, server.cafile
    assert cafile is not None
    del server
    gc.collect()
    assert not root.exists()
    assert not cafile.parent.exists()


def test_serve_forever_returns_when_stopped_elsewhere() -> None:
    server = DemoServer(ServerConfig(port=0, quiet=True))
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        wait_until(lambda: server.running, what="the server to run")
        assert connect(server).echo("forever") == "FOREVER"
    finally:
        server.stop()
    thread.join(5)
    assert not thread.is_alive()


def test_concurrent_clients_get_their_own_answers(server: DemoServer) -> None:
    def client(n: int) -> list[str]:
        proxy = connect(server, "/" if n % 2 else "/RPC2")
        return [proxy.echo(f"client {n} call {i}") for i in range(10)]

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(client, range(16)))
    assert results == [[f"CLIENT {n} CALL {i}" for i in range(10)] for n in range(16)]


def test_a_slow_call_does_not_hold_up_the_others(server: DemoServer) -> None:
    outcome: list[object] = []

    def slow_call() -> None:
        try:
            outcome.append(connect(server).demo.slow(5))
        except xmlrpc.client.Fault as fault:
            outcome.append(fault.faultCode)

    slow = threading.Thread(target=slow_call)
    slow.start()
    try:
        wait_until(lambda: server.connections == 1, what="the slow call to connect")
        started = time.monotonic()
        assert [connect(server).add(i, i) for i in range(5)] == [0, 2, 4, 6, 8]
        assert time.monotonic() - started < 2
        assert slow.is_alive()  # still sleeping while the others were served
    finally:
        server.stop()  # wakes it
        slow.join(5)
    assert not slow.is_alive()
    assert outcome == [FAULT_SYSTEM]


# ------------------------------------------------------------------ logging

LINE = re.compile(
    r"^\d\d:\d\d:\d\d 127\.0\.0\.1:\d+ (?P<command>\S+) (?P<path>\S+) (?P<method>'[^']*'|\S+) -> "
    r"(?P<status>\S+)(?: \((?P<detail>.*)\))? \d+\.\d ms$"
)


def log_lines(err: str) -> list[dict[str, str | None]]:
    lines = err.splitlines()
    matches = [LINE.match(line) for line in lines]
    assert all(matches), lines
    return [m.groupdict() for m in matches if m]


def test_one_line_per_request(make_server: MakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    server = make_server(quiet=False)
    proxy = connect(server)
    proxy.echo("logged")
    with pytest.raises(xmlrpc.client.Fault):
        proxy.demo.fault(42, "x")
    multi = xmlrpc.client.MultiCall(proxy)
    multi.echo("a")
    multi.demo.fault(7, "b")
    multi.add(1, 2)
    multi()
    getattr(proxy, "multiply args")(2, 3)
    with pytest.raises(ConnectionError):
        proxy.demo.crash()
    raw_post(server, b"", path="/nowhere")
    raw_post(server, b"", method="GET")
    server.stop()  # waits for the handlers, so every line is written

    entries = log_lines(capsys.readouterr().err)
    summary = [(e["command"], e["path"], e["method"], e["status"], e["detail"]) for e in entries]
    # Each line is written once its answer is sent, so neighbours may swap: compare as multisets.
    assert Counter(summary) == Counter(
        [
            ("POST", "/RPC2", "echo", "200", None),
            ("POST", "/RPC2", "demo.fault", "200", "fault 42"),
            ("POST", "/RPC2", "system.multicall[3]", "200", "1 fault inside"),
            ("POST", "/RPC2", "'multiply args'", "200", None),
            # the stdlib client sends a call once more when the connection drops
            ("POST", "/RPC2", "demo.crash", "dropped", None),
            ("POST", "/RPC2", "demo.crash", "dropped", None),
            ("POST", "/nowhere", "-", "404", None),
            ("GET", "/RPC2", "-", "501", "Unsupported method ('GET')"),
        ]
    )


def test_refusals_are_logged(make_server: MakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    server = make_server(quiet=False, user="alice", password="s3cret", tls=True)
    context = ssl.create_default_context(cafile=server.cafile)
    with pytest.raises(xmlrpc.client.ProtocolError):
        connect(server, user="alice", password="bad", context=context).echo("x")
    with pytest.raises(ssl.SSLError):
        connect(server, context=ssl.create_default_context()).echo("x")
    server.stop()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    refused = [line for line in lines if LINE.match(line)]
    assert len(refused) == 1 and refused[0].split(" -> ")[1].startswith("401 (unauthorized)")
    (failed,) = set(lines) - set(refused)
    assert re.match(
        r"^\d\d:\d\d:\d\d 127\.0\.0\.1:\d+ connection error: SSLError: .*UNKNOWN_CA", failed
    )


def test_quiet_logs_nothing(make_server: MakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    server = make_server(quiet=True)
    connect(server).echo("silent")
    raw_post(server, b"", method="GET")
    server.stop()
    assert capsys.readouterr().err == ""


def test_log_lines_cannot_be_forged_by_method_names(
    make_server: MakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_server(quiet=False)
    with pytest.raises(xmlrpc.client.Fault):
        getattr(connect(server), "evil\n12:00:00 forged -> 200")()
    server.stop()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert "'evil\\n12:00:00 forged -> 200'" in lines[0]
