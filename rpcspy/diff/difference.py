"""The difference record: where two values differ, how, and the two sides, with text for people."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Final, Literal, get_args

from rpcspy.xmlrpc.messages import Fault
from rpcspy.xmlrpc.render import format_scalar, format_short
from rpcspy.xmlrpc.values import Array, Base64, Nil, Struct, Value

__all__ = [
    "BASE64_INLINE_MAX",
    "KINDS",
    "MINOR_KINDS",
    "Difference",
    "Kind",
    "Side",
    "side_to_dict",
]

Kind = Literal[
    "changed",
    "type",
    "untyped",
    "added",
    "removed",
    "fault",
    "fault_code",
    "fault_string",
    "response",
    "method",
]
"""What kind of difference:

- ``changed``: same wire type, different value (doubles beyond the tolerance).
- ``type``: different wire types (``i4 1`` vs ``int 1``, ``boolean`` vs ``int``, scalar vs struct).
- ``untyped``: a typed ``<string>`` on one side, untyped text on the other, same text. The spec
  says the two mean the same, so this kind is *minor*: reported, and easy to ignore by rule.
- ``added`` / ``removed``: a struct member or array item only in the new / old value.
- ``fault``: one side returned a result, the other a fault.
- ``fault_code`` / ``fault_string``: both faulted, with different codes / strings.
- ``response``: one side has no response at all (the call failed below XML-RPC).
- ``method``: two calls name different methods.
"""

#: Every kind, in the order the docs list them.
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)

#: Kinds that do not change meaning by the spec; shown, but flagged as minor.
MINOR_KINDS: Final[frozenset[Kind]] = frozenset({"untyped"})

#: Base64 values longer than this (in decoded bytes) are shown by length and SHA-256, not content.
BASE64_INLINE_MAX: Final = 1024

#: One side of a difference: a value, a whole fault (``fault``/``response`` kinds), or nothing.
Side = Value | Fault | None

_SHORT = 60
_DIGEST_SHOWN = 16


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _base64_text(value: Base64) -> str:
    if len(value) > BASE64_INLINE_MAX:
        digest = hashlib.sha256(value).hexdigest()
        return f"<{len(value)} B sha256:{digest[:_DIGEST_SHOWN]}…>"
    return f"<{len(value)} B {base64.b64encode(value).decode('ascii')}>"


def _value_text(value: Value) -> str:
    """A value as ``label text``: ``i4 1``, ``string "a"``, ``struct {a: 1}``, ``nil``."""
    if isinstance(value, Base64):
        return f"{value.label} {_base64_text(value)}"
    if isinstance(value, Nil):
        return value.label
    if isinstance(value, Struct | Array):
        return f"{value.label} {format_short(value, _SHORT)}"
    return f"{value.label} {format_scalar(value)}"


def _fault_text(fault: Fault) -> str:
    return f"fault {fault.code}: {_quote(fault.string)}"


def _response_side(side: Side) -> str:
    if side is None:
        return "no response"
    if isinstance(side, Fault):
        return _fault_text(side)
    return f"result {_value_text(side)}"


def side_to_dict(side: Side) -> dict[str, object] | None:
    """A JSON-ready form of one side: ``{"type": label, "text": ...}`` plus a few exact extras."""
    if side is None:
        return None
    if isinstance(side, Fault):
        return {
            "type": "fault",
            "code": side.code,
            "string": side.string,
            "text": _fault_text(side),
        }
    out: dict[str, object] = {"type": side.label}
    if isinstance(side, Base64):
        out["size"] = len(side)
        if len(side) > BASE64_INLINE_MAX:
            out["sha256"] = hashlib.sha256(side).hexdigest()
        else:
            out["base64"] = base64.b64encode(side).decode("ascii")
        out["text"] = _base64_text(side)
    elif isinstance(side, Nil):
        out["text"] = ""
    elif isinstance(side, Struct | Array):
        out["size"] = len(side)
        out["text"] = format_short(side, 200)
    else:
        out["text"] = format_scalar(side)
    return out


@dataclass(frozen=True, slots=True)
class Difference:
    """One difference between an old and a new value, call or response.

    ``path`` says where (``result[3].name``; empty for the response as a whole), ``kind`` how,
    ``old``/``new`` hold the two sides (``None`` where a side has nothing there) and ``method`` the
    XML-RPC method when known. The sides are the compared values themselves, not copies.
    """

    path: str
    kind: Kind
    old: Side = None
    new: Side = None
    method: str | None = None

    @property
    def minor(self) -> bool:
        """True for kinds that do not change meaning by the spec (typed vs untyped string)."""
        return self.kind in MINOR_KINDS

    def describe(self) -> str:
        """One line for people: ``result[3].name: string "a" -> string "b"``."""
        body = self._body()
        return f"{self.path}: {body}" if self.path else body

    def _body(self) -> str:
        kind = self.kind
        if kind in ("fault", "response"):
            return f"{_response_side(self.old)} -> {_response_side(self.new)}"
        if kind == "method":
            return f"{_side_plain(self.old)} -> {_side_plain(self.new)}"
        if kind == "added":
            return f"added {_side_text(self.new)}"
        if kind == "removed":
            return f"removed {_side_text(self.old)}"
        return f"{_side_text(self.old)} -> {_side_text(self.new)}"

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form: path, kind, method, minor, text and both sides."""
        return {
            "path": self.path,
            "kind": self.kind,
            "method": self.method,
            "minor": self.minor,
            "text": self.describe(),
            "old": side_to_dict(self.old),
            "new": side_to_dict(self.new),
        }


def _side_text(side: Side) -> str:
    if side is None:
        return "nothing"
    if isinstance(side, Fault):
        return _fault_text(side)
    return _value_text(side)


def _side_plain(side: Side) -> str:
    if isinstance(side, str):
        return _quote(str(side))
    return _side_text(side)
