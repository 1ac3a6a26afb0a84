"""What a diff ignores and how close doubles must be: the ``Rules`` object and its text forms.

Rules come from a TOML file (``parse_rules`` / ``load_rules``) and from command-line flags
(``parse_rule`` for ``METHOD: PATH``, ``parse_tolerance`` for ``[METHOD: PATH =] VALUE``). See
``docs/diff.md`` for the file format and the glob semantics.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Protocol, cast

from rpcspy.diff.difference import KINDS, Kind
from rpcspy.diff.paths import PathError, PathGlob, parse_glob

__all__ = [
    "DEFAULT_RULES",
    "PATH_ROOTS",
    "IgnoreRule",
    "RuleError",
    "Rules",
    "ToleranceRule",
    "load_rules",
    "method_matches",
    "parse_rule",
    "parse_rules",
    "parse_tolerance",
]

#: The names a path may start with (or a wildcard).
PATH_ROOTS = frozenset({"result", "params", "fault", "method"})


class RuleError(ValueError):
    """A rule that cannot be used: says which file, line and key, and why."""

    def __init__(
        self,
        reason: str,
        *,
        line: int | None = None,
        key: str | None = None,
        source: str | None = None,
    ) -> None:
        self.reason = reason
        self.line = line
        self.key = key
        self.source = source
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = [p for p in (self.source, f"line {self.line}" if self.line else None) if p]
        head = ", ".join(where)
        if self.key:
            head = f"{head}: {self.key}" if head else self.key
        return f"{head}: {self.reason}" if head else self.reason

    def __str__(self) -> str:
        return self.message


def _check_path(text: str) -> PathGlob:
    try:
        glob = parse_glob(text)
    except PathError as exc:
        raise RuleError(f"bad path glob {text!r}: {exc.reason} (offset {exc.position})") from None
    if not glob.segments:
        raise RuleError("empty path glob (leave the path out to cover the whole method)")
    first = glob.segments[0]
    if first.kind == "name" and first.value not in PATH_ROOTS:
        roots = ", ".join(sorted(PATH_ROOTS))
        raise RuleError(f"path glob {text!r} must start with one of {roots}, '*' or '**'")
    if first.kind in ("index", "any_index"):
        raise RuleError(f"path glob {text!r} must start with a name, '*' or '**'")
    return glob


def _check_method(method: str) -> str:
    if not method.strip() or method != method.strip():
        raise RuleError(f"bad method glob {method!r}")
    return method


def _check_double(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RuleError(f"tolerance must be a number, not {value!r}")
    if not math.isfinite(value) or value < 0:
        raise RuleError(f"tolerance must be a finite number >= 0, not {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    """Ignore differences of methods matching ``method`` at and below ``path``.

    ``path=None`` covers the whole method. ``kinds`` narrows the rule to those kinds of
    difference (``None``: every kind).
    """

    method: str = "*"
    path: str | None = None
    kinds: frozenset[Kind] | None = None

    def __post_init__(self) -> None:
        _check_method(self.method)
        if self.path is not None:
            _check_path(self.path)
        if self.kinds is not None:
            bad = sorted(set(self.kinds) - set(KINDS))
            if bad or not self.kinds:
                raise RuleError(f"unknown kind(s) {bad} (known: {', '.join(KINDS)})")

    @property
    def whole_method(self) -> bool:
        """Whether the rule drops every difference of the method it matches."""
        return self.path is None and self.kinds is None


@dataclass(frozen=True, slots=True)
class ToleranceRule:
    """Doubles of methods matching ``method`` at and below ``path`` are equal within ``double``.

    The tolerance is absolute: ``abs(old - new) <= double``. ``path=None`` covers every double of
    the method.
    """

    double: float
    method: str = "*"
    path: str | None = None

    def __post_init__(self) -> None:
        _check_double(self.double)
        _check_method(self.method)
        if self.path is not None:
            _check_path(self.path)


@dataclass(frozen=True, slots=True)
class Rules:
    """Ignore and tolerance rules for one diff. Immutable and hashable; combine with ``merged``.

    Several tolerance rules may match one double: one with a path beats one without, and among
    equals the later one wins (so flags given after a file override it).
    """

    ignore: tuple[IgnoreRule, ...] = ()
    tolerances: tuple[ToleranceRule, ...] = ()

    def merged(self, other: Rules) -> Rules:
        """These rules followed by ``other``'s (``other``'s tolerances win ties)."""
        return Rules(self.ignore + other.ignore, self.tolerances + other.tolerances)

    def ignores_method(self, method: str | None) -> bool:
        """Whether a whole-method rule drops every difference of ``method``."""
        return any(r.whole_method and method_matches(r.method, method) for r in self.ignore)

    @classmethod
    def from_flags(cls, ignore: Iterable[str] = (), tolerance: Iterable[str] = ()) -> Rules:
        """Rules from ``--ignore 'METHOD: PATH'`` and ``--tolerance '[METHOD: PATH =] X'`` flags."""
        return cls(
            tuple(parse_rule(t) for t in ignore), tuple(parse_tolerance(t) for t in tolerance)
        )


DEFAULT_RULES = Rules()


def method_matches(pattern: str, method: str | None) -> bool:
    """Whether a method glob covers ``method``; with no method known only ``*`` applies."""
    if method is None:
        return pattern == "*"
    # Method names hold dots ("system.listMethods"), so * spans dots here, unlike in paths.
    return fnmatchcase(method, pattern)


# A path root right after a colon: "demo.random:result" was surely meant as "METHOD: PATH".
_ROOT_START = re.compile(r"(?:result|params|fault|method)(?![\w:])|\*")


def _split_method(text: str) -> tuple[str, str | None]:
    """Split ``METHOD: PATH`` at the first colon followed by white space."""
    m = re.search(r":\s+", text)
    if m is not None:
        return text[: m.start()].strip(), text[m.end() :].strip() or None
    stripped = text.strip()
    if stripped.endswith(":"):
        return stripped[:-1].strip(), None
    colon = stripped.rfind(":")
    if colon >= 0 and _ROOT_START.match(stripped, colon + 1):
        fixed = f"{stripped[:colon]}: {stripped[colon + 1 :]}"
        raise RuleError(
            f"{text!r}: put a space after the colon ({fixed!r}); method names may contain "
            "colons, so 'METHOD:PATH' reads as one method name"
        )
    if re.split(r"[.\[]", stripped, maxsplit=1)[0] in PATH_ROOTS:
        raise RuleError(
            f"{text!r} is ambiguous: write '*: {stripped}' for that path in every method, "
            f"or '{stripped}:' for a method of that name"
        )
    return stripped, None


def parse_rule(text: str) -> IgnoreRule:
    """Parse an ignore flag: ``METHOD: PATH`` or just ``METHOD`` (the whole method).

    ``echoStructTest: result.*.timestamp``, ``*: result.when``, ``demo.random``. The separator is
    a colon followed by a space, since method names may themselves contain colons; a method
    alone may end with a colon (``result.get:``) when it looks like a path.
    """
    method, path = _split_method(text)
    if not method:
        raise RuleError(f"{text!r}: no method (use '*' for every method)")
    return IgnoreRule(method=method, path=path)


def parse_tolerance(text: str) -> ToleranceRule:
    """Parse a tolerance flag: ``1e-9`` (every double), ``PATH = X`` or ``METHOD: PATH = X``."""
    head, eq, value_text = text.rpartition("=")
    if not eq:
        head, value_text = "", text
    try:
        value = float(value_text.strip())
    except ValueError:
        raise RuleError(f"{text!r}: tolerance {value_text.strip()!r} is not a number") from None
    head = head.strip()
    if not head:
        return ToleranceRule(value)
    m = re.search(r":\s+", head)
    if m is None:
        # No method given: the path applies to every method.
        return ToleranceRule(value, "*", head)
    method, path = head[: m.start()].strip(), head[m.end() :].strip()
    return ToleranceRule(value, method or "*", path or None)


# ---------------------------------------------------------------- the rule file

_TOP_KEYS = ("ignore", "tolerance", "tolerate")
_IGNORE_KEYS = ("method", "path", "kinds")
_TOLERATE_KEYS = ("method", "path", "double")


class _Fail(Protocol):
    def __call__(
        self, reason: str, table: str | None, index: int | None, key: str | None
    ) -> RuleError: ...


def parse_rules(text: str, *, source: str | None = None) -> Rules:
    """Parse a rule file's text (TOML). Errors name the source, line and key.

    ```toml
    [tolerance]
    double = 1e-9                       # every double, every method

    [[ignore]]
    method = "echoStructTest"           # glob over method names; default "*"
    path = "result.*.timestamp"         # path glob; omit to ignore the whole method

    [[ignore]]
    kinds = ["untyped"]                 # only these kinds of difference

    [[tolerate]]
    method = "stats.*"
    path = "result.mean"
    double = 1e-6
    ```
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = int(m.group(1)) if m else None
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
        raise RuleError(f"not valid TOML: {reason}", line=line, source=source) from None
    finder = _LineFinder(text)

    def fail(reason: str, table: str | None, index: int | None, key: str | None) -> RuleError:
        label = key if table is None else _key_label(table, index, key)
        return RuleError(reason, line=finder.find(table, index, key), key=label, source=source)

    for key in data:
        if key not in _TOP_KEYS:
            raise fail(f"unknown key (expected one of {', '.join(_TOP_KEYS)})", None, None, key)

    ignores: list[IgnoreRule] = []
    for i, entry in enumerate(_tables(data, "ignore", fail)):
        _only(entry, _IGNORE_KEYS, "ignore", i, fail)
        if not entry:
            raise fail("an [[ignore]] needs a method, a path or kinds", "ignore", i, None)
        method = _field(entry, "method", "ignore", i, fail, _check_method) or "*"
        path = _field(entry, "path", "ignore", i, fail, _check_path)
        kinds = _kinds(entry, i, fail)
        ignores.append(IgnoreRule(method, path, kinds))

    tolerances: list[ToleranceRule] = []
    tolerance = data.get("tolerance")
    if tolerance is not None:
        if not isinstance(tolerance, dict):
            raise fail("must be a table: [tolerance] with double = X", None, None, "tolerance")
        for key in tolerance:
            if key != "double":
                raise fail("unknown key (expected double)", "tolerance", None, key)
        if "double" in tolerance:
            tolerances.append(ToleranceRule(_double(tolerance, "tolerance", None, fail)))
    for i, entry in enumerate(_tables(data, "tolerate", fail)):
        _only(entry, _TOLERATE_KEYS, "tolerate", i, fail)
        if "double" not in entry:
            raise fail("missing key double (the tolerance)", "tolerate", i, None)
        method = _field(entry, "method", "tolerate", i, fail, _check_method) or "*"
        path = _field(entry, "path", "tolerate", i, fail, _check_path)
        tolerances.append(ToleranceRule(_double(entry, "tolerate", i, fail), method, path))
    return Rules(tuple(ignores), tuple(tolerances))


def load_rules(path: str | Path) -> Rules:
    """Read and parse a rule file; errors name the file, line and key."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"cannot read rule file: {exc}", source=str(p)) from None
    return parse_rules(text, source=str(p))


# ---------------------------------------------------------------- helpers for the file parser


def _key_label(table: str, index: int | None, key: str | None) -> str:
    where = f"[[{table}]] #{index + 1}" if index is not None else f"[{table}]"
    return f"{where} {key}" if key else where


def _tables(data: Mapping[str, object], name: str, fail: _Fail) -> list[dict[str, object]]:
    raw = data.get(name)
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
        raise fail(f"must be an array of tables: [[{name}]]", None, None, name)
    return cast("list[dict[str, object]]", raw)


def _only(
    entry: Mapping[str, object], keys: tuple[str, ...], table: str, i: int, fail: _Fail
) -> None:
    for key in entry:
        if key not in keys:
            raise fail(f"unknown key (expected one of {', '.join(keys)})", table, i, key)


def _field(
    entry: Mapping[str, object],
    key: str,
    table: str,
    i: int,
    fail: _Fail,
    check: Callable[[str], object],
) -> str | None:
    if key not in entry:
        return None
    value = entry[key]
    if not isinstance(value, str):
        raise fail(f"must be a string, not {_toml_type(value)}", table, i, key)
    try:
        check(value)
    except RuleError as exc:
        raise fail(exc.reason, table, i, key) from None
    return value


def _double(entry: Mapping[str, object], table: str, i: int | None, fail: _Fail) -> float:
    value = entry["double"]
    try:
        return _check_double(value)
    except RuleError as exc:
        raise fail(exc.reason, table, i, "double") from None


def _toml_type(value: object) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a float",
        str: "a string",
        list: "an array",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)


def _kinds(entry: Mapping[str, object], i: int, fail: _Fail) -> frozenset[Kind] | None:
    if "kinds" not in entry:
        return None
    raw = entry["kinds"]
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw or not all(isinstance(k, str) for k in raw):
        raise fail("must be a non-empty array of kind names", "ignore", i, "kinds")
    bad = [k for k in raw if k not in KINDS]
    if bad:
        raise fail(f"unknown kind {bad[0]!r} (known: {', '.join(KINDS)})", "ignore", i, "kinds")
    return frozenset(cast("list[Kind]", raw))


class _LineFinder:
    """Finds the line of a table entry's key in TOML text (tomllib does not report positions).

    A best effort over the usual layout (``[[ignore]]`` headers, one key per line); ``None`` when
    the file uses inline tables or other forms it does not follow.
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?\s*(#.*)?$")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def find(self, table: str | None, index: int | None, key: str | None) -> int | None:
        start, end = self._section(table, index)
        if start is None:
            return None
        if key is None:
            return start + 1 if table is not None else None
        key_re = re.compile(rf"^\s*(\"{re.escape(key)}\"|{re.escape(key)})\s*=")
        for n in range(start, end):
            if key_re.match(self.lines[n]):
                return n + 1
        if table is None:
            header = re.compile(rf"^\s*\[\[?\s*{re.escape(key)}\s*\]\]?")
            for n, line in enumerate(self.lines):
                if header.match(line):
                    return n + 1
        return start + 1 if table is not None else None

    def _section(self, table: str | None, index: int | None) -> tuple[int | None, int]:
        headers = [
            (n, m)
            for n, line in enumerate(self.lines)
            if (m := self._HEADER.match(line)) is not None
        ]
        if table is None:
            first = headers[0][0] if headers else len(self.lines)
            return 0, first
        seen = 0
        for k, (n, m) in enumerate(headers):
            if m.group(2) != table:
                continue
            if index is None or seen == index:
                end = headers[k + 1][0] if k + 1 < len(headers) else len(self.lines)
                return n, end
            seen += 1
        return None, 0
