"""Encoder: wire tags kept, escaping, refusals with paths, the ex namespace."""

from __future__ import annotations

import math
import xmlrpc.client
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rpcspy.xmlrpc import (
    I4,
    I8,
    Array,
    BadValue,
    Base64,
    Boolean,
    DateTime,
    Double,
    ExBigDecimal,
    ExBigInteger,
    ExDom,
    ExFloat,
    ExI1,
    ExNil,
    Fault,
    Int,
    MethodCall,
    MethodResponse,
    Nil,
    String,
    Struct,
    UntypedString,
    Value,
    decode_response,
    encode_request,
    encode_response,
    encode_value,
)

EX = "http://ws.apache.org/xmlrpc/namespaces/extensions"


@pytest.mark.parametrize(
    ("value", "xml"),
    [
        (I4(5), "<value><i4>5</i4></value>"),
        (Int(5), "<value><int>5</int></value>"),
        (I8(-(2**63)), "<value><i8>-9223372036854775808</i8></value>"),
        (Boolean(1), "<value><boolean>1</boolean></value>"),
        (Boolean(0), "<value><boolean>0</boolean></value>"),
        (String("a b"), "<value><string>a b</string></value>"),
        (UntypedString("a b"), "<value>a b</value>"),
        (UntypedString(""), "<value></value>"),
        (Double(0.1), "<value><double>0.1</double></value>"),
        (Double(1e100), "<value><double>1e+100</double></value>"),
        (
            DateTime("2024-01-31T08:09:10Z"),
            "<value><dateTime.iso8601>2024-01-31T08:09:10Z</dateTime.iso8601></value>",
        ),
        (Base64(b"\x00\xffhi"), "<value><base64>AP9oaQ==</base64></value>"),
        (Nil(), "<value><nil/></value>"),
        (
            Array([Int(1), Struct()]),
            "<value><array><data><value><int>1</int></value><value><struct></struct></value></data></array></value>",
        ),
        (
            Struct(a=String("x")),
            "<value><struct><member><name>a</name><value><string>x</string></value></member></struct></value>",
        ),
    ],
)
def test_wire_tags_are_kept(value: Value, xml: str) -> None:
    assert encode_value(value) == xml


def test_escaping_covers_markup_cdata_end_and_carriage_returns() -> None:
    assert encode_value(String("a<b>&c]]>d\r\ne")) == (
        "<value><string>a&lt;b&gt;&amp;c]]&gt;d&#13;\ne</string></value>"
    )
    body = encode_response(MethodResponse(Struct({"<&>\r": UntypedString("]]>")})))
    assert b"<name>&lt;&amp;&gt;&#13;</name>" in body
    assert decode_response(body) == MethodResponse(Struct({"<&>\r": UntypedString("]]>")}))


@pytest.mark.parametrize(
    "char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff"]
)
def test_characters_xml_cannot_carry_are_refused_with_the_path(char: str) -> None:
    value = Struct(items=Array([String("fine"), String(f"bad{char}here")]))
    with pytest.raises(BadValue, match=f"U\\+{ord(char):04X}") as info:
        encode_request(MethodCall("m", (Int(1), value)))
    assert info.value.path == "params[1].items[1]"


def test_bad_member_names_and_method_names_are_refused() -> None:
    with pytest.raises(BadValue) as info:
        encode_value(Struct({"ok": Struct({"bad\x00": Int(1)})}))
    assert info.value.path == 'ok["bad\\u0000"]'
    with pytest.raises(BadValue, match="method name"):
        encode_request(MethodCall("bad\x01name"))
    with pytest.raises(BadValue, match="method name is empty"):
        encode_request(MethodCall("  "))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (I4(2**31), "out of range for <i4>"),
        (Int(-(2**31) - 1), "out of range for <int>"),
        (I8(2**63), "out of range for <i8>"),
        (ExI1(200), "out of range for <ex:i1>"),
        (Double(math.nan), "cannot be nan"),
        (ExFloat(math.inf), "cannot be inf"),
        (ExBigDecimal(Decimal("NaN")), "cannot be NaN"),
        (ExBigInteger(10**5000), "too many digits"),
        (DateTime("yesterday"), "not an ISO 8601 date-time"),
        (ExDom("<unclosed>"), "not a well-formed XML fragment"),
        (ExDom("a & b"), "not a well-formed XML fragment"),
    ],
    ids=lambda x: type(x).__name__ if not isinstance(x, str) else "",
)
def test_values_that_cannot_be_written_faithfully_are_refused(value: Value, reason: str) -> None:
    with pytest.raises(BadValue, match=reason) as info:
        encode_response(MethodResponse(Array([Int(0), value])))
    assert info.value.path == "result[1]"


def test_plain_python_is_not_a_value() -> None:
    with pytest.raises(BadValue, match="not an XML-RPC value: int"):
        encode_value(5)  # type: ignore[arg-type]
    with pytest.raises(BadValue, match="struct member name must be a string"):
        encode_value(Struct({1: Int(1)}))  # type: ignore[dict-item]


def test_a_value_that_contains_itself_is_refused() -> None:
    loop = Array()
    loop.append(loop)
    with pytest.raises(BadValue, match="nested more than 256 levels"):
        encode_value(loop)


def test_ex_namespace_is_declared_on_the_root_only_when_needed() -> None:
    plain = encode_request(MethodCall("m", (Int(1),)))
    assert plain.startswith(b'<?xml version="1.0"?>\n<methodCall><methodName>')
    assert b"xmlns" not in plain
    extended = encode_request(MethodCall("m", (Array([ExNil()]),)))
    assert extended.startswith(f'<?xml version="1.0"?>\n<methodCall xmlns:ex="{EX}">'.encode())
    assert extended.count(b"xmlns") == 1
    fault = Fault(1, "x", Struct(faultCode=Int(1), faultString=String("x"), extra=ExNil()))
    assert f'<methodResponse xmlns:ex="{EX}">'.encode() in encode_response(fault)
    assert encode_value(ExNil()) == f'<value xmlns:ex="{EX}"><ex:nil/></value>'


def test_fault_must_agree_with_its_struct() -> None:
    assert b"<fault>" in encode_response(Fault.make(4, "nope"))
    with pytest.raises(BadValue, match="says code 4"):
        encode_response(Fault(4, "nope", Struct(faultCode=Int(5), faultString=String("nope"))))
    with pytest.raises(BadValue, match="integer faultCode"):
        encode_response(Fault(4, "nope", Struct(faultCode=String("4"), faultString=String("nope"))))
    with pytest.raises(BadValue, match="string faultString"):
        encode_response(Fault(4, "nope", Struct(faultCode=Int(4))))


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_doubles_round_trip_exactly_through_the_stdlib_too(number: float) -> None:
    body = encode_response(MethodResponse(Double(number)))
    (theirs,), _ = xmlrpc.client.loads(body)
    assert isinstance(theirs, float)
    assert theirs == number and math.copysign(1, theirs) == math.copysign(1, number)
    assert decode_response(body) == MethodResponse(Double(number))


def test_output_is_utf8_with_a_declaration() -> None:
    body = encode_response(MethodResponse(String("é☕")))
    assert body.startswith(b'<?xml version="1.0"?>\n<methodResponse>')
    assert "é☕".encode() in body


def test_nesting_the_decoder_accepts_can_be_encoded() -> None:
    value: Value = Int(1)
    for _ in range(100):
        value = Array([value])
    assert decode_response(encode_response(MethodResponse(value))) == MethodResponse(value)
