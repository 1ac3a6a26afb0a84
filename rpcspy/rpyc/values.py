"""RPyC's boxed values, netref ids, and their JSON form.

rpyc passes every argument and result *boxed* (``Connection._box``): ``(LABEL_VALUE, v)`` for a
value brine can hold, ``(LABEL_TUPLE, (box, ...))`` for a tuple holding something it cannot,
and a netref id (an *id pack*: class name, id of the class, id of the object) labelled
``LABEL_REMOTE_REF`` when the object lives on the sender, ``LABEL_LOCAL_REF`` when it lives on the
receiver. The model says *whose* object a ``Ref`` is (``owner``), which is what a reader of both
directions needs; ``box_to_wire`` turns it back into the label for a given sender.

The values inside are brine's own Python values (None, bool, int, float, complex, str, bytes,
tuple, frozenset, slice, NotImplemented, Ellipsis), loaded by rpyc's ``brine.load``. ``Plain``
compares them typed: ``Plain(1) != Plain(True)``, ``Plain("a") != Plain(b"a")``.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from typing import Final

from rpcspy.rpyc._rpyc import LABEL_LOCAL_REF, LABEL_REMOTE_REF, LABEL_TUPLE, LABEL_VALUE
from rpcspy.rpyc.errors import RpycError, Side

__all__ = [
    "Boxed",
    "BoxedTuple",
    "IdPack",
    "Plain",
    "Ref",
    "box_from_json",
    "box_to_json",
    "box_to_wire",
    "other_side",
    "render_value",
    "unbox",
    "value_from_json",
    "value_to_json",
]

#: JSON (and jq) read numbers as doubles: integers beyond this travel as strings.
_SAFE_INT: Final = 2**53


def other_side(side: Side) -> Side:
    return "server" if side == "client" else "client"


def _key(value: object) -> object:
    """A typed, hashable key: equal only for values of the same brine types and meaning."""
    kind = type(value)
    if kind is tuple:
        return ("tuple", tuple(_key(v) for v in value))  # type: ignore[attr-defined]
    if kind is frozenset:
        return ("frozenset", frozenset(_key(v) for v in value))  # type: ignore[attr-defined]
    if kind is slice:
        assert isinstance(value, slice)
        return ("slice", _key(value.start), _key(value.stop), _key(value.step))
    if kind is float or kind is complex:
        return (kind.__name__, repr(value))
    return (kind.__name__, value)


@dataclass(frozen=True, slots=True, eq=False)
class Plain:
    """``LABEL_VALUE``: a value brine carries by value."""

    value: object

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Plain) and _key(self.value) == _key(other.value)

    def __hash__(self) -> int:
        return hash(_key(self.value))


@dataclass(frozen=True, slots=True)
class IdPack:
    """A netref's id: the object's class name (a module's own name for modules), the id of its
    class and its own id in the owner's process (0 when the object is a class)."""

    name: str
    class_id: int
    instance_id: int

    @property
    def is_class(self) -> bool:
        return self.instance_id == 0

    def wire(self) -> tuple[str, int, int]:
        return (self.name, self.class_id, self.instance_id)

    @classmethod
    def from_wire(cls, value: object) -> IdPack:
        """An id pack from its brine value, or ``RpycError("bad-box")``."""
        if (
            type(value) is tuple
            and len(value) == 3
            and type(value[0]) in (str, bytes)
            and type(value[1]) is int
            and type(value[2]) is int
        ):
            name = value[0]
            text = name if isinstance(name, str) else name.decode("utf-8", "replace")
            return cls(text, value[1], value[2])
        raise RpycError("bad-box", f"a netref id is (name, class id, object id), not {value!r:.80}")

    def __str__(self) -> str:
        return f"{self.name}#{self.instance_id:x}" if self.instance_id else f"class {self.name}"


@dataclass(frozen=True, slots=True)
class Ref:
    """A netref: the object ``id`` living on ``owner``'s side."""

    owner: Side
    id: IdPack


@dataclass(frozen=True, slots=True)
class BoxedTuple:
    """``LABEL_TUPLE``: a tuple holding at least one netref, each item boxed."""

    items: tuple[Boxed, ...]


Boxed = Plain | BoxedTuple | Ref


def unbox(raw: object, sender: Side, depth: int = 0) -> Boxed:
    """The boxed value ``sender`` wrote as ``raw`` (a brine value), or ``RpycError("bad-box")``."""
    if type(raw) is not tuple or len(raw) != 2 or type(raw[0]) is not int:
        raise RpycError("bad-box", f"a box is (label, value), not {raw!r:.80}")
    label, value = raw
    if label == LABEL_VALUE:
        return Plain(value)
    if label == LABEL_TUPLE:
        if type(value) is not tuple:
            raise RpycError("bad-box", f"a tuple box holds a tuple, not {value!r:.80}")
        if depth > 200:
            raise RpycError("bad-box", "tuple boxes nested over 200 deep")
        return BoxedTuple(tuple(unbox(item, sender, depth + 1) for item in value))
    if label == LABEL_REMOTE_REF:
        return Ref(sender, IdPack.from_wire(value))
    if label == LABEL_LOCAL_REF:
        return Ref(other_side(sender), IdPack.from_wire(value))
    raise RpycError("bad-box", f"unknown box label {label}")


def box_to_wire(box: Boxed, sender: Side) -> object:
    """The brine value ``sender`` writes for ``box`` (the inverse of ``unbox``)."""
    if isinstance(box, Plain):
        return (LABEL_VALUE, box.value)
    if isinstance(box, BoxedTuple):
        return (LABEL_TUPLE, tuple(box_to_wire(item, sender) for item in box.items))
    label = LABEL_REMOTE_REF if box.owner == sender else LABEL_LOCAL_REF
    return (label, box.id.wire())


def render_value(value: object, limit: int = 200) -> str:
    """A value as Python writes it, cut to ``limit`` characters with an ellipsis."""
    text = repr(value)
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


# ---- JSON form


def _float_to_json(x: float) -> float | str:
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def _float_from_json(x: object) -> float:
    if isinstance(x, str):
        if x in ("NaN", "Infinity", "-Infinity"):
            return float(x.replace("Infinity", "inf"))
        raise ValueError(f"not a float: {x!r}")
    if isinstance(x, int | float) and not isinstance(x, bool):
        return float(x)
    raise ValueError(f"not a float: {x!r}")


def value_to_json(value: object) -> object:
    """A brine value as a one-key JSON object naming its type: ``{"str": "x"}``, ``{"int": 5}``."""
    kind = type(value)
    if value is None:
        return {"none": None}
    if kind is bool:
        return {"bool": value}
    if kind is int:
        assert isinstance(value, int)
        return {"int": value if -_SAFE_INT <= value <= _SAFE_INT else str(value)}
    if kind is float:
        assert isinstance(value, float)
        return {"float": _float_to_json(value)}
    if kind is complex:
        assert isinstance(value, complex)
        return {"complex": [_float_to_json(value.real), _float_to_json(value.imag)]}
    if kind is str:
        return {"str": value}
    if kind is bytes:
        assert isinstance(value, bytes)
        return {"bytes": base64.b64encode(value).decode("ascii")}
    if kind is tuple:
        assert isinstance(value, tuple)
        return {"tuple": [value_to_json(v) for v in value]}
    if kind is frozenset:
        assert isinstance(value, frozenset)
        return {"frozenset": [value_to_json(v) for v in value]}
    if kind is slice:
        assert isinstance(value, slice)
        return {"slice": [value_to_json(v) for v in (value.start, value.stop, value.step)]}
    if value is NotImplemented:
        return {"notimplemented": None}
    if value is Ellipsis:
        return {"ellipsis": None}
    raise TypeError(f"not a brine value: {type(value).__name__}")


def value_from_json(data: object) -> object:
    """The inverse of ``value_to_json``; ``ValueError`` on what it did not write."""
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError(f"a JSON value is a one-key object, not {data!r:.80}")
    ((kind, payload),) = data.items()
    match kind:
        case "none":
            return None
        case "bool" if isinstance(payload, bool):
            return payload
        case "int" if isinstance(payload, int | str) and not isinstance(payload, bool):
            return int(payload)
        case "float":
            return _float_from_json(payload)
        case "complex" if isinstance(payload, list) and len(payload) == 2:
            return complex(_float_from_json(payload[0]), _float_from_json(payload[1]))
        case "str" if isinstance(payload, str):
            return payload
        case "bytes" if isinstance(payload, str):
            try:
                return base64.b64decode(payload, validate=True)
            except binascii.Error as exc:
                raise ValueError(f"bad base64: {exc}") from None
        case "tuple" if isinstance(payload, list):
            return tuple(value_from_json(v) for v in payload)
        case "frozenset" if isinstance(payload, list):
            return frozenset(value_from_json(v) for v in payload)
        case "slice" if isinstance(payload, list) and len(payload) == 3:
            start, stop, step = (value_from_json(v) for v in payload)
            return slice(start, stop, step)
        case "notimplemented":
            return NotImplemented
        case "ellipsis":
            return Ellipsis
    raise ValueError(f"not a JSON brine value: {data!r:.80}")


def box_to_json(box: Boxed) -> object:
    """``{"value": ...}``, ``{"boxes": [...]}`` or ``{"ref": {"owner", "id"}}``."""
    if isinstance(box, Plain):
        return {"value": value_to_json(box.value)}
    if isinstance(box, BoxedTuple):
        return {"boxes": [box_to_json(item) for item in box.items]}
    return {"ref": {"owner": box.owner, "id": [box.id.name, box.id.class_id, box.id.instance_id]}}


def box_from_json(data: object) -> Boxed:
    """The inverse of ``box_to_json``; ``ValueError`` on what it did not write."""
    if isinstance(data, dict) and len(data) == 1:
        if "value" in data:
            return Plain(value_from_json(data["value"]))
        if "boxes" in data and isinstance(data["boxes"], list):
            return BoxedTuple(tuple(box_from_json(item) for item in data["boxes"]))
        ref = data.get("ref")
        if isinstance(ref, dict) and ref.get("owner") in ("client", "server"):
            ident = ref.get("id")
            if isinstance(ident, list):
                try:
                    pack = IdPack.from_wire(tuple(ident))
                except RpycError as exc:
                    raise ValueError(exc.reason) from None
                return Ref("client" if ref["owner"] == "client" else "server", pack)
    raise ValueError(f"not a JSON box: {data!r:.80}")
