"""One exchange read from another tool's file, and how it becomes a call record.

Every importer (HAR, pcap, and the mitmproxy flow reader in ``rpcspy.proxy.flowfile``) turns what
it reads into an ``Exchange``: the two halves exactly as they crossed the wire (bodies still
content-encoded) and the envelope around them. ``to_record`` hands them to the one record builder
the proxy uses (``rpcspy.capture.build_record``), marked ``origin="import"``. What an importer
knows went wrong that the builder cannot see (a segment missing from a pcap, a body too large to
keep) travels as ``problems``; a half it could not read whole is named in ``damaged`` and its
body is not decoded, so a gap never becomes a wrong body.
"""

from __future__ import annotations

import dataclasses
import marshal
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Final, Protocol

from rpcspy.capture import CallRecord, HttpMessage, Problem, build_record
from rpcspy.capture._frozen import quick_init
from rpcspy.capture._looks import head_of
from rpcspy.xmlrpc import sniff_kind
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse

__all__ = [
    "INPUT_DAMAGE",
    "Exchange",
    "ImportCounts",
    "InlineRecorder",
    "RecordSink",
    "Recorder",
    "Skipped",
    "count_record",
    "import_exchanges",
    "is_recorded",
    "is_xmlrpc_exchange",
    "looks_like_xml",
    "pack_exchanges",
    "to_record",
    "unpack_exchanges",
    "unpack_records",
]

Peer = tuple[str, int]
Headers = tuple[tuple[str, str], ...]


@quick_init
@dataclass(frozen=True, slots=True)
class Exchange:
    """An HTTP exchange as an importer read it, before decoding."""

    method: str
    request: HttpMessage
    response: HttpMessage | None
    started: float
    ended: float | None = None
    client: Peer | None = None
    server: Peer | None = None
    scheme: str = "http"
    host: str = ""
    port: int = 0
    path: str = "/"
    status: int | None = None
    error: str | None = None
    #: What the importer knows went wrong with this exchange (a gap, a body cut short).
    problems: tuple[Problem, ...] = ()
    #: Halves ("request", "response") not read whole: kept without a body and not decoded.
    damaged: frozenset[str] = field(default_factory=frozenset)
    #: Whether the reader already judged it XML-RPC. The pcap reader leaves the sniff of its
    #: POSTs to the recorder, which may run in another process (``rpcspy.ingest.worker``).
    judged: bool = True
    #: The exchange was redacted before this reader saw it (an rpcspy export of a redacted
    #: record says so): the record keeps ``redacted`` set.
    redacted: bool = False

    def __reduce__(self) -> tuple[Callable[..., Exchange], tuple[object, ...]]:
        # Pickled as plain values (headers as one string, see _packed): loading them costs a
        # sixth of the default for a slotted frozen dataclass, and an import sends every
        # exchange to the recorder process.
        return _unpickle, (
            _half(self.request),
            None if self.response is None else _half(self.response),
            self.method,
            self.started,
            self.ended,
            self.client,
            self.server,
            self.scheme,
            self.host,
            self.port,
            self.path,
            self.status,
            self.error,
            self.problems,
            tuple(self.damaged),
            self.judged,
            self.redacted,
        )


Decoded = MethodCall | MethodResponse | Fault | None
_Half = tuple[str | Headers, bytes | None, str | None, Decoded]


def _half(message: HttpMessage) -> _Half:
    return (_packed(message.headers), message.body, message.content_encoding, message.decoded)


def _packed(headers: Headers) -> str | Headers:
    """Headers as one string, names and values between NULs (one object to pickle instead of
    two per header), when none holds a NUL; else as they are."""
    if not headers:
        return headers
    text = "\0".join(chain.from_iterable(headers))
    return text if text.count("\0") == 2 * len(headers) - 1 else headers


def _unpacked(headers: str | Headers) -> Headers:
    if type(headers) is not str:
        return headers  # type: ignore[return-value]
    parts = iter(headers.split("\0"))
    return tuple(zip(parts, parts, strict=True))


def _message(
    headers: str | Headers, body: bytes | None, content_encoding: str | None, decoded: Decoded
) -> HttpMessage:
    return HttpMessage(_unpacked(headers), body, content_encoding, decoded)


def _unpickle(
    request: _Half,
    response: _Half | None,
    method: str,
    started: float,
    ended: float | None,
    client: Peer | None,
    server: Peer | None,
    scheme: str,
    host: str,
    port: int,
    path: str,
    status: int | None,
    error: str | None,
    problems: tuple[Problem, ...],
    damaged: tuple[str, ...],
    judged: bool,
    redacted: bool,
) -> Exchange:
    return Exchange(
        method,
        _message(*request),
        None if response is None else _message(*response),
        started,
        ended,
        client,
        server,
        scheme,
        host,
        port,
        path,
        status,
        error,
        problems,
        frozenset(damaged),
        judged,
        redacted,
    )


def pack_exchanges(batch: Sequence[Exchange]) -> bytes | None:
    """The exchanges of ``batch`` as one ``marshal`` string, for a process of this same Python
    (``unpack_exchanges`` reads it back equal); None when one holds what marshal does not carry
    (a decoded message, a subclass of str or tuple ...): pickle them then.

    An import sends every exchange to the recorder process: as plain tuples, strings and bytes
    this costs a fraction of pickling them (dumps and loads), headers included.
    """
    rows: list[tuple[object, ...]] = []
    append = rows.append
    for e in batch:
        request = e.request
        response = e.response
        if request.decoded is not None or (response is not None and response.decoded is not None):
            return None
        problems: tuple[tuple[object, ...], ...] = ()
        if e.problems:
            if any(type(p) is not Problem for p in e.problems):
                return None
            problems = tuple(
                (p.where, p.kind, p.reason, p.line, p.column, p.path) for p in e.problems
            )
        append(
            (
                e.method,
                request.headers,
                request.body,
                request.content_encoding,
                None
                if response is None
                else (response.headers, response.body, response.content_encoding),
                e.started,
                e.ended,
                e.client,
                e.server,
                e.scheme,
                e.host,
                e.port,
                e.path,
                e.status,
                e.error,
                problems,
                tuple(e.damaged),
                e.judged,
                e.redacted,
            )
        )
    try:
        return marshal.dumps(rows)
    except ValueError:  # "unmarshallable object": not exactly a str, int, tuple ...
        return None


_Fields = tuple[
    str,
    HttpMessage,
    HttpMessage | None,
    float,
    float | None,
    Peer | None,
    Peer | None,
    str,
    str,
    int,
    str,
    int | None,
    str | None,
    tuple[Problem, ...],
    frozenset[str],
    bool,
    bool,
]


def _unpacked_fields(data: bytes) -> Iterator[_Fields]:
    """The fields of each exchange ``pack_exchanges`` packed, in ``Exchange``'s order."""
    for row in marshal.loads(data):
        (
            method,
            headers,
            body,
            content_encoding,
            response,
            started,
            ended,
            client,
            server,
            scheme,
            host,
            port,
            path,
            status,
            error,
            problems,
            damaged,
            judged,
            redacted,
        ) = row
        yield (
            method,
            HttpMessage(headers, body, content_encoding),
            None if response is None else HttpMessage(*response),
            started,
            ended,
            client,
            server,
            scheme,
            host,
            port,
            path,
            status,
            error,
            tuple(Problem(*p) for p in problems) if problems else (),
            frozenset(damaged),
            judged,
            redacted,
        )


def unpack_exchanges(data: bytes) -> list[Exchange]:
    """The exchanges ``pack_exchanges`` packed."""
    return [Exchange(*fields) for fields in _unpacked_fields(data)]


def unpack_records(
    data: bytes, first_seq: int, *, max_body: int | None = None
) -> Iterator[CallRecord]:
    """The records of the exchanges ``pack_exchanges`` packed, numbered from ``first_seq``:
    ``to_record`` of each of ``unpack_exchanges(data)``, without making the exchanges."""
    seq = first_seq
    for fields in _unpacked_fields(data):
        yield _record(*fields, seq=seq, max_body=max_body)
        seq += 1


@dataclass(frozen=True, slots=True)
class Skipped:
    """An exchange (or a connection) that is not XML-RPC: counted, not recorded."""

    what: str = "exchange"


@dataclass(slots=True)
class ImportCounts:
    """What an import did: calls recorded, non-XML-RPC exchanges skipped, calls with problems."""

    calls: int = 0
    skipped: int = 0
    problems: int = 0
    #: Calls whose input was read only in part (a lost segment, a message cut short).
    damaged: int = 0
    #: TCP connections in a pcap that carried no HTTP/1.x (other protocols): ignored.
    other_connections: int = 0

    def summary(self) -> str:
        """``12 calls, 3 skipped (not XML-RPC), 1 with problems``: the command's last line."""
        calls = f"{self.calls} call{'s' if self.calls != 1 else ''}"
        text = f"{calls}, {self.skipped} skipped (not XML-RPC), {self.problems} with problems"
        if self.other_connections:
            n = self.other_connections
            text += f", {n} TCP connection{'s' if n != 1 else ''} not HTTP ignored"
        return text


def looks_like_xml(body: bytes | None, content_encoding: str | None) -> bool:
    """Whether a body starts like XML (``<`` after a BOM and whitespace), encoding undone."""
    if not body:
        return False
    head = head_of(body, content_encoding)
    if not head:
        return False
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return True
    return head.lstrip(b" \t\r\n")[:1] == b"<"


def _kind(body: bytes | None, content_encoding: str | None) -> str | None:
    if not body:
        return None
    head = head_of(body, content_encoding)
    return sniff_kind(head) if head else None


def is_xmlrpc_exchange(method: str, request: HttpMessage, response: HttpMessage | None) -> bool:
    """The proxy's rule (``rpcspy.proxy.detect``) on bodies: a POST whose body is a call, or an
    XML body the server answered with an XML-RPC response."""
    if method.upper() != "POST":
        return False
    req_enc = request.content_encoding or request.header("content-encoding")
    if _kind(request.body, req_enc) == "call":
        return True
    if response is None or not looks_like_xml(request.body, req_enc):
        return False
    resp_enc = response.content_encoding or response.header("content-encoding")
    return _kind(response.body, resp_enc) == "response"


def to_record(exchange: Exchange, seq: int, *, max_body: int | None = None) -> CallRecord:
    """The call record of an imported exchange: ``build_record`` with ``origin="import"``."""
    e = exchange
    return _record(
        e.method,
        e.request,
        e.response,
        e.started,
        e.ended,
        e.client,
        e.server,
        e.scheme,
        e.host,
        e.port,
        e.path,
        e.status,
        e.error,
        e.problems,
        e.damaged,
        e.judged,
        e.redacted,
        seq=seq,
        max_body=max_body,
    )


def _record(
    method: str,
    request: HttpMessage,
    response: HttpMessage | None,
    started: float,
    ended: float | None,
    client: Peer | None,
    server: Peer | None,
    scheme: str,
    host: str,
    port: int,
    path: str,
    status: int | None,
    error: str | None,
    problems: tuple[Problem, ...],
    damaged: frozenset[str],
    judged: bool,
    redacted: bool,
    *,
    seq: int,
    max_body: int | None,
) -> CallRecord:
    """``to_record`` of the exchange of these fields (given in ``Exchange``'s order)."""
    if "request" in damaged:
        request = dataclasses.replace(request, body=b"")
    if response is not None and "response" in damaged:
        response = dataclasses.replace(response, body=b"")
    record = build_record(
        request,
        response,
        started=started,
        ended=ended,
        client=client,
        server=server,
        scheme=scheme,
        host=host,
        port=port,
        path=path,
        status=status,
        error=error,
        origin="import",
        seq=seq,
        max_body=max_body,
    )
    if redacted:
        record = dataclasses.replace(record, redacted=True)
    if not problems and not damaged:
        return record
    # A half not read whole was not decoded; what the builder says of its empty body is noise.
    kept = tuple(p for p in record.problems if p.where not in damaged)
    return dataclasses.replace(record, problems=(*problems, *kept))


#: Problems that mean the input itself was read only in part (a lost segment, a message cut short,
#: framing lost): ``rpcspy import`` exits 4 when a record has one.
INPUT_DAMAGE: Final = frozenset({"gap", "incomplete", "bad-framing"})


class RecordSink(Protocol):
    """Where imported records go: a ``CaptureWriter``."""

    def write(self, record: CallRecord) -> None: ...


def count_record(record: CallRecord, counts: ImportCounts) -> None:
    """Count a record written: a call, and whether it has problems or lost part of its input."""
    counts.calls += 1
    if record.problems or record.error is not None:
        counts.problems += 1
        if any(p.kind in INPUT_DAMAGE for p in record.problems):
            counts.damaged += 1


def is_recorded(exchange: Exchange) -> bool:
    """Whether the exchange becomes a record: judged XML-RPC by its reader, or sniffed so now."""
    return exchange.judged or is_xmlrpc_exchange(
        exchange.method, exchange.request, exchange.response
    )


class Recorder(Protocol):
    """Builds and writes the record of each exchange it is given (here or in another process)."""

    def add(self, exchange: Exchange) -> None: ...


class InlineRecorder:
    """Builds each record in this process and writes it to ``sink`` at once, counting.

    Records are numbered from ``first_seq`` in the order they are added.
    """

    def __init__(
        self,
        sink: RecordSink,
        counts: ImportCounts,
        *,
        first_seq: int = 1,
        max_body: int | None = None,
    ) -> None:
        self.sink = sink
        self.counts = counts
        self.seq = first_seq
        self.max_body = max_body

    def add(self, exchange: Exchange) -> None:
        """Build the record of ``exchange`` and write it (or count it skipped)."""
        if not is_recorded(exchange):
            self.counts.skipped += 1
            return
        record = to_record(exchange, self.seq, max_body=self.max_body)
        self.sink.write(record)
        self.seq += 1
        count_record(record, self.counts)


def import_exchanges(
    items: Iterable[Exchange | Skipped], recorder: Recorder, counts: ImportCounts
) -> None:
    """Hand every exchange to ``recorder``, counting the skipped ones."""
    for item in items:
        if isinstance(item, Skipped):
            counts.skipped += 1
        else:
            recorder.add(item)
