"""Large bodies that nobody holds: an upstream and a client that hash what crosses the wire.

``Body(size)`` is an XML-RPC call (``echo`` of one long string) of exactly ``size`` bytes, made
chunk by chunk on demand, with its sha256 known up front. ``StreamUpstream`` is an HTTP/1.1
server on raw sockets (127.0.0.1) that reads each request body as it arrives, framed by
``Content-Length`` or ``Transfer-Encoding: chunked``, hashing it and keeping only its first
bytes, and answers with a small XML-RPC answer or a large body (``Content-Length`` or chunked)
that it makes and hashes the same way. ``post`` sends a ``Body`` with the stdlib client and
hashes the answer as it reads it. So a test can push 64 MB through the proxy and check that
every byte arrived, without the test holding the 64 MB either.
"""

from __future__ import annotations

import hashlib
import http.client
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from tests.hostile.tcp import TcpPeer

__all__ = ["Answer", "Body", "Received", "Reply", "StreamUpstream", "post"]

MIB = 1024 * 1024
_BLOCK = MIB
#: How many bytes of a body ``Received.wire`` keeps (framing included), for tests that look at it.
KEEP = 64 * 1024

_PREFIX = (
    b"<?xml version='1.0'?>\n<methodCall><methodName>echo</methodName><params><param>"
    b"<value><string>"
)
_SUFFIX = b"</string></value></param></params></methodCall>\n"


@dataclass(frozen=True)
class Body:
    """An XML-RPC call of exactly ``size`` bytes (at least the envelope), made on demand."""

    size: int
    prefix: bytes = _PREFIX
    suffix: bytes = _SUFFIX

    def chunks(self, block: int = _BLOCK) -> Iterator[bytes]:
        """The body in pieces of at most ``block`` bytes."""
        filler = self.size - len(self.prefix) - len(self.suffix)
        if filler < 0:
            raise ValueError(f"a body of {self.size} bytes cannot hold the envelope")
        yield self.prefix
        piece = b"a" * block
        while filler > 0:
            n = min(block, filler)
            yield piece[:n]
            filler -= n
        yield self.suffix

    @property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        for chunk in self.chunks():
            digest.update(chunk)
        return digest.hexdigest()


@dataclass(frozen=True)
class Answer:
    """What the upstream answers: ``body`` (small, bytes) or a generated ``Body`` of ``size``."""

    body: bytes = (
        b"<?xml version='1.0'?>\n<methodResponse><params><param><value><string>ok</string>"
        b"</value></param></params></methodResponse>\n"
    )
    size: int | None = None
    chunked: bool = False

    def chunks(self) -> Iterator[bytes]:
        if self.size is None:
            yield self.body
            return
        big = Body(
            self.size,
            prefix=b"<?xml version='1.0'?>\n<methodResponse><params><param><value><string>",
            suffix=b"</string></value></param></params></methodResponse>\n",
        )
        yield from big.chunks()

    @property
    def length(self) -> int:
        return len(self.body) if self.size is None else self.size


@dataclass
class Received:
    """One request as the upstream read it: its head, and its body hashed (not kept)."""

    head: bytes
    size: int = 0
    sha256: str = ""
    chunked: bool = False
    #: The body as it came on the wire (chunk framing included), its first ``KEEP`` bytes.
    wire: bytes = b""
    #: The answer's sha256 and size as sent.
    sent_sha256: str = ""
    sent: int = 0

    def header(self, name: str) -> list[str]:
        """Every value of a header, as sent (names compared case-insensitively)."""
        found = []
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == name.lower().encode():
                found.append(value.strip().decode("latin-1"))
        return found


class _Reader:
    """Buffered reads off a socket, for a hand-written HTTP/1.1 parser."""

    def __init__(self, conn: socket.socket, received: Received) -> None:
        self.conn = conn
        self.buf = b""
        self.received = received

    def _fill(self) -> None:
        chunk = self.conn.recv(MIB)
        if not chunk:
            raise ConnectionError("the client left mid-request")
        self.buf += chunk

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        self._keep(line + b"\r\n")
        return line

    def until_blank(self) -> bytes:
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        return head

    def exactly(self, n: int, digest: hashlib._Hash) -> None:
        while n > 0:
            if not self.buf:
                self._fill()
            piece, self.buf = self.buf[:n], self.buf[n:]
            digest.update(piece)
            self._keep(piece)
            self.received.size += len(piece)
            n -= len(piece)

    def _keep(self, data: bytes) -> None:
        room = KEEP - len(self.received.wire)
        if room > 0:
            self.received.wire += data[:room]


class StreamUpstream(TcpPeer):
    """An HTTP/1.1 upstream on 127.0.0.1 that hashes request bodies instead of keeping them.

    Each connection carries one request; ``answer`` says what every request gets. ``received``
    lists the requests read (complete or not).
    """

    conn_timeout = 60.0

    def __init__(self, answer: Answer | None = None) -> None:
        super().__init__()
        self.answer = answer or Answer()
        self.received: list[Received] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, conn: socket.socket) -> None:
        received = Received(head=b"")
        reader = _Reader(conn, received)
        received.head = reader.until_blank()
        with self._lock:
            self.received.append(received)
        digest = hashlib.sha256()
        received.chunked = any("chunked" in v.lower() for v in received.header("Transfer-Encoding"))
        if received.chunked:
            while True:
                size = int(reader.line().split(b";")[0], 16)
                if size == 0:
                    while reader.line():  # trailers, up to the blank line
                        pass
                    break
                reader.exactly(size, digest)
                if reader.line():
                    raise ConnectionError("a chunk not followed by CRLF")
        else:
            lengths = received.header("Content-Length")
            reader.exactly(int(lengths[0]) if lengths else 0, digest)
        received.sha256 = digest.hexdigest()
        self._reply(conn, received)

    def _reply(self, conn: socket.socket, received: Received) -> None:
        answer = self.answer
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n"
        if answer.chunked:
            head += b"Transfer-Encoding: chunked\r\n\r\n"
        else:
            head += b"Content-Length: %d\r\n\r\n" % answer.length
        conn.sendall(head)
        digest = hashlib.sha256()
        for chunk in answer.chunks():
            digest.update(chunk)
            received.sent += len(chunk)
            if answer.chunked:
                conn.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            else:
                conn.sendall(chunk)
        if answer.chunked:
            conn.sendall(b"0\r\n\r\n")
        received.sent_sha256 = digest.hexdigest()


@dataclass
class Reply:
    """What the client got back: status, headers, and the body's size and sha256."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    size: int = 0
    sha256: str = ""


def post(
    port: int,
    body: Body,
    *,
    chunked: bool = False,
    path: str = "/RPC2",
    headers: dict[str, str] | None = None,
    timeout: float = 60,
) -> Reply:
    """POST ``body`` through 127.0.0.1:``port`` with ``http.client`` (chunked or with a length),
    reading the answer in pieces and hashing it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        sent = {"Content-Type": "text/xml", **(headers or {})}
        if not chunked:
            sent["Content-Length"] = str(body.size)
        conn.request("POST", path, body=body.chunks(), headers=sent, encode_chunked=chunked)
        resp = conn.getresponse()
        digest = hashlib.sha256()
        size = 0
        while piece := resp.read(MIB):
            digest.update(piece)
            size += len(piece)
        return Reply(resp.status, resp.getheaders(), size, digest.hexdigest())
    finally:
        conn.close()
