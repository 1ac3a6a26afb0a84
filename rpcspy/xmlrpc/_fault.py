"""A fault struct to a ``Fault``: shared by the response decoder and multicall pairing."""

from __future__ import annotations

from rpcspy.xmlrpc.errors import BadValue
from rpcspy.xmlrpc.messages import Fault
from rpcspy.xmlrpc.values import IntegerValue, String, Struct, UntypedString, Value

__all__ = ["fault_from_struct", "is_fault_string"]


def is_fault_string(value: object) -> bool:
    """A plain string (typed or untyped), not a dateTime or ex:dom that happens to be a str."""
    return type(value) is String or type(value) is UntypedString


def fault_from_struct(value: Value, *, path: str, line: int | None = None) -> Fault:
    """Check that ``value`` is a fault struct (integer faultCode, string faultString)."""
    if not isinstance(value, Struct):
        raise BadValue(
            f"a fault's value must be a struct, not {type(value).label}", line=line, path=path
        )
    code = value.get("faultCode")
    string = value.get("faultString")
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
