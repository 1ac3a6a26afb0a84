"""``diff_apis``: each rule of what breaks a client of the old API and what does not."""

from __future__ import annotations

from rpcspy.api.diff import Change, diff_apis, diff_to_json, method_exists
from rpcspy.api.learn import learn_call
from rpcspy.api.model import Api, Method, Shape, Signature, declared_shape
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.values import I4, Array, Double, String, Struct, Value


def declared(*methods: tuple[str, list[list[str]]]) -> Api:
    """An introspected API: each method with signatures written [result, param...]."""
    api = Api()
    for name, signatures in methods:
        method = api.method(name)
        method.sources.add("introspection")
        for sig in signatures:
            params = [declared_shape(p) for p in sig[1:]]
            method.signatures.append(Signature(params, declared_shape(sig[0])))
    return api


def learned(*calls: tuple[str, tuple[Value, ...], Value | Fault]) -> Api:
    """An API learned from calls and their answers."""
    api = Api()
    for name, params, answer in calls:
        reply = answer if isinstance(answer, Fault) else MethodResponse(answer)
        learn_call(api, MethodCall(name, params), reply)
    return api


def summary(changes: list[Change]) -> set[tuple[str, str, str, str]]:
    return {(c.method, c.kind, c.klass, c.where) for c in changes}


def test_no_change_is_an_empty_list() -> None:
    api = declared(("add", [["int", "int", "int"]]))
    assert diff_apis(api, declared(("add", [["int", "int", "int"]]))) == []


def test_a_removed_method_breaks_and_an_added_one_does_not() -> None:
    old = declared(("a", [["int"]]), ("b", [["string", "int"]]))
    new = declared(("a", [["int"]]), ("c", [["array"]]))
    changes = diff_apis(old, new)
    assert summary(changes) == {
        ("b", "method-removed", "breaking", ""),
        ("c", "method-added", "compatible", ""),
    }
    assert [c.text for c in changes] == [
        "b: method removed (was (int) -> string)",
        "c: method added: () -> array",
    ]


def test_breaking_changes_come_first() -> None:
    old = declared(("z", [["int"]]))
    new = declared(("a", [["int"]]))
    assert [c.kind for c in diff_apis(old, new)] == ["method-removed", "method-added"]


def test_a_required_param_breaks_an_optional_trailing_one_does_not() -> None:
    old = declared(("list", [["array"], ["array", "string"]]), ("big", [["string", "int"]]))
    big = [["string", "int"], ["string", "int", "string"]]
    new = declared(("list", [["array", "string"]]), ("big", big))
    changes = {c.method: c for c in diff_apis(old, new)}
    assert (changes["list"].kind, changes["list"].klass) == ("param-added", "breaking")
    assert changes["list"].text == "list: param 1 added (required): string"
    assert (changes["big"].kind, changes["big"].klass) == ("param-added", "compatible")
    assert changes["big"].text == "big: param 2 added (optional): string"


def test_a_param_removed_breaks_callers_that_send_it() -> None:
    old = declared(("m", [["int", "int", "int"]]))
    new = declared(("m", [["int", "int"]]))
    (change,) = diff_apis(old, new)
    assert (change.kind, change.klass, change.where, change.old) == (
        "param-removed",
        "breaking",
        "param 2",
        "int",
    )


def test_a_param_made_optional_is_compatible() -> None:
    old = declared(("m", [["int", "int"]]))
    new = declared(("m", [["int", "int"], ["int"]]))
    (change,) = diff_apis(old, new)
    assert (change.kind, change.klass, change.where) == ("param-removed", "compatible", "param 1")


def test_narrowing_a_param_breaks_widening_it_does_not() -> None:
    old = declared(("wide", [["int", "int"]]), ("narrow", [["int", "int"], ["int", "double"]]))
    new = declared(("wide", [["int", "int"], ["int", "double"]]), ("narrow", [["int", "int"]]))
    changes = {c.method: c for c in diff_apis(old, new)}
    assert changes["wide"].klass == "compatible"
    assert changes["wide"].text == "wide: param 1 widened: int -> double|int"
    assert changes["narrow"].klass == "breaking"
    assert changes["narrow"].text == "narrow: param 1 changed: double|int -> int"


def test_a_param_that_changes_type_breaks() -> None:
    (change,) = diff_apis(declared(("m", [["int", "int"]])), declared(("m", [["int", "string"]])))
    assert (change.kind, change.klass, change.old, change.new) == (
        "param-type-changed",
        "breaking",
        "int",
        "string",
    )


def test_a_result_answering_a_new_type_breaks_one_answering_less_does_not() -> None:
    old = declared(("a", [["string"]]), ("b", [["int"], ["double", "int"]]))
    new = declared(("a", [["int"]]), ("b", [["int"], ["int", "int"]]))
    changes = {c.method: c for c in diff_apis(old, new)}
    assert changes["a"].text == "a: result changed: string -> int"
    assert changes["a"].klass == "breaking"
    # b(int) answered a double and now an int: a type it never answered for those params
    assert (changes["b"].kind, changes["b"].klass) == ("result-type-changed", "breaking")
    assert changes["b"].text == "b: result changed for (int): double -> int"


def test_results_are_compared_per_signature_when_both_declare_the_same_params() -> None:
    arith = [["int", "int", "int"], ["double", "double", "double"]]
    old = declared(("add", arith))
    new = declared(("add", [["double", "int", "int"], ["double", "double", "double"]]))
    (change,) = diff_apis(old, new)
    assert change.text == "add: result changed for (int, int): int -> double"
    assert change.breaking


def test_the_union_of_results_narrowing_is_compatible() -> None:
    old, new = declared(("m", [["int|double"]])), declared(("m", [["int"]]))
    old.methods["m"].signatures[0].result = Shape(scalars={"int": 0, "double": 0})
    (change,) = diff_apis(old, new)
    assert (change.kind, change.klass) == ("result-type-changed", "compatible")
    assert change.text == "m: result narrowed: double|int -> int"


def test_any_is_the_widest_type() -> None:
    old = declared(("p", [["int", "int"]]), ("r", [["int"]]))
    new = declared(("p", [["int", "undef"]]), ("r", [["undef"]]))
    changes = {c.method: c for c in diff_apis(old, new)}
    assert (changes["p"].kind, changes["p"].klass) == ("param-type-changed", "compatible")
    assert (changes["r"].kind, changes["r"].klass) == ("result-type-changed", "breaking")
    back = {c.method: c for c in diff_apis(new, old)}
    assert back["p"].klass == "breaking" and back["r"].klass == "compatible"


def test_wire_spellings_of_one_type_are_no_change() -> None:
    old = learned(("m", (I4(1),), String("x")))
    new = learned(("m", (I4(1),), String("y")))
    assert diff_apis(old, new) == []
    assert diff_apis(declared(("m", [["i4", "int"]])), declared(("m", [["int", "i4"]]))) == []


def uname(**members: str) -> Struct:
    return Struct({k: String(v) for k, v in members.items()})


def test_result_members_from_traffic() -> None:
    old = learned(
        ("u", (), uname(sysname="Linux", release="6")),
        ("u", (), uname(sysname="Linux", release="6", extra="x")),
        ("v", (), uname(always="1")),
    )
    new = learned(
        ("u", (), uname(sysname="Linux", python="3.12")),
        ("v", (), uname(always="1")),
        ("v", (), uname(other="2")),
    )
    assert summary(diff_apis(old, new)) == {
        ("u", "member-removed", "breaking", "result.release"),  # always there before
        ("u", "member-removed", "compatible", "result.extra"),  # only sometimes before
        ("u", "member-added", "compatible", "result.python"),
        ("v", "member-optional", "breaking", "result.always"),
        ("v", "member-added", "compatible", "result.other"),
    }


def test_param_members_from_traffic() -> None:
    old = learned(("p", (Struct({"a": I4(1), "b": I4(2)}),), I4(0)))
    new = learned(("p", (Struct({"a": I4(1), "c": I4(2)}),), I4(0)))
    assert summary(diff_apis(old, new)) == {
        ("p", "member-removed", "compatible", "param 1.b"),
        ("p", "member-added", "breaking", "param 1.c"),  # every call now sends it
    }


def test_members_inside_arrays_and_their_types() -> None:
    def entries(kind: Value) -> Array:
        return Array([Struct({"name": String("a"), "type": kind})])

    old = learned(("d", (), entries(String("file"))))
    new = learned(("d", (), entries(I4(1))))
    (change,) = diff_apis(old, new)
    assert (change.kind, change.klass, change.where) == (
        "member-type-changed",
        "breaking",
        "result[].type",
    )
    assert change.text == "d: result[].type changed: string -> i4"


def test_declared_structs_learn_their_members_from_traffic() -> None:
    old = declared(("uname", [["struct"]]))
    new = declared(("uname", [["struct"]]))
    old_t = learned(("uname", (), uname(sysname="Linux")))
    new_t = learned(("uname", (), uname(sysname="Linux", python="3.12")))
    for api, traffic in ((old, old_t), (new, new_t)):
        api.methods["uname"].calls = traffic.methods["uname"].calls
        api.methods["uname"].result = traffic.methods["uname"].result
        api.methods["uname"].arity = traffic.methods["uname"].arity
    assert summary(diff_apis(old, new)) == {
        ("uname", "member-added", "compatible", "result.python")
    }


def test_a_method_that_only_answered_method_not_found_is_absent() -> None:
    gone = Fault.make(-32601, 'method "mul" is not supported')
    old = learned(("mul", (I4(2), I4(3)), I4(6)))
    new = learned(("mul", (I4(2), I4(3)), gone))
    assert not method_exists(new.methods["mul"])
    assert summary(diff_apis(old, new)) == {("mul", "method-removed", "breaking", "")}
    both = learned(("mul", (I4(2), I4(3)), gone), ("mul", (I4(2), I4(3)), I4(6)))
    assert method_exists(both.methods["mul"])


def test_fault_codes_from_traffic() -> None:
    old = learned(("f", (I4(1),), I4(1)), ("g", (I4(1),), Fault.make(4, "no")))
    new = learned(("f", (I4(1),), Fault.make(7, "now failing")), ("g", (I4(1),), I4(1)))
    assert summary(diff_apis(old, new)) == {
        ("f", "fault-added", "breaking", "faults"),
        ("g", "fault-removed", "compatible", "faults"),
    }


def test_help_changes_are_compatible() -> None:
    old, new = declared(("m", [["int"]])), declared(("m", [["int"]]))
    old.methods["m"].help = "m() => the answer"
    new.methods["m"].help = "m() => the answer, now documented"
    (change,) = diff_apis(old, new)
    assert (change.kind, change.klass, change.where) == ("help-changed", "compatible", "help")
    assert (change.old, change.new) == ("m() => the answer", "m() => the answer, now documented")
    assert change.text == "m: help changed"
    new.methods["m"].help = None  # one side without help: nothing to compare
    assert diff_apis(old, new) == []


def test_a_declared_side_against_a_learned_side() -> None:
    old = declared(("add", [["int", "int", "int"]]))
    new = learned(("add", (I4(2), I4(3)), Double(5.0)))
    (change,) = diff_apis(old, new)
    assert change.text == "add: result changed: int -> double"
    assert change.breaking


def test_a_method_nothing_is_known_of_has_no_changes() -> None:
    old = Api()
    old.method("m").sources.add("introspection")
    new = declared(("m", [["int", "int"]]))
    assert diff_apis(old, new) == []


def test_the_json_form() -> None:
    old = declared(("a", [["int"]]), ("b", [["int"]]))
    new = declared(("a", [["string"]]), ("c", [["int"]]))
    data = diff_to_json(diff_apis(old, new), old="old.json", new="new.json")
    assert data["format"] == "rpcspy-api-diff" and data["version"] == 1
    assert (data["old"], data["new"], data["breaking"], data["compatible"]) == (
        "old.json",
        "new.json",
        2,
        1,
    )
    assert data["changes"][0] == {
        "method": "a",
        "kind": "result-type-changed",
        "class": "breaking",
        "where": "result",
        "old": "int",
        "new": "string",
        "text": "a: result changed: int -> string",
    }
    assert [c["kind"] for c in data["changes"]] == [
        "result-type-changed",
        "method-removed",
        "method-added",
    ]


def test_a_method_with_no_forms_on_one_side_is_only_compared_where_known() -> None:
    old = Api()
    m = old.method("x")
    m.sources.add("introspection")
    m.help = "x()"
    new = Api(methods={"x": Method("x", help="x()", sources={"introspection"})})
    assert diff_apis(old, new) == []
