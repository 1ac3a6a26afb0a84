"""Pure helpers behind the call editor and the replay comparison (no Textual).

Editing works on a copy of the params held as an ``Array``: containers (``Struct``, ``Array``)
are changed in place, scalars are replaced in their parent. Text typed by the user becomes a
value of the chosen wire type with ``parse_scalar``, which says clearly what is wrong.

``changes_state`` decides which calls a replay asks about before sending them again (a
method name tells all XML-RPC knows of what a call does; the rule is in docs/tui.md).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from rpcspy.diff.paths import format_path
from rpcspy.xmlrpc.messages import Fault, MethodResponse
from rpcspy.xmlrpc.render import format_scalar
from rpcspy.xmlrpc.values import (
    ALL_TYPES,
    Array,
    Base64,
    Boolean,
    DateTime,
    Double,
    ExBigDecimal,
    IntegerValue,
    Nil,
    String,
    Struct,
    Value,
    WideI4,
    WideInt,
    parse_datetime,
)

__all__ = [
    "EDIT_TYPES",
    "READING_WORDS",
    "STATE_WORDS",
    "PathKey",
    "changes_state",
    "clone",
    "convert",
    "default_value",
    "edit_text",
    "get_at",
    "marked_lines",
    "method_words",
    "parse_scalar",
    "remove_at",
    "rename_member",
    "response_lines",
    "set_at",
]

PathKey = tuple[int | str, ...]

#: Wire types offered in the editor, by tag ("" is the untyped string), in menu order.
EDIT_TYPES: tuple[str, ...] = (
    "string",
    "int",
    "i4",
    "i8",
    "boolean",
    "double",
    "dateTime.iso8601",
    "base64",
    "nil",
    "struct",
    "array",
    "",
    "ex:i1",
    "ex:i2",
    "ex:i8",
    "ex:biginteger",
    "ex:float",
    "ex:bigdecimal",
    "ex:dateTime",
    "ex:dom",
    "ex:serializable",
    "ex:nil",
)


def clone(value: Value) -> Value:
    """A deep copy (containers new, scalars shared: they are immutable)."""
    if isinstance(value, Struct):
        return Struct({k: clone(v) for k, v in value.items()})
    if isinstance(value, Array):
        return Array([clone(v) for v in value])
    return value


def default_value(tag: str) -> Value:
    """An empty value of the wire type ``tag`` (0, "", false, the epoch, {}, [])."""
    cls: Any = ALL_TYPES[tag]
    value: Value
    if issubclass(cls, Struct):
        value = Struct()
    elif issubclass(cls, Array):
        value = Array()
    elif issubclass(cls, Nil):
        value = cls()
    elif issubclass(cls, DateTime):
        value = cls("19700101T00:00:00")
    elif issubclass(cls, Boolean):
        value = cls(False)
    elif issubclass(cls, IntegerValue):
        value = cls(0)
    elif issubclass(cls, Double):
        value = cls(0.0)
    elif issubclass(cls, ExBigDecimal):
        value = cls("0")
    elif issubclass(cls, Base64):
        value = cls(b"")
    else:
        value = cls("")
    return value


def edit_text(value: Value) -> str:
    """The text a person edits for a scalar: strings raw, base64 as base64, booleans true/false."""
    if isinstance(value, Boolean):
        return "true" if value else "false"
    if isinstance(value, Base64):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, String):
        return str.__str__(value)
    if isinstance(value, Nil):
        return ""
    if isinstance(value, Struct | Array):
        return ""
    return format_scalar(value)


#: The classes of an ``i4``/``int`` beyond 32 bits, as real peers send them (tolerant reading).
_WIDE: dict[str, type[Value]] = {"i4": WideI4, "int": WideInt}


def parse_scalar(tag: str, text: str, *, like: Value | None = None) -> Value:
    """A value of wire type ``tag`` from typed text; ``ValueError`` with a clear reason.

    ``like`` is the value being edited: when it is a wide ``i4``/``int`` (``WideI4``,
    ``WideInt``, out of the 32-bit range as a peer sent it), the new one keeps that class, so
    an out-of-range number stays editable and keeps its wire type.
    """
    cls: Any = ALL_TYPES.get(tag)
    if isinstance(like, WideI4 | WideInt) and tag in _WIDE:
        cls = _WIDE[tag]
    if cls is None:
        raise ValueError(f"unknown type {tag!r}")
    label = cls.label
    if issubclass(cls, Struct | Array):
        raise ValueError(f"a {label} has no text: add members or items to it")
    if issubclass(cls, Nil):
        return cls()  # type: ignore[no-any-return]
    if issubclass(cls, Boolean):
        low = text.strip().lower()
        if low in ("1", "true", "yes"):
            return cls(True)  # type: ignore[no-any-return]
        if low in ("0", "false", "no"):
            return cls(False)  # type: ignore[no-any-return]
        raise ValueError("a boolean is true or false (or 1 or 0)")
    if issubclass(cls, IntegerValue):
        try:
            number = int(text.strip())
        except ValueError:
            raise ValueError(f"{label} needs a whole number, not {text!r}") from None
        if (cls.min is not None and number < cls.min) or (cls.max is not None and number > cls.max):
            raise ValueError(f"{number} does not fit in {label} ({cls.min} to {cls.max})")
        return cls(number)  # type: ignore[no-any-return]
    if issubclass(cls, Double):
        try:
            number_f = float(text.strip())
        except ValueError:
            raise ValueError(f"{label} needs a number, not {text!r}") from None
        if number_f != number_f or number_f in (float("inf"), float("-inf")):
            raise ValueError(f"{label} must be finite")
        return cls(number_f)  # type: ignore[no-any-return]
    if issubclass(cls, ExBigDecimal):
        try:
            dec = Decimal(text.strip())
        except InvalidOperation:
            raise ValueError(f"{label} needs a decimal number, not {text!r}") from None
        if not dec.is_finite():
            raise ValueError(f"{label} must be finite")
        return cls(dec)  # type: ignore[no-any-return]
    if issubclass(cls, DateTime):
        if parse_datetime(text) is None:
            raise ValueError(f"{label} looks like 20240131T08:09:10, not {text!r}")
        return cls(text.strip())  # type: ignore[no-any-return]
    if issubclass(cls, Base64):
        try:
            return cls(base64.b64decode(text.strip(), validate=True))  # type: ignore[no-any-return]
        except (binascii.Error, ValueError):
            raise ValueError(f"{label} needs base64 text (like aGVsbG8=)") from None
    return cls(text)  # type: ignore[no-any-return]


def convert(value: Value, tag: str) -> Value:
    """``value`` as wire type ``tag``: the same text where it parses, else the type's empty value.

    Struct and array keep their content when converted to each other (array items become
    members ``0``, ``1`` ...; members become items).
    """
    cls = ALL_TYPES[tag]
    if type(value) is cls or (isinstance(value, WideI4 | WideInt) and value.tag == tag):
        return value
    if issubclass(cls, Array) and isinstance(value, Struct):
        return Array(value.values())
    if issubclass(cls, Struct) and isinstance(value, Array):
        return Struct({str(i): v for i, v in enumerate(value)})
    if isinstance(value, Struct | Array) or issubclass(cls, Struct | Array):
        return default_value(tag)
    try:
        return parse_scalar(tag, edit_text(value), like=value)
    except ValueError:
        return default_value(tag)


def get_at(root: Array, path: PathKey) -> Value:
    """The value at ``path`` below ``root``."""
    v: Any = root
    for key in path:
        v = v[key]
    result: Value = v
    return result


def set_at(root: Array, path: PathKey, value: Value) -> None:
    """Replace the value at ``path`` (not the root)."""
    parent = get_at(root, path[:-1])
    parent[path[-1]] = value  # type: ignore[index]


def remove_at(root: Array, path: PathKey) -> None:
    """Remove the struct member or array item at ``path``."""
    parent = get_at(root, path[:-1])
    del parent[path[-1]]  # type: ignore[union-attr,arg-type]


def rename_member(root: Array, path: PathKey, new_name: str) -> None:
    """Rename the struct member at ``path``, keeping its place; ``ValueError`` if taken."""
    parent = get_at(root, path[:-1])
    if not isinstance(parent, Struct):
        raise ValueError("only struct members have names")
    old = path[-1]
    if new_name == old:
        return
    if new_name in parent:
        raise ValueError(f"the struct already has a member {new_name!r}")
    items = [(new_name if k == old else k, v) for k, v in parent.items()]
    parent.clear()
    parent.update(items)


# ---------------------------------------------------------------- replay comparison


def _value_lines(value: Value, path: str, name: str, depth: int) -> Iterator[tuple[str, str]]:
    pad = "  " * depth
    if isinstance(value, Struct):
        yield path, f"{pad}{name}: struct"
        for k, v in value.items():
            child = format_path(["x", k])[1:]
            yield from _value_lines(v, path + child, k, depth + 1)
    elif isinstance(value, Array):
        yield path, f"{pad}{name}: array ({len(value)})"
        for i, v in enumerate(value):
            yield from _value_lines(v, f"{path}[{i}]", f"[{i}]", depth + 1)
    else:
        yield path, f"{pad}{name}: {value.label} {format_scalar(value)}"


def response_lines(
    response: MethodResponse | Fault | None, error: str | None = None
) -> list[tuple[str, str]]:
    """Typed lines of a response, each with its diff path (``result[0].name``)."""
    if response is None:
        return [("", f"no response{': ' + error if error else ''}")]
    if isinstance(response, Fault):
        lines = [("fault", f"fault {response.code}: {response.string}")]
        for k, v in response.value.items():
            lines.extend(_value_lines(v, f"fault.{k}", k, 1))
        return lines
    return list(_value_lines(response.value, "result", "result", 0))


def marked_lines(lines: Sequence[tuple[str, str]], paths: Sequence[str]) -> list[tuple[str, bool]]:
    """Each line with whether it lies at or under one of the difference ``paths``."""
    out = []
    for path, text in lines:
        hit = any(
            p == ""
            or path == p
            or path.startswith((p + ".", p + "["))
            or (path == "fault" and p.startswith("fault"))
            for p in paths
        )
        out.append((text, hit))
    return out


# ---------------------------------------------------------------- calls that change state

#: Verbs that read: a method whose last name part starts with one of them only reads
#: (``getData``, ``dir.list``, ``user.isAdmin``, ``system.methodHelp``).
READING_WORDS: frozenset[str] = frozenset(
    """get list ls is has can find search read show describe count fetch lookup query check
    echo ping status stat info version exists view help method methods signature capabilities
    uname whoami""".split()  # noqa: SIM905
)

#: Words that change state on a server: any of them in the last part of a method's name
#: (``dir.create``, ``dir.remove``, ``user.add``, ``setConfig``, ``file_write``) makes the call
#: state-changing. The namespace does not count (``store.items`` only reads).
STATE_WORDS: frozenset[str] = frozenset(
    """create make new mk mkdir add insert append push put post set update upsert modify edit
    patch replace write save store upload import remove rm rmdir delete del drop destroy purge
    erase clear reset truncate unlink move mv rename copy cp touch chmod chown send submit
    publish exec execute run start stop kill restart shutdown reboot enable disable register
    unregister subscribe unsubscribe login logout lock unlock grant revoke approve reject
    cancel commit rollback apply increment decrement incr decr sync flush""".split()  # noqa: SIM905
)

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def method_words(method: str) -> list[str]:
    """The lower-case words of a method name: ``dir.createDir_2`` -> dir, create, dir, 2."""
    return [w.lower() for w in _WORD.findall(method)]


def changes_state(method: str) -> bool:
    """Could calling ``method`` again change state on the server (as far as its name tells)?

    Read-only when the last part of the name starts with a reading verb (``get``, ``list``,
    ``is`` … ``READING_WORDS``); else state-changing when any word of that part is in
    ``STATE_WORDS`` (``create``, ``remove``, ``delete``, ``write``, ``set``, ``update``,
    ``put``, ``add`` …). Other names (``multiply``, ``sample.sumAndDifference``) are not.
    A ``system.multicall`` is judged by its sub-calls' methods (the caller's job).
    """
    last = method_words(method.rsplit(".", 1)[-1])
    if last and last[0] in READING_WORDS:
        return False
    return any(w in STATE_WORDS for w in last)
