"""Everything before the root element: size limit, byte order marks, the encoding declaration,
leading whitespace, and the refusal of DTDs.

libxml2 gets only UTF-8 bytes that start with ``<`` (an XML declaration, if any, saying UTF-8),
so the DOCTYPE scan below sees exactly the bytes the parser will see: a body that declares some
other encoding is decoded here, by Python's codecs, and handed on re-encoded. Without that, a
body declaring, say, UTF-7 could spell ``<!DOCTYPE`` in bytes the scan cannot recognise.
"""

from __future__ import annotations

import codecs
import functools
import re
from typing import Final, Literal

from rpcspy.xmlrpc.errors import MalformedXml, UnsafeXml
from rpcspy.xmlrpc.messages import Limits

__all__ = ["prepare_body", "sniff_kind"]

_WS: Final = b" \t\r\n"
_DECL_SPACE: Final = (b" ", b"\t", b"\r", b"\n")
_DECL_OPENINGS: Final = frozenset(b"<?xml" + space for space in _DECL_SPACE)
_LEADING_WS: Final = re.compile(rb"[ \t\r\n]*")
_ENCODING_ATTR: Final = re.compile(
    rb"""[ \t\r\n]encoding[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)')"""
)
_ENCODING_ATTR_TEXT: Final = re.compile(
    r"""[ \t\r\n]encoding[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)')"""
)
# Where a "<!DOCTYPE" may legitimately sit without being one: comments, CDATA sections and
# processing instructions. Anything else that spells it is a DTD (or a broken document).
_DOCTYPE_SCAN: Final = re.compile(
    rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|(<!DOCTYPE)", re.DOTALL
)
_MARKUP: Final = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<[!?]", re.DOTALL)
# Python codecs that are not character encodings any XML processor knows, and that would
# turn ordinary bytes into markup.
_REFUSED_CODECS: Final = frozenset(
    {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined", "mbcs", "oem"}
)
# XML 1.0's EncName production.
_ENCODING_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")
_UTF8_NAMES: Final = frozenset({"utf-8", "utf8", "utf_8"})
# Declared encodings libxml2 decodes itself exactly as Python would (every byte is the code
# point, or ASCII refuses the rest): no need to transcode, and the markup scans stay sound.
_LIBXML_EXACT: Final = frozenset({"iso-8859-1", "us-ascii"})
_AS_IS: Final = _UTF8_NAMES | _LIBXML_EXACT
_UTF16_NEEDLES: Final = {
    codec: tuple(text.encode(codec) for text in ("<", "<?xml", "?>", "<!", "<?"))
    for codec in ("utf-16-le", "utf-16-be")
}
# Declarations the check in _utf16_as_is would pass, spelled out in each byte order.
_UTF16_DECLS: Final = {
    codec: frozenset(
        ("<?xml version=" + q + "1.0" + q + enc + "?>").encode(codec)
        for q in ('"', "'")
        for enc in (
            "",
            *(f" encoding={e}{name}{e}" for e in ('"', "'") for name in ("UTF-16", "utf-16")),
        )
    )
    for codec in ("utf-16-le", "utf-16-be")
}
_UTF16_NAMES: Final = ("utf-16", "utf16", "ucs-2", "ucs2", "iso-10646-ucs-2")
_UTF32_NAMES: Final = ("utf-32", "utf32", "ucs-4", "ucs4", "iso-10646-ucs-4")
_SNIFF_WINDOW: Final = 64 * 1024
# The declarations most bodies start with, spelled out: each leaves the body as it is (UTF-8, or
# an encoding libxml2 reads exactly as Python would), so a set lookup settles the prolog.
_COMMON_DECLS: Final = frozenset(
    b"<?xml version=" + q + b"1.0" + q + enc + b"?>"
    for q in (b'"', b"'")
    for enc in (
        b"",
        *(
            b" encoding=" + eq + name + eq
            for eq in (b'"', b"'")
            for name in (b"UTF-8", b"utf-8", b"ISO-8859-1", b"iso-8859-1", b"US-ASCII", b"us-ascii")
        ),
    )
)


def prepare_body(body: bytes, limits: Limits) -> tuple[bytes, bool]:
    """Check the limits and return UTF-8 bytes, starting with ``<``, for the parser.

    The flag says whether the parser must keep every blank text node: the body has blank text
    right before a comment, CDATA section, processing instruction or carriage return, where
    libxml2's NOBLANKS would drop blanks that can belong to a string. Raises
    ``UnsafeXml`` (too large, DTD) or ``MalformedXml`` (empty, not XML, bad encoding).
    """
    if type(body) is not bytes:
        if isinstance(body, bytes | bytearray | memoryview):
            body = bytes(body)
        else:
            raise MalformedXml(f"the body must be bytes, not {type(body).__name__}")
    if len(body) > limits.max_bytes:
        raise UnsafeXml(
            f"the body is {len(body)} bytes, over the limit of {limits.max_bytes} bytes"
        )
    if body.startswith(b"<?xml"):
        end = body.find(b"?>", 5)
        if body[: end + 2] in _COMMON_DECLS:
            # The commonest case of all: nothing to settle, and most bodies hold no "!" or "?"
            # past the declaration (a memchr each), so no markup to look closer at.
            after = end + 2
            if body.find(b"!", after) < 0 and body.find(b"?", after) < 0 and b"\r" not in body:
                return body, False
            return body, _has_markup(body, after)
    if body[:6] in _DECL_OPENINGS:
        # The common case: a declaration at the very start, without an encoding or with UTF-8.
        end = body.find(b"?>", 6)
        if end > 0:
            at = body.find(b"encoding", 6, end)
            if at < 0 or _declared(body, at - 1, end) in _AS_IS:
                return body, _has_markup(body, end + 2)
        return _prepare_bytes(body, None)
    head = body[:4]
    if head.startswith(codecs.BOM_UTF8):
        return _prepare_bytes(body[3:], "UTF-8")
    if head in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE):
        return _prepare_text(_decode(body, "utf-32", "UTF-32"), "UTF-32")
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        native = _utf16_as_is(body)
        if native is not None:
            return native
        return _prepare_text(_decode(body, "utf-16", "UTF-16"), "UTF-16")
    # UTF-16 without a byte order mark, recognised by "<?" the way XML 1.0 appendix F does.
    if head == b"<\x00?\x00":
        return _prepare_text(_decode(body, "utf-16-le", "UTF-16"), "UTF-16")
    if head == b"\x00<\x00?":
        return _prepare_text(_decode(body, "utf-16-be", "UTF-16"), "UTF-16")
    return _prepare_bytes(body, None)


def _prepare_bytes(data: bytes, bom: str | None) -> tuple[bytes, bool]:
    """An ASCII-compatible body: find the declaration, honour its encoding."""
    rest = data.lstrip(_WS)
    start = len(data) - len(rest)
    if not rest:
        raise MalformedXml("the body is empty" if not data else "the body is only whitespace")
    if rest[0] != 0x3C:  # "<"
        raise _not_xml(data, start)
    if rest[:6] not in _DECL_OPENINGS:
        return data, _has_markup(data, 0)
    end = data.find(b"?>", start)
    if end < 0:
        raise MalformedXml("the XML declaration is not closed with '?>'", line=_line(data, start))
    decl = data[start : end + 2]
    m = _ENCODING_ATTR.search(decl)
    if m is not None:
        group = 1 if m.group(1) is not None else 2
        declared = m.group(group).decode("latin-1")
        low = declared.lower()
        if low not in _UTF8_NAMES and bom is not None:
            raise MalformedXml(
                f"the byte order mark says {bom} but the XML declaration says {declared}"
            )
        if low not in _UTF8_NAMES and low not in _LIBXML_EXACT:
            if _is_wide(declared):
                raise MalformedXml(
                    f"the XML declaration says {declared} but the body is not in that "
                    "encoding (no byte order mark, ASCII-compatible bytes)"
                )
            codec = _codec_for(declared)
            # The declaration is ASCII in any such encoding; the rest is decoded by Python and
            # handed on as UTF-8, with the declaration saying so.
            decl = decl[: m.start(group)] + b"UTF-8" + decl[m.end(group) :]
            tail = _decode(data[end + 2 :], codec, declared, offset=end + 2, whole=data)
            try:
                data = decl + data[:start] + tail.encode("utf-8")
            except UnicodeEncodeError as e:
                raise MalformedXml(
                    f"the body holds a character that cannot be encoded: {e.reason}"
                ) from None
            return data, _has_markup(data, len(decl))
    if start:
        # libxml2 refuses anything before "<?xml"; moving the whitespace after the
        # declaration keeps the line numbers of everything below the declaration.
        data = decl + data[:start] + data[end + 2 :]
    return data, _has_markup(data, len(decl))


def _utf16_as_is(body: bytes) -> tuple[bytes, bool] | None:
    """UTF-16 with a byte order mark, left for libxml2 to decode when that is safe.

    Safe when the root (or a declaration saying UTF-16) comes right after the mark and no "<!"
    appears: the markup scans then work on the UTF-16 code units directly. Anything else
    (None) is decoded and re-encoded as UTF-8 instead.
    """
    if len(body) % 2:
        raise MalformedXml("the body is not valid UTF-16: an odd number of bytes (truncated?)")
    codec = "utf-16-le" if body[:2] == codecs.BOM_UTF16_LE else "utf-16-be"
    lt, decl_open, decl_close, bang, question = _UTF16_NEEDLES[codec]
    if body[2:4] != lt:
        return None
    after_decl = 2
    if body.startswith(decl_open, 2):
        end = body.find(decl_close, 2, 2 + 2 * 200)
        if end < 0 or end % 2:
            return None
        after_decl = end + len(decl_close)
        if body[2:after_decl] not in _UTF16_DECLS[codec]:
            # The declaration is ASCII: every other byte is zero, the rest spell it.
            low, high = (body[2:end:2], body[3:end:2])
            if codec == "utf-16-be":
                low, high = high, low
            if high.strip(b"\x00"):
                return None
            m = _ENCODING_ATTR.search(low)
            if m is not None and (m.group(1) or m.group(2) or b"").lower() != b"utf-16":
                return None
    # A one-byte find is a memchr; the two-code-unit needles are searched only past it.
    if body.find(b"!") >= 0 and bang in body:
        return None
    # A 0x0D byte may be half of some other character: then the exact parse is merely slower.
    keep_blanks = body.find(b"\r") >= 0 or (
        body.find(b"?", after_decl) >= 0 and body.find(question, after_decl) >= 0
    )
    return body, keep_blanks


def _prepare_text(text: str, bom: str) -> tuple[bytes, bool]:
    """A UTF-16/32 body, already decoded: re-encode it as UTF-8 for the parser."""
    if text.startswith("\ufeff"):
        text = text[1:]
    rest = text.lstrip(" \t\r\n")
    start = len(text) - len(rest)
    if not rest:
        raise MalformedXml("the body is empty" if not text else "the body is only whitespace")
    if rest[0] != "<":
        raise _not_xml(rest[:24].encode("utf-8", "replace"), 0)
    decl = ""
    if rest[:6].encode() in _DECL_OPENINGS:
        end = text.find("?>", start)
        if end < 0:
            raise MalformedXml("the XML declaration is not closed with '?>'")
        decl = text[start : end + 2]
        m = _ENCODING_ATTR_TEXT.search(decl)
        if m is not None:
            group = 1 if m.group(1) is not None else 2
            declared = m.group(group)
            if not declared.lower().startswith(_UTF16_NAMES if bom == "UTF-16" else _UTF32_NAMES):
                raise MalformedXml(
                    f"the byte order mark says {bom} but the XML declaration says {declared}"
                )
            decl = decl[: m.start(group)] + "UTF-8" + decl[m.end(group) :]
        text = decl + text[:start] + text[end + 2 :]
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise MalformedXml(
            f"the body holds a character that cannot be encoded: {e.reason}"
        ) from None
    return data, _has_markup(data, len(decl.encode("utf-8")))


def _declared(data: bytes, start: int, end: int) -> str:
    """The encoding named by the pseudo-attribute at ``start``, lower case; "" if unreadable."""
    m = _ENCODING_ATTR.match(data, start, end)
    if m is None:
        return ""
    return (m.group(1) if m.group(1) is not None else m.group(2)).decode("latin-1").lower()


def _has_markup(data: bytes, after_decl: int) -> bool:
    """Refuse a DTD; say whether the parser must keep blank text (see ``prepare_body``).

    The fast parser (libxml2's NOBLANKS) drops blank text it takes for indentation. Two things
    make it drop blanks that belong to a string: a comment, CDATA section or PI right after
    them (``<string>  <![CDATA[x]]></string>`` is "  x"), and a carriage return right after
    them (``<string> \r\nx</string>`` would lose its space: libxml2 hands on the text before
    each CR as a piece of its own, and drops a piece that is all blanks). Elsewhere it drops
    only blanks between elements, which never mean anything. ``after_decl`` is where the XML
    declaration ends (0 without one).
    """
    if data.find(b"\r") >= 0 and (
        b" \r" in data or b"\n\r" in data or b"\t\r" in data or b"\r\r" in data
    ):
        refuse_doctype(data)
        return True
    # Searching for one byte is a memchr, tens of times faster than for "<!" on a large body;
    # most bodies hold no "!" or "?" at all and are done here.
    if data.find(b"!") >= 0 and b"<!" in data:
        refuse_doctype(data)
        return _blank_before_markup(data, after_decl)
    # Past the declaration, any "<?" is a processing instruction.
    return (
        data.find(b"?", after_decl) >= 0
        and data.find(b"<?", after_decl) >= 0
        and _blank_before_markup(data, after_decl)
    )


def _blank_before_markup(data: bytes, start: int) -> bool:
    # Whole comments, CDATA sections and PIs are matched, so that markup-like text inside
    # them (a "<!--" in a CDATA section) is not taken for the real thing.
    for m in _MARKUP.finditer(data, start):
        at = m.start()
        if at and data[at - 1] in _WS:
            return True
    return False


def refuse_doctype(data: bytes) -> None:
    """Raise ``UnsafeXml`` if ``data`` holds a DOCTYPE declaration (outside comments/CDATA/PIs)."""
    if b"<!DOCTYPE" not in data:
        return
    for m in _DOCTYPE_SCAN.finditer(data):
        if m.group(1) is not None:
            raise UnsafeXml(
                "a DOCTYPE declaration is not allowed: XML-RPC has no DTD, and DTDs carry "
                "entity declarations (XML bombs, external entities); nothing was expanded",
                line=_line(data, m.start()),
                column=m.start() - data.rfind(b"\n", 0, m.start()),
            )


def _decode(
    data: bytes, codec: str, name: str, *, offset: int = 0, whole: bytes | None = None
) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as e:
        at = offset + e.start
        line = _line(whole, at) if whole is not None else None
        raise MalformedXml(
            f"the body is not valid {name}: byte {data[e.start : e.start + 1]!r} at offset {at}",
            line=line,
        ) from None


@functools.lru_cache(maxsize=64)
def _codec_for(declared: str) -> str:
    """The Python codec for a declared encoding name; MalformedXml if there is none."""
    if len(declared) > 40 or not _ENCODING_NAME.fullmatch(declared):
        raise MalformedXml(f"invalid encoding name {declared[:40]!r} in the XML declaration")
    try:
        info = codecs.lookup(declared)
    except (LookupError, ValueError):
        raise MalformedXml(f"unknown encoding {declared!r} in the XML declaration") from None
    if not info._is_text_encoding or info.name.replace("-", "_") in _REFUSED_CODECS:
        raise MalformedXml(f"unknown encoding {declared!r} in the XML declaration")
    return info.name


def _is_wide(declared: str) -> bool:
    low = declared.lower().replace("_", "-")
    return low.startswith(_UTF16_NAMES) or low.startswith(_UTF32_NAMES)


def _not_xml(data: bytes, start: int) -> MalformedXml:
    snippet = data[start : start + 24]
    return MalformedXml(
        f"not XML: the body starts with {snippet!r} instead of '<'",
        line=_line(data, start),
        column=start - data.rfind(b"\n", 0, start),
    )


def _line(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


# ---------------------------------------------------------------- sniffing

_ROOT_NAME: Final = re.compile(rb"<(methodCall|methodResponse)(?=[ \t\r\n/>])")


def sniff_kind(body: bytes) -> Literal["call", "response"] | None:
    """``"call"`` or ``"response"`` from the root element's name, without a full parse.

    Skips a byte order mark, whitespace, the XML declaration, comments, processing instructions
    and a DOCTYPE. Looks at most at the first 64 KiB. Never raises.
    """
    try:
        return _sniff(bytes(body[:_SNIFF_WINDOW]))
    except Exception:  # a sniffer that raises would take the proxy down with it
        return None


def _sniff(head: bytes) -> Literal["call", "response"] | None:
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    elif head[:4] in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE):
        head = head[: len(head) // 4 * 4].decode("utf-32", "ignore").encode("utf-8")
    elif head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        head = head[: len(head) // 2 * 2].decode("utf-16", "ignore").encode("utf-8")
    elif head[:4] == b"<\x00?\x00":
        head = head[: len(head) // 2 * 2].decode("utf-16-le", "ignore").encode("utf-8")
    elif head[:4] == b"\x00<\x00?":
        head = head[: len(head) // 2 * 2].decode("utf-16-be", "ignore").encode("utf-8")
    pos = 0
    size = len(head)
    while pos < size:
        pos = _LEADING_WS.match(head, pos).end()  # type: ignore[union-attr]
        if head.startswith(b"<?", pos):
            end = head.find(b"?>", pos)
            if end < 0:
                return None
            pos = end + 2
        elif head.startswith(b"<!--", pos):
            end = head.find(b"-->", pos + 4)
            if end < 0:
                return None
            pos = end + 3
        elif head.startswith(b"<!DOCTYPE", pos):
            pos = _skip_doctype(head, pos)
            if pos < 0:
                return None
        else:
            break
    m = _ROOT_NAME.match(head, pos)
    if m is None:
        return None
    return "call" if m.group(1) == b"methodCall" else "response"


def _skip_doctype(head: bytes, pos: int) -> int:
    bracket = head.find(b"[", pos)
    close = head.find(b">", pos)
    if close < 0:
        return -1
    if 0 <= bracket < close:
        end = head.find(b"]", bracket)
        if end < 0:
            return -1
        close = head.find(b">", end)
        if close < 0:
            return -1
    return close + 1
