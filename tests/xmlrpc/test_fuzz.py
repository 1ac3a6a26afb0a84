"""Whatever the bytes, the decoder answers with a message or a CodecError: nothing else, no hang.

Mutations of the valid corpus (truncation, byte flips, spliced markup, deleted and duplicated
ranges), token soups of XML-RPC markup, and plain random bytes.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rpcspy.xmlrpc import (
    CodecError,
    Limits,
    decode_message,
    decode_request,
    decode_response,
    sniff_kind,
)
from tests.conftest import DATA

CORPUS = [p.read_bytes() for p in sorted((DATA / "valid").glob("*.xml"))]
SMALL_LIMITS = Limits(max_bytes=1 << 20, max_depth=8)
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_SPLICES = [
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#x110000;",
    b"&lol;",
    b"]]>",
    b"<![CDATA[",
    b"<!--",
    b"-->",
    b"<?",
    b"?>",
    b"<!DOCTYPE x [<!ENTITY a 'b'>]>",
    b"<value>",
    b"</value>",
    b"<struct>",
    b"</struct>",
    b"<member>",
    b"<name>",
    b"<array><data>",
    b"<i4>99999999999</i4>",
    b"<nil/>",
    b"<ex:i8>",
    b'xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"',
    b"\x00",
    b"\xff",
    b"\xef\xbb\xbf",
    b"\xfe\xff",
    b"\r\n",
    b" ",
    b'<?xml version="1.0" encoding="UTF-16"?>',
    b'<?xml version="1.0" encoding="x-nonsense"?>',
    b'<?xml version="1.0" encoding="a\x00"?>',
    b"<base64>!!</base64>",
    b"<double>nan</double>",
]


def _only_codec_errors(body: bytes) -> None:
    for decode in (decode_message, decode_request, decode_response):
        try:
            decode(body, SMALL_LIMITS)
        except CodecError as e:
            assert e.kind in {"malformed-xml", "unsafe-xml", "bad-value"}
            assert e.reason and "internal decoder error" not in e.reason
            assert e.message
    kind = sniff_kind(body)
    assert kind in (None, "call", "response")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    body = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 4))):
        if not body:
            break
        where = draw(st.integers(0, len(body) - 1))
        action = draw(st.sampled_from(["truncate", "flip", "splice", "delete", "duplicate"]))
        if action == "truncate":
            del body[where:]
        elif action == "flip":
            body[where] = draw(st.integers(0, 255))
        elif action == "splice":
            body[where:where] = draw(st.sampled_from(_SPLICES))
        elif action == "delete":
            del body[where : where + draw(st.integers(1, 40))]
        else:
            end = min(len(body), where + draw(st.integers(1, 200)))
            body[end:end] = body[where:end]
    return bytes(body)


_TOKENS = st.sampled_from(
    [
        b"<methodCall>",
        b"</methodCall>",
        b"<methodResponse>",
        b"</methodResponse>",
        b"<methodName>x</methodName>",
        b"<params>",
        b"</params>",
        b"<param>",
        b"</param>",
        b"<fault>",
        b"</fault>",
        b"<value>",
        b"</value>",
        b"<struct>",
        b"</struct>",
        b"<member>",
        b"</member>",
        b"<name>n</name>",
        b"<array>",
        b"</array>",
        b"<data>",
        b"</data>",
        b"<i4>1</i4>",
        b"<int>2</int>",
        b"<string>s</string>",
        b"<boolean>1</boolean>",
        b"<double>1.5</double>",
        b"<nil/>",
        b"<base64>aGk=</base64>",
        b"text",
        b" ",
        b"\n",
        b"<dateTime.iso8601>20240101T00:00:00</dateTime.iso8601>",
        b"<faultCode>",
        b"<!-- c -->",
    ]
)


@FUZZ
@given(mutated())
def test_mutated_corpus_raises_only_codec_errors(body: bytes) -> None:
    _only_codec_errors(body)


@FUZZ
@given(st.lists(_TOKENS, max_size=40).map(b"".join))
def test_token_soup_raises_only_codec_errors(body: bytes) -> None:
    _only_codec_errors(body)
    _only_codec_errors(b'<?xml version="1.0"?>\n' + body)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_codec_errors(body: bytes) -> None:
    _only_codec_errors(body)
    _only_codec_errors(b"<methodResponse>" + body)


@pytest.mark.parametrize("size", range(0, 400, 7))
def test_every_truncation_of_a_message_is_a_codec_error(size: int) -> None:
    body = (DATA / "valid" / "validator1-manyTypesTest-call.xml").read_bytes()
    assert size < len(body)
    with pytest.raises(CodecError):
        decode_message(body[:size])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=24), st.sampled_from(CORPUS))
def test_any_declared_encoding_name_raises_only_codec_errors(name: bytes, body: bytes) -> None:
    rest = body.split(b"?>", 1)[-1] if body.startswith(b"<?xml") else body
    _only_codec_errors(b'<?xml version="1.0" encoding="' + name + b'"?>' + rest)
    _only_codec_errors(b"\xef\xbb\xbf<?xml version='1.0' encoding='" + name + b"'?>" + rest)
    _only_codec_errors(
        ("\ufeff<?xml version='1.0' encoding='" + name.decode("latin-1") + "'?>").encode(
            "utf-16-le"
        )
        + rest
    )
