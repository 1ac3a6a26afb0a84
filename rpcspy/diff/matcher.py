"""Rules compiled for one method: which rules apply at each node of a walk, one segment at a time.

All path globs of the method's rules run together as one small NFA whose state is carried down
the value tree, so checking a node costs a dictionary look-up, not a glob match per rule. A glob
that has matched stays matched below (rules apply at and below their path), and a state with no
live globs is empty, which keeps the common no-rules case cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from rpcspy.diff.difference import Kind
from rpcspy.diff.paths import GlobSegment, Segment, parse_glob
from rpcspy.diff.rules import Rules, method_matches

__all__ = ["CompiledRules", "NodeRules", "State", "compile_rules"]

#: Live (glob index, position in glob) pairs; empty when no glob can match here or below.
State = frozenset[tuple[int, int]]

_EMPTY: Final[State] = frozenset()
_MEMO_MAX = 200_000


@dataclass(frozen=True, slots=True)
class NodeRules:
    """What the rules say about one node: dropped entirely, kinds dropped, double tolerance."""

    ignored: bool
    kinds: frozenset[Kind]
    tolerance: float
    #: Whether a rule may bend equality here or below (array alignment then masks fingerprints).
    lossy: bool


@dataclass(frozen=True, slots=True)
class _Action:
    ignore_kinds: frozenset[Kind] | None  # for an ignore glob: None drops everything
    tolerance: float | None  # for a tolerance glob
    order: int  # position among the tolerance rules; later wins


class CompiledRules:
    """The rules for one method, ready to follow a walk (see ``compile_rules``)."""

    def __init__(self, rules: Rules, method: str | None) -> None:
        self.skip_method = rules.ignores_method(method)
        globs: list[tuple[GlobSegment, ...]] = []
        actions: list[_Action] = []
        base_kinds: set[Kind] = set()
        base_tolerance = 0.0
        for rule in rules.ignore:
            if not method_matches(rule.method, method) or rule.whole_method:
                continue
            if rule.path is None:
                assert rule.kinds is not None  # whole-method rules were skipped above
                base_kinds |= rule.kinds
            else:
                globs.append(parse_glob(rule.path).segments)
                actions.append(_Action(rule.kinds, None, -1))
        for order, tol in enumerate(rules.tolerances):
            if not method_matches(tol.method, method):
                continue
            if tol.path is None:
                base_tolerance = tol.double
            else:
                globs.append(parse_glob(tol.path).segments)
                actions.append(_Action(None, tol.double, order))
        self._globs = globs
        self._actions = actions
        self._base = NodeRules(
            ignored=False,
            kinds=frozenset(base_kinds),
            tolerance=base_tolerance,
            lossy=bool(base_kinds) or base_tolerance > 0,
        )
        self.start: State = self._closure({(g, 0) for g in range(len(globs))})
        self._steps: dict[tuple[State, Segment], State] = {}
        self._infos: dict[State, NodeRules] = {_EMPTY: self._base}

    def _closure(self, states: set[tuple[int, int]]) -> State:
        # A ** may also match nothing, so the position after it is live too.
        todo = list(states)
        while todo:
            g, pos = todo.pop()
            segs = self._globs[g]
            if pos < len(segs) and segs[pos].kind == "deep" and (g, pos + 1) not in states:
                states.add((g, pos + 1))
                todo.append((g, pos + 1))
        return frozenset(states) if states else _EMPTY

    def step(self, state: State, seg: Segment) -> State:
        """The state at a child reached through ``seg``."""
        if not state:
            return _EMPTY
        key = (state, seg)
        got = self._steps.get(key)
        if got is not None:
            return got
        nxt: set[tuple[int, int]] = set()
        for g, pos in state:
            segs = self._globs[g]
            if pos == len(segs):
                nxt.add((g, pos))  # matched above: applies here too
            elif segs[pos].kind == "deep":
                nxt.add((g, pos))
            elif segs[pos].matches(seg):
                nxt.add((g, pos + 1))
        result = self._closure(nxt)
        if len(self._steps) >= _MEMO_MAX:
            self._steps.clear()
        self._steps[key] = result
        return result

    def info(self, state: State) -> NodeRules:
        """What the rules say at a node in ``state``."""
        got = self._infos.get(state)
        if got is not None:
            return got
        base = self._base
        ignored = False
        kinds = set(base.kinds)
        tolerance = base.tolerance
        best = -1
        for g, pos in state:
            if pos != len(self._globs[g]):
                continue
            action = self._actions[g]
            if action.tolerance is not None:
                if action.order > best:
                    best, tolerance = action.order, action.tolerance
            elif action.ignore_kinds is None:
                ignored = True
            else:
                kinds |= action.ignore_kinds
        info = NodeRules(ignored, frozenset(kinds), tolerance, lossy=True)
        if len(self._infos) >= _MEMO_MAX:
            self._infos.clear()
            self._infos[_EMPTY] = self._base
        self._infos[state] = info
        return info


@lru_cache(maxsize=256)
def compile_rules(rules: Rules, method: str | None) -> CompiledRules:
    """The rules that apply to ``method`` (``None``: only rules for every method), compiled."""
    return CompiledRules(rules, method)
