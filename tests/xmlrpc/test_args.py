"""The one-word typed argument syntax: ``parse_arg`` and its inverse ``format_arg``."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from rpcspy.xmlrpc import (
    I4,
    I8,
    Array,
    BadValue,
    Base64,
    Boolean,
    DateTime,
    Double,
    ExI8,
    ExNil,
    Int,
    Nil,
    String,
    Struct,
    UntypedString,
    Value,
    encode_value,
)
from rpcspy.xmlrpc.args import format_arg, parse_arg
from tests.xmlrpc.strategies import values

PARSED: list[tuple[str, Value]] = [
    ("i4:5", I4(5)),
    ("int:5", Int(5)),
    ("i8:9000000000", I8(9_000_000_000)),
    ("i4:-2147483648", I4(-(1 << 31))),
    ("double:1.5", Double(1.5)),
    ("double:2", Double(2.0)),
    ("boolean:true", Boolean(True)),
    ("boolean:0", Boolean(False)),
    ("boolean:FALSE", Boolean(False)),
    ("string:x", String("x")),
    ("string:", String("")),
    ("string:5", String("5")),
    ("string:nil", String("nil")),
    ("string:a:b", String("a:b")),
    ("string: padded ", String(" padded ")),
    ("base64:aGk=", Base64(b"hi")),
    ("base64:", Base64(b"")),
    ("datetime:20261201T10:00:00", DateTime("20261201T10:00:00")),
    ("dateTime.iso8601:2026-12-01T10:00:00", DateTime("2026-12-01T10:00:00")),
    ("nil", Nil()),
    ("5", Int(5)),
    ("-7", Int(-7)),
    ("+3", Int(3)),
    ("4294967296", I8(1 << 32)),
    ("1.5", Double(1.5)),
    ("-.5", Double(-0.5)),
    ("1e3", Double(1000.0)),
    ("true", Boolean(True)),
    ("false", Boolean(False)),
    ("hello", String("hello")),
    ("a b", String("a b")),
    ("", String("")),
    ("http://example.com/x", String("http://example.com/x")),
    ("True", String("True")),
    ("nan", String("nan")),
    ("@", String("@")),
    (
        '{"a": 1, "b": [true, null, 2.5, "x"]}',
        Struct({"a": Int(1), "b": Array([Boolean(True), Nil(), Double(2.5), String("x")])}),
    ),
    ("[1, 2]", Array([Int(1), Int(2)])),
    ("[]", Array([])),
    ('json:"5"', String("5")),
    ("json:5", Int(5)),
    ("json:null", Nil()),
    ('typed:{"array": [{"i4": 1}, {"ex:nil": null}]}', Array([I4(1), ExNil()])),
    ('typed:{"ex:i8": 3}', ExI8(3)),
]


@pytest.mark.parametrize(("text", "value"), PARSED)
def test_each_form_reads_as_its_typed_value(text: str, value: Value) -> None:
    parsed = parse_arg(text)
    assert parsed == value
    assert type(parsed) is type(value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("i4:x", "not an integer"),
        ("i4:2147483648", "does not fit"),
        ("int:1.5", "not an integer"),
        ("double:abc", "not a number"),
        ("boolean:yes", "neither true/false"),
        ("base64:***", "not base64"),
        ("datetime:yesterday", "not a date and time"),
        ("[1, 2", "JSON"),
        ("json:", "JSON"),
        ('typed:{"nope": 1}', "nope"),
        ("@data.bin", "files are not read here"),
    ],
)
def test_a_bad_word_is_refused_with_its_reason(text: str, reason: str) -> None:
    with pytest.raises(BadValue, match=reason):
        parse_arg(text)


def test_at_file_is_read_by_the_callers_function() -> None:
    asked: list[str] = []

    def read(name: str) -> bytes:
        asked.append(name)
        return b"\x00\xffbytes"

    assert parse_arg("@dir/data.bin", read_file=read) == Base64(b"\x00\xffbytes")
    assert asked == ["dir/data.bin"]
    # base64: text never reads a file.
    assert parse_arg("base64:QA==", read_file=read) == Base64(b"@")
    assert asked == ["dir/data.bin"]


def test_a_file_that_cannot_be_read_is_a_bad_value_naming_it() -> None:
    def read(name: str) -> bytes:
        raise FileNotFoundError(2, "No such file or directory")

    with pytest.raises(BadValue, match=r"cannot read missing\.bin: No such file"):
        parse_arg("@missing.bin", read_file=read)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Int(5), "5"),
        (I4(5), "i4:5"),
        (I8(5), "i8:5"),
        (Double(1.5), "1.5"),
        (Boolean(True), "true"),
        (String("hello"), "hello"),
        (String("5"), "string:5"),
        (String("true"), "string:true"),
        (String("{x"), "string:{x"),
        (String("i4:5"), "string:i4:5"),
        (Nil(), "nil"),
        (Base64(b"hi"), "base64:aGk="),
        (DateTime("20261201T10:00:00"), "datetime:20261201T10:00:00"),
        (Struct({"a": Int(1), "b": Array([String("x"), Nil()])}), '{"a": 1, "b": ["x", null]}'),
        (Array([I4(1)]), 'typed:{"array": [{"i4": 1}]}'),
        (UntypedString("u"), 'typed:{"untyped": "u"}'),
    ],
)
def test_format_arg_writes_the_shortest_form_that_reads_back(value: Value, text: str) -> None:
    assert format_arg(value) == text
    again = parse_arg(text)
    assert again == value and type(again) is type(value)


@settings(max_examples=300, deadline=None)
@given(values)
def test_every_value_survives_format_then_parse(value: Value) -> None:
    text = format_arg(value)
    again = parse_arg(text)
    assert again == value
    assert encode_value(again) == encode_value(value)
