"""The one threaded TCP server under the hostile peers: a listener on a free port of 127.0.0.1
whose connections are each served in a thread of their own until the peer is stopped.

A peer subclasses ``TcpPeer`` and writes ``handle(conn)``: what it does with one connection.
``stop()`` (or leaving the ``with`` block) sets ``stopping``, which long-running handlers watch,
stops accepting, waits for the handlers and closes the listener. An ``OSError`` in a handler
(the other side left) ends that connection only.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Self

__all__ = ["TcpPeer"]


class TcpPeer:
    """A TCP server on 127.0.0.1 serving each connection with ``handle`` in its own thread."""

    #: The socket timeout of each accepted connection, in seconds.
    conn_timeout: float = 30.0

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = int(self._listener.getsockname()[1])
        self._threads: list[threading.Thread] = []
        self._accepting: threading.Thread | None = None

    def handle(self, conn: socket.socket) -> None:
        """Serve one connection; it is closed when this returns."""
        raise NotImplementedError

    def start(self) -> Self:
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._accepting is not None:
            self._accepting.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(self.conn_timeout)
            self.handle(conn)
