"""A hostile HTTP peer on 127.0.0.1: answers every request on a connection with canned bytes.

``CannedServer(response)`` reads one request per connection (headers, then Content-Length bytes)
and sends ``response`` exactly as given (a status line, headers and a body of the test's choosing,
control characters and all), then closes. It is the upstream of a proxy or the target of a replay.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

from tests.hostile.targets import read_request

__all__ = ["CannedServer", "http_response"]


def http_response(
    body: bytes,
    *,
    reason: bytes = b"OK",
    status: int = 200,
    headers: tuple[tuple[bytes, bytes], ...] = ((b"Content-Type", b"text/xml"),),
) -> bytes:
    """An HTTP/1.1 response with ``Connection: close`` and the right Content-Length."""
    head = b"HTTP/1.1 %d %s\r\n" % (status, reason)
    for name, value in headers:
        head += name + b": " + value + b"\r\n"
    head += b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    return head + body


class CannedServer:
    """Answers each connection's request with ``response`` (bytes), in a background thread."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> CannedServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                conn.settimeout(5)
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        if read_request(conn) is None:
            return
        self.requests += 1
        conn.sendall(self.response)
