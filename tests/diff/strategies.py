"""Hypothesis strategies for typed values, and a deep copy that shares no objects."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st

from rpcspy.xmlrpc.values import (
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

_small_ints = st.integers(-2, 2)
_small_texts = st.sampled_from(["", "a", "b", "1", "a.b", "x y"])

#: Scalars over tiny domains, so independently drawn values are often equal or nearly so.
small_scalars: st.SearchStrategy[Value] = st.one_of(
    _small_ints.map(I4),
    _small_ints.map(Int),
    _small_ints.map(I8),
    st.integers(0, 1).map(Boolean),
    _small_texts.map(String),
    _small_texts.map(UntypedString),
    st.sampled_from([0.0, -0.0, 0.5, 1.0]).map(Double),
    st.sampled_from([0.0, 1.0]).map(ExFloat),
    st.sampled_from(["1", "1.0", "2"]).map(ExBigDecimal),
    st.sampled_from(["20240101T00:00:00", "2024-01-01T00:00:00"]).map(DateTime),
    st.sampled_from([b"", b"a", b"a" * 1500, b"b" * 1500]).map(Base64),
    st.just(Nil()),
    st.just(ExNil()),
)

#: Scalars over the whole range of each type (doubles finite: NaN is not equal to itself).
scalars: st.SearchStrategy[Value] = st.one_of(
    small_scalars,
    st.integers(I4.min, I4.max).map(I4),
    st.integers(I8.min, I8.max).map(I8),
    st.integers(-128, 127).map(ExI1),
    st.integers(-(2**15), 2**15 - 1).map(ExI2),
    st.integers(-(2**63), 2**63 - 1).map(ExI8),
    st.integers().map(ExBigInteger),
    st.text(max_size=20).map(String),
    st.text(max_size=20).map(UntypedString),
    st.text(max_size=20).map(ExDom),
    st.floats(allow_nan=False).map(Double),
    st.decimals(allow_nan=False, allow_infinity=False).map(ExBigDecimal),
    st.datetimes().map(DateTime.from_datetime),
    st.datetimes().map(lambda d: ExDateTime(d.strftime("%Y%m%dT%H:%M:%S"))),
    st.binary(max_size=64).map(Base64),
    st.binary(max_size=16).map(ExSerializable),
)

_names = st.sampled_from(["a", "b", "c", "a.b", "", "x[0]", "ü"])


def values_from(leaves: st.SearchStrategy[Value]) -> st.SearchStrategy[Value]:
    """Nested arrays and structs over ``leaves``."""
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=6).map(Array),
            st.dictionaries(_names, children, max_size=5).map(Struct),
        ),
        max_leaves=25,
    )


values = values_from(scalars)
small_values = values_from(small_scalars)


def clone(value: Value) -> Value:
    """An equal copy that shares no object with the original (so identity proves nothing)."""
    if isinstance(value, Struct):
        return Struct({k: clone(v) for k, v in value.items()})
    if isinstance(value, Array):
        return Array([clone(v) for v in value])
    if isinstance(value, Nil):
        return value
    rebuild: Callable[[Value], Value] = type(value)
    return rebuild(value)
