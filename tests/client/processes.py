"""Real ``rpcspy serve`` and ``rpcspy proxy`` processes on free ports of 127.0.0.1, for the
client tests (``rpcspy call`` and ``rpcspy.client``'s transports)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rpcspy.proxy import ca_cert_path
from rpcspy.server.tlscert import generate_self_signed
from tests.conftest import free_port
from tests.proxy.helpers import stop_process, wait_listening

RPCSPY = str(Path(sys.executable).with_name("rpcspy"))
#: mitmproxy takes seconds to start, more on a busy machine.
START_TIMEOUT = 90.0


def run_rpcspy(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """``rpcspy ARGS`` as a user runs it; output as bytes (``--raw`` prints bytes)."""
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([RPCSPY, *args], capture_output=True, timeout=timeout, env=env)


@dataclass(frozen=True)
class Running:
    """A started process: its base URL and, for TLS, the CA file that verifies it."""

    url: str
    port: int
    cafile: Path | None = None
    capture: Path | None = None


@contextmanager
def _spawn(args: list[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [RPCSPY, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        try:
            wait_listening(port, START_TIMEOUT)
        except AssertionError:
            proc.kill()
            _, err = proc.communicate(timeout=30)
            raise AssertionError(
                f"rpcspy {args[0]} did not start: {err.decode()[-2000:]}"
            ) from None
        yield proc
    finally:
        stop_process(proc)


@contextmanager
def serve(*extra: str, tls_dir: Path | None = None) -> Iterator[Running]:
    """``rpcspy serve`` on a free port; with ``tls_dir``, HTTPS with a certificate made there."""
    port = free_port()
    args = ["serve", "--port", str(port), "-q", *extra]
    cafile = None
    if tls_dir is not None:
        cafile, key = generate_self_signed(tls_dir)
        args += ["--tls", "--cert", str(cafile), "--key", str(key)]
    with _spawn(args, port):
        scheme = "https" if cafile else "http"
        yield Running(f"{scheme}://127.0.0.1:{port}", port, cafile)


@contextmanager
def proxy(*args: str, confdir: Path, capture: Path) -> Iterator[Running]:
    """``rpcspy proxy ARGS`` on a free port, recording to ``capture``; ``cafile`` is
    mitmproxy's CA (in ``confdir``), for clients talking HTTPS through it."""
    port = free_port()
    full = ["proxy", *args, "--listen", f"127.0.0.1:{port}", "--confdir", str(confdir)]
    with _spawn([*full, "-q", "-w", str(capture)], port):
        yield Running(f"http://127.0.0.1:{port}", port, ca_cert_path(confdir), capture)
