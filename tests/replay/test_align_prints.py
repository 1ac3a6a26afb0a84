"""Capture alignment on prints: missing, extra, changed, moved and reordered calls."""

from __future__ import annotations

from rpcspy.replay.capdiff import Match, Print, align_prints


def _prints(spec: str) -> list[Print]:
    """``"a1 b2 a3"``: method letter and params digit(s); keys, like real fingerprints, hold
    the method; answers equal the params."""
    out = []
    for pos, word in enumerate(spec.split()):
        method, params = word[0], int(word[1:])
        out.append(Print(pos, pos + 1, method, ord(method) * 1000 + params, params))
    return out


def _kinds(matches: list[Match]) -> list[str]:
    out = []
    for m in matches:
        a = f"{m.a.method}{m.a.answer}" if m.a else "-"
        b = f"{m.b.method}{m.b.answer}" if m.b else "-"
        out.append(f"{m.kind}{'*' if m.moved else ''}:{a}/{b}")
    return out


def test_identical_captures_pair_everything_in_order() -> None:
    a = _prints("a1 b2 a3 c4")
    matches = align_prints(a, _prints("a1 b2 a3 c4"))
    assert _kinds(matches) == ["pair:a1/a1", "pair:b2/b2", "pair:a3/a3", "pair:c4/c4"]
    assert all(m.settled for m in matches)


def test_a_missing_call_shifts_nothing() -> None:
    matches = align_prints(_prints("a1 a2 a3 b1 a4"), _prints("a1 a3 b1 a4"))
    assert _kinds(matches) == [
        "pair:a1/a1",
        "missing:a2/-",
        "pair:a3/a3",
        "pair:b1/b1",
        "pair:a4/a4",
    ]


def test_an_extra_call_is_listed_after_its_predecessor() -> None:
    matches = align_prints(_prints("a1 b1 a2"), _prints("a1 b1 b9 a2"))
    assert _kinds(matches) == ["pair:a1/a1", "pair:b1/b1", "extra:-/b9", "pair:a2/a2"]


def test_changed_params_in_place_are_paired() -> None:
    matches = align_prints(_prints("a1 a2 a3"), _prints("a1 a5 a3"))
    assert _kinds(matches) == ["pair:a1/a1", "pair:a2/a5", "pair:a3/a3"]
    assert not matches[1].settled


def test_a_call_that_moved_within_its_method() -> None:
    matches = align_prints(_prints("a1 a2 a3 a4"), _prints("a2 a3 a4 a1"))
    kinds = _kinds(matches)
    assert "pair*:a1/a1" in kinds
    assert kinds.count("pair:a2/a2") == 1 and "missing:a1/-" not in kinds


def test_calls_of_different_methods_swapped() -> None:
    matches = align_prints(_prints("a1 b1 c1"), _prints("b1 a1 c1"))
    moved = [m for m in matches if m.moved]
    assert len(moved) == 1
    assert all(m.kind == "pair" for m in matches)


def test_different_answer_is_not_settled() -> None:
    a = [Print(0, 1, "m", 5, 10)]
    b = [Print(0, 1, "m", 5, 11)]
    (match,) = align_prints(a, b)
    assert match.kind == "pair" and not match.settled


def test_identical_calls_pair_in_place_around_a_removal_and_a_swap() -> None:
    # Every third call is the same parameterless call; one is removed early, and later a pair
    # of neighbours swaps places: only the swapped call moved, nothing in between.
    words = [w for n in range(30) for w in ("l0", f"x{n}")]
    a = _prints(" ".join(words))
    b_words = list(words)
    del b_words[6]
    assert b_words[5:7] == ["x2", "x3"]
    i = b_words.index("x20")
    b_words[i - 1], b_words[i] = b_words[i], b_words[i - 1]
    matches = align_prints(a, _prints(" ".join(b_words)))
    assert sum(1 for m in matches if m.kind == "missing") == 1
    moved = [m for m in matches if m.moved]
    assert len(moved) == 1
    assert moved[0].a is not None and moved[0].b is not None
    assert abs(moved[0].a.pos - moved[0].b.pos) <= 3
