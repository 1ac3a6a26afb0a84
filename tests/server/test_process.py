"""serve_forever in a real process: SIGTERM and Ctrl-C stop it and remove its temp files."""

from __future__ import annotations

import json
import select
import signal
import ssl
import subprocess
import sys
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.helpers import wait_until

CHILD = """
import json, sys
from rpcspy.server import DemoServer, ServerConfig
server = DemoServer(ServerConfig(port=0, tls=True, quiet=True))
info = {"url": server.url, "root": str(server.root), "cafile": str(server.cafile)}
print(json.dumps(info), flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    sys.exit(130)
print("returned", flush=True)
"""


@pytest.fixture
def child() -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 15)
        assert ready, "the child server did not start in time"
        info = json.loads(proc.stdout.readline())
        yield proc, info
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


def call_echo(info: dict[str, str]) -> str:
    context = ssl.create_default_context(cafile=info["cafile"])
    answer = xmlrpc.client.ServerProxy(info["url"], context=context).echo("alive")
    assert isinstance(answer, str)
    return answer


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_a_signal_stops_the_server_and_cleans_up(
    child: tuple[subprocess.Popen[str], dict[str, str]], signum: int, exit_code: int
) -> None:
    proc, info = child
    root, cert_dir = Path(info["root"]), Path(info["cafile"]).parent
    assert root.is_dir() and cert_dir.is_dir()
    assert call_echo(info) == "ALIVE"
    proc.send_signal(signum)
    wait_until(lambda: proc.poll() is not None, timeout=10, what="the server process to exit")
    assert proc.returncode == exit_code, proc.stderr.read() if proc.stderr else ""
    if signum == signal.SIGTERM:
        assert proc.stdout is not None and proc.stdout.read() == "returned\n"
    assert not root.exists()
    assert not cert_dir.exists()
