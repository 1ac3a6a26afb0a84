"""Hypothesis strategies for every value class of the model, and for whole messages.

``values()`` draws any value the model can hold and the encoder can write: the same bounds the
decoder enforces (integer ranges, finite doubles, ISO 8601 dates, XML 1.0 characters).
``stdlib_values()`` draws only what ``xmlrpc.client`` also understands.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from hypothesis import strategies as st
from lxml import etree

from rpcspy.xmlrpc import (
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
    Fault,
    Int,
    IntegerValue,
    MethodCall,
    MethodResponse,
    Nil,
    String,
    Struct,
    UntypedString,
    Value,
)

# C0 controls other than tab/LF/CR, and U+FFFE/U+FFFF, are not XML 1.0 characters; surrogates
# (category Cs) cannot be encoded at all.
_NOT_XML = "".join(chr(c) for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)) + "\ufffe\uffff"
_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
xml_chars = st.characters(exclude_categories=_SURROGATES, exclude_characters=_NOT_XML)
_tricky = st.sampled_from(
    [
        "",
        " ",
        "  ",
        "\n",
        "\r",
        "\r\n",
        "\t",
        "&",
        "&amp;",
        "<",
        ">",
        "]]>",
        "<![CDATA[",
        "'\"",
        "\u00a0",
        "\u2028",
        "\U0001f600",
        "é",
        "<!-- x -->",
        "<?pi?>",
        "<!DOCTYPE x>",
    ]
)
#: Any text XML 1.0 can carry, weighted towards what escaping gets wrong.
xml_text = st.one_of(
    st.text(xml_chars, max_size=20),
    st.lists(st.one_of(_tricky, st.text(xml_chars, max_size=3)), max_size=5).map("".join),
)


def _bounded(cls: type[IntegerValue]) -> st.SearchStrategy[Value]:
    lo, hi = cls.min, cls.max
    edges = [x for x in (lo, hi, 0, -1, 1) if x is not None]
    return st.one_of(st.sampled_from(edges), st.integers(lo, hi)).map(cls)


@st.composite
def iso_datetimes(draw: st.DrawFn, *, compact_only: bool = False) -> str:
    """dateTime text in the forms seen on the wire; compact (the spec's form) when asked."""
    moment = draw(
        st.datetimes(min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9999, 12, 31))
    )
    date = f"{moment.year:04d}{moment.month:02d}{moment.day:02d}"
    time = f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    if compact_only:
        return f"{date}T{time}"
    if draw(st.booleans()):
        date = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    if draw(st.booleans()):
        time = time.replace(":", "")
    fraction = draw(st.sampled_from(["", ".5", f".{moment.microsecond:06d}", ",123"]))
    zone = draw(st.sampled_from(["", "Z", "+00:00", "-08:00", "+0530", "+01"]))
    return f"{date}T{time}{fraction}{zone}"


_dom_tags = st.sampled_from(["a", "b", "item", "x:y"])
_dom_text = st.one_of(st.none(), st.text(st.sampled_from("ab &<>\"'é\n\t "), max_size=6))


@st.composite
def dom_fragments(draw: st.DrawFn) -> str:
    """An ex:dom fragment in lxml's canonical serialisation (what the decoder produces)."""
    wrapper = etree.Element("w")
    wrapper.text = draw(_dom_text)

    def fill(parent: etree._Element, depth: int) -> None:
        for _ in range(draw(st.integers(0, 2 if depth < 3 else 0))):
            tag = draw(_dom_tags)
            child = (
                etree.SubElement(parent, "{urn:example:x}y", nsmap={"x": "urn:example:x"})
                if tag == "x:y"
                else etree.SubElement(parent, tag)
            )
            if draw(st.booleans()):
                child.set("k", draw(st.text(st.sampled_from("ab&<\"'"), max_size=3)))
            child.text = draw(_dom_text)
            fill(child, depth + 1)
            child.tail = draw(_dom_text)

    fill(wrapper, 0)
    # Serialise, parse, serialise: empty text ("<a></a>") reads back as "<a/>".
    reparsed = etree.fromstring(etree.tostring(wrapper))
    text = etree.tostring(reparsed, encoding="unicode")
    return "" if text == "<w/>" else text[3:-4]


finite_floats = st.floats(allow_nan=False, allow_infinity=False)

scalars: st.SearchStrategy[Value] = st.one_of(
    _bounded(I4),
    _bounded(Int),
    _bounded(I8),
    _bounded(ExI1),
    _bounded(ExI2),
    _bounded(ExI8),
    st.integers(-(10**60), 10**60).map(ExBigInteger),
    st.sampled_from([Boolean(0), Boolean(1)]),
    xml_text.map(String),
    xml_text.map(UntypedString),
    dom_fragments().map(ExDom),
    finite_floats.map(Double),
    finite_floats.map(ExFloat),
    st.decimals(allow_nan=False, allow_infinity=False).map(ExBigDecimal),
    iso_datetimes().map(DateTime),
    iso_datetimes().map(ExDateTime),
    st.binary(max_size=40).map(Base64),
    st.binary(max_size=40).map(ExSerializable),
    st.just(Nil()),
    st.just(ExNil()),
)


def _containers(children: st.SearchStrategy[Value]) -> st.SearchStrategy[Value]:
    return st.one_of(
        st.lists(children, max_size=4).map(Array),
        st.dictionaries(xml_text, children, max_size=4).map(Struct),
    )


#: Any value, nested arrays and structs included.
values: st.SearchStrategy[Value] = st.recursive(scalars, _containers, max_leaves=12)

method_names = st.one_of(
    st.sampled_from(["system.multicall", "supervisor.getState", "wp.newPost", "execute_kw", "a"]),
    xml_text.filter(lambda s: bool(s.strip(" \t\r\n"))),
)

method_calls = st.builds(MethodCall, method_names, st.lists(values, max_size=4).map(tuple))
method_responses = st.builds(MethodResponse, values)


@st.composite
def faults(draw: st.DrawFn) -> Fault:
    """A fault whose struct agrees with its code and string, sometimes with extra members."""
    code = draw(st.one_of(_bounded(Int), _bounded(I4), _bounded(I8)))
    assert isinstance(code, IntegerValue)
    string = draw(st.one_of(xml_text.map(String), xml_text.map(UntypedString)))
    extras = draw(st.dictionaries(xml_text, values, max_size=2))
    members: dict[str, Value] = {**extras, "faultCode": code, "faultString": string}
    return Fault(int(code), str(string), Struct(members))


# ---------------------------------------------------------------- what the stdlib also knows

_stdlib_scalars: st.SearchStrategy[Value] = st.one_of(
    _bounded(I4),
    _bounded(Int),
    _bounded(I8),
    _bounded(ExI1),
    _bounded(ExI2),
    _bounded(ExI8),
    st.integers(-(10**60), 10**60).map(ExBigInteger),
    st.sampled_from([Boolean(0), Boolean(1)]),
    xml_text.map(String),
    xml_text.map(UntypedString),
    finite_floats.map(Double),
    finite_floats.map(ExFloat),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(ExBigDecimal),
    iso_datetimes(compact_only=True).map(DateTime),
    st.binary(max_size=40).map(Base64),
    st.just(Nil()),
    st.just(ExNil()),
)
stdlib_values: st.SearchStrategy[Value] = st.recursive(_stdlib_scalars, _containers, max_leaves=12)

#: Plain Python the stdlib client can marshal (with allow_none).
plain_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**31), 2**31 - 1),
        finite_floats,
        st.text(xml_chars, max_size=20),
        st.binary(max_size=40),
        st.datetimes(min_value=dt.datetime(1000, 1, 1)).map(lambda d: d.replace(microsecond=0)),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(xml_chars, max_size=8), children, max_size=4),
    ),
    max_leaves=12,
)

__all__ = [
    "dom_fragments",
    "faults",
    "finite_floats",
    "iso_datetimes",
    "method_calls",
    "method_names",
    "method_responses",
    "plain_values",
    "scalars",
    "stdlib_values",
    "values",
    "xml_chars",
    "xml_text",
]
