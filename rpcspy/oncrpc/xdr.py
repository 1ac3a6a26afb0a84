"""XDR (RFC 4506): the types an interface declares, and decoding/encoding values of them.

Strategy: a type is a small immutable object (``IntType``, ``StructType``...) that decodes from a
``Reader`` and encodes into a ``bytearray``; an interface (``rpcspy.oncrpc.idl``) is a graph of
them. Safety comes first and never bends:

- every length or count is checked against the type's declared maximum, ``Limits`` and the bytes
  left *before* anything is allocated: a string length of 2^31-1 in a 40-byte message is a
  ``Truncated`` error naming both numbers, and an array count is checked against the smallest
  size its elements can have on the wire;
- nesting of structs, unions, optionals and arrays is bounded by ``Limits.max_depth``;
- padding must be zero bytes, bools 0 or 1, enums one of their values; bytes left after the last
  value are an error (``decode`` and ``decode_all``).

Errors carry the byte offset and, added as they rise through composites, the value path
(``args[0].home.x``), so a message says where without building paths on the fast path.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Final

from rpcspy.oncrpc.errors import BadIdl, BadXdr, OncRpcError, OverLimit, Truncated
from rpcspy.oncrpc.values import (
    VOID,
    Array,
    Bool,
    Double,
    Enum,
    Float,
    Hyper,
    Int,
    IntegerValue,
    Opaque,
    Optional,
    Quadruple,
    String,
    Struct,
    UHyper,
    UInt,
    Union,
    Value,
    Void,
)

__all__ = [
    "BOOL",
    "DEFAULT_LIMITS",
    "DOUBLE",
    "FLOAT",
    "HYPER",
    "INT",
    "QUADRUPLE",
    "UHYPER",
    "UINT",
    "VOID_TYPE",
    "ArrayType",
    "EnumType",
    "Limits",
    "NamedType",
    "OpaqueType",
    "OptionalType",
    "Reader",
    "StringType",
    "StructType",
    "UnionArm",
    "UnionType",
    "XdrType",
    "decode",
    "decode_all",
    "encode",
    "encode_all",
]

_U32: Final = struct.Struct(">I")
_I32: Final = struct.Struct(">i")
_U64: Final = struct.Struct(">Q")
_I64: Final = struct.Struct(">q")
_F32: Final = struct.Struct(">f")
_F64: Final = struct.Struct(">d")
_ZEROS: Final = b"\0\0\0"


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what the decoder accepts. Over one, it raises ``OverLimit`` before allocating."""

    #: Largest message (a TCP record or a UDP datagram), in bytes.
    max_message: int = 16 * 1024 * 1024
    #: Deepest nesting of structs, unions, optionals and arrays in one value. A linked list
    #: (``entry *next``) nests two levels per entry.
    max_depth: int = 256
    #: Most elements in one array (also bounds arrays of zero-size elements).
    max_items: int = 1 << 20


DEFAULT_LIMITS: Final = Limits()


class Reader:
    """A cursor over one message's bytes. Every read checks the bytes left first."""

    __slots__ = ("data", "end", "limits", "pos")

    def __init__(
        self, data: bytes, pos: int = 0, end: int | None = None, limits: Limits = DEFAULT_LIMITS
    ) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end
        self.limits = limits

    @property
    def left(self) -> int:
        """Bytes not read yet."""
        return self.end - self.pos

    def need(self, size: int, what: str) -> None:
        """Raise ``Truncated`` unless ``size`` bytes are left for ``what``."""
        if self.end - self.pos < size:
            raise Truncated(
                f"{what} needs {size} bytes but {self.end - self.pos} are left", offset=self.pos
            )

    def u32(self, what: str = "an unsigned int") -> int:
        pos = self.pos
        if self.end - pos < 4:
            self.need(4, what)
        self.pos = pos + 4
        return int(_U32.unpack_from(self.data, pos)[0])

    def i32(self, what: str = "an int") -> int:
        pos = self.pos
        if self.end - pos < 4:
            self.need(4, what)
        self.pos = pos + 4
        return int(_I32.unpack_from(self.data, pos)[0])

    def _unpack(self, codec: struct.Struct, what: str) -> object:
        pos = self.pos
        if self.end - pos < codec.size:
            self.need(codec.size, what)
        self.pos = pos + codec.size
        return codec.unpack_from(self.data, pos)[0]

    def length(self, what: str, maximum: int | None, unit: int = 1) -> int:
        """A length or count prefix, checked against ``maximum``, the limits and the bytes left
        (each item taking at least ``unit`` bytes) before the caller allocates anything."""
        start = self.pos
        n = self.u32(f"the length of {what}")
        if maximum is not None and n > maximum:
            raise OverLimit(f"{what} of {n} is over its declared maximum {maximum}", offset=start)
        if unit == 0 and n > self.limits.max_items:
            raise OverLimit(
                f"{what} of {n} items is over the limit of {self.limits.max_items}", offset=start
            )
        wire = ((n + 3) & ~3) if unit == 1 else n * unit
        if wire > self.end - self.pos:
            raise Truncated(
                f"{what} of {n} needs at least {wire} bytes but {self.end - self.pos} are left",
                offset=start,
            )
        return n

    def view(self, n: int, what: str) -> memoryview:
        """``n`` bytes (a view, not a copy) and their zero padding to a multiple of four."""
        pos = self.pos
        pad = (-n) & 3
        if self.end - pos < n + pad:
            self.need(n + pad, what)
        if pad and self.data[pos + n : pos + n + pad] != _ZEROS[:pad]:
            raise BadXdr(f"the padding after {what} is not zero bytes", offset=pos + n)
        self.pos = pos + n + pad
        return memoryview(self.data)[pos : pos + n]

    def opaque(self, n: int, what: str) -> bytes:
        """``n`` bytes and their zero padding to a multiple of four."""
        return bytes(self.view(n, what))


class XdrType:
    """One XDR type. ``decode`` reads a value, ``encode`` appends one; ``spelling`` is its ``.x``
    text; ``min_size`` the fewest bytes a value takes on the wire (bounds array counts)."""

    __slots__ = ()

    def decode(self, r: Reader, depth: int = 0) -> Value:
        raise NotImplementedError

    def encode(self, value: object, out: bytearray) -> None:
        raise NotImplementedError

    @property
    def spelling(self) -> str:
        raise NotImplementedError

    def min_size(self) -> int:
        return 4

    def resolved(self) -> XdrType:
        """The type itself (a ``NamedType`` gives what its name stands for)."""
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spelling}>"


#: Builds an int or float subclass without its checking ``__new__``, for values the wire
#: width already bounds.
_make: Final = int.__new__


def _int_in(value: object, cls: type[IntegerValue]) -> int:
    if isinstance(value, bool | Bool | Enum) or not isinstance(value, int):
        raise BadXdr(f"{cls.label} expected, not {value!r}")
    if not cls.min <= value <= cls.max:
        raise BadXdr(f"{value} does not fit {cls.label} [{cls.min}, {cls.max}]")
    return int(value)


class _Scalar(XdrType):
    __slots__ = ()
    codec: ClassVar[struct.Struct]
    value_class: ClassVar[type[IntegerValue] | type[Float] | type[Double]]
    what: ClassVar[str]

    def decode(self, r: Reader, depth: int = 0) -> Value:
        return self.value_class(r._unpack(self.codec, self.what))  # type: ignore[arg-type]

    def min_size(self) -> int:
        return self.codec.size


class _IntegerType(_Scalar):
    __slots__ = ()
    value_class: ClassVar[type[IntegerValue]]

    def decode(self, r: Reader, depth: int = 0) -> Value:
        # The wire width is the type's range: no range check to make (int.__new__ skips it).
        number = r._unpack(self.codec, self.what)
        return _make(self.value_class, number)  # type: ignore[call-overload,no-any-return]

    def encode(self, value: object, out: bytearray) -> None:
        out += self.codec.pack(_int_in(value, self.value_class))


class IntType(_IntegerType):
    """``int``."""

    __slots__ = ()
    codec = _I32
    value_class = Int
    what = "an int"
    spelling = "int"

    def decode(self, r: Reader, depth: int = 0) -> Value:
        return _make(Int, r.i32())


class UIntType(_IntegerType):
    """``unsigned int``."""

    __slots__ = ()
    codec = _U32
    value_class = UInt
    what = "an unsigned int"
    spelling = "unsigned int"

    def decode(self, r: Reader, depth: int = 0) -> Value:
        return _make(UInt, r.u32())


class HyperType(_IntegerType):
    """``hyper``."""

    __slots__ = ()
    codec = _I64
    value_class = Hyper
    what = "a hyper"
    spelling = "hyper"


class UHyperType(_IntegerType):
    """``unsigned hyper``."""

    __slots__ = ()
    codec = _U64
    value_class = UHyper
    what = "an unsigned hyper"
    spelling = "unsigned hyper"


class FloatType(_Scalar):
    """``float``."""

    __slots__ = ()
    codec = _F32
    value_class: ClassVar[type[Float] | type[Double]] = Float
    what = "a float"
    spelling = "float"

    def encode(self, value: object, out: bytearray) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadXdr(f"float expected, not {value!r}")
        out += _F32.pack(float(value))


class DoubleType(FloatType):
    """``double``."""

    __slots__ = ()
    codec = _F64
    value_class = Double
    what = "a double"
    spelling = "double"

    def encode(self, value: object, out: bytearray) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadXdr(f"double expected, not {value!r}")
        out += _F64.pack(float(value))


class QuadrupleType(XdrType):
    """``quadruple``: 16 bytes, kept as they are."""

    __slots__ = ()
    spelling = "quadruple"

    def decode(self, r: Reader, depth: int = 0) -> Value:
        return Quadruple(r.opaque(16, "a quadruple"))

    def encode(self, value: object, out: bytearray) -> None:
        if not isinstance(value, bytes) or len(value) != 16:
            raise BadXdr(f"quadruple needs 16 bytes, not {value!r}")
        out += value

    def min_size(self) -> int:
        return 16


class BoolType(XdrType):
    """``bool``: 0 or 1, nothing else."""

    __slots__ = ()
    spelling = "bool"

    def decode(self, r: Reader, depth: int = 0) -> Value:
        start = r.pos
        n = r.u32("a bool")
        if n > 1:
            raise BadXdr(f"a bool must be 0 or 1, not {n}", offset=start)
        return Bool(n)

    def encode(self, value: object, out: bytearray) -> None:
        if isinstance(value, Bool | bool) or (type(value) is int and value in (0, 1)):
            out += _U32.pack(1 if value else 0)
        else:
            raise BadXdr(f"bool expected, not {value!r}")


class VoidType(XdrType):
    """``void``: no bytes."""

    __slots__ = ()
    spelling = "void"

    def decode(self, r: Reader, depth: int = 0) -> Value:
        return VOID

    def encode(self, value: object, out: bytearray) -> None:
        if value is not None and not isinstance(value, Void):
            raise BadXdr(f"void takes no value, not {value!r}")

    def min_size(self) -> int:
        return 0


INT: Final = IntType()
UINT: Final = UIntType()
HYPER: Final = HyperType()
UHYPER: Final = UHyperType()
FLOAT: Final = FloatType()
DOUBLE: Final = DoubleType()
QUADRUPLE: Final = QuadrupleType()
BOOL: Final = BoolType()
VOID_TYPE: Final = VoidType()


def _depth(r: Reader, depth: int) -> int:
    if depth >= r.limits.max_depth:
        raise OverLimit(f"values nest deeper than the limit of {r.limits.max_depth}", offset=r.pos)
    return depth + 1


@dataclass(frozen=True, eq=False, slots=True)
class EnumType(XdrType):
    """``enum name { A = 1, ... }``: a signed int that must be one of the members."""

    name: str
    members: tuple[tuple[str, int], ...]
    _by_value: dict[int, str] = field(init=False, repr=False)
    _by_name: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_value", {v: k for k, v in reversed(self.members)})
        object.__setattr__(self, "_by_name", dict(self.members))

    @property
    def spelling(self) -> str:
        return f"enum {self.name}"

    def decode(self, r: Reader, depth: int = 0) -> Value:
        start = r.pos
        n = r.i32(f"enum {self.name}")
        name = self._by_value.get(n)
        if name is None:
            raise BadXdr(f"{n} is not a value of enum {self.name}", offset=start)
        return Enum(self.name, name, n)

    def number(self, value: object) -> int:
        """The wire number of an ``Enum`` value, a member name or a member number."""
        if isinstance(value, Enum):
            value = value.value
        if isinstance(value, str):
            if value not in self._by_name:
                raise BadXdr(f"{value!r} is not a member of enum {self.name}")
            return self._by_name[value]
        if isinstance(value, int) and not isinstance(value, bool) and value in self._by_value:
            return value
        raise BadXdr(f"{value!r} is not a value of enum {self.name}")

    def encode(self, value: object, out: bytearray) -> None:
        out += _I32.pack(self.number(value))

    def name_of(self, number: int) -> str | None:
        """The member named ``number``, or None."""
        return self._by_value.get(number)


@dataclass(frozen=True, eq=False, slots=True)
class OpaqueType(XdrType):
    """``opaque x[n]`` (``fixed``) or ``opaque x<m>`` / ``opaque x<>`` (``maximum`` or None)."""

    fixed: int | None = None
    maximum: int | None = None

    @property
    def spelling(self) -> str:
        if self.fixed is not None:
            return f"opaque[{self.fixed}]"
        return f"opaque<{'' if self.maximum is None else self.maximum}>"

    def decode(self, r: Reader, depth: int = 0) -> Value:
        if self.fixed is not None:
            return Opaque(r.view(self.fixed, f"opaque[{self.fixed}]"))
        n = r.length("opaque data", self.maximum)
        return Opaque(r.view(n, "opaque data"))

    def encode(self, value: object, out: bytearray) -> None:
        if not isinstance(value, bytes | bytearray) or isinstance(value, String):
            raise BadXdr(f"opaque expected, not {value!r}")
        _put_bytes(bytes(value), self.fixed, self.maximum, "opaque", out)

    def min_size(self) -> int:
        return (self.fixed + 3) & ~3 if self.fixed is not None else 4


def _put_bytes(
    data: bytes, fixed: int | None, maximum: int | None, what: str, out: bytearray
) -> None:
    if fixed is not None:
        if len(data) != fixed:
            raise BadXdr(f"{what}[{fixed}] needs {fixed} bytes, not {len(data)}")
    else:
        if maximum is not None and len(data) > maximum:
            raise BadXdr(f"{what} of {len(data)} bytes is over its maximum {maximum}")
        out += _U32.pack(len(data))
    out += data
    out += _ZEROS[: (-len(data)) & 3]


@dataclass(frozen=True, eq=False, slots=True)
class StringType(XdrType):
    """``string x<m>`` / ``string x<>``."""

    maximum: int | None = None

    @property
    def spelling(self) -> str:
        return f"string<{'' if self.maximum is None else self.maximum}>"

    def decode(self, r: Reader, depth: int = 0) -> Value:
        n = r.length("a string", self.maximum)
        return String(r.view(n, "a string"))

    def encode(self, value: object, out: bytearray) -> None:
        if isinstance(value, str):
            value = value.encode("utf-8")
        if not isinstance(value, bytes) or isinstance(value, Opaque):
            raise BadXdr(f"string expected, not {value!r}")
        _put_bytes(value, None, self.maximum, "string", out)


@dataclass(frozen=True, eq=False, slots=True)
class ArrayType(XdrType):
    """``T x[n]`` (``fixed``) or ``T x<m>`` / ``T x<>``."""

    element: XdrType
    fixed: int | None = None
    maximum: int | None = None

    @property
    def spelling(self) -> str:
        if self.fixed is not None:
            return f"{self.element.spelling}[{self.fixed}]"
        return f"{self.element.spelling}<{'' if self.maximum is None else self.maximum}>"

    def decode(self, r: Reader, depth: int = 0) -> Value:
        if depth >= r.limits.max_depth:
            _depth(r, depth)
        inner = depth + 1
        unit = self.element.min_size()
        if self.fixed is not None:
            n = self.fixed
            if n * unit > r.left:
                r.need(n * unit, f"{self.spelling}")
        else:
            n = r.length("an array", self.maximum, unit)
        decode = self.element.decode
        items: list[Value] = []
        for i in range(n):
            try:
                items.append(decode(r, inner))
            except OncRpcError as exc:
                raise exc.within(f"[{i}]") from None
        return Array(items)

    def encode(self, value: object, out: bytearray) -> None:
        if not isinstance(value, list | tuple):
            raise BadXdr(f"array expected, not {value!r}")
        if self.fixed is not None and len(value) != self.fixed:
            raise BadXdr(f"{self.spelling} needs {self.fixed} elements, not {len(value)}")
        if self.fixed is None:
            if self.maximum is not None and len(value) > self.maximum:
                raise BadXdr(f"{len(value)} elements is over the maximum {self.maximum}")
            out += _U32.pack(len(value))
        for i, item in enumerate(value):
            try:
                self.element.encode(item, out)
            except OncRpcError as exc:
                raise exc.within(f"[{i}]") from None

    def min_size(self) -> int:
        return self.fixed * self.element.min_size() if self.fixed is not None else 4


@dataclass(frozen=True, eq=False, slots=True)
class OptionalType(XdrType):
    """``T *x``: a bool, then the value when it is TRUE."""

    element: XdrType

    @property
    def spelling(self) -> str:
        return f"{self.element.spelling} *"

    def decode(self, r: Reader, depth: int = 0) -> Value:
        start = r.pos
        present = r.u32("an optional's flag")
        if present == 0:
            return Optional(None)
        if present != 1:
            raise BadXdr(f"an optional's flag must be 0 or 1, not {present}", offset=start)
        if depth >= r.limits.max_depth:
            _depth(r, depth)
        return Optional(self.element.decode(r, depth + 1))

    def encode(self, value: object, out: bytearray) -> None:
        inner = value.value if isinstance(value, Optional) else value
        if inner is None:
            out += _U32.pack(0)
        else:
            out += _U32.pack(1)
            self.element.encode(inner, out)


@dataclass(eq=False, slots=True)
class NamedType(XdrType):
    """A type used by name (``pmap``, ``struct pmaplist``), bound to its definition once the
    whole interface is read, so definitions may refer forward and to themselves."""

    name: str
    target: XdrType | None = None

    def resolved(self) -> XdrType:
        seen = 0
        t: XdrType = self
        while isinstance(t, NamedType):
            if t.target is None:
                raise BadIdl(f"type {t.name!r} is used but never defined")
            t = t.target
            seen += 1
            if seen > 100:
                raise BadIdl(f"type {self.name!r} is defined by itself")
        return t

    @property
    def spelling(self) -> str:
        return self.name

    def decode(self, r: Reader, depth: int = 0) -> Value:
        target = self.target
        if target is None:
            self.resolved()
        return target.decode(r, depth)  # type: ignore[union-attr]

    def encode(self, value: object, out: bytearray) -> None:
        self.resolved().encode(value, out)

    def min_size(self) -> int:
        # A name may point back at the struct asking (struct list { list *next; }): a type that
        # contains itself only through optionals or variable arrays, whose minimum is 4.
        return self.resolved().min_size()

    def __repr__(self) -> str:
        return f"<NamedType {self.name}>"


@dataclass(frozen=True, eq=False, slots=True)
class StructType(XdrType):
    """``struct name { T a; U b; }``."""

    name: str
    fields: tuple[tuple[str, XdrType], ...]
    _min: list[int] = field(default_factory=list, init=False, repr=False)

    @property
    def spelling(self) -> str:
        return f"struct {self.name}"

    def decode(self, r: Reader, depth: int = 0) -> Value:
        if depth >= r.limits.max_depth:
            _depth(r, depth)
        inner = depth + 1
        out: list[tuple[str, Value]] = []
        for name, t in self.fields:
            try:
                out.append((name, t.decode(r, inner)))
            except OncRpcError as exc:
                raise exc.within(f".{name}") from None
        return Struct(self.name, tuple(out))

    def encode(self, value: object, out: bytearray) -> None:
        if isinstance(value, Struct):
            given: dict[str, object] = dict(value.fields)
        elif isinstance(value, dict):
            given = value
        else:
            raise BadXdr(f"struct {self.name} expected, not {value!r}")
        missing = [name for name, _ in self.fields if name not in given]
        if missing:
            raise BadXdr(f"struct {self.name} lacks {', '.join(missing)}")
        for name, t in self.fields:
            try:
                t.encode(given[name], out)
            except OncRpcError as exc:
                raise exc.within(f".{name}") from None

    def min_size(self) -> int:
        if not self._min:
            self._min.append(0)  # a guard while computing: a cycle counts as 0 extra bytes
            self._min[0] = sum(t.min_size() for _, t in self.fields)
        return self._min[0]


@dataclass(frozen=True, slots=True)
class UnionArm:
    """One arm of a union: its field name (None for ``void``) and type."""

    name: str | None
    type: XdrType


@dataclass(frozen=True, eq=False, slots=True)
class UnionType(XdrType):
    """``union name switch (D d) { case 1: T a; ... default: U b; }``. The discriminant is an
    int, unsigned int, enum or bool; ``arms`` is keyed by its wire number."""

    name: str
    discriminant_name: str
    discriminant: XdrType
    arms: dict[int, UnionArm]
    default: UnionArm | None = None

    @property
    def spelling(self) -> str:
        return f"union {self.name}"

    def decode(self, r: Reader, depth: int = 0) -> Value:
        if depth >= r.limits.max_depth:
            _depth(r, depth)
        inner = depth + 1
        start = r.pos
        try:
            disc = self.discriminant.decode(r, inner)
        except OncRpcError as exc:
            raise exc.within(f".{self.discriminant_name}") from None
        number = _disc_number(disc)
        arm = self.arms.get(number, self.default)
        if arm is None:
            raise BadXdr(
                f"union {self.name} has no arm for {self.discriminant_name} = {number} "
                "and no default",
                offset=start,
            )
        try:
            value = arm.type.decode(r, inner)
        except OncRpcError as exc:
            raise exc.within(f".{arm.name}") from None
        return Union(self.name, disc, arm.name, value)

    def encode(self, value: object, out: bytearray) -> None:
        if not isinstance(value, Union):
            raise BadXdr(f"union {self.name} expected, not {value!r}")
        self.discriminant.encode(value.discriminant, out)
        number = _disc_number(value.discriminant)
        arm = self.arms.get(number, self.default)
        if arm is None:
            raise BadXdr(f"union {self.name} has no arm for {number}")
        arm.type.encode(value.value, out)


def _disc_number(value: Value) -> int:
    if isinstance(value, Enum):
        return value.value
    return int(value)  # type: ignore[arg-type]


# ---------------------------------------------------------------- whole messages


def decode(t: XdrType, data: bytes, limits: Limits = DEFAULT_LIMITS) -> Value:
    """The one value of type ``t`` that ``data`` holds, all of it."""
    return decode_all((t,), data, limits)[0]


def decode_all(
    types: Sequence[XdrType],
    data: bytes,
    limits: Limits = DEFAULT_LIMITS,
    *,
    start: int = 0,
    path: str = "args",
) -> tuple[Value, ...]:
    """Values of ``types`` one after another from ``data[start:]``, and nothing after them."""
    if len(data) > limits.max_message:
        raise OverLimit(f"a message of {len(data)} bytes is over the limit of {limits.max_message}")
    r = Reader(data, start, limits=limits)
    values: list[Value] = []
    for i, t in enumerate(types):
        try:
            values.append(t.decode(r, 0))
        except OncRpcError as exc:
            raise exc.within(f"{path}[{i}]") from None
    if r.left:
        raise BadXdr(f"{r.left} bytes follow the last value", offset=r.pos, path=path)
    return tuple(values)


def encode(t: XdrType, value: object) -> bytes:
    """The XDR bytes of ``value`` as type ``t``."""
    out = bytearray()
    t.encode(value, out)
    return bytes(out)


def encode_all(types: Sequence[XdrType], values: Sequence[object]) -> bytes:
    """The XDR bytes of several values one after another (a procedure's arguments)."""
    if len(types) != len(values):
        raise BadXdr(f"{len(types)} values expected, not {len(values)}")
    out = bytearray()
    for i, (t, v) in enumerate(zip(types, values, strict=True)):
        try:
            t.encode(v, out)
        except OncRpcError as exc:
            raise exc.within(f"args[{i}]") from None
    return bytes(out)
