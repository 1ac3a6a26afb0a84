"""The JSON form of typed values and messages: exact shapes, lossless round trips, clear errors."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import orjson
import pytest
from hypothesis import given

from rpcspy.xmlrpc.errors import BadValue
from rpcspy.xmlrpc.jsonform import (
    call_from_json,
    call_to_json,
    response_from_json,
    response_to_json,
    value_from_json,
    value_to_json,
)
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.values import (
    ALL_TYPES,
    I4,
    I8,
    Array,
    Base64,
    Boolean,
    DateTime,
    Double,
    ExBigDecimal,
    ExBigInteger,
    ExDateTime,
    ExDom,
    ExFloat,
    ExI1,
    ExI2,
    ExI8,
    ExNil,
    ExSerializable,
    Int,
    Nil,
    String,
    Struct,
    UntypedString,
    Value,
)
from tests.capture.strategies import calls, responses, values

SHAPES: list[tuple[Value, object]] = [
    (I4(5), {"i4": 5}),
    (Int(-5), {"int": -5}),
    (I8(2**40), {"i8": 2**40}),
    (Boolean(True), {"boolean": True}),
    (Boolean(False), {"boolean": False}),
    (String("x"), {"string": "x"}),
    (UntypedString("x"), {"untyped": "x"}),
    (Double(1.5), {"double": 1.5}),
    (DateTime("20240101T00:00:00"), {"dateTime.iso8601": "20240101T00:00:00"}),
    (Base64(b"hello"), {"base64": "aGVsbG8="}),
    (Nil(), {"nil": None}),
    (ExI1(-5), {"ex:i1": -5}),
    (ExI2(300), {"ex:i2": 300}),
    (ExI8(-(2**62)), {"ex:i8": -(2**62)}),
    (
        ExBigInteger(123456789012345678901234567890),
        {"ex:biginteger": "123456789012345678901234567890"},
    ),
    (ExBigDecimal("1.50"), {"ex:bigdecimal": "1.50"}),
    (ExFloat(1.5), {"ex:float": 1.5}),
    (ExDateTime("20240101T00:00:00.250+0100"), {"ex:dateTime": "20240101T00:00:00.250+0100"}),
    (ExDom("<a>b</a>"), {"ex:dom": "<a>b</a>"}),
    (ExSerializable(b"\xac\xed\x00\x05"), {"ex:serializable": "rO0ABQ=="}),
    (ExNil(), {"ex:nil": None}),
    (
        Struct(b=I4(1), a=Array([String("s"), Nil()])),
        {"struct": {"b": {"i4": 1}, "a": {"array": [{"string": "s"}, {"nil": None}]}}},
    ),
    (Array([]), {"array": []}),
    (Struct(), {"struct": {}}),
]


@pytest.mark.parametrize(("value", "form"), SHAPES, ids=lambda x: repr(x)[:40])
def test_each_type_has_the_documented_shape(value: Value, form: object) -> None:
    assert value_to_json(value) == form
    back = value_from_json(form)
    assert back == value
    assert type(back) is type(value)


def test_every_wire_type_is_covered() -> None:
    covered = {type(v) for v, _ in SHAPES}
    assert covered == set(ALL_TYPES.values())


def test_struct_member_order_survives_json_text() -> None:
    v = Struct({"z": I4(1), "a": I4(2), "m": I4(3)})
    text = orjson.dumps(value_to_json(v))
    back = value_from_json(orjson.loads(text))
    assert isinstance(back, Struct)
    assert list(back) == ["z", "a", "m"]


@given(values)
def test_round_trip_through_json_text(v: Value) -> None:
    # Through real JSON text, both with orjson and the stdlib, not just through Python objects.
    for text in (orjson.dumps(value_to_json(v)), json.dumps(value_to_json(v)).encode()):
        back = value_from_json(orjson.loads(text))
        assert back == v
        assert value_to_json(back) == value_to_json(v)  # same types all the way down


@given(calls)
def test_call_round_trip(call: MethodCall) -> None:
    assert call_from_json(orjson.loads(orjson.dumps(call_to_json(call)))) == call


@given(responses)
def test_response_round_trip(response: MethodResponse | Fault) -> None:
    assert response_from_json(orjson.loads(orjson.dumps(response_to_json(response)))) == response


def test_integers_beyond_64_bits_are_strings_so_json_tools_keep_them() -> None:
    big = I8(2**70)  # out of range for the tag, but the model allows it: keep it exactly
    form = value_to_json(big)
    assert form == {"i8": str(2**70)}
    assert value_from_json(orjson.loads(orjson.dumps(form))) == big
    assert value_from_json({"int": "-17"}) == Int(-17)
    assert value_from_json({"ex:biginteger": 5}) == ExBigInteger(5)


def test_non_finite_doubles_are_strings() -> None:
    for f, word in ((math.inf, "Infinity"), (-math.inf, "-Infinity")):
        assert value_to_json(Double(f)) == {"double": word}
        assert value_from_json({"double": word}) == Double(f)
    nan = value_from_json(orjson.loads(orjson.dumps(value_to_json(ExFloat(math.nan)))))
    assert type(nan) is ExFloat
    assert math.isnan(nan)


def test_negative_zero_and_decimal_exponent_are_kept() -> None:
    z = value_from_json(orjson.loads(orjson.dumps(value_to_json(Double(-0.0)))))
    assert isinstance(z, Double)
    assert math.copysign(1.0, z) == -1.0
    d = value_from_json(value_to_json(ExBigDecimal("1.500E+3")))
    assert str(d) == str(Decimal("1.500E+3"))


def test_fault_shape() -> None:
    fault = Fault.make(4, "Too many parameters")
    assert response_to_json(fault) == {
        "fault": {
            "code": 4,
            "string": "Too many parameters",
            "value": {
                "struct": {
                    "faultCode": {"int": 4},
                    "faultString": {"string": "Too many parameters"},
                }
            },
        }
    }
    assert response_to_json(MethodResponse(Boolean(True))) == {"result": {"boolean": True}}
    assert call_to_json(MethodCall("add", (Int(1), I4(2)))) == {
        "method": "add",
        "params": [{"int": 1}, {"i4": 2}],
    }


def test_unknown_keys_beside_a_call_are_ignored() -> None:
    assert call_from_json({"method": "m", "params": [], "note": "added later"}) == MethodCall("m")


@pytest.mark.parametrize(
    ("form", "reason", "path"),
    [
        (5, "one key naming its type", None),
        ({}, "0 keys", None),
        ({"int": 1, "i4": 2}, "2 keys", None),
        ({"integer": 1}, "unknown value type 'integer'", None),
        ({"int": 1.5}, "int wants an integer, got a number", None),
        ({"int": True}, "int wants an integer, got a boolean", None),
        ({"int": "12a"}, "int wants an integer, got the string '12a'", None),
        ({"boolean": 2}, "boolean wants true or false", None),
        ({"string": 5}, "string wants a string, got a number", None),
        ({"double": "1.5"}, "double wants a number", None),
        ({"ex:bigdecimal": "abc"}, "wants a decimal number", None),
        ({"base64": "!!!"}, "base64 is not valid base64", None),
        ({"base64": 5}, "base64 wants base64 text", None),
        ({"nil": 0}, "nil wants null", None),
        ({"struct": []}, "struct wants an object of members", None),
        ({"array": {}}, "array wants an array of values", None),
        ({"struct": {"a": {"array": [{"i4": 1}, {"i4": "x"}]}}}, "i4 wants an integer", "a[1]"),
        ({"array": [{"struct": {"k": {"nope": 1}}}]}, "unknown value type 'nope'", "[0].k"),
    ],
)
def test_bad_shapes_raise_bad_value_with_path(form: object, reason: str, path: str | None) -> None:
    with pytest.raises(BadValue) as info:
        value_from_json(form)
    assert reason in info.value.reason
    assert info.value.path == path
    assert info.value.kind == "bad-value"


@pytest.mark.parametrize(
    ("form", "reason", "path"),
    [
        ([], "a call is an object", None),
        ({"params": []}, "method is a string", "method"),
        ({"method": "m"}, "params are an array", "params"),
        ({"method": "m", "params": [{"i4": 1}, {"i4": None}]}, "i4 wants an integer", "params[1]"),
    ],
)
def test_bad_calls(form: object, reason: str, path: str | None) -> None:
    with pytest.raises(BadValue) as info:
        call_from_json(form)
    assert reason in info.value.reason
    assert info.value.path == path


@pytest.mark.parametrize(
    ("form", "reason", "path"),
    [
        ({}, "found neither", None),
        ({"result": {"i4": 1}, "fault": {}}, "not both", None),
        (
            {"fault": {"code": "x", "string": "s", "value": {"struct": {}}}},
            "not an integer",
            "fault.code",
        ),
        (
            {"fault": {"code": 1, "string": 2, "value": {"struct": {}}}},
            "string is a string",
            "fault.string",
        ),
        (
            {"fault": {"code": 1, "string": "s", "value": {"array": []}}},
            "is a struct",
            "fault.value",
        ),
        ({"result": {"i4": []}}, "i4 wants an integer", "result"),
    ],
)
def test_bad_responses(form: object, reason: str, path: str | None) -> None:
    with pytest.raises(BadValue) as info:
        response_from_json(form)
    assert reason in info.value.reason
    assert info.value.path == path


def test_subclass_outside_the_model_is_written_as_its_base_type() -> None:
    class Tagged(I4):
        pass

    assert value_to_json(Tagged(3)) == {"i4": 3}
    with pytest.raises(TypeError):
        value_to_json(3)  # type: ignore[arg-type]
