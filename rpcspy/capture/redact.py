"""Redaction of credentials in headers before a record is written to a capture file.

Authorization and Proxy-Authorization keep their scheme word (``Basic <redacted>``) so a reader
still sees how a client authenticated; Cookie and Set-Cookie keep cookie names and attributes
(``sid=<redacted>; Path=/; HttpOnly``) and lose only the values. A Set-Cookie folded onto one
line (``a=1; Path=/, b=2; Path=/``, as some servers and proxies send several cookies) is split
at each comma that starts a new ``name=``, so every cookie in it loses its value; the comma in
an ``Expires=Wed, 21 Oct 2026 07:28:00 GMT`` date starts no cookie.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Final

from rpcspy.capture.record import CallRecord, HttpMessage

__all__ = ["REDACTED", "SENSITIVE_HEADERS", "redact_header", "redact_headers", "redact_record"]

REDACTED: Final = "<redacted>"
SENSITIVE_HEADERS: Final = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie"}
)
# Set-Cookie attributes are public (they say how the cookie is kept, not what it is).
_COOKIE_ATTRIBUTES: Final = frozenset(
    {
        "expires",
        "max-age",
        "domain",
        "path",
        "secure",
        "httponly",
        "samesite",
        "partitioned",
        "priority",
    }
)


#: A comma that starts another cookie of a folded Set-Cookie: one followed by ``name=``.
_NEXT_COOKIE: Final = re.compile(r",(?=\s*[^;,=\s]+\s*=)")
#: An ``Expires`` whose comma is the date's own: ``Expires=Wed, 21 Oct 2026 07:28:00 GMT``.
_EXPIRES: Final = re.compile(r"(?i)expires\s*=\s*[a-z]{3,9},[ 0-9a-z:-]*\Z")


def _redact_credentials(value: str) -> str:
    scheme, sep, _secret = value.strip().partition(" ")
    if sep and scheme:
        return f"{scheme} {REDACTED}"
    return REDACTED


def _attribute(part: str, name: str) -> str:
    """A Set-Cookie attribute as stored: kept, unless a fold left more after it than an
    attribute holds (a comma outside an ``Expires`` date), which is redacted."""
    if "," not in part:
        return part
    if name == "expires" and _EXPIRES.match(part):
        return part
    return part.partition(",")[0] + ", " + REDACTED


def _redact_cookie(value: str, *, set_cookie: bool) -> str:
    parts = []
    for i, part in enumerate(value.split(";")):
        name, eq, _ = part.strip().partition("=")
        if not part.strip():
            continue
        if set_cookie and i > 0 and name.lower() in _COOKIE_ATTRIBUTES:
            parts.append(_attribute(part.strip(), name.lower()))
        elif eq:
            parts.append(f"{name}={REDACTED}")
        else:
            parts.append(REDACTED)
    return "; ".join(parts) if parts else REDACTED


def redact_header(name: str, value: str) -> str:
    """The value to store for a header: unchanged unless the header carries credentials."""
    lower = name.lower()
    if lower in ("authorization", "proxy-authorization"):
        return _redact_credentials(value)
    if lower == "cookie":
        return _redact_cookie(value, set_cookie=False)
    if lower == "set-cookie":
        cookies = _NEXT_COOKIE.split(value)
        return ", ".join(_redact_cookie(cookie, set_cookie=True) for cookie in cookies)
    return value


def redact_headers(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Headers with credential values redacted (the same tuple when there is nothing to hide)."""
    if not any(name.lower() in SENSITIVE_HEADERS for name, _ in headers):
        return headers
    return tuple((name, redact_header(name, value)) for name, value in headers)


def _redact_half(half: HttpMessage) -> HttpMessage:
    headers = redact_headers(half.headers)
    return half if headers == half.headers else dataclasses.replace(half, headers=headers)


def redact_record(record: CallRecord) -> CallRecord:
    """The record with credential headers redacted; ``redacted`` is set when a value changed."""
    request = _redact_half(record.request)
    response = None if record.response is None else _redact_half(record.response)
    if request is record.request and response is record.response:
        return record
    return dataclasses.replace(record, request=request, response=response, redacted=True)
