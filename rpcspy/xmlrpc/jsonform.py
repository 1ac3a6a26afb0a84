"""The JSON form of typed values and messages: lossless, and easy to read with jq.

Every value becomes a one-key object naming its wire type: ``{"i4": 5}``, ``{"string": "x"}``,
``{"struct": {"name": {"string": "bob"}}}``, ``{"array": [{"int": 1}]}``. The key is the wire tag
(``"untyped"`` for bare text inside ``<value>``), so ``int 1``, ``i4 1``, ``boolean 1`` and
``string "1"`` stay four different things after a trip through JSON.

Where JSON (or jq, which reads numbers as doubles) would lose information, the payload is a
string: ``ex:biginteger`` and ``ex:bigdecimal`` always, any integer outside the signed 64-bit
range, and doubles that are not finite (``"NaN"``, ``"Infinity"``, ``"-Infinity"``). Readers
accept both forms for integers. ``base64`` and ``ex:serializable`` carry standard base64 text.

Pure functions, no I/O; ``value_from_json`` raises ``BadValue`` naming the value path.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Final

from rpcspy.xmlrpc.errors import BadValue
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
    NoValue,
    RawValue,
    String,
    Struct,
    UntypedString,
    Value,
    WideI4,
    WideInt,
)

__all__ = [
    "call_from_json",
    "call_to_json",
    "fault_from_json",
    "json_key",
    "response_from_json",
    "response_to_json",
    "value_from_json",
    "value_to_json",
]

#: The JSON key for the untyped string, whose wire tag is empty.
UNTYPED_KEY: Final = "untyped"

# Integers a JSON number can carry through orjson without loss; outside, the payload is a string.
_INT64_MIN: Final = -(1 << 63)
_INT64_MAX: Final = (1 << 63) - 1

_NONFINITE_TO_JSON: Final = {math.inf: "Infinity", -math.inf: "-Infinity"}
_NONFINITE_FROM_JSON: Final = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def json_key(cls: type) -> str:
    """The JSON key for a value class: its wire tag, or ``"untyped"`` for the untyped string."""
    tag: str = getattr(cls, "tag", "")
    return tag or UNTYPED_KEY


# ---------------------------------------------------------------- to JSON


def _int_to_json(v: Value) -> object:
    n = int(v)  # type: ignore[arg-type]
    return n if _INT64_MIN <= n <= _INT64_MAX else str(n)


def _bigint_to_json(v: Value) -> object:
    return str(int(v))  # type: ignore[arg-type]


def _bool_to_json(v: Value) -> object:
    return bool(v)


def _str_to_json(v: Value) -> object:
    return str.__str__(v)


def _float_to_json(v: Value) -> object:
    f = float(v)  # type: ignore[arg-type]
    if math.isfinite(f):
        return f
    if math.isnan(f):
        return "NaN"
    return _NONFINITE_TO_JSON[f]


def _decimal_to_json(v: Value) -> object:
    return Decimal.__str__(v)


def _bytes_to_json(v: Value) -> object:
    return base64.b64encode(v).decode("ascii")  # type: ignore[arg-type]


def _nil_to_json(v: Value) -> object:
    return None


def _raw_to_json(v: Value) -> object:
    assert isinstance(v, RawValue)
    return {"element": v.element, "text": v.text, "xml": v.xml}


def _struct_to_json(v: Value) -> object:
    assert isinstance(v, Struct)
    return {name: value_to_json(item) for name, item in v.items()}


def _array_to_json(v: Value) -> object:
    assert isinstance(v, Array)
    return [value_to_json(item) for item in v]


_ENCODERS: Final[dict[type, Callable[[Value], object]]] = {
    I4: _int_to_json,
    Int: _int_to_json,
    I8: _int_to_json,
    ExI1: _int_to_json,
    ExI2: _int_to_json,
    ExI8: _int_to_json,
    ExBigInteger: _bigint_to_json,
    Boolean: _bool_to_json,
    String: _str_to_json,
    UntypedString: _str_to_json,
    ExDom: _str_to_json,
    DateTime: _str_to_json,
    ExDateTime: _str_to_json,
    Double: _float_to_json,
    ExFloat: _float_to_json,
    ExBigDecimal: _decimal_to_json,
    Base64: _bytes_to_json,
    ExSerializable: _bytes_to_json,
    Nil: _nil_to_json,
    ExNil: _nil_to_json,
    NoValue: _nil_to_json,
    RawValue: _raw_to_json,
    Struct: _struct_to_json,
    Array: _array_to_json,
}
_KEYS: Final[dict[type, str]] = {cls: json_key(cls) for cls in _ENCODERS}


def _encoder_for(cls: type) -> tuple[str, Callable[[Value], object]]:
    # A subclass of a value class (made outside the model) is written as its nearest known type.
    for base in cls.__mro__:
        encoder = _ENCODERS.get(base)
        if encoder is not None:
            return _KEYS[base], encoder
    raise TypeError(f"not an XML-RPC value: {cls.__name__}")


def value_to_json(v: Value) -> object:
    """The JSON form of a typed value: ``{"i4": 5}``, ``{"struct": {...}}`` ..."""
    cls = type(v)
    encoder = _ENCODERS.get(cls)
    if encoder is None:
        key, encoder = _encoder_for(cls)
    else:
        key = _KEYS[cls]
    return {key: encoder(v)}


# ---------------------------------------------------------------- from JSON
#
# The walk carries no path: a failure raises ``_Bad`` and each container it passes through adds
# its segment, so a capture of good values pays nothing for error messages it never shows.


class _Bad(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.segments: list[str] = []  # innermost first


def _join_path(base: str, segments: list[str]) -> str | None:
    path = base + "".join(reversed(segments))
    return path.removeprefix(".") or None


def _describe(obj: object) -> str:
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "a boolean"
    if isinstance(obj, int | float):
        return "a number"
    if isinstance(obj, str):
        return "a string"
    if isinstance(obj, list):
        return "an array"
    if isinstance(obj, dict):
        return "an object"
    return type(obj).__name__


def _expect(what: str, key: str, payload: object) -> _Bad:
    return _Bad(f"{key} wants {what}, got {_describe(payload)}")


# A number beyond an i4/int's bits (kept by the tolerant reading) comes back as its wide class.
_WIDE: Final[dict[type[IntegerValue], type[IntegerValue]]] = {
    I4: WideI4,
    Int: WideInt,
}


def _int_from_json(cls: type[IntegerValue]) -> Callable[[str, object], Value]:
    lo, hi = cls.min, cls.max
    wide = _WIDE.get(cls, cls)

    def make(number: int) -> Value:
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            return wide(number)
        return cls(number)

    def decode(key: str, payload: object) -> Value:
        if type(payload) is int:
            return make(payload)
        if isinstance(payload, str):
            text = payload.strip()
            digits = text[1:] if text[:1] in "+-" else text
            if digits.isascii() and digits.isdigit():
                return make(int(text))
            raise _Bad(f"{key} wants an integer, got the string {payload!r}")
        raise _expect("an integer", key, payload)

    return decode


def _bool_from_json(key: str, payload: object) -> Value:
    # 0 and 1 too: the wire form, and what a person editing a capture by hand may well write.
    if isinstance(payload, bool) or (type(payload) is int and payload in (0, 1)):
        return Boolean(payload)
    raise _expect("true or false", key, payload)


def _str_from_json(cls: type[String]) -> Callable[[str, object], Value]:
    def decode(key: str, payload: object) -> Value:
        if isinstance(payload, str):
            return cls(payload)
        raise _expect("a string", key, payload)

    return decode


def _float_from_json(cls: type[Double]) -> Callable[[str, object], Value]:
    def decode(key: str, payload: object) -> Value:
        if isinstance(payload, int | float) and not isinstance(payload, bool):
            return cls(payload)
        if isinstance(payload, str) and payload in _NONFINITE_FROM_JSON:
            return cls(_NONFINITE_FROM_JSON[payload])
        raise _expect('a number (or "NaN", "Infinity", "-Infinity")', key, payload)

    return decode


def _decimal_from_json(key: str, payload: object) -> Value:
    if isinstance(payload, str | int) and not isinstance(payload, bool):
        try:
            return ExBigDecimal(str(payload).strip())
        except InvalidOperation:
            raise _Bad(f"{key} wants a decimal number, got {payload!r}") from None
    raise _expect("a decimal number as a string", key, payload)


def _bytes_from_json(cls: type[Base64]) -> Callable[[str, object], Value]:
    def decode(key: str, payload: object) -> Value:
        if not isinstance(payload, str):
            raise _expect("base64 text", key, payload)
        try:
            return cls(base64.b64decode(payload, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise _Bad(f"{key} is not valid base64: {exc}") from None

    return decode


def _nil_from_json(cls: type[Nil]) -> Callable[[str, object], Value]:
    def decode(key: str, payload: object) -> Value:
        if payload is None:
            return cls()
        raise _expect("null", key, payload)

    return decode


def _raw_from_json(key: str, payload: object) -> Value:
    if type(payload) is dict:
        element, text, xml = payload.get("element"), payload.get("text", ""), payload.get("xml")
        if isinstance(element, str) and isinstance(text, str) and isinstance(xml, str):
            return RawValue(element, text, xml)
    raise _expect('an object {"element", "text", "xml"}', key, payload)


def _struct_from_json(key: str, payload: object) -> Value:
    if type(payload) is not dict:
        raise _expect("an object of members", key, payload)
    out = Struct()
    for name, item in payload.items():
        try:
            out[name] = _from_json(item)
        except _Bad as bad:
            bad.segments.append(f".{name}")
            raise
    return out


def _array_from_json(key: str, payload: object) -> Value:
    if type(payload) is not list:
        raise _expect("an array of values", key, payload)
    out = Array()
    for i, item in enumerate(payload):
        try:
            out.append(_from_json(item))
        except _Bad as bad:
            bad.segments.append(f"[{i}]")
            raise
    return out


_DECODERS: Final[dict[str, Callable[[str, object], Value]]] = {
    "i4": _int_from_json(I4),
    "int": _int_from_json(Int),
    "i8": _int_from_json(I8),
    "ex:i1": _int_from_json(ExI1),
    "ex:i2": _int_from_json(ExI2),
    "ex:i8": _int_from_json(ExI8),
    "ex:biginteger": _int_from_json(ExBigInteger),
    "boolean": _bool_from_json,
    "string": _str_from_json(String),
    UNTYPED_KEY: _str_from_json(UntypedString),
    "ex:dom": _str_from_json(ExDom),
    "dateTime.iso8601": _str_from_json(DateTime),
    "ex:dateTime": _str_from_json(ExDateTime),
    "double": _float_from_json(Double),
    "ex:float": _float_from_json(ExFloat),
    "ex:bigdecimal": _decimal_from_json,
    "base64": _bytes_from_json(Base64),
    "ex:serializable": _bytes_from_json(ExSerializable),
    "nil": _nil_from_json(Nil),
    "ex:nil": _nil_from_json(ExNil),
    "novalue": _nil_from_json(NoValue),
    "raw": _raw_from_json,
    "struct": _struct_from_json,
    "array": _array_from_json,
}


def _from_json(obj: object) -> Value:
    if type(obj) is not dict or len(obj) != 1:
        shape = f"an object with {len(obj)} keys" if isinstance(obj, dict) else _describe(obj)
        raise _Bad(
            f'a value is an object with one key naming its type, like {{"int": 5}}; got {shape}'
        )
    for key, payload in obj.items():
        decoder = _DECODERS.get(key)
        if decoder is None:
            raise _Bad(f"unknown value type {key!r}")
        return decoder(key, payload)
    raise AssertionError("unreachable")


def value_from_json(obj: object, *, path: str = "") -> Value:
    """The typed value for its JSON form; raises ``BadValue`` (with ``path``) on a bad shape.

    ``path`` names where the value sits (``params[0]``), so errors inside it point at the member.
    """
    try:
        return _from_json(obj)
    except _Bad as bad:
        raise BadValue(bad.reason, path=_join_path(path, bad.segments)) from None


def _member_path(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# ---------------------------------------------------------------- messages


def call_to_json(call: MethodCall) -> dict[str, object]:
    """``{"method": name, "params": [value, ...]}``."""
    return {"method": call.method, "params": [value_to_json(p) for p in call.params]}


def call_from_json(obj: object, *, path: str = "") -> MethodCall:
    """The ``MethodCall`` for ``call_to_json``'s form; raises ``BadValue``. Unknown keys are
    ignored."""
    if not isinstance(obj, dict):
        raise BadValue(f"a call is an object, got {_describe(obj)}", path=path or None)
    method = obj.get("method")
    if not isinstance(method, str):
        raise BadValue(
            f"a call's method is a string, got {_describe(method)}",
            path=_member_path(path, "method"),
        )
    params = obj.get("params")
    if not isinstance(params, list):
        raise BadValue(
            f"a call's params are an array, got {_describe(params)}",
            path=_member_path(path, "params"),
        )
    return MethodCall(
        method,
        tuple(
            value_from_json(p, path=f"{_member_path(path, 'params')}[{i}]")
            for i, p in enumerate(params)
        ),
    )


def response_to_json(response: MethodResponse | Fault) -> dict[str, object]:
    """``{"result": value}``, or
    ``{"fault": {"code": n, "string": text, "value": {"struct": ...}}}``."""
    if isinstance(response, Fault):
        code = response.code
        return {
            "fault": {
                "code": code if _INT64_MIN <= code <= _INT64_MAX else str(code),
                "string": response.string,
                "value": value_to_json(response.value),
            }
        }
    return {"result": value_to_json(response.value)}


def fault_from_json(obj: object, *, path: str = "fault") -> Fault:
    """The ``Fault`` for the object under a ``"fault"`` key; raises ``BadValue``."""
    if not isinstance(obj, dict):
        raise BadValue(f"a fault is an object, got {_describe(obj)}", path=path or None)
    code = obj.get("code")
    if isinstance(code, str):
        try:
            code = int(code)
        except ValueError:
            raise BadValue(f"fault code {code!r} is not an integer", path=f"{path}.code") from None
    if not isinstance(code, int) or isinstance(code, bool):
        raise BadValue(f"a fault code is an integer, got {_describe(code)}", path=f"{path}.code")
    string = obj.get("string")
    if not isinstance(string, str):
        raise BadValue(
            f"a fault string is a string, got {_describe(string)}", path=f"{path}.string"
        )
    value = value_from_json(obj.get("value"), path=f"{path}.value")
    if not isinstance(value, Struct):
        raise BadValue(f"a fault value is a struct, not {value.label}", path=f"{path}.value")
    return Fault(code, string, value)


def response_from_json(obj: object, *, path: str = "") -> MethodResponse | Fault:
    """The response for ``response_to_json``'s form (one of ``result`` / ``fault``);
    ``BadValue``."""
    if not isinstance(obj, dict):
        raise BadValue(f"a response is an object, got {_describe(obj)}", path=path or None)
    has_result = "result" in obj
    has_fault = "fault" in obj
    if has_result == has_fault:
        raise BadValue(
            'a response has exactly one of "result" and "fault"'
            + (", not both" if has_result else ", found neither"),
            path=path or None,
        )
    if has_fault:
        return fault_from_json(obj["fault"], path=_member_path(path, "fault"))
    return MethodResponse(value_from_json(obj["result"], path=_member_path(path, "result")))
