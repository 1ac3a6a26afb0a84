"""A call line's envelope as typed structs: the index's fast reading of the common line.

Strategy: ``record_from_json`` (``rpcspy.capture.schema``) is the one set of rules for a call
line. Building a whole record per line is too slow for a million lines, so the index first
decodes each line with ``msgspec`` into the structs below, which spell out the same rules for
the envelope (every key but the messages) as *types*, checked in C, with keys the rules ignore
skipped unread. The messages (``request.call``, ``response.result``/``fault``, ``subcalls``) stay
raw JSON text here: the index checks each distinct one once, with the schema itself.

The index itself reads a line as a ``Line``: the same struct with the request and response
left raw too. A line's halves (headers, body, messages) mostly repeat: the index types each
distinct pair of raw halves once (``halves``, with the structs of ``Call``), and for the rest of
the lines typing them costs a lookup.

The structs are never looser than the rules, only stricter: whatever they refuse goes to the
full check (``record_from_json``), which gives the verdict and its wording. So the structs
decide nothing but "certainly valid". Stricter here, on purpose:

- a request body without ``"text"`` (``base64``), or a response body of ``base64``;
- integers outside the signed 64-bit range (orjson reads some as floats);
- lines that are not ASCII and not strict UTF-8 (encoded surrogates), or that nest deeply
  (``decode`` leaves those to the full check); strings with an escaped lone surrogate;
- a ``size`` that is not an integer (the index's size column reads only integers);
- (format 1.2) a ``protocol`` other than ``"xmlrpc"``; a ``transport`` not ``"tcp"`` or ``"udp"``.

``tests/capture/test_envelope.py`` runs both over every sample capture and a corpus of bad lines.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import msgspec

__all__ = [
    "NO_RAW",
    "PLAIN_BELOW",
    "Call",
    "DecodeError",
    "Line",
    "decode",
    "decode_line",
    "decode_line_plain",
    "decode_plain",
    "halves",
    "method",
]

#: A JSON integer orjson and Python both read as a signed 64-bit integer.
Int = Annotated[int, msgspec.Meta(ge=-(1 << 63), le=(1 << 63) - 1)]
Raw = msgspec.Raw
#: Absent key of a raw message (``UNSET``); the JSON ``null`` is ``Raw(b"null")``.
Unset = msgspec.UnsetType
UNSET: Final = msgspec.UNSET
#: A ``Line``'s absent ``response`` or ``subcalls``: empty, as no JSON value is (so a line's
#: raw halves join as they are into a key that tells them apart).
NO_RAW: Final = msgspec.Raw(b"")


# Fields in the order the writer puts the keys: msgspec looks for the next key where the last
# one was found first, so a line in that order is read without searching.


class Body(msgspec.Struct, kw_only=True, gc=False):
    """``{"text": ..., "size": ...}``. msgspec refuses a string with a lone surrogate (which
    would not encode to UTF-8, as the rules require of a body's text)."""

    size: Int = 0
    text: str


class Problem(msgspec.Struct, gc=False):
    where: Literal["request", "response", "multicall", "connection", "capture"]
    kind: str
    reason: str
    line: Int | None = None
    column: Int | None = None
    path: str | None = None


class Finding(msgspec.Struct, gc=False):
    where: Literal["request", "response", "multicall"]
    rule: str
    severity: Literal["warning", "error"]
    message: str
    line: Int | None = None
    column: Int | None = None
    path: str | None = None


class Request(msgspec.Struct, kw_only=True, gc=False):
    headers: list[tuple[str, str]] = []
    content_encoding: str | None = None
    body: Body
    call: Raw | Unset = UNSET


class Response(msgspec.Struct, kw_only=True, gc=False):
    headers: list[tuple[str, str]] = []
    content_encoding: str | None = None
    body: Body | None = None
    result: Raw | Unset = UNSET
    fault: Raw | Unset = UNSET


class Call(msgspec.Struct, kw_only=True, gc=False):
    """A call line: the keys ``record_from_json`` reads, typed as it requires them."""

    type: Literal["call"]
    seq: Int
    id: str
    origin: str | None = None
    started: Int | float
    ended: Int | float | None = None
    #: Not checked by the rules (derived): read for the method column of an undecoded call.
    method: Any = None
    status: Int | None = None
    scheme: str
    host: str
    port: Int
    path: str
    client: tuple[str, Int] | None = None
    server: tuple[str, Int] | None = None
    error: str | None = None
    redacted: bool | None = None
    request: Request
    response: Response | None = None
    subcalls: Raw | Unset = UNSET
    problems: list[Problem] | None = None
    findings: list[Finding] | None = None
    #: (format 1.2) Only XML-RPC lines are read here; another protocol's, the full check reads.
    protocol: Literal["xmlrpc"] | None = None
    transport: Literal["tcp", "udp"] | None = None


class Line(msgspec.Struct, kw_only=True, gc=False):
    """A ``Call`` with its halves raw (checked by ``halves``) and ``method`` raw (read by
    ``method``): what the index reads of every line."""

    type: Literal["call"]
    seq: Int
    id: str
    origin: str | None = None
    started: Int | float
    ended: Int | float | None = None
    method: Raw | Unset = UNSET
    status: Int | None = None
    scheme: str
    host: str
    port: Int
    path: str
    client: tuple[str, Int] | None = None
    server: tuple[str, Int] | None = None
    error: str | None = None
    redacted: bool | None = None
    #: A ``Request``.
    request: Raw
    #: A ``Response`` or ``null`` (``NO_RAW``: absent).
    response: Raw = NO_RAW
    #: (``NO_RAW``: absent)
    subcalls: Raw = NO_RAW
    problems: list[Problem] | None = None
    findings: list[Finding] | None = None
    protocol: Literal["xmlrpc"] | None = None
    transport: Literal["tcp", "udp"] | None = None


_decode = msgspec.json.Decoder(Call).decode
_decode_line = msgspec.json.Decoder(Line).decode
_decode_request = msgspec.json.Decoder(Request).decode
_decode_response = msgspec.json.Decoder(Response | None).decode
_decode_any = msgspec.json.Decoder().decode
#: A line with this many ``[`` and ``{`` may nest past what orjson reads: the full check.
_MAX_OPEN: Final = 1000
#: An ASCII line shorter than this leaves ``decode`` nothing to doubt before it reads it:
#: ``decode_plain`` reads it at once (``DecodeError`` or ``RecursionError`` mean: no envelope).
PLAIN_BELOW: Final = 2 * _MAX_OPEN
decode_plain: Final = _decode
#: ``decode_plain`` for a ``Line``.
decode_line_plain: Final = _decode_line
DecodeError: Final = msgspec.DecodeError


def decode(line: bytes) -> Call | None:
    """The typed envelope of a call line the rules certainly accept, else None (then only the
    full check, ``record_from_json``, can tell)."""
    found: Call | None = _read(line, _decode)
    return found


def decode_line(line: bytes) -> Line | None:
    """``decode`` for a ``Line``: its halves must pass ``halves`` too."""
    found: Line | None = _read(line, _decode_line)
    return found


def _read(line: bytes, read: Any) -> Any:
    if not line.isascii():
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return None
    # Nesting that deep takes (at least) an opening and a closing byte per level.
    if len(line) >= PLAIN_BELOW and line.count(b"[") + line.count(b"{") >= _MAX_OPEN:
        return None
    try:
        return read(line)
    except (msgspec.DecodeError, RecursionError):
        return None


def halves(line: Line) -> tuple[Request, Response | None] | None:
    """A ``Line``'s request and response typed as ``Call`` types them, or None when they do not
    pass (then only the full check can tell)."""
    try:
        request = _decode_request(line.request)
        response = _decode_response(line.response) if line.response else None
    except (msgspec.DecodeError, RecursionError):
        return None
    return request, response


def method(line: Line) -> Any:
    """The ``method`` key's value (None when absent), as ``Call`` reads it; ``DecodeError``
    when it cannot (then the full check reads the line)."""
    return None if line.method is UNSET else _decode_any(line.method)
