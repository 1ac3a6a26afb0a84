"""XDR (RFC 4506): every type decodes and encodes, values keep their XDR type, bounds hold, and
the bytes agree with xdrlib3's (an independent XDR implementation) both ways."""

from __future__ import annotations

import math
import struct

import pytest
import xdrlib3
from hypothesis import given
from hypothesis import strategies as st

from rpcspy.oncrpc import (
    VOID,
    Array,
    Bool,
    Double,
    Enum,
    Float,
    Hyper,
    Int,
    Opaque,
    Optional,
    Quadruple,
    Raw,
    String,
    Struct,
    UHyper,
    UInt,
    Union,
    Value,
    decode,
    encode,
    parse_idl,
    render,
    value_from_json,
    value_to_json,
)
from rpcspy.oncrpc.errors import BadXdr, OncRpcError, OverLimit, Truncated
from rpcspy.oncrpc.xdr import (
    BOOL,
    DOUBLE,
    FLOAT,
    HYPER,
    INT,
    QUADRUPLE,
    UHYPER,
    UINT,
    VOID_TYPE,
    ArrayType,
    Limits,
    OpaqueType,
    OptionalType,
    StringType,
    XdrType,
    decode_all,
)

IDL = parse_idl(
    """
    enum color { RED = 0, GREEN = 1, BLUE = 2 };
    struct point { int x; int y; };
    struct node { unsigned int value; node *next; };
    union reading switch (color c) {
    case RED: int level;
    case GREEN: case BLUE: point where;
    };
    union maybe switch (bool present) { case TRUE: string text<>; case FALSE: void; };
    union nested switch (int depth) { case 0: void; default: nested *inner; };
    """
)


@pytest.mark.parametrize(
    ("t", "value", "wire"),
    [
        (INT, Int(-2), "fffffffe"),
        (UINT, UInt(0xFFFFFFFE), "fffffffe"),
        (HYPER, Hyper(-2), "fffffffffffffffe"),
        (UHYPER, UHyper(2**64 - 2), "fffffffffffffffe"),
        (FLOAT, Float(1.5), "3fc00000"),
        (DOUBLE, Double(-0.25), "bfd0000000000000"),
        (BOOL, Bool(True), "00000001"),
        (VOID_TYPE, VOID, ""),
        (QUADRUPLE, Quadruple(bytes(range(16))), bytes(range(16)).hex()),
        (OpaqueType(fixed=5), Opaque(b"abcde"), "6162636465000000"),
        (OpaqueType(maximum=8), Opaque(b"ab"), "0000000261620000"),
        (StringType(), String(b"hello"), "0000000568656c6c6f000000"),
        (StringType(), String(b""), "00000000"),
        (ArrayType(INT, fixed=2), Array([Int(1), Int(-1)]), "00000001ffffffff"),
        (ArrayType(UINT, maximum=4), Array([UInt(7)]), "0000000100000007"),
        (OptionalType(INT), Optional(None), "00000000"),
        (OptionalType(INT), Optional(Int(3)), "0000000100000003"),
    ],
)
def test_each_type_decodes_and_encodes(t: XdrType, value: Value, wire: str) -> None:
    assert decode(t, bytes.fromhex(wire)) == value
    assert encode(t, value) == bytes.fromhex(wire)


def test_values_keep_their_xdr_type() -> None:
    assert decode(INT, bytes(4)) == Int(0)
    assert decode(INT, bytes(4)) != UInt(0)
    assert decode(UINT, bytes(4)) != 0  # typed equality: not a bare int either
    assert Hyper(5) != Int(5) and Float(1.5) != Double(1.5) and String(b"x") != Opaque(b"x")
    assert render(UInt(5)) == "uint 5" and render(Int(5)) == "int 5"
    assert value_to_json(UInt(5)) == {"uint": 5} and value_to_json(Int(5)) == {"int": 5}


def test_structs_enums_and_unions_carry_their_type_names() -> None:
    red = bytes.fromhex("0000000000000009")
    assert decode(IDL.type("reading"), red) == Union(
        "reading", Enum("color", "RED", 0), "level", Int(9)
    )
    blue = bytes.fromhex("000000020000000100000002")
    point = Struct("point", (("x", Int(1)), ("y", Int(2))))
    value = decode(IDL.type("reading"), blue)
    assert value == Union("reading", Enum("color", "BLUE", 2), "where", point)
    assert render(value) == "reading<BLUE>{where: point{x: int 1, y: int 2}}"
    assert encode(IDL.type("reading"), value) == blue
    absent = decode(IDL.type("maybe"), bytes(4))
    assert absent == Union("maybe", Bool(False), None, VOID)


def test_a_linked_list_decodes_and_encodes() -> None:
    wire = bytes.fromhex("00000001000000010000000200000000")
    value = decode(IDL.type("node"), wire)
    assert isinstance(value, Struct) and value["value"] == UInt(1)
    assert render(value) == "node{value: uint 1, next: *node{value: uint 2, next: NULL}}"
    assert encode(IDL.type("node"), value) == wire


@pytest.mark.parametrize(
    ("t", "wire", "error", "words"),
    [
        (BOOL, "00000002", BadXdr, "a bool must be 0 or 1, not 2"),
        (OpaqueType(fixed=3), "61626301", BadXdr, "padding after opaque[3] is not zero"),
        (StringType(), "0000000161000100", BadXdr, "padding after a string is not zero"),
        (StringType(maximum=4), "0000000561626364650000", OverLimit, "over its declared max"),
        (OptionalType(INT), "00000002", BadXdr, "flag must be 0 or 1, not 2"),
        (INT, "000000", Truncated, "an int needs 4 bytes but 3 are left"),
        (INT, "0000000000", BadXdr, "1 bytes follow the last value"),
    ],
)
def test_wrong_bytes_are_clear_errors(t: XdrType, wire: str, error: type, words: str) -> None:
    with pytest.raises(error) as caught:
        decode(t, bytes.fromhex(wire))
    assert words in str(caught.value)


def test_an_enum_value_outside_the_type_is_an_error_with_its_path() -> None:
    with pytest.raises(BadXdr) as caught:
        decode(IDL.type("reading"), bytes.fromhex("0000000700000000"))
    assert "7 is not a value of enum color" in caught.value.reason
    assert caught.value.path == "args[0].c"


def test_a_union_without_the_arm_or_a_default_is_an_error() -> None:
    t = parse_idl("union u switch (int d) { case 1: int a; };").type("u")
    with pytest.raises(BadXdr, match="union u has no arm for d = 2 and no default"):
        decode(t, bytes.fromhex("00000002"))


def test_a_string_length_of_2_31_minus_1_in_40_bytes_is_refused_before_allocating() -> None:
    wire = bytes.fromhex("7fffffff") + bytes(36)
    with pytest.raises(Truncated) as caught:
        decode(StringType(), wire)
    assert caught.value.reason == (
        "a string of 2147483647 needs at least 2147483648 bytes but 36 are left"
    )
    assert caught.value.offset == 0


def test_an_array_count_is_checked_against_the_smallest_element() -> None:
    # A million points (8 bytes each at least) cannot come from 16 bytes.
    wire = struct.pack(">I", 1_000_000) + bytes(16)
    with pytest.raises(Truncated, match="needs at least 8000000 bytes but 16 are left"):
        decode(ArrayType(IDL.type("point")), wire)


def test_arrays_of_empty_elements_are_bounded_by_the_item_limit() -> None:
    t = ArrayType(VOID_TYPE)
    assert decode(t, struct.pack(">I", 3)) == Array([VOID, VOID, VOID])
    with pytest.raises(OverLimit, match="over the limit of 10"):
        decode(t, struct.pack(">I", 11), Limits(max_items=10))


def test_nesting_is_bounded_by_the_depth_limit() -> None:
    t = IDL.type("nested")
    deep = b"".join(struct.pack(">II", 1, 1) for _ in range(50)) + struct.pack(">I", 0)
    assert isinstance(decode(t, deep), Union)
    with pytest.raises(OverLimit, match="nest deeper than the limit of 20") as caught:
        decode(t, deep, Limits(max_depth=20))
    assert caught.value.path is not None and caught.value.path.startswith("args[0].inner")


def test_a_message_over_the_size_limit_is_refused() -> None:
    with pytest.raises(OverLimit, match="over the limit of 8"):
        decode_all((INT, INT, INT), bytes(12), Limits(max_message=8))


def test_encoding_checks_the_value_against_the_type() -> None:
    with pytest.raises(BadXdr, match="does not fit int"):
        encode(INT, 2**31)
    with pytest.raises(BadXdr, match=r"string of 5 bytes is over its maximum 4"):
        encode(StringType(maximum=4), "hello")
    with pytest.raises(BadXdr, match="lacks y"):
        encode(IDL.type("point"), {"x": 1})
    with pytest.raises(OncRpcError) as caught:
        encode(IDL.type("point"), {"x": 1, "y": "no"})
    assert caught.value.path == ".y"


# ---------------------------------------------------------------- JSON form


def test_the_json_form_names_each_xdr_type() -> None:
    value = Struct(
        "s",
        (
            ("u", UHyper(2**64 - 1)),
            ("f", Float(math.inf)),
            ("o", Opaque(b"\x00\xff")),
            ("t", String(b"caf\xc3\xa9")),
            ("b", String(b"\xff")),
            ("e", Enum("color", "RED", 0)),
            ("r", Raw(b"\x01\x02")),
        ),
    )
    assert value_to_json(value) == {
        "struct": {
            "type": "s",
            "fields": {
                "u": {"uhyper": "18446744073709551615"},
                "f": {"float": "Infinity"},
                "o": {"opaque": "AP8="},
                "t": {"string": "café"},
                "b": {"string": {"base64": "/w=="}},
                "e": {"enum": {"type": "color", "name": "RED", "value": 0}},
                "r": {"raw": "0102"},
            },
        }
    }
    assert value_from_json(value_to_json(value)) == value


def test_bad_json_forms_name_the_path() -> None:
    with pytest.raises(BadXdr, match="unknown XDR type 'integer'"):
        value_from_json({"integer": 1})
    with pytest.raises(BadXdr) as caught:
        value_from_json({"array": [{"int": 1}, {"int": 2**40}]})
    assert caught.value.path == "value[1]"


# ---------------------------------------------------------------- properties

_leaf: st.SearchStrategy[Value] = st.one_of(
    st.integers(-(2**31), 2**31 - 1).map(Int),
    st.integers(0, 2**32 - 1).map(UInt),
    st.integers(-(2**63), 2**63 - 1).map(Hyper),
    st.integers(0, 2**64 - 1).map(UHyper),
    st.booleans().map(Bool),
    st.floats(width=32).map(Float),
    st.floats().map(Double),
    st.binary(max_size=20).map(Opaque),
    st.binary(max_size=20).map(String),
    st.just(VOID),
)


def _node(children: st.SearchStrategy[Value]) -> st.SearchStrategy[Value]:
    names = st.text("abcxyz", min_size=1, max_size=4)
    return st.one_of(
        st.lists(children, max_size=4).map(Array),
        st.one_of(st.none(), children).map(Optional),
        st.dictionaries(names, children, min_size=1, max_size=4).map(
            lambda d: Struct("t", tuple(d.items()))
        ),
        st.tuples(st.integers(-5, 5), names, children).map(
            lambda t: Union("u", Int(t[0]), t[1], t[2])
        ),
    )


values = st.recursive(_leaf, _node, max_leaves=12)


@given(values)
def test_the_json_form_round_trips(value: Value) -> None:
    assert value_from_json(value_to_json(value)) == value


@given(
    st.lists(st.integers(-(2**31), 2**31 - 1), max_size=8),
    st.binary(max_size=30),
    st.integers(0, 2**64 - 1),
    st.floats(allow_nan=False),
)
def test_bytes_agree_with_xdrlib3_both_ways(
    ints: list[int], data: bytes, big: int, number: float
) -> None:
    idl = parse_idl(
        "struct rec { int xs<>; opaque data<>; string name<>; unsigned hyper big; "
        "double d; bool flag; };"
    )
    t = idl.type("rec")
    packer = xdrlib3.Packer()
    packer.pack_array(ints, packer.pack_int)
    packer.pack_bytes(data)
    packer.pack_string(data)
    packer.pack_uhyper(big)
    packer.pack_double(number)
    packer.pack_bool(True)
    wire = packer.get_buffer()
    value = decode(t, wire)
    assert isinstance(value, Struct)
    assert value["xs"] == Array(Int(i) for i in ints)
    assert value["data"] == Opaque(data) and value["name"] == String(data)
    assert value["big"] == UHyper(big) and value["d"] == Double(number)
    assert encode(t, value) == wire
