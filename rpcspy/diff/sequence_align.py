"""Sequence alignment of two lists of keys: which items match, which are missing, which are extra.

Pure and dependency-free. The diff of two captures aligns the calls of each method by a compact
key (a fingerprint of the method's params), so that one missing or extra call shifts nothing after
it. Three strategies are combined, cheapest first:

1. the common prefix and suffix are matched directly (the usual case: two runs of one session);
2. keys that occur exactly once on both sides anchor the alignment (patience diff) and the gaps
   between anchors are aligned on their own;
3. a gap without anchors is aligned by Myers' O(ND) algorithm (a shortest edit script), within a
   work budget; past the budget, a greedy in-order match keeps the cost linear for inputs that
   have almost nothing in common.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Sequence

__all__ = ["Pair", "align", "longest_increasing_subsequence"]

#: ``(i, j)`` a match; ``(i, None)`` item ``a[i]`` is missing from ``b``; ``(None, j)`` is extra.
Pair = tuple[int | None, int | None]

#: Steps (frontier moves plus snake steps) Myers may spend in one ``align`` call, over all gaps,
#: before the remaining gaps fall back to the greedy match. About a second of Python.
_MYERS_BUDGET = 3_000_000


def align(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[Pair]:
    """Align ``a`` with ``b``; the pairs come in order of both sequences."""
    out: list[Pair] = []
    budget = [_MYERS_BUDGET]
    # An explicit stack rather than recursion: anchors nest, and deep nesting must not overflow.
    stack: list[tuple[int, int, int, int] | list[Pair]] = [(0, len(a), 0, len(b))]
    while stack:
        task = stack.pop()
        if isinstance(task, list):
            out.extend(task)
            continue
        alo, ahi, blo, bhi = task
        while alo < ahi and blo < bhi and a[alo] == b[blo]:
            out.append((alo, blo))
            alo += 1
            blo += 1
        tail: list[Pair] = []
        while ahi > alo and bhi > blo and a[ahi - 1] == b[bhi - 1]:
            ahi -= 1
            bhi -= 1
            tail.append((ahi, bhi))
        tail.reverse()
        if alo == ahi or blo == bhi:
            out.extend((i, None) for i in range(alo, ahi))
            out.extend((None, j) for j in range(blo, bhi))
            out.extend(tail)
            continue
        common, anchors = _unique_anchors(a, b, alo, ahi, blo, bhi)
        if not common:
            out.extend((i, None) for i in range(alo, ahi))
            out.extend((None, j) for j in range(blo, bhi))
            out.extend(tail)
            continue
        if anchors:
            # Pushed in reverse so that they pop in order: gap, anchor, gap, anchor, ..., tail.
            pieces: list[tuple[int, int, int, int] | list[Pair]] = []
            pa, pb = alo, blo
            for i, j in anchors:
                pieces.append((pa, i, pb, j))
                pieces.append([(i, j)])
                pa, pb = i + 1, j + 1
            pieces.append((pa, ahi, pb, bhi))
            pieces.append(tail)
            stack.extend(reversed(pieces))
            continue
        middle = _myers(a, b, alo, ahi, blo, bhi, budget)
        if middle is None:
            middle = _greedy(a, b, alo, ahi, blo, bhi)
        out.extend(middle)
        out.extend(tail)
    return out


def _unique_anchors(
    a: Sequence[Hashable], b: Sequence[Hashable], alo: int, ahi: int, blo: int, bhi: int
) -> tuple[bool, list[tuple[int, int]]]:
    """Whether the ranges share any key, and the keys seen exactly once on each side, kept
    where their order agrees (patience diff)."""
    count_a: dict[Hashable, int] = {}
    for i in range(alo, ahi):
        k = a[i]
        count_a[k] = count_a.get(k, 0) + 1
    common = False
    count_b: dict[Hashable, int] = {}
    pos_b: dict[Hashable, int] = {}
    for j in range(blo, bhi):
        k = b[j]
        seen = count_a.get(k)
        if seen is not None:
            common = True
            if seen == 1:
                count_b[k] = count_b.get(k, 0) + 1
                pos_b[k] = j
    candidates = [
        (i, pos_b[a[i]]) for i in range(alo, ahi) if count_a[a[i]] == 1 and count_b.get(a[i]) == 1
    ]
    if not candidates:
        return common, []
    keep = longest_increasing_subsequence([j for _, j in candidates])
    return common, [candidates[k] for k in keep]


def longest_increasing_subsequence(values: Sequence[int]) -> list[int]:
    """Indices into ``values`` of one longest strictly increasing subsequence (O(n log n))."""
    tails: list[int] = []  # tails[L] = index of the smallest tail of an increasing run of L+1
    tail_values: list[int] = []
    back: list[int] = [-1] * len(values)
    for idx, v in enumerate(values):
        pos = bisect_left(tail_values, v)
        if pos > 0:
            back[idx] = tails[pos - 1]
        if pos == len(tails):
            tails.append(idx)
            tail_values.append(v)
        else:
            tails[pos] = idx
            tail_values[pos] = v
    result: list[int] = []
    k = tails[-1] if tails else -1
    while k != -1:
        result.append(k)
        k = back[k]
    result.reverse()
    return result


def _myers(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    alo: int,
    ahi: int,
    blo: int,
    bhi: int,
    budget: list[int],
) -> list[Pair] | None:
    """Shortest edit script by Myers' greedy algorithm; None once ``budget[0]`` is spent.

    The expected cost is O(N + D²) for D edits, so two runs of one session that differ in a few
    places are cheap however long they are; inputs with little in common exhaust the budget.
    """
    n, m = ahi - alo, bhi - blo
    size = n + m
    off = size + 1
    v = [0] * (2 * size + 3)
    trace: list[list[int]] = []
    work = budget[0]
    found = -1
    for d in range(size + 1):
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and v[off + k - 1] < v[off + k + 1]):
                x = v[off + k + 1]
            else:
                x = v[off + k - 1] + 1
            y = x - k
            start = x
            while x < n and y < m and a[alo + x] == b[blo + y]:
                x += 1
                y += 1
            work -= 1 + x - start
            v[off + k] = x
            if x >= n and y >= m:
                found = d
                break
        trace.append(v[off - d : off + d + 1])
        if found >= 0:
            break
        if work < 0:
            budget[0] = 0
            return None
    budget[0] = max(work, 0)
    # Walk back from the end through the recorded frontiers.
    pairs: list[Pair] = []
    x, y = n, m
    for d in range(found, 0, -1):
        prev = trace[d - 1]
        k = x - y
        down = k == -d or (k != d and prev[k - 1 + d - 1] < prev[k + 1 + d - 1])
        pk = k + 1 if down else k - 1
        px = prev[pk + d - 1]
        py = px - pk
        mid_x = px if pk == k + 1 else px + 1
        while x > mid_x:  # the snake of matches that followed the edit
            x -= 1
            y -= 1
            pairs.append((alo + x, blo + y))
        if pk == k + 1:
            pairs.append((None, blo + py))
        else:
            pairs.append((alo + px, None))
        x, y = px, py
    while x > 0 and y > 0:
        x -= 1
        y -= 1
        pairs.append((alo + x, blo + y))
    pairs.reverse()
    return pairs


def _greedy(
    a: Sequence[Hashable], b: Sequence[Hashable], alo: int, ahi: int, blo: int, bhi: int
) -> list[Pair]:
    """Match each item of ``b`` to the next unused equal item of ``a``: linear, not minimal."""
    positions: dict[Hashable, list[int]] = {}
    for i in range(alo, ahi):
        positions.setdefault(a[i], []).append(i)
    pairs: list[Pair] = []
    next_a = alo
    for j in range(blo, bhi):
        where = positions.get(b[j])
        if where:
            p = bisect_right(where, next_a - 1)
            if p < len(where):
                i = where[p]
                pairs.extend((skipped, None) for skipped in range(next_a, i))
                pairs.append((i, j))
                next_a = i + 1
                continue
        pairs.append((None, j))
    pairs.extend((i, None) for i in range(next_a, ahi))
    return pairs
