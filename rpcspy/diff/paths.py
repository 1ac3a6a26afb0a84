"""Value paths (where a difference is) and path globs (which paths a rule picks).

A path is a root name followed by member names and array indices: ``result``,
``result[3].name``, ``params[0].count``, ``fault.faultString``. A member name that is not a plain
word (it holds ``.``, ``[``, ``]``, quotes, ``*``, ``?``, a backslash or white space, or is empty)
is written quoted in brackets, JSON style: ``result["a.b"]``.

A glob is a path whose segments may be wildcards: ``*`` matches one segment (a member name or an
index), ``[*]`` one index, ``**`` any number of segments (none included), and a member name with
``*`` or ``?`` in it matches member names the way shell globs match file names (``result.*_at``).
A quoted name is always literal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Literal

__all__ = [
    "GlobSegment",
    "PathError",
    "PathGlob",
    "Segment",
    "format_glob",
    "format_path",
    "parse_glob",
    "parse_path",
]

#: One step of a path: a member name (``str``) or an array index (``int``).
Segment = str | int

# A plain member name needs no quoting; everything else is written as ["..."].
_PLAIN_NAME = re.compile(r"[^\s.\[\]\"'*?\\]+")
_BARE_END = re.compile(r"[.\[]")
_DECODER = json.JSONDecoder()


class PathError(ValueError):
    """A path or glob that does not parse; ``position`` is the 0-based offset of the problem."""

    def __init__(self, text: str, position: int, reason: str) -> None:
        self.text = text
        self.position = position
        self.reason = reason
        super().__init__(f"bad path {text!r} at offset {position}: {reason}")


def _is_plain(name: str) -> bool:
    return _PLAIN_NAME.fullmatch(name) is not None and name.isprintable()


def _format_segment(seg: Segment, first: bool) -> str:
    if isinstance(seg, int):
        return f"[{seg}]"
    if _is_plain(seg):
        return seg if first else f".{seg}"
    return f"[{json.dumps(seg, ensure_ascii=False)}]"


def format_path(segments: Sequence[Segment]) -> str:
    """Write segments as path text: ``("result", 3, "name")`` -> ``result[3].name``."""
    return "".join(_format_segment(seg, i == 0) for i, seg in enumerate(segments))


def format_glob(segments: Sequence[Segment | GlobSegment]) -> str:
    """Write a glob from concrete segments and wildcard steps: ``result[*].when``."""
    parts: list[str] = []
    for i, seg in enumerate(segments):
        if not isinstance(seg, GlobSegment):
            parts.append(_format_segment(seg, i == 0))
        elif seg.kind == "any_index":
            parts.append("[*]")
        elif seg.kind in ("name", "index"):
            assert seg.value is not None
            parts.append(_format_segment(seg.value, i == 0))
        else:
            parts.append(str(seg) if i == 0 else f".{seg}")
    return "".join(parts)


_Token = tuple[Literal["bare", "quoted", "index", "any_index"], str | int]


def _tokens(text: str) -> list[_Token]:
    """Split path text into bare names, quoted names and bracketed indices."""
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "[":
            i = _bracket(text, i, out)
            continue
        if c == ".":
            if not out:
                raise PathError(text, i, "a path cannot start with '.'")
            i += 1
        elif out:
            raise PathError(text, i, "expected '.' or '[' between segments")
        m = _BARE_END.search(text, i)
        end = m.start() if m else n
        name = text[i:end]
        if not name:
            raise PathError(text, i, 'empty member name (quote it: [""])')
        for bad in ("]", '"', "\\"):
            if bad in name:
                raise PathError(text, i + name.index(bad), f"{bad!r} in a bare name (quote it)")
        if any(ch.isspace() for ch in name):
            raise PathError(text, i, "white space in a bare name (quote it)")
        out.append(("bare", name))
        i = end
    return out


def _bracket(text: str, i: int, out: list[_Token]) -> int:
    close = text.find("]", i)
    if i + 1 < len(text) and text[i + 1] == '"':
        try:
            name, end = _DECODER.raw_decode(text, i + 1)
        except json.JSONDecodeError as exc:
            raise PathError(text, i + 1, f"bad quoted name: {exc.msg}") from None
        if not isinstance(name, str):  # pragma: no cover - a '"' always starts a JSON string
            raise PathError(text, i + 1, "bad quoted name")
        if end >= len(text) or text[end] != "]":
            raise PathError(text, end, "expected ']' after a quoted name")
        out.append(("quoted", name))
        return end + 1
    if close < 0:
        raise PathError(text, i, "unclosed '['")
    inner = text[i + 1 : close]
    if inner == "*":
        out.append(("any_index", "*"))
    elif inner.isascii() and inner.isdigit():
        out.append(("index", int(inner)))
    else:
        raise PathError(text, i + 1, f"expected an index, [*] or a quoted name, not [{inner}]")
    return close + 1


@lru_cache(maxsize=4096)
def parse_path(text: str) -> tuple[Segment, ...]:
    """Parse a concrete path (no wildcards) into segments. ``""`` is the empty path."""
    segs: list[Segment] = []
    for kind, value in _tokens(text):
        if kind == "any_index" or (kind == "bare" and ("*" in str(value) or "?" in str(value))):
            raise PathError(text, 0, "wildcards are allowed in globs, not in paths")
        segs.append(value)
    return tuple(segs)


GlobKind = Literal["name", "pattern", "index", "any_index", "any", "deep"]


@dataclass(frozen=True, slots=True)
class GlobSegment:
    """One glob step: a literal name or index, a name pattern, ``[*]``, ``*`` or ``**``."""

    kind: GlobKind
    value: str | int | None = None

    def matches(self, seg: Segment) -> bool:
        """Whether this step matches one path segment (``**`` is handled by the matcher)."""
        kind = self.kind
        if kind == "name":
            return isinstance(seg, str) and seg == self.value
        if kind == "index":
            return isinstance(seg, int) and seg == self.value
        if kind == "any_index":
            return isinstance(seg, int)
        if kind == "pattern":
            return isinstance(seg, str) and fnmatchcase(seg, str(self.value))
        return kind == "any"

    def __str__(self) -> str:
        if self.kind == "any":
            return "*"
        if self.kind == "deep":
            return "**"
        if self.kind == "any_index":
            return "[*]"
        return str(self.value)


@dataclass(frozen=True, slots=True)
class PathGlob:
    """A parsed path glob: its text and its steps."""

    text: str
    segments: tuple[GlobSegment, ...]

    def matches(self, path: tuple[Segment, ...]) -> bool:
        """Whether the glob matches the whole path (not only a prefix of it)."""
        # Positions in the glob still alive after each segment; ** may consume any number.
        alive = _deep_closure(self.segments, {0})
        for seg in path:
            nxt: set[int] = set()
            for pos in alive:
                if pos == len(self.segments):
                    continue
                step = self.segments[pos]
                if step.kind == "deep":
                    nxt.add(pos)
                elif step.matches(seg):
                    nxt.add(pos + 1)
            alive = _deep_closure(self.segments, nxt)
            if not alive:
                return False
        return len(self.segments) in alive

    def matches_at_or_above(self, path: tuple[Segment, ...]) -> bool:
        """Whether the glob matches the path or one of its ancestors (rules apply below too)."""
        return any(self.matches(path[:n]) for n in range(len(path) + 1))


def _deep_closure(segments: tuple[GlobSegment, ...], positions: set[int]) -> set[int]:
    out = set(positions)
    todo = list(positions)
    while todo:
        pos = todo.pop()
        if pos < len(segments) and segments[pos].kind == "deep" and pos + 1 not in out:
            out.add(pos + 1)
            todo.append(pos + 1)
    return out


def parse_glob(text: str) -> PathGlob:
    """Parse a path glob (``result.*.timestamp``, ``result[*].id``, ``**.when``)."""
    segs: list[GlobSegment] = []
    for kind, value in _tokens(text):
        if kind == "index":
            segs.append(GlobSegment("index", value))
        elif kind == "any_index":
            segs.append(GlobSegment("any_index"))
        elif kind == "quoted":
            segs.append(GlobSegment("name", value))
        else:
            name = str(value)
            if name == "**":
                segs.append(GlobSegment("deep"))
            elif name == "*":
                segs.append(GlobSegment("any"))
            elif "**" in name:
                raise PathError(text, text.find("**"), "'**' must be a whole segment")
            elif "*" in name or "?" in name:
                segs.append(GlobSegment("pattern", name))
            else:
                segs.append(GlobSegment("name", name))
    return PathGlob(text, tuple(segs))
