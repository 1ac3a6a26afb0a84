"""How much a local HTTP server (the demo server, the mock) takes on at once: ``HttpLimits`` and
the ``Admission`` that enforces them.

Strategy: nothing waits. A connection over ``max_connections`` is answered ``503`` with
``Retry-After`` by the accepting thread and closed, so no thread is started for it; a request
whose ``Content-Length`` would take the bodies held at once over ``max_inflight`` is answered
``503`` before its body is read; one over ``max_body`` is ``413``. A connection idle (between
keep-alive requests, or stalled mid-headers or mid-body) for ``idle_timeout`` seconds is closed.
A body shorter than its Content-Length (the client closed early) is an error, never a call.
Memory is then bounded by about ``max_inflight`` times the decoder's expansion (a body, its
decoded values, the answer) plus a thread stack per connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_HTTP_LIMITS", "Admission", "HttpLimits", "refuse_busy"]

_MIB: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """What one server takes on at once."""

    #: Connections served at once; more are answered 503 and closed.
    max_connections: int = 64
    #: Request body bytes held at once, over all connections; a request over it is 503.
    max_inflight: int = 64 * _MIB
    #: One request body; a larger one is 413 (the decoder's own size limit).
    max_body: int = 64 * _MIB
    #: Seconds a connection may sit idle or stalled (headers, body, keep-alive) before closing.
    idle_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if self.max_body < 0 or self.max_inflight < 0:
            raise ValueError("body limits must be 0 or more")
        if not self.idle_timeout > 0:
            raise ValueError("idle_timeout must be more than 0 seconds")


DEFAULT_HTTP_LIMITS: Final = HttpLimits()


class Admission:
    """Counts connections and body bytes in flight against ``limits``; thread-safe."""

    def __init__(self, limits: HttpLimits = DEFAULT_HTTP_LIMITS) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self.connections = 0
        self.inflight = 0
        #: How many connections and requests were turned away (503).
        self.refused = 0

    def enter(self) -> bool:
        """Take a connection slot; False (and counted as refused) when all are taken."""
        with self._lock:
            if self.connections >= self.limits.max_connections:
                self.refused += 1
                return False
            self.connections += 1
            return True

    def leave(self) -> None:
        """Give a connection slot back."""
        with self._lock:
            self.connections = max(self.connections - 1, 0)

    def reserve(self, size: int) -> bool:
        """Hold ``size`` body bytes; False (and counted as refused) when over the budget.

        A body alone larger than the budget is still taken when nothing else is held, so a
        budget below ``max_body`` never refuses a request that fits ``max_body`` forever.
        """
        with self._lock:
            if self.inflight and self.inflight + size > self.limits.max_inflight:
                self.refused += 1
                return False
            self.inflight += size
            return True

    def release(self, size: int) -> None:
        """Give ``size`` held bytes back."""
        with self._lock:
            self.inflight = max(self.inflight - size, 0)


def refuse_busy(sock: socket.socket, what: str) -> None:
    """Answer ``503`` with ``Retry-After: 1`` on a fresh plain connection and close it.

    Written from the accepting thread: the answer is small and the send has a short timeout,
    so a client that reads nothing cannot hold the server.
    """
    body = f"{what}: busy, try again shortly\n".encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with contextlib.suppress(OSError):
        sock.settimeout(1.0)
        sock.sendall(head.encode() + body)
        sock.shutdown(socket.SHUT_WR)
        # Closing with unread bytes makes the kernel send a reset, which can overtake the 503:
        # read what has already arrived (without waiting for more).
        sock.setblocking(False)
        for _ in range(16):
            if not sock.recv(65536):
                break
