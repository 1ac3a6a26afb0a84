"""Sequence alignment: every item accounted for once, in order; minimal where Myers decides."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from rpcspy.diff.sequence_align import _myers, align, longest_increasing_subsequence


def _check(a: list[int], b: list[int], pairs: list[tuple[int | None, int | None]]) -> int:
    """Each index of both sides appears once and in order; matched items are equal."""
    assert [i for i, _ in pairs if i is not None] == list(range(len(a)))
    assert [j for _, j in pairs if j is not None] == list(range(len(b)))
    matched = 0
    for i, j in pairs:
        if i is not None and j is not None:
            assert a[i] == b[j]
            matched += 1
    return matched


def _lcs(a: list[int], b: list[int]) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        prev = 0
        for j, y in enumerate(b):
            cur = row[j + 1]
            row[j + 1] = prev + 1 if x == y else max(row[j + 1], row[j])
            prev = cur
    return row[-1]


small = st.lists(st.integers(0, 3), max_size=14)


@given(small, small)
@settings(max_examples=400)
def test_myers_is_a_longest_common_subsequence(a: list[int], b: list[int]) -> None:
    pairs = _myers(a, b, 0, len(a), 0, len(b), [10**9])
    assert pairs is not None
    assert _check(a, b, pairs) == _lcs(a, b)


@given(small, small)
@settings(max_examples=400)
def test_align_accounts_for_every_item(a: list[int], b: list[int]) -> None:
    _check(a, b, align(a, b))


def test_one_missing_item_shifts_nothing() -> None:
    a = list(range(10))
    b = [x for x in a if x != 4]
    pairs = align(a, b)
    assert (4, None) in pairs
    assert sum(1 for i, j in pairs if i is not None and j is not None) == 9


def test_one_extra_item_among_repeats() -> None:
    a = [7] * 5 + [1] + [7] * 5
    b = [7] * 5 + [2] + [1] + [7] * 5
    pairs = align(a, b)
    assert (None, 5) in pairs
    assert _check(a, b, pairs) == 11


def test_large_mostly_equal_inputs_are_aligned_minimally_and_fast() -> None:
    rnd = random.Random(7)
    a = [rnd.randint(0, 20) for _ in range(50_000)]
    b = list(a)
    for _ in range(30):
        del b[rnd.randrange(len(b))]
    assert _check(a, b, align(a, b)) == len(b)


def test_unrelated_inputs_fall_back_without_blowing_up() -> None:
    rnd = random.Random(3)
    a = [rnd.randint(0, 5) for _ in range(20_000)]
    b = [rnd.randint(0, 5) for _ in range(20_000)]
    _check(a, b, align(a, b))


def test_longest_increasing_subsequence() -> None:
    values = [3, 1, 4, 1, 5, 9, 2, 6]
    keep = longest_increasing_subsequence(values)
    picked = [values[k] for k in keep]
    assert picked == sorted(set(picked)) and len(picked) == 4
    assert longest_increasing_subsequence([]) == []
