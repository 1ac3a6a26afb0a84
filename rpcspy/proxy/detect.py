"""Cheap decisions the proxy makes on its hot path: is this exchange XML-RPC, and is it watched.

An exchange is recorded when ``--watch`` lets it through (``watch_matches``) and it is a ``POST``
whose body is a call (``sniff_body``), or a ``POST`` to a watched endpoint (``watched_endpoint``)
whatever its body: there a body that is not XML-RPC is worth a record (with a problem) too.

All of these run in mitmproxy's event loop for every POST, so they look at a bounded prefix only:
the full decode happens later, off the loop.
"""

from __future__ import annotations

import fnmatch
import zlib
from collections.abc import Sequence
from typing import Literal

from rpcspy.xmlrpc import sniff_kind

__all__ = [
    "SNIFF_BYTES",
    "is_xml_content_type",
    "is_xmlrpc_path",
    "looks_like_xml",
    "sniff_body",
    "watch_matches",
    "watched_endpoint",
]

#: How much of a (decompressed) body the sniffer looks at. Enough for an XML declaration, a
#: DOCTYPE and comments before the root element; bounded so a huge body costs nothing extra.
SNIFF_BYTES = 64 * 1024
# Compressed input fed to the sniffing decompressor; its output is capped at SNIFF_BYTES, so a
# decompression bomb cannot make this expensive.
_SNIFF_COMPRESSED = 64 * 1024


def _head(body: bytes, content_encoding: str | None) -> bytes | None:
    """The first ``SNIFF_BYTES`` of the body with its content-encoding undone, or None."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return body[:SNIFF_BYTES]
    chunk = body[:_SNIFF_COMPRESSED]
    if encoding in ("gzip", "x-gzip"):
        wbits_options = [zlib.MAX_WBITS | 16]
    elif encoding == "deflate":
        # "deflate" is zlib-wrapped by the RFC, raw deflate in practice often enough.
        wbits_options = [zlib.MAX_WBITS, -zlib.MAX_WBITS]
    else:
        return None
    for wbits in wbits_options:
        try:
            return zlib.decompressobj(wbits).decompress(chunk, SNIFF_BYTES)
        except zlib.error:
            continue
    return None


def sniff_body(
    body: bytes | None, content_encoding: str | None = None
) -> Literal["call", "response"] | None:
    """Whether a wire body is an XML-RPC call or response, judged from its first bytes only.

    ``body`` is the raw, still content-encoded body; gzip and deflate are undone for the sniff
    (bounded). Never raises.
    """
    if not body:
        return None
    head = _head(body, content_encoding)
    if not head:
        return None
    try:
        return sniff_kind(head)
    except Exception:
        # sniff_kind promises not to raise; the proxy must not break on a codec bug either.
        return None


def looks_like_xml(body: bytes | None, content_encoding: str | None = None) -> bool:
    """Whether a wire body starts like XML (``<`` after a BOM and whitespace). Never raises."""
    if not body:
        return False
    head = _head(body, content_encoding)
    if not head:
        return False
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if head.startswith(bom):
            return True  # a byte order mark only precedes text; the codec will judge the rest
    return head.lstrip(b" \t\r\n")[:1] == b"<"


def watch_matches(globs: Sequence[str], host: str, port: int, path: str) -> bool:
    """Whether an exchange is watched: no globs (or only blank ones) watches everything.

    Each glob is matched (fnmatch, case-insensitive for the host) against the host, the path
    (without its query string), ``host:port`` and ``host/path`` / ``host:port/path``, so
    ``/RPC2``, ``api.example.com``, ``*.example.com:8443`` and ``api.example.com/xmlrpc*`` all work.
    """
    patterns = [g.strip() for g in globs if g.strip()]
    if not patterns:
        return True
    host = host.lower()
    bare_path = path.split("?", 1)[0] or "/"
    candidates = (
        host,
        bare_path,
        f"{host}:{port}",
        f"{host}{bare_path}",
        f"{host}:{port}{bare_path}",
    )
    for pattern in patterns:
        if any(fnmatch.fnmatchcase(c, pattern) for c in candidates):
            return True
        # Host names are case-insensitive; a pattern typed in capitals should still match.
        lowered = pattern.lower()
        if lowered != pattern and any(
            fnmatch.fnmatchcase(c, lowered) for c in (candidates[0], candidates[2])
        ):
            return True
    return False


#: Path segments that name an XML-RPC endpoint by convention (compared in lower case):
#: ``/RPC2`` (Python's stdlib, supervisord, xmlrpc-c, Ruby, Frontier), and anything starting
#: with ``xmlrpc`` (``/xmlrpc``, ``/xmlrpc.php`` of WordPress, ``/xmlrpc.cgi`` of Bugzilla,
#: ``/xmlrpc/2/object`` of Odoo, Trac's ``/login/xmlrpc``), ``xml-rpc`` or ``xml_rpc``.
_ENDPOINT_SEGMENT = "rpc2"
_ENDPOINT_PREFIXES = ("xmlrpc", "xml-rpc", "xml_rpc")
_XML_TYPES = frozenset({"text/xml", "application/xml"})


def is_xmlrpc_path(path: str) -> bool:
    """Whether a path names an XML-RPC endpoint by convention (``/RPC2``, ``/xmlrpc.php`` ...).

    True when one of its segments (query string cut) is ``RPC2`` or starts with ``xmlrpc``,
    ``xml-rpc`` or ``xml_rpc``, in any case.
    """
    bare = path.split("?", 1)[0].split("#", 1)[0]
    for segment in bare.lower().split("/"):
        if segment == _ENDPOINT_SEGMENT or segment.startswith(_ENDPOINT_PREFIXES):
            return True
    return False


def is_xml_content_type(content_type: str | None) -> bool:
    """Whether a Content-Type is ``text/xml`` or ``application/xml`` (parameters ignored)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() in _XML_TYPES


def _path_globs(globs: Sequence[str]) -> list[str]:
    # A glob naming a path (``/RPC2``, ``api.example.com/xmlrpc*``) names an endpoint; one naming
    # only hosts (``*.example.com``, ``host:8443``) selects servers, not endpoints on them.
    return [g.strip() for g in globs if "/" in g]


def watched_endpoint(
    globs: Sequence[str],
    host: str,
    port: int,
    path: str,
    content_type: str | None,
    *,
    reverse: bool,
) -> bool:
    """Whether a POST goes to a watched endpoint: recorded even when its body is not XML-RPC.

    A watched endpoint is one named by a ``--watch`` glob that has a ``/`` in it (a path or
    ``host/path``), or a conventional XML-RPC path (``is_xmlrpc_path``), or ``/`` when the proxy
    stands in for one server (reverse mode); a POST declaring ``text/xml`` or ``application/xml``
    counts wherever it goes. ``watch_matches`` still decides first whether the exchange is looked
    at at all.
    """
    if is_xml_content_type(content_type) or is_xmlrpc_path(path):
        return True
    bare_path = path.split("?", 1)[0] or "/"
    if reverse and bare_path == "/":
        return True
    patterns = _path_globs(globs)
    return bool(patterns) and watch_matches(patterns, host, port, path)
