"""Real RPyC peers on 127.0.0.1: ``rpyc_classic`` (rpyc's own server script) and client programs
run through the byte-recording relay, and what the server itself says of its cwd and sys.path."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.rpyc.relay import Chunk, Relay

CLIENTS = Path(__file__).resolve().parent / "clients"
_STARTED = re.compile(rb"server started on \[([^\]]+)\]:(\d+)")


def peer_env(**extra: str) -> dict[str, str]:
    """The peers need rpyc only, not this tree: PYTHONPATH is left out of their environment."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(extra)
    return env


def rpyc_classic() -> str:
    """The path of rpyc's ``rpyc_classic`` script, installed beside this Python."""
    beside = Path(sys.executable).parent / "rpyc_classic"
    found = str(beside) if beside.exists() else shutil.which("rpyc_classic")
    if found is None:
        raise FileNotFoundError("rpyc_classic is not installed (pip install rpyc)")
    return found


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    cwd: Path


@contextmanager
def classic_server(cwd: Path) -> Iterator[Server]:
    """``rpyc_classic --host 127.0.0.1 -p 0`` (threaded, its default mode) started in ``cwd``;
    the port is read from its "server started on [127.0.0.1]:PORT" log line."""
    process = subprocess.Popen(
        [rpyc_classic(), "--host", "127.0.0.1", "-p", "0"],
        cwd=cwd,
        env=peer_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 30
        port = None
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            match = _STARTED.search(line)
            if match:
                port = int(match.group(2))
                break
        if port is None:
            raise RuntimeError("rpyc_classic did not say which port it listens on")
        yield Server(process, port, cwd)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def server_truth(port: int) -> dict[str, object]:
    """What the server says of itself over a direct connection (not through the relay)."""
    import rpyc

    conn = rpyc.classic.connect("127.0.0.1", port=port)
    try:
        return {
            "cwd": str(conn.modules.os.getcwd()),
            "sys_path": [str(p) for p in conn.modules.sys.path],
        }
    finally:
        conn.close()


@dataclass
class Run:
    chunks: list[Chunk]
    stdout: str
    client_stream: bytes
    server_stream: bytes


def run_client(script: Path, server_port: int, timeout: float = 60) -> Run:
    """Run a client program against the server through a new relay; return what crossed it."""
    with Relay(server_port) as relay:
        env = peer_env(RPYC_PORT=str(relay.port), PYTHONUNBUFFERED="1")
        done = subprocess.run(
            [sys.executable, str(script)],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"{script.name} failed: {done.stderr}")
        relay.wait_finished()
        [record] = relay.connections
        chunks = list(record.chunks)
        return Run(
            chunks,
            done.stdout,
            record.stream("client"),
            record.stream("server"),
        )
