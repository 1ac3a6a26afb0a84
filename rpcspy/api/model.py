"""The API description: methods, their signatures and help, and where each fact came from.

One model for every ``rpcspy api`` tool (introspect, learn, check, diff, stub) and the TUI's API
pane; its file form is ``docs/api-format.md`` (``{"format": "rpcspy-api", "version": 1, ...}``).

A type is a ``Shape``: the union of everything seen (or declared) in one place. It holds wire
scalar types by their wire tag, as written (``i4`` and ``int`` stay two names, ``untyped`` is the
bare string), with how often each was seen, plus at most one struct alternative (its members,
each with how often it was present) and at most one array alternative (the union of its items).
So merging two shapes never loses a type: ``i4`` merged with ``nil`` is ``i4|nil``; a struct
seen with and without ``email`` keeps ``email`` as a member present sometimes.

Counts are ``0`` for facts that came from introspection only (a declared type was not seen).
``ANY`` (``Shape(any=True)``) is a type nobody knows: introspection's ``undef``, or a
signature the server did not give.

Pure: no I/O but ``load``/``save`` of a file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import orjson

__all__ = [
    "ANY",
    "FORMAT",
    "SOURCES",
    "VERSION",
    "Api",
    "ApiFormatError",
    "ArrayShape",
    "Member",
    "Method",
    "Origin",
    "Shape",
    "Signature",
    "StructShape",
    "add_api",
    "api_from_json",
    "api_source",
    "api_table",
    "api_to_json",
    "canonical",
    "declared_shape",
    "load",
    "merge_apis",
    "method_signatures",
    "save",
    "shape_from_json",
    "shape_of",
    "shape_text",
    "shape_to_json",
    "signature_text",
    "value_shape",
]

FORMAT: Final = "rpcspy-api"
VERSION: Final = 1

#: Where a fact came from.
Origin = Literal["introspection", "traffic"]
SOURCES: Final[tuple[Origin, ...]] = ("introspection", "traffic")

#: Wire tags that name the same kind of value, for comparing a call against a declared type:
#: ``int`` and ``i4`` are one kind, as are the bare string and ``string``. Tags not listed are
#: their own kind.
_KIND: Final[dict[str, str]] = {
    "i4": "int",
    "int": "int",
    "untyped": "string",
    "string": "string",
    "ex:nil": "nil",
    "nil": "nil",
    "ex:i8": "i8",
    "i8": "i8",
    "ex:dateTime": "dateTime.iso8601",
    "dateTime.iso8601": "dateTime.iso8601",
    "ex:float": "double",
    "double": "double",
}

#: Introspection's spellings (``system.methodSignature``) that are not wire tags.
_DECLARED: Final[dict[str, str]] = {
    "integer": "int",
    "i4": "int",
    "bool": "boolean",
    "float": "double",
    "datetime": "dateTime.iso8601",
    "dateTime": "dateTime.iso8601",
    "date": "dateTime.iso8601",
    "str": "string",
    "binary": "base64",
    "none": "nil",
    "null": "nil",
    "void": "nil",
    "list": "array",
    "dict": "struct",
    "map": "struct",
}

#: Introspection's words for "any type".
_UNKNOWN_DECLARED: Final = frozenset({"undef", "any", "mixed", "", "unknown", "value"})


def canonical(tag: str) -> str:
    """The kind a wire tag belongs to (``i4`` -> ``int``, ``untyped`` -> ``string``)."""
    return _KIND.get(tag, tag)


class ApiFormatError(ValueError):
    """An API file that is not a readable ``rpcspy-api`` document; the message says where."""


@dataclass
class Member:
    """One struct member: its type, and how many of the struct's occurrences had it."""

    shape: Shape
    seen: int = 0


@dataclass
class StructShape:
    """The struct alternative of a shape. ``count``: structs seen; a member whose ``seen`` equals
    ``count`` was always present (for declared structs both stay 0 and nothing is known)."""

    count: int = 0
    members: dict[str, Member] = field(default_factory=dict)

    def always(self, name: str) -> bool:
        """Whether every struct seen had the member (False when none was seen)."""
        member = self.members.get(name)
        return member is not None and self.count > 0 and member.seen == self.count


@dataclass
class ArrayShape:
    """The array alternative of a shape: ``count`` arrays seen; ``items`` the union of their
    items (``None`` when every array seen was empty, or the item type was never declared)."""

    count: int = 0
    items: Shape | None = None


@dataclass
class Shape:
    """A union of types seen or declared in one place (a param, a result, a member)."""

    scalars: dict[str, int] = field(default_factory=dict)
    struct: StructShape | None = None
    array: ArrayShape | None = None
    any: bool = False

    @property
    def empty(self) -> bool:
        return not self.scalars and self.struct is None and self.array is None and not self.any

    @property
    def count(self) -> int:
        """How many values this shape was learned from."""
        total = sum(self.scalars.values())
        total += self.struct.count if self.struct else 0
        total += self.array.count if self.array else 0
        return total

    def kinds(self) -> set[str]:
        """The canonical kinds in the union (``struct`` and ``array`` included)."""
        out = {canonical(tag) for tag in self.scalars}
        if self.struct is not None:
            out.add("struct")
        if self.array is not None:
            out.add("array")
        return out

    def merge(self, other: Shape, times: int = 1) -> Shape:
        """Merge ``other`` into this shape (in place) and return it; ``times``: as if merged that
        many times (every count of ``other`` multiplied)."""
        self.any = self.any or other.any
        for tag, n in other.scalars.items():
            self.scalars[tag] = self.scalars.get(tag, 0) + n * times
        if other.struct is not None:
            if self.struct is None:
                self.struct = StructShape()
            mine = self.struct
            mine.count += other.struct.count * times
            for name, member in other.struct.members.items():
                have = mine.members.get(name)
                if have is None:
                    shape = Shape().merge(member.shape, times)
                    mine.members[name] = Member(shape, member.seen * times)
                else:
                    have.shape.merge(member.shape, times)
                    have.seen += member.seen * times
        if other.array is not None:
            if self.array is None:
                self.array = ArrayShape()
            self.array.count += other.array.count * times
            if other.array.items is not None:
                if self.array.items is None:
                    self.array.items = Shape()
                self.array.items.merge(other.array.items, times)
        return self


def _copy(shape: Shape) -> Shape:
    return Shape().merge(shape)


ANY: Final = Shape(any=True)


@dataclass
class Signature:
    """One declared signature (``system.methodSignature``): result and param types."""

    params: list[Shape]
    result: Shape


@dataclass
class Method:
    """Everything known of one method.

    ``signatures`` are declared (introspection). ``params`` (one shape per position), ``arity``
    (param count -> calls), ``result`` and ``faults`` (fault code -> count) are learned from
    traffic; ``calls`` counts the calls seen (multicall sub-calls included). ``sources`` says
    where the facts came from.
    """

    name: str
    help: str | None = None
    signatures: list[Signature] = field(default_factory=list)
    params: list[Shape] = field(default_factory=list)
    arity: dict[int, int] = field(default_factory=dict)
    result: Shape | None = None
    faults: dict[int, int] = field(default_factory=dict)
    calls: int = 0
    answered: int = 0
    sources: set[Origin] = field(default_factory=set)

    @property
    def fault_count(self) -> int:
        return sum(self.faults.values())

    @property
    def fault_rate(self) -> float:
        """Faults over answered calls (0.0 when none was answered)."""
        return self.fault_count / self.answered if self.answered else 0.0


@dataclass
class Api:
    """The whole description: methods by name, and the sources it was made from
    (``{"kind": "introspection", "url": ...}``, ``{"kind": "traffic", "capture": ...,
    "calls": n}``), in the order they were added."""

    methods: dict[str, Method] = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)

    def method(self, name: str) -> Method:
        """The method called ``name``, added empty when new."""
        found = self.methods.get(name)
        if found is None:
            found = self.methods[name] = Method(name)
        return found


def api_source(kind: str, **facts: Any) -> dict[str, Any]:
    """One entry of ``Api.sources``: ``api_source("traffic", capture="a.jsonl", calls=3)`` is
    ``{"kind": "traffic", "capture": "a.jsonl", "calls": 3}``."""
    return {"kind": kind, **facts}


# ---------------------------------------------------------------- shapes of values


def shape_of(value: object) -> Shape:
    """The shape of one value in the capture's JSON form (``{"i4": 5}``, ``{"struct": {...}}``;
    ``rpcspy.xmlrpc.jsonform``), counted once. A value not in that form is ``ANY``."""
    if not isinstance(value, dict) or len(value) != 1:
        return Shape(any=True)
    ((tag, payload),) = value.items()
    if tag == "struct" and isinstance(payload, dict):
        members = {name: Member(shape_of(item), 1) for name, item in payload.items()}
        return Shape(struct=StructShape(1, members))
    if tag == "array" and isinstance(payload, list):
        items: Shape | None = None
        for item in payload:
            if items is None:
                items = shape_of(item)
            else:
                items.merge(shape_of(item))
        return Shape(array=ArrayShape(1, items))
    if tag == "raw" and isinstance(payload, dict):
        # An unknown type element or an unreadable value, kept as written: its element's name.
        return Shape(scalars={str(payload.get("element", "raw")): 1})
    return Shape(scalars={str(tag): 1})


def value_shape(value: object) -> Shape:
    """The shape of a typed value (``rpcspy.xmlrpc.values``), counted once."""
    from rpcspy.xmlrpc.jsonform import value_to_json

    return shape_of(value_to_json(value))  # type: ignore[arg-type]


def declared_shape(name: object) -> Shape:
    """The shape a type name from ``system.methodSignature`` declares (count 0). Unknown or
    non-string names (``undef``, a nested array...) are ``ANY``."""
    if not isinstance(name, str):
        return Shape(any=True)
    word = name.strip()
    if word in _UNKNOWN_DECLARED or word.lower() in _UNKNOWN_DECLARED:
        return Shape(any=True)
    word = _DECLARED.get(word, _DECLARED.get(word.lower(), word))
    if word == "struct":
        return Shape(struct=StructShape())
    if word == "array":
        return Shape(array=ArrayShape())
    return Shape(scalars={word: 0})


# ---------------------------------------------------------------- text


def shape_text(shape: Shape | None, *, depth: int = 2) -> str:
    """One line for a shape: ``i4|nil``, ``struct{name: string, email?: string}``,
    ``array[string]``, ``any``. Members present only sometimes get a ``?``; below ``depth``
    levels a struct is written ``struct{...}``."""
    if shape is None or shape.empty:
        return "?"
    parts: list[str] = []
    if shape.any:
        parts.append("any")
    parts.extend(sorted(shape.scalars))
    if shape.struct is not None:
        parts.append(_struct_text(shape.struct, depth))
    if shape.array is not None:
        items = shape.array.items
        parts.append("array" if items is None else f"array[{shape_text(items, depth=depth - 1)}]")
    return "|".join(parts)


def _struct_text(struct: StructShape, depth: int) -> str:
    if not struct.members:
        return "struct"
    if depth <= 0:
        return "struct{...}"
    items = []
    for name in sorted(struct.members):
        mark = "" if struct.always(name) or struct.count == 0 else "?"
        items.append(f"{name}{mark}: {shape_text(struct.members[name].shape, depth=depth - 1)}")
    return "struct{" + ", ".join(items) + "}"


def signature_text(name: str, params: Iterable[Shape], result: Shape | None) -> str:
    """``name(int, string) -> struct{...}``: a call's form in one line (``shape_text`` each)."""
    args = ", ".join(shape_text(p) for p in params)
    return f"{name}({args}) -> {shape_text(result)}"


def method_signatures(method: Method) -> list[str]:
    """A method's forms in lines: each declared signature, else what traffic showed (the
    params seen at each position), else ``name(?)`` when nothing is known."""
    if method.signatures:
        return [signature_text(method.name, s.params, s.result) for s in method.signatures]
    if method.arity or method.params:
        return [signature_text(method.name, method.params, method.result)]
    return [f"{method.name}(?)"]


def api_table(api: Api) -> list[str]:
    """The description as a table for people: each method's signatures (declared, else seen),
    calls and faults seen, and the first line of its help. Names and help come from the wire:
    escape them (``rpcspy.term.printable``) before a terminal shows them."""
    rows: list[tuple[str, str, str]] = []
    for name in sorted(api.methods):
        method = api.methods[name]
        counts = ""
        if "traffic" in method.sources:
            counts = f"{method.calls} call{'' if method.calls == 1 else 's'}"
            if method.faults:
                codes = ", ".join(str(c) for c in sorted(method.faults))
                counts += f", {method.fault_count} fault{'s' if method.fault_count != 1 else ''}"
                counts += f" ({codes})"
        help_line = (method.help or "").strip().splitlines()[0:1]
        for i, text in enumerate(method_signatures(method)):
            rows.append(
                (text, counts if i == 0 else "", help_line[0] if help_line and i == 0 else "")
            )
    if not rows:
        return ["(no methods)"]
    width = min(max(len(r[0]) for r in rows), 70)
    cwidth = max(len(r[1]) for r in rows)
    lines = []
    for sig, counts, help_text in rows:
        line = f"{sig:<{width}}"
        if cwidth:
            line += f"  {counts:<{cwidth}}"
        if help_text:
            line += f"  {help_text}"
        lines.append(line.rstrip())
    return lines


# ---------------------------------------------------------------- the file form


def shape_to_json(shape: Shape) -> dict[str, Any]:
    """A shape's JSON form (docs/api-format.md)."""
    out: dict[str, Any] = {}
    if shape.any:
        out["any"] = True
    if shape.scalars:
        out["scalars"] = dict(sorted(shape.scalars.items()))
    if shape.struct is not None:
        out["struct"] = {
            "count": shape.struct.count,
            "members": {
                name: {"seen": m.seen, "type": shape_to_json(m.shape)}
                for name, m in sorted(shape.struct.members.items())
            },
        }
    if shape.array is not None:
        array: dict[str, Any] = {"count": shape.array.count}
        if shape.array.items is not None:
            array["items"] = shape_to_json(shape.array.items)
        out["array"] = array
    return out


def _count(value: object, where: str) -> int:
    if type(value) is not int or value < 0:
        raise ApiFormatError(f"{where} should be a count (an integer >= 0), got {value!r}")
    return value


def _obj(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ApiFormatError(f"{where} should be an object, got {type(value).__name__}")
    return value


def shape_from_json(data: object, where: str = "type") -> Shape:
    """Read a shape's JSON form back; raises ``ApiFormatError`` naming the place."""
    obj = _obj(data, where)
    unknown = set(obj) - {"any", "scalars", "struct", "array"}
    if unknown:
        raise ApiFormatError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    shape = Shape(any=bool(obj.get("any", False)))
    for tag, n in _obj(obj.get("scalars", {}), f"{where}.scalars").items():
        shape.scalars[tag] = _count(n, f"{where}.scalars.{tag}")
    if "struct" in obj:
        s = _obj(obj["struct"], f"{where}.struct")
        struct = StructShape(_count(s.get("count", 0), f"{where}.struct.count"))
        for name, m in _obj(s.get("members", {}), f"{where}.struct.members").items():
            at = f"{where}.struct.members.{name}"
            member = _obj(m, at)
            struct.members[name] = Member(
                shape_from_json(member.get("type", {"any": True}), f"{at}.type"),
                _count(member.get("seen", 0), f"{at}.seen"),
            )
        shape.struct = struct
    if "array" in obj:
        a = _obj(obj["array"], f"{where}.array")
        items = a.get("items")
        shape.array = ArrayShape(
            _count(a.get("count", 0), f"{where}.array.count"),
            None if items is None else shape_from_json(items, f"{where}.array.items"),
        )
    return shape


def _method_to_json(m: Method) -> dict[str, Any]:
    out: dict[str, Any] = {"sources": [s for s in SOURCES if s in m.sources]}
    if m.help is not None:
        out["help"] = m.help
    if m.signatures:
        out["signatures"] = [
            {"params": [shape_to_json(p) for p in s.params], "result": shape_to_json(s.result)}
            for s in m.signatures
        ]
    if "traffic" in m.sources or m.calls:
        out["calls"] = m.calls
        out["answered"] = m.answered
        out["arity"] = {str(k): v for k, v in sorted(m.arity.items())}
        out["params"] = [shape_to_json(p) for p in m.params]
        if m.result is not None:
            out["result"] = shape_to_json(m.result)
        out["faults"] = {str(k): v for k, v in sorted(m.faults.items())}
    return out


def api_to_json(api: Api) -> dict[str, Any]:
    """The file form of an API description (docs/api-format.md); methods sorted by name."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "sources": list(api.sources),
        "methods": {name: _method_to_json(api.methods[name]) for name in sorted(api.methods)},
    }


def _int_keys(data: object, where: str) -> dict[int, int]:
    out: dict[int, int] = {}
    for key, n in _obj(data, where).items():
        try:
            number = int(key)
        except ValueError:
            raise ApiFormatError(f"{where} key {key!r} should be an integer") from None
        out[number] = _count(n, f"{where}.{key}")
    return out


def _method_from_json(name: str, data: object) -> Method:
    where = f"methods.{name}"
    obj = _obj(data, where)
    sources = obj.get("sources", [])
    if not isinstance(sources, list) or any(s not in SOURCES for s in sources):
        raise ApiFormatError(f"{where}.sources should list of {SOURCES}, got {sources!r}")
    help_text = obj.get("help")
    if help_text is not None and not isinstance(help_text, str):
        raise ApiFormatError(f"{where}.help should be a string")
    method = Method(name, help=help_text, sources=set(sources))
    signatures = obj.get("signatures", [])
    if not isinstance(signatures, list):
        raise ApiFormatError(f"{where}.signatures should be a list")
    for i, sig in enumerate(signatures):
        at = f"{where}.signatures[{i}]"
        s = _obj(sig, at)
        params = s.get("params", [])
        if not isinstance(params, list):
            raise ApiFormatError(f"{at}.params should be a list")
        method.signatures.append(
            Signature(
                [shape_from_json(p, f"{at}.params[{j}]") for j, p in enumerate(params)],
                shape_from_json(s.get("result", {"any": True}), f"{at}.result"),
            )
        )
    method.calls = _count(obj.get("calls", 0), f"{where}.calls")
    method.answered = _count(obj.get("answered", 0), f"{where}.answered")
    method.arity = _int_keys(obj.get("arity", {}), f"{where}.arity")
    params = obj.get("params", [])
    if not isinstance(params, list):
        raise ApiFormatError(f"{where}.params should be a list")
    method.params = [shape_from_json(p, f"{where}.params[{j}]") for j, p in enumerate(params)]
    if "result" in obj:
        method.result = shape_from_json(obj["result"], f"{where}.result")
    method.faults = _int_keys(obj.get("faults", {}), f"{where}.faults")
    return method


def api_from_json(data: object) -> Api:
    """Read the file form; raises ``ApiFormatError`` with the place and the reason."""
    obj = _obj(data, "the API file")
    if obj.get("format") != FORMAT:
        raise ApiFormatError(f"not an rpcspy API file (format is {obj.get('format')!r})")
    version = obj.get("version")
    if version != VERSION:
        raise ApiFormatError(f"API file version {version!r} is not supported (this reads 1)")
    sources = obj.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, dict) for s in sources):
        raise ApiFormatError("sources should be a list of objects")
    api = Api(sources=list(sources))
    for name, method in _obj(obj.get("methods", {}), "methods").items():
        api.methods[name] = _method_from_json(name, method)
    return api


def load(path: Path) -> Api:
    """Read an API file; ``OSError`` when it cannot be read, ``ApiFormatError`` when it is not
    an API description."""
    data = path.read_bytes()
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ApiFormatError(f"{path}: not JSON ({exc})") from None
    try:
        return api_from_json(parsed)
    except ApiFormatError as exc:
        raise ApiFormatError(f"{path}: {exc}") from None


def save(api: Api, path: Path) -> None:
    """Write an API file atomically (a temporary file beside it, then renamed)."""
    data = orjson.dumps(api_to_json(api), option=orjson.OPT_INDENT_2) + b"\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------- merging


def add_api(into: Api, other: Api, times: int = 1) -> Api:
    """Merge ``other`` into ``into`` (in place) and return it: facts unioned, counts added
    (multiplied by ``times`` first: as if ``other`` were added that many times), help and
    signatures kept from ``into`` when it has them. ``other`` is not changed."""
    into.sources.extend(other.sources)
    for name, theirs in other.methods.items():
        mine = into.method(name)
        mine.sources |= theirs.sources
        if mine.help is None:
            mine.help = theirs.help
        if not mine.signatures:
            mine.signatures = [
                Signature([_copy(p) for p in s.params], _copy(s.result)) for s in theirs.signatures
            ]
        for i, p in enumerate(theirs.params):
            if i < len(mine.params):
                mine.params[i].merge(p, times)
            else:
                mine.params.append(Shape().merge(p, times))
        for k, v in theirs.arity.items():
            mine.arity[k] = mine.arity.get(k, 0) + v * times
        if theirs.result is not None:
            if mine.result is None:
                mine.result = Shape()
            mine.result.merge(theirs.result, times)
        for k, v in theirs.faults.items():
            mine.faults[k] = mine.faults.get(k, 0) + v * times
        mine.calls += theirs.calls * times
        mine.answered += theirs.answered * times
    return into


def merge_apis(apis: Iterable[Api]) -> Api:
    """One description from several (introspected and learned ones, or learned from several
    captures): facts are unioned, counts added, help and signatures taken from the first that
    has them. The inputs are not changed."""
    out = Api()
    for api in apis:
        add_api(out, api)
    return out
