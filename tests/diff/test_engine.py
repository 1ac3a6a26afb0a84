"""The structural diff: every kind of difference, with its exact path and description."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from rpcspy.diff import (
    Difference,
    Rules,
    diff_calls,
    diff_responses,
    diff_values,
    render_differences,
)
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.values import (
    I4,
    Array,
    Base64,
    Boolean,
    DateTime,
    Double,
    ExBigDecimal,
    ExFloat,
    ExNil,
    Int,
    Nil,
    String,
    Struct,
    UntypedString,
    Value,
    from_python,
)


def texts(old: Value, new: Value, **kw: object) -> list[str]:
    return [d.describe() for d in diff_values(old, new, **kw)]  # type: ignore[arg-type]


def record(i: int, name: str | None = None) -> Struct:
    return Struct(id=Int(i), name=String(name if name is not None else f"n{i}"))


# ---------------------------------------------------------------- scalars and types


def test_changed_scalar_in_a_struct_in_an_array() -> None:
    old = Array([record(0), record(1), record(2), record(3, "a")])
    new = Array([record(0), record(1), record(2), record(3, "b")])
    (d,) = diff_values(old, new)
    assert d == Difference("result[3].name", "changed", String("a"), String("b"))
    assert d.describe() == 'result[3].name: string "a" -> string "b"'
    assert not d.minor


def test_equal_values_give_no_differences() -> None:
    assert diff_values(from_python({"a": [1, 2.5, "x"]}), from_python({"a": [1, 2.5, "x"]})) == []


@pytest.mark.parametrize(
    ("old", "new", "text"),
    [
        (I4(1), Int(1), "result: i4 1 -> int 1"),
        (Int(1), I4(1), "result: int 1 -> i4 1"),
        (Boolean(1), I4(1), "result: boolean true -> i4 1"),
        (Int(1), String("1"), 'result: int 1 -> string "1"'),
        (Double(1.0), ExFloat(1.0), "result: double 1.0 -> ex:float 1.0"),
        (Nil(), ExNil(), "result: nil -> ex:nil"),
        (
            String("20240101T00:00:00"),
            DateTime("20240101T00:00:00"),
            'result: string "20240101T00:00:00" -> dateTime.iso8601 20240101T00:00:00',
        ),
        (Struct(a=Int(1)), Array([Int(1)]), "result: struct {a: 1} -> array [1]"),
        (Int(1), Struct(a=Int(1)), "result: int 1 -> struct {a: 1}"),
    ],
)
def test_a_different_wire_type_is_a_type_difference(old: Value, new: Value, text: str) -> None:
    (d,) = diff_values(old, new)
    assert d.kind == "type"
    assert d.describe() == text


@pytest.mark.parametrize(
    ("old", "new", "text"),
    [
        (Int(1), Int(2), "result: int 1 -> int 2"),
        (Boolean(0), Boolean(1), "result: boolean false -> boolean true"),
        (Double(0.1), Double(0.2), "result: double 0.1 -> double 0.2"),
        (
            ExBigDecimal("1.50"),
            ExBigDecimal("1.51"),
            "result: ex:bigdecimal 1.50 -> ex:bigdecimal 1.51",
        ),
        (
            DateTime("20240101T00:00:00"),
            DateTime("20240101T00:00:01"),
            "result: dateTime.iso8601 20240101T00:00:00 -> dateTime.iso8601 20240101T00:00:01",
        ),
        (String("a\nb"), String("a"), 'result: string "a\\nb" -> string "a"'),
    ],
)
def test_same_type_other_value_is_changed(old: Value, new: Value, text: str) -> None:
    (d,) = diff_values(old, new)
    assert d.kind == "changed"
    assert d.describe() == text


def test_call_param_type_change_is_described_with_its_path() -> None:
    old = MethodCall("count", (Struct(count=Int(1)),))
    new = MethodCall("count", (Struct(count=String("1")),))
    (d,) = diff_calls(old, new)
    assert d.describe() == 'params[0].count: int 1 -> string "1"'
    assert (d.kind, d.method) == ("type", "count")


def test_typed_vs_untyped_string_is_a_minor_kind_of_its_own() -> None:
    (d,) = diff_values(Struct(s=String("1")), Struct(s=UntypedString("1")))
    assert d.kind == "untyped"
    assert d.minor
    assert d.describe() == 'result.s: string "1" -> string (untyped) "1"'
    # With different text as well it is an ordinary change (the tag difference rides along).
    (d,) = diff_values(String("1"), UntypedString("2"))
    assert (d.kind, d.describe()) == ("changed", 'result: string "1" -> string (untyped) "2"')


def test_equal_decimals_with_different_text_and_signed_zeros_are_equal() -> None:
    # Typed equality says so; the diff agrees rather than inventing a difference.
    assert diff_values(ExBigDecimal("1.5"), ExBigDecimal("1.50")) == []
    assert diff_values(Double(0.0), Double(-0.0)) == []


def test_two_nans_are_no_difference() -> None:
    nan = float("nan")
    assert diff_values(Array([Double(nan)]), Array([Double(nan)])) == []
    assert diff_values(ExBigDecimal("NaN"), ExBigDecimal("NaN")) == []
    assert diff_values(ExBigDecimal("sNaN"), ExBigDecimal("sNaN")) == []
    (d,) = diff_values(Double(nan), Double(1.0))
    assert d.describe() == "result: double nan -> double 1.0"


# ---------------------------------------------------------------- structs


def test_struct_member_order_is_not_a_difference() -> None:
    old = Struct(a=Int(1), b=Struct(x=String("x"), y=String("y")))
    new = Struct(b=Struct(y=String("y"), x=String("x")), a=Int(1))
    assert diff_values(old, new) == []


def test_struct_members_added_and_removed() -> None:
    old = Struct(keep=Int(1), gone=String("bye"), nested=Struct(a=Int(1)))
    new = Struct(nested=Struct(a=Int(1), b=Array([Int(1)])), keep=Int(1), fresh=Nil())
    assert texts(old, new) == [
        'result.gone: removed string "bye"',
        "result.nested.b: added array [1]",
        "result.fresh: added nil",
    ]
    kinds = [(d.kind, d.old is None, d.new is None) for d in diff_values(old, new)]
    assert kinds == [("removed", False, True), ("added", True, False), ("added", True, False)]


def test_member_names_that_need_quoting() -> None:
    assert texts(Struct({"a.b": Int(1)}), Struct({"a.b": Int(2)})) == [
        'result["a.b"]: int 1 -> int 2'
    ]
    assert texts(Struct({"": Int(1)}), Struct()) == ['result[""]: removed int 1']


def test_differences_come_in_document_order() -> None:
    old = from_python({"a": 1, "b": [1, 2, 3], "c": {"d": 1, "e": 2}, "f": "x"})
    new = from_python({"f": "y", "c": {"e": 3, "d": 1}, "b": [1, 3], "a": 2})
    assert texts(old, new) == [
        "result.a: int 1 -> int 2",
        "result.b[1]: removed int 2",
        "result.c.e: int 2 -> int 3",
        'result.f: string "x" -> string "y"',
    ]


# ---------------------------------------------------------------- arrays and alignment


def test_one_insertion_in_a_100_item_array_is_exactly_one_added() -> None:
    old = Array([record(i) for i in range(100)])
    new = Array([record(i) for i in range(100)])
    new.insert(37, record(999, "new"))
    assert texts(old, new) == ['result[37]: added struct {id: 999, name: "new"}']


def test_one_removal_in_a_100_item_array_is_exactly_one_removed() -> None:
    old = Array([Int(i) for i in range(100)])
    new = Array([Int(i) for i in range(100) if i != 0])
    assert texts(old, new) == ["result[0]: removed int 0"]


def test_added_item_in_a_list_of_strings() -> None:
    old = Struct(tags=Array([String("a"), String("b"), String("c")]))
    new = Struct(tags=Array([String("a"), String("b"), String("x"), String("c")]))
    assert texts(old, new) == ['result.tags[2]: added string "x"']


def test_scattered_edits_align_without_cascades() -> None:
    old = Array([record(i) for i in range(50)])
    new = Array([record(i) for i in range(50)])
    new.insert(10, record(100))  # old 10.. now at 11..
    new[31] = record(30, "renamed")  # old index 30
    del new[41]  # old index 40
    assert texts(old, new) == [
        'result[10]: added struct {id: 100, name: "n100"}',
        'result[30].name: string "n30" -> string "renamed"',
        'result[40]: removed struct {id: 40, name: "n40"}',
    ]


def test_a_changed_item_next_to_an_inserted_one_is_paired_by_similarity() -> None:
    a = from_python({"id": 1, "x": 1, "y": 2, "z": 3})
    b = from_python({"id": 2, "x": 1, "y": 2, "z": 3})
    c = from_python({"id": 3, "x": 1, "y": 2, "z": 3})
    inserted = from_python({"id": 9, "x": 5, "y": 5, "z": 5})
    b_changed = from_python({"id": 2, "x": 1, "y": 2, "z": 4})
    assert texts(Array([a, b, c]), Array([a, inserted, b_changed, c])) == [
        "result[1]: added struct {id: 9, x: 5, y: 5, z: 5}",
        "result[1].z: int 3 -> int 4",
    ]
    assert texts(Array([a, inserted, b_changed, c]), Array([a, b, c])) == [
        "result[1]: removed struct {id: 9, x: 5, y: 5, z: 5}",
        "result[2].z: int 4 -> int 3",
    ]


def test_unlike_runs_of_unequal_length_pair_by_position() -> None:
    assert texts(from_python([1, 2, 3, 4]), from_python([9, 8])) == [
        "result[0]: int 1 -> int 9",
        "result[1]: int 2 -> int 8",
        "result[2]: removed int 3",
        "result[3]: removed int 4",
    ]
    assert texts(from_python([[1, 2]]), from_python([[1, 3], [4]])) == [
        "result[0][1]: int 2 -> int 3",
        "result[1]: added array [4]",
    ]


def test_a_type_change_inside_an_array_is_one_change_not_add_and_remove() -> None:
    assert texts(Array([Int(1), I4(2), Int(3)]), Array([Int(1), Int(2), Int(3)])) == [
        "result[1]: i4 2 -> int 2",
    ]


def test_duplicates_and_reordering() -> None:
    assert texts(from_python([1, 1, 1]), from_python([1, 1, 1, 1])) == ["result[3]: added int 1"]
    assert texts(from_python([1, 2]), from_python([2, 1])) == [
        "result[0]: added int 2",
        "result[1]: removed int 2",
    ]


# ---------------------------------------------------------------- base64 and doubles


def test_small_base64_is_shown_by_content() -> None:
    (d,) = diff_values(Base64(b"abc"), Base64(b"abd"))
    assert d.describe() == "result: base64 <3 B YWJj> -> base64 <3 B YWJk>"
    assert d.to_dict()["old"] == {
        "type": "base64",
        "size": 3,
        "base64": "YWJj",
        "text": "<3 B YWJj>",
    }


def test_large_base64_is_shown_by_length_and_digest() -> None:
    old, new = Base64(b"x" * 2000), Base64(b"x" * 1999 + b"y")
    ho, hn = hashlib.sha256(old).hexdigest(), hashlib.sha256(new).hexdigest()
    (d,) = diff_values(old, new)
    assert d.describe() == (
        f"result: base64 <2000 B sha256:{ho[:16]}…> -> base64 <2000 B sha256:{hn[:16]}…>"
    )
    side = d.to_dict()["new"]
    assert side == {
        "type": "base64",
        "size": 2000,
        "sha256": hn,
        "text": f"<2000 B sha256:{hn[:16]}…>",
    }
    assert "base64" not in json.dumps(side).replace('"type": "base64"', "")


def test_base64_inline_limit_is_one_kibibyte() -> None:
    at, over = Base64(b"a" * 1024), Base64(b"a" * 1025)
    (d,) = diff_values(at, over)
    text = d.describe()
    assert base64.b64encode(at).decode() in text
    assert "<1025 B sha256:" in text


def test_double_tolerance_global() -> None:
    old, new = Struct(v=Double(1.0)), Struct(v=Double(1.0 + 1e-12))
    assert texts(old, new) == ["result.v: double 1.0 -> double 1.000000000001"]
    assert diff_values(old, new, rules=Rules.from_flags(tolerance=["1e-9"])) == []
    far = Struct(v=Double(1.1))
    assert len(diff_values(old, far, rules=Rules.from_flags(tolerance=["1e-9"]))) == 1
    # ex:float is a double too; a tolerance never makes two wire types equal.
    assert (
        diff_values(ExFloat(1.0), ExFloat(1.0 + 1e-12), rules=Rules.from_flags(tolerance=["1e-9"]))
        == []
    )
    assert len(diff_values(Double(1.0), ExFloat(1.0), rules=Rules.from_flags(tolerance=["1"]))) == 1


def test_double_tolerance_per_path_beats_the_global_one() -> None:
    old = Struct(a=Double(1.0), b=Double(1.0), c=Struct(d=Double(1.0)))
    new = Struct(a=Double(1.01), b=Double(1.01), c=Struct(d=Double(1.01)))
    rules = Rules.from_flags(tolerance=["result.b = 0.1", "0.05", "*: result.c = 0"])
    assert texts(old, new, rules=rules) == ["result.c.d: double 1.0 -> double 1.01"]


# ---------------------------------------------------------------- responses and calls


def test_result_against_fault() -> None:
    (d,) = diff_responses(MethodResponse(Int(1)), Fault.make(4, "boom"), method="m")
    assert (d.path, d.kind, d.method) == ("", "fault", "m")
    assert d.describe() == 'result int 1 -> fault 4: "boom"'
    (d,) = diff_responses(Fault.make(4, "boom"), MethodResponse(Struct(a=Int(1))), method="m")
    assert d.describe() == 'fault 4: "boom" -> result struct {a: 1}'
    assert d.to_dict()["old"] == {
        "type": "fault",
        "code": 4,
        "string": "boom",
        "text": 'fault 4: "boom"',
    }


def test_fault_code_and_string_changes() -> None:
    diffs = diff_responses(Fault.make(4, "boom"), Fault.make(5, "bang"), method="m")
    assert [(d.kind, d.describe()) for d in diffs] == [
        ("fault_code", "fault.faultCode: int 4 -> int 5"),
        ("fault_string", 'fault.faultString: string "boom" -> string "bang"'),
    ]
    assert diff_responses(Fault.make(4, "boom"), Fault.make(4, "boom"), method="m") == []


def test_fault_type_only_and_extra_members() -> None:
    old = Fault(4, "boom", Struct(faultCode=I4(4), faultString=String("boom")))
    new = Fault(
        4,
        "boom",
        Struct(faultCode=Int(4), faultString=UntypedString("boom"), detail=String("trace")),
    )
    assert [(d.kind, d.describe()) for d in diff_responses(old, new, method="m")] == [
        ("type", "fault.faultCode: i4 4 -> int 4"),
        ("untyped", 'fault.faultString: string "boom" -> string (untyped) "boom"'),
        ("added", 'fault.detail: added string "trace"'),
    ]


def test_missing_responses() -> None:
    (d,) = diff_responses(None, MethodResponse(Int(1)), method="m")
    assert (d.path, d.kind, d.describe()) == ("", "response", "no response -> result int 1")
    (d,) = diff_responses(Fault.make(4, "boom"), None, method="m")
    assert d.describe() == 'fault 4: "boom" -> no response'
    assert diff_responses(None, None, method="m") == []


def test_results_are_compared_under_result() -> None:
    diffs = diff_responses(
        MethodResponse(Struct(a=Int(1))), MethodResponse(Struct(a=Int(2))), method="echo"
    )
    assert diffs == [Difference("result.a", "changed", Int(1), Int(2), "echo")]


def test_calls_method_name_and_params() -> None:
    old = MethodCall("echo", (Int(1), String("x")))
    new = MethodCall("echo2", (Int(1), Int(9), String("x")))
    assert [d.describe() for d in diff_calls(old, new)] == [
        'method: "echo" -> "echo2"',
        "params[1]: added int 9",
    ]
    assert diff_calls(old, MethodCall("echo", (Int(1), String("x")))) == []
    assert [d.describe() for d in diff_calls(old, MethodCall("echo", ()))] == [
        "params[0]: removed int 1",
        'params[1]: removed string "x"',
    ]


def test_custom_root_paths() -> None:
    assert texts(Int(1), Int(2), path="params[0]") == ["params[0]: int 1 -> int 2"]
    assert texts(Struct(a=Int(1)), Struct(a=Int(2)), path="") == ["a: int 1 -> int 2"]
    assert texts(Int(1), Int(2), path="") == ["int 1 -> int 2"]


# ---------------------------------------------------------------- depth


def nested(depth: int, leaf: Value) -> Value:
    value = leaf
    for i in range(depth):
        value = Array([value]) if i % 2 else Struct(k=value)
    return value


def test_depth_100() -> None:
    (d,) = diff_values(nested(100, Int(1)), nested(100, Int(2)))
    assert d.path == "result" + "[0].k" * 50
    assert d.describe().endswith(": int 1 -> int 2")


def test_deeper_than_the_recursion_limit() -> None:
    (d,) = diff_values(nested(5000, Int(1)), nested(5000, Int(2)))
    assert d.path.count("[0]") == 2500
    assert diff_values(nested(5000, Int(1)), nested(5000, Int(1))) == []
    # Alignment fingerprints walk deep items too.
    old = Array([nested(3000, Int(i)) for i in range(3)])
    new = Array([nested(3000, Int(i)) for i in (0, 7, 1, 2)])
    assert [x.path for x in diff_values(old, new)] == ["result[1]"]


# ---------------------------------------------------------------- records, JSON and rendering


def test_to_dict_is_json_ready() -> None:
    diffs = diff_values(
        from_python({"a": 1, "b": b"xy", "c": None, "d": [1, {"e": 2.5}]}),
        from_python({"a": "1", "b": b"xz", "d": [1, {"e": 2.5}, True]}),
        method="m",
    )
    data = [d.to_dict() for d in diffs]
    assert json.loads(json.dumps(data)) == data
    assert data[0] == {
        "path": "result.a",
        "kind": "type",
        "method": "m",
        "minor": False,
        "text": 'result.a: int 1 -> string "1"',
        "old": {"type": "int", "text": "1"},
        "new": {"type": "string", "text": '"1"'},
    }
    assert data[2]["old"] == {"type": "nil", "text": ""}
    assert data[3]["new"] == {"type": "boolean", "text": "true"}


def test_differences_are_immutable() -> None:
    (d,) = diff_values(Int(1), Int(2))
    with pytest.raises(AttributeError):
        d.path = "x"  # type: ignore[misc]


def test_render_differences() -> None:
    diffs = diff_values(Struct(a=Int(1), s=String("x")), Struct(a=Int(2), s=UntypedString("x")))
    noise = diff_values(Struct(t=Int(1)), Struct(t=Int(2)))
    assert render_differences(diffs, noise=noise) == (
        "2 differences:\n"
        "  result.a: int 1 -> int 2\n"
        '  result.s: string "x" -> string (untyped) "x"  (minor)\n'
        "1 noise difference (also seen between known-good runs):\n"
        "  result.t: int 1 -> int 2"
    )
    assert render_differences([]) == "no differences"
    assert render_differences(diffs[:1], indent="") == "1 difference:\nresult.a: int 1 -> int 2"
    assert render_differences([], noise=noise).startswith("no differences\n1 noise difference")
    assert "\x1b" not in render_differences(diffs, noise=noise)
