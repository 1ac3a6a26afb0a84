"""Fingerprints: equal exactly when the typed values are equal, outside what rules ignore."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rpcspy.diff import Rules, parse_rule
from rpcspy.diff.fingerprint import canonical, params_fingerprint, response_fingerprint
from rpcspy.diff.matcher import compile_rules
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.values import (
    I4,
    Array,
    Base64,
    Boolean,
    Double,
    Int,
    Nil,
    RawValue,
    String,
    Struct,
    UntypedString,
    Value,
    WideI4,
    WideInt,
)

scalars = st.one_of(
    st.integers(-(2**31), 2**31 - 1).map(I4),
    st.integers(-(2**31), 2**31 - 1).map(Int),
    st.booleans().map(Boolean),
    st.text(max_size=5).map(String),
    st.text(max_size=5).map(UntypedString),
    st.floats(allow_nan=False).map(Double),
    st.binary(max_size=5).map(Base64),
    st.just(Nil()),
    # The tolerant reading's forms: wide ints and values kept as written.
    st.integers(2**31, 2**64).map(WideI4),
    st.integers(2**31, 2**64).map(WideInt),
    st.sampled_from(["a", "b", "a b"]).map(lambda t: RawValue("foo", t, f"<foo>{t}</foo>")),
    st.sampled_from(["a", "b"]).map(lambda t: RawValue("int", t, f"<int>{t}</int>")),
)
values: st.SearchStrategy[Value] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(Array),
        st.dictionaries(st.text(max_size=3), inner, max_size=3).map(Struct),
    ),
    max_leaves=8,
)


@given(values, values)
def test_canonical_text_equal_exactly_when_values_equal(a: Value, b: Value) -> None:
    assert (canonical(a) == canonical(b)) == (a == b)


def test_wire_type_and_member_order() -> None:
    assert canonical(I4(1)) != canonical(Int(1))
    assert canonical(Int(1)) != canonical(Boolean(1))
    assert canonical(String("1")) != canonical(UntypedString("1"))
    assert canonical(Struct(a=Int(1), b=Int(2))) == canonical(Struct(b=Int(2), a=Int(1)))
    assert canonical(Double(0.1)) != canonical(Double(0.1000000001))


def test_a_value_kept_as_written_is_its_markup() -> None:
    raw = RawValue("foo", "bar", "<foo>bar</foo>")
    assert canonical(raw) == "raw:'<foo>bar</foo>'"
    assert canonical(raw) == canonical(RawValue("foo", "bar", "<foo>bar</foo>"))
    assert canonical(raw) != canonical(RawValue("foo", "bar", "<foo >bar</foo>"))
    assert canonical(raw) != canonical(String("bar"))
    assert canonical(WideI4(2**40)) != canonical(WideInt(2**40))
    assert params_fingerprint(MethodCall("m", (raw,))) == params_fingerprint(
        MethodCall("m", (RawValue("foo", "bar", "<foo>bar</foo>"),))
    )


def test_rules_leave_out_ignored_params() -> None:
    rules = Rules((parse_rule("user.get: params[0].requestId"),))
    compiled = compile_rules(rules, "user.get")
    one = MethodCall("user.get", (Struct(id=Int(7), requestId=String("a")),))
    two = MethodCall("user.get", (Struct(id=Int(7), requestId=String("b")),))
    other = MethodCall("user.get", (Struct(id=Int(8), requestId=String("a")),))
    assert params_fingerprint(one) != params_fingerprint(two)
    assert params_fingerprint(one, compiled) == params_fingerprint(two, compiled)
    assert params_fingerprint(one, compiled) != params_fingerprint(other, compiled)


def test_responses_results_faults_and_failures_differ() -> None:
    result = MethodResponse(Int(1))
    fault = Fault.make(1, "x")
    assert response_fingerprint(result) != response_fingerprint(fault)
    assert response_fingerprint(None) == response_fingerprint(None)
    assert response_fingerprint(result) != response_fingerprint(None)
    rules = compile_rules(Rules((parse_rule("*: result.when"),)), "m")
    a = MethodResponse(Struct(when=String("1"), v=Int(1)))
    b = MethodResponse(Struct(when=String("2"), v=Int(1)))
    assert response_fingerprint(a, rules) == response_fingerprint(b, rules)
    assert response_fingerprint(a) != response_fingerprint(b)
