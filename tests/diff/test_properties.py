"""Properties of the diff over generated values."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from rpcspy.diff import IgnoreRule, Rules, diff_values, parse_path
from rpcspy.xmlrpc.values import Array, String, Struct, UntypedString, Value

from .strategies import clone, small_values, values

# Pairs that are often equal or nearly so: drawn from tiny domains, or one derived from the other.
pairs = st.one_of(
    st.tuples(small_values, small_values),
    values.flatmap(lambda v: st.tuples(st.just(v), st.sampled_from([clone(v), v]))),
)


@given(values)
def test_a_value_does_not_differ_from_itself_or_an_equal_copy(v: Value) -> None:
    assert diff_values(v, v) == []
    assert diff_values(v, clone(v)) == []


@settings(max_examples=400)
@given(pairs)
def test_no_differences_exactly_when_equal(pair: tuple[Value, Value]) -> None:
    a, b = pair
    assert (diff_values(a, b) == []) == (a == b)
    assert (diff_values(b, a) == []) == (a == b)


@given(st.tuples(small_values, small_values))
def test_every_difference_has_a_valid_path_and_json_form(pair: tuple[Value, Value]) -> None:
    for d in diff_values(*pair, method="m"):
        segments = parse_path(d.path)
        assert segments[0] == "result"
        assert d.describe().startswith(f"{d.path}: ")
        assert json.loads(json.dumps(d.to_dict()))["path"] == d.path


def untype(v: Value) -> Value:
    """``v`` with every typed string made untyped."""
    if isinstance(v, Struct):
        return Struct({k: untype(x) for k, x in v.items()})
    if isinstance(v, Array):
        return Array([untype(x) for x in v])
    if type(v) is String:
        return UntypedString(v)
    return v


@given(values)
def test_typed_against_untyped_strings_is_only_ever_minor(v: Value) -> None:
    diffs = diff_values(v, untype(v))
    assert all(d.kind == "untyped" and d.minor for d in diffs)
    assert (diffs == []) == (v == untype(v))
    ignore_untyped = Rules((IgnoreRule(kinds=frozenset({"untyped"})),))
    assert diff_values(v, untype(v), rules=ignore_untyped) == []


@given(pairs)
def test_ignoring_everything_leaves_nothing(pair: tuple[Value, Value]) -> None:
    assert diff_values(*pair, rules=Rules.from_flags(["*: **"])) == []
    assert diff_values(*pair, rules=Rules.from_flags(["*: result"])) == []


@given(st.tuples(small_values, small_values))
def test_ignored_paths_never_show(pair: tuple[Value, Value]) -> None:
    rules = Rules.from_flags(["*: result[*]", "*: **.a"])
    for d in diff_values(*pair, rules=rules):
        segments = parse_path(d.path)
        assert "a" not in segments
        assert not (len(segments) > 1 and isinstance(segments[1], int))


def containers_of(v: Value) -> list[tuple[tuple[str | int, ...], Struct | Array]]:
    """Every struct and array inside ``v`` with its path (from ``result``)."""
    out: list[tuple[tuple[str | int, ...], Struct | Array]] = []
    stack: list[tuple[tuple[str | int, ...], Value]] = [(("result",), v)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, Struct):
            out.append((path, node))
            stack.extend(((*path, k), x) for k, x in node.items())
        elif isinstance(node, Array):
            out.append((path, node))
            stack.extend(((*path, i), x) for i, x in enumerate(node))
    return out


@given(values, st.data())
def test_one_edit_gives_differences_only_where_it_was_made(v: Value, data: st.DataObject) -> None:
    w = clone(v)
    targets = containers_of(w)
    if not targets:
        return
    path, node = data.draw(st.sampled_from(targets))
    new_item = data.draw(values)
    if isinstance(node, Array):
        op = data.draw(st.sampled_from(["insert", "delete", "set"]))
        if op == "insert" or not node:
            k = data.draw(st.integers(0, len(node)))
            node.insert(k, new_item)
            diffs = diff_values(v, w)
            # Trimming the common ends leaves just the new item, wherever it lands.
            assert [d.kind for d in diffs] == ["added"]
            assert parse_path(diffs[0].path)[: len(path)] == path
            return
        k = data.draw(st.integers(0, len(node) - 1))
        if op == "delete":
            del node[k]
            diffs = diff_values(v, w)
            assert [d.kind for d in diffs] == ["removed"]
            assert parse_path(diffs[0].path)[: len(path)] == path
            return
        node[k] = new_item
        where: tuple[str | int, ...] = (*path, k)
    else:
        name = data.draw(st.sampled_from([*node, "fresh"]))
        node[name] = new_item
        where = (*path, name)
    diffs = diff_values(v, w)
    assert (diffs == []) == (v == w)
    for d in diffs:
        assert parse_path(d.path)[: len(where)] == where
