"""The mock can itself be recorded: ``rpcspy proxy`` in front of ``rpcspy mock``."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path

from rpcspy.capture import CallRecord
from rpcspy.mock import MockServer, Playbook
from tests.conftest import MakeServer, free_port
from tests.replay.support import client, load, standard_session, write_capture


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the proxy exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port} after {timeout} s")


def test_calls_to_the_mock_recorded_through_the_proxy(
    make_server: MakeServer, tmp_path: Path
) -> None:
    records: list[CallRecord] = []
    standard_session(client(make_server().url, records))
    path = write_capture(tmp_path / "session.jsonl", records)
    recorded = tmp_path / "through-proxy.jsonl"
    with MockServer(Playbook(load(path)), quiet=True) as mock:
        port = free_port()
        code = (
            "import sys\nfrom pathlib import Path\n"
            "from rpcspy.proxy import ProxyConfig, run_proxy\n"
            f"sys.exit(run_proxy(ProxyConfig(target='http://127.0.0.1:{mock.port}', "
            f"listen_port={port}, capture=Path({str(recorded)!r}), quiet=True, "
            f"confdir=Path({str(tmp_path / 'mitm')!r}))))\n"
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            _wait_listening(port, proc)
            proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2")
            assert proxy.demo.version() == "1.0"
            assert proxy.add(2, 3) == 5
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    again = load(recorded)
    assert [r.method for r in again] == ["demo.version", "add"]
    assert again[0].response.body == records[0].response.body
    assert again[1].reply == records[1].reply
