"""sniff_kind: the proxy's cheap "is this XML-RPC?" check."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rpcspy.xmlrpc import sniff_kind


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"<methodCall><methodName>x</methodName></methodCall>", "call"),
        (b"<methodResponse/>", "response"),
        (b'<?xml version="1.0"?>\n<methodCall>', "call"),
        (
            b"\xef\xbb\xbf\r\n  <?xml version='1.0'?><!-- a --><?pi x?>\n<methodResponse >",
            "response",
        ),
        (b'<!DOCTYPE m [<!ENTITY a "b">]><methodCall>', "call"),
        (b"<!DOCTYPE methodCall><methodCall>", "call"),
        (
            "\ufeff<?xml version='1.0' encoding='UTF-16'?><methodResponse>".encode("utf-16-le"),
            "response",
        ),
        ("\ufeff<methodCall>".encode("utf-16-be"), "call"),
        ("<?xml version='1.0'?><methodCall>".encode("utf-16-le"), "call"),
        (b"<methodCall\n>", "call"),
        (b"<methodCallX>", None),
        (b"<methodcall>", None),
        (b"<rpc:methodCall>", None),
        (b"<html><body>methodCall</body></html>", None),
        (b'{"method": "methodCall"}', None),
        (b"", None),
        (b"   ", None),
        (b"<!-- never closed <methodCall>", None),
        (b"<?xml version='1.0'", None),
        (b"<!-- big -->" * 10000 + b"<methodCall>", None),
    ],
)
def test_sniff_kind(body: bytes, kind: str | None) -> None:
    assert sniff_kind(body) == kind


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_sniff_kind_never_raises(body: bytes) -> None:
    assert sniff_kind(body) in (None, "call", "response")
    assert sniff_kind(b"<?xml " + body) in (None, "call", "response")
    assert sniff_kind(b"\xff\xfe" + body) in (None, "call", "response")


def test_sniff_kind_takes_any_bytes_like_and_junk() -> None:
    assert sniff_kind(bytearray(b"<methodCall>")) == "call"  # type: ignore[arg-type]
    assert sniff_kind(memoryview(b"<methodResponse>")) == "response"  # type: ignore[arg-type]
    assert sniff_kind("<methodCall>") is None  # type: ignore[arg-type]
    assert sniff_kind(None) is None  # type: ignore[arg-type]
