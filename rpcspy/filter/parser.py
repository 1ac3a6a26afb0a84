"""Parse the call filter language into a syntax tree (``rpcspy.filter.ast``).

The grammar, loosest binding first::

    filter  := or?
    or      := and ( ("or" | "||" | "|") and )*
    and     := unary ( ("and" | "&&" | "&")? unary )*      # adjacent terms are and-ed
    unary   := ("not" | "!") unary | "(" or ")" | term
    term    := flag | field ":" value | path-test | measure op quantity | text

Every error is a ``FilterError`` with the 1-based column where the problem starts and a reason
written for the person typing (what was expected, and an example).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Final, Literal, cast

from rpcspy.filter.ast import (
    WILDCARD,
    All,
    And,
    Client,
    Compare,
    ErrorFlag,
    FaultTest,
    FindingRule,
    Latency,
    MethodGlob,
    Multicall,
    Node,
    Nonconformant,
    Not,
    OkFlag,
    Or,
    Origin,
    PathSegment,
    PathTest,
    ProblemFlag,
    Protocol,
    Size,
    Status,
    Text,
)
from rpcspy.xmlrpc.findings import RULES

__all__ = ["FIELDS", "FLAGS", "MEASURES", "TYPE_NAMES", "FilterError", "parse_tree"]


class FilterError(ValueError):
    """A filter expression that does not parse: ``column`` (1-based) and ``reason``."""

    def __init__(self, reason: str, column: int, length: int = 1) -> None:
        self.reason = reason
        self.column = column
        #: How many characters the problem spans (for underlining in the UI).
        self.length = max(1, length)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """``column 7: reason``."""
        return f"column {self.column}: {self.reason}"


#: Words that are a whole test on their own.
FLAGS: Final[dict[str, Node]] = {
    "fault": FaultTest(),
    "ok": OkFlag(),
    "problem": ProblemFlag(),
    "error": ErrorFlag(),
    "multicall": Multicall(),
    "nonconformant": Nonconformant(),
}
#: ``NAME:value`` fields.
FIELDS: Final = ("method", "fault", "origin", "protocol", "status", "client", "finding")
#: ``NAME<op>quantity`` measures; ``duration`` is another name for ``latency``.
MEASURES: Final = ("latency", "duration", "size")
_ROOTS: Final = ("params", "result")
_OPERATOR_WORDS: Final = {"and": "and", "or": "or", "not": "not"}
_ORIGINS: Final = ("proxy", "replay", "resent", "import")
#: The protocols a capture names (``rpcspy.capture.index.PROTOCOLS``).
_PROTOCOLS: Final = ("xmlrpc", "oncrpc", "rpyc")

#: Wire type names accepted after ``path:`` (``params[0]:i4``); ``untyped`` is the bare string.
TYPE_NAMES: Final = (
    "i4",
    "int",
    "i8",
    "boolean",
    "string",
    "untyped",
    "double",
    "dateTime.iso8601",
    "base64",
    "nil",
    "struct",
    "array",
    "ex:i1",
    "ex:i2",
    "ex:i8",
    "ex:biginteger",
    "ex:bigdecimal",
    "ex:float",
    "ex:dateTime",
    "ex:dom",
    "ex:serializable",
    "ex:nil",
)
_TYPE_BY_LOWER: Final = {t.lower(): t for t in TYPE_NAMES} | {"datetime": "dateTime.iso8601"}

_COMPARE_RE: Final = re.compile(r">=|<=|!=|>|<|=")
_PATH_OP_RE: Final = re.compile(r">=|<=|!=|>|<|=|~")
_HEAD_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LATENCY_RE: Final = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(us|µs|ms|s|m)?\Z", re.IGNORECASE)
_SIZE_RE: Final = re.compile(
    r"(\d+(?:\.\d*)?|\.\d+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\Z", re.IGNORECASE
)
_LATENCY_UNITS: Final = {"us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_SIZE_UNITS: Final = {
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "kib": 1024,
    "m": 1 << 20,
    "mb": 1 << 20,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gb": 1 << 30,
    "gib": 1 << 30,
}
_NAME_STOP: Final = frozenset(".[]=<>!~:\"'")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: Literal["word", "(", ")", "and", "or", "not", "end"]
    text: str
    #: 0-based offset of the first character in the whole expression.
    start: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            tokens.append(_Token(cast(Literal["(", ")"], c), c, i))
            i += 1
        elif text.startswith(("&&", "||"), i):
            tokens.append(_Token("and" if c == "&" else "or", text[i : i + 2], i))
            i += 2
        elif c in "&|":
            tokens.append(_Token("and" if c == "&" else "or", c, i))
            i += 1
        elif c == "!" and not text.startswith("!=", i):
            tokens.append(_Token("not", c, i))
            i += 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in "()":
                if text[i] in "\"'":
                    i = _skip_quoted(text, i)
                else:
                    i += 1
            word = text[start:i]
            kind = _OPERATOR_WORDS.get(word.lower())
            tokens.append(
                _Token(cast(Literal["and", "or", "not"], kind), word, start)
                if kind
                else _Token("word", word, start)
            )
    tokens.append(_Token("end", "", n))
    return tokens


def _skip_quoted(text: str, i: int) -> int:
    """Index just past the quoted run starting at ``i`` (a quote character)."""
    quote = text[i]
    j = i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == quote:
            return j + 1
        j += 1
    raise FilterError(f"unterminated quoted text: add the closing {quote}", i + 1, len(text) - i)


def _unquote(raw: str, start: int) -> str:
    """The text of a quoted run (with its quotes) or of a bare run; a backslash escapes a
    character."""
    if not raw or raw[0] not in "\"'":
        return raw
    quote = raw[0]
    if len(raw) < 2 or raw[-1] != quote:
        raise FilterError(f"unterminated quoted text: add the closing {quote}", start + 1, len(raw))
    out: list[str] = []
    j = 1
    while j < len(raw) - 1:
        if raw[j] == "\\" and j + 1 < len(raw) - 1:
            out.append(raw[j + 1])
            j += 2
        else:
            out.append(raw[j])
            j += 1
    return "".join(out)


def _is_quoted(raw: str) -> bool:
    if len(raw) < 2 or raw[0] not in "\"'":
        return False
    try:
        return _skip_quoted(raw, 0) == len(raw)
    except FilterError:
        return False


def _suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> Node:
        if self.tok.kind == "end":
            return All()
        node = self.parse_or()
        tok = self.tokens[self.pos]
        if tok.kind == ")":
            raise FilterError("unexpected ')': there is no '(' to close", tok.start + 1)
        return node

    def _expect_operand(self, after: _Token) -> None:
        tok = self.tok
        if tok.kind in ("end", ")", "and", "or"):
            what = "the end" if tok.kind == "end" else repr(tok.text)
            raise FilterError(
                f"expected a filter after {after.text!r}, found {what}",
                (tok.start if tok.kind != "end" else after.start) + 1,
                len(tok.text) if tok.kind != "end" else len(after.text),
            )

    def parse_or(self) -> Node:
        left = self.parse_and()
        while self.tok.kind == "or":
            op = self.advance()
            self._expect_operand(op)
            left = Or(left, self.parse_and())
        return left

    def parse_and(self) -> Node:
        left = self.parse_unary()
        while True:
            kind = self.tok.kind
            if kind == "and":
                op = self.advance()
                self._expect_operand(op)
            elif kind not in ("word", "(", "not"):
                return left
            left = And(left, self.parse_unary())

    def parse_unary(self) -> Node:
        tok = self.tok
        if tok.kind == "not":
            self.advance()
            self._expect_operand(tok)
            return Not(self.parse_unary())
        if tok.kind == "(":
            self.advance()
            if self.tok.kind == ")":
                raise FilterError("empty parentheses: put a filter between them", tok.start + 1, 2)
            if self.tok.kind == "end":
                raise FilterError("unclosed '(': add a filter and a ')'", tok.start + 1)
            inner = self.parse_or()
            if self.tokens[self.pos].kind != ")":
                raise FilterError("unclosed '(': add the matching ')'", tok.start + 1)
            self.advance()
            return inner
        if tok.kind == "word":
            self.advance()
            return _parse_term(tok.text, tok.start)
        if tok.kind == ")":
            raise FilterError("unexpected ')': there is no '(' to close", tok.start + 1)
        if tok.kind in ("and", "or"):
            raise FilterError(
                f"{tok.text!r} needs a filter on its left, e.g. 'fault {tok.text} ok'",
                tok.start + 1,
                len(tok.text),
            )
        raise FilterError("expected a filter", tok.start + 1)  # pragma: no cover


def _parse_term(word: str, start: int) -> Node:
    if _is_quoted(word):
        return Text(_unquote(word, start))
    head_match = _HEAD_RE.match(word)
    if head_match is None:
        return Text(_unquote_all(word, start))
    head = head_match.group(0)
    lower = head.lower()
    rest = word[head_match.end() :]
    rest_start = start + head_match.end()
    if lower in _ROOTS and (not rest or rest[0] in ".[=<>!~:"):
        return _parse_path(cast(Literal["params", "result"], lower), rest, rest_start)
    if lower in MEASURES and rest and rest[0] in "<>=!":
        return _parse_measure(lower, rest, rest_start)
    if not rest:
        flag = FLAGS.get(lower)
        if flag is not None:
            return flag
        return Text(word)
    if rest[0] == ":":
        if lower not in FIELDS:
            known = [*FIELDS, *MEASURES, *_ROOTS]
            raise FilterError(
                f"unknown field {head!r}{_suggest(lower, known)}; fields are "
                + ", ".join(f"{f}:" for f in FIELDS)
                + "; quote text to search for it",
                start + 1,
                len(head),
            )
        return _parse_field(lower, rest[1:], rest_start + 2)
    if _COMPARE_RE.match(rest) or rest[0] == "~":
        known = [*MEASURES, *_ROOTS]
        raise FilterError(
            f"unknown field {head!r}{_suggest(lower, known)}: comparisons work on latency, size, "
            "params[...] and result; quote text to search for it",
            start + 1,
            len(head),
        )
    return Text(_unquote_all(word, start))


def _unquote_all(word: str, start: int) -> str:
    """A bare word with quoted runs inside (``a"b c"d``): the runs lose their quotes."""
    if "'" not in word and '"' not in word:
        return word
    out: list[str] = []
    i = 0
    while i < len(word):
        if word[i] in "\"'":
            j = _skip_quoted(word, i)
            out.append(_unquote(word[i:j], start + i))
            i = j
        else:
            out.append(word[i])
            i += 1
    return "".join(out)


def _parse_field(name: str, value_raw: str, value_start: int) -> Node:
    # value_start is the 1-based column of the value's first character.
    if not value_raw:
        examples = {
            "method": "method:system.*",
            "fault": "fault:-32601",
            "origin": "origin:resent",
            "protocol": "protocol:oncrpc",
            "status": "status:500",
            "client": "client:127.0.0.1",
            "finding": "finding:fault-code-not-int",
        }
        raise FilterError(
            f"expected a value after '{name}:', e.g. {examples[name]}",
            value_start,
            1,
        )
    value = _unquote(value_raw, value_start - 1)
    if name == "method":
        return MethodGlob(value)
    if name == "client":
        return Client(value)
    if name == "finding":
        if not any(c in value for c in "*?[") and value not in RULES:
            raise FilterError(
                f"unknown finding rule {value!r}{_suggest(value, list(RULES))}; "
                "the rules are listed in docs/conformance.md (a glob like fault-* works too)",
                value_start,
                len(value_raw),
            )
        return FindingRule(value)
    if name == "fault":
        try:
            return FaultTest(int(value))
        except ValueError:
            raise FilterError(
                f"a fault code is an integer, e.g. fault:-32601, not {value!r}",
                value_start,
                len(value_raw),
            ) from None
    if name == "status":
        if not value.isdigit() or not 100 <= int(value) <= 599:
            raise FilterError(
                f"an HTTP status is a number from 100 to 599, e.g. status:500, not {value!r}",
                value_start,
                len(value_raw),
            )
        return Status(int(value))
    if name == "protocol":
        if value.lower() not in _PROTOCOLS:
            raise FilterError(
                f"unknown protocol {value!r}{_suggest(value, _PROTOCOLS)}; protocols are "
                + ", ".join(_PROTOCOLS),
                value_start,
                len(value_raw),
            )
        return Protocol(value.lower())
    # origin
    if value.lower() not in _ORIGINS:
        raise FilterError(
            f"unknown origin {value!r}{_suggest(value, _ORIGINS)}; origins are "
            + ", ".join(_ORIGINS),
            value_start,
            len(value_raw),
        )
    return Origin(value.lower())


def _parse_measure(name: str, rest: str, rest_start: int) -> Node:
    m = _COMPARE_RE.match(rest)
    if m is None:
        raise FilterError(
            f"expected a comparison after {name!r}: >, >=, <, <=, = or !=", rest_start + 1
        )
    op = cast(Compare, m.group(0))
    qty = rest[m.end() :]
    qty_start = rest_start + m.end()
    if name == "size":
        sm = _SIZE_RE.match(qty)
        if not qty or sm is None:
            raise FilterError(
                f"expected a size after 'size{op}', e.g. size{op}10kb (units b, kb, mb, gb)",
                qty_start + 1,
                max(1, len(qty)),
            )
        unit = (sm.group(2) or "b").lower()
        return Size(op, int(float(sm.group(1)) * _SIZE_UNITS[unit]))
    lm = _LATENCY_RE.match(qty)
    if not qty or lm is None:
        raise FilterError(
            f"expected a duration after '{name}{op}', e.g. {name}{op}200ms (units us, ms, s, m)",
            qty_start + 1,
            max(1, len(qty)),
        )
    unit = (lm.group(2) or "ms").lower()
    return Latency(op, float(lm.group(1)) * _LATENCY_UNITS[unit])


def _parse_path(root: Literal["params", "result"], rest: str, rest_start: int) -> Node:
    segments: list[PathSegment] = []
    i = 0
    n = len(rest)

    def col(k: int) -> int:
        return rest_start + k + 1

    while i < n and rest[i] in ".[":
        if rest[i] == ".":
            j = i + 1
            if j < n and rest[j] == "*":
                segments.append(WILDCARD)
                i = j + 1
                continue
            while j < n and rest[j] not in _NAME_STOP:
                j += 1
            if j == i + 1:
                raise FilterError(
                    "expected a member name after '.', e.g. params[0].name "
                    '(use ["odd name"] for names with symbols)',
                    col(i),
                )
            segments.append(rest[i + 1 : j])
            i = j
            continue
        # '['
        j = i + 1
        if j < n and rest[j] in "\"'":
            end = _skip_quoted_at(rest, j, col(j))
            name = _unquote(rest[j:end], col(j) - 1)
            if end >= n or rest[end] != "]":
                raise FilterError("expected ']' after the member name", col(end))
            segments.append(name)
            i = end + 1
            continue
        k = rest.find("]", j)
        if k < 0:
            raise FilterError("expected ']' to close '['", col(i))
        inner = rest[j:k].strip()
        if inner == "*":
            segments.append(WILDCARD)
        elif inner.isdigit():
            segments.append(int(inner))
        else:
            raise FilterError(
                f"expected an index, '*' or a quoted member name inside [], not {inner!r}",
                col(j),
                max(1, k - j),
            )
        i = k + 1
    tail = rest[i:]
    if not tail:
        return PathTest(root, tuple(segments))
    if tail[0] == ":":
        type_raw = tail[1:]
        tag = _TYPE_BY_LOWER.get(type_raw.lower())
        if tag is None:
            raise FilterError(
                f"unknown XML-RPC type {type_raw!r}{_suggest(type_raw, list(TYPE_NAMES))}; "
                "e.g. params[0]:i4, result.name:string",
                col(i + 1),
                max(1, len(type_raw)),
            )
        return PathTest(root, tuple(segments), type_tag=tag)
    m = _PATH_OP_RE.match(tail)
    if m is None:
        raise FilterError(
            f"unexpected {tail[0]!r} in the path: expected '.', '[', an operator "
            "(=, !=, ~, >, >=, <, <=) or ':type'",
            col(i),
        )
    op = cast("Compare | Literal['~']", m.group(0))
    value_raw = tail[m.end() :]
    if not value_raw:
        raise FilterError(f"expected a value after {op!r}, e.g. {root}[0]{op}bob", col(i + m.end()))
    value = _unquote(value_raw, col(i + m.end()) - 1)
    return PathTest(root, tuple(segments), op=op, value=value)


def _skip_quoted_at(text: str, i: int, column: int) -> int:
    try:
        return _skip_quoted(text, i)
    except FilterError as exc:
        raise FilterError(exc.reason, column, exc.length) from None


def parse_tree(text: str) -> Node:
    """Parse ``text`` into a syntax tree; raises ``FilterError`` with the column of the problem."""
    return _Parser(text).parse()
