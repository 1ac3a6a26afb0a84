"""Where a conformance finding shows in a message's tree: the one placing rule of show, the TUI
and the contentview.

A finding names the value it concerns by a path (``params[0].big``, ``result.total``,
``fault.faultCode``; ``None`` for the body as a whole). A view lists its tree's lines (or nodes),
each with the path of the value it shows; ``place_findings`` puts each finding on the deepest
line whose path holds the finding's path, and on the first line when none does (the message's
head, or a value the view does not list). ``tree_lines`` is the plain-text tree of
``rpcspy.xmlrpc.render.format_message_tree`` with each line's path, for the text views.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

import orjson

from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.render import format_typed, plural
from rpcspy.xmlrpc.values import Array, Struct, Value

__all__ = [
    "PlacedFinding",
    "holders",
    "is_under",
    "member_path",
    "place_findings",
    "tree_lines",
]


class PlacedFinding(Protocol):
    """What placing needs of a finding (``rpcspy.xmlrpc.findings.Finding``, ``RecordFinding``)."""

    @property
    def path(self) -> str | None: ...


def member_path(parent: str, name: str) -> str:
    """The path of struct member ``name`` under ``parent``: ``.name``, or ``["odd name"]``."""
    return parent + ("." + name if name.isidentifier() else "[" + orjson.dumps(name).decode() + "]")


def is_under(path: str | None, line_path: str | None) -> bool:
    """Does the value at ``line_path`` hold the one at ``path`` (itself, or something inside)?
    A head line (``None``) holds only path-less findings."""
    if line_path is None or path is None:
        return line_path is None
    return path == line_path or path.startswith((line_path + ".", line_path + "["))


def place_findings[F: PlacedFinding](
    paths: Sequence[str | None], findings: Iterable[F]
) -> dict[int, list[F]]:
    """Index into ``paths`` -> the findings shown there, in their order: each on the deepest
    line whose path holds its path, else on line 0."""
    placed: dict[int, list[F]] = {}
    for finding in findings:
        at = 0
        best = -1
        for i, line_path in enumerate(paths):
            if (
                line_path is not None
                and is_under(finding.path, line_path)
                and len(line_path) > best
            ):
                at, best = i, len(line_path)
        placed.setdefault(at, []).append(finding)
    return placed


def holders(paths: Iterable[str | None], placed: Iterable[str | None]) -> set[str]:
    """The paths among ``paths`` that hold, strictly below them, one of the ``placed`` paths
    (the containers a collapsed view marks so that a finding inside can be found)."""
    inner = [p for p in placed if p is not None]
    return {p for p in paths if p is not None and any(q != p and is_under(q, p) for q in inner)}


def tree_lines(message: MethodCall | MethodResponse | Fault) -> Iterator[tuple[str | None, str]]:
    """``format_message_tree``'s lines, each with the value path it shows (None: the head)."""
    if isinstance(message, Fault):
        yield "fault", f"fault {message.code}: {message.string}"
        extra = [(k, v) for k, v in message.value.items() if k not in ("faultCode", "faultString")]
        for k, v in extra:
            yield from _value_lines(v, k, member_path("fault", k), 1)
        return
    if isinstance(message, MethodCall):
        yield None, f"call {message.method}"
        for i, p in enumerate(message.params):
            yield from _value_lines(p, f"params[{i}]", f"params[{i}]", 1)
        return
    yield from _value_lines(message.value, "result", "result", 0)


def _value_lines(
    value: Value, name: str, path: str, indent: int
) -> Iterator[tuple[str | None, str]]:
    stack: list[tuple[Value, str, str, int]] = [(value, name, path, indent)]
    while stack:
        v, label, where, depth = stack.pop()
        pad = "  " * depth
        if isinstance(v, Struct):
            yield where, f"{pad}{label}: struct ({plural(len(v), 'member')})"
            items = reversed(list(v.items()))
            stack.extend((item, k, member_path(where, k), depth + 1) for k, item in items)
        elif isinstance(v, Array):
            yield where, f"{pad}{label}: array ({plural(len(v), 'item')})"
            indexed = reversed(list(enumerate(v)))
            stack.extend((item, f"[{i}]", f"{where}[{i}]", depth + 1) for i, item in indexed)
        else:
            yield where, f"{pad}{label}: {format_typed(v)}"
