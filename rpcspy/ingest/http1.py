"""A sans-IO HTTP/1.x reader for one direction of a reassembled TCP stream.

Strategy: the TCP layer (``rpcspy.ingest.pcap``) feeds the bytes of one direction in order, each
chunk with the time of the packet that carried it, and says where bytes are missing (``gap``).
``MessageReader`` turns that into whole messages (start line, headers, body with its transfer
coding undone but its content coding kept, first and last packet times), one state per place in
a message, the way h11 keys its readers by state. Keep-alive and pipelining fall out of it: a
message ends where its framing says, and the next begins right after.

A gap never makes a wrong body. Inside a body of known length (Content-Length, or a chunk whose
size was read) the reader knows how many bytes are missing, skips them and goes on: the message
is *damaged* (kept without its body, with a ``gap`` problem) and the ones after it are whole.
Anywhere else (in a head, in a chunk-size line, past the end of a message) the framing is lost,
the message in progress is damaged, and the reader stops for the rest of the stream (``lost``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from rpcspy.capture import Problem
from rpcspy.capture.record import ProblemPlace

__all__ = ["HEAD_LIMIT", "Message", "MessageReader"]

#: A head longer than this is not HTTP (or not one we want): the stream is given up.
HEAD_LIMIT: Final = 64 * 1024

_REQUEST_LINE: Final = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP/(\d)\.(\d)\Z")
_STATUS_LINE: Final = re.compile(rb"HTTP/(\d)\.(\d) (\d{3})(?: (.*))?\Z", re.DOTALL)

#: The headers that frame a body (RFC 9112, 6): looked at while the head is read.
_FRAMING: Final = frozenset({b"transfer-encoding", b"content-length"})

# States, one per place in a message.
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER, _CLOSE, _LOST = range(8)


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


_Fields = tuple[list[tuple[str, str]], dict[bytes, list[bytes]]]
#: What ``bytes.strip()`` strips (``str.strip()`` would strip more).
_BLANKS: Final = " \t\n\r\x0b\x0c"
_FRAMING_TEXT: Final = frozenset(name.decode("ascii") for name in _FRAMING)


#: A header line's field, and the name (lower case, as bytes) when it frames the body.
_Field = tuple[tuple[str, str], bytes | None]
#: Header lines read before, and their fields (None: no colon, not a field). Most lines of a
#: head are the lines of the heads before it (the same Host, Content-Type, User-Agent ...):
#: read once, each is then a look-up. Short lines only, emptied when full, so it stays small.
_SEEN: dict[str, _Field | None] = {}
_SEEN_LINES: Final = 4096
_SEEN_LENGTH: Final = 200
_NOT_SEEN: Final[_Field] = (("", ""), None)


def _fields(block: bytes) -> _Fields:
    """The header fields of a head after its start line, and the framing ones as bytes.

    A name or value is text as UTF-8, else as Latin-1 (each on its own). A head that is UTF-8
    as a whole, as nearly all are, is decoded once: its parts are then UTF-8 too (they are cut
    at ASCII bytes), so it reads the same as part by part, for a third of the cost.
    """
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        return _fields_by_part(block)
    headers = []
    framing: dict[bytes, list[bytes]] = {}
    seen = _SEEN
    for line in text.split("\r\n"):
        found = seen.get(line, _NOT_SEEN)
        if found is _NOT_SEEN:
            found = _field(line)
            if len(line) <= _SEEN_LENGTH:
                if len(seen) >= _SEEN_LINES:
                    seen.clear()
                seen[line] = found
        if found is None:
            continue
        field, framing_name = found
        headers.append(field)
        if framing_name is not None:
            framing.setdefault(framing_name, []).append(field[1].encode("utf-8"))
    return headers, framing


def _field(line: str) -> _Field | None:
    """The field of one header line of a UTF-8 head (None: not a field)."""
    name, sep, value = line.partition(":")
    if not sep:
        return None
    name = name.strip(_BLANKS)
    lower = name.lower()
    framing = lower.encode("ascii") if lower in _FRAMING_TEXT and name.isascii() else None
    return (name, value.strip(_BLANKS)), framing


def _fields_by_part(block: bytes) -> _Fields:
    headers = []
    framing: dict[bytes, list[bytes]] = {}
    for line in block.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        name = name.strip()
        value = value.strip()
        headers.append((_text(name), _text(value)))
        lower = name.lower()
        if lower in _FRAMING:
            framing.setdefault(lower, []).append(value)
    return headers, framing


@dataclass(slots=True)
class Message:
    """One HTTP message read off a stream. ``body`` has its transfer coding undone only."""

    started: float
    ended: float = 0.0
    method: str = ""
    target: str = ""
    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    #: Not read whole: the body is not to be used (``problems`` say why).
    damaged: bool = False
    problems: list[Problem] = field(default_factory=list)
    #: The framing after this message is unknown (101 Switching Protocols, a CONNECT tunnel).
    upgrade: bool = False

    def header(self, name: str) -> str | None:
        """Header ``name`` (any case; repeated ones joined by ``, ``)."""
        name = name.lower()
        values = [v for k, v in self.headers if k.lower() == name]
        return ", ".join(values) if values else None


class MessageReader:
    """Reads the requests (``requests=True``) or the responses of one direction of a stream.

    ``feed(data, ts)``, ``gap(n, ts)`` and ``close(ts)`` return the messages they completed.
    A response reader asks ``method_of_next()`` for the method of the request it answers (a
    ``HEAD`` answer has no body). ``max_body``: bodies over this many bytes are counted, not kept
    (the message is damaged, with a ``too-large`` problem).
    """

    def __init__(
        self,
        requests: bool,
        *,
        max_body: int,
        method_of_next: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.requests = requests
        self.where: ProblemPlace = "request" if requests else "response"
        self.max_body = max_body
        self.method_of_next = method_of_next
        self.state = _HEAD
        self.buf = bytearray()
        self.msg: Message | None = None
        self.remaining = 0
        self.parts: list[bytes] = []
        self.size = 0
        #: The framing is lost: everything after this is ignored.
        self.lost = False
        #: Messages completed so far (so a connection can tell whether it ever spoke HTTP).
        self.count = 0
        self.out: list[Message] = []
        #: The time of the packet that carried the first byte of the next message's head.
        self.head_ts: float | None = None
        self.now = 0.0

    # ------------------------------------------------------------------ input

    def feed(self, data: bytes, ts: float) -> list[Message]:
        """Take the next bytes of the stream, carried by a packet at ``ts``."""
        if self.state == _LOST or not data:
            return []
        if self.msg is not None:
            self.msg.ended = ts
        elif not self.buf:
            self.head_ts = ts
        self.now = ts
        self.buf += data
        self._run(ts)
        return self._take()

    def gap(self, n: int, ts: float) -> list[Message]:
        """``n`` bytes of the stream are missing here (never captured)."""
        if self.state == _LOST or n <= 0:
            return []
        self.now = ts
        msg = self.msg
        reason = f"{n} bytes missing from the capture (a lost segment)"
        if msg is not None and not self.buf:
            if self.state in (_LENGTH, _CHUNK_DATA) and n <= self.remaining:
                # What came before the gap is kept to judge the message by, not to decode.
                self._damage(msg, "gap", reason)
                self.remaining -= n
                if self.remaining == 0:
                    if self.state == _LENGTH:
                        self._emit()
                    else:
                        self.state = _CHUNK_END
                return self._take()
            if self.state == _CLOSE:
                self._damage(msg, "gap", reason)
                return []
        if msg is None and not self.buf and self.state == _HEAD and self.count == 0:
            # Nothing of this direction was read yet: the stream starts after the gap, if it
            # starts with a message at all.
            return []
        if msg is not None:
            self._damage(msg, "gap", reason + "; the messages after it cannot be framed")
            msg.ended = ts
            self._emit()
        self._lose()
        return self._take()

    def close(self, ts: float, why: str = "the connection closed") -> list[Message]:
        """The stream ended (FIN, RST, or the capture's end)."""
        if self.state == _LOST:
            return []
        self.now = ts
        msg = self.msg
        if self.state == _CLOSE and msg is not None:
            self._emit()
        elif msg is not None:
            self._damage(msg, "incomplete", f"cut short: {why} before the end of the message")
            self._emit()
        self._lose()
        return self._take()

    # ------------------------------------------------------------------ internals

    def _take(self) -> list[Message]:
        out, self.out = self.out, []
        return out

    def _lose(self) -> None:
        self.state = _LOST
        self.lost = True
        self.buf = bytearray()
        self.msg = None
        self.parts = []

    def _damage(self, msg: Message, kind: str, reason: str) -> None:
        if not msg.damaged or kind != "gap":
            msg.problems.append(Problem(self.where, kind, reason))
        msg.damaged = True

    def _keep(self, data: bytes | bytearray) -> None:
        self.size += len(data)
        msg = self.msg
        if msg is None or msg.damaged:
            return
        if self.size > self.max_body:
            self._damage(msg, "too-large", f"body over {self.max_body} bytes; not kept")
            # Its start is kept to judge the message by, not to decode.
            self.parts = [b"".join(self.parts)[:65536]]
            return
        self.parts.append(bytes(data))

    def _emit(self) -> None:
        msg = self.msg
        assert msg is not None
        msg.body = b"".join(self.parts)
        self.parts = []
        self.size = 0
        self.msg = None
        self.state = _HEAD
        # What is left in the buffer starts the next message, in the packet being read.
        self.head_ts = self.now
        self.count += 1
        self.out.append(msg)
        if msg.upgrade:
            self._lose()

    def _run(self, ts: float) -> None:
        buf = self.buf
        while True:
            state = self.state
            if state == _HEAD:
                if not self._head(ts):
                    return
            elif state == _LENGTH:
                if not buf:
                    return
                n = min(self.remaining, len(buf))
                self._keep(buf[:n])
                del buf[:n]
                self.remaining -= n
                if self.remaining == 0:
                    self._emit()
            elif state == _CLOSE:
                if buf:
                    self._keep(buf)
                    buf.clear()
                return
            elif state == _CHUNK_SIZE:
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > 1024:
                        self._bad_framing("a chunk-size line too long")
                    return
                line = bytes(buf[:end]).split(b";", 1)[0].strip()
                del buf[: end + 2]
                try:
                    size = int(line, 16)
                except ValueError:
                    self._bad_framing(f"a bad chunk size {line[:20]!r}")
                    return
                if size == 0:
                    self.state = _TRAILER
                else:
                    self.remaining = size
                    self.state = _CHUNK_DATA
            elif state == _CHUNK_DATA:
                if not buf:
                    return
                n = min(self.remaining, len(buf))
                self._keep(buf[:n])
                del buf[:n]
                self.remaining -= n
                if self.remaining == 0:
                    self.state = _CHUNK_END
            elif state == _CHUNK_END:
                if len(buf) < 2:
                    return
                if buf[:2] != b"\r\n":
                    self._bad_framing("a chunk not followed by CRLF")
                    return
                del buf[:2]
                self.state = _CHUNK_SIZE
            elif state == _TRAILER:
                end = buf.find(b"\r\n")
                if end < 0:
                    return
                del buf[: end + 2]
                if end == 0:
                    self._emit()
            else:
                return

    def _bad_framing(self, what: str) -> None:
        msg = self.msg
        if msg is not None:
            self._damage(msg, "bad-framing", f"{what}; the messages after it cannot be framed")
            self._emit()
        self._lose()

    def _head(self, ts: float) -> bool:
        """Read a head if a whole one is buffered; False when more bytes are needed."""
        buf = self.buf
        if not buf:
            return False
        # Empty lines between messages are allowed (RFC 9112, 2.2).
        while buf.startswith(b"\r\n"):
            del buf[:2]
        if not buf:
            return False
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > HEAD_LIMIT:
                self._lose()
            return False
        start, _, block = bytes(buf[:end]).partition(b"\r\n")
        del buf[: end + 4]
        started = self.head_ts if self.head_ts is not None else ts
        msg = Message(started=started, ended=ts)
        if self.requests:
            m = _REQUEST_LINE.match(start)
            if m is None:
                self._lose()
                return False
            msg.method = m.group(1).decode("ascii")
            msg.target = _text(m.group(2))
        else:
            m = _STATUS_LINE.match(start)
            if m is None:
                self._lose()
                return False
            msg.status = int(m.group(3))
        headers, framing = _fields(block)
        msg.headers = tuple(headers)
        self.msg = msg
        self._frame(msg, framing)
        return True

    def _frame(self, msg: Message, framing: dict[bytes, list[bytes]]) -> None:
        """Set the state for the body, from the head (RFC 9112, 6.3)."""
        if not self.requests:
            method = (self.method_of_next() or "").upper()
            status = msg.status
            if 100 <= status < 200:
                if status == 101:
                    msg.upgrade = True
                self._emit()
                return
            if method == "CONNECT" and 200 <= status < 300:
                msg.upgrade = True
                self._emit()
                return
            if method == "HEAD" or status in (204, 304):
                self._emit()
                return
        codings = framing.get(b"transfer-encoding")
        coding = b", ".join(codings).decode("latin-1").lower() if codings else ""
        if coding:
            if coding.rsplit(",", 1)[-1].strip() == "chunked":
                self.state = _CHUNK_SIZE
                return
            if self.requests:
                self._bad_framing("a request body without a length")
                return
            self.state = _CLOSE
            return
        lengths = framing.get(b"content-length")
        if lengths is not None:
            if len(lengths) == 1 and len(lengths[0]) < 19 and lengths[0].isdigit():
                n = int(lengths[0])  # the usual one, a few ASCII digits: read as below
            else:
                length = b", ".join(lengths).decode("latin-1")
                try:
                    n = int(length.split(",")[0].strip())
                except ValueError:
                    n = -1
                if n < 0:
                    self._bad_framing(f"a bad Content-Length {length[:20]!r}")
                    return
            if n == 0:
                self._emit()
                return
            self.remaining = n
            self.state = _LENGTH
            return
        if self.requests:
            self._emit()
        else:
            self.state = _CLOSE
