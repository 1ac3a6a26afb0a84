"""The shared text renderings of typed values."""

from __future__ import annotations

from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.render import (
    format_call,
    format_message_tree,
    format_response,
    format_short,
    format_typed,
)
from rpcspy.xmlrpc.values import (
    I4,
    Array,
    Base64,
    Boolean,
    DateTime,
    Double,
    ExNil,
    Int,
    Nil,
    String,
    Struct,
    UntypedString,
)


def test_typed_scalars_show_their_wire_type() -> None:
    assert format_typed(I4(1)) == "i4 1"
    assert format_typed(Int(1)) == "int 1"
    assert format_typed(Boolean(1)) == "boolean true"
    assert format_typed(String("1")) == 'string "1"'
    assert format_typed(UntypedString("1")) == 'string (untyped) "1"'
    assert format_typed(Double(0.1)) == "double 0.1"
    assert format_typed(DateTime("20240101T00:00:00")) == "dateTime.iso8601 20240101T00:00:00"
    assert format_typed(Base64(b"abc")) == "base64 <base64 3 B>"
    assert format_typed(Nil()) == "nil nil"
    assert format_typed(ExNil()) == "ex:nil nil"


def test_strings_are_quoted_on_one_line() -> None:
    assert format_short(String('a "b"\nc')) == '"a \\"b\\"\\nc"'


def test_short_form_nests_and_cuts_at_the_limit() -> None:
    v = Struct(name=String("bob"), ids=Array([Int(1), Int(2)]))
    assert format_short(v) == '{name: "bob", ids: [1, 2]}'
    long = Array([Int(i) for i in range(1000)])
    cut = format_short(long, limit=20)
    assert len(cut) == 20
    assert cut.endswith("…")
    assert cut.startswith("[0, 1, 2")


def test_call_and_response_lines() -> None:
    call = MethodCall("echo", (String("hi"), I4(2)))
    assert format_call(call) == 'echo("hi", 2)'
    assert format_response(MethodResponse(String("HI"))) == '"HI"'
    assert format_response(Fault.make(4, "Too many parameters")) == "fault 4: Too many parameters"
    assert format_call(MethodCall("x", (String("a" * 200),)), limit=20).endswith("…)")


def test_tree_shows_every_value_with_its_type() -> None:
    call = MethodCall("dir.create", (Struct(path=String("a/b"), mode=I4(0o755), tags=Array([])),))
    assert list(format_message_tree(call)) == [
        "call dir.create",
        "  params[0]: struct (3 members)",
        '    path: string "a/b"',
        "    mode: i4 493",
        "    tags: array (0 items)",
    ]
    fault = Fault(3, "nope", Struct(faultCode=Int(3), faultString=String("nope"), extra=Nil()))
    assert list(format_message_tree(fault)) == ["fault 3: nope", "  extra: nil nil"]


def test_tree_survives_deep_nesting() -> None:
    v: Array = Array([])
    for _ in range(5000):
        v = Array([v])
    lines = list(format_message_tree(MethodResponse(v)))
    assert len(lines) == 5001


def test_values_with_edge_cases_have_a_repr() -> None:
    from rpcspy.xmlrpc.values import ExBigInteger, parse_datetime

    assert "bit integer" in repr(ExBigInteger(10**20000))
    assert parse_datetime("\uff12\uff10\uff12\uff140101T00:00:00") is None  # fullwidth digits
    assert parse_datetime("20240101T00:00:00") is not None


def test_huge_integers_render_without_error() -> None:
    from rpcspy.xmlrpc.values import ExBigInteger

    assert format_typed(ExBigInteger(10**20000)) == "ex:biginteger <66439-bit integer>"
