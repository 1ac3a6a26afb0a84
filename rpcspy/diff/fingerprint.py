"""Compact, order-insensitive fingerprints of typed values, calls and responses.

A fingerprint is a 64-bit integer over a canonical text of the value: the wire type is part of it
(``i4 1`` and ``int 1`` differ, as they do under the value model's equality), struct members are
taken in name order (member order is not part of equality), and compiled ignore rules
(``rpcspy.diff.matcher``) may leave out the nodes they drop entirely. Equal values always have
equal fingerprints; the converse holds with overwhelming probability, and callers that report a
difference confirm it with the diff engine, so a collision can only hide a difference, never
invent one.
"""

from __future__ import annotations

import base64
import hashlib

from rpcspy.diff.matcher import CompiledRules, State
from rpcspy.diff.paths import Segment
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.values import (
    Array,
    Base64,
    Boolean,
    Double,
    ExBigDecimal,
    IntegerValue,
    Nil,
    RawValue,
    String,
    Struct,
    Value,
)

__all__ = ["canonical", "fingerprint", "params_fingerprint", "response_fingerprint"]


class _Mask:
    """Follows the compiled ignore rules down a walk; a node they drop entirely is left out."""

    __slots__ = ("rules",)

    def __init__(self, rules: CompiledRules) -> None:
        self.rules = rules

    def start(self, *segments: Segment) -> State:
        state = self.rules.start
        for seg in segments:
            state = self.rules.step(state, seg)
        return state


def _walk(value: Value, out: list[str], mask: _Mask | None, state: State) -> None:
    if mask is not None and state and mask.rules.info(state).ignored:
        out.append("~")
        return
    tag = value.tag
    if isinstance(value, Struct):
        out.append("{")
        for name in sorted(value):
            out.append(repr(name))
            out.append(":")
            child = mask.rules.step(state, name) if mask is not None else state
            _walk(value[name], out, mask, child)
            out.append(",")
        out.append("}")
    elif isinstance(value, Array):
        out.append("[")
        for i, item in enumerate(value):
            child = mask.rules.step(state, i) if mask is not None else state
            _walk(item, out, mask, child)
            out.append(",")
        out.append("]")
    elif isinstance(value, String):
        out.append(tag + ":" + repr(str.__str__(value)))
    elif isinstance(value, IntegerValue | Boolean):
        out.append(f"{tag}:{int(value)}")
    elif isinstance(value, Double):
        out.append(f"{tag}:{float.__repr__(value)}")
    elif isinstance(value, ExBigDecimal):
        out.append(f"{tag}:{value!s}")
    elif isinstance(value, Base64):
        out.append(tag + ":" + base64.b64encode(value).decode("ascii"))
    elif isinstance(value, Nil):
        out.append(tag)
    elif isinstance(value, RawValue):
        # Kept as written: equal exactly when the markup is (``RawValue``'s equality).
        out.append(tag + ":" + repr(value.xml))
    else:  # pragma: no cover - the Value union is closed
        out.append(f"{type(value).__name__}:{value!r}")


def canonical(value: Value, *root: Segment, rules: CompiledRules | None = None) -> str:
    """A text that is equal for two values exactly when they are equal, leaving out the nodes
    that ``rules`` ignore entirely; ``root`` is the value's path (``"result"``, ``"params", 0``)."""
    out: list[str] = []
    if rules is None:
        _walk(value, out, None, frozenset())
    else:
        mask = _Mask(rules)
        _walk(value, out, mask, mask.start(*root))
    return "".join(out)


def fingerprint(text: str) -> int:
    """A 64-bit hash of a canonical text, stable across processes (unlike ``hash``)."""
    data = text.encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest())


def params_fingerprint(call: MethodCall, rules: CompiledRules | None = None) -> int:
    """Fingerprint of a call's method and params (paths ``params[0]``...), rules applied."""
    parts = [call.method, "("]
    for i, param in enumerate(call.params):
        parts.append(canonical(param, "params", i, rules=rules))
        parts.append(",")
    parts.append(")")
    return fingerprint("".join(parts))


def response_fingerprint(
    response: MethodResponse | Fault | None,
    rules: CompiledRules | None = None,
) -> int:
    """Fingerprint of an outcome: a result (path ``result``), a fault, or no answer at all.

    Any two failed exchanges (no response) have the same fingerprint: their error texts hold
    addresses and timings that say nothing about the server's answer.
    """
    if isinstance(response, MethodResponse):
        return fingerprint("R" + canonical(response.value, "result", rules=rules))
    if isinstance(response, Fault):
        return fingerprint("F" + canonical(response.value, "fault", rules=rules))
    return fingerprint("E")
