"""The sans-IO XML-RPC core: typed values, messages, and the codec between them and bytes.

Nothing here touches sockets, files, mitmproxy or Textual: bytes in, typed model out, and back.

The names exported here are loaded when first used (PEP 562): importing the package or one of
its submodules (``rpcspy.xmlrpc.messages``, say) does not load the XML codec and lxml, so what
needs only the typed model (reading a capture's calls) starts quicker.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rpcspy.xmlrpc._prolog import sniff_kind
    from rpcspy.xmlrpc.decode import EX_NAMESPACE, decode_message, decode_request, decode_response
    from rpcspy.xmlrpc.encode import encode_request, encode_response, encode_value
    from rpcspy.xmlrpc.errors import BadValue, CodecError, MalformedXml, UnsafeXml
    from rpcspy.xmlrpc.findings import RULES, Finding, Rule, Severity
    from rpcspy.xmlrpc.messages import (
        DEFAULT_LIMITS,
        Fault,
        Limits,
        Message,
        MethodCall,
        MethodResponse,
    )
    from rpcspy.xmlrpc.multicall import MULTICALL, expand_multicall, is_multicall, pair_multicall
    from rpcspy.xmlrpc.tolerant import Reading, read_message, read_request, read_response
    from rpcspy.xmlrpc.values import (
        ALL_TYPES,
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
        from_python,
        parse_datetime,
        to_python,
        type_name,
    )

__all__ = [
    "ALL_TYPES",
    "DEFAULT_LIMITS",
    "EX_NAMESPACE",
    "I4",
    "I8",
    "MULTICALL",
    "RULES",
    "Array",
    "BadValue",
    "Base64",
    "Boolean",
    "CodecError",
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
    "Fault",
    "Finding",
    "Int",
    "IntegerValue",
    "Limits",
    "MalformedXml",
    "Message",
    "MethodCall",
    "MethodResponse",
    "Nil",
    "NoValue",
    "RawValue",
    "Reading",
    "Rule",
    "Severity",
    "String",
    "Struct",
    "UnsafeXml",
    "UntypedString",
    "Value",
    "WideI4",
    "WideInt",
    "decode_message",
    "decode_request",
    "decode_response",
    "encode_request",
    "encode_response",
    "encode_value",
    "expand_multicall",
    "from_python",
    "is_multicall",
    "pair_multicall",
    "parse_datetime",
    "read_message",
    "read_request",
    "read_response",
    "sniff_kind",
    "to_python",
    "type_name",
]

#: Where each exported name lives (the submodule under ``rpcspy.xmlrpc``).
_WHERE: dict[str, str] = {
    "ALL_TYPES": "values",
    "Array": "values",
    "BadValue": "errors",
    "Base64": "values",
    "Boolean": "values",
    "CodecError": "errors",
    "DEFAULT_LIMITS": "messages",
    "DateTime": "values",
    "Double": "values",
    "EX_NAMESPACE": "decode",
    "ExBigDecimal": "values",
    "ExBigInteger": "values",
    "ExDateTime": "values",
    "ExDom": "values",
    "ExFloat": "values",
    "ExI1": "values",
    "ExI2": "values",
    "ExI8": "values",
    "ExNil": "values",
    "ExSerializable": "values",
    "Fault": "messages",
    "Finding": "findings",
    "I4": "values",
    "I8": "values",
    "Int": "values",
    "IntegerValue": "values",
    "Limits": "messages",
    "MULTICALL": "multicall",
    "MalformedXml": "errors",
    "Message": "messages",
    "MethodCall": "messages",
    "MethodResponse": "messages",
    "Nil": "values",
    "NoValue": "values",
    "RULES": "findings",
    "RawValue": "values",
    "Reading": "tolerant",
    "Rule": "findings",
    "Severity": "findings",
    "String": "values",
    "Struct": "values",
    "UnsafeXml": "errors",
    "UntypedString": "values",
    "Value": "values",
    "WideI4": "values",
    "WideInt": "values",
    "decode_message": "decode",
    "decode_request": "decode",
    "decode_response": "decode",
    "encode_request": "encode",
    "encode_response": "encode",
    "encode_value": "encode",
    "expand_multicall": "multicall",
    "from_python": "values",
    "is_multicall": "multicall",
    "pair_multicall": "multicall",
    "parse_datetime": "values",
    "read_message": "tolerant",
    "read_request": "tolerant",
    "read_response": "tolerant",
    "sniff_kind": "_prolog",
    "to_python": "values",
    "type_name": "values",
}


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
