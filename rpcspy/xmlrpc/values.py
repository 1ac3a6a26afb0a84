"""The typed XML-RPC value model.

Every XML-RPC value is an instance of one class per wire type. Scalars subclass the builtin that
holds their meaning (``I4`` is an ``int``, ``String`` a ``str``), so they are cheap to build and
natural to use, but the class keeps the wire type: ``I4(1)``, ``Int(1)``, ``Boolean(1)`` and
``String("1")`` are four different values, and re-encoding a decoded value writes the same tag.

Equality is typed: two values are equal only when their classes and meanings are equal. So
``I4(1) != Int(1)`` and ``I4(1) != 1``. Struct equality ignores member order (it is a dict).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Final

__all__ = [
    "ALL_TYPES",
    "I4",
    "I8",
    "Array",
    "Base64",
    "Boolean",
    "DateTime",
    "Double",
    "ExBigDecimal",
    "ExBigInteger",
    "ExDateTime",
    "ExDom",
    "ExFloat",
    "ExI1",
    "ExI2",
    "ExI8",
    "ExNil",
    "ExSerializable",
    "Int",
    "IntegerValue",
    "Nil",
    "NoValue",
    "RawValue",
    "String",
    "Struct",
    "UntypedString",
    "Value",
    "WideI4",
    "WideInt",
    "from_python",
    "parse_datetime",
    "to_python",
    "type_name",
]


class _Typed:
    """Mixin: typed equality and the wire tag as a class attribute."""

    __slots__ = ()
    tag: ClassVar[str]
    #: Name shown to people (``int``, ``i4``, ``string``, ``ex:i8`` ...).
    label: ClassVar[str]

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return False
        return bool(self._base_eq(other))  # type: ignore[attr-defined]

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)


# ---------------------------------------------------------------- integers


class IntegerValue(_Typed, int):
    """Base of every integer wire type; ``min``/``max`` bound what the tag may hold."""

    __slots__ = ()
    min: ClassVar[int | None]
    max: ClassVar[int | None]
    _base_eq = int.__eq__
    __hash__ = int.__hash__

    def __repr__(self) -> str:
        if self.bit_length() > 10_000:
            # str() of an int this long trips Python's int-to-text digit limit.
            return f"{type(self).__name__}(<{self.bit_length()}-bit integer>)"
        return f"{type(self).__name__}({int(self)})"


class I4(IntegerValue):
    """``<i4>``: 32-bit signed integer."""

    __slots__ = ()
    tag = "i4"
    label = "i4"
    min: ClassVar[int | None] = -(1 << 31)
    max: ClassVar[int | None] = (1 << 31) - 1


class Int(IntegerValue):
    """``<int>``: 32-bit signed integer (same meaning as ``<i4>``, different tag)."""

    __slots__ = ()
    tag = "int"
    label = "int"
    min: ClassVar[int | None] = -(1 << 31)
    max: ClassVar[int | None] = (1 << 31) - 1


class I8(IntegerValue):
    """``<i8>``: 64-bit signed integer (common extension)."""

    __slots__ = ()
    tag = "i8"
    label = "i8"
    min: ClassVar[int | None] = -(1 << 63)
    max: ClassVar[int | None] = (1 << 63) - 1


class WideI4(I4):
    """An ``<i4>`` whose number does not fit 32 bits, as some peers send (tolerant reading only).

    It keeps both the number and the ``i4`` tag, so it re-encodes as it came; the strict decoder
    and ``I4`` itself refuse such a number.
    """

    __slots__ = ()
    min = None
    max = None


class WideInt(Int):
    """An ``<int>`` whose number does not fit 32 bits (tolerant reading only); see ``WideI4``."""

    __slots__ = ()
    min = None
    max = None


class ExI1(IntegerValue):
    """``<ex:i1>``: Apache extension, 8-bit signed integer."""

    __slots__ = ()
    tag = "ex:i1"
    label = "ex:i1"
    min = -(1 << 7)
    max = (1 << 7) - 1


class ExI2(IntegerValue):
    """``<ex:i2>``: Apache extension, 16-bit signed integer."""

    __slots__ = ()
    tag = "ex:i2"
    label = "ex:i2"
    min = -(1 << 15)
    max = (1 << 15) - 1


class ExI8(IntegerValue):
    """``<ex:i8>``: Apache extension, 64-bit signed integer."""

    __slots__ = ()
    tag = "ex:i8"
    label = "ex:i8"
    min = -(1 << 63)
    max = (1 << 63) - 1


class ExBigInteger(IntegerValue):
    """``<ex:biginteger>``: Apache extension, unbounded integer."""

    __slots__ = ()
    tag = "ex:biginteger"
    label = "ex:biginteger"
    min = None
    max = None


class Boolean(_Typed, int):
    """``<boolean>``: 0 or 1."""

    __slots__ = ()
    tag = "boolean"
    label = "boolean"
    _base_eq = int.__eq__
    __hash__ = int.__hash__

    def __new__(cls, value: object = False) -> Boolean:
        if value not in (0, 1, True, False):
            raise ValueError(f"boolean must be 0 or 1, not {value!r}")
        return int.__new__(cls, bool(value))

    def __repr__(self) -> str:
        return f"Boolean({bool(self)})"


# ---------------------------------------------------------------- strings


class String(_Typed, str):
    """``<string>``: an explicitly typed string."""

    __slots__ = ()
    tag = "string"
    label = "string"
    _base_eq = str.__eq__
    __hash__ = str.__hash__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str.__repr__(self)})"


class UntypedString(String):
    """Text directly inside ``<value>`` with no type element: a string by the spec."""

    __slots__ = ()
    tag = ""
    label = "string (untyped)"


class ExDom(String):
    """``<ex:dom>``: an XML fragment, kept as its serialized text."""

    __slots__ = ()
    tag = "ex:dom"
    label = "ex:dom"


# ---------------------------------------------------------------- floats


class Double(_Typed, float):
    """``<double>``: a finite IEEE 754 double."""

    __slots__ = ()
    tag = "double"
    label = "double"
    _base_eq = float.__eq__
    __hash__ = float.__hash__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({float.__repr__(self)})"


class ExFloat(Double):
    """``<ex:float>``: Apache extension, a 32-bit float (held as a double)."""

    __slots__ = ()
    tag = "ex:float"
    label = "ex:float"


class ExBigDecimal(_Typed, Decimal):
    """``<ex:bigdecimal>``: Apache extension, an exact decimal."""

    __slots__ = ()
    tag = "ex:bigdecimal"
    label = "ex:bigdecimal"
    _base_eq = Decimal.__eq__
    __hash__ = Decimal.__hash__

    def __repr__(self) -> str:
        return f"ExBigDecimal({str(self)!r})"


# ---------------------------------------------------------------- dates

_DATETIME_RE: Final = re.compile(
    r"""\s*
    (?P<year>\d{4})-?(?P<month>\d{2})-?(?P<day>\d{2})
    T
    (?P<hour>\d{2}):?(?P<minute>\d{2}):?(?P<second>\d{2})
    (?:[.,](?P<fraction>\d{1,9}))?
    (?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?
    \s*\Z""",
    re.VERBOSE | re.ASCII,
)


def parse_datetime(text: str) -> _dt.datetime | None:
    """Parse the dateTime variants seen in the wild; None where the text does not parse.

    Accepts compact ``20240131T08:09:10`` (the spec's form), dashed ``2024-01-31T08:09:10``,
    compact time ``20240131T080910``, fractions, ``Z`` and ``+hh:mm``/``+hhmm`` offsets.
    """
    m = _DATETIME_RE.match(text)
    if m is None:
        return None
    g = m.groupdict()
    micro = 0
    if g["fraction"]:
        micro = int((g["fraction"] + "000000")[:6])
    tz: _dt.tzinfo | None = None
    if g["tz"]:
        if g["tz"] == "Z":
            tz = _dt.UTC
        else:
            raw = g["tz"].replace(":", "")
            sign = -1 if raw[0] == "-" else 1
            hours = int(raw[1:3])
            minutes = int(raw[3:5] or 0)
            if hours > 23 or minutes > 59:
                return None
            tz = _dt.timezone(sign * _dt.timedelta(hours=hours, minutes=minutes))
    try:
        return _dt.datetime(
            int(g["year"]),
            int(g["month"]),
            int(g["day"]),
            int(g["hour"]),
            int(g["minute"]),
            int(g["second"]),
            micro,
            tzinfo=tz,
        )
    except ValueError:
        return None


class DateTime(String):
    """``<dateTime.iso8601>``: keeps the original text; ``parsed`` is the datetime where it
    parses."""

    __slots__ = ()
    tag = "dateTime.iso8601"
    label = "dateTime.iso8601"

    @property
    def parsed(self) -> _dt.datetime | None:
        return parse_datetime(self)

    @classmethod
    def from_datetime(cls, value: _dt.datetime) -> DateTime:
        """The spec's compact form (``20240131T08:09:10``), as the stdlib client writes it."""
        return cls(value.strftime("%Y%m%dT%H:%M:%S"))


class ExDateTime(DateTime):
    """``<ex:dateTime>``: Apache extension (``yyyyMMddTHH:mm:ss`` with optional fraction/zone)."""

    __slots__ = ()
    tag = "ex:dateTime"
    label = "ex:dateTime"


# ---------------------------------------------------------------- binary


class Base64(_Typed, bytes):
    """``<base64>``: the decoded bytes."""

    __slots__ = ()
    tag = "base64"
    label = "base64"
    _base_eq = bytes.__eq__
    __hash__ = bytes.__hash__

    def __repr__(self) -> str:
        if len(self) > 48:
            return f"{type(self).__name__}(<{len(self)} bytes>)"
        return f"{type(self).__name__}({bytes.__repr__(self)})"


class ExSerializable(Base64):
    """``<ex:serializable>``: a serialized Java object, base64 on the wire; kept as its bytes."""

    __slots__ = ()
    tag = "ex:serializable"
    label = "ex:serializable"


# ---------------------------------------------------------------- nil


class Nil(_Typed):
    """``<nil/>``: the common extension for None. One instance per class."""

    __slots__ = ()
    tag = "nil"
    label = "nil"
    _instance: ClassVar[dict[type, Nil]] = {}

    def __new__(cls) -> Nil:
        inst = Nil._instance.get(cls)
        if inst is None:
            inst = object.__new__(cls)
            Nil._instance[cls] = inst
        return inst

    def _base_eq(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return hash(self.tag)

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return (type(self), ())


class ExNil(Nil):
    """``<ex:nil/>``: Apache's namespaced nil."""

    __slots__ = ()
    tag = "ex:nil"
    label = "ex:nil"


class NoValue(Nil):
    """The missing result of a response whose ``<params>`` is empty (tolerant reading only).

    A ``Nil`` to code that only asks "is there a value?"; it re-encodes as ``<params/>`` with no
    ``<param>``, and cannot stand inside an array or struct.
    """

    __slots__ = ()
    tag = "novalue"
    label = "no value"


# ---------------------------------------------------------------- kept as written


class RawValue(_Typed):
    """A value the tolerant reader kept as written: an unknown type element, or a known one
    whose text is not valid for its type (``<int>abc</int>``, ``<dateTime.iso8601>yesterday``).

    ``element`` is the type element's name as written (``foo``, ``ex:thing``, ``int``), ``text``
    its text content, ``xml`` the element itself, serialized on its own; encoding writes ``xml``
    back inside ``<value>``. Equal when the markup is equal.
    """

    __slots__ = ("element", "text", "xml")
    tag = "raw"
    label = "raw"

    element: str
    text: str
    xml: str

    def __init__(self, element: str, text: str, xml: str) -> None:
        object.__setattr__(self, "element", element)
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "xml", xml)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a RawValue is immutable")

    def _base_eq(self, other: RawValue) -> bool:
        return self.xml == other.xml

    def __hash__(self) -> int:
        return hash(("raw", self.xml))

    def __repr__(self) -> str:
        xml = self.xml if len(self.xml) <= 60 else self.xml[:60] + "…"
        return f"RawValue({self.element!r}, {xml!r})"

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        return (type(self), (self.element, self.text, self.xml))


# ---------------------------------------------------------------- containers


class Struct(_Typed, dict[str, "Value"]):
    """``<struct>``: members by name. Member order is kept but is not part of equality."""

    __slots__ = ()
    tag = "struct"
    label = "struct"
    _base_eq = dict.__eq__
    __hash__ = None

    def __repr__(self) -> str:
        return f"Struct({dict.__repr__(self)})"


class Array(_Typed, list["Value"]):
    """``<array>``: an ordered list of values."""

    __slots__ = ()
    tag = "array"
    label = "array"
    _base_eq = list.__eq__
    __hash__ = None

    def __repr__(self) -> str:
        return f"Array({list.__repr__(self)})"


Value = (
    IntegerValue
    | Boolean
    | String
    | Double
    | ExBigDecimal
    | Base64
    | Nil
    | Struct
    | Array
    | RawValue
)

#: Every concrete wire type, by tag. ``""`` is the untyped string.
ALL_TYPES: Final[dict[str, type[Any]]] = {
    cls.tag: cls
    for cls in (
        I4,
        Int,
        I8,
        ExI1,
        ExI2,
        ExI8,
        ExBigInteger,
        Boolean,
        String,
        UntypedString,
        ExDom,
        Double,
        ExFloat,
        ExBigDecimal,
        DateTime,
        ExDateTime,
        Base64,
        ExSerializable,
        Nil,
        ExNil,
        Struct,
        Array,
    )
}


def type_name(value: Value) -> str:
    """The label people see for a value's wire type (``i4``, ``string (untyped)``, ``ex:nil``)."""
    return type(value).label


# ---------------------------------------------------------------- plain Python bridge


def from_python(obj: object) -> Value:
    """Type a plain Python value the way the stdlib client would put it on the wire.

    Already-typed values pass through unchanged. ``int`` becomes ``Int`` (``I8`` when it does not
    fit 32 bits), ``str`` ``String``, ``bool`` ``Boolean``, ``float`` ``Double``, ``bytes``
    ``Base64``, ``datetime`` ``DateTime``, ``None`` ``Nil``, mappings ``Struct`` and sequences
    ``Array``.
    """
    if isinstance(obj, _Typed):
        return obj  # type: ignore[return-value]
    if obj is None:
        return Nil()
    if isinstance(obj, bool):
        return Boolean(obj)
    if isinstance(obj, int):
        if Int.min is not None and Int.max is not None and Int.min <= obj <= Int.max:
            return Int(obj)
        return I8(obj)
    if isinstance(obj, float):
        return Double(obj)
    if isinstance(obj, str):
        return String(obj)
    if isinstance(obj, bytes | bytearray | memoryview):
        return Base64(bytes(obj))
    if isinstance(obj, _dt.datetime):
        return DateTime.from_datetime(obj)
    if isinstance(obj, Decimal):
        return ExBigDecimal(obj)
    if isinstance(obj, Mapping):
        return Struct({str(k): from_python(v) for k, v in obj.items()})
    if isinstance(obj, Iterable):
        return Array([from_python(v) for v in obj])
    raise TypeError(f"cannot represent {type(obj).__name__} as an XML-RPC value")


def to_python(value: Value) -> object:
    """Plain Python for a typed value (what ``xmlrpc.client`` would have returned, roughly)."""
    if isinstance(value, Boolean):
        return bool(value)
    if isinstance(value, IntegerValue):
        return int(value)
    if isinstance(value, DateTime):
        return value.parsed or str(value)
    if isinstance(value, String):
        return str(value)
    if isinstance(value, Double):
        return float(value)
    if isinstance(value, ExBigDecimal):
        return Decimal(value)
    if isinstance(value, Base64):
        return bytes(value)
    if isinstance(value, Nil):
        return None
    if isinstance(value, RawValue):
        return value.text
    if isinstance(value, Struct):
        return {k: to_python(v) for k, v in value.items()}
    if isinstance(value, Array):
        return [to_python(v) for v in value]
    raise TypeError(f"not an XML-RPC value: {type(value).__name__}")
