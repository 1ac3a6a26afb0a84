"""Test helpers for the proxy: a runner on its own thread, a raw upstream, proxy-aware
transports."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import xmlrpc.client
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rpcspy.capture import CallRecord
from rpcspy.client import ProxyTransport as HttpProxyTransport
from rpcspy.client import SafeProxyTransport
from rpcspy.proxy.background import BackgroundProxy
from tests.conftest import REPO

PYTHON = sys.executable
MITMDUMP = str(Path(sys.executable).with_name("mitmdump"))


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.02) -> Any:
    """Poll until ``predicate()`` is truthy; return its value or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def wait_listening(port: int, timeout: float = 15.0) -> None:
    """Wait until something accepts TCP connections on 127.0.0.1:port."""

    def ok() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    wait_for(ok, timeout, 0.05)


class ThreadedProxy(BackgroundProxy):
    """The package's BackgroundProxy, plus a wait for records that fails the test on timeout."""

    def wait_records(self, n: int, timeout: float = 15.0) -> list[CallRecord]:
        wait_for(lambda: len(self.snapshot()) >= n, timeout)
        return self.snapshot()


@dataclass
class RawUpstream:
    """An HTTP/1.1 server on raw sockets: records each request's exact bytes, answers a fixed body.

    Reads one request per connection (headers, then Content-Length bytes) and answers
    ``response_body`` with ``Connection: close``.
    """

    response_body: bytes = (
        b"<?xml version='1.0'?>\n<methodResponse><fault><value><struct>"
        b"<member><name>faultCode</name><value><int>-32700</int></value></member>"
        b"<member><name>faultString</name><value><string>parse error</string></value></member>"
        b"</struct></value></fault></methodResponse>\n"
    )
    received: list[bytes] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        # accept() with a timeout, so close() is noticed promptly.
        self._sock.settimeout(0.1)
        self.port: int = self._sock.getsockname()[1]
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="raw-upstream", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                while len(rest) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    rest += chunk
                with self._lock:
                    self.received.append(head + b"\r\n\r\n" + rest)
                    self.bodies.append(rest)
                reply = (
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n"
                    b"Content-Length: "
                    + str(len(self.response_body)).encode()
                    + b"\r\n\r\n"
                    + self.response_body
                )
                conn.sendall(reply)
            except OSError:
                return

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.close()
        self._thread.join(5)

    def __enter__(self) -> RawUpstream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def raw_post(
    port: int,
    body: bytes,
    path: str = "/RPC2",
    extra_headers: bytes = b"",
    timeout: float = 15.0,
    content_type: str = "text/xml",
) -> tuple[int, bytes]:
    """POST exact body bytes over a raw socket; returns (status, response body)."""
    head = (
        (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n"
        ).encode()
        + extra_headers
        + b"\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    status = int(status_line.split()[1])
    body_out = rest.partition(b"\r\n\r\n")[2]
    return status, body_out


def ProxyTransport(
    proxy_port: int, *, context: ssl.SSLContext | None = None
) -> xmlrpc.client.Transport:
    """The stdlib client's transport through the proxy on 127.0.0.1:``proxy_port``: for an
    https server (``context`` given) ``rpcspy.client.SafeProxyTransport``, else
    ``rpcspy.client.ProxyTransport``."""
    proxy = f"http://127.0.0.1:{proxy_port}"
    if context is not None:
        return SafeProxyTransport(proxy, context=context)
    return HttpProxyTransport(proxy)


def spawn_run_proxy(
    config_expr: str, *, env: dict[str, str] | None = None, stdout: int | None = subprocess.PIPE
) -> subprocess.Popen[bytes]:
    """Start ``run_proxy(ProxyConfig(<config_expr>))`` in a ``python -c`` subprocess."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from rpcspy.proxy import ProxyConfig, run_proxy\n"
        f"sys.exit(run_proxy(ProxyConfig({config_expr})))\n"
    )
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.Popen(
        [PYTHON, "-c", code],
        cwd=REPO,
        env=full_env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def stop_process(
    proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30.0
) -> tuple[bytes, bytes]:
    """Signal a process and collect its output; kill it if it does not exit in time."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(
            f"process did not exit on signal {sig}: {err.decode()[-2000:]}"
        ) from None
    return out or b"", err or b""


@contextlib.contextmanager
def killing(proc: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    """Make sure a subprocess is gone when the block ends, whatever happened."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            with contextlib.suppress(Exception):
                proc.communicate(timeout=10)
