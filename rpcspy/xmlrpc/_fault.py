"""A fault struct to a ``Fault``: shared by the response decoders and multicall pairing."""

from __future__ import annotations

from rpcspy.xmlrpc._paths import member_segment
from rpcspy.xmlrpc.errors import BadValue
from rpcspy.xmlrpc.findings import Finding
from rpcspy.xmlrpc.messages import Fault
from rpcspy.xmlrpc.values import (
    Array,
    Boolean,
    IntegerValue,
    Nil,
    RawValue,
    String,
    Struct,
    UntypedString,
    Value,
)

__all__ = ["code_number", "fault_from_struct", "is_fault_string"]

_MEMBERS = ("faultCode", "faultString")


def is_fault_string(value: object) -> bool:
    """A plain string (typed or untyped), not a dateTime or ex:dom that happens to be a str."""
    return type(value) is String or type(value) is UntypedString


def fault_from_struct(
    value: Value,
    *,
    path: str,
    line: int | None = None,
    findings: list[Finding] | None = None,
) -> Fault:
    """Check that ``value`` is a fault struct (integer faultCode, string faultString).

    With a ``findings`` list, read it tolerantly: a faultCode that is no integer, a faultString
    that is no string, and members besides the two are kept, each noted as a finding.
    """
    if not isinstance(value, Struct):
        raise BadValue(
            f"a fault's value must be a struct, not {type(value).label}", line=line, path=path
        )
    code = value.get("faultCode")
    string = value.get("faultString")
    if findings is not None:
        return _tolerant_fault(value, code, string, path=path, line=line, findings=findings)
    if code is None:
        raise BadValue("the fault struct has no faultCode member", line=line, path=path)
    if string is None:
        raise BadValue("the fault struct has no faultString member", line=line, path=path)
    if not isinstance(code, IntegerValue):
        raise BadValue(
            f"faultCode must be an integer, not {type(code).label} {code!r}",
            line=line,
            path=path + ".faultCode",
        )
    if not is_fault_string(string):
        raise BadValue(
            f"faultString must be a string, not {type(string).label}",
            line=line,
            path=path + ".faultString",
        )
    return Fault(int(code), str(string), value)


def _tolerant_fault(
    value: Struct,
    code: Value | None,
    string: Value | None,
    *,
    path: str,
    line: int | None,
    findings: list[Finding],
) -> Fault:
    for member, present in (("faultCode", code), ("faultString", string)):
        if present is None:
            findings.append(
                Finding.make(
                    "fault-missing-member",
                    f"the fault struct has no {member} member",
                    line=line,
                    path=path,
                )
            )
    if isinstance(code, Struct | Array) or isinstance(string, Struct | Array):
        name = "faultCode" if isinstance(code, Struct | Array) else "faultString"
        raise BadValue(
            f"{name} must be a scalar, not {type(value[name]).label}",
            line=line,
            path=f"{path}.{name}",
        )
    number = code_number(code) if code is not None else 0
    if code is not None and not isinstance(code, IntegerValue):
        findings.append(
            Finding.make(
                "fault-code-not-int",
                f"faultCode is {type(code).label} {_text(code)!r}, not an integer; kept as it "
                f"came (Fault.code is {number})",
                line=line,
                path=path + ".faultCode",
            )
        )
    if string is not None and not is_fault_string(string):
        findings.append(
            Finding.make(
                "fault-string-not-string",
                f"faultString is {type(string).label} {_text(string)!r}, not a string; kept as "
                "it came",
                line=line,
                path=path + ".faultString",
            )
        )
    for name in value:
        if name not in _MEMBERS:
            findings.append(
                Finding.make(
                    "fault-extra-member",
                    f"the fault struct has an extra member {name!r}; kept",
                    line=line,
                    path=path + member_segment(name),
                )
            )
    return Fault(number, _text(string) if string is not None else "", value)


def _text(value: Value) -> str:
    """The text of a scalar, for ``Fault.string`` when faultString is no string."""
    if isinstance(value, RawValue):
        return value.text
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, Boolean):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return repr(float(value))
    if isinstance(value, bytes):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, Nil):
        return ""
    return str(value)


def code_number(code: Value) -> int:
    """``Fault.code`` for a faultCode value: the integer itself, or, for the non-integer codes
    some peers send, the number the text spells (``"404"``), else 0."""
    if isinstance(code, int):  # IntegerValue, Boolean
        return int(code)
    if isinstance(code, float):
        return int(code) if code.is_integer() else 0
    if isinstance(code, str):
        text = code.strip(" \t\r\n")
        digits = text[1:] if text[:1] in "+-" else text
        if digits.isascii() and digits.isdigit() and len(digits) < 20:
            return int(text)
    if isinstance(code, RawValue):
        return code_number(String(code.text))
    return 0
