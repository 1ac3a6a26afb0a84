"""Array alignment: typed fingerprints of items, sequence matching, and pairing of changed runs.

Each item gets a fingerprint, a small int interned from a hashable typed key (the wire type and
the value; for containers the child fingerprints), so two items have the same fingerprint exactly
when they are equal by the typed equality of the value model. ``difflib.SequenceMatcher`` then
aligns the two fingerprint lists, so one inserted item is one ``added``, not a cascade of
changes. Runs that differ on both sides (``replace``) of unequal length are paired by similarity
(shared members and items) with a small dynamic programme, so a changed item next to an inserted
one is still reported as a change of the right item.

When rules may bend equality below an array (ignored paths, kinds or a double tolerance), the
fingerprints are *masked*: ignored members are left out and values whose differences would be
dropped keep only what still counts. Masked fingerprints guide the alignment only; paired items
are still compared in full.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Final, Literal

from rpcspy.diff.matcher import CompiledRules, State
from rpcspy.xmlrpc.values import Array, Double, String, Struct, UntypedString, Value

__all__ = ["Fingerprints", "Op", "pair_runs"]

#: Larger replace runs (old x new items) are paired by position instead of by similarity.
PAIRING_MAX_CELLS: Final = 40_000

_IGNORED: Final = ("ignored",)
_ANY: Final = ("any",)

Op = (
    tuple[Literal["pair"], int, int] | tuple[Literal["removed"], int] | tuple[Literal["added"], int]
)


def _scalar_key(value: Value) -> tuple[object, ...]:
    cls = type(value)
    # NaN is not equal to itself, so as a key it would never match: key it by its text.
    if isinstance(value, float) and value != value:
        return (cls, "nan")
    if isinstance(value, Decimal) and value.is_nan():
        return (cls, str(value))
    return (cls, value)


class Fingerprints:
    """Fingerprints for the values of one diff (memoised per node; values must not change)."""

    def __init__(self, rules: CompiledRules) -> None:
        self._rules = rules
        self._ids: dict[object, int] = {}
        self._keys: list[object] = []
        self._exact: dict[int, int] = {}
        self._masked: dict[tuple[int, State], int] = {}
        self.ignored_id = self._intern(_IGNORED)
        self._base_lossy = rules.info(frozenset()).lossy

    def _intern(self, key: object) -> int:
        got = self._ids.get(key)
        if got is None:
            got = len(self._keys)
            self._ids[key] = got
            self._keys.append(key)
        return got

    def exact(self, root: Value) -> int:
        """The fingerprint of ``root``: equal ids exactly when the values are equal (typed)."""
        if not isinstance(root, Struct | Array):
            return self._intern(_scalar_key(root))
        memo = self._exact
        got = memo.get(id(root))
        if got is not None:
            return got
        # Post-order over an explicit stack: values may nest deeper than the recursion limit.
        stack: list[tuple[Struct | Array, bool]] = [(root, False)]
        while stack:
            node, ready = stack.pop()
            if id(node) in memo:
                continue
            children = node.values() if isinstance(node, Struct) else node
            if not ready:
                stack.append((node, True))
                stack.extend(
                    (c, False)
                    for c in children
                    if isinstance(c, Struct | Array) and id(c) not in memo
                )
                continue
            key: tuple[object, ...]
            if isinstance(node, Struct):
                key = (Struct, frozenset((k, self._child(c)) for k, c in node.items()))
            else:
                key = (Array, tuple(self._child(c) for c in node))
            memo[id(node)] = self._intern(key)
        return memo[id(root)]

    def _child(self, value: Value) -> int:
        if isinstance(value, Struct | Array):
            return self._exact[id(value)]
        return self._intern(_scalar_key(value))

    def masked(self, root: Value, state: State) -> int:
        """A fingerprint that leaves out what the rules at ``state`` and below would ignore."""
        if not state and not self._base_lossy:
            return self.exact(root)
        if not isinstance(root, Struct | Array):
            return self._masked_leaf(root, state)
        rules = self._rules
        step = rules.step
        memo = self._masked
        got = memo.get((id(root), state))
        if got is not None:
            return got
        stack: list[tuple[Struct | Array, State, bool]] = [(root, state, False)]
        while stack:
            node, st, ready = stack.pop()
            mkey = (id(node), st)
            if mkey in memo:
                continue
            info = rules.info(st)
            if info.ignored:
                memo[mkey] = self.ignored_id
                continue
            if "type" in info.kinds:
                # A different type here would be dropped, so nothing below can tell items apart.
                memo[mkey] = self._intern(_ANY)
                continue
            items = node.items() if isinstance(node, Struct) else enumerate(node)
            if not ready:
                stack.append((node, st, True))
                for seg, c in items:
                    if isinstance(c, Struct | Array):
                        cst = step(st, seg)
                        if (cst or self._base_lossy) and (id(c), cst) not in memo:
                            stack.append((c, cst, False))
                continue
            ids = [(seg, self._masked_child(c, step(st, seg))) for seg, c in items]
            key: tuple[object, ...]
            if isinstance(node, Struct):
                key = (Struct, frozenset(m for m in ids if m[1] != self.ignored_id))
            else:
                key = (Array, tuple(cid for _, cid in ids))
            memo[mkey] = self._intern(key)
        return memo[(id(root), state)]

    def _masked_child(self, value: Value, state: State) -> int:
        container = isinstance(value, Struct | Array)
        if not state and not self._base_lossy:
            # No rule reaches here: the exact fingerprint is the masked one.
            if container:
                return self.exact(value)
            key = _scalar_key(value)
            got = self._ids.get(key)
            return got if got is not None else self._intern(key)
        if container:
            return self._masked[(id(value), state)]
        return self._masked_leaf(value, state)

    def _masked_leaf(self, value: Value, state: State) -> int:
        info = self._rules.info(state)
        if info.ignored:
            return self.ignored_id
        if not info.lossy:
            return self._intern(_scalar_key(value))
        return self._intern(self._masked_scalar(value, info.kinds, info.tolerance))

    @staticmethod
    def _masked_scalar(value: Value, kinds: frozenset[str], tolerance: float) -> tuple[object, ...]:
        if "type" in kinds:
            return _ANY
        cls: type = type(value)
        if "untyped" in kinds and cls is UntypedString:
            cls = String
        if "changed" in kinds or (tolerance > 0 and isinstance(value, Double)):
            return ("masked", cls)
        if cls is String and "untyped" in kinds:
            # Plain text, so a typed and an untyped string with the same text get one key.
            return (String, str(value))
        return _scalar_key(value)

    def similarity(self, a: int, b: int) -> float:
        """How alike two fingerprinted values are, from 0 (nothing shared) to 1 (equal)."""
        if a == b:
            return 1.0
        ka, kb = self._keys[a], self._keys[b]
        if not (isinstance(ka, tuple) and isinstance(kb, tuple)) or ka[0] is not kb[0]:
            return 0.0
        if ka[0] is Struct:
            ma, mb = ka[1], kb[1]
            assert isinstance(ma, frozenset) and isinstance(mb, frozenset)
            size = max(len(ma), len(mb))
            names = {k for k, _ in ma} & {k for k, _ in mb}
            return (len(names) + len(ma & mb)) / (2 * size)
        if ka[0] is Array:
            ia, ib = ka[1], kb[1]
            assert isinstance(ia, tuple) and isinstance(ib, tuple)
            shared = sum((Counter(ia) & Counter(ib)).values())
            return shared / max(len(ia), len(ib))
        # Same wire type, different value: closer than different types.
        return 0.5


def pair_runs(
    old: Sequence[int], new: Sequence[int], similarity: Callable[[int, int], float]
) -> list[Op]:
    """Pair a run of old items with a run of new items that differ from each other.

    Runs of equal length pair by position. Otherwise the pairing maximises total similarity
    (ties go to pairing, so unlike items of unequal runs still pair in order); unpaired items
    are removed or added. Very large runs pair by position.
    """
    n, m = len(old), len(new)
    if n == m or n * m > PAIRING_MAX_CELLS:
        ops: list[Op] = [("pair", i, i) for i in range(min(n, m))]
        ops.extend(("removed", i) for i in range(m, n))
        ops.extend(("added", j) for j in range(n, m))
        return ops
    # A tiny bonus per pair makes pairing win ties against leaving both sides unpaired.
    bonus = 1e-6
    sims = [[similarity(old[i], new[j]) + bonus for j in range(m)] for i in range(n)]
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        row, prev, srow = score[i], score[i - 1], sims[i - 1]
        for j in range(1, m + 1):
            row[j] = max(prev[j - 1] + srow[j - 1], prev[j], row[j - 1])
    # Walking back from the end, unpaired items are taken first when that costs nothing, so
    # pairs gather at the front and a run reads like positional pairing with extras at the end.
    out: list[Op] = []
    i, j = n, m
    while i > 0 or j > 0:
        if j > 0 and score[i][j] == score[i][j - 1]:
            out.append(("added", j - 1))
            j -= 1
        elif i > 0 and score[i][j] == score[i - 1][j]:
            out.append(("removed", i - 1))
            i -= 1
        else:
            out.append(("pair", i - 1, j - 1))
            i, j = i - 1, j - 1
    out.reverse()
    return out
