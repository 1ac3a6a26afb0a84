"""The hot-path decisions: is a body XML-RPC (with content encodings), is an exchange watched."""

from __future__ import annotations

import gzip
import zlib

import pytest

from rpcspy.proxy import detect
from rpcspy.proxy.detect import (
    SNIFF_BYTES,
    is_xml_content_type,
    is_xmlrpc_path,
    looks_like_xml,
    sniff_body,
    watch_matches,
    watched_endpoint,
)

CALL = b"<?xml version='1.0'?>\n<methodCall><methodName>echo</methodName><params/></methodCall>"
RESPONSE = (
    b"<?xml version='1.0'?>\n"
    b"<methodResponse><params><param><value>x</value></param></params></methodResponse>"
)


def test_plain_bodies() -> None:
    assert sniff_body(CALL) == "call"
    assert sniff_body(RESPONSE) == "response"
    assert sniff_body(b"<html><body>401</body></html>") is None
    assert sniff_body(b'{"jsonrpc": "2.0"}') is None
    assert sniff_body(b"") is None
    assert sniff_body(None) is None


def test_identity_encoding_is_plain() -> None:
    assert sniff_body(CALL, "identity") == "call"


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(CALL)),
        ("GZIP", gzip.compress(CALL)),
        ("x-gzip", gzip.compress(CALL)),
        ("deflate", zlib.compress(CALL)),
    ],
)
def test_compressed_bodies_are_unpacked_for_the_sniff(encoding: str, body: bytes) -> None:
    assert sniff_body(body, encoding) == "call"


def test_raw_deflate() -> None:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    body = c.compress(CALL) + c.flush()
    assert sniff_body(body, "deflate") == "call"


def test_compressed_body_without_header_is_not_sniffed_as_xml() -> None:
    assert sniff_body(gzip.compress(CALL)) is None


def test_broken_or_unknown_encodings_do_not_raise() -> None:
    assert sniff_body(b"not gzip at all", "gzip") is None
    assert sniff_body(b"\x1f\x8b\x08\x00garbage", "gzip") is None
    assert sniff_body(CALL, "br") is None
    assert sniff_body(CALL, "zstd") is None


def test_a_gzip_bomb_is_sniffed_from_a_bounded_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    inflated = 64 << 20
    bomb = gzip.compress(CALL[:-20] + b" " * inflated, 9)
    assert len(bomb) < inflated // 500
    produced: list[int] = []
    real = zlib.decompressobj

    class Counting:
        def __init__(self, wbits: int) -> None:
            self._d = real(wbits)

        def decompress(self, data: bytes, max_length: int = 0) -> bytes:
            out = self._d.decompress(data, max_length)
            produced.append(len(out))
            return out

    monkeypatch.setattr(detect.zlib, "decompressobj", Counting)
    assert sniff_body(bomb, "gzip") == "call"
    assert sum(produced) <= SNIFF_BYTES


def test_a_long_prolog_within_the_window_is_skipped() -> None:
    prolog = b"<!-- " + b"x" * (SNIFF_BYTES // 2) + b" -->"
    assert sniff_body(prolog + CALL) == "call"


def test_a_doctype_before_the_root_is_skipped() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b"<methodCall><methodName>&lol2;</methodName></methodCall>"
    )
    assert sniff_body(bomb) == "call"


@pytest.mark.parametrize(
    ("globs", "host", "port", "path", "expected"),
    [
        ((), "a.example.com", 80, "/RPC2", True),
        (("/RPC2",), "a.example.com", 80, "/RPC2", True),
        (("/RPC2",), "a.example.com", 80, "/RPC2?x=1", True),
        (("/RPC2",), "a.example.com", 80, "/xmlrpc", False),
        (("*.example.com",), "a.example.com", 80, "/", True),
        (("*.example.com",), "A.Example.COM", 80, "/", True),
        (("*.example.com",), "example.org", 80, "/", False),
        (("127.0.0.1:8000",), "127.0.0.1", 8000, "/RPC2", True),
        (("127.0.0.1:8000",), "127.0.0.1", 8001, "/RPC2", False),
        (("api.example.com/xml*",), "api.example.com", 443, "/xmlrpc.php", True),
        (("api.example.com/xml*",), "api.example.com", 443, "/json", False),
        (("*:8443/RPC2",), "h", 8443, "/RPC2", True),
        (("/nope", "/RPC*"), "h", 1, "/RPC2", True),
        (("  ",), "h", 1, "/RPC2", True),
    ],
)
def test_watch_globs(
    globs: tuple[str, ...], host: str, port: int, path: str, expected: bool
) -> None:
    assert watch_matches(globs, host, port, path) is expected


def test_paths_stay_case_sensitive() -> None:
    assert not watch_matches(["/RPC2"], "h", 80, "/rpc2")
    assert watch_matches(["API.EXAMPLE.COM"], "api.example.com", 80, "/rpc2")


@pytest.mark.parametrize(
    ("body", "encoding", "expected"),
    [
        (b"<?xml version='1.0'?><methodCal>", None, True),
        (b"  \r\n<x/>", None, True),
        (b"\xef\xbb\xbf<x/>", None, True),
        (gzip.compress(b"<x/>"), "gzip", True),
        (b'{"jsonrpc": "2.0"}', None, False),
        (b"\x00\x01 binary", None, False),
        (b"", None, False),
        (None, None, False),
    ],
)
def test_looks_like_xml(body: bytes | None, encoding: str | None, expected: bool) -> None:
    assert looks_like_xml(body, encoding) is expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/RPC2", True),
        ("/rpc2?x=1", True),
        ("/xmlrpc", True),
        ("/XMLRPC", True),
        ("/xmlrpc.php", True),
        ("/bugzilla/xmlrpc.cgi", True),
        ("/xmlrpc/2/object", True),
        ("/login/xmlrpc", True),
        ("/api/xml-rpc", True),
        ("/", False),
        ("/RPC", False),
        ("/RPC22", False),
        ("/api/json", False),
        ("/search?q=xmlrpc", False),
        ("/wp-login.php", False),
    ],
)
def test_conventional_xmlrpc_paths(path: str, expected: bool) -> None:
    assert is_xmlrpc_path(path) is expected


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/xml", True),
        ("TEXT/XML; charset=utf-8", True),
        ("application/xml", True),
        ("application/soap+xml", False),
        ("application/json", False),
        ("", False),
        (None, False),
    ],
)
def test_xml_content_types(content_type: str | None, expected: bool) -> None:
    assert is_xml_content_type(content_type) is expected


@pytest.mark.parametrize(
    ("globs", "path", "content_type", "reverse", "expected"),
    [
        ((), "/RPC2", "application/json", False, True),
        ((), "/api", "text/xml", False, True),
        ((), "/api", "application/json", False, False),
        ((), "/", "application/x-www-form-urlencoded", True, True),
        ((), "/?page=1", None, True, True),
        ((), "/", "application/x-www-form-urlencoded", False, False),
        ((), "/index.php", None, True, False),
        (("/api/*",), "/api/v1", "application/json", False, True),
        (("api.example.com/rpc",), "/rpc", None, False, True),
        (("api.example.com/rpc",), "/other", None, False, False),
        (("api.example.com",), "/json", "application/json", False, False),
        (("*.example.com", "*:443"), "/json", "application/json", False, False),
    ],
)
def test_watched_endpoints(
    globs: tuple[str, ...], path: str, content_type: str | None, reverse: bool, expected: bool
) -> None:
    got = watched_endpoint(globs, "api.example.com", 443, path, content_type, reverse=reverse)
    assert got is expected
