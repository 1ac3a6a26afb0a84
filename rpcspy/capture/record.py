"""The call record: one XML-RPC exchange as seen on the wire, decoded, with what went wrong.

``CallRecord`` is what the proxy writes, the reader returns, and replay, diff and the TUI pass
around. It holds two halves of one type, ``HttpMessage`` (headers, body exactly as on the wire,
content encoding, decoded XML-RPC message), the way mitmproxy's ``http.Message`` sits under its
``Request`` and ``Response``, and the envelope of the exchange around them (times, peers, URL,
status, error, origin). Nothing is lost when the decoder disagrees with a peer: the raw bodies
stay beside what was read from them.

``build_record`` is the one way to make a record from an exchange (the proxy, replay, the TUI's
resend and mock all use it): it takes the two halves as seen plus the envelope and decodes them.
It is pure (no I/O) and never raises on bad bodies: every decompression, decode or multicall
pairing failure becomes a ``Problem``. A body that is not XML-RPC at all is named for what it is,
not for the parser's complaint: a non-2xx answer that does not decode is an ``http-error``, a
request whose root element is not ``<methodCall>`` is ``not-xml-rpc``. The capture reader
rebuilds records from their JSON form without decoding again (``schema.record_from_json``).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from rpcspy.capture._content import ContentEncodingError, decode_content
from rpcspy.capture._frozen import quick_init
from rpcspy.capture._looks import describe_body, head_of, root_element
from rpcspy.capture.native import PROTOCOLS, TRANSPORTS, NativeFault, fault_of, method_of
from rpcspy.xmlrpc.errors import CodecError
from rpcspy.xmlrpc.findings import RULES, Finding, Severity
from rpcspy.xmlrpc.messages import DEFAULT_LIMITS, Fault, Limits, MethodCall, MethodResponse
from rpcspy.xmlrpc.multicall import expand_multicall, is_multicall, pair_multicall

# Where an undecodable request's method name is looked for: a plain <methodName> element near the
# start (the codec's own parse failed, so this is a best-effort reading for people, no more).
_METHOD_NAME = re.compile(rb"<methodName>([^<]{1,256})</methodName>")
_METHOD_NAME_SCAN = 4096

__all__ = [
    "FINDING_PLACES",
    "PROBLEM_PLACES",
    "CallRecord",
    "FindingPlace",
    "HttpMessage",
    "Origin",
    "Problem",
    "ProblemPlace",
    "RecordFinding",
    "SubCall",
    "build_native_record",
    "build_record",
]

ProblemPlace = Literal["request", "response", "multicall", "connection", "capture"]
PROBLEM_PLACES: tuple[ProblemPlace, ...] = get_args(ProblemPlace)
#: Where a conformance finding was made: a body, or the pairing of a multicall's entries.
FindingPlace = Literal["request", "response", "multicall"]
FINDING_PLACES: tuple[FindingPlace, ...] = get_args(FindingPlace)

#: Where a record came from: the proxy, a replay, a call resent from the TUI, an import.
Origin = Literal["proxy", "replay", "resent", "import"]

Headers = tuple[tuple[str, str], ...]
_TUPLE: frozenset[type] = frozenset({tuple})
Peer = tuple[str, int]


@quick_init
@dataclass(frozen=True, slots=True)
class Problem:
    """Something that went wrong with part of an exchange or a capture line, and where.

    ``kind`` is stable and machine-readable (the codec's ``malformed-xml``, ``unsafe-xml``,
    ``bad-value``; ``content-encoding``, ``http-error``, ``not-xml-rpc``, ``too-large`` ...; for
    capture lines ``bad-json``, ``bad-record``, ``torn-line``, ``torn-gzip`` ...; the full list is
    in ``docs/capture-format.md``). ``line``/``column`` point into the decoded body, or, for
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


@quick_init
@dataclass(frozen=True, slots=True)
class RecordFinding:
    """A conformance finding of one exchange (``rpcspy.xmlrpc.findings``), and where it was made.

    ``where`` is ``request`` or ``response`` (a body; ``path`` starts ``params``, ``result`` or
    ``fault``) or ``multicall`` (an entry of a ``system.multicall``, request or response side).
    ``rule`` is a key of ``RULES`` (which holds the spec text); ``severity`` is ``warning`` (the
    value was decoded, its meaning kept) or ``error`` (it was kept as written, undecoded).
    """

    where: FindingPlace
    rule: str
    severity: Severity
    message: str
    line: int | None = None
    column: int | None = None
    path: str | None = None

    @classmethod
    def of(cls, where: FindingPlace, finding: Finding) -> RecordFinding:
        """The record's form of a finding the codec made while reading ``where``."""
        return cls(
            where,
            finding.rule,
            finding.severity,
            finding.message,
            finding.line,
            finding.column,
            finding.path,
        )

    @property
    def spec(self) -> str:
        """The spec text the rule enforces (empty for a rule this rpcspy does not know)."""
        rule = RULES.get(self.rule)
        return rule.spec if rule is not None else ""

    @property
    def text(self) -> str:
        """One line for people: ``response fault-code-not-int: ... (at fault.faultCode)``."""
        parts = []
        if self.line is not None:
            parts.append(f"line {self.line}" + (f", column {self.column}" if self.column else ""))
        if self.path:
            parts.append(f"at {self.path}")
        text = f"{self.where} {self.rule}: {self.message}"
        return f"{text} ({', '.join(parts)})" if parts else text


@quick_init
@dataclass(frozen=True, slots=True)
class SubCall:
    """One call inside a ``system.multicall``, with its own result (None when there is none)."""

    index: int
    call: MethodCall
    result: MethodResponse | Fault | None


@quick_init
@dataclass(frozen=True, slots=True)
class HttpMessage:
    """One half of an exchange (the request or the response) as it crossed the wire, decoded.

    ``body`` is exactly the bytes on the wire (still content-encoded); None means the body was
    not recorded (mitmproxy streamed it). ``decoded`` is the XML-RPC message read from it: a
    ``MethodCall`` in a request, a ``MethodResponse`` or ``Fault`` in a response, None when the
    body did not decode (the record's ``problems`` say why) or was not decoded yet.
    """

    headers: Headers = ()
    body: bytes | None = b""
    content_encoding: str | None = None
    decoded: MethodCall | MethodResponse | Fault | None = None
    #: The half as another protocol's codec read it (ONC RPC, RPyC): that codec's JSON form,
    #: stored in the capture under the protocol's key (``"oncrpc": {...}``). None for XML-RPC,
    #: whose message is ``decoded``. ``rpcspy.capture.native`` reads what every tool needs
    #: (the method, a fault) off it.
    native: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        # Frozen is only skin-deep if a caller hands in lists or bytearrays; make them immutable.
        # (The types of the headers are looked at in one go: a half is made several times per
        # record, and a generator over the headers cost more than the rest of making it.)
        if type(self.headers) is not tuple or not {*map(type, self.headers)} <= _TUPLE:
            object.__setattr__(self, "headers", _headers(self.headers))
        if self.body is not None and type(self.body) is not bytes:
            object.__setattr__(self, "body", bytes(self.body))

    @property
    def size(self) -> int | None:
        """Bytes of the body on the wire; None when it was not recorded."""
        return None if self.body is None else len(self.body)

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case; repeated headers joined by ``, ``)."""
        return _header_value(self.headers, name.lower())


@quick_init
@dataclass(frozen=True, slots=True)
class CallRecord:
    """One HTTP exchange carrying an XML-RPC call: its two halves, timed, with its problems.

    ``request`` is what the client sent; ``response`` what came back, None when no response was
    seen (a connection error, a timeout). Everything else is the envelope of the exchange.
    """

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
    request: HttpMessage
    response: HttpMessage | None
    subcalls: tuple[SubCall, ...] = ()
    problems: tuple[Problem, ...] = ()
    error: str | None = None
    origin: str = "proxy"
    redacted: bool = False
    #: What the bodies do that the XML-RPC spec does not allow, though they decoded.
    findings: tuple[RecordFinding, ...] = ()
    #: The RPC system spoken (format 1.2): "xmlrpc", "oncrpc" or "rpyc" (``native.PROTOCOLS``).
    protocol: str = "xmlrpc"
    #: None for HTTP; "tcp" or "udp" for a protocol that runs on the transport itself.
    transport: str | None = None

    def __post_init__(self) -> None:
        fix = object.__setattr__
        if type(self.subcalls) is not tuple:
            fix(self, "subcalls", tuple(self.subcalls))
        if type(self.problems) is not tuple:
            fix(self, "problems", tuple(self.problems))
        if type(self.findings) is not tuple:
            fix(self, "findings", tuple(self.findings))
        if self.client is not None and type(self.client) is not tuple:
            fix(self, "client", _peer(self.client))
        if self.server is not None and type(self.server) is not tuple:
            fix(self, "server", _peer(self.server))

    @property
    def native(self) -> bool:
        """True for a call of another protocol than XML-RPC (its halves carry ``native``)."""
        return self.protocol != "xmlrpc"

    @property
    def native_fault(self) -> NativeFault | None:
        """The protocol's error answer (an ONC RPC reply that is not SUCCESS, an RPyC
        exception) of a call of another protocol; None for XML-RPC (see ``reply``)."""
        if self.protocol == "xmlrpc" or self.response is None:
            return None
        return fault_of(self.protocol, self.response.native)

    @property
    def call(self) -> MethodCall | None:
        """The decoded call (the request's message); None when the request did not decode."""
        decoded = self.request.decoded
        return decoded if isinstance(decoded, MethodCall) else None

    @property
    def reply(self) -> MethodResponse | Fault | None:
        """The decoded answer (result or fault); None without a response or if it did not decode."""
        if self.response is None:
            return None
        decoded = self.response.decoded
        return decoded if isinstance(decoded, MethodResponse | Fault) else None

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
        call = self.call
        if call is not None:
            return call.method
        if self.protocol != "xmlrpc":
            return method_of(self.protocol, self.request.native)
        request = self.request
        if request.content_encoding not in (None, "", "identity") or not request.body:
            return None
        found = _METHOD_NAME.search(request.body, 0, _METHOD_NAME_SCAN)
        if found is None:
            return None
        name = found.group(1).decode("utf-8", "replace").strip()
        return name or None

    @property
    def is_fault(self) -> bool:
        """True when the response is an XML-RPC fault (or another protocol's error answer)."""
        if self.protocol != "xmlrpc":
            return self.native_fault is not None
        return isinstance(self.reply, Fault)

    @property
    def fault_code(self) -> int | None:
        """The fault code, when the response is a fault (and its protocol numbers it)."""
        if self.protocol != "xmlrpc":
            fault = self.native_fault
            return None if fault is None else fault.code
        reply = self.reply
        return reply.code if isinstance(reply, Fault) else None

    @property
    def is_multicall(self) -> bool:
        """True for a ``system.multicall`` request."""
        call = self.call
        return call is not None and is_multicall(call)

    @property
    def nonconformant(self) -> bool:
        """True when a body breaks the XML-RPC spec somewhere (it has findings)."""
        return bool(self.findings)

    def findings_in(self, where: FindingPlace) -> tuple[RecordFinding, ...]:
        """The findings made in ``where`` (``request``, ``response`` or ``multicall``)."""
        return tuple(f for f in self.findings if f.where == where)

    @property
    def ok(self) -> bool:
        """A non-fault response, no problems, no connection error."""
        if self.protocol != "xmlrpc":
            return (
                self.response is not None
                and self.response.native is not None
                and self.native_fault is None
                and not self.problems
                and not self.error
            )
        return isinstance(self.reply, MethodResponse) and not self.problems and not self.error


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
    findings: list[RecordFinding] | None,
) -> MethodCall | MethodResponse | Fault | None:
    """The body's message, read tolerantly when ``findings`` is a list (strictly when None)."""
    try:
        plain = decode_content(body, encoding, limits.max_bytes)
    except ContentEncodingError as exc:
        problems.append(Problem(where, "content-encoding", exc.reason))
        return None
    # (The XML codec and lxml load with the first body decoded: what reads records from a
    # capture never needs them.)
    from rpcspy.xmlrpc.decode import decode_request, decode_response
    from rpcspy.xmlrpc.tolerant import read_request, read_response

    try:
        if findings is None:
            if where == "request":
                return decode_request(plain, limits)
            return decode_response(plain, limits)
        reading = (
            read_request(plain, limits) if where == "request" else read_response(plain, limits)
        )
        findings.extend(RecordFinding.of(where, f) for f in reading.findings)
        return reading.message
    except CodecError as exc:  # security limits and bodies with no message in them at all
        problems.append(Problem.from_error(where, exc))
    except Exception as exc:  # a decoder bug must not cost the proxy the exchange
        problems.append(Problem(where, "internal-error", f"decoder failed: {exc!r}"))
    return None


# What an undecodable body's problem is called depends on what the body is, not on which check
# of the decoder it failed first: an HTML error page fails on its DOCTYPE, a JSON body on its
# first byte, yet neither is hostile or broken XML-RPC. The decoder's reason stays in the sentence.
_RECLASSIFIED = frozenset(
    {"malformed-xml", "unsafe-xml", "bad-value", "content-encoding", "internal-error"}
)


def _explain_http_error(status: int, response: HttpMessage, problems: list[Problem]) -> None:
    """A non-2xx answer that is not XML-RPC (an error page, an empty 502) is an ``http-error``.

    Whatever the decoder's complaint was (malformed, a DOCTYPE refused, a bad value, an empty
    or undecompressable body), it is replaced by one ``http-error`` problem naming the status,
    what the body looks like and, for people, the decoder's reason.
    """
    mine = [p for p in problems if p.where == "response" and p.kind in _RECLASSIFIED]
    if not mine:
        return
    looks = describe_body(
        response.body,
        response.content_encoding,
        response.header("content-type"),
        "methodResponse",
    )
    reason = (
        f"HTTP {status}: the server answered with an error, not XML-RPC "
        f"({looks}; decoder: {mine[0].reason})"
    )
    first = problems.index(mine[0])
    problems[:] = [p for p in problems if p not in mine]
    problems.insert(first, Problem("response", "http-error", reason))


def _explain_not_xmlrpc(request: HttpMessage, problems: list[Problem]) -> None:
    """A request body whose root is not ``<methodCall>`` is ``not-xml-rpc``, with what it is.

    A body that is a call but a broken one (malformed, unsafe, a bad value) keeps the decoder's
    kind; one that cannot be decompressed keeps ``content-encoding`` (its root is unknown).
    """
    mine = [p for p in problems if p.where == "request" and p.kind in _RECLASSIFIED]
    if not mine or mine[0].kind == "content-encoding":
        return
    head = head_of(request.body or b"", request.content_encoding)
    if head is None or root_element(head) == "methodCall":
        return
    looks = describe_body(
        request.body, request.content_encoding, request.header("content-type"), "methodCall"
    )
    reason = f"not an XML-RPC call: {looks} (decoder: {mine[0].reason})"
    first = problems.index(mine[0])
    problems[:] = [p for p in problems if p not in mine]
    problems.insert(first, Problem("request", "not-xml-rpc", reason))


def _subcalls(
    call: MethodCall,
    response: MethodResponse | Fault | None,
    problems: list[Problem],
    findings: list[RecordFinding] | None,
) -> tuple[SubCall, ...]:
    found: list[Finding] | None = None if findings is None else []
    try:
        calls = expand_multicall(call, findings=found)
    except CodecError as exc:
        problems.append(Problem.from_error("multicall", exc))
        return ()
    results: tuple[MethodResponse | Fault | None, ...] = (None,) * len(calls)
    # A fault for the whole multicall, or no response, leaves each sub-call without a result.
    if isinstance(response, MethodResponse):
        try:
            results = tuple(pair_multicall(calls, response, findings=found))
        except CodecError as exc:
            problems.append(Problem.from_error("multicall", exc))
    if findings is not None and found:
        findings.extend(RecordFinding.of("multicall", f) for f in found)
    return tuple(SubCall(i, c, r) for i, (c, r) in enumerate(zip(calls, results, strict=True)))


def _too_large(where: Literal["request", "response"], size: int, limit: int) -> Problem:
    return Problem(where, "too-large", f"body over the limit ({size} bytes > {limit}); not decoded")


def _streamed(
    where: Literal["request", "response"], size: int | None, limit: int | None
) -> Problem:
    """A body the proxy let stream past: forwarded whole, neither kept nor decoded."""
    if limit is not None and (size is None or size > limit):
        over = f"more than {limit} bytes" if size is None else f"{size} bytes > {limit}"
        return Problem(where, "too-large", f"body over the limit ({over}); streamed, not stored")
    said = "" if size is None else f" ({size} bytes)"
    return Problem(where, "streamed", f"body{said} was streamed by mitmproxy; not recorded")


def _new_id() -> str:
    """A random (version 4) UUID as 32 hex digits, like ``uuid.uuid4().hex`` at a third of the
    cost (one per record)."""
    n = int.from_bytes(os.urandom(16))
    return f"{n & _ID_CLEAR | _ID_SET:032x}"


# The version (4) and variant (RFC 4122) bits of a UUID, as uuid.UUID(version=4) sets them.
_ID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_ID_SET = (0x4000 << 64) | (0x8000 << 48)


def _normal_half(half: HttpMessage) -> HttpMessage:
    """The half with its content encoding taken from its headers when none was given."""
    if half.content_encoding is not None:
        return half
    encoding = half.header("content-encoding")
    if encoding is None:
        return half  # nothing to take: the same half (most have no Content-Encoding)
    # Built directly: dataclasses.replace costs more than the rest of this (it is per record).
    return HttpMessage(half.headers, half.body, encoding, half.decoded, half.native)


def build_record(
    request: HttpMessage,
    response: HttpMessage | None,
    *,
    started: float,
    ended: float | None = None,
    client: Iterable[object] | None = None,
    server: Iterable[object] | None = None,
    scheme: str = "http",
    host: str = "",
    port: int = 0,
    path: str = "/",
    status: int | None = None,
    error: str | None = None,
    origin: str = "proxy",
    seq: int = 0,
    id: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    max_body: int | None = None,
    strict: bool = False,
    streamed: Mapping[Literal["request", "response"], int | None] | None = None,
) -> CallRecord:
    """The record of one exchange, from its two halves as seen and its envelope.

    Never raises on bad bodies: every decompression, decode or multicall pairing failure becomes
    a ``Problem``. Bodies are kept exactly as given (still content-encoded); whatever ``decoded``
    the halves carry is ignored and decoded afresh. A content encoding left as None is taken from
    the Content-Encoding header. Decoding undoes gzip and deflate (zlib or raw) within
    ``limits.max_bytes``, decodes request and response, and expands and pairs a multicall. Peer
    addresses are cut to ``(host, port)``. A response half that carries nothing (no headers, no
    body, no encoding) counts as no response.

    ``max_body`` is the proxy's cut: a body larger than that is neither decoded nor kept (a
    ``too-large`` problem says so, and ``limits.max_bytes`` becomes ``max_body`` so a small gzip
    bomb is not decoded either). A request body of None (streamed by mitmproxy) is noted as a
    ``streamed`` problem and kept as no bytes. ``streamed`` names the halves whose body the proxy
    forwarded without keeping it, with its size when counted: each is kept as no bytes, not
    decoded, and noted as ``too-large`` when over ``max_body`` (or of unknown size), else as
    ``streamed``.

    Bodies are read tolerantly (``rpcspy.xmlrpc.tolerant``): what real peers send beyond the spec
    (an ``<i4>`` over 32 bits, a string faultCode, a repeated member ...) is decoded and each
    deviation becomes one of the record's ``findings``; a value that cannot be decoded is kept as
    written with an ``error`` finding. Only a body that cannot be decoded at all, or that breaks
    a security limit (DTD, entity, size, depth), is a ``Problem``. ``strict=True`` reads with the
    strict decoder instead: any deviation is then a problem and the body is not decoded.
    """
    request = _normal_half(request)
    if response is not None:
        if response.body is None and not response.headers and response.content_encoding is None:
            response = None
        else:
            response = _normal_half(response)
    if max_body is not None:
        limits = dataclasses.replace(limits, max_bytes=max_body)

    # Bodies the record does not decode, and why: these problems come first.
    noted: list[Problem] = []
    decode_request_body = True
    decode_response_body = response is not None and response.body is not None
    passed = streamed or {}
    if "request" in passed:
        noted.append(_streamed("request", passed["request"], max_body))
        request = dataclasses.replace(request, body=b"")
        decode_request_body = False
    elif request.body is None:
        noted.append(Problem("request", "streamed", "body was streamed by mitmproxy; not recorded"))
        request = dataclasses.replace(request, body=b"")
        decode_request_body = False
    elif max_body is not None and len(request.body) > max_body:
        noted.append(_too_large("request", len(request.body), max_body))
        request = dataclasses.replace(request, body=b"")
        decode_request_body = False
    response_skipped = False
    if response is not None and "response" in passed:
        noted.append(_streamed("response", passed["response"], max_body))
        response = dataclasses.replace(response, body=b"")
        decode_response_body = False
        response_skipped = True
    elif (
        response is not None
        and response.body is not None
        and max_body is not None
        and len(response.body) > max_body
    ):
        noted.append(_too_large("response", len(response.body), max_body))
        response = dataclasses.replace(response, body=b"")
        decode_response_body = False
        response_skipped = True

    problems: list[Problem] = []
    findings: list[RecordFinding] | None = None if strict else []
    call: MethodCall | None = None
    if decode_request_body:
        assert request.body is not None
        decoded = _decode_body(
            "request", request.body, request.content_encoding, limits, problems, findings
        )
        call = decoded if isinstance(decoded, MethodCall) else None
        if call is None:
            _explain_not_xmlrpc(request, problems)
    request = HttpMessage(request.headers, request.body, request.content_encoding, call)
    reply: MethodResponse | Fault | None = None
    if response is not None:
        if decode_response_body:
            assert response.body is not None
            answer = _decode_body(
                "response", response.body, response.content_encoding, limits, problems, findings
            )
            reply = answer if isinstance(answer, MethodResponse | Fault) else None
            if reply is None and status is not None and not 200 <= status < 300:
                _explain_http_error(status, response, problems)
        response = HttpMessage(response.headers, response.body, response.content_encoding, reply)
    subcalls: tuple[SubCall, ...] = ()
    if call is not None and is_multicall(call) and not response_skipped:
        subcalls = _subcalls(call, reply, problems, findings)

    return CallRecord(
        id=id if id is not None else _new_id(),
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
        request=request,
        response=response,
        subcalls=subcalls,
        problems=(*noted, *problems),
        error=error,
        origin=origin,
        redacted=False,
        findings=() if findings is None else tuple(findings),
    )


def build_native_record(
    protocol: str,
    request: HttpMessage,
    response: HttpMessage | None,
    *,
    transport: str,
    started: float,
    ended: float | None = None,
    client: Iterable[object] | None = None,
    server: Iterable[object] | None = None,
    problems: Iterable[Problem] = (),
    error: str | None = None,
    origin: str = "proxy",
    seq: int = 0,
    id: str | None = None,
) -> CallRecord:
    """The record of one call of another protocol than XML-RPC (``native.PROTOCOLS``), from its
    halves as that protocol's codec decoded them.

    Each half's ``body`` is the bytes as they crossed the wire (an ONC RPC record with its record
    marking, or a UDP datagram; an RPyC frame) and its ``native`` the codec's JSON of them, or
    None when they did not decode (``problems`` say why). There are no headers, no status and no
    path; ``scheme`` is the transport and host and port the server's. Unlike ``build_record`` it
    decodes nothing: the protocol's adapter in the tool that saw the bytes (the proxy, replay,
    mock) decodes them, since pairing a call with its reply needs the connection's state.
    """
    if protocol == "xmlrpc" or protocol not in PROTOCOLS:
        raise ValueError(f"not a protocol of its own: {protocol!r} (one of {PROTOCOLS[1:]})")
    if transport not in TRANSPORTS:
        raise ValueError(f"transport {transport!r} is not one of {TRANSPORTS}")
    peer = _peer(server)
    return CallRecord(
        id=id if id is not None else _new_id(),
        seq=seq,
        started=started,
        ended=ended,
        client=_peer(client),
        server=peer,
        scheme=transport,
        host=peer[0] if peer is not None else "",
        port=peer[1] if peer is not None else 0,
        path="",
        status=None,
        request=request,
        response=response,
        problems=tuple(problems),
        error=error,
        origin=origin,
        protocol=protocol,
        transport=transport,
    )
