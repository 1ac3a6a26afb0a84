"""Real processes for the tutorial tests: ``rpcspy serve``, ``rpcspy proxy`` and the clients.

Every client in ``clients/`` is the tutorial's program byte for byte. A test names the one string
that holds the host and port (the tutorial's URL); ``run_client`` replaces it, asserting it occurs
exactly once, writes the result to a temp directory and runs it with this Python: the real stdlib
client, nothing of ours imported.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rpcspy.capture import CallRecord, read_capture
from tests.conftest import REPO, free_port

CLIENTS = Path(__file__).with_name("clients")
PYTHON = sys.executable
START_TIMEOUT = 90.0  # the proxy takes seconds to start on a busy machine


@dataclass
class Running:
    """A started ``rpcspy`` process and the port it listens on."""

    proc: subprocess.Popen[str]
    port: int
    what: str

    @property
    def hostport(self) -> str:
        return f"127.0.0.1:{self.port}"


def wait_for_port(running: Running, timeout: float = START_TIMEOUT) -> None:
    """Return once ``running`` accepts TCP connections; fail with its stderr if it died."""
    deadline = time.monotonic() + timeout
    while True:
        if running.proc.poll() is not None:
            _, err = running.proc.communicate()
            raise AssertionError(f"{running.what} exited {running.proc.returncode}: {err}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", running.port), 1):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{running.what} not listening after {timeout} s")
        time.sleep(0.05)


@contextlib.contextmanager
def rpcspy(command: str, *args: str, listen: str) -> Iterator[Running]:
    """Run ``python -m rpcspy COMMAND ARGS`` listening on a free port, stopped with SIGTERM.

    ``listen`` is how the command takes its address: ``--port`` (serve) or ``--listen`` (proxy).
    """
    port = free_port()
    where = ["--port", str(port)] if listen == "--port" else ["--listen", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(
        [PYTHON, "-m", "rpcspy", command, *where, *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    running = Running(proc, port, f"rpcspy {command}")
    try:
        wait_for_port(running)
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def serve(*args: str) -> contextlib.AbstractContextManager[Running]:
    """``rpcspy serve --port FREE ARGS`` (quiet)."""
    return rpcspy("serve", "--quiet", *args, listen="--port")


def proxy(target: str, capture: Path, *args: str) -> contextlib.AbstractContextManager[Running]:
    """``rpcspy proxy TARGET --listen 127.0.0.1:FREE -w CAPTURE ARGS`` (reverse mode)."""
    return rpcspy("proxy", target, "-w", str(capture), "--quiet", *args, listen="--listen")


def client_source(name: str, replace: tuple[str, str] | None) -> str:
    """The tutorial's program, with its one host-and-port string replaced."""
    text = (CLIENTS / name).read_text(encoding="utf-8")
    if replace is not None:
        old, new = replace
        assert text.count(old) == 1, f"{name}: {old!r} occurs {text.count(old)} times, not once"
        text = text.replace(old, new)
    return text


def run_client(
    name: str,
    workdir: Path,
    *,
    replace: tuple[str, str] | None = None,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    prelude: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one tutorial client as a subprocess; returns its completed process (text).

    ``prelude`` (Python code) runs first in the same interpreter, then the program as
    ``__main__`` through ``runpy``: for a tutorial whose program misses an import.
    """
    program = workdir / name
    program.write_text(client_source(name, replace), encoding="utf-8")
    if prelude is None:
        command = [PYTHON, str(program), *args]
    else:
        runner = f"{prelude}\nimport runpy\nrunpy.run_path({str(program)!r}, run_name='__main__')"
        command = [PYTHON, "-c", runner, *args]
    return subprocess.run(
        command,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def wait_for_records(capture: Path, count: int, timeout: float = 30.0) -> list[CallRecord]:
    """The capture's records once it holds at least ``count`` (the proxy writes as calls end)."""
    deadline = time.monotonic() + timeout
    while True:
        records = list(read_capture(capture)) if capture.exists() else []
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.05)
