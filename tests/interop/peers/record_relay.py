#!/usr/bin/env python3
"""A recording TCP relay for HTTP/1.x: stdlib only.

It sits between a client and a server on 127.0.0.1, forwards every byte
unchanged and keeps each HTTP request and response as the exact bytes that
crossed the wire (start line, headers and body). Messages are framed by
Content-Length, by chunked transfer coding (kept raw, chunk lines included), or
for a response with neither, by the server closing the connection.

As a library (used by sweep.py)::

    relay = Relay("127.0.0.1", 8000)   # target
    relay.start()                       # relay.port is where clients connect
    ...
    exchanges = relay.take()            # [(request_bytes, response_bytes), ...]
    relay.stop()

As a program::

    record_relay.py --target 127.0.0.1:8000 --listen 8001 --out DIR

writes DIR/NNN.request.http and DIR/NNN.response.http for each exchange.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
import threading
from pathlib import Path
from typing import BinaryIO


class Closed(Exception):
    """The peer closed before a whole message came."""


def _read_head(stream: BinaryIO) -> bytes:
    head = b""
    while True:
        line = stream.readline(65537)
        if not line:
            if head:
                raise Closed("closed inside the header")
            raise Closed("closed")
        head += line
        if line in (b"\r\n", b"\n"):
            return head


def _headers(head: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in head.split(b"\n")[1:]:
        name, sep, value = raw.partition(b":")
        if sep:
            out[name.strip().decode("latin-1").lower()] = value.strip().decode("latin-1")
    return out


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise Closed(f"closed after {len(data)} of {n} body bytes")
    return data


def _read_chunked(stream: BinaryIO) -> bytes:
    raw = b""
    while True:
        line = stream.readline(65537)
        if not line:
            raise Closed("closed inside a chunked body")
        raw += line
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while True:  # trailers, then the blank line
                t = stream.readline(65537)
                if not t:
                    return raw
                raw += t
                if t in (b"\r\n", b"\n"):
                    return raw
        raw += _read_exact(stream, size)
        raw += stream.readline(65537)  # CRLF after the chunk


def read_message(
    stream: BinaryIO, *, response: bool, request_method: str = ""
) -> tuple[bytes, bool]:
    """One HTTP message as raw bytes, and whether the connection ends after it."""
    head = _read_head(stream)
    while response and head[9:10] == b"1" and not head.startswith(b"HTTP/1.1 101"):
        # 1xx interim response: keep it as part of the recorded bytes
        head += _read_head(stream)
    last_head = head[head.rfind(b"HTTP/", 0) if response else 0 :]
    h = _headers(last_head)
    start = last_head.split(b"\r\n", 1)[0].split(b"\n", 1)[0]
    http10 = start.startswith(b"HTTP/1.0") if response else start.endswith(b"HTTP/1.0")
    conn = h.get("connection", "").lower()
    closes = conn == "close" or (http10 and conn != "keep-alive")
    if "chunked" in h.get("transfer-encoding", "").lower():
        return head + _read_chunked(stream), closes
    if "content-length" in h:
        return head + _read_exact(stream, int(h["content-length"])), closes
    if not response:
        return head, closes
    status = start.split(b" ")[1] if b" " in start else b""
    if request_method == "HEAD" or status in (b"204", b"304"):
        return head, closes
    return head + stream.read(), True


class Relay:
    def __init__(
        self,
        target_host: str,
        target_port: int,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        on_exchange=None,
    ) -> None:
        self.target = (target_host, target_port)
        self._sock = socket.create_server((listen_host, listen_port))
        self.port = self._sock.getsockname()[1]
        self._lock = threading.Lock()
        self._exchanges: list[tuple[bytes, bytes]] = []
        self._on_exchange = on_exchange
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self.errors: list[str] = []

    def start(self) -> Relay:
        self._thread.start()
        return self

    def take(self) -> list[tuple[bytes, bytes]]:
        with self._lock:
            out, self._exchanges = self._exchanges, []
        return out

    def stop(self) -> None:
        self._stop = True
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            if self._stop:
                conn.close()
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = None
        try:
            cin = client.makefile("rb")
            while True:
                try:
                    request, req_closes = read_message(cin, response=False)
                except Closed:
                    return
                if upstream is None:
                    upstream = socket.create_connection(self.target, timeout=30)
                    uin = upstream.makefile("rb")
                upstream.sendall(request)
                method = request.split(b" ", 1)[0].decode("latin-1")
                try:
                    response, resp_closes = read_message(uin, response=True, request_method=method)
                except Closed as exc:
                    self.errors.append(f"no whole response: {exc}")
                    return
                # kept before the client has its answer: take() right after a call sees it
                with self._lock:
                    self._exchanges.append((request, response))
                client.sendall(response)
                if self._on_exchange:
                    self._on_exchange(request, response)
                if resp_closes or req_closes:
                    return  # either side asked for close: close both, as a proxy would
        except OSError as exc:
            self.errors.append(repr(exc))
        finally:
            client.close()
            if upstream is not None:
                upstream.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", required=True, help="HOST:PORT of the server")
    p.add_argument("--listen", type=int, default=0, help="port on 127.0.0.1 (default: any)")
    p.add_argument(
        "--out", required=True, type=Path, help="directory for NNN.request.http/NNN.response.http"
    )
    a = p.parse_args(argv)
    host, _, port = a.target.rpartition(":")
    a.out.mkdir(parents=True, exist_ok=True)
    count = [0]

    def save(req: bytes, resp: bytes) -> None:
        count[0] += 1
        (a.out / f"{count[0]:03d}.request.http").write_bytes(req)
        (a.out / f"{count[0]:03d}.response.http").write_bytes(resp)
        print(f"{count[0]:03d} {req.split(b'\n', 1)[0].decode('latin-1').strip()}", flush=True)

    relay = Relay(host, int(port), listen_port=a.listen, on_exchange=save).start()
    print(f"relaying 127.0.0.1:{relay.port} -> {host}:{port}, writing {a.out}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        relay.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
