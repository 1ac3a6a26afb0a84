"""Text and path tests on a capture line's JSON object, without building the ``CallRecord``.

Decoding a whole record is costly; the TUI's store runs these tests on the parsed JSON line
instead (``docs/capture-format.md``: values in their tagged JSON form). Leaves are turned into
typed values with ``value_from_json`` and compared by the same functions as
``rpcspy.filter.evaluate``, so both give the same answer (the store's tests check it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rpcspy.filter.ast import WILDCARD, PathSegment, PathTest, Text
from rpcspy.filter.evaluate import compare_value, type_matches, value_text
from rpcspy.xmlrpc.errors import BadValue
from rpcspy.xmlrpc.jsonform import value_from_json

__all__ = ["matches_json"]

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


def _message_texts(call: Any, response: Any) -> Iterator[str]:
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


def _path_matches(node: PathTest, values: list[Any]) -> bool:
    for raw in values:
        if node.op is None and node.type_tag is None:
            return True
        try:
            v = value_from_json(raw)
        except BadValue:
            continue
        if node.type_tag is not None:
            if type_matches(v, node.type_tag):
                return True
        elif node.value is not None and compare_value(v, node.op or "=", node.value):
            return True
    return False


def _messages(obj: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    request = obj.get("request")
    yield (request.get("call") if isinstance(request, dict) else None), obj.get("response")
    for sub in obj.get("subcalls") or ():
        if isinstance(sub, dict):
            yield sub.get("call"), sub


def matches_json(node: Text | PathTest, obj: dict[str, Any]) -> bool:
    """Does the capture line ``obj`` (a call record's JSON) pass this text or path test?"""
    if isinstance(node, Text):
        folded = node.text.casefold()
        request = obj.get("request")
        call = request.get("call") if isinstance(request, dict) else None
        return any(folded in t.casefold() for t in _message_texts(call, obj.get("response")))
    for call, response in _messages(obj):
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
