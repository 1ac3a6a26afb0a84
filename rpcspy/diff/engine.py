"""The structural diff: walk two values side by side and report path-addressed differences.

The walk uses an explicit stack (values may nest deeper than Python's recursion limit) and
reports differences in document order: struct members in the old value's order with removed
members in place and added ones after, array items in order.

Array indices in paths are positions in the *old* array, except for an ``added`` item, whose
last index is its position in the new array (``result.tags[2]: added string "x"``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from difflib import SequenceMatcher
from typing import Final

from rpcspy.diff.array_align import Fingerprints, Op, pair_runs
from rpcspy.diff.difference import Difference, Kind, Side
from rpcspy.diff.matcher import CompiledRules, State, compile_rules
from rpcspy.diff.paths import Segment, format_path, parse_path
from rpcspy.diff.rules import DEFAULT_RULES, Rules
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.values import Array, Double, Int, String, Struct, UntypedString, Value

__all__ = [
    "Response",
    "diff_calls",
    "diff_responses",
    "diff_values",
    "fault_struct",
    "values_equal",
]

#: What a call got back: a result, a fault, or nothing (the call failed below XML-RPC).
Response = MethodResponse | Fault | None

#: A path as a chain of (parent, segment) links, built only as deep as the walk goes.
Link = tuple["Link", Segment] | None

_Relabel = Callable[[Link, Kind, Side, Side], Kind]

_STRINGS: Final = (String, UntypedString)
#: Below this depth, equality checks switch from == to memoised fingerprints (see _Walker.same).
_EQ_DEPTH: Final = 32
_FAULT_LINK: Final[Link] = (None, "fault")


class _Pair:
    __slots__ = ("depth", "link", "new", "old", "state")

    def __init__(self, old: Value, new: Value, link: Link, state: State, depth: int) -> None:
        self.old = old
        self.new = new
        self.link = link
        self.state = state
        self.depth = depth


class _Emit:
    __slots__ = ("kind", "link", "new", "old", "state")

    def __init__(self, link: Link, state: State, kind: Kind, old: Side, new: Side) -> None:
        self.link = link
        self.state = state
        self.kind = kind
        self.old = old
        self.new = new


def _render(link: Link) -> str:
    segs: list[Segment] = []
    while link is not None:
        link, seg = link
        segs.append(seg)
    segs.reverse()
    return format_path(segs)


def values_equal(a: Value, b: Value) -> bool:
    """Typed equality, as ``==``, but never raising: it copes with values nested deeper than the
    recursion limit, and compares signalling NaN decimals by their text (``==`` raises on them).
    """
    try:
        return a == b
    except (RecursionError, InvalidOperation):
        pass
    stack: list[tuple[Value, Value]] = [(a, b)]
    while stack:
        x, y = stack.pop()
        if x is y:
            continue
        if type(x) is not type(y):
            return False
        if isinstance(x, Struct) and isinstance(y, Struct):
            if x.keys() != y.keys():
                return False
            stack.extend((v, y[k]) for k, v in x.items())
        elif isinstance(x, Array) and isinstance(y, Array):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif isinstance(x, Decimal) and isinstance(y, Decimal) and (x.is_nan() or y.is_nan()):
            if str(x) != str(y):
                return False
        elif x != y:
            return False
    return True


def _same(a: Value, b: Value) -> bool:
    return a is b or (type(a) is type(b) and values_equal(a, b))


def _compare(a: Value, b: Value, tolerance: float) -> Kind | None:
    """The kind of difference between two values that are not both structs or both arrays."""
    ta, tb = type(a), type(b)
    if ta is not tb:
        if ta in _STRINGS and tb in _STRINGS:
            return "untyped" if str.__eq__(str(a), str(b)) else "changed"
        return "type"
    if isinstance(a, Double) and isinstance(b, Double):
        fa, fb = float(a), float(b)
        # Two NaNs read the same, so they are no difference even though NaN != NaN.
        if fa == fb or (fa != fa and fb != fb):
            return None
        return None if tolerance > 0 and abs(fa - fb) <= tolerance else "changed"
    if isinstance(a, Decimal) and isinstance(b, Decimal) and (a.is_nan() or b.is_nan()):
        # Comparing a signalling NaN raises, so NaNs are compared by their text.
        return None if str(a) == str(b) else "changed"
    return None if a == b else "changed"


class _Walker:
    """One diff: the compiled rules, the output list and the array fingerprints."""

    def __init__(
        self, rules: CompiledRules, method: str | None, relabel: _Relabel | None = None
    ) -> None:
        self.rules = rules
        self.method = method
        self.relabel = relabel
        self.out: list[Difference] = []
        self._fp: Fingerprints | None = None

    @property
    def fp(self) -> Fingerprints:
        if self._fp is None:
            self._fp = Fingerprints(self.rules)
        return self._fp

    def emit(self, link: Link, state: State, kind: Kind, old: Side, new: Side) -> None:
        info = self.rules.info(state)
        if info.ignored:
            return
        if self.relabel is not None:
            kind = self.relabel(link, kind, old, new)
        if kind in info.kinds:
            return
        self.out.append(Difference(_render(link), kind, old, new, self.method))

    def same(self, a: Value, b: Value, depth: int) -> bool:
        """Whether two values at ``depth`` are equal, cheaply enough to ask at every level.

        Near the top ``==`` is fastest. Deeper down, asking ``==`` at every level of a long
        chain would walk the chain once per level, so the memoised fingerprints answer instead.
        """
        if a is b:
            return True
        if type(a) is not type(b):
            return False
        if depth < _EQ_DEPTH or not isinstance(a, Struct | Array):
            return values_equal(a, b)
        return self.fp.exact(a) == self.fp.exact(b)

    def walk(self, old: Value, new: Value, link: Link, state: State) -> None:
        stack: list[_Pair | _Emit] = [_Pair(old, new, link, state, 0)]
        rules = self.rules
        while stack:
            item = stack.pop()
            if isinstance(item, _Emit):
                self.emit(item.link, item.state, item.kind, item.old, item.new)
                continue
            a, b = item.old, item.new
            if a is b:
                continue
            info = rules.info(item.state)
            if info.ignored:
                continue
            if isinstance(a, Struct) and isinstance(b, Struct):
                self._struct(a, b, item, stack)
            elif isinstance(a, Array) and isinstance(b, Array):
                self._array(a, b, item, stack)
            else:
                kind = _compare(a, b, info.tolerance)
                if kind is not None:
                    self.emit(item.link, item.state, kind, a, b)

    def _struct(self, a: Struct, b: Struct, at: _Pair, stack: list[_Pair | _Emit]) -> None:
        link, state, depth = at.link, at.state, at.depth + 1
        step = self.rules.step
        work: list[_Pair | _Emit] = []
        for k, va in a.items():
            if k in b:
                vb = b[k]
                # Equal members (the common case) are skipped at the speed of ==.
                if self.same(va, vb, depth):
                    continue
                work.append(_Pair(va, vb, (link, k), step(state, k), depth))
            else:
                work.append(_Emit((link, k), step(state, k), "removed", va, None))
        for k, vb in b.items():
            if k not in a:
                work.append(_Emit((link, k), step(state, k), "added", None, vb))
        stack.extend(reversed(work))

    def _array(self, a: Array, b: Array, at: _Pair, stack: list[_Pair | _Emit]) -> None:
        link, state, depth = at.link, at.state, at.depth + 1
        n, m = len(a), len(b)
        # Common ends first: cheap, and it leaves the aligner only the part that changed.
        lo, top = 0, min(n, m)
        while lo < top and self.same(a[lo], b[lo], depth):
            lo += 1
        ha, hb = n, m
        while ha > lo and hb > lo and self.same(a[ha - 1], b[hb - 1], depth):
            ha, hb = ha - 1, hb - 1
        ops: list[Op]
        if lo == ha:
            ops = [("added", j) for j in range(lo, hb)]
        elif lo == hb:
            ops = [("removed", i) for i in range(lo, ha)]
        elif ha - lo == 1 and hb - lo == 1:
            ops = [("pair", lo, lo)]
        else:
            ops = self._align(a, b, lo, ha, hb, state, depth)
        step = self.rules.step
        work: list[_Pair | _Emit] = []
        for op in ops:
            if op[0] == "pair":
                i, j = op[1], op[2]
                work.append(_Pair(a[i], b[j], (link, i), step(state, i), depth))
            elif op[0] == "removed":
                i = op[1]
                work.append(_Emit((link, i), step(state, i), "removed", a[i], None))
            else:
                j = op[1]
                work.append(_Emit((link, j), step(state, j), "added", None, b[j]))
        stack.extend(reversed(work))

    def _align(
        self, a: Array, b: Array, lo: int, ha: int, hb: int, state: State, depth: int
    ) -> list[Op]:
        fp = self.fp
        lossy = self.rules.info(state).lossy
        step = self.rules.step
        if lossy:
            fa = [fp.masked(a[i], step(state, i)) for i in range(lo, ha)]
            fb = [fp.masked(b[j], step(state, j)) for j in range(lo, hb)]
        else:
            fa = [fp.exact(v) for v in a[lo:ha]]
            fb = [fp.exact(v) for v in b[lo:hb]]
        ops: list[Op] = []
        matcher = SequenceMatcher(None, fa, fb, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                # Exact fingerprints prove equality; masked ones only guide, so check the pair.
                if lossy:
                    ops.extend(
                        ("pair", lo + i1 + k, lo + j1 + k)
                        for k in range(i2 - i1)
                        if not self.same(a[lo + i1 + k], b[lo + j1 + k], depth)
                    )
            elif tag == "delete":
                ops.extend(("removed", lo + i) for i in range(i1, i2))
            elif tag == "insert":
                ops.extend(("added", lo + j) for j in range(j1, j2))
            else:
                for op in pair_runs(fa[i1:i2], fb[j1:j2], fp.similarity):
                    if op[0] == "pair":
                        ops.append(("pair", lo + i1 + op[1], lo + j1 + op[2]))
                    elif op[0] == "removed":
                        ops.append(("removed", lo + i1 + op[1]))
                    else:
                        ops.append(("added", lo + j1 + op[1]))
        return ops


def _start(rules: CompiledRules, segments: tuple[Segment, ...]) -> tuple[Link, State]:
    link: Link = None
    state = rules.start
    for seg in segments:
        link = (link, seg)
        state = rules.step(state, seg)
    return link, state


def diff_values(
    old: Value,
    new: Value,
    *,
    path: str = "result",
    rules: Rules | None = None,
    method: str | None = None,
) -> list[Difference]:
    """The differences between two values, with paths starting at ``path``.

    ``method`` picks the method-specific rules; without it only rules for every method (``*``)
    apply. An empty list means the values are equal (typed equality; doubles within the rules'
    tolerance; two NaNs count as equal).
    """
    compiled = compile_rules(rules or DEFAULT_RULES, method)
    if compiled.skip_method:
        return []
    if _same(old, new):
        return []
    walker = _Walker(compiled, method)
    link, state = _start(compiled, parse_path(path))
    walker.walk(old, new, link, state)
    return walker.out


def _side(response: MethodResponse | Fault) -> Side:
    return response if isinstance(response, Fault) else response.value


def fault_struct(fault: Fault) -> Struct:
    """The fault's struct, with the two standard members filled in from the record if missing."""
    struct = Struct(fault.value)
    struct.setdefault("faultCode", Int(fault.code))
    struct.setdefault("faultString", String(fault.string))
    return struct


def _fault_relabel(link: Link, kind: Kind, old: Side, new: Side) -> Kind:
    if kind not in ("changed", "type") or link is None or link[0] != _FAULT_LINK:
        return kind
    seg = link[1]
    if seg == "faultCode" and isinstance(old, int) and isinstance(new, int):
        return "fault_code" if int(old) != int(new) else kind
    if seg == "faultString" and isinstance(old, str) and isinstance(new, str):
        return "fault_string" if not str.__eq__(str(old), str(new)) else kind
    return kind


def diff_responses(
    old: Response, new: Response, *, method: str, rules: Rules | None = None
) -> list[Difference]:
    """The differences between two responses to ``method``.

    Results are compared under ``result``; two faults under ``fault`` (``fault.faultCode`` changes
    are ``fault_code``, ``fault.faultString`` changes ``fault_string``, extra members compared as
    values); a result against a fault is one ``fault`` difference and a missing response one
    ``response`` difference, both with an empty path.
    """
    compiled = compile_rules(rules or DEFAULT_RULES, method)
    if compiled.skip_method or (old is None and new is None):
        return []
    walker = _Walker(compiled, method)
    if old is None or new is None:
        walker.emit(
            None,
            compiled.start,
            "response",
            None if old is None else _side(old),
            None if new is None else _side(new),
        )
    elif isinstance(old, MethodResponse) and isinstance(new, MethodResponse):
        if _same(old.value, new.value):
            return []
        link, state = _start(compiled, ("result",))
        walker.walk(old.value, new.value, link, state)
    elif isinstance(old, Fault) and isinstance(new, Fault):
        walker.relabel = _fault_relabel
        link, state = _start(compiled, ("fault",))
        walker.walk(fault_struct(old), fault_struct(new), link, state)
    else:
        walker.emit(None, compiled.start, "fault", _side(old), _side(new))
    return walker.out


def diff_calls(old: MethodCall, new: MethodCall, *, rules: Rules | None = None) -> list[Difference]:
    """The differences between two calls: the method name, then the params (``params[0]`` ...).

    Rules are those of the old call's method. Params are aligned like array items, so one
    inserted param is one ``added``.
    """
    compiled = compile_rules(rules or DEFAULT_RULES, old.method)
    if compiled.skip_method:
        return []
    walker = _Walker(compiled, old.method)
    if old.method != new.method:
        link, state = _start(compiled, ("method",))
        walker.emit(link, state, "method", String(old.method), String(new.method))
    link, state = _start(compiled, ("params",))
    walker.walk(Array(old.params), Array(new.params), link, state)
    return walker.out
