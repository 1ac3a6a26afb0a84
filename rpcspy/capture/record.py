"""The call record: one XML-RPC exchange as seen on the wire, decoded, with what went wrong.

``CallRecord`` is what the proxy writes, the reader returns, and replay, diff and the TUI pass
around. It keeps the raw bodies exactly as they crossed the wire (still content-encoded) beside
the decoded call and response, so nothing is lost when the decoder disagrees with a peer.

``build_record`` makes one from the raw parts of an exchange. It is pure (no I/O) and never raises
on bad bodies: every decompression, decode or multicall pairing failure becomes a ``Problem``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from rpcspy.capture._content import ContentEncodingError, decode_content
from rpcspy.xmlrpc.decode import decode_request, decode_response
from rpcspy.xmlrpc.errors import CodecError
from rpcspy.xmlrpc.messages import DEFAULT_LIMITS, Fault, Limits, MethodCall, MethodResponse
from rpcspy.xmlrpc.multicall import expand_multicall, is_multicall, pair_multicall

# Where an undecodable request's method name is looked for: a plain <methodName> element near the
# start (the codec's own parse failed, so this is a best-effort reading for people, no more).
_METHOD_NAME = re.compile(rb"<methodName>([^<]{1,256})</methodName>")
_METHOD_NAME_SCAN = 4096

__all__ = [
    "PROBLEM_PLACES",
    "CallRecord",
    "Origin",
    "Problem",
    "ProblemPlace",
    "SubCall",
    "build_record",
]

ProblemPlace = Literal["request", "response", "multicall", "connection", "capture"]
PROBLEM_PLACES: tuple[ProblemPlace, ...] = get_args(ProblemPlace)

#: Where a record came from: the proxy, a replay, a call resent from the TUI, an import.
Origin = Literal["proxy", "replay", "resent", "import"]

Headers = tuple[tuple[str, str], ...]
Peer = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Problem:
    """Something that went wrong with part of an exchange or a capture line, and where.

    ``kind`` is stable and machine-readable (the codec's ``malformed-xml``, ``unsafe-xml``,
    ``bad-value``; ``content-encoding``; for capture lines ``bad-json``, ``bad-record``,
    ``torn-line``, ``torn-gzip`` ...). ``line``/``column`` point into the decoded body, or, for
    ``where == "capture"``, ``line`` is the line of the capture file.
    """

    where: ProblemPlace
    kind: str
    reason: str
    line: int | None = None
    column: int | None = None
    path: str | None = None

    @classmethod
    def from_error(cls, where: ProblemPlace, error: CodecError) -> Problem:
        """The problem for a codec error raised while decoding ``where``."""
        return cls(where, error.kind, error.reason, error.line, error.column, error.path)

    @property
    def message(self) -> str:
        """One line for people: ``response malformed-xml: mismatched tag (line 3, column 7)``."""
        if self.where == "capture":
            head = ""
            if self.line is not None:
                head = (
                    f"line {self.line}" + (f", column {self.column}" if self.column else "") + ": "
                )
            tail = f" (at {self.path})" if self.path else ""
            return f"{head}{self.reason}{tail}"
        parts = []
        if self.line is not None:
            parts.append(f"line {self.line}" + (f", column {self.column}" if self.column else ""))
        if self.path:
            parts.append(f"at {self.path}")
        text = f"{self.where} {self.kind}: {self.reason}"
        return f"{text} ({', '.join(parts)})" if parts else text


@dataclass(frozen=True, slots=True)
class SubCall:
    """One call inside a ``system.multicall``, with its own result (None when there is none)."""

    index: int
    call: MethodCall
    result: MethodResponse | Fault | None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One HTTP exchange carrying an XML-RPC call: raw, decoded, timed, with its problems."""

    id: str
    seq: int
    started: float
    ended: float | None
    client: Peer | None
    server: Peer | None
    scheme: str
    host: str
    port: int
    path: str
    status: int | None
    request_headers: Headers
    response_headers: Headers
    request_body: bytes
    response_body: bytes | None
    request_content_encoding: str | None
    response_content_encoding: str | None
    call: MethodCall | None
    response: MethodResponse | Fault | None
    subcalls: tuple[SubCall, ...] = ()
    problems: tuple[Problem, ...] = ()
    error: str | None = None
    origin: str = "proxy"
    redacted: bool = False

    def __post_init__(self) -> None:
        # Frozen is only skin-deep if a caller hands in lists or bytearrays; make them immutable.
        fix = object.__setattr__
        if type(self.request_headers) is not tuple or any(
            type(h) is not tuple for h in self.request_headers
        ):
            fix(self, "request_headers", _headers(self.request_headers))
        if type(self.response_headers) is not tuple or any(
            type(h) is not tuple for h in self.response_headers
        ):
            fix(self, "response_headers", _headers(self.response_headers))
        if type(self.request_body) is not bytes:
            fix(self, "request_body", bytes(self.request_body))
        if self.response_body is not None and type(self.response_body) is not bytes:
            fix(self, "response_body", bytes(self.response_body))
        if type(self.subcalls) is not tuple:
            fix(self, "subcalls", tuple(self.subcalls))
        if type(self.problems) is not tuple:
            fix(self, "problems", tuple(self.problems))
        if self.client is not None and type(self.client) is not tuple:
            fix(self, "client", _peer(self.client))
        if self.server is not None and type(self.server) is not tuple:
            fix(self, "server", _peer(self.server))

    @property
    def duration_ms(self) -> float | None:
        """Milliseconds from request start to response end; None without a response."""
        if self.ended is None:
            return None
        return (self.ended - self.started) * 1000.0

    @property
    def method(self) -> str | None:
        """The called method's name: from the decoded call, else read off the raw request.

        A request that fails to decode (one bad param, say) usually still names its method
        plainly, and that name is what a person needs to find the caller.
        """
        if self.call is not None:
            return self.call.method
        if self.request_content_encoding not in (None, "", "identity"):
            return None
        found = _METHOD_NAME.search(self.request_body, 0, _METHOD_NAME_SCAN)
        if found is None:
            return None
        name = found.group(1).decode("utf-8", "replace").strip()
        return name or None

    @property
    def is_fault(self) -> bool:
        """True when the response is an XML-RPC fault."""
        return isinstance(self.response, Fault)

    @property
    def fault_code(self) -> int | None:
        """The fault code, when the response is a fault."""
        return self.response.code if isinstance(self.response, Fault) else None

    @property
    def is_multicall(self) -> bool:
        """True for a ``system.multicall`` request."""
        return self.call is not None and is_multicall(self.call)

    @property
    def ok(self) -> bool:
        """A non-fault response, no problems, no connection error."""
        return isinstance(self.response, MethodResponse) and not self.problems and not self.error


def _text(item: object) -> str:
    # Raw header bytes are decoded the way mitmproxy does, so nothing is lost.
    if isinstance(item, bytes | bytearray):
        return bytes(item).decode("utf-8", "surrogateescape")
    return str(item)


def _headers(items: Iterable[Iterable[str | bytes]]) -> Headers:
    out = []
    for pair in items:
        name, value = pair
        out.append((_text(name), _text(value)))
    return tuple(out)


def _peer(address: Iterable[object] | None) -> Peer | None:
    # Socket addresses of IPv6 peers carry flowinfo and scope id too; a record keeps host and port.
    if address is None:
        return None
    host, port, *_ = address
    return (str(host), int(port))  # type: ignore[call-overload]


def _header_value(headers: Headers, name: str) -> str | None:
    found = [v for k, v in headers if k.lower() == name]
    return ", ".join(found) if found else None


def _decode_body(
    where: Literal["request", "response"],
    body: bytes,
    encoding: str | None,
    limits: Limits,
    problems: list[Problem],
) -> MethodCall | MethodResponse | Fault | None:
    try:
        plain = decode_content(body, encoding, limits.max_bytes)
    except ContentEncodingError as exc:
        problems.append(Problem(where, "content-encoding", exc.reason))
        return None
    try:
        if where == "request":
            return decode_request(plain, limits)
        return decode_response(plain, limits)
    except CodecError as exc:
        problems.append(Problem.from_error(where, exc))
    except Exception as exc:  # a decoder bug must not cost the proxy the exchange
        problems.append(Problem(where, "internal-error", f"decoder failed: {exc!r}"))
    return None


def _explain_http_error(status: int, problems: list[Problem]) -> None:
    """An error page (401, 502 ...) is the server's answer, not a broken XML-RPC response: say
    so."""
    for i, problem in enumerate(problems):
        if problem.where == "response" and problem.kind == "malformed-xml":
            problems[i] = Problem(
                "response",
                "http-error",
                f"HTTP {status}: the server answered with an error, not XML-RPC ({problem.reason})",
            )


def _subcalls(
    call: MethodCall, response: MethodResponse | Fault | None, problems: list[Problem]
) -> tuple[SubCall, ...]:
    try:
        calls = expand_multicall(call)
    except CodecError as exc:
        problems.append(Problem.from_error("multicall", exc))
        return ()
    results: tuple[MethodResponse | Fault | None, ...] = (None,) * len(calls)
    # A fault for the whole multicall, or no response, leaves each sub-call without a result.
    if isinstance(response, MethodResponse):
        try:
            results = tuple(pair_multicall(calls, response))
        except CodecError as exc:
            problems.append(Problem.from_error("multicall", exc))
    return tuple(SubCall(i, c, r) for i, (c, r) in enumerate(zip(calls, results, strict=True)))


def build_record(
    *,
    started: float,
    ended: float | None,
    client: Iterable[object] | None,
    server: Iterable[object] | None,
    scheme: str,
    host: str,
    port: int,
    path: str,
    status: int | None,
    request_headers: Iterable[Iterable[str | bytes]],
    response_headers: Iterable[Iterable[str | bytes]],
    request_body: bytes,
    response_body: bytes | None,
    request_content_encoding: str | None = None,
    response_content_encoding: str | None = None,
    error: str | None = None,
    origin: str = "proxy",
    seq: int = 0,
    id: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> CallRecord:
    """Decode one exchange into a record; never raises on bad bodies (they become ``problems``).

    Bodies are kept exactly as given (still content-encoded). A content encoding left as None is
    taken from the Content-Encoding header. Decoding undoes gzip and deflate (zlib or raw) within
    ``limits.max_bytes``, decodes request and response, and expands and pairs a multicall.
    Peer addresses are cut to ``(host, port)``.
    """
    req_headers = _headers(request_headers)
    resp_headers = _headers(response_headers)
    if request_content_encoding is None:
        request_content_encoding = _header_value(req_headers, "content-encoding")
    if response_content_encoding is None:
        response_content_encoding = _header_value(resp_headers, "content-encoding")
    request_body = bytes(request_body)
    if response_body is not None:
        response_body = bytes(response_body)

    problems: list[Problem] = []
    decoded_call = _decode_body("request", request_body, request_content_encoding, limits, problems)
    call = decoded_call if isinstance(decoded_call, MethodCall) else None
    response: MethodResponse | Fault | None = None
    if response_body is not None:
        decoded = _decode_body(
            "response", response_body, response_content_encoding, limits, problems
        )
        response = decoded if isinstance(decoded, MethodResponse | Fault) else None
        if response is None and status is not None and not 200 <= status < 300:
            _explain_http_error(status, problems)
    subcalls: tuple[SubCall, ...] = ()
    if call is not None and is_multicall(call):
        subcalls = _subcalls(call, response, problems)

    return CallRecord(
        id=id if id is not None else uuid.uuid4().hex,
        seq=seq,
        started=started,
        ended=ended,
        client=_peer(client),
        server=_peer(server),
        scheme=scheme,
        host=host,
        port=port,
        path=path,
        status=status,
        request_headers=req_headers,
        response_headers=resp_headers,
        request_body=request_body,
        response_body=response_body,
        request_content_encoding=request_content_encoding,
        response_content_encoding=response_content_encoding,
        call=call,
        response=response,
        subcalls=subcalls,
        problems=tuple(problems),
        error=error,
        origin=origin,
        redacted=False,
    )
