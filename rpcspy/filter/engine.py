"""The filter engine: evaluates a filter tree on the rows of a capture index.

Strategy: a chunk of rows at a time, each test gives a 0/1 byte mask, combined with big-integer
bit operations. Every predicate has one home:

- method, fault, ok, problem, error, multicall, nonconformant, finding, latency, size, status,
  origin, protocol, client: the index columns (``bytes.translate`` of the flags, interned-id
  lookups, ``map`` over numbers; ``finding:RULE`` looks only at the rows with findings);
- type tests and bare path tests (``params[0].id:string``, ``params[1]``): once per distinct
  *shape* (``CaptureIndex.shapes``), then an id lookup per row;
- text and value tests (``bob``, ``params[0].name=bob``): once per distinct *content* (the
  messages JSON, stored once per content by the index; rows share it by offset), the raw bytes
  searched for the words first so that only contents that hold them are decoded
  (``rpcspy.filter.jsonmatch``).

A single record (``matches``) is evaluated the same way, as a one-row index, so ``show``,
``replay --only``, ``mock --only`` and the TUI cannot disagree.
"""

from __future__ import annotations

import fnmatch
import re
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal, InvalidOperation
from itertools import compress
from typing import TYPE_CHECKING, Any, Final

import orjson

from rpcspy.capture._columns import row_range
from rpcspy.capture.index import (
    BAD_TABLE,
    CHUNK,
    F_ERROR,
    F_FAULT,
    F_MULTICALL,
    F_NONCONFORMANT,
    F_OK,
    FAULTY_TABLE,
    FLAG_TABLES,
    MEMORY_BIT,
    CaptureIndex,
    index_records,
)
from rpcspy.filter.ast import (
    All,
    And,
    Client,
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
    PathTest,
    ProblemFlag,
    Protocol,
    Size,
    Status,
    Text,
)
from rpcspy.filter.jsonmatch import matches_messages, matches_shape

if TYPE_CHECKING:
    from rpcspy.capture import CallRecord

__all__ = ["Cancelled", "filter_rows", "matches"]


class Cancelled(Exception):
    """Raised inside ``filter_rows`` when its ``cancelled`` callback says so."""


def matches(node: Node, record: CallRecord) -> bool:
    """Does ``record`` pass the filter tree ``node``? (The engine on a one-row index.)"""
    return bool(filter_rows(index_records((record,)), node))


def filter_rows(
    index: CaptureIndex,
    flt: Any,
    start: int = 0,
    stop: int | None = None,
    *,
    cancelled: Callable[[], bool] = lambda: False,
    progress: Callable[[int], None] | None = None,
) -> array[int]:
    """Rows of ``index`` in ``[start, stop)`` that pass ``flt`` (a ``Filter`` or a tree), in row
    order. Raises ``Cancelled`` when ``cancelled()`` turns true between chunks."""
    tree: Node = getattr(flt, "tree", flt)
    stop = index.count if stop is None else min(stop, index.count)
    if isinstance(tree, All):
        return row_range(start, stop)
    out = array("i")
    run = _Run(index)
    a = start
    while a < stop:
        if cancelled():
            raise Cancelled
        b = min(stop, a + CHUNK)
        mask = run.mask(tree, a, b, b"\x01" * (b - a))
        out.extend(compress(range(a, b), mask))
        a = b
        if progress is not None:
            progress(a)
    return out


def _and(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a) & int.from_bytes(b)).to_bytes(len(a))


def _or(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a) | int.from_bytes(b)).to_bytes(len(a))


def _and_not(a: bytes, b: bytes) -> bytes:
    """``a`` and not ``b``."""
    ia = int.from_bytes(a)
    return (ia & ~int.from_bytes(b) & ia).to_bytes(len(a))


#: Contents remembered per filter run (offset -> verdict), so each is decoded once.
_MEMO_MAX: Final = 500_000


class _Run:
    """One evaluation of a tree over an index: per-node caches live as long as it."""

    def __init__(self, index: CaptureIndex) -> None:
        self.index = index
        self._shape_ids: dict[PathTest, set[int]] = {}
        self._shape_count: dict[PathTest, int] = {}
        self._verdicts: dict[Node, dict[int, bool]] = {}
        self._hits: dict[Node, set[int]] = {}
        self._rules_memo: dict[FindingRule, tuple[tuple[int, int], list[int]]] = {}

    def mask(self, node: Node, a: int, b: int, within: bytes) -> bytes:
        """0/1 per row of ``[a, b)``: exact where ``within`` is 1, and 0 where it is 0."""
        if b"\x01" not in within:
            return within
        ix = self.index
        match node:
            case All():
                return within
            case And(left, right):
                # Cheap column tests first, so costly content tests see fewer rows.
                first, second = (left, right) if _cost(left) <= _cost(right) else (right, left)
                return self.mask(second, a, b, self.mask(first, a, b, within))
            case Or(left, right):
                first, second = (left, right) if _cost(left) <= _cost(right) else (right, left)
                m1 = self.mask(first, a, b, within)
                return _or(m1, self.mask(second, a, b, _and_not(within, m1)))
            case Not(operand):
                return _and_not(within, self.mask(operand, a, b, within))
            case FaultTest(code=None):
                m = bytes(ix.flags[a:b]).translate(FAULTY_TABLE)
            case FaultTest(code=int(code)):
                top = bytes(ix.flags[a:b]).translate(FLAG_TABLES[F_FAULT])
                m = _and(top, bytes(map(code.__eq__, ix.fault[a:b])))
                m = _merge_rows(m, a, b, (r for r, cs in ix.sub_faults.items() if code in cs))
            case OkFlag():
                m = bytes(ix.flags[a:b]).translate(FLAG_TABLES[F_OK])
            case ProblemFlag():
                m = bytes(ix.flags[a:b]).translate(BAD_TABLE)
            case ErrorFlag():
                m = bytes(ix.flags[a:b]).translate(FLAG_TABLES[F_ERROR])
            case Multicall():
                m = bytes(ix.flags[a:b]).translate(FLAG_TABLES[F_MULTICALL])
            case Nonconformant():
                m = bytes(ix.flags[a:b]).translate(FLAG_TABLES[F_NONCONFORMANT])
            case FindingRule():
                rows = self._rule_rows(node)
                m = _merge_rows(
                    bytes(b - a), a, b, rows[bisect_left(rows, a) : bisect_left(rows, b)]
                )
            case MethodGlob(pattern):
                names = ix.methods.names
                ids = {i for i, name in enumerate(names) if name and _glob(name, pattern)}
                m = _id_mask(ix.method, len(names), ids, a, b)
                m = _merge_rows(
                    m, a, b, (r for r, ms in ix.sub_methods.items() if not ids.isdisjoint(ms))
                )
            case Client(pattern):
                names = ix.clients.names
                ids = {
                    i
                    for i, name in enumerate(names)
                    if name != "-"
                    and (
                        fnmatch.fnmatchcase(name, pattern)
                        or fnmatch.fnmatchcase(name.rpartition(":")[0], pattern)
                    )
                }
                m = _id_mask(ix.client, len(names), ids, a, b)
            case Origin(name):
                oid = ix.origins.ids.get(name, -1)
                m = bytes(ix.origin[a:b]).translate(bytes(int(i == oid) for i in range(256)))
            case Protocol(name):
                # (exact, ignoring case: the parser gives the name in lower case)
                pids = {i for i, n in enumerate(ix.protocols.names) if n.lower() == name}
                m = bytes(ix.protocol[a:b]).translate(bytes(int(i in pids) for i in range(256)))
            case Status(code):
                m = bytes(map(code.__eq__, ix.status[a:b]))
            case Latency(op, ms):
                m = bytes(map(_number_test(op, ms), ix.duration[a:b]))
                if op == "!=":
                    # NaN (no response) is unequal to everything, but has no latency at all.
                    m = _and(m, bytes(map(_is_number, ix.duration[a:b])))
            case Size(op, size):
                m = bytes(map(_number_test(op, size), ix.size[a:b]))
            case PathTest(value=None):
                m = self._shape_mask(node, a, b)
            case PathTest():
                # A value test needs the path to exist: the shapes rule most rows out first.
                exists = PathTest(node.root, node.path)
                within = _and(within, self._shape_mask(exists, a, b))
                return self._content_mask(node, a, b, within)
            case Text():
                return self._content_mask(node, a, b, within)
            case _:  # pragma: no cover - every node is handled above
                raise TypeError(f"not a filter node: {node!r}")
        return _and(m, within)

    # ------------------------------------------------------------ findings

    def _rule_rows(self, node: FindingRule) -> list[int]:
        """Sorted rows with a finding of a rule the glob matches (worked out once per run, then
        again only when rows were added)."""
        ix = self.index
        key = (len(ix.row_rules), len(ix.rules.names))
        known = self._rules_memo.get(node)
        if known is not None and known[0] == key:
            return known[1]
        ids = {i for i, name in enumerate(ix.rules.names) if _glob(name, node.pattern)}
        rows = sorted(r for r, rs in ix.row_rules.items() if not ids.isdisjoint(rs)) if ids else []
        self._rules_memo[node] = (key, rows)
        return rows

    # ------------------------------------------------------------ shapes

    def _shape_mask(self, node: PathTest, a: int, b: int) -> bytes:
        ix = self.index
        names = ix.shapes.names
        ids = self._shape_ids.setdefault(node, set())
        done = self._shape_count.get(node, 0)
        for i in range(done, len(names)):
            if matches_shape(node, orjson.loads(names[i])):
                ids.add(i)
        self._shape_count[node] = len(names)
        return _id_mask(ix.shape, len(names), ids, a, b)

    # ------------------------------------------------------------ contents

    def _content_mask(self, node: Text | PathTest, a: int, b: int, within: bytes) -> bytes:
        ix = self.index
        if b"\x01" not in within:
            return within
        verdicts = self._verdicts.setdefault(node, {})
        if len(verdicts) > _MEMO_MAX:
            verdicts.clear()
        offs = ix.text_off[a:b]
        lens = ix.text_len[a:b]
        todo = {o: n for o, n in compress(zip(offs, lens, strict=True), within)}
        for o in list(todo):
            if o in verdicts:
                del todo[o]
        if todo:
            self._judge(node, todo, verdicts)
        hits = self._hits.setdefault(node, set())
        hits.update(o for o in todo if verdicts[o])
        return _and(bytes(map(hits.__contains__, offs)), within)

    def _judge(
        self, node: Text | PathTest, todo: dict[int, int], verdicts: dict[int, bool]
    ) -> None:
        """Decide each content in ``todo`` (offset -> length) once."""
        ix = self.index
        needles = _raw_needles(node)
        file_offs = sorted(o for o in todo if o < MEMORY_BIT)
        for o in todo:
            if o >= MEMORY_BIT:
                verdicts[o] = _decide(node, ix.messages(o, todo[o]), needles)
        for group in _pieces(file_offs, todo):
            lo = group[0]
            hi = group[-1] + todo[group[-1]]
            assert ix.texts is not None
            blob = ix.texts.read(lo, hi - lo)
            # Bytes are lowercased as ASCII: a non-ASCII text may casefold onto a word.
            words = needles if blob.isascii() else []
            low = blob.lower() if words else blob
            for o in group:
                s = o - lo
                e = s + todo[o]
                if words and not all(low.find(n, s, e) >= 0 for n in needles):
                    verdicts[o] = False
                    continue
                verdicts[o] = matches_messages(node, orjson.loads(blob[s:e]))


def _decide(node: Text | PathTest, text: bytes, needles: list[bytes]) -> bool:
    if needles and text.isascii():
        low = text.lower()
        if not all(n in low for n in needles):
            return False
    return matches_messages(node, orjson.loads(text))


#: Largest single read of the messages file (bounds the memory a content test takes).
_PIECE_BYTES: Final = 8 << 20
#: Contents closer than this are read in one go, the bytes between them read and ignored.
_GAP_BYTES: Final = 64 << 10


def _pieces(offsets: list[int], lengths: dict[int, int]) -> Iterator[list[int]]:
    """Group sorted offsets into runs that one read of at most ``_PIECE_BYTES`` covers."""
    piece: list[int] = []
    start = end = 0
    for o in offsets:
        e = o + lengths[o]
        if piece and (o - end > _GAP_BYTES or e - start > _PIECE_BYTES):
            yield piece
            piece = []
        if not piece:
            start = o
        piece.append(o)
        end = max(end, e)
    if piece:
        yield piece


# ---------------------------------------------------------------- helpers for masks


def _id_mask(column: array[int], n_ids: int, ids: set[int], a: int, b: int) -> bytes:
    if not ids:
        return bytes(b - a)
    # Every id in rows below ``count`` was interned before its row was appended.
    lookup = bytes(1 if i in ids else 0 for i in range(n_ids))
    return bytes(map(lookup.__getitem__, column[a:b]))


def _merge_rows(m: bytes, a: int, b: int, rows: Iterable[int]) -> bytes:
    extra = [r for r in rows if a <= r < b]
    if not extra:
        return m
    out = bytearray(m)
    for r in extra:
        out[r - a] = 1
    return bytes(out)


def _glob(name: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern)


def _number_test(op: str, value: float) -> Callable[[float], bool]:
    # Bound methods of the constant run in C inside map(); NaN compares false, as wanted.
    v = float(value)
    if op == ">":
        return v.__lt__
    if op == ">=":
        return v.__le__
    if op == "<":
        return v.__gt__
    if op == "<=":
        return v.__ge__
    if op == "=":
        return v.__eq__
    return v.__ne__


def _is_number(d: float) -> bool:
    return d == d


def _cost(node: Node) -> int:
    if isinstance(node, Text | PathTest):
        return 10
    if isinstance(node, And | Or):
        return max(_cost(node.left), _cost(node.right))
    if isinstance(node, Not):
        return _cost(node.operand)
    return 1


_NUMBERISH: Final = re.compile(r"^[\s+\-0-9.eE]*$")


def _safe_needle(text: str) -> bytes | None:
    """The lowercased bytes to look for in raw JSON, or None when the raw form may differ."""
    if not text or not text.isascii():
        return None
    if any(c in text for c in '"\\') or any(ord(c) < 0x20 for c in text):
        return None
    if _NUMBERISH.match(text) and any(c in "eE" for c in text):
        return None  # exponent forms are spelled differently by Python and JSON writers
    return text.lower().encode("ascii")


def _raw_needles(node: Text | PathTest) -> list[bytes]:
    """Words that must be in the raw messages JSON of any call the node matches."""
    if isinstance(node, Text):
        n = _safe_needle(node.text)
        return [n] if n else []
    out: list[bytes] = []
    if node.value is not None and node.op in ("=", "~"):
        try:
            Decimal(node.value.strip())
        except InvalidOperation:
            # Numbers are spelled many ways (5, 5.0, 0005); text is spelled as it is.
            n = _safe_needle(node.value)
            if n:
                out.append(n)
    for seg in node.path:
        if isinstance(seg, str):
            n = _safe_needle(seg)
            if n:
                out.append(b'"' + n + b'"')
    return out
