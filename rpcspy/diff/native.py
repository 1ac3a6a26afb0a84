"""Calls of other protocols (ONC RPC, RPyC) as the diff engine's typed values, with their own
type names.

A record of another protocol keeps each half as its codec's JSON (``HttpMessage.native``; see
docs/capture-format.md, "Other protocols"). The engine compares typed value trees; this module
reads those JSON trees into them, so ``diff_calls``, ``diff_responses`` and the fingerprints work
on every protocol unchanged. It reads JSON only and imports no codec: ``rpcspy.diff`` stays pure.

Scalars keep their protocol's type: XDR's ``int``, ``uint``, ``hyper``, ``uhyper``, ``float``,
``double``, ``bool``, ``string``, ``opaque``, ``enum``, ``void`` are classes of their own here
(``uint 5`` and ``int 5`` differ by ``type``, as ``i4`` and ``int`` do in XML-RPC); an absent
optional is ``NULL`` and a present one its value; a struct is a struct of its fields; a union is
a struct of its ``discriminant`` and the member named by its arm (``found``), so a change of arm
reads as one member removed and another added. RPyC's brine values keep Python's names
(``str``, ``bytes``, ``int``, ``tuple`` ...); a netref compares by the class it refers to (its
ids name objects of one server process only).

An answer that is the protocol's error (an ONC RPC reply other than SUCCESS, an RPyC exception)
is a ``Fault`` whose code is the one ``rpcspy.capture.native`` gives (accept_stat, reject_stat +
100) and whose string names the status, with the mismatch range and auth error as members.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, ClassVar, Final

from rpcspy.diff.fingerprint import canonical, fingerprint
from rpcspy.diff.matcher import CompiledRules
from rpcspy.oncrpc.rpc import status_code
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.values import (
    Array,
    Base64,
    Boolean,
    Double,
    Int,
    IntegerValue,
    Nil,
    String,
    Struct,
    Value,
)

__all__ = [
    "native_call",
    "native_call_fingerprint",
    "native_call_key",
    "native_response",
    "native_value",
]


# ---------------------------------------------------------------- XDR's types


class XdrInt(IntegerValue):
    __slots__ = ()
    tag = "xdr:int"
    label = "int"
    min: ClassVar[int | None] = -(1 << 31)
    max: ClassVar[int | None] = (1 << 31) - 1


class XdrUInt(IntegerValue):
    __slots__ = ()
    tag = "xdr:uint"
    label = "uint"
    min: ClassVar[int | None] = 0
    max: ClassVar[int | None] = (1 << 32) - 1


class XdrHyper(IntegerValue):
    __slots__ = ()
    tag = "xdr:hyper"
    label = "hyper"
    min: ClassVar[int | None] = -(1 << 63)
    max: ClassVar[int | None] = (1 << 63) - 1


class XdrUHyper(IntegerValue):
    __slots__ = ()
    tag = "xdr:uhyper"
    label = "uhyper"
    min: ClassVar[int | None] = 0
    max: ClassVar[int | None] = (1 << 64) - 1


class XdrBool(Boolean):
    __slots__ = ()
    tag = "xdr:bool"
    label = "bool"


class XdrFloat(Double):
    __slots__ = ()
    tag = "xdr:float"
    label = "float"


class XdrDouble(Double):
    __slots__ = ()
    tag = "xdr:double"
    label = "double"


class XdrString(String):
    __slots__ = ()
    tag = "xdr:string"
    label = "string"


class XdrBytesString(Base64):
    """An XDR string whose bytes are not UTF-8."""

    __slots__ = ()
    tag = "xdr:string-bytes"
    label = "string (bytes)"


class XdrOpaque(Base64):
    __slots__ = ()
    tag = "xdr:opaque"
    label = "opaque"


class XdrQuadruple(Base64):
    __slots__ = ()
    tag = "xdr:quadruple"
    label = "quadruple"


class XdrRaw(Base64):
    """Bytes no interface described (hex in the capture)."""

    __slots__ = ()
    tag = "xdr:raw"
    label = "raw"


class XdrEnum(String):
    """An enum member, by name (the number when the type names none)."""

    __slots__ = ()
    tag = "xdr:enum"
    label = "enum"


class XdrNull(Nil):
    """An absent optional (``*`` in the ``.x``)."""

    __slots__ = ()
    tag = "xdr:null"
    label = "NULL"


class XdrVoid(Nil):
    __slots__ = ()
    tag = "xdr:void"
    label = "void"


# ---------------------------------------------------------------- RPyC's (brine's) types


class PyInt(IntegerValue):
    __slots__ = ()
    tag = "py:int"
    label = "int"
    min: ClassVar[int | None] = None
    max: ClassVar[int | None] = None


class PyBool(Boolean):
    __slots__ = ()
    tag = "py:bool"
    label = "bool"


class PyFloat(Double):
    __slots__ = ()
    tag = "py:float"
    label = "float"


class PyStr(String):
    __slots__ = ()
    tag = "py:str"
    label = "str"


class PyBytes(Base64):
    __slots__ = ()
    tag = "py:bytes"
    label = "bytes"


class PyNone(Nil):
    __slots__ = ()
    tag = "py:none"
    label = "None"


class PyOther(String):
    """A brine value with no counterpart here (complex, slice, Ellipsis ...), by its JSON."""

    __slots__ = ()
    tag = "py:other"
    label = "value"


class Netref(String):
    """A netref, by the class of the object it refers to."""

    __slots__ = ()
    tag = "py:netref"
    label = "netref"


_INTS: Final[dict[str, type[IntegerValue]]] = {
    "int": XdrInt,
    "uint": XdrUInt,
    "hyper": XdrHyper,
    "uhyper": XdrUHyper,
}
_BYTES: Final[dict[str, type[Base64]]] = {"opaque": XdrOpaque, "quadruple": XdrQuadruple}


def _b64(text: object) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError):
        return str(text).encode("utf-8", "surrogatepass")


def _float(payload: object) -> float:
    if isinstance(payload, str):
        return float(payload.lower().replace("infinity", "inf"))
    return float(payload)  # type: ignore[arg-type]


def _int(cls: type[IntegerValue], payload: object) -> IntegerValue:
    # Bounds were the codec's to check; a value out of them is still shown as it is.
    return int.__new__(cls, int(payload))  # type: ignore[call-overload]


def _xdr(data: object) -> Value:
    if not isinstance(data, Mapping) or len(data) != 1:
        return String(repr(data))
    ((key, payload),) = data.items()
    if key in _INTS:
        return _int(_INTS[key], payload)
    if key == "bool":
        return XdrBool(bool(payload))
    if key in ("float", "double"):
        return (XdrFloat if key == "float" else XdrDouble)(_float(payload))
    if key == "string":
        if isinstance(payload, Mapping):
            return XdrBytesString(_b64(payload.get("base64")))
        return XdrString(str(payload))
    if key in _BYTES:
        return _BYTES[key](_b64(payload))
    if key == "raw":
        try:
            return XdrRaw(bytes.fromhex(str(payload)))
        except ValueError:
            return XdrRaw(str(payload).encode("utf-8", "surrogatepass"))
    if key == "enum" and isinstance(payload, Mapping):
        name = payload.get("name")
        return XdrEnum(str(name) if name else str(payload.get("value")))
    if key == "array" and isinstance(payload, list):
        return Array(_xdr(item) for item in payload)
    if key == "optional":
        return XdrNull() if payload is None else _xdr(payload)
    if key == "struct" and isinstance(payload, Mapping):
        fields = payload.get("fields")
        if isinstance(fields, Mapping):
            return Struct((str(k), _xdr(v)) for k, v in fields.items())
    if key == "union" and isinstance(payload, Mapping):
        arm = payload.get("arm")
        return Struct(
            [
                ("discriminant", _xdr(payload.get("discriminant"))),
                (str(arm) if arm else "void", _xdr(payload.get("value"))),
            ]
        )
    if key == "void":
        return XdrVoid()
    return String(repr(data))


def _py(data: object) -> Value:
    if not isinstance(data, Mapping) or len(data) != 1:
        return PyOther(repr(data))
    ((key, payload),) = data.items()
    if key == "none":
        return PyNone()
    if key == "bool":
        return PyBool(bool(payload))
    if key == "int":
        return _int(PyInt, payload)
    if key == "float":
        return PyFloat(_float(payload))
    if key == "str":
        return PyStr(str(payload))
    if key == "bytes":
        return PyBytes(_b64(payload))
    if key in ("tuple", "frozenset") and isinstance(payload, list):
        items = [_py(item) for item in payload]
        if key == "frozenset":
            items.sort(key=lambda v: canonical(v))
        return Array(items)
    return PyOther(f"{key} {payload!r}")


def _box(data: object) -> Value:
    """An RPyC box (``{"value": ...}``, ``{"boxes": [...]}``, ``{"ref": {...}}``)."""
    if isinstance(data, Mapping):
        if "value" in data:
            return _py(data["value"])
        if "boxes" in data and isinstance(data["boxes"], list):
            return Array(_box(item) for item in data["boxes"])
        ref = data.get("ref")
        if isinstance(ref, Mapping):
            ident = ref.get("id")
            name = ident[0] if isinstance(ident, list) and ident else "?"
            return Netref(str(name))
    return PyOther(repr(data))


def native_value(protocol: str, data: object) -> Value:
    """A value of ``protocol``'s JSON form (``oncrpc``: XDR; ``rpyc``: a box) as a typed value."""
    return _box(data) if protocol == "rpyc" else _xdr(data)


# ---------------------------------------------------------------- calls and answers


def native_call_key(protocol: str, request: Mapping[str, Any] | None) -> str | None:
    """What names a call's procedure for matching, whatever an interface calls it:
    ``oncrpc:100000.2.3``; ``rpyc:HANDLER`` with the operation's text up to its arguments."""
    if request is None:
        return None
    if protocol == "oncrpc":
        numbers = (request.get("program"), request.get("version"), request.get("procedure"))
        if all(type(n) is int for n in numbers):
            return "oncrpc:" + ".".join(map(str, numbers))
        return None
    if protocol == "rpyc":
        text = request.get("text")
        handler = request.get("handler")
        head = str(text).split("(", 1)[0] if text else ""
        return f"rpyc:{handler}:{head}"
    return None


def _params(protocol: str, request: Mapping[str, Any]) -> tuple[Value, ...]:
    if protocol == "oncrpc":
        args = request.get("args")
        return tuple(_xdr(a) for a in args) if isinstance(args, list) else ()
    message = request.get("request")
    inner = message.get("request") if isinstance(message, Mapping) else None
    if isinstance(inner, Mapping):
        return (_box(inner.get("args")),)
    return ()


def native_call(
    protocol: str, request: Mapping[str, Any] | None, method: str | None = None
) -> MethodCall | None:
    """A call half's JSON as a ``MethodCall``: the method (``method``, else the procedure's
    key) and the typed arguments. None when the half did not decode."""
    key = native_call_key(protocol, request)
    if request is None or key is None:
        return None
    return MethodCall(method or key, _params(protocol, request))


def native_call_fingerprint(
    protocol: str, request: Mapping[str, Any] | None, rules: CompiledRules | None = None
) -> int | None:
    """Fingerprint of a call by protocol, procedure (ONC RPC: program, version and procedure
    numbers; RPyC: handler and operation) and typed arguments (paths ``params[0]``...), rules
    applied; None when the half did not decode."""
    key = native_call_key(protocol, request)
    if request is None or key is None:
        return None
    parts = [key, "("]
    for i, param in enumerate(_params(protocol, request)):
        parts.append(canonical(param, "params", i, rules=rules))
        parts.append(",")
    parts.append(")")
    return fingerprint("".join(parts))


def _oncrpc_response(response: Mapping[str, Any]) -> MethodResponse | Fault | None:
    status = response.get("status")
    if not isinstance(status, str):
        return None
    if status == "SUCCESS":
        if "result" not in response:
            return None
        return MethodResponse(_xdr(response["result"]))
    accepted = response.get("accepted") is not False
    code = status_code(status, accepted)
    if code is None:
        code = -1
    words = status
    members: list[tuple[str, Value]] = []
    mismatch = response.get("mismatch")
    if isinstance(mismatch, Mapping):
        low, high = mismatch.get("low"), mismatch.get("high")
        words += f" (supported {low}-{high})"
        members += [("low", XdrUInt(int(low or 0))), ("high", XdrUInt(int(high or 0)))]
    why = response.get("auth_error")
    if isinstance(why, str) and why:
        words += f" ({why})"
        members.append(("auth_error", XdrEnum(why)))
    struct = Struct([("faultCode", Int(code)), ("faultString", String(words)), *members])
    return Fault(code, words, struct)


def _rpyc_response(response: Mapping[str, Any]) -> MethodResponse | Fault | None:
    message = response.get("reply")
    if not isinstance(message, Mapping):
        return None
    reply = message.get("reply")
    if isinstance(reply, Mapping):
        return MethodResponse(_box(reply.get("value")))
    error = message.get("exception")
    if isinstance(error, Mapping):
        name = f"{error.get('module')}.{error.get('name')}"
        text = response.get("result_text")
        words = str(text) if text else name
        struct = Struct(
            [("faultCode", Int(0)), ("faultString", String(words)), ("exception", PyStr(name))]
        )
        return Fault(0, words, struct)
    return None


def native_response(
    protocol: str, response: Mapping[str, Any] | None
) -> MethodResponse | Fault | None:
    """An answer half's JSON as a result or a fault (see the module docstring); None when there
    is no answer or it did not decode."""
    if response is None:
        return None
    if protocol == "oncrpc":
        return _oncrpc_response(response)
    if protocol == "rpyc":
        return _rpyc_response(response)
    return None
