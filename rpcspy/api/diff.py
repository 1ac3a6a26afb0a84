"""Compare two API descriptions: what changed, and whether a client written for the old one breaks.

Strategy: think like the author of a client written against OLD and pointed at NEW.

- A method is *gone* when NEW does not list it (or, learned from traffic only, when every answer
  it got was fault -32601 "method not found"). Removing a method is breaking; adding one is
  compatible.
- A method's *forms* are its accepted arities with, per position, the union of types. They come
  from the declared signatures when both sides have some, else from traffic when both sides saw
  calls, else from whatever each side has. An arity OLD accepted and NEW does not is breaking:
  ``param-added`` (a required param appeared) or ``param-removed``. An arity only NEW accepts is
  compatible (``param-added`` as an optional trailing param while the old form still exists).
- Params are what the client sends: a type NEW no longer accepts at a position (narrowing) is
  breaking, a type only NEW accepts (widening) is compatible. Results are what the client gets
  back, so the rule turns round: a result type NEW may answer and OLD never did is breaking, a
  type NEW no longer answers is compatible. ``any`` is every type (widest).
- Results are compared per signature when both sides declare signatures with the same param
  types (``add(int, int)``: ``int -> double`` is breaking even though ``double`` was answered
  for other params before); otherwise the unions are compared.
- Struct members (known from traffic): a result member that was always there and is gone, or now
  only sometimes there, is breaking; a new result member is compatible. A new param member that
  every call sent is breaking (NEW callers need it; OLD callers never sent it); a param member
  gone is compatible. Members and array items are compared recursively (``result.python``,
  ``result[].name``).
- Help text changes and fault codes are reported too: a fault code answered only in NEW traffic
  is breaking (calls that worked now fail), one only in OLD is compatible. Help is compatible.

Pure: two ``Api`` in, a sorted list of ``Change`` out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from rpcspy.api.model import Api, Method, Shape, shape_text

__all__ = [
    "KINDS",
    "Change",
    "Klass",
    "diff_apis",
    "diff_to_json",
    "method_exists",
]

Klass = Literal["breaking", "compatible"]

#: Every kind of change, in the order a report lists them within a class.
KINDS: Final = (
    "method-removed",
    "method-added",
    "param-added",
    "param-removed",
    "param-type-changed",
    "result-type-changed",
    "member-removed",
    "member-optional",
    "member-added",
    "member-type-changed",
    "fault-added",
    "fault-removed",
    "help-changed",
)

#: Fault -32601, "method not found" (the spec's server error codes).
_NOT_FOUND: Final = -32601


@dataclass(frozen=True)
class Change:
    """One difference: which method, where in it (``""`` for the method itself, ``param 2``,
    ``result``, ``result.python``, ``param 1.name``, ``help``), its kind, whether it breaks a
    client of the old API, and the old and new types (as ``shape_text`` writes them)."""

    method: str
    kind: str
    klass: Klass
    where: str = ""
    old: str | None = None
    new: str | None = None
    note: str = ""

    @property
    def breaking(self) -> bool:
        return self.klass == "breaking"

    @property
    def text(self) -> str:
        """One line: ``add: result for (int, int): int -> double``."""
        if self.kind in _PLAIN:
            what = _PLAIN[self.kind]
            if self.kind == "help-changed":
                return f"{self.method}: {what}"
        else:
            what = self.where or self.kind
            if self.kind.endswith("-type-changed"):
                label = "changed"
                if not self.breaking:
                    # compatible: a param (or param member) accepts more, a result answers less
                    label = "widened" if self.where.startswith("param") else "narrowed"
            else:
                label = _KIND_WORDS.get(self.kind, "")
            if label:
                what = f"{what} {label}"
        if self.note:
            what = f"{what} {self.note}"
        old, new = _short(self.old), _short(self.new)
        if old is not None and new is not None:
            return f"{self.method}: {what}: {old} -> {new}"
        if new is not None:
            return f"{self.method}: {what}: {new}"
        if old is not None:
            return f"{self.method}: {what} (was {old})"
        return f"{self.method}: {what}"

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "kind": self.kind,
            "class": self.klass,
            "where": self.where,
            "old": self.old,
            "new": self.new,
            "text": self.text,
        }


_PLAIN: Final = {
    "method-removed": "method removed",
    "method-added": "method added",
    "help-changed": "help changed",
}

_KIND_WORDS: Final = {
    "param-added": "added",
    "param-removed": "removed",
    "member-added": "added",
    "member-removed": "removed",
    "member-optional": "now optional",
    "fault-added": "now answered",
    "fault-removed": "no longer answered",
}

Role = Literal["param", "result"]


def _short(text: str | None, limit: int = 100) -> str | None:
    """A long type or signature list cut for one line (the JSON form keeps it whole)."""
    if text is None or len(text) <= limit:
        return text
    forms = text.split("; ")
    if len(forms) > 1 and len(forms[0]) < limit:
        return f"{forms[0]}; ... ({len(forms)} signatures)"
    return text[: limit - 3] + "..."


def _klass(breaking: bool) -> Klass:
    return "breaking" if breaking else "compatible"


# ---------------------------------------------------------------- forms of a method


@dataclass
class _Forms:
    """What a method accepts and answers, from one basis (signatures or traffic)."""

    arities: dict[int, list[Shape]] = field(default_factory=dict)
    #: Result per declared param kinds (signatures only): ``(("int",), ("int",))`` -> shape.
    keyed: dict[tuple[tuple[str, ...], ...], Shape] = field(default_factory=dict)
    result: Shape | None = None


def _kinds_key(shape: Shape) -> tuple[str, ...]:
    return ("any",) if shape.any else tuple(sorted(shape.kinds()))


def _declared_forms(method: Method) -> _Forms:
    forms = _Forms()
    for sig in method.signatures:
        n = len(sig.params)
        have = forms.arities.get(n)
        if have is None:
            forms.arities[n] = [Shape().merge(p) for p in sig.params]
        else:
            for i, p in enumerate(sig.params):
                have[i].merge(p)
        key = tuple(_kinds_key(p) for p in sig.params)
        known = forms.keyed.get(key)
        forms.keyed[key] = Shape().merge(sig.result) if known is None else known.merge(sig.result)
        if forms.result is None:
            forms.result = Shape()
        forms.result.merge(sig.result)
    return forms


def _learned_forms(method: Method) -> _Forms:
    forms = _Forms(result=method.result)
    for n in method.arity:
        forms.arities[n] = [method.params[i] for i in range(min(n, len(method.params)))]
    return forms


def _declares(method: Method) -> bool:
    return bool(method.signatures)


def _saw(method: Method) -> bool:
    return method.calls > 0


def method_exists(method: Method) -> bool:
    """Whether a description says the method exists: declared or introspected, or called with
    at least one answer that was not fault -32601 (or no answer at all)."""
    if method.signatures or method.help is not None or "introspection" in method.sources:
        return True
    if method.calls == 0:
        return False
    return not method.answered or method.faults.get(_NOT_FOUND, 0) < method.answered


# ---------------------------------------------------------------- shapes


class _Out:
    """The changes of one method, without duplicates (several arities share positions)."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.changes: list[Change] = []
        self._seen: set[tuple[str, str, str | None, str | None]] = set()

    def add(
        self,
        kind: str,
        breaking: bool,
        where: str = "",
        old: str | None = None,
        new: str | None = None,
        note: str = "",
    ) -> None:
        key = (kind, where, old, new)
        if key in self._seen:
            return
        self._seen.add(key)
        self.changes.append(Change(self.method, kind, _klass(breaking), where, old, new, note))


def _type_kind(role: Role, where: str) -> str:
    return "member-type-changed" if "." in where else f"{role}-type-changed"


def _compare_shape(
    old: Shape, new: Shape, role: Role, where: str, out: _Out, *, note: str = ""
) -> None:
    if old.empty or new.empty:
        return  # nothing known on one side: nothing to compare
    if old.any or new.any:
        if old.any != new.any:
            # any is the widest type: a param becoming any widens, a result becoming any may
            # now be anything.
            breaking = old.any if role == "param" else new.any
            out.add(
                _type_kind(role, where), breaking, where, shape_text(old), shape_text(new), note
            )
        return
    before, after = old.kinds(), new.kinds()
    if before != after:
        # A param no longer accepting a type breaks callers; a result answering a new type
        # breaks readers.
        breaking = bool(before - after) if role == "param" else bool(after - before)
        out.add(_type_kind(role, where), breaking, where, shape_text(old), shape_text(new), note)
    if old.struct is not None and new.struct is not None:
        _compare_members(old, new, role, where, out)
    a, b = old.array, new.array
    if a is not None and b is not None and a.items is not None and b.items is not None:
        _compare_shape(a.items, b.items, role, f"{where}[]", out)


def _compare_members(old: Shape, new: Shape, role: Role, where: str, out: _Out) -> None:
    a, b = old.struct, new.struct
    assert a is not None and b is not None
    if not a.members or not b.members or a.count == 0 or b.count == 0:
        return  # declared structs: their members are unknown
    for name in sorted(a.members.keys() - b.members.keys()):
        breaking = role == "result" and a.always(name)
        member = a.members[name].shape
        out.add("member-removed", breaking, f"{where}.{name}", old=shape_text(member))
    for name in sorted(b.members.keys() - a.members.keys()):
        breaking = role == "param" and b.always(name)
        member = b.members[name].shape
        out.add("member-added", breaking, f"{where}.{name}", new=shape_text(member))
    for name in sorted(a.members.keys() & b.members.keys()):
        at = f"{where}.{name}"
        if role == "result" and a.always(name) and not b.always(name):
            out.add("member-optional", True, at)
        _compare_shape(a.members[name].shape, b.members[name].shape, role, at, out)


# ---------------------------------------------------------------- forms


def _params_text(shapes: Iterable[Shape]) -> str:
    return "(" + _types_text(shapes) + ")"


def _types_text(shapes: Iterable[Shape]) -> str:
    return ", ".join(shape_text(s, depth=1) for s in shapes)


def _key_text(key: tuple[tuple[str, ...], ...]) -> str:
    return "(" + ", ".join("|".join(k) for k in key) + ")"


def _positions(first: int, last: int) -> str:
    return f"param {first}" if first == last else f"params {first}-{last}"


def _compare_forms(old: _Forms, new: _Forms, out: _Out) -> None:
    old_n, new_n = set(old.arities), set(new.arities)
    if old_n and new_n:
        for n in sorted(old_n - new_n):
            longer = [m for m in new_n if m > n]
            if longer:
                m = min(longer)
                where = _positions(n + 1, m)
                added = new.arities[m][n:m]
                out.add("param-added", True, where, new=_types_text(added), note="(required)")
            else:
                m = max(new_n)
                where = _positions(m + 1, n)
                out.add("param-removed", True, where, old=_types_text(old.arities[n][m:n]))
        for m in sorted(new_n - old_n):
            shorter = [n for n in old_n if n < m]
            if shorter:
                n = max(shorter)
                where = _positions(n + 1, m)
                added = new.arities[m][n:m]
                out.add("param-added", False, where, new=_types_text(added), note="(optional)")
            else:
                n = min(old_n)
                where = _positions(m + 1, n)
                removed = old.arities[n][m:n]
                out.add("param-removed", False, where, old=_types_text(removed), note="(optional)")
        for n in sorted(old_n & new_n):
            for i, (a, b) in enumerate(zip(old.arities[n], new.arities[n], strict=False)):
                _compare_shape(a, b, "param", f"param {i + 1}", out)
    common = sorted(old.keyed.keys() & new.keyed.keys())
    if common:
        for key in common:
            note = f"for {_key_text(key)}" if key else ""
            _compare_shape(old.keyed[key], new.keyed[key], "result", "result", out, note=note)
    elif old.result is not None and new.result is not None:
        _compare_shape(old.result, new.result, "result", "result", out)


def _signature_text(method: Method) -> str:
    """How a method is called: its declared signatures, else what traffic showed."""
    if method.signatures:
        texts = [
            f"{_params_text(s.params)} -> {shape_text(s.result, depth=1)}"
            for s in method.signatures
        ]
        return "; ".join(texts)
    if method.arity:
        forms = _learned_forms(method)
        texts = [f"{_params_text(forms.arities[n])}" for n in sorted(forms.arities)]
        if method.result is not None:
            return "; ".join(texts) + f" -> {shape_text(method.result, depth=1)}"
        return "; ".join(texts)
    return "(?)"


def _compare_method(old: Method, new: Method) -> list[Change]:
    out = _Out(old.name)
    if _declares(old) and _declares(new):
        _compare_forms(_declared_forms(old), _declared_forms(new), out)
        if _saw(old) and _saw(new):
            # declared structs carry no members: traffic tells them
            if old.result is not None and new.result is not None:
                _compare_structs_only(old.result, new.result, "result", "result", out)
            for i, (a, b) in enumerate(zip(old.params, new.params, strict=False)):
                _compare_structs_only(a, b, "param", f"param {i + 1}", out)
    elif _saw(old) and _saw(new):
        _compare_forms(_learned_forms(old), _learned_forms(new), out)
    else:
        before = _declared_forms(old) if _declares(old) else _learned_forms(old)
        after = _declared_forms(new) if _declares(new) else _learned_forms(new)
        _compare_forms(before, after, out)
    if _saw(old) and _saw(new):
        for code in sorted(new.faults.keys() - old.faults.keys()):
            out.add("fault-added", True, "faults", new=str(code))
        for code in sorted(old.faults.keys() - new.faults.keys()):
            out.add("fault-removed", False, "faults", old=str(code))
    if old.help is not None and new.help is not None and old.help.strip() != new.help.strip():
        out.add("help-changed", False, "help", _first_line(old.help), _first_line(new.help))
    return out.changes


def _compare_structs_only(old: Shape, new: Shape, role: Role, where: str, out: _Out) -> None:
    """Member changes only (types are the declared signatures' business)."""
    if old.struct is not None and new.struct is not None:
        _compare_members(old, new, role, where, out)
    a, b = old.array, new.array
    if a is not None and b is not None and a.items is not None and b.items is not None:
        _compare_structs_only(a.items, b.items, role, f"{where}[]", out)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 80 else line[:77] + "..."


# ---------------------------------------------------------------- the whole API


def diff_apis(old: Api, new: Api) -> list[Change]:
    """Every change from ``old`` to ``new``: breaking ones first, then by method and kind."""
    changes: list[Change] = []
    before = {name for name, m in old.methods.items() if method_exists(m)}
    after = {name for name, m in new.methods.items() if method_exists(m)}
    for name in before - after:
        changes.append(
            Change(name, "method-removed", "breaking", old=_signature_text(old.methods[name]))
        )
    for name in after - before:
        changes.append(
            Change(name, "method-added", "compatible", new=_signature_text(new.methods[name]))
        )
    for name in before & after:
        changes.extend(_compare_method(old.methods[name], new.methods[name]))
    order = {kind: i for i, kind in enumerate(KINDS)}
    changes.sort(key=lambda c: (not c.breaking, c.method, order.get(c.kind, 99), c.where))
    return changes


def diff_to_json(
    changes: list[Change], *, old: str | None = None, new: str | None = None
) -> dict[str, Any]:
    """The ``--json`` form of a diff (docs/api.md)."""
    breaking = sum(1 for c in changes if c.breaking)
    return {
        "format": "rpcspy-api-diff",
        "version": 1,
        "old": old,
        "new": new,
        "breaking": breaking,
        "compatible": len(changes) - breaking,
        "changes": [c.to_json() for c in changes],
    }
