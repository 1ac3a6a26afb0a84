"""A byte-recording TCP relay on 127.0.0.1: forwards every byte unchanged, records both directions.

Each accepted client connection gets a connection to the upstream; two threads pump bytes, and
every chunk read is appended to the connection's record (monotonic time, direction, bytes) before
it is written on. The record is what a proxy would have seen, chunk boundaries included.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

Direction = Literal["client", "server"]
"""Who sent the chunk: ``client`` (client to server) or ``server`` (server to client)."""


@dataclass(frozen=True)
class Chunk:
    at: float
    direction: Direction
    data: bytes


@dataclass
class Recorded:
    """One relayed connection: its chunks in the order they were read."""

    chunks: list[Chunk] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    finished: threading.Event = field(default_factory=threading.Event)

    def add(self, direction: Direction, data: bytes) -> None:
        with self.lock:
            self.chunks.append(Chunk(time.time(), direction, data))

    def stream(self, direction: Direction) -> bytes:
        with self.lock:
            return b"".join(c.data for c in self.chunks if c.direction == direction)


class Relay:
    """``with Relay(upstream_port) as relay:`` then connect to ``relay.port``."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port: int = self.listener.getsockname()[1]
        self.connections: list[Recorded] = []
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> Relay:
        self._acceptor.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream, timeout=10)
            server.settimeout(None)
            record = Recorded()
            self.connections.append(record)
            self._sockets += [client, server]
            done = threading.Barrier(2, action=record.finished.set)
            for source, sink, direction in (
                (client, server, "client"),
                (server, client, "server"),
            ):
                thread = threading.Thread(
                    target=self._pump, args=(source, sink, direction, record, done), daemon=True
                )
                self._threads.append(thread)
                thread.start()

    @staticmethod
    def _pump(
        source: socket.socket,
        sink: socket.socket,
        direction: Direction,
        record: Recorded,
        done: threading.Barrier,
    ) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                record.add(direction, data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            # Pass the half-close on, so the other side sees the end of the stream.
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
            with contextlib.suppress(threading.BrokenBarrierError):
                done.wait(timeout=30)

    def wait_finished(self, timeout: float = 30) -> None:
        """Wait until every relayed connection has ended in both directions."""
        deadline = time.monotonic() + timeout
        for record in list(self.connections):
            if not record.finished.wait(max(0.0, deadline - time.monotonic())):
                raise TimeoutError("a relayed connection did not end")

    def close(self) -> None:
        self._stopping.set()
        self.listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()
        for thread in self._threads:
            thread.join(timeout=5)
