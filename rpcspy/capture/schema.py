"""The capture file format: the header line, the JSON form of a record, and the versioning rules.

A capture is JSON Lines (optionally gzip-compressed). Line one is the header::

    {"type": "header", "format": "rpcspy-capture", "version": "1.2",
     "created": "2024-05-01T12:00:00.000+00:00", "producer": "rpcspy 0.1.0"}

and each later line with ``"type": "call"`` is one completed exchange (``record_to_json``).
Versions are ``MAJOR.MINOR``: a minor version only adds (new keys, new line types), and readers
ignore what they do not know; a new major version is incompatible and readers refuse it.
Version 1.1 added each record's ``findings`` (a 1.0 record, without the key, has none).
``docs/capture-format.md`` is the full description.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn

import orjson

import rpcspy
from rpcspy.capture.native import PROTOCOLS, TRANSPORTS
from rpcspy.capture.record import (
    FINDING_PLACES,
    PROBLEM_PLACES,
    CallRecord,
    HttpMessage,
    Problem,
    RecordFinding,
    SubCall,
)
from rpcspy.capture.redact import DEFAULT_REDACTION, Redaction, redact_record
from rpcspy.xmlrpc.errors import BadValue
from rpcspy.xmlrpc.jsonform import (
    call_from_json,
    call_to_json,
    fault_from_json,
    response_from_json,
    response_to_json,
    value_from_json,
)
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "CaptureFormatError",
    "CaptureHeader",
    "RecordError",
    "body_from_json",
    "body_to_json",
    "dumps_line",
    "loads_line",
    "make_header",
    "messages_only",
    "parse_header",
    "problem_to_json",
    "record_from_json",
    "record_to_json",
]

FORMAT_NAME: Final = "rpcspy-capture"
#: (major, minor) written by this version of rpcspy; readers accept any minor of the same major.
FORMAT_VERSION: Final = (1, 2)


class CaptureFormatError(Exception):
    """The file cannot be read (or appended to) as a capture: not one, or an unsupported version."""


class RecordError(ValueError):
    """One line's JSON is not a valid record. ``kind`` is ``bad-record`` or ``bad-value``."""

    def __init__(self, reason: str, *, path: str | None = None, kind: str = "bad-record") -> None:
        super().__init__(f"{reason} (at {path})" if path else reason)
        self.reason = reason
        self.path = path
        self.kind = kind


# ---------------------------------------------------------------- JSON text


def dumps_line(obj: object) -> bytes:
    """One JSON line (with its newline), by orjson; the stdlib takes what orjson cannot.

    orjson refuses nesting deeper than 254 levels and strings with lone surrogates (as can come
    from undecodable header bytes); the stdlib writes those as escapes, which readers accept.
    """
    try:
        return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return json.dumps(obj, ensure_ascii=True, allow_nan=False).encode("ascii") + b"\n"


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def loads_line(line: bytes) -> object:
    """The JSON value of one line; else ``json.JSONDecodeError`` (with ``msg`` and ``pos``)."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        first_error = exc
    # What orjson refuses but ``dumps_line`` may have written: lone surrogate escapes, deep nests.
    try:
        return json.loads(line, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise first_error from None


# ---------------------------------------------------------------- header


@dataclass(frozen=True, slots=True)
class CaptureHeader:
    """The first line of a capture."""

    version: tuple[int, int] = FORMAT_VERSION
    created: str | None = None
    producer: str | None = None
    #: Every key of the header line as read, known or not.
    raw: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def version_text(self) -> str:
        """``1.0``."""
        return f"{self.version[0]}.{self.version[1]}"


def make_header(*, created: dt.datetime | None = None) -> dict[str, object]:
    """The header line's JSON object for a new capture written by this rpcspy."""
    when = created or dt.datetime.now(dt.UTC)
    return {
        "type": "header",
        "format": FORMAT_NAME,
        "version": f"{FORMAT_VERSION[0]}.{FORMAT_VERSION[1]}",
        "created": when.isoformat(timespec="milliseconds"),
        "producer": f"rpcspy {rpcspy.__version__}",
    }


def _parse_version(text: object) -> tuple[int, int]:
    if isinstance(text, str):
        major, dot, minor = text.partition(".")
        if dot and major.isascii() and major.isdigit() and minor.isascii() and minor.isdigit():
            return int(major), int(minor)
    raise CaptureFormatError(
        f'capture header has a bad "version" {text!r} (expected "MAJOR.MINOR", like "1.0")'
    )


def parse_header(obj: object) -> CaptureHeader:
    """The header for a decoded first line; ``CaptureFormatError`` if it is not a usable header."""
    if not isinstance(obj, dict) or obj.get("format") != FORMAT_NAME:
        if isinstance(obj, dict) and obj.get("type") == "call":
            raise CaptureFormatError(
                "capture has no header line: the first line is already a call record "
                "(was the start of the file lost?)"
            )
        raise CaptureFormatError(
            "not an rpcspy capture: the first line is JSON but not a capture header "
            f'(no "format": "{FORMAT_NAME}")'
        )
    major, minor = _parse_version(obj.get("version"))
    if major != FORMAT_VERSION[0]:
        newer = major > FORMAT_VERSION[0]
        raise CaptureFormatError(
            f"capture format version {major}.{minor} is not supported: this rpcspy "
            f"({rpcspy.__version__}) reads version {FORMAT_VERSION[0]}.x"
            + (
                "; upgrade rpcspy to read it"
                if newer
                else "; it was written by an older rpcspy, convert it with that version"
            )
        )
    created = obj.get("created")
    producer = obj.get("producer")
    return CaptureHeader(
        version=(major, minor),
        created=created if isinstance(created, str) else None,
        producer=producer if isinstance(producer, str) else None,
        raw=dict(obj),
    )


# ---------------------------------------------------------------- bodies


def body_to_json(body: bytes | None) -> dict[str, object] | None:
    """``{"text": ...}`` for UTF-8, else ``{"base64": ...}``, with ``size``; None stays None."""
    if body is None:
        return None
    try:
        return {"size": len(body), "text": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"size": len(body), "base64": base64.b64encode(body).decode("ascii")}


def body_from_json(obj: object, path: str) -> bytes | None:
    """The bytes of a stored body; ``RecordError`` on a bad shape."""
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise RecordError('a body is an object with "text" or "base64", or null', path=path)
    if "text" in obj:
        text = obj["text"]
        if not isinstance(text, str):
            raise RecordError("a body's text is a string", path=f"{path}.text")
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            raise RecordError("a body's text holds a lone surrogate", path=f"{path}.text") from None
    if "base64" in obj:
        data = obj["base64"]
        if not isinstance(data, str):
            raise RecordError("a body's base64 is a string", path=f"{path}.base64")
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RecordError(
                f"a body's base64 is not valid: {exc}", path=f"{path}.base64"
            ) from None
    raise RecordError('a body has "text" or "base64"', path=path)


# ---------------------------------------------------------------- records


def _headers_to_json(headers: tuple[tuple[str, str], ...]) -> list[list[str]]:
    return [[name, value] for name, value in headers]


def problem_to_json(problem: Problem) -> dict[str, object]:
    """A problem as the capture holds it (the HAR export adds to the same object)."""
    return {
        "where": problem.where,
        "kind": problem.kind,
        "reason": problem.reason,
        "line": problem.line,
        "column": problem.column,
        "path": problem.path,
    }


def _finding_to_json(finding: RecordFinding) -> dict[str, object]:
    # The spec text is not stored: RULES (rpcspy.xmlrpc.findings) holds it, by rule id.
    return {
        "where": finding.where,
        "rule": finding.rule,
        "severity": finding.severity,
        "message": finding.message,
        "line": finding.line,
        "column": finding.column,
        "path": finding.path,
    }


def _subcall_to_json(sub: SubCall) -> dict[str, object]:
    out: dict[str, object] = {"index": sub.index, "call": call_to_json(sub.call)}
    if sub.result is not None:
        out.update(response_to_json(sub.result))
    return out


def _half_to_json(
    half: HttpMessage, key: str, with_messages: bool, protocol: str = "xmlrpc"
) -> dict[str, object]:
    out: dict[str, object] = {
        "headers": _headers_to_json(half.headers),
        "content_encoding": half.content_encoding,
        "body": body_to_json(half.body),
    }
    if protocol != "xmlrpc":
        # (1.2) Another protocol's half: its codec's JSON under the protocol's key, kept even
        # without messages (the raw bytes are only the wire's; this is the reading of them).
        if key == "request":
            out["call"] = None
        if half.native is not None:
            out[protocol] = half.native
        return out
    if with_messages:
        decoded = half.decoded
        if key == "request":
            out["call"] = call_to_json(decoded) if isinstance(decoded, MethodCall) else None
        elif isinstance(decoded, MethodResponse | Fault):
            out.update(response_to_json(decoded))
    return out


def record_to_json(
    record: CallRecord,
    *,
    redact: bool = False,
    with_messages: bool = True,
    redaction: Redaction = DEFAULT_REDACTION,
) -> dict[str, object]:
    """The JSON object of a record's capture line.

    ``redact`` replaces secret header values and query parameters first, those ``redaction``
    names (see ``rpcspy.capture.redact``). ``with_messages=False``
    leaves out the decoded call, response and sub-calls (the raw bodies still hold everything);
    the writer falls back to it for values nested too deep for JSON tools.
    """
    if redact:
        record = redact_record(record, redaction)
    response = record.response
    protocol = record.protocol
    out: dict[str, object] = {
        "type": "call",
        "seq": record.seq,
        "id": record.id,
        "origin": record.origin,
        "started": record.started,
        "ended": record.ended,
        # Derived, for jq; rounded to the microsecond so it reads as a time, not float noise.
        "duration_ms": None if record.duration_ms is None else round(record.duration_ms, 3),
        "method": record.method,
        "status": record.status,
        "scheme": record.scheme,
        "host": record.host,
        "port": record.port,
        "path": record.path,
        "client": None if record.client is None else [record.client[0], record.client[1]],
        "server": None if record.server is None else [record.server[0], record.server[1]],
        "error": record.error,
        "redacted": record.redacted,
        "request": _half_to_json(record.request, "request", with_messages, protocol),
        "response": None
        if response is None
        else _half_to_json(response, "response", with_messages, protocol),
        "subcalls": [_subcall_to_json(s) for s in record.subcalls] if with_messages else [],
        "problems": [problem_to_json(p) for p in record.problems],
        "findings": [_finding_to_json(f) for f in record.findings],
    }
    if protocol != "xmlrpc":
        # (1.2) Written only for other protocols: an XML-RPC line stays as in 1.1.
        out["protocol"] = protocol
        out["transport"] = record.transport
    return out


# -- reading: each helper names the JSON path of what it rejects


def _fail(reason: str, path: str) -> NoReturn:
    raise RecordError(reason, path=path)


_WANT: Final[dict[type, str]] = {
    str: "a string",
    int: "an integer",
    bool: "true or false",
    list: "an array",
}


def _check[T](
    obj: dict[str, object], key: str, kind: type[T], path: str, optional: bool
) -> T | None:
    value = obj.get(key)
    if value is None and optional:
        return None
    # bool is an int to Python but never a number in a record.
    if isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool):
        return value
    got = "nothing" if key not in obj else "null" if value is None else type(value).__name__
    _fail(
        f"{key} should be {_WANT[kind]}{' or null' if optional else ''}, got {got}",
        _join(path, key),
    )


def _req[T](obj: dict[str, object], key: str, kind: type[T], path: str = "") -> T:
    value = _check(obj, key, kind, path, optional=False)
    assert value is not None
    return value


def _opt[T](obj: dict[str, object], key: str, kind: type[T], path: str = "") -> T | None:
    return _check(obj, key, kind, path, optional=True)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _number(obj: dict[str, object], key: str, *, optional: bool) -> float | None:
    value = obj.get(key)
    if value is None and optional:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    _fail(f"{key} should be a number{' or null' if optional else ''}", key)


def _peer_from_json(obj: dict[str, object], key: str) -> tuple[str, int] | None:
    value = obj.get(key)
    if value is None:
        return None
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
    ):
        return (value[0], value[1])
    _fail(f"{key} should be [host, port] or null", key)


def _headers_from_json(obj: object, path: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(obj, list):
        _fail("headers should be an array of [name, value] pairs", path)
    out = []
    for i, pair in enumerate(obj):
        if not (
            isinstance(pair, list)
            and len(pair) == 2
            and isinstance(pair[0], str)
            and isinstance(pair[1], str)
        ):
            _fail("a header should be a [name, value] pair of strings", f"{path}[{i}]")
        out.append((pair[0], pair[1]))
    return tuple(out)


def _problem_from_json(obj: object, path: str) -> Problem:
    if not isinstance(obj, dict):
        _fail("a problem should be an object", path)
    where = _req(obj, "where", str, path)
    if where not in PROBLEM_PLACES:
        _fail(f"unknown problem place {where!r}", _join(path, "where"))
    return Problem(
        where,
        _req(obj, "kind", str, path),
        _req(obj, "reason", str, path),
        _opt(obj, "line", int, path),
        _opt(obj, "column", int, path),
        _opt(obj, "path", str, path),
    )


def _finding_from_json(obj: object, path: str) -> RecordFinding:
    if not isinstance(obj, dict):
        _fail("a finding should be an object", path)
    where = _req(obj, "where", str, path)
    if where not in FINDING_PLACES:
        _fail(f"unknown finding place {where!r}", _join(path, "where"))
    severity = _req(obj, "severity", str, path)
    if severity not in ("warning", "error"):
        _fail(f'a finding\'s severity is "warning" or "error", not {severity!r}', path)
    return RecordFinding(
        where,
        _req(obj, "rule", str, path),
        "error" if severity == "error" else "warning",
        _req(obj, "message", str, path),
        _opt(obj, "line", int, path),
        _opt(obj, "column", int, path),
        _opt(obj, "path", str, path),
    )


def _values[T](decode: Callable[[], T]) -> T:
    try:
        return decode()
    except BadValue as exc:
        raise RecordError(exc.reason, path=exc.path, kind="bad-value") from None


def _subcall_from_json(obj: object, path: str) -> SubCall:
    if not isinstance(obj, dict):
        _fail("a sub-call should be an object", path)
    index = _req(obj, "index", int, path)
    call = _values(lambda: call_from_json(obj.get("call"), path=_join(path, "call")))
    result: MethodResponse | Fault | None = None
    if "result" in obj or "fault" in obj:
        result = _values(lambda: response_from_json(obj, path=path))
    return SubCall(index, call, result)


def _exchange_part(obj: dict[str, object], key: str, *, optional: bool) -> dict[str, object] | None:
    part = obj.get(key)
    if part is None and optional:
        return None
    if not isinstance(part, dict):
        _fail(f"{key} should be an object" + (" or null" if optional else ""), key)
    return part


def _native_from_json(half: dict[str, object], protocol: str, path: str) -> dict[str, Any] | None:
    if protocol == "xmlrpc":
        return None
    native = half.get(protocol)
    if native is not None and not isinstance(native, dict):
        _fail(f"{protocol} should be an object", _join(path, protocol))
    return native


def _request_from_json(request: dict[str, object], protocol: str = "xmlrpc") -> HttpMessage:
    call = None
    if protocol != "xmlrpc":
        body = body_from_json(request.get("body"), "request.body")
        if body is None:
            _fail("the request body is required", "request.body")
        return HttpMessage(
            headers=_headers_from_json(request.get("headers", []), "request.headers"),
            body=body,
            content_encoding=_opt(request, "content_encoding", str, "request"),
            native=_native_from_json(request, protocol, "request"),
        )
    if request.get("call") is not None:
        call = _values(lambda: call_from_json(request["call"], path="request.call"))
    body = body_from_json(request.get("body"), "request.body")
    if body is None:
        _fail("the request body is required", "request.body")
    return HttpMessage(
        headers=_headers_from_json(request.get("headers", []), "request.headers"),
        body=body,
        content_encoding=_opt(request, "content_encoding", str, "request"),
        decoded=call,
    )


def _response_from_json(response: dict[str, object], protocol: str = "xmlrpc") -> HttpMessage:
    decoded: MethodResponse | Fault | None = None
    if protocol != "xmlrpc":
        return HttpMessage(
            headers=_headers_from_json(response.get("headers", []), "response.headers"),
            body=body_from_json(response.get("body"), "response.body"),
            content_encoding=_opt(response, "content_encoding", str, "response"),
            native=_native_from_json(response, protocol, "response"),
        )
    if "fault" in response and "result" in response:
        _fail('a response has "result" or "fault", not both', "response")
    if "fault" in response:
        decoded = _values(lambda: fault_from_json(response["fault"], path="response.fault"))
    elif "result" in response:
        decoded = _values(
            lambda: MethodResponse(value_from_json(response["result"], path="response.result"))
        )
    return HttpMessage(
        headers=_headers_from_json(response.get("headers", []), "response.headers"),
        body=body_from_json(response.get("body"), "response.body"),
        content_encoding=_opt(response, "content_encoding", str, "response"),
        decoded=decoded,
    )


def messages_only(call: object, response: object, subcalls: object) -> dict[str, object]:
    """A call line's JSON holding these messages (``request.call``, the ``response``'s result
    or fault, ``subcalls``) in an empty but valid envelope: ``record_from_json`` of it checks
    the messages alone. The capture index and ``rpcspy.api.learn`` check a content they have not
    met yet this way, once, however many lines repeat it."""
    return {
        "type": "call",
        "id": "",
        "seq": 0,
        "started": 0,
        "scheme": "",
        "host": "",
        "port": 0,
        "path": "",
        "request": {"body": {"text": ""}, "call": call},
        "response": response,
        "subcalls": subcalls,
    }


def record_from_json(obj: object) -> CallRecord:
    """The record for a capture line's JSON object; ``RecordError`` names what is wrong and where.

    Unknown keys are ignored (a newer minor version may add some); derived keys
    (``duration_ms``, ``method``, ``size``) are recomputed, not read.
    """
    if not isinstance(obj, dict):
        raise RecordError("a record is a JSON object")
    if obj.get("type") != "call":
        raise RecordError('a call record has "type": "call"', path="type")
    request = _exchange_part(obj, "request", optional=False)
    assert request is not None
    response = _exchange_part(obj, "response", optional=True)
    protocol = _opt(obj, "protocol", str) or "xmlrpc"  # format 1.2; older lines are XML-RPC
    if protocol not in PROTOCOLS:
        _fail(f"protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}", "protocol")
    transport = _opt(obj, "transport", str)
    if transport is not None and transport not in TRANSPORTS:
        _fail(f"transport {transport!r} is not one of {', '.join(TRANSPORTS)}", "transport")
    request_half = _request_from_json(request, protocol)
    response_half = None if response is None else _response_from_json(response, protocol)
    subcalls: list[object] = _opt(obj, "subcalls", list) or []
    problems: list[object] = _opt(obj, "problems", list) or []
    findings: list[object] = _opt(obj, "findings", list) or []  # format 1.1
    started = _number(obj, "started", optional=False)
    assert started is not None

    return CallRecord(
        id=_req(obj, "id", str),
        seq=_req(obj, "seq", int),
        started=started,
        ended=_number(obj, "ended", optional=True),
        client=_peer_from_json(obj, "client"),
        server=_peer_from_json(obj, "server"),
        scheme=_req(obj, "scheme", str),
        host=_req(obj, "host", str),
        port=_req(obj, "port", int),
        path=_req(obj, "path", str),
        status=_opt(obj, "status", int),
        request=request_half,
        response=response_half,
        subcalls=tuple(_subcall_from_json(s, f"subcalls[{i}]") for i, s in enumerate(subcalls)),
        problems=tuple(_problem_from_json(p, f"problems[{i}]") for i, p in enumerate(problems)),
        error=_opt(obj, "error", str),
        origin=_opt(obj, "origin", str) or "proxy",
        redacted=bool(_opt(obj, "redacted", bool)),
        findings=tuple(_finding_from_json(f, f"findings[{i}]") for i, f in enumerate(findings)),
        protocol=protocol,
        transport=transport,
    )
