"""``rpcspy mock`` as a real subprocess: serves, logs one line per call, stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import xmlrpc.client
from pathlib import Path

import pytest

from rpcspy.capture import CallRecord
from tests.conftest import REPO, free_port
from tests.replay.support import rpcspy_command, run_rpcspy


def _wait_listening(port: int, proc: subprocess.Popen[str], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"rpcspy mock exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port} after {timeout} s")


def test_mock_command_serves_logs_and_stops(session: tuple[Path, list[CallRecord]]) -> None:
    path, _ = session
    port = free_port()
    proc = subprocess.Popen(
        [*rpcspy_command(), "mock", str(path), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        _wait_listening(port, proc)
        proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2")
        assert proxy.demo.version() == "1.0"
        with pytest.raises(xmlrpc.client.Fault):
            proxy.add(2, 4)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert proc.returncode == 0, err
    lines = err.splitlines()
    head = f"rpcspy mock on http://127.0.0.1:{port}/RPC2 (any path): 9 recorded"
    assert lines[0].startswith(head)
    assert any(' match #1 demo.version() -> "1.0"' in line for line in lines)
    assert any(
        " miss add(2, 4): rpcspy mock: no recorded call matches add(2, 4)" in line for line in lines
    )
    assert lines[-1] == "rpcspy mock: 1 matched, 1 missed"


def test_mock_command_input_and_usage_errors(tmp_path: Path) -> None:
    missing = run_rpcspy("mock", str(tmp_path / "absent.jsonl"))
    assert missing.code == 3 and "no such capture file" in missing.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\x00\x01 not a capture")
    assert run_rpcspy("mock", str(bad)).code == 3
    assert run_rpcspy("mock", str(bad), "--ignore", "x: nowhere").code == 2
