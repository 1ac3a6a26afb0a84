"""Path text and path globs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rpcspy.diff import PathError, format_path, parse_glob, parse_path
from rpcspy.diff.paths import GlobSegment, Segment, format_glob


@pytest.mark.parametrize(
    ("segments", "text"),
    [
        (("result", 3, "name"), "result[3].name"),
        (("params", 0, "count"), "params[0].count"),
        (("result", "a.b"), 'result["a.b"]'),
        (("result", ""), 'result[""]'),
        (("result", "x y", 0), 'result["x y"][0]'),
        (("result", 'q"', "*"), 'result["q\\""]["*"]'),
        (("result", "ü", "a-b_c"), "result.ü.a-b_c"),
        (("result", "\n"), 'result["\\n"]'),
        ((0, "a"), "[0].a"),
        ((), ""),
    ],
)
def test_format_and_parse(segments: tuple[Segment, ...], text: str) -> None:
    assert format_path(segments) == text
    assert parse_path(text) == segments


segment = st.one_of(st.integers(0, 10**6), st.text(max_size=8))


@given(st.lists(segment, max_size=6))
def test_every_path_round_trips(segments: list[Segment]) -> None:
    assert parse_path(format_path(segments)) == tuple(segments)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (".x", "cannot start with '.'"),
        ("result..x", "empty member name"),
        ("result.", "empty member name"),
        ("result[", "unclosed '['"),
        ("result[-1]", "expected an index"),
        ('result["a', "bad quoted name"),
        ('result["a"', "expected ']'"),
        ("result.a b", "white space"),
        ("result]", "']' in a bare name"),
        ("result[0]x", "expected '.' or '['"),
        ("result.*", "wildcards are allowed in globs"),
        ("result[*]", "wildcards are allowed in globs"),
    ],
)
def test_bad_paths(text: str, reason: str) -> None:
    with pytest.raises(PathError) as err:
        parse_path(text)
    assert reason in str(err.value)


def test_glob_steps() -> None:
    glob = parse_glob('result.*.a*[*][2].**["*"]')
    assert [s.kind for s in glob.segments] == [
        "name",
        "any",
        "pattern",
        "any_index",
        "index",
        "deep",
        "name",
    ]
    assert glob.segments[-1] == GlobSegment("name", "*")
    assert format_glob(glob.segments) == 'result.*.a*[*][2].**["*"]'
    assert format_glob(["result", GlobSegment("any_index"), "when"]) == "result[*].when"


def test_glob_matching() -> None:
    g = parse_glob("result.*.ts")
    assert g.matches(("result", "a", "ts"))
    assert g.matches(("result", 0, "ts"))
    assert not g.matches(("result", "ts"))
    assert not g.matches(("result", "a", "b", "ts"))
    assert g.matches_at_or_above(("result", "a", "ts", "x"))
    assert not g.matches_at_or_above(("result", "a"))
    deep = parse_glob("**.ts")
    assert deep.matches(("ts",))
    assert deep.matches(("result", "a", 3, "ts"))
    assert not deep.matches(("result", "tsx"))
    assert parse_glob("result[*]").matches(("result", 7))
    assert not parse_glob("result[*]").matches(("result", "7"))
    assert parse_glob("result.created_*").matches(("result", "created_at"))
    assert not parse_glob('result["created_*"]').matches(("result", "created_at"))
