"""Hypothesis strategies for typed values, messages and call records (shared by capture tests)."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

from rpcspy.capture.record import CallRecord, HttpMessage, Problem, SubCall
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
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
    IntegerValue,
    Nil,
    String,
    Struct,
    UntypedString,
    Value,
)

# Any text JSON can carry: everything but lone surrogates (which no XML document holds either).
text = st.text(st.characters(codec="utf-8"), max_size=20)


def _bounded(cls: type[IntegerValue]) -> st.SearchStrategy[Value]:
    return st.integers(cls.min, cls.max).map(cls)


scalars: st.SearchStrategy[Value] = st.one_of(
    _bounded(I4),
    _bounded(Int),
    _bounded(I8),
    _bounded(ExI1),
    _bounded(ExI2),
    _bounded(ExI8),
    st.integers(-(10**40), 10**40).map(ExBigInteger),
    st.booleans().map(Boolean),
    text.map(String),
    text.map(UntypedString),
    text.map(ExDom),
    text.map(DateTime),
    text.map(ExDateTime),
    st.floats(allow_nan=False).map(Double),
    st.floats(allow_nan=False, width=32).map(ExFloat),
    st.decimals(allow_nan=False).map(ExBigDecimal),
    st.binary(max_size=40).map(Base64),
    st.binary(max_size=40).map(ExSerializable),
    st.just(Nil()),
    st.just(ExNil()),
)


def _containers(children: st.SearchStrategy[Value]) -> st.SearchStrategy[Value]:
    return st.one_of(
        st.lists(children, max_size=4).map(Array),
        st.dictionaries(text, children, max_size=4).map(Struct),
    )


values: st.SearchStrategy[Value] = st.recursive(scalars, _containers, max_leaves=12)

calls: st.SearchStrategy[MethodCall] = st.builds(
    MethodCall, text, st.lists(values, max_size=3).map(tuple)
)

faults: st.SearchStrategy[Fault] = st.one_of(
    st.builds(Fault.make, st.integers(-(2**31), 2**31 - 1), text),
    st.builds(
        Fault,
        st.integers(-(10**25), 10**25),
        text,
        st.dictionaries(text, values, max_size=3).map(Struct),
    ),
)

responses: st.SearchStrategy[MethodResponse | Fault] = st.one_of(values.map(MethodResponse), faults)

problems: st.SearchStrategy[Problem] = st.builds(
    Problem,
    st.sampled_from(["request", "response", "multicall", "connection", "capture"]),
    st.sampled_from(["malformed-xml", "unsafe-xml", "bad-value", "content-encoding"]),
    text,
    st.none() | st.integers(1, 10**6),
    st.none() | st.integers(0, 10**4),
    st.none() | text,
)

subcalls: st.SearchStrategy[tuple[SubCall, ...]] = st.lists(
    st.tuples(calls, st.none() | responses), max_size=3
).map(lambda pairs: tuple(SubCall(i, c, r) for i, (c, r) in enumerate(pairs)))

header_names = st.sampled_from(
    ["Host", "Content-Type", "Content-Length", "User-Agent", "X-Trace", "Accept-Encoding"]
)
headers = st.lists(st.tuples(header_names, text), max_size=4).map(tuple)
peers = st.none() | st.tuples(
    st.sampled_from(["127.0.0.1", "::1", "10.0.0.7"]), st.integers(0, 65535)
)
times = st.floats(0, 4e9, allow_nan=False)
bodies = st.one_of(
    text.map(lambda t: t.encode("utf-8")),  # valid UTF-8: stored as text
    st.binary(max_size=60),  # mostly not UTF-8: stored as base64
)
encodings = st.sampled_from([None, "gzip", "deflate", "identity", "x-custom"])


@st.composite
def records(draw: st.DrawFn) -> CallRecord:
    """Records built from random values: not consistent exchanges, but every field exercised."""
    started = draw(times)
    ended = draw(st.none() | st.floats(started, started + 1000, allow_nan=False))
    kw: dict[str, Any] = {
        "id": draw(st.text(string.hexdigits.lower(), min_size=32, max_size=32)),
        "seq": draw(st.integers(0, 10**9)),
        "started": started,
        "ended": ended,
        "client": draw(peers),
        "server": draw(peers),
        "scheme": draw(st.sampled_from(["http", "https"])),
        "host": draw(st.sampled_from(["127.0.0.1", "example.org", "[::1]"])),
        "port": draw(st.integers(1, 65535)),
        "path": draw(st.sampled_from(["/", "/RPC2", "/xmlrpc?x=1", "/é"])),
        "status": draw(st.none() | st.integers(100, 599)),
        "request": HttpMessage(
            draw(headers), draw(bodies), draw(encodings), draw(st.none() | calls)
        ),
        "response": draw(
            st.none()
            | st.builds(HttpMessage, headers, st.none() | bodies, encodings, st.none() | responses)
        ),
        "subcalls": draw(subcalls),
        "problems": tuple(draw(st.lists(problems, max_size=3))),
        "error": draw(st.none() | text),
        "origin": draw(st.sampled_from(["proxy", "replay", "resent", "import"])),
        "redacted": draw(st.booleans()),
    }
    return CallRecord(**kw)
