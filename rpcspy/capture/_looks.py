"""What a body that is not XML-RPC looks like, in a few words for people.

The record builder names an HTTP error page or a non-XML-RPC request by what it is ("an HTML
page titled ...", "JSON", "form data", "XML whose root element is <feed>") rather than by the
XML parser's complaint about it. Everything here looks at a bounded prefix of the body, so a
huge or compressed body costs no more than a small one. Pure; never raises.
"""

from __future__ import annotations

import codecs
import json
import re
import zlib
from typing import Final

from rpcspy.capture._content import encoding_tokens

__all__ = ["describe_body", "head_of", "root_element"]

#: How much of a (decompressed) body is looked at.
HEAD_BYTES: Final = 64 * 1024
_COMPRESSED_BYTES: Final = 64 * 1024
# Whole JSON bodies up to this size are parsed to tell JSON from text that starts with a brace.
_JSON_PARSE_BYTES: Final = 64 * 1024

_WS: Final = re.compile(rb"[ \t\r\n]*")
_NAME: Final = re.compile(rb"<([A-Za-z_][-\w.:]*)")
_TITLE: Final = re.compile(rb"<title[^>]*>([^<]{1,200})", re.IGNORECASE)
_DOCTYPE_HTML: Final = re.compile(rb"<!DOCTYPE\s+html", re.IGNORECASE)
_FORM: Final = re.compile(rb"[\w.~%+\-\[\]]+=[^&=\s]*(?:&[\w.~%+\-\[\]]+=[^&=\s]*)*")


def head_of(body: bytes, content_encoding: str | None) -> bytes | None:
    """The first ``HEAD_BYTES`` of the body with gzip/deflate undone; None if that fails."""
    tokens = encoding_tokens(content_encoding)
    if not tokens:
        return body[:HEAD_BYTES]
    if len(tokens) > 1 or tokens[0] not in ("gzip", "x-gzip", "deflate"):
        return None
    # "deflate" is zlib-wrapped by the RFC, raw deflate in practice often enough.
    deflate = tokens[0] == "deflate"
    options = [zlib.MAX_WBITS, -zlib.MAX_WBITS] if deflate else [zlib.MAX_WBITS | 16]
    for wbits in options:
        try:
            return zlib.decompressobj(wbits).decompress(body[:_COMPRESSED_BYTES], HEAD_BYTES)
        except zlib.error:
            continue
    return None


def _as_utf8(head: bytes) -> bytes:
    # A UTF-16/32 body (with its byte order mark) is read as the UTF-8 it spells.
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if head.startswith(bom):
            return head.decode(codec, "ignore").encode("utf-8")
    if head.startswith(codecs.BOM_UTF8):
        return head[3:]
    return head


def root_element(head: bytes) -> str | None:
    """The name of the root element, after the prolog (declaration, comments, PIs, DOCTYPE)."""
    data = _as_utf8(head)
    pos = 0
    size = len(data)
    while pos < size:
        pos = _WS.match(data, pos).end()  # type: ignore[union-attr]
        if data.startswith(b"<?", pos):
            end = data.find(b"?>", pos)
            pos = -1 if end < 0 else end + 2
        elif data.startswith(b"<!--", pos):
            end = data.find(b"-->", pos + 4)
            pos = -1 if end < 0 else end + 3
        elif data[pos : pos + 9].upper() == b"<!DOCTYPE":
            pos = _after_doctype(data, pos)
        else:
            break
        if pos < 0:
            return None
    found = _NAME.match(data, pos)
    return found.group(1).decode("utf-8", "replace") if found else None


def _after_doctype(data: bytes, pos: int) -> int:
    close = data.find(b">", pos)
    bracket = data.find(b"[", pos)
    if 0 <= bracket < close or (close < 0 <= bracket):
        end = data.find(b"]", bracket)
        close = -1 if end < 0 else data.find(b">", end)
    return -1 if close < 0 else close + 1


def _mime(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _is_binary(head: bytes) -> bool:
    if b"\x00" in head[:1024]:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the prefix is still text.
        return exc.start < len(head) - 4
    return False


def _json_kind(text: bytes, complete: bool) -> str | None:
    stripped = text.lstrip()
    if stripped[:1] not in (b"{", b"["):
        return None
    if not complete or len(text) > _JSON_PARSE_BYTES:
        return "JSON" if b'"' in stripped[:200] else None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    items = value if isinstance(value, list) else [value]
    if any(isinstance(v, dict) and "jsonrpc" in v for v in items):
        return "JSON-RPC"
    return "JSON"


def _snippet(text: bytes, limit: int = 60) -> str:
    words = " ".join(text.decode("utf-8", "replace").split())
    return words if len(words) <= limit else words[: limit - 1] + "…"


def describe_body(
    body: bytes | None,
    content_encoding: str | None,
    content_type: str | None,
    expected_root: str,
) -> str:
    """A few words on what the body is, e.g. ``an HTML page titled "502 Bad Gateway"``.

    ``expected_root`` is the XML-RPC root it should have had (``methodCall`` or
    ``methodResponse``). The Content-Type, when there is one, is named too.
    """
    looks = _looks(body, content_encoding, content_type, expected_root)
    mime = _mime(content_type)
    return f"{looks}, sent as {mime}" if mime else looks


def _looks(
    body: bytes | None, content_encoding: str | None, content_type: str | None, expected: str
) -> str:
    if not body:
        return "an empty body"
    head = head_of(body, content_encoding)
    if head is None:
        return f"{len(body)} bytes that could not be decompressed ({content_encoding})"
    if not head.strip():
        return "a body of only white space"
    mime = _mime(content_type)
    complete = len(head) == len(body) and not encoding_tokens(content_encoding)
    root = root_element(head)
    if root is not None:
        if (
            root.lower() == "html"
            or mime in ("text/html", "application/xhtml+xml")
            or _DOCTYPE_HTML.search(head, 0, 1024)
        ):
            title = _TITLE.search(head)
            if title:
                return f'an HTML page titled "{_snippet(title.group(1))}"'
            return "an HTML page"
        if root in ("methodCall", "methodResponse") and root != expected:
            what = "call" if root == "methodCall" else "response"
            return f"an XML-RPC {what} (<{root}>), not a {_other(what)}"
        if root != expected:
            return f"XML whose root element is <{root}>, not <{expected}>"
        return f"XML with the root element <{root}>"
    if _is_binary(head):
        shown = " ".join(f"{b:02x}" for b in head[:8])
        return f"binary data ({len(body)} bytes, starting {shown})"
    text = _as_utf8(head)
    kind = _json_kind(text, complete)
    if kind is not None:
        return kind
    if mime == "multipart/form-data":
        return "multipart form data"
    if mime == "application/x-www-form-urlencoded" or _FORM.fullmatch(text.strip()):
        return "form data"
    return f'text "{_snippet(text)}"'


def _other(what: str) -> str:
    return "response" if what == "call" else "call"
