"""The typed XDR value model, and its JSON form.

Every decoded XDR value is an instance of one class per XDR type, and keeps that type: ``Int(5)``
(XDR ``int``), ``UInt(5)`` (``unsigned int``) and ``Hyper(5)`` are three different values, the way
``rpcspy.xmlrpc`` keeps ``i4`` apart from ``int``. Scalars subclass the builtin holding their
meaning (``Int`` is an ``int``, ``Opaque`` is ``bytes``), so they are cheap and natural to use;
equality is typed (``Int(5) != UInt(5)``, ``Int(5) != 5``). Composite values carry the name of
their ``.x`` type (``Struct("pmap", ...)``), so a view can say what it shows.

JSON form (``value_to_json`` / ``value_from_json``): one key naming the XDR type, like the XML-RPC
typed JSON of docs/capture-format.md::

    {"int": -1}  {"uint": 5}  {"hyper": 5}  {"uhyper": 5}  {"float": 1.5}  {"double": 1.5}
    {"bool": true}  {"enum": {"type": "color", "name": "RED", "value": 0}}
    {"opaque": "<base64>"}  {"string": "text"}  (not UTF-8: {"string": {"base64": "..."}})
    {"array": [...]}  {"optional": null | value}  {"void": null}  {"quadruple": "<base64>"}
    {"struct": {"type": "pmap", "fields": {"prog": {"uint": 100000}, ...}}}
    {"union": {"type": "shape", "discriminant": {...}, "arm": "radius", "value": {...}}}
    {"raw": "<hex>"}  bytes no interface describes

``uint``/``uhyper`` are XDR's ``unsigned int``/``unsigned hyper``. Integers outside the signed
64-bit range (an ``uhyper`` over 2^63-1) and non-finite floats are strings, as in the XML-RPC form.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar, Final

from rpcspy.oncrpc.errors import BadXdr

__all__ = [
    "VOID",
    "Array",
    "Bool",
    "Double",
    "Enum",
    "Float",
    "Hyper",
    "Int",
    "IntegerValue",
    "Opaque",
    "Optional",
    "Quadruple",
    "Raw",
    "String",
    "Struct",
    "UHyper",
    "UInt",
    "Union",
    "Value",
    "Void",
    "render",
    "value_from_json",
    "value_to_json",
]


class _Typed:
    """Mixin: typed equality and the XDR type's label as a class attribute."""

    __slots__ = ()
    #: The JSON key and short name shown to people (``int``, ``uint``, ``opaque``...).
    label: ClassVar[str]

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return False
        return bool(self._base_eq(other))  # type: ignore[attr-defined]

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)


class IntegerValue(_Typed, int):
    """Base of the XDR integer types; ``min``/``max`` bound what the type holds."""

    __slots__ = ()
    min: ClassVar[int]
    max: ClassVar[int]
    _base_eq = int.__eq__
    __hash__ = int.__hash__

    def __new__(cls, value: int = 0) -> IntegerValue:
        number = int(value)
        if not cls.min <= number <= cls.max:
            raise ValueError(f"{cls.label} must be in [{cls.min}, {cls.max}], not {number}")
        return int.__new__(cls, number)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int(self)})"


class Int(IntegerValue):
    """XDR ``int``: 32-bit signed."""

    __slots__ = ()
    label = "int"
    min = -(1 << 31)
    max = (1 << 31) - 1


class UInt(IntegerValue):
    """XDR ``unsigned int``: 32-bit unsigned."""

    __slots__ = ()
    label = "uint"
    min = 0
    max = (1 << 32) - 1


class Hyper(IntegerValue):
    """XDR ``hyper``: 64-bit signed."""

    __slots__ = ()
    label = "hyper"
    min = -(1 << 63)
    max = (1 << 63) - 1


class UHyper(IntegerValue):
    """XDR ``unsigned hyper``: 64-bit unsigned."""

    __slots__ = ()
    label = "uhyper"
    min = 0
    max = (1 << 64) - 1


class Bool(_Typed, int):
    """XDR ``bool``: FALSE (0) or TRUE (1)."""

    __slots__ = ()
    label = "bool"
    _base_eq = int.__eq__
    __hash__ = int.__hash__

    def __new__(cls, value: object = False) -> Bool:
        if value not in (0, 1, True, False):
            raise ValueError(f"bool must be 0 or 1, not {value!r}")
        return int.__new__(cls, bool(value))

    def __repr__(self) -> str:
        return f"Bool({bool(self)})"


class _FloatValue(_Typed, float):
    __slots__ = ()
    __hash__ = float.__hash__

    def _base_eq(self, other: object) -> bool:
        # NaN equals NaN here: a value decoded twice from the same bytes is the same value.
        a, b = float(self), float(other)  # type: ignore[arg-type]
        return a == b or (math.isnan(a) and math.isnan(b))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({float(self)!r})"


class Float(_FloatValue):
    """XDR ``float``: IEEE single precision."""

    __slots__ = ()
    label = "float"


class Double(_FloatValue):
    """XDR ``double``: IEEE double precision."""

    __slots__ = ()
    label = "double"


class _BytesValue(_Typed, bytes):
    __slots__ = ()
    _base_eq = bytes.__eq__
    __hash__ = bytes.__hash__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({bytes(self)!r})"


class Opaque(_BytesValue):
    """XDR ``opaque`` data, fixed or variable length."""

    __slots__ = ()
    label = "opaque"


class String(_BytesValue):
    """XDR ``string``: bytes on the wire (ASCII by the RFC); ``text`` decodes them for people."""

    __slots__ = ()
    label = "string"

    @property
    def text(self) -> str:
        """The bytes as UTF-8, undecodable bytes as ``\\xNN`` escapes."""
        return self.decode("utf-8", "backslashreplace")


class Quadruple(_BytesValue):
    """XDR ``quadruple``: a 128-bit float, kept as its 16 bytes (Python has no such float)."""

    __slots__ = ()
    label = "quadruple"


class Raw(_BytesValue):
    """Bytes no interface describes (an unknown program, procedure or flavor): shown as hex."""

    __slots__ = ()
    label = "raw"


@dataclass(frozen=True, slots=True)
class Enum:
    """A value of an XDR ``enum`` type: its number, and its name when the type has one."""

    label: ClassVar[str] = "enum"
    type: str
    name: str
    value: int


class Array(_Typed, tuple["Value", ...]):
    """An XDR array, fixed (``[n]``) or variable (``<n>``), of one element type."""

    __slots__ = ()
    label = "array"
    _base_eq = tuple.__eq__
    __hash__ = tuple.__hash__

    def __repr__(self) -> str:
        return f"Array({list(self)!r})"


@dataclass(frozen=True, slots=True)
class Optional:
    """XDR optional data (``type *name``): a value, or ``None`` when absent."""

    label: ClassVar[str] = "optional"
    value: Value | None


@dataclass(frozen=True, slots=True)
class Struct:
    """A value of an XDR ``struct`` type: its fields, in declaration order."""

    label: ClassVar[str] = "struct"
    type: str
    fields: tuple[tuple[str, Value], ...]

    def __getitem__(self, name: str) -> Value:
        for field, value in self.fields:
            if field == name:
                return value
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (field for field, _ in self.fields)

    def get(self, name: str) -> Value | None:
        """The field's value, or None."""
        try:
            return self[name]
        except KeyError:
            return None


@dataclass(frozen=True, slots=True)
class Union:
    """A value of an XDR ``union``: the discriminant, the arm it chose (None for a void arm
    without a name) and that arm's value."""

    label: ClassVar[str] = "union"
    type: str
    discriminant: Value
    arm: str | None
    value: Value


@dataclass(frozen=True, slots=True)
class Void:
    """XDR ``void``: no bytes at all (a procedure without arguments or result, a void arm)."""

    label: ClassVar[str] = "void"


VOID: Final = Void()

Value = (
    IntegerValue  # Int, UInt, Hyper, UHyper
    | Bool
    | Float
    | Double
    | Opaque
    | String
    | Quadruple
    | Raw
    | Enum
    | Array
    | Optional
    | Struct
    | Union
    | Void
)

# ---------------------------------------------------------------- JSON

_INT64_MIN: Final = -(1 << 63)
_INT64_MAX: Final = (1 << 63) - 1


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _float_json(f: float) -> object:
    if math.isfinite(f):
        return f
    if math.isnan(f):
        return "NaN"
    return "Infinity" if f > 0 else "-Infinity"


def value_to_json(value: Value) -> dict[str, object]:
    """The one-key JSON form of a value (see the module docstring)."""
    match value:
        case IntegerValue():
            n = int(value)
            return {value.label: n if _INT64_MIN <= n <= _INT64_MAX else str(n)}
        case Bool():
            return {"bool": bool(value)}
        case Float() | Double():
            return {value.label: _float_json(float(value))}
        case String():
            try:
                return {"string": bytes(value).decode("utf-8")}
            except UnicodeDecodeError:
                return {"string": {"base64": _b64(value)}}
        case Raw():
            return {"raw": bytes(value).hex()}
        case Opaque() | Quadruple():
            return {value.label: _b64(value)}
        case Enum():
            return {"enum": {"type": value.type, "name": value.name, "value": value.value}}
        case Array():
            return {"array": [value_to_json(item) for item in value]}
        case Optional():
            return {"optional": None if value.value is None else value_to_json(value.value)}
        case Struct():
            fields = {name: value_to_json(item) for name, item in value.fields}
            return {"struct": {"type": value.type, "fields": fields}}
        case Union():
            return {
                "union": {
                    "type": value.type,
                    "discriminant": value_to_json(value.discriminant),
                    "arm": value.arm,
                    "value": value_to_json(value.value),
                }
            }
        case Void():
            return {"void": None}
    raise TypeError(f"not an XDR value: {value!r}")  # pragma: no cover


def _json_int(cls: type[IntegerValue], payload: object, path: str) -> Value:
    if isinstance(payload, bool) or not isinstance(payload, int | str):
        raise BadXdr(f"{cls.label} needs an integer, not {payload!r}", path=path)
    try:
        return cls(int(payload))
    except ValueError as exc:
        raise BadXdr(str(exc), path=path) from None


def _json_float(payload: object, path: str) -> float:
    if isinstance(payload, str) and payload in ("NaN", "Infinity", "-Infinity"):
        return float(payload.lower().replace("infinity", "inf"))
    if isinstance(payload, bool) or not isinstance(payload, int | float):
        raise BadXdr(f"a float needs a number, not {payload!r}", path=path)
    return float(payload)


def _json_bytes(payload: object, path: str) -> bytes:
    if not isinstance(payload, str):
        raise BadXdr(f"base64 text expected, not {payload!r}", path=path)
    try:
        return base64.b64decode(payload, validate=True)
    except binascii.Error as exc:
        raise BadXdr(f"bad base64: {exc}", path=path) from None


def _json_dict(payload: object, keys: tuple[str, ...], path: str) -> dict[str, object]:
    if not isinstance(payload, dict) or not all(k in payload for k in keys):
        raise BadXdr(f"an object with {', '.join(keys)} expected, not {payload!r}", path=path)
    return payload


def _from_string(payload: object, path: str) -> Value:
    if isinstance(payload, str):
        return String(payload.encode("utf-8"))
    return String(_json_bytes(_json_dict(payload, ("base64",), path)["base64"], path))


def _from_raw(payload: object, path: str) -> Value:
    try:
        return Raw(bytes.fromhex(str(payload)))
    except ValueError:
        raise BadXdr(f"raw needs hex text, not {payload!r}", path=path) from None


def _from_enum(payload: object, path: str) -> Value:
    d = _json_dict(payload, ("type", "name", "value"), path)
    number = d["value"]
    if isinstance(number, bool) or not isinstance(number, int):
        raise BadXdr(f"enum value must be an integer, not {number!r}", path=path)
    return Enum(str(d["type"]), str(d["name"]), number)


def _from_array(payload: object, path: str) -> Value:
    if not isinstance(payload, list):
        raise BadXdr(f"array needs a list, not {payload!r}", path=path)
    return Array(value_from_json(item, f"{path}[{i}]") for i, item in enumerate(payload))


def _from_optional(payload: object, path: str) -> Value:
    return Optional(None if payload is None else value_from_json(payload, f"{path}.*"))


def _from_struct(payload: object, path: str) -> Value:
    d = _json_dict(payload, ("type", "fields"), path)
    fields = d["fields"]
    if not isinstance(fields, dict):
        raise BadXdr(f"struct fields must be an object, not {fields!r}", path=path)
    return Struct(
        str(d["type"]),
        tuple((str(k), value_from_json(v, f"{path}.{k}")) for k, v in fields.items()),
    )


def _from_union(payload: object, path: str) -> Value:
    d = _json_dict(payload, ("type", "discriminant", "arm", "value"), path)
    arm = d["arm"]
    return Union(
        str(d["type"]),
        value_from_json(d["discriminant"], f"{path}.discriminant"),
        None if arm is None else str(arm),
        value_from_json(d["value"], f"{path}.{arm}"),
    )


_FROM_JSON: Final[dict[str, Callable[[object, str], Value]]] = {
    "int": lambda p, path: _json_int(Int, p, path),
    "uint": lambda p, path: _json_int(UInt, p, path),
    "hyper": lambda p, path: _json_int(Hyper, p, path),
    "uhyper": lambda p, path: _json_int(UHyper, p, path),
    "bool": lambda p, path: Bool(p) if p in (0, 1) else _bad(f"bool: {p!r}", path),
    "float": lambda p, path: Float(_json_float(p, path)),
    "double": lambda p, path: Double(_json_float(p, path)),
    "string": _from_string,
    "opaque": lambda p, path: Opaque(_json_bytes(p, path)),
    "quadruple": lambda p, path: Quadruple(_json_bytes(p, path)),
    "raw": _from_raw,
    "enum": _from_enum,
    "array": _from_array,
    "optional": _from_optional,
    "struct": _from_struct,
    "union": _from_union,
    "void": lambda p, path: VOID,
}


def _bad(reason: str, path: str) -> Value:
    raise BadXdr(reason, path=path)


def value_from_json(data: object, path: str = "value") -> Value:
    """The value a ``value_to_json`` form stands for; ``BadXdr`` names the path if it is wrong."""
    if not isinstance(data, dict) or len(data) != 1:
        raise BadXdr(f"a one-key object naming an XDR type expected, not {data!r}", path=path)
    ((key, payload),) = data.items()
    reader = _FROM_JSON.get(key)
    if reader is None:
        raise BadXdr(f"unknown XDR type {key!r}", path=path)
    return reader(payload, path)


# ---------------------------------------------------------------- text


def render(value: Value, limit: int = 200) -> str:
    """A one-line text of a value that names its XDR types: ``uint 5``, ``string "x"``,
    ``pmap{prog: uint 100000, ...}``; long bytes and long renderings are cut at about ``limit``."""
    text = _render(value, limit)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _render(value: Value, limit: int) -> str:
    match value:
        case IntegerValue() | Float() | Double():
            return f"{value.label} {_num(value)}"
        case Bool():
            return "TRUE" if value else "FALSE"
        case String():
            return f"string {value.text!r}"
        case Opaque() | Quadruple() | Raw():
            hexed = bytes(value[: limit // 2]).hex()
            more = "…" if len(value) > limit // 2 else ""
            return f"{value.label}[{len(value)}] {hexed}{more}"
        case Enum():
            return value.name
        case Array():
            return (
                "["
                + ", ".join(_render(item, limit) for item in value[:50])
                + (", …]" if len(value) > 50 else "]")
            )
        case Optional():
            return "NULL" if value.value is None else "*" + _render(value.value, limit)
        case Struct():
            inner = ", ".join(f"{k}: {_render(v, limit)}" for k, v in value.fields)
            return f"{value.type}{{{inner}}}"
        case Union():
            arm = f"{value.arm}: " if value.arm else ""
            return f"{value.type}<{_render(value.discriminant, limit)}>{{{arm}" + (
                f"{_render(value.value, limit)}}}"
            )
        case Void():
            return "void"
    return repr(value)  # pragma: no cover


def _num(value: IntegerValue | Float | Double) -> str:
    if isinstance(value, IntegerValue):
        return str(int(value))
    return repr(float(value))
