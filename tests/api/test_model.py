"""The API model: shapes of values, unions that never lose a type, and the file form."""

from __future__ import annotations

from pathlib import Path

import pytest

from rpcspy.api.model import (
    Api,
    ApiFormatError,
    Method,
    Shape,
    Signature,
    api_from_json,
    api_to_json,
    declared_shape,
    load,
    merge_apis,
    save,
    shape_of,
    shape_text,
    value_shape,
)
from rpcspy.xmlrpc.values import I4, Array, String, Struct


def test_a_union_keeps_every_type_it_saw() -> None:
    shape = shape_of({"i4": 5}).merge(shape_of({"nil": None})).merge(shape_of({"i4": 7}))
    assert shape.scalars == {"i4": 2, "nil": 1}
    assert shape_text(shape) == "i4|nil"
    assert shape.kinds() == {"int", "nil"}


def test_struct_members_seen_always_and_sometimes() -> None:
    a = shape_of({"struct": {"name": {"string": "bob"}, "email": {"string": "b@x"}}})
    b = shape_of({"struct": {"name": {"untyped": "al"}}})
    a.merge(b)
    assert a.struct is not None
    assert a.struct.count == 2
    assert a.struct.always("name")
    assert not a.struct.always("email")
    assert shape_text(a) == "struct{email?: string, name: string|untyped}"


def test_array_items_are_one_union() -> None:
    shape = shape_of({"array": [{"i4": 1}, {"string": "x"}]}).merge(shape_of({"array": []}))
    assert shape.array is not None and shape.array.count == 2
    assert shape_text(shape) == "array[i4|string]"
    assert shape_text(shape_of({"array": []})) == "array"


def test_typed_values_have_the_same_shape_as_their_json_form() -> None:
    value = Struct({"ids": Array([I4(1), I4(2)]), "who": String("bob")})
    assert shape_text(value_shape(value)) == "struct{ids: array[i4], who: string}"


@pytest.mark.parametrize(
    ("declared", "text"),
    [
        ("int", "int"),
        ("i4", "int"),
        ("string", "string"),
        ("struct", "struct"),
        ("array", "array"),
        ("undef", "any"),
        ("dateTime.iso8601", "dateTime.iso8601"),
        (["nested"], "any"),
    ],
)
def test_declared_types(declared: object, text: str) -> None:
    assert shape_text(declared_shape(declared)) == text


def _sample() -> Api:
    api = Api(sources=[{"kind": "traffic", "capture": "a.jsonl", "calls": 3}])
    m = api.method("user.get")
    m.sources = {"traffic", "introspection"}
    m.help = "Get a user."
    m.signatures = [Signature([declared_shape("int")], declared_shape("struct"))]
    m.params = [shape_of({"i4": 1}).merge(shape_of({"nil": None}))]
    m.arity = {1: 3}
    m.result = shape_of({"struct": {"name": {"string": "bob"}}})
    m.faults = {4: 1}
    m.calls, m.answered = 3, 3
    return api


def test_the_file_form_round_trips(tmp_path: Path) -> None:
    api = _sample()
    path = tmp_path / "api.json"
    save(api, path)
    again = load(path)
    assert api_to_json(again) == api_to_json(api)
    assert again.methods["user.get"].fault_rate == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"format": "x", "version": 1}, "not an rpcspy API file"),
        ({"format": "rpcspy-api", "version": 9}, "version 9 is not supported"),
        (
            {"format": "rpcspy-api", "version": 1, "methods": {"m": {"calls": -1}}},
            "methods.m.calls should be a count",
        ),
        (
            {"format": "rpcspy-api", "version": 1, "methods": {"m": {"params": [{"x": 1}]}}},
            "methods.m.params[0] has unknown keys: x",
        ),
    ],
)
def test_a_bad_file_is_refused_with_the_place(data: object, message: str) -> None:
    with pytest.raises(ApiFormatError, match=message.replace("[", r"\[").replace("]", r"\]")):
        api_from_json(data)


def test_merging_adds_counts_and_keeps_every_type() -> None:
    one = _sample()
    two = Api()
    m = two.method("user.get")
    m.sources = {"traffic"}
    m.params = [shape_of({"string": "x"}), shape_of({"boolean": True})]
    m.arity = {2: 1}
    m.calls = m.answered = 1
    two.method("user.new").sources = {"introspection"}
    merged = merge_apis([one, two])
    got = merged.methods["user.get"]
    assert got.calls == 4
    assert got.arity == {1: 3, 2: 1}
    assert shape_text(got.params[0]) == "i4|nil|string"
    assert shape_text(got.params[1]) == "boolean"
    assert got.help == "Get a user."
    assert set(merged.methods) == {"user.get", "user.new"}
    assert isinstance(merged.methods["user.new"], Method)
    # The inputs are not changed by merging.
    assert shape_text(one.methods["user.get"].params[0]) == "i4|nil"
    assert Shape().empty


def test_learning_from_records_of_the_real_writer(tmp_path: Path) -> None:
    import xmlrpc.client

    from rpcspy.api.learn import learn_records
    from rpcspy.capture.record import HttpMessage, build_record

    def record(params: tuple[object, ...], answer: bytes) -> object:
        body = xmlrpc.client.dumps(params, "user.get", allow_none=True).encode()
        return build_record(
            HttpMessage(headers=(("Content-Type", "text/xml"),), body=body),
            HttpMessage(headers=(("Content-Type", "text/xml"),), body=answer),
            started=1.0,
            ended=1.5,
        )

    ok = xmlrpc.client.dumps(({"name": "bob"},), methodresponse=True).encode()
    fault = xmlrpc.client.dumps(xmlrpc.client.Fault(4, "no such user")).encode()
    api = learn_records([record((7,), ok), record((None,), fault), record((7, "x"), ok)])  # type: ignore[list-item]
    m = api.methods["user.get"]
    assert (m.calls, m.answered, m.faults, m.arity) == (3, 3, {4: 1}, {1: 2, 2: 1})
    assert [shape_text(p) for p in m.params] == ["int|nil", "string"]
    assert shape_text(m.result) == "struct{name: string}"
    assert m.fault_rate == pytest.approx(1 / 3)
