"""system.multicall: expanding calls and pairing results."""

from __future__ import annotations

import pytest

from rpcspy.xmlrpc import (
    Array,
    BadValue,
    Boolean,
    Fault,
    Int,
    MethodCall,
    MethodResponse,
    Nil,
    String,
    Struct,
    UntypedString,
    Value,
    decode_request,
    decode_response,
    expand_multicall,
    is_multicall,
    pair_multicall,
)
from tests.conftest import DATA

VALID = DATA / "valid"


def _entry(name: str, *params: Value) -> Struct:
    return Struct(methodName=String(name), params=Array(params))


def test_corpus_multicall_expands_and_pairs() -> None:
    call = decode_request((VALID / "supervisord-multicall-call.xml").read_bytes())
    assert is_multicall(call)
    calls = expand_multicall(call)
    assert calls == (
        MethodCall("supervisor.getProcessInfo", (String("nginx"),)),
        MethodCall("supervisor.stopProcess", (String("redis"), Boolean(0))),
    )
    response = decode_response((VALID / "supervisord-multicall-response.xml").read_bytes())
    assert isinstance(response, MethodResponse)
    first, second = pair_multicall(calls, response)
    assert isinstance(first, MethodResponse) and isinstance(first.value, Struct)
    assert first.value["pid"] == Int(4123)
    assert second == Fault.make(70, "NOT_RUNNING: redis")


def test_koji_multicall_keeps_extra_fault_members() -> None:
    response = decode_response((VALID / "koji-multicall-response.xml").read_bytes())
    assert isinstance(response, MethodResponse)
    results = pair_multicall([MethodCall("getBuild")] * 3, response)
    assert results[1] == MethodResponse(Nil())
    fault = results[2]
    assert isinstance(fault, Fault) and fault.code == 1000
    assert "traceback" in fault.value


def test_plain_calls_are_not_multicalls() -> None:
    assert not is_multicall(MethodCall("system.listMethods"))
    with pytest.raises(BadValue, match=r"not a system\.multicall call"):
        expand_multicall(MethodCall("system.listMethods"))


def test_untyped_method_names_and_empty_batches() -> None:
    call = MethodCall(
        "system.multicall", (Array([Struct(methodName=UntypedString("a.b"), params=Array())]),)
    )
    assert expand_multicall(call) == (MethodCall("a.b", ()),)
    assert expand_multicall(MethodCall("system.multicall", (Array(),))) == ()
    assert pair_multicall([], MethodResponse(Array())) == ()


@pytest.mark.parametrize(
    ("params", "reason", "path"),
    [
        ((), "takes one param", "params"),
        ((Array(), Array()), "takes one param", "params"),
        ((Struct(),), "must be an array of calls, not struct", "params[0]"),
        ((Array([_entry("a"), String("b")]),), "call #1 must be a struct", "params[0][1]"),
        (
            (Array([_entry("a"), Struct(params=Array())]),),
            "call #1 has no methodName",
            "params[0][1]",
        ),
        (
            (Array([Struct(methodName=Int(1), params=Array())]),),
            "methodName must be a string",
            "params[0][0].methodName",
        ),
        (
            (Array([Struct(methodName=String(" "), params=Array())]),),
            "empty methodName",
            "params[0][0].methodName",
        ),
        ((Array([Struct(methodName=String("a"))]),), "has no params", "params[0][0]"),
        (
            (Array([Struct(methodName=String("a"), params=Struct())]),),
            "params must be an array",
            "params[0][0].params",
        ),
        (
            (Array([Struct(methodName=String("a"), params=Array(), extra=Int(1))]),),
            "unexpected member 'extra'",
            "params[0][0]",
        ),
    ],
)
def test_bad_multicall_entries_are_named(params: tuple[Value, ...], reason: str, path: str) -> None:
    with pytest.raises(BadValue, match=reason) as info:
        expand_multicall(MethodCall("system.multicall", params))
    assert info.value.path == path


@pytest.mark.parametrize(
    ("results", "reason", "path"),
    [
        (Struct(), "must be an array, not struct", "result"),
        (Array([Array([Int(1)])]), "2 calls but 1 results", "result"),
        (Array([Array([Int(1)]), Array([])]), "result #1 must be a one-element array", "result[1]"),
        (
            Array([Array([Int(1), Int(2)]), Array([Int(1)])]),
            "result #0 must be a one-element array",
            "result[0]",
        ),
        (
            Array([Array([Int(1)]), Int(2)]),
            "result #1 must be \\[value\\] or a fault struct, not int",
            "result[1]",
        ),
        (Array([Array([Int(1)]), Struct(faultString=String("x"))]), "no faultCode", "result[1]"),
        (
            Array([Array([Int(1)]), Struct(faultCode=String("x"), faultString=String("x"))]),
            "faultCode must be an integer",
            "result[1].faultCode",
        ),
    ],
)
def test_bad_multicall_results_are_named(results: Value, reason: str, path: str) -> None:
    calls = [MethodCall("a"), MethodCall("b")]
    with pytest.raises(BadValue, match=reason) as info:
        pair_multicall(calls, MethodResponse(results))
    assert info.value.path == path
