"""Text renderings of typed values for people: one-line summaries and indented typed trees.

Pure functions over the value model, shared by the CLI, the mitmproxy contentview and the TUI so
that a value reads the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator

from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.values import (
    Array,
    Base64,
    Boolean,
    DateTime,
    Double,
    ExBigDecimal,
    ExDom,
    IntegerValue,
    Nil,
    RawValue,
    String,
    Struct,
    Value,
)

__all__ = [
    "format_call",
    "format_message_tree",
    "format_response",
    "format_scalar",
    "format_short",
    "format_typed",
    "format_value_tree",
    "plural",
]

_ELLIPSIS = "…"


def _quote(text: str) -> str:
    # JSON-style quoting keeps control characters visible and the result on one line.
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{out}"'


def format_scalar(value: Value) -> str:
    """The value's text without its type: ``42``, ``"hi"``, ``true``, ``<base64 12 B>``, ``nil``."""
    if isinstance(value, Boolean):
        return "true" if value else "false"
    if isinstance(value, IntegerValue):
        if value.bit_length() > 10_000:  # past Python's int-to-text digit limit
            return f"<{value.bit_length()}-bit integer>"
        return str(int(value))
    if isinstance(value, DateTime):
        return str.__str__(value)
    if isinstance(value, ExDom):
        return _quote(str.__str__(value))
    if isinstance(value, String):
        return _quote(str.__str__(value))
    if isinstance(value, Double):
        return float.__repr__(value)
    if isinstance(value, ExBigDecimal):
        return str(value)
    if isinstance(value, Base64):
        return f"<{value.label} {len(value)} B>"
    if isinstance(value, Nil):
        return "nil" if value.tag != "novalue" else "(none)"
    if isinstance(value, RawValue):
        xml = value.xml if len(value.xml) <= 60 else value.xml[:59] + _ELLIPSIS
        return xml
    if isinstance(value, Struct):
        return f"{{{plural(len(value), 'member')}}}"
    if isinstance(value, Array):
        return f"[{plural(len(value), 'item')}]"
    raise TypeError(f"not an XML-RPC value: {type(value).__name__}")


def plural(n: int, noun: str) -> str:
    """``1 item``, ``2 items``, ``0 members``: a count and its noun, agreeing."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def format_typed(value: Value) -> str:
    """Type label and value: ``i4 42``, ``string "hi"``, ``boolean true``,
    ``struct {3 members}``."""
    return f"{value.label} {format_scalar(value)}"


def format_short(value: Value, limit: int = 60) -> str:
    """A compact one-line form for lists: ``{name: "bob", ids: [1, 2]}``, cut at ``limit`` chars."""
    parts: list[str] = []
    budget = [limit + 1]  # stop building once past the limit; deep values stay cheap

    def emit(text: str) -> bool:
        parts.append(text)
        budget[0] -= len(text)
        return budget[0] > 0

    def walk(v: Value) -> bool:
        if isinstance(v, Struct):
            if not emit("{"):
                return False
            for i, (k, item) in enumerate(v.items()):
                if (i and not emit(", ")) or not emit(f"{k}: ") or not walk(item):
                    return False
            return emit("}")
        if isinstance(v, Array):
            if not emit("["):
                return False
            for i, item in enumerate(v):
                if (i and not emit(", ")) or not walk(item):
                    return False
            return emit("]")
        return emit(format_scalar(v))

    walk(value)
    text = "".join(parts)
    if len(text) > limit:
        return text[: max(limit - 1, 0)] + _ELLIPSIS
    return text


def format_call(call: MethodCall, limit: int = 80) -> str:
    """``method(arg, arg)`` on one line, args shortened to fit ``limit``."""
    args = ", ".join(format_short(p, limit) for p in call.params)
    text = f"{call.method}({args})"
    if len(text) > limit:
        return text[: max(limit - 2, 0)] + _ELLIPSIS + ")"
    return text


def format_response(response: MethodResponse | Fault, limit: int = 60) -> str:
    """``-> value`` for a result, ``fault 4: text`` for a fault, on one line."""
    if isinstance(response, Fault):
        text = f"fault {response.code}: {response.string}"
        return text if len(text) <= limit else text[: max(limit - 1, 0)] + _ELLIPSIS
    return format_short(response.value, limit)


def format_value_tree(value: Value, name: str | None = None, indent: int = 0) -> Iterator[str]:
    """Indented lines, one per value, each with its wire type: ``name: i4 42``."""
    # An explicit stack rather than recursion: values may nest as deep as the codec allows.
    stack: list[tuple[Value, str | None, int]] = [(value, name, indent)]
    while stack:
        v, label, depth = stack.pop()
        pad = "  " * depth
        head = f"{label}: " if label is not None else ""
        if isinstance(v, Struct):
            yield f"{pad}{head}struct ({plural(len(v), 'member')})"
            stack.extend((item, k, depth + 1) for k, item in reversed(list(v.items())))
        elif isinstance(v, Array):
            yield f"{pad}{head}array ({plural(len(v), 'item')})"
            stack.extend((item, f"[{i}]", depth + 1) for i, item in reversed(list(enumerate(v))))
        else:
            yield f"{pad}{head}{format_typed(v)}"


def format_message_tree(message: MethodCall | MethodResponse | Fault) -> Iterator[str]:
    """A whole message as typed lines: the call with its params, a result, or a fault."""
    if isinstance(message, MethodCall):
        yield f"call {message.method}"
        for i, p in enumerate(message.params):
            yield from format_value_tree(p, f"params[{i}]", 1)
    elif isinstance(message, Fault):
        yield f"fault {message.code}: {message.string}"
        extra = {k: v for k, v in message.value.items() if k not in ("faultCode", "faultString")}
        for k, v in extra.items():
            yield from format_value_tree(v, k, 1)
    else:
        yield from format_value_tree(message.value, "result")
