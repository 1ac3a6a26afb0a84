"""A hostile HTTP peer on 127.0.0.1: answers every request on a connection with canned bytes.

``CannedServer(response)`` reads one request per connection (headers, then Content-Length bytes)
and sends ``response`` exactly as given (a status line, headers and a body of the test's choosing,
control characters and all), then closes. It is the upstream of a proxy or the target of a replay.
"""

from __future__ import annotations

import socket
import threading

from tests.hostile.targets import read_request
from tests.hostile.tcp import TcpPeer

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


class CannedServer(TcpPeer):
    """Answers each connection's request with ``response`` (bytes), in a background thread."""

    conn_timeout = 5.0

    def __init__(self, response: bytes) -> None:
        super().__init__()
        self.response = response
        self.requests = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, conn: socket.socket) -> None:
        if read_request(conn) is None:
            return
        with self._lock:
            self.requests += 1
        conn.sendall(self.response)
