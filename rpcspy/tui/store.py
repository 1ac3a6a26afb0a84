"""The TUI's view of a capture: compact columns for every call, full records only on demand.

A million ``CallRecord`` objects would not fit the memory budget, so the store keeps, per call, a
few numbers in ``array`` columns (byte offset of its line, start time, duration, outcome flags,
fault code, an id into an interned method table ...) and builds the full record lazily, from its
line in the file, for the rows on screen (an LRU keeps the recent ones).

Filters run on the columns where they can (method glob, fault, latency, ok, size ...), a chunk of
rows at a time, as 0/1 byte masks combined with big-integer bit operations. Text and param-path
tests first look for their words in the raw bytes of the chunk and only decode the lines that
contain them.

Nothing here imports Textual; the app drives the store from worker threads. Columns only grow,
and each batch is appended under a lock, so readers may use ``count`` rows at any time.
"""

from __future__ import annotations

import bisect
import contextlib
import fnmatch
import math
import os
import re
import tempfile
import threading
import time
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from rpcspy.capture.summary import call_size
from rpcspy.filter import Filter
from rpcspy.filter.ast import (
    All,
    And,
    Client,
    ErrorFlag,
    FaultTest,
    Latency,
    MethodGlob,
    Multicall,
    Node,
    Not,
    OkFlag,
    Or,
    Origin,
    PathTest,
    ProblemFlag,
    Size,
    Status,
    Text,
)
from rpcspy.filter.evaluate import matches
from rpcspy.xmlrpc.messages import Fault

if TYPE_CHECKING:
    from rpcspy.capture.record import CallRecord, Problem
    from rpcspy.capture.schema import CaptureHeader

__all__ = [
    "F_ERROR",
    "F_FAULT",
    "F_MULTICALL",
    "F_NO_RESPONSE",
    "F_OK",
    "F_PROBLEM",
    "F_SUBFAULT",
    "CallStore",
    "Cancelled",
    "FileIndexer",
    "MethodStats",
    "SortKey",
]

# Outcome flags, one byte per call.
F_FAULT: Final = 1
F_SUBFAULT: Final = 2
F_PROBLEM: Final = 4
F_ERROR: Final = 8
F_MULTICALL: Final = 16
F_NO_RESPONSE: Final = 32
F_OK: Final = 64

#: Rows per step of filtering and indexing: small enough to stay responsive and cancel quickly.
CHUNK: Final = 32_768
_MEMORY_BIT: Final = 1 << 62  # offsets at or above this name an in-memory record

SortKey = str  # "seq" | "time" | "method" | "duration" | "size" | "status" | "client"


class Cancelled(Exception):
    """Raised inside long store operations when their ``cancelled`` callback says so."""


def _flag_table(bits: int, want_set: bool = True) -> bytes:
    return bytes(
        (1 if (b & bits) else 0) if want_set else (0 if (b & bits) else 1) for b in range(256)
    )


def _and(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a) & int.from_bytes(b)).to_bytes(len(a))


def _or(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a) | int.from_bytes(b)).to_bytes(len(a))


def _and_not(a: bytes, b: bytes) -> bytes:
    """``a`` and not ``b``."""
    ia = int.from_bytes(a)
    return (ia & ~int.from_bytes(b) & ia).to_bytes(len(a))


def _ones(n: int) -> bytes:
    return b"\x01" * n


class _Interner:
    """Small table of distinct strings (method names, clients), each with a stable id."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.ids: dict[str, int] = {}

    def intern(self, name: str) -> int:
        i = self.ids.get(name)
        if i is None:
            i = len(self.names)
            self.names.append(name)
            self.ids[name] = i
        return i


@dataclass(slots=True)
class _Batch:
    """Columns for a run of new rows, built without the lock and appended in one step."""

    offsets: array[int] = field(default_factory=lambda: array("q"))
    lengths: array[int] = field(default_factory=lambda: array("I"))
    seq: array[int] = field(default_factory=lambda: array("q"))
    started: array[float] = field(default_factory=lambda: array("d"))
    duration: array[float] = field(default_factory=lambda: array("d"))
    flags: bytearray = field(default_factory=bytearray)
    fault: array[int] = field(default_factory=lambda: array("q"))
    method: array[int] = field(default_factory=lambda: array("I"))
    client: array[int] = field(default_factory=lambda: array("I"))
    size: array[int] = field(default_factory=lambda: array("Q"))
    status: array[int] = field(default_factory=lambda: array("H"))
    origin: bytearray = field(default_factory=bytearray)
    sub_methods: dict[int, tuple[int, ...]] = field(default_factory=dict)
    sub_faults: dict[int, tuple[int, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.flags)


@dataclass(frozen=True, slots=True)
class MethodStats:
    """Per-method figures for the stats screen."""

    method: str
    count: int
    faults: int
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None

    @property
    def fault_rate(self) -> float:
        """Faults per call, 0..1."""
        return self.faults / self.count if self.count else 0.0


def percentile(sorted_values: list[float], q: float) -> float | None:
    """The ``q`` (0..1) percentile of already sorted values, nearest-rank; None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class CallStore:
    """Every call of a capture (and of a live session) as rows of compact columns."""

    def __init__(self, *, cache_size: int = 2048) -> None:
        self._lock = threading.Lock()
        self.offsets = array("q")
        self.lengths = array("I")
        self.seq = array("q")
        self.started = array("d")
        self.duration = array("d")
        self.flags = bytearray()
        self.fault = array("q")
        self.method = array("I")
        self.client = array("I")
        self.size = array("Q")
        self.status = array("H")
        self.origin = bytearray()
        self.sub_methods: dict[int, tuple[int, ...]] = {}
        self.sub_faults: dict[int, tuple[int, ...]] = {}
        self.methods = _Interner()
        self.clients = _Interner()
        self.origins = _Interner()
        for name in ("proxy", "replay", "resent", "import"):
            self.origins.intern(name)
        self._memory: list[CallRecord] = []
        self._cache: OrderedDict[int, CallRecord] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._file: _LineFile | None = None
        #: Problems met while reading the capture (torn or corrupt lines), for the user.
        self.problems: list[Problem] = []
        self.faults = 0
        self.bad = 0
        #: Bumped on every append; views compare it to know when to refresh.
        self.version = 0

    # ------------------------------------------------------------ rows

    @property
    def count(self) -> int:
        """Rows available to readers."""
        return len(self.flags)

    def __len__(self) -> int:
        return len(self.flags)

    def attach_file(self, file: _LineFile) -> None:
        """Read file-backed rows' lines from ``file``."""
        self._file = file

    def add_record(self, record: CallRecord) -> int:
        """Append an in-memory record (live traffic, a resent call); returns its row."""
        batch = _Batch()
        with self._lock:
            index = len(self._memory)
            self._memory.append(record)
        row_before = self.count
        _add_columns(batch, record, _MEMORY_BIT + index, 0, self, row_before)
        self.append_batch(batch)
        return row_before

    def append_batch(self, batch: _Batch) -> None:
        """Append a batch of rows built by ``_add_columns``."""
        if not len(batch):
            return
        with self._lock:
            base = self.count
            self.offsets.extend(batch.offsets)
            self.lengths.extend(batch.lengths)
            self.seq.extend(batch.seq)
            self.started.extend(batch.started)
            self.duration.extend(batch.duration)
            self.fault.extend(batch.fault)
            self.method.extend(batch.method)
            self.client.extend(batch.client)
            self.size.extend(batch.size)
            self.status.extend(batch.status)
            self.origin.extend(batch.origin)
            for k, v in batch.sub_methods.items():
                self.sub_methods[base + k] = v
            for k, v in batch.sub_faults.items():
                self.sub_faults[base + k] = v
            self.faults += batch.flags.translate(_FAULTY_TABLE).count(1)
            self.bad += batch.flags.translate(_BAD_TABLE).count(1)
            # flags last: ``count`` is its length, so readers never see a half-appended row.
            self.flags.extend(batch.flags)
            self.version += 1

    def record(self, row: int) -> CallRecord:
        """The full record of ``row`` (decoded from its line when not cached)."""
        with self._cache_lock:
            rec = self._cache.get(row)
            if rec is not None:
                self._cache.move_to_end(row)
                return rec
        offset = self.offsets[row]
        if offset >= _MEMORY_BIT:
            return self._memory[offset - _MEMORY_BIT]
        if self._file is None:
            raise LookupError(f"row {row} is in a file that is not attached")
        rec = self._file.parse(self._file.read(offset, self.lengths[row]))
        with self._cache_lock:
            self._cache[row] = rec
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return rec

    def raw_line(self, row: int) -> bytes | None:
        """The capture line of a file-backed row, None for an in-memory one."""
        offset = self.offsets[row]
        if offset >= _MEMORY_BIT or self._file is None:
            return None
        return self._file.read(offset, self.lengths[row])

    def is_file_row(self, row: int) -> bool:
        """Does ``row`` come from the capture file (rather than live traffic or a resend)?"""
        return self.offsets[row] < _MEMORY_BIT

    def method_name(self, row: int) -> str:
        """The method of ``row`` (empty when the request did not decode)."""
        return self.methods.names[self.method[row]]

    def client_name(self, row: int) -> str:
        """``host:port`` of the client of ``row``, or ``-``."""
        return self.clients.names[self.client[row]]

    def duration_ms(self, row: int) -> float | None:
        """Duration of ``row`` in milliseconds, None without a response."""
        d = self.duration[row]
        return None if math.isnan(d) else float(d)

    def find_seq(self, seq: int) -> int | None:
        """The row with this ``seq``, if any (linear; for tests and the command palette)."""
        try:
            return self.seq.index(seq)
        except ValueError:
            return None

    # ------------------------------------------------------------ filtering

    def filter_rows(
        self,
        flt: Filter | Node,
        start: int = 0,
        stop: int | None = None,
        *,
        cancelled: Callable[[], bool] = lambda: False,
        progress: Callable[[int], None] | None = None,
    ) -> array[int]:
        """Rows in ``[start, stop)`` that pass ``flt``, in row order. Raises ``Cancelled``."""
        tree = flt.tree if isinstance(flt, Filter) else flt
        stop = self.count if stop is None else min(stop, self.count)
        out = array("i")
        if isinstance(tree, All):
            out.extend(range(start, stop))
            return out
        a = start
        while a < stop:
            if cancelled():
                raise Cancelled
            b = min(stop, a + CHUNK)
            mask = self._mask(tree, a, b, _ones(b - a))
            out.extend(_compress(range(a, b), mask))
            a = b
            if progress is not None:
                progress(a)
        return out

    def _mask(self, node: Node, a: int, b: int, within: bytes) -> bytes:
        """0/1 per row of ``[a, b)``: exact where ``within`` is 1, and 0 where it is 0."""
        n = b - a
        if b"\x01" not in within:
            return within
        match node:
            case All():
                return within
            case And(left, right):
                # Cheap column tests first, so costly text tests see fewer rows.
                first, second = (left, right) if _cost(left) <= _cost(right) else (right, left)
                m1 = self._mask(first, a, b, within)
                return self._mask(second, a, b, m1)
            case Or(left, right):
                first, second = (left, right) if _cost(left) <= _cost(right) else (right, left)
                m1 = self._mask(first, a, b, within)
                m2 = self._mask(second, a, b, _and_not(within, m1))
                return _or(m1, m2)
            case Not(operand):
                return _and_not(within, self._mask(operand, a, b, within))
            case FaultTest(code=None):
                m = bytes(self.flags[a:b]).translate(_FAULTY_TABLE)
            case FaultTest(code=int(code)):
                top = bytes(self.flags[a:b]).translate(_TABLES[F_FAULT])
                m = _and(top, bytes(map(code.__eq__, self.fault[a:b])))
                m = self._merge_rows(
                    m, a, b, (r for r, cs in self.sub_faults.items() if code in cs)
                )
            case OkFlag():
                m = bytes(self.flags[a:b]).translate(_TABLES[F_OK])
            case ProblemFlag():
                m = bytes(self.flags[a:b]).translate(_BAD_TABLE)
            case ErrorFlag():
                m = bytes(self.flags[a:b]).translate(_TABLES[F_ERROR])
            case Multicall():
                m = bytes(self.flags[a:b]).translate(_TABLES[F_MULTICALL])
            case MethodGlob(pattern):
                ids = {i for i, name in enumerate(self.methods.names) if _glob(name, pattern)}
                m = self._id_mask(self.method, ids, a, b)
                m = self._merge_rows(
                    m, a, b, (r for r, ms in self.sub_methods.items() if not ids.isdisjoint(ms))
                )
            case Client(pattern):
                ids = {
                    i
                    for i, name in enumerate(self.clients.names)
                    if fnmatch.fnmatchcase(name, pattern)
                    or fnmatch.fnmatchcase(name.rpartition(":")[0], pattern)
                }
                m = self._id_mask(self.client, ids, a, b)
            case Origin(name):
                oid = self.origins.ids.get(name, -1)
                table = bytes(1 if i == oid else 0 for i in range(256))
                m = bytes(self.origin[a:b]).translate(table)
            case Status(code):
                m = bytes(map(code.__eq__, self.status[a:b]))
            case Latency(op, ms):
                m = bytes(map(_number_test(op, ms), self.duration[a:b]))
                if op == "!=":
                    # NaN (no response) is unequal to everything, but has no latency at all.
                    m = _and(m, bytes(map(_is_number, self.duration[a:b])))
            case Size(op, size):
                m = bytes(map(_number_test(op, size), self.size[a:b]))
            case Text() | PathTest():
                return self._record_mask(node, a, b, within)
            case _:  # pragma: no cover - every node is handled above
                raise TypeError(f"not a filter node: {node!r}")
        if len(m) != n:  # pragma: no cover - defensive
            raise AssertionError("mask length")
        return _and(m, within)

    def _id_mask(self, column: array[int], ids: set[int], a: int, b: int) -> bytes:
        if not ids:
            return bytes(b - a)
        # Every id in rows below ``count`` was interned before its row was appended.
        lookup = bytes(
            1 if i in ids else 0
            for i in range(len(self.methods.names if column is self.method else self.clients.names))
        )
        return bytes(map(lookup.__getitem__, column[a:b]))

    def _merge_rows(self, m: bytes, a: int, b: int, rows: Iterable[int]) -> bytes:
        extra = [r for r in rows if a <= r < b]
        if not extra:
            return m
        out = bytearray(m)
        for r in extra:
            out[r - a] = 1
        return bytes(out)

    def _record_mask(self, node: Text | PathTest, a: int, b: int, within: bytes) -> bytes:
        """Test rows in ``within`` one by one: file rows on their parsed JSON line, and only
        those whose raw line holds the words the test needs; in-memory rows on their record."""
        out = bytearray(b - a)
        offsets = self.offsets
        dense = b"\x00" not in within and max(offsets[a:b]) < _MEMORY_BIT
        if dense and self._file is not None:
            # Every row of the range, all in the file: no row lists, one read per piece.
            self._test_lines(node, range(a, b), out, a)
            return bytes(out)
        rows = list(_compress(range(a, b), within))
        file_rows = [r for r in rows if offsets[r] < _MEMORY_BIT]
        for r in rows:
            if offsets[r] >= _MEMORY_BIT and matches(node, self.record(r)):
                out[r - a] = 1
        if file_rows and self._file is not None:
            if len(file_rows) * 4 < b - a:
                # Few rows left by the cheaper tests: read just their lines.
                self._test_each_line(node, file_rows, out, a)
            else:
                for piece in _pieces(file_rows, offsets, self.lengths):
                    self._test_lines(node, piece, out, a)
        return bytes(out)

    def _test_each_line(
        self, node: Text | PathTest, rows: list[int], out: bytearray, out_base: int
    ) -> None:
        from rpcspy.capture.schema import loads_line
        from rpcspy.filter.jsonmatch import matches_json

        assert self._file is not None
        read, offsets, lengths = self._file.read, self.offsets, self.lengths
        needles = _raw_needles(node)
        for r in rows:
            line = read(offsets[r], lengths[r])
            if needles:
                low = line.lower()
                if not all(n in low for n in needles):
                    continue
            try:
                obj = loads_line(line)
            except ValueError:
                continue
            if isinstance(obj, dict) and matches_json(node, obj):
                out[r - out_base] = 1

    def _test_lines(
        self, node: Text | PathTest, rows: range | list[int], out: bytearray, out_base: int
    ) -> None:
        """Set ``out[row - out_base]`` for the ``rows`` (file rows, in file order) that match."""
        from rpcspy.capture.schema import loads_line
        from rpcspy.filter.jsonmatch import matches_json

        assert self._file is not None
        offsets, lengths = self.offsets, self.lengths
        needles = _raw_needles(node)
        # Bound each read: a million lines are read a few megabytes at a time.
        for group in _byte_groups(rows, offsets, lengths):
            lo = offsets[group[0]]
            hi = offsets[group[-1]] + lengths[group[-1]]
            blob = self._file.read(lo, hi - lo)
            if needles:
                candidates: Iterable[int] = _rows_with(
                    blob.lower(), lo, group, offsets, lengths, needles
                )
            else:
                candidates = group
            for r in candidates:
                start = offsets[r] - lo
                try:
                    obj = loads_line(blob[start : start + lengths[r]])
                except ValueError:
                    continue
                if isinstance(obj, dict) and matches_json(node, obj):
                    out[r - out_base] = 1

    # ------------------------------------------------------------ sorting and stats

    def sort_rows(self, rows: array[int], key: SortKey, *, reverse: bool = False) -> array[int]:
        """``rows`` ordered by a column (stable; ties keep row order)."""
        column: Callable[[int], Any]
        if key == "seq":
            column = self.seq.__getitem__
        elif key == "time":
            column = self.started.__getitem__
        elif key == "duration":
            dur = self.duration

            def column(r: int) -> object:
                d = dur[r]
                return -1.0 if d != d else d

        elif key == "size":
            column = self.size.__getitem__
        elif key == "method":
            names = self.methods.names
            order = {
                i: rank for rank, i in enumerate(sorted(range(len(names)), key=names.__getitem__))
            }
            m = self.method
            column = lambda r: order[m[r]]  # noqa: E731
        elif key == "client":
            names = self.clients.names
            order = {
                i: rank for rank, i in enumerate(sorted(range(len(names)), key=names.__getitem__))
            }
            c = self.client
            column = lambda r: order[c[r]]  # noqa: E731
        elif key == "status":
            flags, fault = self.flags, self.fault
            column = lambda r: (flags[r] & (F_ERROR | F_PROBLEM), flags[r] & F_FAULT, fault[r])  # noqa: E731
        else:
            raise ValueError(f"unknown sort key {key!r}")
        return array("i", sorted(rows, key=column, reverse=reverse))  # type: ignore[arg-type]

    def method_stats(self, rows: Iterable[int]) -> list[MethodStats]:
        """Count, faults and latency percentiles per method over ``rows``."""
        durations: dict[int, list[float]] = {}
        counts: dict[int, int] = {}
        faults: dict[int, int] = {}
        method, duration, flags = self.method, self.duration, self.flags
        for r in rows:
            mid = method[r]
            counts[mid] = counts.get(mid, 0) + 1
            if flags[r] & F_FAULT:
                faults[mid] = faults.get(mid, 0) + 1
            d = duration[r]
            if d == d:
                durations.setdefault(mid, []).append(d)
        out = []
        for mid, n in counts.items():
            ds = sorted(durations.get(mid, []))
            out.append(
                MethodStats(
                    method=self.methods.names[mid] or "(undecoded)",
                    count=n,
                    faults=faults.get(mid, 0),
                    p50_ms=percentile(ds, 0.5),
                    p95_ms=percentile(ds, 0.95),
                    max_ms=ds[-1] if ds else None,
                )
            )
        out.sort(key=lambda s: (-s.count, s.method))
        return out


# ---------------------------------------------------------------- helpers for masks

_TABLES: Final = {
    bit: _flag_table(bit)
    for bit in (F_FAULT, F_SUBFAULT, F_PROBLEM, F_ERROR, F_MULTICALL, F_NO_RESPONSE, F_OK)
}
_FAULTY_TABLE: Final = _flag_table(F_FAULT | F_SUBFAULT)
_BAD_TABLE: Final = _flag_table(F_PROBLEM | F_ERROR)


def _compress(rows: range, mask: bytes) -> Iterator[int]:
    from itertools import compress

    return compress(rows, mask)


def _glob(name: str, pattern: str) -> bool:
    return bool(name) and fnmatch.fnmatchcase(name, pattern)


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
    """The lowercased bytes to look for in a raw line, or None when the raw form may differ."""
    if not text or not text.isascii():
        return None
    if any(c in text for c in '"\\') or any(ord(c) < 0x20 for c in text):
        return None
    if _NUMBERISH.match(text) and any(c in "eE" for c in text):
        return None  # exponent forms are spelled differently by Python and JSON writers
    return text.lower().encode("ascii")


def _raw_needles(node: Text | PathTest) -> list[bytes]:
    """Words that must be in the raw line of any record the node matches."""
    out: list[bytes] = []
    if isinstance(node, Text):
        n = _safe_needle(node.text)
        return [n] if n else []
    # The value is usually rarer than member names: look for it first.
    values = _value_needles(node)
    for seg in node.path:
        if isinstance(seg, str):
            n = _safe_needle(seg)
            if n:
                out.append(b'"' + n + b'"')
    return values + out


def _value_needles(node: PathTest) -> list[bytes]:
    out: list[bytes] = []
    if node.value is not None and node.op in ("=", "~"):
        is_number = True
        try:
            Decimal(node.value.strip())
        except InvalidOperation:
            is_number = False
        # Numbers are spelled many ways (5, 5.0, 0005); true/false/nil are spelled so in JSON too.
        if not is_number:
            n = _safe_needle(node.value)
            if n:
                out.append(n)
    return out


#: Largest single read while scanning raw lines (bounds the memory a text filter takes).
_PIECE_BYTES: Final = 8 << 20
#: Lines closer than this are read in one go, the ones between them read and ignored.
_GAP_BYTES: Final = 64 << 10


def _pieces(rows: list[int], offsets: array[int], lengths: array[int]) -> Iterator[list[int]]:
    """Group file rows (in row order) into runs that one read of at most ``_PIECE_BYTES`` covers."""
    piece: list[int] = []
    start = end = 0
    for r in rows:
        o = offsets[r]
        e = o + lengths[r]
        if piece and (o < end or o - end > _GAP_BYTES or e - start > _PIECE_BYTES):
            yield piece
            piece = []
        if not piece:
            start = o
        piece.append(r)
        end = e
    if piece:
        yield piece


def _byte_groups(
    rows: range | list[int], offsets: array[int], lengths: array[int]
) -> Iterator[range | list[int]]:
    """Split a range of consecutive file rows into ranges of about ``_PIECE_BYTES`` of lines."""
    if not isinstance(rows, range):
        yield rows
        return
    start = rows.start
    while start < rows.stop:
        stop = bisect.bisect_right(offsets, offsets[start] + _PIECE_BYTES, start + 1, rows.stop)
        yield range(start, max(stop, start + 1))
        start = max(stop, start + 1)


def _rows_with(
    blob: bytes,
    lo: int,
    rows: range | list[int],
    offsets: array[int],
    lengths: array[int],
    needles: list[bytes],
) -> list[int]:
    """The rows whose line, in ``blob`` (lowercased, read from file offset ``lo``), holds every
    needle."""
    first, rest = needles[0], needles[1:]
    found: list[int] = []
    if isinstance(rows, range):
        # Rows are consecutive lines: find the row of a hit by bisecting the offsets column.
        a, b = rows.start, rows.stop

        def row_at(pos: int) -> int:
            return bisect.bisect_right(offsets, lo + pos, a, b) - 1

        pos = blob.find(first)
        while pos >= 0:
            r = row_at(pos)
            start = offsets[r] - lo
            line_end = start + lengths[r]
            if pos + len(first) <= line_end and (
                not rest or all(n in blob[start:line_end] for n in rest)
            ):
                found.append(r)
            pos = blob.find(first, max(line_end, pos + 1))
        return found
    starts = [offsets[r] - lo for r in rows]
    pos = blob.find(first)
    while pos >= 0:
        k = bisect.bisect_right(starts, pos) - 1
        if k >= 0:
            r = rows[k]
            line_end = starts[k] + lengths[r]
            if pos + len(first) <= line_end:
                if not rest or all(n in blob[starts[k] : line_end] for n in rest):
                    found.append(r)
                pos = blob.find(first, line_end)
                continue
        pos = blob.find(first, pos + 1)
    return found


# ---------------------------------------------------------------- columns of one record


def _add_columns(
    batch: _Batch, record: CallRecord, offset: int, length: int, store: CallStore, base_row: int
) -> None:
    """Append ``record``'s columns to ``batch`` (interning names in ``store``)."""
    row = len(batch)
    flags = 0
    response = record.reply
    if isinstance(response, Fault):
        flags |= F_FAULT
        fault = response.code
    else:
        fault = 0
    sub_faults = tuple(s.result.code for s in record.subcalls if isinstance(s.result, Fault))
    if sub_faults:
        flags |= F_SUBFAULT
        batch.sub_faults[row] = sub_faults
    if record.problems:
        flags |= F_PROBLEM
    if record.error is not None:
        flags |= F_ERROR
    if record.is_multicall:
        flags |= F_MULTICALL
        batch.sub_methods[row] = tuple(store.methods.intern(s.call.method) for s in record.subcalls)
    if response is None:
        flags |= F_NO_RESPONSE
    if record.ok and not sub_faults:
        flags |= F_OK
    duration = record.duration_ms
    batch.offsets.append(offset)
    batch.lengths.append(length)
    batch.seq.append(record.seq)
    batch.started.append(record.started)
    batch.duration.append(math.nan if duration is None else duration)
    batch.flags.append(flags)
    batch.fault.append(max(-(1 << 63), min(fault, (1 << 63) - 1)))
    batch.method.append(store.methods.intern(record.method or ""))
    client = f"{record.client[0]}:{record.client[1]}" if record.client else "-"
    batch.client.append(store.clients.intern(client))
    batch.size.append(call_size(record))
    batch.status.append(record.status or 0)
    batch.origin.append(store.origins.intern(record.origin) & 0xFF)


# ---------------------------------------------------------------- the capture file


class _LineFile:
    """Random access to the lines of a plain capture file (or of a decompressed copy of one)."""

    def __init__(self, path: Path, parse: Callable[[bytes], CallRecord]) -> None:
        self.path = path
        self.parse = parse
        self._fd = os.open(path, os.O_RDONLY)

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self._fd, length, offset)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


class FileIndexer:
    """Scans a capture file once, appending each call's columns to a store.

    ``run`` is meant for a worker thread. It calls ``on_batch(count)`` after each batch (the first
    one small, so the first screen appears at once), and in follow mode keeps polling the file for
    new lines until ``stop()``. Lines that are not JSON or not a record are skipped and reported in
    ``store.problems``; a header of an unsupported version raises ``CaptureFormatError``.
    """

    def __init__(
        self, path: Path, store: CallStore, *, follow: bool = False, poll_interval: float = 0.25
    ) -> None:
        self.path = path
        self.store = store
        self.follow = follow
        self._poll = poll_interval
        self._stop = threading.Event()
        self._gzip = _is_gzip(path)
        self._temp: tempfile._TemporaryFileWrapper[bytes] | None = None
        if self._gzip:
            # Lines need random access; a decompressed copy gives it.
            self._temp = tempfile.NamedTemporaryFile(prefix="rpcspy-", suffix=".jsonl")  # noqa: SIM115
            line_path = Path(self._temp.name)
        else:
            line_path = path
        self.file = _LineFile(line_path, _parse_record)
        store.attach_file(self.file)
        #: True once the whole file (as it was) has been read.
        self.done = False
        self.lines_read = 0
        self.header: CaptureHeader | None = None
        #: Set by the UI once the first page is on screen; indexing waits for it (a little), so
        #: the first screen does not compete with the indexer for the interpreter.
        self.first_page_shown = threading.Event()

    def stop(self) -> None:
        """Ask ``run`` to return at its next check."""
        self._stop.set()

    def close(self) -> None:
        """Stop and release the file (and the decompressed copy)."""
        self.stop()
        self.file.close()
        if self._temp is not None:
            self._temp.close()

    def _problem(self, line: int, kind: str, reason: str) -> None:
        from rpcspy.capture.record import Problem

        self.store.problems.append(Problem("capture", kind, reason, line=line))

    def _chunks(self) -> Iterator[bytes | None]:
        """Plain bytes of the capture as they become available; None at a (current) end."""
        with open(self.path, "rb") as f:
            if not self._gzip:
                while not self._stop.is_set():
                    yield f.read(1 << 20) or None
                return
            assert self._temp is not None
            d = zlib.decompressobj(wbits=31)
            broken = False
            while not self._stop.is_set():
                raw = f.read(1 << 20)
                if not raw or broken:
                    if not self.follow and not d.eof and not broken and self._temp.tell():
                        self._problem(
                            self.lines_read + 1,
                            "torn-gzip",
                            "the compressed file ends early (was it still being written?)",
                        )
                        broken = True
                    yield None
                    continue
                out = bytearray()
                while raw:
                    try:
                        out += d.decompress(raw)
                    except zlib.error as exc:
                        self._problem(
                            self.lines_read + 1, "torn-gzip", f"corrupt compressed data: {exc}"
                        )
                        broken = True
                        break
                    raw = d.unused_data
                    if d.eof and raw:
                        # Another gzip member follows (a writer that re-opened the file).
                        d = zlib.decompressobj(wbits=31)
                    else:
                        raw = b""
                self._temp.write(out)
                self._temp.flush()
                yield bytes(out)

    def _index_line(self, line: bytes, line_offset: int, batch: _Batch) -> None:
        from rpcspy.capture.schema import loads_line, parse_header

        try:
            obj = loads_line(line)
        except ValueError as exc:
            torn = not line.rstrip().endswith(b"}")
            self._problem(
                self.lines_read,
                "torn-line" if torn else "bad-json",
                ("the line is cut short (a torn write?): " if torn else "the line is not JSON: ")
                + str(exc),
            )
            return
        if self.lines_read == 1 and self.header is None:
            if isinstance(obj, dict) and obj.get("type") == "call":
                self._problem(
                    1, "no-header", "the capture has no header line; reading its records anyway"
                )
            else:
                self.header = parse_header(obj)
                return
        if not isinstance(obj, dict) or obj.get("type") != "call":
            if not isinstance(obj, dict):
                self._problem(self.lines_read, "bad-record", "a record is a JSON object")
            return  # a line type from a newer minor version: skip quietly
        try:
            _columns_from_json(batch, obj, line_offset, len(line), self.store)
        except (KeyError, TypeError, ValueError, AssertionError) as exc:
            self._problem(self.lines_read, "bad-record", f"not a valid call record ({exc!r})")

    def run(self, on_batch: Callable[[int], None] | None = None) -> None:
        """Index the file; in follow mode keep going until ``stop()``."""
        store = self.store
        pending = b""
        offset = 0  # offset in the plain (decompressed) file of ``pending``'s first byte
        batch = _Batch()
        first = True
        last_flush = time.monotonic()

        def flush() -> None:
            nonlocal batch, first, last_flush
            was_first = first
            if len(batch):
                store.append_batch(batch)
                batch = _Batch()
            first = False
            last_flush = time.monotonic()
            if on_batch is not None:
                on_batch(store.count)
                if was_first:
                    self.first_page_shown.wait(1.0)

        for data in self._chunks():
            if data is None:
                newly_done = not self.done
                self.done = True
                if len(batch) or first or newly_done:
                    flush()
                if not self.follow:
                    break
                self._stop.wait(self._poll)
                continue
            pending += data
            start = 0
            find = pending.find
            while True:
                nl = find(b"\n", start)
                if nl < 0:
                    break
                line = pending[start:nl]
                self.lines_read += 1
                line_offset = offset + start
                start = nl + 1
                if line.strip():
                    self._index_line(line, line_offset, batch)
                if (first and len(batch) >= 200) or len(batch) >= 8192:
                    flush()
            offset += start
            pending = pending[start:]
            if time.monotonic() - last_flush > 0.2:
                flush()
        if pending.strip():
            # A last line without its newline: a torn write (unless it parses).
            self.lines_read += 1
            self._index_line(pending, offset, batch)
        self.done = True
        flush()


def _parse_record(line: bytes) -> CallRecord:
    from rpcspy.capture.schema import loads_line, record_from_json

    return record_from_json(loads_line(line))


# ---------------------------------------------------------------- capture lines


def _columns_from_json(
    batch: _Batch, obj: dict[str, object], offset: int, length: int, store: CallStore
) -> None:
    """Append the columns of a capture line's JSON object, without building the record.

    Mirrors ``_add_columns`` (which works on a ``CallRecord``); the store tests check that the
    two agree on every kind of record.
    """
    row = len(batch)
    request = obj["request"]
    assert isinstance(request, dict)
    call = request.get("call")
    method = call.get("method") if isinstance(call, dict) else None
    response = obj.get("response")
    flags = 0
    fault_code = 0
    has_result = False
    if isinstance(response, dict):
        fault = response.get("fault")
        if isinstance(fault, dict):
            flags |= F_FAULT
            code = fault.get("code")
            fault_code = code if isinstance(code, int) else 0
        elif "result" in response:
            has_result = True
    if not flags & F_FAULT and not has_result:
        flags |= F_NO_RESPONSE
    subcalls = obj.get("subcalls") or []
    assert isinstance(subcalls, list)
    if subcalls:
        codes = tuple(int(s["fault"]["code"]) for s in subcalls if isinstance(s.get("fault"), dict))
        if codes:
            flags |= F_SUBFAULT
            batch.sub_faults[row] = codes
        batch.sub_methods[row] = tuple(
            store.methods.intern(str(s["call"]["method"])) for s in subcalls
        )
    if method == "system.multicall":
        flags |= F_MULTICALL
    problems = obj.get("problems")
    error = obj.get("error")
    if problems:
        flags |= F_PROBLEM
    if error is not None:
        flags |= F_ERROR
    if has_result and not problems and not error and not flags & F_SUBFAULT:
        flags |= F_OK
    started = float(obj["started"])  # type: ignore[arg-type]
    ended = obj.get("ended")
    body = request.get("body")
    size = body.get("size", 0) if isinstance(body, dict) else 0
    if isinstance(response, dict):
        rbody = response.get("body")
        if isinstance(rbody, dict):
            size += rbody.get("size", 0)
    client = obj.get("client")
    batch.offsets.append(offset)
    batch.lengths.append(length)
    batch.seq.append(int(obj["seq"]))  # type: ignore[call-overload]
    batch.started.append(started)
    batch.duration.append(
        (float(ended) - started) * 1000.0 if isinstance(ended, int | float) else math.nan
    )
    batch.flags.append(flags)
    batch.fault.append(max(-(1 << 63), min(fault_code, (1 << 63) - 1)))
    batch.method.append(store.methods.intern(method if isinstance(method, str) else ""))
    batch.client.append(
        store.clients.intern(f"{client[0]}:{client[1]}" if isinstance(client, list) else "-")
    )
    batch.size.append(int(size))
    status = obj.get("status")
    batch.status.append(status if isinstance(status, int) and 0 <= status < 65536 else 0)
    origin = obj.get("origin")
    batch.origin.append(store.origins.intern(origin if isinstance(origin, str) else "proxy") & 0xFF)
