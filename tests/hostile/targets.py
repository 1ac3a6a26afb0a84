"""Hostile peers for tests: a real TCP server on 127.0.0.1 that answers badly on purpose, and
raw-socket clients that misbehave.

``HostileTarget(behaviour)`` listens on a free port of 127.0.0.1; each connection's request (head
and a Content-Length body) is read, then ``behaviour(conn)`` writes whatever answer it likes. The
behaviours here cover what a hostile or broken server does to a client:

- ``endless_chunked()``: a chunked answer that never ends;
- ``huge_length()``: ``Content-Length: 10000000000`` and bytes for as long as the client reads;
- ``drip(body)``: a correct answer, one byte every ``interval`` seconds;
- ``garbage()``: random binary instead of HTTP;
- ``answer(body)``: a well-formed XML-RPC answer, to show the client goes on after the others.

Every behaviour stops when the client leaves or the target is stopped, and counts what it sent.
The client side (``half_headers``, ``idle_connections``, ``short_body``) drives servers (the demo
server, the mock) the same way. Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

from tests.hostile.tcp import TcpPeer

__all__ = [
    "OK_ANSWER",
    "Behaviour",
    "HostileTarget",
    "answer",
    "drip",
    "endless_chunked",
    "garbage",
    "half_headers",
    "held_posts",
    "huge_length",
    "idle_connections",
    "read_request",
    "rst_after_request",
    "short_body",
]

OK_ANSWER = (
    b"<?xml version='1.0'?>\n<methodResponse><params><param><value><string>ok</string>"
    b"</value></param></params></methodResponse>\n"
)

Behaviour = Callable[[socket.socket, threading.Event], int]
"""Writes an answer on a connection until done, the client leaves or the event is set; returns
how many bytes it sent."""


def read_request(conn: socket.socket) -> bytes | None:
    """Read one request (head and Content-Length body); None when the client left first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body


def _send(conn: socket.socket, data: bytes) -> bool:
    try:
        conn.sendall(data)
    except OSError:
        return False
    return True


def endless_chunked(chunk: int = 64 * 1024) -> Behaviour:
    """A ``Transfer-Encoding: chunked`` answer whose chunks never end."""

    def behave(conn: socket.socket, stop: threading.Event) -> int:
        sent = 0
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n"
        if not _send(conn, head):
            return sent
        piece = f"{chunk:x}\r\n".encode() + b"<" * chunk + b"\r\n"
        while not stop.is_set() and _send(conn, piece):
            sent += chunk
        return sent

    return behave


def huge_length(announced: int = 10_000_000_000, chunk: int = 64 * 1024) -> Behaviour:
    """``Content-Length: announced`` (10 GB by default), then bytes for as long as read."""

    def behave(conn: socket.socket, stop: threading.Event) -> int:
        sent = 0
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n"
            + f"Content-Length: {announced}\r\n\r\n".encode()
        )
        if not _send(conn, head):
            return sent
        piece = b" " * chunk
        while sent < announced and not stop.is_set() and _send(conn, piece):
            sent += chunk
        return sent

    return behave


def drip(body: bytes = OK_ANSWER, interval: float = 3.0) -> Behaviour:
    """A correct answer (``Content-Length`` and all) sent one byte every ``interval`` seconds."""

    def behave(conn: socket.socket, stop: threading.Event) -> int:
        data = (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        sent = 0
        for i in range(len(data)):
            if not _send(conn, data[i : i + 1]):
                break
            sent += 1
            if stop.wait(interval):
                break
        return sent

    return behave


def garbage(size: int = 4096) -> Behaviour:
    """Random binary (with terminal escapes in it) instead of an HTTP answer, then close."""

    def behave(conn: socket.socket, stop: threading.Event) -> int:
        data = b"\x1b]0;pwned\x07\x00\xff" + os.urandom(size)
        return len(data) if _send(conn, data) else 0

    return behave


def answer(body: bytes = OK_ANSWER) -> Behaviour:
    """A well-formed XML-RPC answer."""

    def behave(conn: socket.socket, stop: threading.Event) -> int:
        data = (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        return len(data) if _send(conn, data) else 0

    return behave


class HostileTarget(TcpPeer):
    """A TCP server on 127.0.0.1 answering every request with ``behaviour``.

    ``behaviours`` may be a list: the n-th request gets the n-th behaviour (the last one again
    after the list ends). ``requests`` counts the requests read, ``sent`` the answer bytes
    written. Each connection carries one request and is then closed.
    """

    def __init__(self, *behaviours: Behaviour) -> None:
        if not behaviours:
            raise ValueError("a hostile target needs a behaviour")
        super().__init__()
        self.behaviours = behaviours
        self.requests = 0
        self.sent = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/RPC2"

    def handle(self, conn: socket.socket) -> None:
        if read_request(conn) is None:
            return
        with self._lock:
            index = min(self.requests, len(self.behaviours) - 1)
            self.requests += 1
        sent = self.behaviours[index](conn, self.stopping)
        with self._lock:
            self.sent += sent
        conn.shutdown(socket.SHUT_RDWR)


# The client side: raw sockets that misbehave towards a server.


def half_headers(host: str, port: int) -> None:
    """Send half a request head, then leave (a reset, not a clean close)."""
    sock = socket.create_connection((host, port), timeout=5)
    sock.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Ty")
    # SO_LINGER 0: the close is a RST, what a client that crashes or is killed sends.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


@contextlib.contextmanager
def idle_connections(host: str, port: int, count: int) -> Iterator[list[socket.socket]]:
    """Open ``count`` connections that send nothing; closed on exit."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            socks.append(socket.create_connection((host, port), timeout=5))
        yield socks
    finally:
        for sock in socks:
            sock.close()


def short_body(host: str, port: int, body: bytes, announced: int, path: str = "/RPC2") -> bytes:
    """POST ``body`` under a larger ``Content-Length``, half-close, and return what came back."""
    sock = socket.create_connection((host, port), timeout=10)
    with sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\n".encode()
            + f"Content-Length: {announced}\r\n\r\n".encode()
            + body
        )
        sock.shutdown(socket.SHUT_WR)
        got = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            got += chunk
        return got


def held_posts(host: str, port: int, bodies: list[bytes], hold: float = 0.5) -> list[bytes]:
    """POST every body on its own connection, all at once: every request head is sent first,
    then (after ``hold`` seconds) every body. Returns each answer's status line.

    The server sees all the Content-Lengths before any body is complete: what it admits at once
    is then decided by its limits, not by which client happened to be faster.
    """
    socks = [socket.create_connection((host, port), timeout=60) for _ in bodies]
    try:
        for sock, body in zip(socks, bodies, strict=True):
            sock.sendall(
                f"POST /RPC2 HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\n".encode()
                + f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            )
        time.sleep(hold)
        statuses: list[bytes] = [b""] * len(bodies)

        def finish(i: int) -> None:
            sock = socks[i]
            # A server may answer (413, 503) and close before taking the whole body: the
            # answer is read all the same.
            with contextlib.suppress(OSError):
                sock.sendall(bodies[i])
            try:
                got = b""
                while b"\r\n" not in got:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                statuses[i] = got.split(b"\r\n", 1)[0]
            except OSError as exc:
                statuses[i] = type(exc).__name__.encode()

        threads = [threading.Thread(target=finish, args=(i,)) for i in range(len(bodies))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        return statuses
    finally:
        for sock in socks:
            sock.close()


def rst_after_request(host: str, port: int, body: bytes) -> None:
    """Send a whole request, then reset the connection before the answer is read."""
    sock = socket.create_connection((host, port), timeout=5)
    sock.sendall(
        f"POST /RPC2 HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\n".encode()
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()
