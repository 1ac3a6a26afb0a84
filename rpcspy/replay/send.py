"""Sending one recorded call to a server and recording the exchange: ``send_call`` and ``Sender``.

The request is built by a pure function (``build_request``): by default the exact recorded body
with its Content-Type and Content-Encoding, so the server sees the bytes it saw; with ``reencode``
the decoded call encoded afresh (for captures edited by hand). Credentials never come from the
capture (it redacts them) but from ``Auth``.

``Sender`` keeps one keep-alive connection per thread, so a pool of threads replays with
concurrency; every failure (refused, timed out, closed mid-call, TLS, an answer over the size
limit) becomes the record's ``error``, never an exception, so a replay always goes on to the next
call. Two bounds hold whatever the server does: ``timeout`` is a deadline for the whole call
(connect, send, the whole answer; a watchdog cuts the socket when it passes, so a server dripping a
byte at a time cannot stretch it), and no answer body is read past ``max_body`` bytes (one
announcing more is not read at all; the record gets a ``too-large`` problem). Like the stdlib
client, a call is sent once more on a new connection when a kept-alive connection turns out to
be closed before the server answered anything (the server closed it while idle); a server that
drops calls on purpose then sees such a call twice, as it would from the stdlib client.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import http.client
import select
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from rpcspy import __version__
from rpcspy.capture import CallRecord, HttpMessage, Problem, build_record
from rpcspy.client import HttpProxy, open_connection, proxy_headers, request_target
from rpcspy.xmlrpc.encode import encode_request
from rpcspy.xmlrpc.messages import DEFAULT_LIMITS, MethodCall

__all__ = [
    "DEFAULT_MAX_BODY",
    "FORWARDED_HEADERS",
    "Auth",
    "OutgoingRequest",
    "Sender",
    "Target",
    "TlsOptions",
    "build_request",
    "send_call",
]

#: Recorded request headers re-sent as they were (lower-case names). Host, Content-Length and
#: Authorization are set afresh; cookies and the rest stay behind.
FORWARDED_HEADERS: Final = frozenset(
    {"content-type", "content-encoding", "accept-encoding", "accept", "user-agent"}
)
_DEFAULT_USER_AGENT: Final = f"rpcspy-replay/{__version__}"
#: The largest answer body read (the decoder's own size limit): past it, the call is too large.
DEFAULT_MAX_BODY: Final = DEFAULT_LIMITS.max_bytes
_READ_SIZE: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class Target:
    """Where calls go: ``http[s]://host[:port][/path]``.

    ``path`` None means "each call's recorded path": a target URL without a path keeps them.
    """

    scheme: str
    host: str
    port: int
    path: str | None = None

    @classmethod
    def parse(cls, url: str) -> Target:
        """Parse a target URL; raises ``ValueError`` with a reason people understand."""
        parts = urllib.parse.urlsplit(url.strip())
        # Every message shows the URL with its password masked: it must not reach a terminal
        # or a CI log from here.
        shown = _masked(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"target {shown!r}: the URL must start with http:// or https://")
        if not parts.hostname:
            raise ValueError(f"target {shown!r}: no host name")
        if parts.username or parts.password:
            raise ValueError(
                f"target {shown!r}: put credentials in --user/--password, not in the URL"
            )
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"target {shown!r}: bad port") from None
        if port is None:
            port = 443 if scheme == "https" else 80
        path = parts.path or None
        if path is not None and parts.query:
            path = f"{path}?{parts.query}"
        return cls(scheme, parts.hostname, port, path)

    @property
    def netloc(self) -> str:
        """``host:port`` (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The target as a URL (without a path when it keeps recorded paths)."""
        return f"{self.scheme}://{self.netloc}{self.path or ''}"

    def path_for(self, recorded: str | None) -> str:
        """The request path for a call recorded with path ``recorded``."""
        if self.path is not None:
            return self.path
        return recorded or "/"


def _masked(url: str) -> str:
    """``url`` with the password of its ``user:password@`` part shown as ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    # Credentials end at the last "@" before any query or fragment: a password may hold a "/",
    # and masking too much of a URL that is refused anyway does no harm.
    end = min((i for i in (rest.find(c) for c in "?#") if i >= 0), default=len(rest))
    at = rest.rfind("@", 0, end)
    if at < 0:
        return url
    user, colon, _ = rest[:at].partition(":")
    masked = f"{user}:***" if colon else user
    return f"{scheme}{sep}{masked}{rest[at:]}"


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """How an https target is verified: the system store, plus ``cafile``, or not at all."""

    cafile: Path | None = None
    insecure: bool = False

    def context(self) -> ssl.SSLContext:
        """An SSL context for client connections."""
        ctx = ssl.create_default_context(cafile=str(self.cafile) if self.cafile else None)
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx


@dataclass(frozen=True, slots=True)
class Auth:
    """HTTP Basic credentials."""

    user: str
    password: str

    def header(self) -> str:
        """The ``Authorization`` header value."""
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"

    def __repr__(self) -> str:
        return f"Auth(user={self.user!r}, password=<redacted>)"


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """What is sent for one call: path, headers (in order) and the body as it goes on the wire."""

    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    content_encoding: str | None


def build_request(
    item: CallRecord | MethodCall | bytes,
    target: Target,
    *,
    reencode: bool = False,
    auth: Auth | None = None,
) -> OutgoingRequest:
    """The request to send for a record, a call or a raw body (pure).

    A record is sent as recorded (body, Content-Type, Content-Encoding and the few headers in
    ``FORWARDED_HEADERS``) unless ``reencode`` is set or it has no recorded body; then its decoded
    call is encoded afresh. Raises ``ValueError`` when a record must be re-encoded but its request
    did not decode.
    """
    headers: list[tuple[str, str]] = []
    encoding: str | None = None
    recorded_path: str | None = None
    if isinstance(item, CallRecord):
        recorded_path = item.path
        if reencode or not item.request.body:
            if item.call is None:
                why = "; ".join(p.message for p in item.problems if p.where == "request")
                raise ValueError(
                    "cannot re-encode: the recorded request did not decode"
                    + (f" ({why})" if why else "")
                )
            body = encode_request(item.call)
            headers.append(("Content-Type", "text/xml"))
            for name, value in item.request.headers:
                if name.lower() in ("user-agent", "accept"):
                    headers.append((name, value))
        else:
            body = item.request.body
            encoding = item.request.content_encoding
            for name, value in item.request.headers:
                if name.lower() in FORWARDED_HEADERS:
                    headers.append((name, value))
            if not any(n.lower() == "content-type" for n, _ in headers):
                headers.append(("Content-Type", "text/xml"))
            if encoding and not any(n.lower() == "content-encoding" for n, _ in headers):
                headers.append(("Content-Encoding", encoding))
    elif isinstance(item, MethodCall):
        body = encode_request(item)
        headers.append(("Content-Type", "text/xml"))
    else:
        body = bytes(item)
        headers.append(("Content-Type", "text/xml"))
    if not any(n.lower() == "user-agent" for n, _ in headers):
        headers.append(("User-Agent", _DEFAULT_USER_AGENT))
    if auth is not None:
        headers.append(("Authorization", auth.header()))
    return OutgoingRequest(target.path_for(recorded_path), tuple(headers), body, encoding)


class _TooLarge(Exception):
    """An answer body over the size limit: the message says how it showed."""


def _read_body(resp: http.client.HTTPResponse, limit: int) -> bytes:
    """The answer body, read ``_READ_SIZE`` bytes at a time and never past ``limit`` bytes.

    Raises ``_TooLarge`` when the answer announces more than ``limit`` (nothing is read) or
    goes past it (chunked or until-close answers), ``IncompleteRead`` when the server closes
    before the announced length.
    """
    if resp.length is not None and resp.length > limit:
        raise _TooLarge(f"the answer announces {resp.length} bytes, over the limit of {limit}")
    body = bytearray()
    while True:
        try:
            piece = resp.read(min(_READ_SIZE, limit + 1 - len(body)))
        except http.client.IncompleteRead as exc:
            raise http.client.IncompleteRead(bytes(body) + exc.partial, exc.expected) from None
        if not piece:
            break
        body += piece
        if len(body) > limit:
            raise _TooLarge(f"the answer went past the limit of {limit} bytes; the rest unread")
    if resp.length:
        # The server closed before the announced length: what came is kept, as an error.
        raise http.client.IncompleteRead(bytes(body), resp.length)
    return bytes(body)


class _Deadline:
    """Cuts a connection's socket when its call's time is up (a ``threading.Timer``).

    A socket timeout bounds each read, not the call: a server sending a byte just before each
    read times out would hold a call forever. Shutting the socket down wakes any blocked read.
    """

    def __init__(self, conn: http.client.HTTPConnection, seconds: float) -> None:
        self.conn = conn
        self.expired = False
        self.ends = time.monotonic() + seconds
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        """Seconds before the deadline (at least a little, for a timeout value)."""
        return max(self.ends - time.monotonic(), 0.001)

    def _cut(self) -> None:
        self.expired = True
        sock = self.conn.sock
        if sock is not None:
            # The plain socket's shutdown, under TLS too: the TLS layer is not to be touched
            # from this thread, only woken.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def cancel(self) -> None:
        """Disarm the timer (the call ended in time, or not)."""
        self._timer.cancel()


def _describe_error(exc: BaseException, timeout: float) -> str:
    """One line for a failed exchange, in words rather than exception class names."""
    if isinstance(exc, _TooLarge):
        return f"too large: {exc}"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(exc, http.client.IncompleteRead):
        expected = f" of {len(exc.partial) + exc.expected}" if exc.expected is not None else ""
        return f"the server closed the connection mid-answer ({len(exc.partial)}{expected} bytes)"
    if isinstance(exc, ConnectionResetError):
        return "the server reset the connection"
    if isinstance(exc, BrokenPipeError):
        return "the server closed the connection while the request was being sent"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {exc.verify_message} (use --cafile or --insecure)"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name: {exc.strerror or exc}"
    if isinstance(exc, http.client.HTTPException):
        return f"bad HTTP answer: {type(exc).__name__} {exc}".rstrip()
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


def _peer(sock: socket.socket | None, which: str) -> tuple[str, int] | None:
    if sock is None:
        return None
    try:
        addr = sock.getsockname() if which == "local" else sock.getpeername()
    except OSError:
        return None
    return (str(addr[0]), int(addr[1]))


class Sender:
    """Sends calls to one target over keep-alive connections, one per calling thread.

    Thread-safe: each thread gets its own connection. ``close`` closes them all. ``proxy``
    sends through an HTTP proxy (``rpcspy.client``); ``headers`` are added to every request,
    replacing any of the same name; ``origin`` is the records' origin.
    """

    def __init__(
        self,
        target: Target,
        *,
        auth: Auth | None = None,
        tls: TlsOptions | None = None,
        timeout: float = 30.0,
        proxy: HttpProxy | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        origin: str = "replay",
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.target = target
        self.auth = auth
        self.timeout = timeout
        self.proxy = proxy
        self.headers = headers
        self.origin = origin
        self.max_body = max_body
        self._limits = dataclasses.replace(DEFAULT_LIMITS, max_bytes=max_body)
        self._ssl = (tls or TlsOptions()).context() if target.scheme == "https" else None
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[http.client.HTTPConnection] = []

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _new_connection(self) -> http.client.HTTPConnection:
        target = self.target
        conn = open_connection(
            target.scheme,
            target.host,
            target.port,
            proxy=self.proxy,
            context=self._ssl,
            timeout=self.timeout,
        )
        with self._lock:
            self._all.append(conn)
        return conn

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._new_connection()
            self._local.conn = conn
        elif conn.sock is not None and _readable(conn.sock):
            # An idle kept-alive socket that is readable was closed by the server (or holds
            # junk): start afresh rather than send a call into it and lose the call.
            conn.close()
        return conn

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        self._local.conn = None
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)

    def send(
        self,
        item: CallRecord | MethodCall | bytes,
        *,
        reencode: bool = False,
        seq: int = 0,
    ) -> CallRecord:
        """Send one call and record the exchange (``origin="replay"``); never raises for I/O.

        Raises ``ValueError`` only when ``reencode`` is asked of a record whose request did not
        decode (nothing was sent). The whole call (both attempts, when a stale kept-alive
        connection makes a second one) ends within ``timeout`` seconds; an answer over
        ``max_body`` is not read further and the record carries a ``too-large`` problem.
        """
        request = build_request(item, self.target, reencode=reencode, auth=self.auth)
        extra = self.headers + proxy_headers(self.target.scheme, self.proxy)
        if extra:
            names = {name.lower() for name, _ in extra}
            kept = tuple((k, v) for k, v in request.headers if k.lower() not in names)
            request = OutgoingRequest(
                request.path, kept + extra, request.body, request.content_encoding
            )
        line_target = request_target(
            self.target.scheme, self.target.host, self.target.port, request.path, self.proxy
        )
        started = time.time()
        status: int | None = None
        response_headers: tuple[tuple[str, str], ...] = ()
        response_body: bytes | None = None
        error: str | None = None
        client: tuple[str, int] | None = None
        server: tuple[str, int] | None = None
        too_large: str | None = None
        ends = time.monotonic() + self.timeout
        for attempt in (1, 2):
            conn = self._connection()
            # A connection kept alive from an earlier call may have been closed by the server
            # an instant ago, too late to be noticed before sending.
            reused = conn.sock is not None
            deadline = _Deadline(conn, max(ends - time.monotonic(), 0.001))
            try:
                if conn.sock is None:
                    conn.timeout = deadline.left()
                    conn.connect()
                    conn.timeout = self.timeout
                if deadline.expired:
                    raise TimeoutError
                conn.putrequest("POST", line_target, skip_accept_encoding=True)
                for name, value in request.headers:
                    conn.putheader(name, value)
                conn.putheader("Content-Length", str(len(request.body)))
                conn.endheaders(request.body)
                client, server = _peer(conn.sock, "local"), _peer(conn.sock, "remote")
                resp = conn.getresponse()
                status = resp.status
                response_headers = tuple((k, v) for k, v in resp.getheaders())
                try:
                    response_body = _read_body(resp, self.max_body)
                except http.client.IncompleteRead as exc:
                    response_body = exc.partial
                    raise
                deadline.cancel()
                if deadline.expired:
                    # Cut just as the answer was complete: the socket is not to be used again.
                    self._drop(conn)
                elif resp.will_close:
                    conn.close()
                error = None
                break
            except Exception as exc:  # every failure is the record's error, the replay goes on
                deadline.cancel()
                # Whatever the cut socket raised, a call past its deadline ran out of time.
                failure: Exception = TimeoutError() if deadline.expired else exc
                error = _describe_error(failure, self.timeout)
                if isinstance(failure, _TooLarge):
                    too_large = str(failure)
                self._drop(conn)
                # Like the stdlib client: once more on a new connection, but only when a reused
                # connection ended before the server answered anything.
                if (
                    attempt == 1
                    and reused
                    and status is None
                    and isinstance(failure, _STALE)
                    and time.monotonic() < ends
                ):
                    continue
                break
        ended = time.time()
        if server is None:
            server = None if error else (self.target.host, self.target.port)
        record = build_record(
            HttpMessage(_redacted(request.headers), request.body, request.content_encoding),
            None if status is None else HttpMessage(response_headers, response_body),
            started=started,
            ended=ended,
            client=client,
            server=server,
            scheme=self.target.scheme,
            host=self.target.host,
            port=self.target.port,
            path=request.path,
            status=status,
            error=error,
            origin=self.origin,
            seq=seq,
            limits=self._limits,
        )
        if too_large is not None:
            # Like the proxy's cut: the answer is neither kept nor decoded, and says why.
            problem = Problem("response", "too-large", f"{too_large}; not decoded")
            record = dataclasses.replace(record, problems=(problem, *record.problems))
        return record

    def close(self) -> None:
        """Close every connection this sender opened."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()


_STALE: Final = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    BrokenPipeError,
    ConnectionAbortedError,
)


def _redacted(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    # The password must not reach the new capture, even with a writer told not to redact.
    secret = ("authorization", "proxy-authorization")
    return tuple((k, "Basic <redacted>" if k.lower() in secret else v) for k, v in headers)


def _readable(sock: socket.socket) -> bool:
    try:
        ready, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(ready)


def send_call(
    item: CallRecord | MethodCall | bytes,
    target: Target | str,
    *,
    auth: Auth | None = None,
    tls: TlsOptions | None = None,
    timeout: float = 30.0,
    reencode: bool = False,
    seq: int = 0,
    max_body: int = DEFAULT_MAX_BODY,
) -> CallRecord:
    """Send one call on a fresh connection and return the exchange as a record (origin "replay").

    ``item`` is a recorded call (sent as recorded unless ``reencode``), a ``MethodCall`` or a raw
    request body. Connection failures are the record's ``error``; an answer that is not XML-RPC
    is in its ``problems``. This is what the TUI uses to re-send one call.
    """
    if isinstance(target, str):
        target = Target.parse(target)
    with Sender(target, auth=auth, tls=tls, timeout=timeout, max_body=max_body) as sender:
        return sender.send(item, reencode=reencode, seq=seq)
