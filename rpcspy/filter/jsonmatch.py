"""Text and path tests on a call's *messages*: its decoded call, result or fault, and sub-calls.

The messages are the JSON form of the capture format (values tagged by wire type), as the capture
index stores them once per distinct content (``CaptureIndex.messages``): a JSON array
``[call, response, subcalls]`` where ``response`` is ``{"result": v}``, ``{"fault": f}`` or null.
This is the one place where the text and path predicates of the filter language are defined;
leaves are turned into typed values with ``value_from_json`` only to compare them.

A type test or a bare path test looks only at wire types and structure, so it also runs on a
*shape* (the messages with every value replaced by null), once for all calls of that shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from rpcspy.capture.native import params_of, result_of
from rpcspy.filter.ast import WILDCARD, PathSegment, PathTest, Text
from rpcspy.xmlrpc.errors import BadValue
from rpcspy.xmlrpc.jsonform import value_from_json
from rpcspy.xmlrpc.values import (
    Boolean,
    Double,
    ExBigDecimal,
    IntegerValue,
    Nil,
    String,
    Value,
)

__all__ = [
    "compare_number",
    "compare_value",
    "matches_messages",
    "matches_shape",
    "value_text",
]

_TEXT_KEYS = frozenset({"string", "untyped", "dateTime.iso8601", "ex:dateTime", "ex:dom"})
_INT_KEYS = frozenset({"i4", "int", "i8", "ex:i1", "ex:i2", "ex:i8", "ex:biginteger"})
_SILENT_KEYS = frozenset({"base64", "ex:serializable", "nil", "ex:nil"})


def _leaf_text(key: str, payload: Any) -> str | None:
    if key in _TEXT_KEYS and isinstance(payload, str):
        return payload
    if key in _INT_KEYS and isinstance(payload, int) and not isinstance(payload, bool):
        return str(payload)
    if key == "boolean" and isinstance(payload, bool):
        return "true" if payload else "false"
    if key in _SILENT_KEYS:
        return None
    try:
        return value_text(value_from_json({key: payload}))
    except BadValue:
        return None


def _texts(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        v = stack.pop()
        if not isinstance(v, dict) or len(v) != 1:
            continue
        ((key, payload),) = v.items()
        if key == "struct" and isinstance(payload, dict):
            for name, item in payload.items():
                yield name
                stack.append(item)
        elif key == "array" and isinstance(payload, list):
            stack.extend(payload)
        else:
            text = _leaf_text(key, payload)
            if text is not None:
                yield text


def _native_texts(halves: Any) -> Iterator[str]:
    """Every word of another protocol's halves (ONC RPC, RPyC) as their codecs wrote them: the
    string and number leaves (procedure names, XDR strings and ints, the RPyC operation's text,
    netref names) and struct field names. The index keeps them as ``{"native": {"protocol",
    "request", "response"}}`` in a call's messages (docs/capture-format.md, "Other
    protocols")."""
    stack = [halves]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            fields = v.get("fields")
            if isinstance(fields, dict):
                yield from fields
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str):
            yield v
        elif isinstance(v, int | float) and not isinstance(v, bool):
            yield str(v)


def _message_texts(call: Any, response: Any) -> Iterator[str]:
    if isinstance(response, dict) and "native" in response:
        yield from _native_texts(response["native"])
        return
    if isinstance(call, dict):
        method = call.get("method")
        if isinstance(method, str):
            yield method
        for p in call.get("params") or ():
            yield from _texts(p)
    if isinstance(response, dict):
        fault = response.get("fault")
        if isinstance(fault, dict):
            yield str(fault.get("code"))
            string = fault.get("string")
            if isinstance(string, str):
                yield string
            yield from _texts(fault.get("value"))
        elif "result" in response:
            yield from _texts(response["result"])


def _resolve(roots: list[Any], path: tuple[PathSegment, ...]) -> list[Any]:
    current: list[Any] = [{"array": roots}]
    for seg in path:
        nxt: list[Any] = []
        for v in current:
            if not isinstance(v, dict) or len(v) != 1:
                continue
            ((key, payload),) = v.items()
            if seg is WILDCARD:
                if key == "struct" and isinstance(payload, dict):
                    nxt.extend(payload.values())
                elif key == "array" and isinstance(payload, list):
                    nxt.extend(payload)
            elif isinstance(seg, int):
                if key == "array" and isinstance(payload, list) and seg < len(payload):
                    nxt.append(payload[seg])
            elif key == "struct" and isinstance(payload, dict) and seg in payload:
                nxt.append(payload[seg])
        current = nxt
        if not current:
            break
    return current


#: XDR scalar types (ONC RPC) as the XML-RPC values they compare like.
_XDR_INTS = frozenset({"int", "uint", "hyper", "uhyper"})


def _comparable(raw: Any) -> Any:
    """An XDR scalar's JSON as the XML-RPC value it compares like (``{"uint": 5}`` as an
    ``i8``, an enum as its name); any other value as it is."""
    if not isinstance(raw, dict) or len(raw) != 1:
        return raw
    ((key, payload),) = raw.items()
    if key in _XDR_INTS and isinstance(payload, int) and not isinstance(payload, bool):
        return {"i8": payload} if -(1 << 63) <= payload < (1 << 63) else {"string": str(payload)}
    if key == "float":
        return {"double": payload}
    if key == "bool":
        return {"boolean": payload}
    if key == "enum" and isinstance(payload, dict):
        return {"string": str(payload.get("name"))}
    return raw


def _type_ok(raw: Any, tag: str) -> bool:
    """Is the JSON value ``raw`` of the wire type ``tag``? ``string`` also takes untyped."""
    if not isinstance(raw, dict) or len(raw) != 1:
        return False
    (key,) = raw
    if tag == "string":
        return key in ("string", "untyped")
    return bool(key == tag)


def _path_matches(node: PathTest, values: list[Any]) -> bool:
    for raw in values:
        if node.type_tag is not None:
            if _type_ok(raw, node.type_tag):
                return True
            continue
        if node.op is None:
            return True
        try:
            v = value_from_json(_comparable(raw))
        except BadValue:
            continue
        if node.value is not None and compare_value(v, node.op, node.value):
            return True
    return False


def _native_pair(native: Any) -> tuple[Any, Any]:
    """Another protocol's call and response as paths see them (``rpcspy.capture.native``):
    ``{"params": [...]}`` and ``{"result": v}``, from its halves or from its shape."""
    if not isinstance(native, dict):
        return None, None
    if "protocol" in native:
        protocol = str(native.get("protocol"))
        params = params_of(protocol, native.get("request"))
        result = result_of(protocol, native.get("response"))
    else:  # the shape: already what paths walk
        params, result = native.get("params"), native.get("result")
    call = None if params is None else {"params": params}
    return call, None if result is None else {"result": result}


def _pairs(messages: list[Any]) -> Iterator[tuple[Any, Any]]:
    call, response, subcalls = messages
    if isinstance(response, dict) and "native" in response:
        yield _native_pair(response["native"])
        return
    yield call, response
    for sub in subcalls or ():
        if isinstance(sub, dict):
            yield sub.get("call"), sub


def _path_test(node: PathTest, messages: list[Any]) -> bool:
    for call, response in _pairs(messages):
        if node.root == "params":
            if (
                isinstance(call, dict)
                and isinstance(call.get("params"), list)
                and _path_matches(node, _resolve(call["params"], node.path))
            ):
                return True
        elif (
            isinstance(response, dict)
            and "result" in response
            and "fault" not in response
            and _path_matches(node, _resolve([response["result"]], (0, *node.path)))
        ):
            return True
    return False


def matches_shape(node: PathTest, shape: list[Any]) -> bool:
    """A type or bare path test (``node.value`` is None) on a shape: the same answer as on the
    messages of every call of that shape."""
    assert node.value is None
    return _path_test(node, shape)


def matches_messages(node: Text | PathTest, messages: list[Any]) -> bool:
    """Does a call with these messages (``[call, response, subcalls]``) pass the test?"""
    if isinstance(node, Text):
        folded = node.text.casefold()
        return any(folded in t.casefold() for t in _message_texts(messages[0], messages[1]))
    return _path_test(node, messages)


def value_text(value: Value) -> str | None:
    """The searchable text of a scalar (``42``, ``bob``, ``true``); None for base64, nil and
    containers."""
    if isinstance(value, Boolean):
        return "true" if value else "false"
    if isinstance(value, IntegerValue):
        return str(int(value))
    if isinstance(value, String):
        return str.__str__(value)
    if isinstance(value, Double):
        return float.__repr__(value)
    if isinstance(value, ExBigDecimal):
        return str(value)
    return None


def _parse_bool(text: str) -> bool | None:
    low = text.strip().lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    return None


def compare_number(left: Decimal | float, op: str, right: Decimal | float) -> bool:
    """``left OP right`` for ``>``, ``>=``, ``<``, ``<=``, ``=``, ``!=``."""
    if op == ">":
        return left > right
    if op == ">=":
        return left >= right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == "=":
        return left == right
    return left != right


def compare_value(value: Value, op: str, text: str) -> bool:
    """Does ``value OP text`` hold? ``~`` is a substring (ignoring case); numbers compare as
    numbers."""
    if op == "~":
        vt = value_text(value)
        return vt is not None and text.casefold() in vt.casefold()
    if op == "!=":
        return not compare_value(value, "=", text)
    if isinstance(value, Boolean):
        want = _parse_bool(text)
        return op == "=" and want is not None and bool(value) is want
    if isinstance(value, IntegerValue | Double | ExBigDecimal):
        try:
            number = Decimal(text.strip())
        except InvalidOperation:
            return False
        if not number.is_finite():
            return False
        if isinstance(value, Double):
            # As doubles: 0.35 typed by a person is the double nearest 0.35, like the value.
            return compare_number(float(value), op, float(number))
        mine = Decimal(int(value)) if isinstance(value, IntegerValue) else Decimal(value)
        return compare_number(mine, op, number)
    if isinstance(value, String):
        mine_text = str.__str__(value)
        return compare_number(mine_text, op, text)  # type: ignore[arg-type]
    if isinstance(value, Nil):
        return op == "=" and text.strip().lower() == "nil"
    return False
