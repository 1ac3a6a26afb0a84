"""HAR 1.2 (browsers' devtools, Charles, Burp, Fiddler, mitmproxy's ``hardump``) to exchanges.

What a HAR keeps: each entry's request and response headers, the bodies as text (``postData.text``
and ``content.text``) or base64 (``content.encoding: "base64"``), the status, the start time and
the total time, and the server's address. What it loses, and how we read it back:

- A HAR body is *decoded*: the HAR spec has the text decompressed and unchunked, so a gzip
  exchange comes back with its ``Content-Encoding`` header but a plain body. The half is then
  marked ``content_encoding: "identity"`` (the header stays as the peer sent it), unless the body
  still starts with the gzip magic, as some tools leave it.
- Text is Unicode in JSON. It is encoded back with the charset the message declares (the
  Content-Type's ``charset``, else the XML declaration's ``encoding``, else UTF-8), which gives
  the bytes on the wire for every XML-RPC body that says what it is.
- The client's address is not in a HAR; the record has none.

An entry written by ``rpcspy export --to har`` also carries an ``_rpcspy`` object
(``rpcspy.export.har.record_facts``) with what HAR has no place for: exact times, both peers,
the status and error, the problems the traffic's reader noted, the halves left undecoded, the
content encoding state and, for a body shown decoded, the bytes on the wire. ``with_record_facts``
applies it (mitmproxy flows exported by rpcspy carry the same object), so capture -> HAR ->
capture keeps every call; such an entry is always imported, XML-RPC or not, since rpcspy
recorded it.

The file is read whole (HAR files are single JSON documents); entries become exchanges one by one.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from rpcspy.capture import HttpMessage, Problem
from rpcspy.capture.record import PROBLEM_PLACES
from rpcspy.ingest.exchange import Exchange, Skipped, is_xmlrpc_exchange

__all__ = ["HarError", "read_har", "with_record_facts"]

_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._-]+)""", re.IGNORECASE)


class HarError(Exception):
    """The file is not a HAR we can read (not JSON, no ``log.entries``)."""


def _headers(items: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(items, list):
        return ()
    out = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            value = item.get("value", "")
            out.append((item["name"], value if isinstance(value, str) else str(value)))
    return tuple(out)


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    name = name.lower()
    values = [v for k, v in headers if k.lower() == name]
    return ", ".join(values) if values else None


def _charset(headers: tuple[tuple[str, str], ...], text: str) -> str:
    found = _CHARSET.search(_header(headers, "content-type") or "")
    if found is None:
        declared = _XML_ENCODING.match(text[:200].encode("utf-8", "replace"))
        if declared is None:
            return "utf-8"
        name = declared.group(1).decode("ascii")
    else:
        name = found.group(1)
    try:
        "".encode(name)
    except LookupError:
        return "utf-8"
    return name


def _body(
    holder: Any, headers: tuple[tuple[str, str], ...], where: str, problems: list[Problem]
) -> tuple[bytes, str | None]:
    """The body's bytes and the content encoding they are in (``identity``: decoded)."""
    if not isinstance(holder, dict):
        return b"", None
    text = holder.get("text")
    if not isinstance(text, str):
        return b"", None
    if holder.get("encoding") == "base64":
        try:
            data = base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError):
            bad = Problem(where, "bad-har", "body is not valid base64")  # type: ignore[arg-type]
            problems.append(bad)
            return b"", "identity"
    else:
        charset = _charset(headers, text)
        try:
            data = text.encode(charset)
        except UnicodeEncodeError:
            data = text.encode("utf-8")
    declared = _header(headers, "content-encoding")
    if declared and data.startswith(b"\x1f\x8b") and "gzip" in declared.lower():
        return data, None  # still as on the wire
    return data, "identity" if declared else None


def _time(entry: dict[str, Any]) -> tuple[float, float | None]:
    started = 0.0
    raw = entry.get("startedDateTime")
    if isinstance(raw, str):
        try:
            started = datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
        except ValueError:
            started = 0.0
    total = entry.get("time")
    ended = started + total / 1000 if isinstance(total, int | float) and total >= 0 else None
    return started, ended


def _exchange(entry: Any) -> Exchange | Skipped:
    if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
        return Skipped("entry")
    req = entry["request"]
    method = str(req.get("method", "GET"))
    url = urlsplit(str(req.get("url", "")))
    problems: list[Problem] = []
    req_headers = _headers(req.get("headers"))
    req_body, req_enc = _body(req.get("postData"), req_headers, "request", problems)
    request = HttpMessage(headers=req_headers, body=req_body, content_encoding=req_enc)
    response: HttpMessage | None = None
    status: int | None = None
    error: str | None = None
    resp = entry.get("response")
    if isinstance(resp, dict):
        code = resp.get("status")
        if isinstance(code, int) and code > 0:
            status = code
            resp_headers = _headers(resp.get("headers"))
            resp_body, resp_enc = _body(resp.get("content"), resp_headers, "response", problems)
            response = HttpMessage(headers=resp_headers, body=resp_body, content_encoding=resp_enc)
        else:
            # Browsers write status 0 for a request that got no answer (aborted, refused).
            error = str(resp.get("_error") or resp.get("statusText") or "no response")
    facts = entry.get("_rpcspy")
    if isinstance(facts, dict):
        try:
            return with_record_facts(
                Exchange(method=method, request=request, response=response, started=0.0),
                facts,
                problems,
            )
        except (TypeError, ValueError, KeyError, binascii.Error):
            pass  # not an object rpcspy wrote: read the entry as any other HAR's
    if not is_xmlrpc_exchange(method, request, response):
        return Skipped()
    started, ended = _time(entry)
    scheme = url.scheme or "http"
    port = url.port or (443 if scheme == "https" else 80)
    server_ip = entry.get("serverIPAddress")
    path = url.path or "/"
    if url.query:
        path += "?" + url.query
    return Exchange(
        method=method,
        request=request,
        response=response,
        started=started,
        ended=ended if response is not None else None,
        client=None,
        server=(server_ip.strip("[]"), port) if isinstance(server_ip, str) and server_ip else None,
        scheme=scheme,
        host=url.hostname or "",
        port=port,
        path=path,
        status=status,
        error=error,
        problems=tuple(problems),
    )


def _peer_of(value: Any) -> tuple[str, int] | None:
    if value is None:
        return None
    host, port = value
    if not isinstance(host, str) or not isinstance(port, int):
        raise TypeError("a peer is [host, port]")
    return (host, port)


def _opt[T](value: Any, kind: type[T]) -> T | None:
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}")
    return value


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError("expected a number")
    return float(value)


def _facts_problem(obj: Any) -> Problem:
    where = obj["where"]
    if where not in PROBLEM_PLACES:
        raise ValueError(f"unknown problem place {where!r}")
    return Problem(
        where,
        str(obj["kind"]),
        str(obj["reason"]),
        _opt(obj.get("line"), int),
        _opt(obj.get("column"), int),
        _opt(obj.get("path"), str),
    )


def _facts_half(half: HttpMessage, facts: Any) -> HttpMessage:
    if not isinstance(facts, dict):
        raise TypeError("a half's facts are an object")
    body = half.body
    if "body" in facts and facts["body"] is None:
        body = None
    elif isinstance(facts.get("wire"), str):
        body = base64.b64decode(facts["wire"], validate=True)
    return dataclasses.replace(
        half, body=body, content_encoding=_opt(facts.get("content_encoding"), str)
    )


def with_record_facts(
    exchange: Exchange, facts: dict[str, Any], problems: list[Problem] | None = None
) -> Exchange:
    """The exchange as the record it was exported from: the ``_rpcspy`` object's times, peers,
    URL, status, error, noted problems (``problems``: what reading the entry found besides),
    undecoded halves, content encodings and wire bodies. Raises ``TypeError``, ``ValueError``,
    ``KeyError`` or ``binascii.Error`` when the object is not one rpcspy wrote."""
    if facts.get("version") != 1:
        raise ValueError("unknown _rpcspy version")
    request = _facts_half(exchange.request, facts["request"])
    response = None
    if facts.get("response") is not None and exchange.response is not None:
        response = _facts_half(exchange.response, facts["response"])
    started = _number(facts["started"])
    if started is None:
        raise TypeError("started is a number")
    ended = _number(facts.get("ended"))
    noted = tuple(_facts_problem(p) for p in facts.get("problems", []) if p.get("noted"))
    undecoded = frozenset(str(w) for w in facts.get("undecoded", []))
    if not undecoded <= {"request", "response"}:
        raise ValueError("undecoded names the request or the response")
    return dataclasses.replace(
        exchange,
        request=request,
        response=response,
        started=started,
        ended=ended,
        client=_peer_of(facts.get("client")),
        server=_peer_of(facts.get("server")),
        scheme=str(facts["scheme"]),
        host=str(facts["host"]),
        port=int(facts["port"]),
        path=str(facts["path"]),
        status=_opt(facts.get("status"), int),
        error=_opt(facts.get("error"), str),
        problems=(*(problems or ()), *noted),
        damaged=undecoded,
        judged=True,
        redacted=bool(facts.get("redacted")),
    )


def load_har(path: Path) -> list[Any]:
    """The entries of a HAR file; ``HarError`` when it is not one."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # Fiddler writes a byte order mark
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise HarError(f"not JSON: {exc}") from exc
    log = doc.get("log") if isinstance(doc, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise HarError("not a HAR file: no log.entries")
    return entries


def read_har(path: Path) -> Iterator[Exchange | Skipped]:
    """Every entry of a HAR file: an ``Exchange`` when it is XML-RPC, else ``Skipped``."""
    for entry in load_har(path):
        yield _exchange(entry)
