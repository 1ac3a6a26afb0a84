"""A capture's calls as HAR 1.2, the format of browsers' devtools, Burp, Charles and mitmproxy.

Strategy: the file is written entry by entry (``{"log": {..., "entries": [`` then one entry per
record, then ``]}}``), so memory holds one record whatever the size of the capture.

Each record becomes one entry laid out as the HAR 1.2 spec asks
(http://www.softwareishard.com/blog/har-12-spec/):

- ``request.postData.text`` and ``response.content.text`` hold the body *decoded*: its content
  encoding (gzip, deflate) undone, as text when it is clean text in the charset the message
  declares (Content-Type, else the XML declaration, else UTF-8), else base64 with
  ``encoding: "base64"`` (on ``postData`` too: HAR 1.2 has the field on ``content`` only, and
  the tools that keep binary request bodies (google/martian, HTTP Toolkit, Reqable) put it on
  ``postData`` the same way). Headers are kept as recorded, ``Content-Encoding`` included.
- ``time`` and ``timings`` (``wait`` holds the whole call: a record knows when the call started
  and ended, not how the time was spent), ``startedDateTime`` to the microsecond.
- ``serverIPAddress`` is the server the proxy talked to; ``connection`` the client's port.
- A call that got no response still has a ``response`` (HAR requires one): status 0 and
  ``_error``, the way browsers write a request that failed.
- ``comment`` is the call on one line (``add(2, 3) → 5``), for HAR viewers.

What HAR has no place for goes in the entry's ``_rpcspy`` object (custom fields start with an
underscore): the record's id, seq and origin; exact times and peers; scheme, host, port and path;
status and error; whether it was redacted; its problems; which halves were not decoded (a body the
proxy did not keep, a segment lost in a pcap); and for each half its content encoding state and,
when the HAR body is not the bytes on the wire (a gzip body, shown decoded), those bytes in base64
(``wire``). ``rpcspy import`` reads it back (``rpcspy.ingest.har``) so that capture → HAR →
capture keeps every call; other tools ignore it.
"""

from __future__ import annotations

import base64
import datetime as dt
import http
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO, Final
from urllib.parse import parse_qsl

import orjson

import rpcspy
from rpcspy.capture import CallRecord, HttpMessage, Problem
from rpcspy.capture._content import ContentEncodingError, decode_content
from rpcspy.capture.schema import problem_to_json
from rpcspy.capture.summary import call_line
from rpcspy.export import Exported
from rpcspy.xmlrpc.messages import DEFAULT_LIMITS

__all__ = ["DERIVED_PROBLEMS", "export", "har_entry", "record_facts"]

#: The version of the ``_rpcspy`` object this module writes.
FACTS_VERSION: Final = 1

#: Problem kinds the record builder finds in the bodies themselves: an import finds them again
#: from the same bytes. Every other kind was noted by whoever read the traffic (the proxy, a
#: pcap reader) and travels in ``_rpcspy``.
DERIVED_PROBLEMS: Final = frozenset(
    {
        "malformed-xml",
        "unsafe-xml",
        "bad-value",
        "content-encoding",
        "http-error",
        "not-xml-rpc",
        "internal-error",
    }
)

_CHARSET: Final = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._-]+)""", re.IGNORECASE)
_XML_ENCODING: Final = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
#: Control characters that make a body binary rather than text (tab, CR and LF are text).
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _dumps(obj: object) -> bytes:
    """JSON by orjson; the stdlib for what orjson refuses (lone surrogates from header bytes)."""
    try:
        return orjson.dumps(obj)
    except orjson.JSONEncodeError:
        return json.dumps(obj, ensure_ascii=True, allow_nan=False).encode("ascii")


def _iso(when: float) -> str:
    return dt.datetime.fromtimestamp(when, dt.UTC).isoformat(timespec="microseconds")


def _peer(peer: tuple[str, int] | None) -> list[object] | None:
    return None if peer is None else [peer[0], peer[1]]


def _problem(problem: Problem) -> dict[str, object]:
    # ``noted``: not found in the bodies, so an import cannot find it again and takes it from here.
    return {**problem_to_json(problem), "noted": problem.kind not in DERIVED_PROBLEMS}


def _plain(half: HttpMessage) -> bytes:
    """The body with its content encoding undone (the wire bytes when it cannot be)."""
    body = half.body or b""
    try:
        return decode_content(body, half.content_encoding, DEFAULT_LIMITS.max_bytes)
    except ContentEncodingError:
        return body


def _charset(half: HttpMessage, data: bytes) -> str:
    """The charset the message declares (the Content-Type's, else the XML declaration's), which
    a HAR reader encodes the text back with; UTF-8 when it declares none we know."""
    found = _CHARSET.search(half.header("content-type") or "")
    if found is not None:
        name = found.group(1)
    else:
        declared = _XML_ENCODING.match(data[:200])
        name = declared.group(1).decode("ascii") if declared is not None else "utf-8"
    try:
        "".encode(name)
    except LookupError:
        return "utf-8"
    return name


def _text(half: HttpMessage, data: bytes) -> tuple[str, bool]:
    """The body for HAR: ``(text, False)`` when it is clean text in the charset it declares
    (UTF-8 by default) that encodes back to the same bytes, else ``(base64, True)``."""
    charset = _charset(half, data)
    try:
        text = data.decode(charset)
        clean = not _CONTROL.search(text) and text.encode(charset) == data
    except (UnicodeDecodeError, UnicodeEncodeError):
        clean = False
    if not clean:
        return base64.b64encode(data).decode("ascii"), True
    return text, False


def _mime(half: HttpMessage) -> str:
    return half.header("content-type") or ""


def _pairs(headers: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers]


def _cookies(half: HttpMessage, header: str) -> list[dict[str, str]]:
    """The cookies a ``Cookie`` (or ``Set-Cookie``) header names: name and value only."""
    out = []
    for name, value in half.headers:
        if name.lower() != header:
            continue
        parts = value.split(";") if header == "cookie" else value.split(";")[:1]
        for part in parts:
            key, eq, val = part.strip().partition("=")
            if eq and key:
                out.append({"name": key, "value": val})
    return out


def _half_facts(half: HttpMessage, wire_differs: bool) -> dict[str, object]:
    facts: dict[str, object] = {"content_encoding": half.content_encoding}
    if half.body is None:
        facts["body"] = None  # not recorded (streamed by mitmproxy)
    elif wire_differs:
        facts["wire"] = base64.b64encode(half.body).decode("ascii")
    return facts


def _undecoded(record: CallRecord) -> list[str]:
    """The halves the record holds undecoded though they are not broken: their body was not kept
    (too large, streamed, lost in a pcap) or they were never read (an encrypted connection)."""
    derived_at = {p.where for p in record.problems if p.kind in DERIVED_PROBLEMS}
    out = []
    for where, half in (("request", record.request), ("response", record.response)):
        # Such a body is kept as no bytes; a body with bytes was decoded (or failed to, with a
        # derived problem), whatever the capture line kept of the decoded message.
        if (
            half is not None
            and half.body == b""
            and half.decoded is None
            and where not in derived_at
        ):
            out.append(where)
    return out


def record_facts(
    record: CallRecord, *, request_wire: bool = False, response_wire: bool = False
) -> dict[str, object]:
    """What a record holds that HAR (or a mitmproxy flow) has no place for: the ``_rpcspy``
    object. ``*_wire``: the exported body of that half is not the bytes on the wire, which are
    then kept here."""
    response = record.response
    return {
        "version": FACTS_VERSION,
        "id": record.id,
        "seq": record.seq,
        "origin": record.origin,
        "started": record.started,
        "ended": record.ended,
        "client": _peer(record.client),
        "server": _peer(record.server),
        "scheme": record.scheme,
        "host": record.host,
        "port": record.port,
        "path": record.path,
        "status": record.status,
        "error": record.error,
        "redacted": record.redacted,
        "problems": [_problem(p) for p in record.problems],
        "undecoded": _undecoded(record),
        "request": _half_facts(record.request, request_wire),
        "response": None if response is None else _half_facts(response, response_wire),
    }


def _url(record: CallRecord) -> str:
    host = record.host or (record.server[0] if record.server else "") or "unknown"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6
    path = record.path if record.path.startswith("/") else "/" + record.path
    return f"{record.scheme or 'http'}://{host}:{record.port}{path}"


def _query(path: str) -> list[dict[str, str]]:
    _, mark, query = path.partition("?")
    if not mark:
        return []
    query = query.partition("#")[0]
    return [{"name": k, "value": v} for k, v in parse_qsl(query, keep_blank_values=True)]


def _request(record: CallRecord) -> tuple[dict[str, object], bool]:
    half = record.request
    plain = _plain(half)
    text, is_base64 = _text(half, plain)
    # ``params`` is for form posts only: the spec has it and ``text`` exclude each other.
    post: dict[str, object] = {"mimeType": _mime(half), "text": text}
    if is_base64:
        post["encoding"] = "base64"
    out: dict[str, object] = {
        "method": "POST",
        "url": _url(record),
        "httpVersion": "HTTP/1.1",
        "cookies": _cookies(half, "cookie"),
        "headers": _pairs(half.headers),
        "queryString": _query(record.path),
        "postData": post,
        "headersSize": -1,
        "bodySize": len(half.body or b""),
    }
    return out, plain != (half.body or b"")


def _no_response(record: CallRecord) -> dict[str, object]:
    return {
        "status": 0,
        "statusText": "",
        "httpVersion": "",
        "cookies": [],
        "headers": [],
        "content": {"size": 0, "mimeType": "x-unknown"},
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": -1,
        "_error": record.error or "no response",
    }


def _response(record: CallRecord, half: HttpMessage) -> tuple[dict[str, object], bool]:
    status = record.status or 0
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    content: dict[str, object] = {"size": 0, "mimeType": _mime(half)}
    differs = False
    if half.body is not None:
        plain = _plain(half)
        text, is_base64 = _text(half, plain)
        content["size"] = len(plain)
        if len(plain) != len(half.body):
            content["compression"] = len(plain) - len(half.body)
        content["text"] = text
        if is_base64:
            content["encoding"] = "base64"
        differs = plain != half.body
    out: dict[str, object] = {
        "status": status,
        "statusText": reason,
        "httpVersion": "HTTP/1.1",
        "cookies": _cookies(half, "set-cookie"),
        "headers": _pairs(half.headers),
        "content": content,
        "redirectURL": half.header("location") or "",
        "headersSize": -1,
        "bodySize": -1 if half.body is None else len(half.body),
    }
    if record.error is not None:
        out["_error"] = record.error
    return out, differs


def har_entry(record: CallRecord) -> dict[str, Any]:
    """The HAR entry of one record (``_rpcspy`` included)."""
    request, request_wire = _request(record)
    response_wire = False
    if record.response is None:
        response = _no_response(record)
    else:
        response, response_wire = _response(record, record.response)
    total = max(record.duration_ms or 0.0, 0.0)
    entry: dict[str, Any] = {
        "startedDateTime": _iso(record.started),
        "time": total,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {
            "blocked": -1,
            "dns": -1,
            "connect": -1,
            "ssl": -1,
            "send": 0,
            "wait": total,
            "receive": 0,
        },
    }
    if record.server is not None:
        entry["serverIPAddress"] = record.server[0]
    if record.client is not None:
        entry["connection"] = str(record.client[1])
    entry["comment"] = call_line(record)
    entry["_rpcspy"] = record_facts(record, request_wire=request_wire, response_wire=response_wire)
    return entry


def _write_log(records: Iterable[CallRecord], f: BinaryIO) -> int:
    creator = {"name": "rpcspy", "version": rpcspy.__version__}
    f.write(b'{"log":{"version":"1.2","creator":' + _dumps(creator) + b',"entries":[')
    count = 0
    for record in records:
        f.write(b"\n" if count == 0 else b",\n")
        f.write(_dumps(har_entry(record)))
        count += 1
    f.write(b"\n]}}\n")
    return count


def export(records: Iterable[CallRecord], out: Path, *, source: Path) -> Exported:
    """Write ``records`` to ``out`` as one HAR 1.2 file, entry by entry."""
    with open(out, "wb") as f:
        count = _write_log(records, f)
    return Exported(count)
