"""The capture index: every call of a capture as compact columns, full records only on demand.

Strategy: a million ``CallRecord`` objects would not fit the memory budget, so the index keeps,
per call, a few numbers in ``array`` columns (byte offset of its line, start time, duration,
outcome flags, fault code, ids into interned tables of methods, clients and *shapes* ...) and
builds a full record lazily from its line (an LRU keeps the recent ones).

Lines come from ``CaptureReader.lines`` (``rpcspy.capture.reader``): the header and version
checks, gzip (multi-member, torn tails, ``bad-gzip``), torn lines and the ``line-too-long`` guard
are the reader's, with the reader's problem wording. Each call line is checked with the reader's
schema rules at index time, so a row, once listed, always opens.

Beside the columns the index keeps each call's *messages* (its decoded call, result or fault and
sub-calls, as compact JSON: what filters look at) in a side file, stored once per distinct
content, and its *shape* (the same with the values taken out: wire types and structure). Filters
test a shape once for all calls that have it, and a content once for all calls that carry it.

The columns, the messages file and (for gzip) a decompressed copy of the lines are cached in
``$XDG_CACHE_HOME/rpcspy/index`` (``rpcspy.capture.cache``); the capture stays the source of truth.

Nothing here imports Textual; the TUI drives an ``IndexBuilder`` from a worker thread. Columns
only grow, and each batch is appended under a lock, so readers may use ``count`` rows at any time.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import math
import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from rpcspy.capture import _envelope
from rpcspy.capture import cache as cache_module
from rpcspy.capture._columns import COLUMNS, Blob, Interner, temp_blob
from rpcspy.capture._envelope import UNSET
from rpcspy.capture._gzip import GZIP_MAGIC
from rpcspy.capture.native import PROTOCOLS, fault_of, params_of, result_of
from rpcspy.capture.reader import DEFAULT_MAX_LINE_BYTES, CaptureReader
from rpcspy.capture.record import CallRecord, Problem
from rpcspy.capture.schema import (
    CaptureHeader,
    RecordError,
    dumps_line,
    loads_line,
    make_header,
    messages_only,
    record_from_json,
    record_to_json,
)

__all__ = [
    "CHUNK",
    "F_ERROR",
    "F_FAULT",
    "F_MULTICALL",
    "F_NONCONFORMANT",
    "F_NO_RESPONSE",
    "F_OK",
    "F_PROBLEM",
    "F_SUBFAULT",
    "MEMORY_BIT",
    "CaptureIndex",
    "IndexBuilder",
    "SortKey",
    "index_records",
    "open_index",
    "write_rows",
]

# Outcome flags, one byte per call.
F_FAULT: Final = 1
F_SUBFAULT: Final = 2
F_PROBLEM: Final = 4
F_ERROR: Final = 8
F_MULTICALL: Final = 16
F_NO_RESPONSE: Final = 32
F_OK: Final = 64
#: The record has conformance findings (a body breaks the XML-RPC spec).
F_NONCONFORMANT: Final = 128

#: Rows per step of filtering: small enough to stay responsive and cancel quickly.
CHUNK: Final = 65_536
#: Offsets at or above this name an in-memory record (or in-memory messages).
MEMORY_BIT: Final = 1 << 62
#: What the columns need of a call's messages, worked out once per distinct content: shape id,
#: messages offset and length, method id (-1: none decoded), flags, fault code, sub-call
#: method ids and fault codes.
_Content = tuple[int, int, int, int, int, int, tuple[int, ...], tuple[int, ...]]
#: The same less where the messages are stored: what checking a content found (shape id,
#: method id, flags, fault code, sub-call method ids and fault codes).
_Checked = tuple[int, int, int, int, tuple[int, ...], tuple[int, ...]]
#: What ``add_envelope`` needs of a line's raw halves: what ``_Content`` holds (with flags as
#: the flags column holds them, ``F_OK`` set for a result: a row with a problem or an error
#: takes it off), the request body's size and both bodies' (as the columns hold them).
_Halves = tuple[int, int, int, int, int, int, tuple[int, ...], tuple[int, ...], int, int]
#: A flag kept while building a row only: the response decoded to a result.
_RESULT: Final = 256

#: Places sorted at a time by ``CaptureIndex.sort_rows`` before the runs are merged.
_SORT_RUN: Final = 1 << 16
#: Plain captures at least this big are indexed by helper processes on first reading.
PARALLEL_MIN_BYTES: Final = 64 << 20
#: Rows of a big cached index (more than ``_CACHED_WHOLE`` rows, some 8 MB of columns)
#: restored before a UI's first page is shown; the rest come right after it.
_CACHED_HEAD: Final = 1000
_CACHED_WHOLE: Final = 100_000
#: What the first reading of a big capture reads itself (the first page) before merging.
_HEAD_BYTES: Final = 2 << 20
#: The size of a piece a helper process indexes, and how many pieces at most.
_PIECE_BYTES: Final = 96 << 20
_MAX_PIECES: Final = 32
#: What ``index_part`` reads at a time: a block and its lines stay in a core's cache (1 MiB
#: here) while they are decoded; at 1 MiB a block, a sixth more of the reads missed it.
_BLOCK_BYTES: Final = 256 << 10
#: Helper processes at most (one per core up to this).
_MAX_HELPERS: Final = 4
#: Distinct contents remembered while indexing (checked once each); cleared when full.
_MEMO_MAX: Final = 200_000
#: Distinct contents a helper process keeps checked from one piece to the next; cleared when
#: full (a capture whose contents seldom repeat gains nothing from more).
_CHECKED_MAX: Final = 50_000
#: Distinct raw messages remembered by ``add_envelope``; cleared when full.
_RAW_MEMO_MAX: Final = 65_536
#: Distinct raw halves remembered by ``add_envelope`` (each as long as its headers and bodies);
#: cleared when full.
_HALVES_MAX: Final = 8192
#: Lines read without looking their halves up, once the last ``_HALVES_MAX`` distinct halves
#: came in fewer than twice as many lines.
_HALVES_SKIP: Final = 16 * _HALVES_MAX
_NAN: Final = math.nan
#: The largest request size the ``req_size`` column holds (a body is far smaller).
_MAX_U32: Final = (1 << 32) - 1
#: Stands for an absent raw message in ``add_envelope``'s keys.
_NO_RAW: Final = b""

SortKey = str  # "seq" | "time" | "method" | "duration" | "size" | "status" | "client"
#: The origins every index knows, in the order of their ids.
ORIGINS: Final = ("proxy", "replay", "resent", "import")
_XMLRPC: Final = 0


#: A row's columns as ``Batch`` packs them (``_ROW``): the widest first, so that in a run of
#: packed rows each column is every n-th item of its own width.
_ROW_COLUMNS: Final = (
    *((name, code) for name, code in COLUMNS if code in "qQd"),
    *((name, code) for name, code in COLUMNS if code == "I"),
    *((name, code) for name, code in COLUMNS if code == "H"),
    ("flags", "B"),
    ("origin", "B"),
    ("protocol", "B"),
)
#: One packed row (native byte order, standard sizes, no gaps), padded to a multiple of 8 bytes.
_ROW: Final = struct.Struct("=" + "".join(code for _name, code in _ROW_COLUMNS) + "xxx")
_pack_row: Final = _ROW.pack
#: Each column's place in a run of packed rows: (name, type code, first item, step in items).
_ROW_PLACES: Final = tuple(
    (name, code, at // struct.calcsize(code), _ROW.size // struct.calcsize(code))
    for (name, code), at in zip(
        _ROW_COLUMNS,
        itertools.accumulate((struct.calcsize(c) for _n, c in _ROW_COLUMNS), initial=0),
        strict=False,
    )
)
assert _ROW.size % 8 == 0 and len(_ROW_COLUMNS) == len(COLUMNS) + 3
assert [name for name, *_ in _ROW_PLACES] == [
    "offsets",
    "seq",
    "started",
    "duration",
    "fault",
    "size",
    "text_off",
    "lengths",
    "method",
    "client",
    "req_size",
    "shape",
    "text_len",
    "status",
    "flags",
    "origin",
    "protocol",
], "the order of _pack_row's arguments"


@dataclass(slots=True)
class Batch:
    """Columns for a run of new rows, built without the lock and appended in one step.

    ``add_columns`` appends each row packed (``_pack_row``, the values in ``_ROW_COLUMNS``
    order) to ``rows``: one call and one append per row instead of seventeen. ``seal`` turns
    them into columns.
    """

    rows: list[bytes] = field(default_factory=list)
    cols: dict[str, array[Any]] = field(
        default_factory=lambda: {name: array(code) for name, code in COLUMNS}
    )
    flags: bytearray = field(default_factory=bytearray)
    origin: bytearray = field(default_factory=bytearray)
    protocol: bytearray = field(default_factory=bytearray)
    sub_methods: dict[int, tuple[int, ...]] = field(default_factory=dict)
    sub_faults: dict[int, tuple[int, ...]] = field(default_factory=dict)
    #: Rule ids (into ``CaptureIndex.rules``) of the findings of each row that has some.
    row_rules: dict[int, tuple[int, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.flags) + len(self.rows)

    def seal(self) -> None:
        """Move the pending ``rows`` into the columns."""
        if not self.rows:
            return
        packed = memoryview(b"".join(self.rows))
        self.rows = []
        for name, code, first, step in _ROW_PLACES:
            values = packed.cast(code)[first::step].tobytes()  # type: ignore[call-overload]
            if code == "B":
                getattr(self, name).extend(values)
            else:
                self.cols[name].frombytes(values)


# ---------------------------------------------------------------- random access to bytes


# ---------------------------------------------------------------- the index


class CaptureIndex:
    """Every call of a capture (and of a live session) as rows of compact columns."""

    def __init__(self, *, cache_size: int = 2048) -> None:
        self._lock = threading.Lock()
        for name, code in COLUMNS:
            setattr(self, name, array(code))
        self.offsets: array[int]
        self.lengths: array[int]
        self.seq: array[int]
        self.started: array[float]
        self.duration: array[float]
        self.fault: array[int]
        self.method: array[int]
        self.client: array[int]
        self.size: array[int]
        self.req_size: array[int]
        self.status: array[int]
        self.shape: array[int]
        self.text_off: array[int]
        self.text_len: array[int]
        self.flags = bytearray()
        self.origin = bytearray()
        #: Per row, the id (into ``protocols``) of the RPC protocol of its call.
        self.protocol = bytearray()
        self.sub_methods: dict[int, tuple[int, ...]] = {}
        self.sub_faults: dict[int, tuple[int, ...]] = {}
        #: Per row with findings: the ids (into ``rules``) of its findings' rules, distinct.
        self.row_rules: dict[int, tuple[int, ...]] = {}
        self.methods = Interner()
        self.clients = Interner()
        self.origins = Interner(ORIGINS)
        self.protocols = Interner(PROTOCOLS)
        #: Distinct shapes (the messages JSON with values taken out), by ``shape`` id.
        self.shapes = Interner()
        #: Distinct finding rule ids met (``int-out-of-range`` ...), by id.
        self.rules = Interner()
        self._memory: list[CallRecord] = []
        self._memory_text: list[bytes] = []
        self._cache: OrderedDict[int, CallRecord] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self.lines: Blob | None = None
        self.texts: Blob | None = None
        #: Problems met while reading the capture (torn or corrupt lines), for the user.
        self.problems: list[Problem] = []
        self.faults = 0
        self.bad = 0
        #: Bumped on every append; views compare it to know when to refresh.
        self.version = 0
        self._memo: dict[bytes, _Content] = {}
        #: What checking each content found, wherever it is stored: only in a helper process,
        #: which keeps it from one piece (with its own messages file) to the next (``Carry``).
        self._checked: dict[bytes, _Checked] | None = None
        #: The same, by the raw JSON of a line's messages (``add_envelope``).
        self._raw_memo: dict[bytes, _Content] = {}
        #: What ``add_envelope`` needs of a line's halves, by their raw JSON.
        self._halves: dict[bytes, _Halves] = {}
        #: Lines looked up in ``_halves`` since it was last cleared.
        self._halves_looked = 0
        #: Lines to read next without looking their halves up (they seldom repeat).
        self._halves_skip = 0
        #: ``(host, port)`` of a client to its id in ``clients``.
        self._client_ids: dict[tuple[Any, int], int] = {}
        #: A saved index restored in part, and what reads the rest (``restore``, ``complete``).
        self._rest: tuple[cache_module.Saved, Callable[[], dict[str, Any]]] | None = None
        self._rest_lock = threading.Lock()

    # ------------------------------------------------------------ rows

    @property
    def count(self) -> int:
        """Rows available to readers."""
        return len(self.flags)

    def __len__(self) -> int:
        return len(self.flags)

    @property
    def saveable(self) -> bool:
        """Can this index be saved to the cache? Only file rows, with their files, can."""
        return not self._memory and self.texts is not None and self.lines is not None

    def snapshot(self) -> cache_module.Saved:
        """What the cache keeps of this index (file rows only; see ``saveable``)."""
        assert self.texts is not None and self.lines is not None
        rows = self.count
        return cache_module.Saved(
            columns={name: getattr(self, name) for name, _code in cache_module.ALL_COLUMNS},
            rows=rows,
            methods=self.methods.names,
            clients=self.clients.names,
            origins=self.origins.names,
            protocols=self.protocols.names,
            shapes=self.shapes.names,
            sub_methods={k: v for k, v in self.sub_methods.items() if k < rows},
            sub_faults={k: v for k, v in self.sub_faults.items() if k < rows},
            rules=self.rules.names,
            row_rules={k: v for k, v in self.row_rules.items() if k < rows},
            faults=self.faults,
            bad=self.bad,
            texts=self.texts,
            lines=self.lines,
            problems=list(self.problems),
        )

    def restore(
        self,
        saved: cache_module.Saved,
        *,
        rest: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        """Take the rows of a saved index (an empty index only): the rows its columns hold
        (``saved.loaded``). When they are not all of them, ``rest`` reads its whole columns
        (``Entry.columns``): ``complete`` takes them, and so does anything that appends rows
        first, so every saved row keeps its place."""
        n = saved.loaded
        for name, col in saved.columns.items():
            setattr(self, name, col)
        self.methods = Interner(saved.methods)
        self.clients = Interner(saved.clients)
        self.origins = Interner(saved.origins)
        self.protocols = Interner(saved.protocols)
        self.shapes = Interner(saved.shapes)
        self._client_ids.clear()
        self.rules = Interner(saved.rules)
        if n < saved.rows:
            self.sub_methods = {k: v for k, v in saved.sub_methods.items() if k < n}
            self.sub_faults = {k: v for k, v in saved.sub_faults.items() if k < n}
            self.row_rules = {k: v for k, v in saved.row_rules.items() if k < n}
            self.faults = self.flags.translate(FAULTY_TABLE).count(1)
            self.bad = self.flags.translate(BAD_TABLE).count(1)
        else:
            self._take_row_tables(saved)
        self.texts = saved.texts
        self.lines = saved.lines
        self.problems[:] = saved.problems
        self._rest = (saved, rest) if n < saved.rows and rest is not None else None
        self.version += 1

    @property
    def partial(self) -> bool:
        """Are saved rows left to take (``restore`` with ``rest``, then ``complete``)?"""
        return self._rest is not None

    def complete(self) -> None:
        """Take the saved rows ``restore`` left to ``rest`` (nothing when none are left); a
        caller that appends meanwhile waits for them."""
        if self._rest is None:
            return
        with self._rest_lock:
            pending = self._rest
            if pending is None:
                return
            try:
                saved, rest = pending
                self._restore_rest(saved, rest())
            finally:
                self._rest = None

    def _restore_rest(self, saved: cache_module.Saved, columns: dict[str, Any]) -> None:
        """Take all the rows of a saved index restored in part: ``columns`` are its whole
        columns. Readers see the new rows at once (``flags`` last)."""
        with self._lock:
            for name, col in columns.items():
                if name != "flags":
                    setattr(self, name, col)
            self._take_row_tables(saved)
            self.flags = columns["flags"]
            self.version += 1

    def _take_row_tables(self, saved: cache_module.Saved) -> None:
        """The per-row tables and the counts of every row of a saved index."""
        self.sub_methods = dict(saved.sub_methods)
        self.sub_faults = dict(saved.sub_faults)
        self.row_rules = dict(saved.row_rules)
        self.faults = saved.faults
        self.bad = saved.bad

    def add_record(self, record: CallRecord) -> int:
        """Append an in-memory record (live traffic, a resent call); returns its row."""
        self.complete()  # (after every saved row)
        batch = Batch()
        with self._lock:
            index = len(self._memory)
            self._memory.append(record)
        row = self.count
        obj = record_to_json(record)
        self.add_columns(batch, obj, MEMORY_BIT + index, 0, check=False)
        self.append_batch(batch)
        return row

    def append_batch(self, batch: Batch) -> None:
        """Append a batch of rows built by ``add_columns``."""
        if not len(batch):
            return
        self.complete()  # (after every saved row)
        batch.seal()
        with self._lock:
            base = self.count
            for name, _code in COLUMNS:
                getattr(self, name).extend(batch.cols[name])
            self.origin.extend(batch.origin)
            self.protocol.extend(batch.protocol)
            for k, v in batch.sub_methods.items():
                self.sub_methods[base + k] = v
            for k, v in batch.sub_faults.items():
                self.sub_faults[base + k] = v
            for k, v in batch.row_rules.items():
                self.row_rules[base + k] = v
            self.faults += batch.flags.translate(FAULTY_TABLE).count(1)
            self.bad += batch.flags.translate(BAD_TABLE).count(1)
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
        if offset >= MEMORY_BIT:
            return self._memory[offset - MEMORY_BIT]
        if self.lines is None:
            raise LookupError(f"row {row} is in a file that is not attached")
        rec = record_from_json(loads_line(self.lines.read(offset, self.lengths[row])))
        with self._cache_lock:
            self._cache[row] = rec
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return rec

    def records(self, rows: Iterable[int] | None = None) -> Iterable[CallRecord]:
        """The records of ``rows`` (every row by default), in the order given."""
        for row in range(self.count) if rows is None else rows:
            yield self.record(row)

    def raw_line(self, row: int) -> bytes | None:
        """The capture line of a file-backed row, None for an in-memory one."""
        offset = self.offsets[row]
        if offset >= MEMORY_BIT or self.lines is None:
            return None
        return self.lines.read(offset, self.lengths[row])

    def messages(self, offset: int, length: int) -> bytes:
        """The messages JSON stored at ``text_off``/``text_len`` of some row."""
        if offset >= MEMORY_BIT:
            return self._memory_text[offset - MEMORY_BIT]
        assert self.texts is not None
        return self.texts.read(offset, length)

    def is_file_row(self, row: int) -> bool:
        """Does ``row`` come from the capture file (rather than live traffic or a resend)?"""
        return self.offsets[row] < MEMORY_BIT

    def method_name(self, row: int) -> str:
        """The method of ``row`` (empty when the request did not decode)."""
        return self.methods.names[self.method[row]]

    def protocol_name(self, row: int) -> str:
        """The RPC protocol of ``row``'s call (``xmlrpc``, ``oncrpc``, ``rpyc`` ...)."""
        return self.protocols.names[self.protocol[row]]

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

    def close(self) -> None:
        """Release the files behind the rows."""
        for blob in (self.lines, self.texts):
            if blob is not None:
                blob.close()

    # ------------------------------------------------------------ columns of one call

    def add_columns(
        self, batch: Batch, obj: dict[str, Any], offset: int, length: int, *, check: bool = True
    ) -> RecordError | None:
        """Append the columns of a capture line's JSON object (the one column builder).

        With ``check``, the object is first checked with the reader's schema rules; an invalid
        one adds no row and its ``RecordError`` is returned.
        """
        if check:
            # The schema's own check: the reader's verdict, reason and path. (The common line
            # is read by ``add_envelope`` instead, and comes here only when in doubt.)
            error = _verdict(obj)
            if error is not None:
                return error
        g = obj.get
        request = g("request")
        response = g("response")
        if type(request) is not dict or (response is not None and type(response) is not dict):
            return _verdict(obj)
        call = request.get("call")
        part: dict[str, Any] | None = None
        protocol: str = g("protocol") or "xmlrpc"
        native = protocol != "xmlrpc"
        if native:
            # (1.2) Another protocol's halves, kept as the content so that text filters see
            # them (rpcspy.filter.jsonmatch); the outcome is read off them below.
            part = {
                "native": {
                    "protocol": protocol,
                    "request": request.get(protocol),
                    "response": _half(response, protocol),
                }
            }
        elif response is not None:
            if "fault" in response:
                part = {"fault": response["fault"]}
            elif "result" in response:
                part = {"result": response["result"]}
        subcalls = g("subcalls")
        text = _compact([call, part, subcalls or []])
        memory = offset >= MEMORY_BIT
        known: _Content | RecordError | None = None if memory else self._memo.get(text)
        if known is None:  # (checked above, with the rest of the line)
            known = self._learn(text, call, part, subcalls or [], check=False, store=not memory)
        if isinstance(known, RecordError):
            return known
        started = g("started")
        ended = g("ended")
        client = g("client")
        body = request.get("body")
        answer = response.get("body") if response is not None else None
        shape_id, text_off, text_len, method_id, flags, fault, sub_methods, sub_faults = known
        if memory:
            text_off = MEMORY_BIT + len(self._memory_text)
            self._memory_text.append(text)
            text_len = len(text)
        if method_id < 0:
            # Without a decoded call the writer still names the method it read off the request.
            method = g("method")
            method_id = self.methods.intern(method if type(method) is str else "")
        if native:
            answer_flag, fault = _native_outcome(protocol, _half(response, protocol))
            flags = flags & ~(F_NO_RESPONSE | F_FAULT | _RESULT) | answer_flag
        if g("problems"):
            flags |= F_PROBLEM
        if g("error") is not None:
            flags |= F_ERROR
        if flags & _RESULT and not flags & (F_PROBLEM | F_ERROR | F_SUBFAULT):
            flags |= F_OK
        row = len(batch)
        if sub_methods:
            batch.sub_methods[row] = sub_methods
        if sub_faults:
            batch.sub_faults[row] = sub_faults
        findings = g("findings")
        if findings:
            flags |= F_NONCONFORMANT
            batch.row_rules[row] = self._rule_ids(findings)
        status = g("status")
        origin = g("origin")
        # The sizes of both bodies (a body without an integer size makes the total unknown: 0).
        size: int | None = 0
        for half in (body, answer):
            n = half.get("size", 0) if type(half) is dict else 0
            size = size + n if type(n) is int and type(size) is int else None
        req_size = body.get("size", 0) if type(body) is dict else 0
        if client is None:
            client_id = self.clients.intern("-")
        elif type(client) is list and len(client) == 2 and type(client[1]) is int:
            key = (client[0], client[1])
            client_id = self._client_ids.get(key, -1)
            if client_id < 0:
                client_id = self._client_ids[key] = self.clients.intern(f"{key[0]}:{key[1]}")
        else:
            client_id = self.clients.intern(f"{client[0]}:{client[1]}")
        origin_id = self.origins.ids.get(origin if origin is not None else "proxy", -1)
        if origin_id < 0:
            origin_id = self.origins.intern(origin if origin is not None else "proxy")
        protocol_id = self.protocols.intern(protocol)
        batch.rows.append(
            _pack_row(
                offset,
                max(-(1 << 63), min(obj["seq"], (1 << 63) - 1)),  # (orjson reads up to 2**64-1)
                started,
                (ended - started) * 1000.0 if ended is not None else math.nan,
                fault,
                size if type(size) is int and 0 <= size < (1 << 64) else 0,
                text_off,
                length,
                method_id,
                client_id,
                min(req_size, _MAX_U32) if type(req_size) is int and req_size >= 0 else 0,
                shape_id,
                text_len,
                status if status is not None and 0 <= status < 65536 else 0,
                flags & 0xFF,
                origin_id & 0xFF,
                protocol_id & 0xFF,
            )
        )
        return None

    def add_envelope(self, batch: Batch, call: _envelope.Line, offset: int, length: int) -> bool:
        """Append the columns of a call line read by ``_envelope.decode_line`` (its envelope
        valid by type, so by the schema's rules). Its halves are typed once per distinct raw
        JSON of them (``_envelope.halves``), its messages checked with the schema once per
        distinct raw JSON of them; False, adding nothing, when they do not pass at once (then
        ``add_columns`` reads the line, for the schema's verdict)."""
        if self._halves_skip:
            # Halves seldom repeat here: they are typed every time, not looked up first.
            self._halves_skip -= 1
            halves = self._learn_halves(None, call)
            if halves is None:
                return False
        else:
            # No raw JSON holds a newline, and only an absent one is empty: the key is
            # unambiguous.
            key = b"\n".join((call.request, call.response, call.subcalls))
            self._halves_looked += 1
            halves = self._halves.get(key)
            if halves is None:
                halves = self._learn_halves(key, call)
                if halves is None:
                    return False
        (
            shape_id,
            text_off,
            text_len,
            method_id,
            flags,
            fault,
            sub_methods,
            sub_faults,
            req_size,
            size,
        ) = halves
        if method_id < 0:
            # Without a decoded call the writer still names the method it read off the request.
            try:
                method = _envelope.method(call)
            except _envelope.DecodeError:
                return False
            method_id = self.methods.intern(method if type(method) is str else "")
        if call.problems:
            flags = flags & ~F_OK | F_PROBLEM
        if call.error is not None:
            flags = flags & ~F_OK | F_ERROR
        findings = call.findings
        if sub_methods or sub_faults or findings:
            row = len(batch)
            if sub_methods:
                batch.sub_methods[row] = sub_methods
            if sub_faults:
                batch.sub_faults[row] = sub_faults
            if findings:
                flags |= F_NONCONFORMANT
                rules: dict[int, None] = {}
                for f in findings:
                    rules[self.rules.intern(f.rule)] = None
                batch.row_rules[row] = tuple(rules)
        client = call.client
        if client is None:
            client_id = self.clients.intern("-")
        else:
            client_id = self._client_ids.get(client, -1)
            if client_id < 0:
                client_id = self._client_ids[client] = self.clients.intern(
                    f"{client[0]}:{client[1]}"
                )
        origin = call.origin if call.origin is not None else "proxy"
        origin_id = self.origins.ids.get(origin, -1)
        if origin_id < 0:
            origin_id = self.origins.intern(origin)
        started = call.started
        ended = call.ended
        status = call.status
        batch.rows.append(
            _pack_row(
                offset,
                call.seq,
                started,
                (ended - started) * 1000.0 if ended is not None else _NAN,
                fault,
                size,
                text_off,
                length,
                method_id,
                client_id,
                req_size,
                shape_id,
                text_len,
                status if status is not None and 0 <= status < 65536 else 0,
                flags,
                origin_id & 0xFF,
                _XMLRPC,  # (the envelope reads XML-RPC lines only)
            )
        )
        return True

    def _learn_halves(self, key: bytes | None, line: _envelope.Line) -> _Halves | None:
        """What ``add_envelope`` needs of a line's halves and sub-calls, remembered by their raw
        JSON (``key``; None: not remembered): their content (``_learn_raw``), the request body's
        size and both bodies'; None when they do not pass at once."""
        typed = _envelope.halves(line)
        if typed is None:
            return None
        request, response = typed
        raw_call = request.call
        raw_sub = line.subcalls  # (``NO_RAW`` when absent)
        tag = b"-"
        raw_part: Any = _NO_RAW
        if response is not None:
            if response.fault is not UNSET:
                if response.result is not UNSET:
                    return None  # both: the schema says why
                tag = b"f"
                raw_part = response.fault
            elif response.result is not UNSET:
                tag = b"r"
                raw_part = response.result
        # (as in ``add_envelope``)
        messages = b"\n".join(
            (
                _NO_RAW if raw_call is UNSET else raw_call,
                tag,
                raw_part,
                raw_sub,
            )
        )
        content = self._raw_memo.get(messages)
        if content is None:
            content = self._learn_raw(messages, raw_call, tag, raw_part, raw_sub)
            if content is None:
                return None
        size = request.body.size
        if response is not None and response.body is not None:
            size += response.body.size
        req_size = request.body.size
        shape_id, text_off, text_len, method_id, flags, fault, sub_methods, sub_faults = content
        if flags & _RESULT and not flags & F_SUBFAULT:
            flags |= F_OK
        known = (
            shape_id,
            text_off,
            text_len,
            method_id,
            flags & 0xFF,
            fault,
            sub_methods,
            sub_faults,
            min(req_size, _MAX_U32) if req_size >= 0 else 0,
            size if size >= 0 else 0,
        )
        if key is None:
            return known
        if len(self._halves) >= _HALVES_MAX:
            if self._halves_looked < 2 * _HALVES_MAX:
                # Most lines brought new halves (their bodies differ): for a while, look none up.
                self._halves_skip = _HALVES_SKIP
            self._halves_looked = 0
            self._halves.clear()
        self._halves[key] = known
        return known

    def _learn_raw(
        self, key: bytes, raw_call: Any, tag: bytes, raw_part: Any, raw_sub: Any
    ) -> _Content | None:
        """``_learn`` for the raw JSON of a line's messages, remembered by ``key``; None when
        they do not pass (or orjson cannot read them): the line then gets the full check."""
        try:
            call = None if raw_call is UNSET else orjson.loads(memoryview(raw_call))
            part = None
            if tag != b"-":
                part = {"fault" if tag == b"f" else "result": orjson.loads(memoryview(raw_part))}
            subcalls = orjson.loads(memoryview(raw_sub)) if raw_sub else None
            if subcalls is not None and type(subcalls) is not list:
                return None
            text = orjson.dumps([call, part, subcalls or []])
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            return None
        known = self._memo.get(text)
        if known is None:
            learnt = self._learn(text, call, part, subcalls or [], check=True, store=True)
            if isinstance(learnt, RecordError):
                return None
            known = learnt
        if len(self._raw_memo) >= _RAW_MEMO_MAX:
            self._raw_memo.clear()
        self._raw_memo[key] = known
        return known

    def _rule_ids(self, findings: Any) -> tuple[int, ...]:
        """The distinct rule ids of a line's ``findings``, interned, in first-met order."""
        out: dict[int, None] = {}
        for f in findings if type(findings) is list else ():
            rule = f.get("rule") if type(f) is dict else None
            if type(rule) is str:
                out[self.rules.intern(rule)] = None
        return tuple(out)

    def _learn(
        self, text: bytes, call: Any, part: Any, subcalls: Any, *, check: bool, store: bool
    ) -> _Content | RecordError:
        """Check a content not seen yet; what the columns need of it, its shape, its messages
        stored once."""
        carried = self._checked if store else None
        checked = carried.get(text) if carried is not None else None
        if checked is None:
            if check:
                error = _verdict(messages_only(call, part, subcalls))
                if error is not None:
                    return error
            checked = self._check_content(call, part, subcalls)
            if carried is not None:
                if len(carried) >= _CHECKED_MAX:
                    carried.clear()
                carried[text] = checked
        shape_id, method_id, flags, fault, sub_methods, sub_faults = checked
        # An in-memory row keeps its own text (the messages file may be another's, read-only).
        store = store and self.texts is not None
        text_off = self.texts.append(text) if store and self.texts is not None else 0
        known = (shape_id, text_off, len(text), method_id, flags, fault, sub_methods, sub_faults)
        if store:
            if len(self._memo) >= _MEMO_MAX:
                self._memo.clear()
            self._memo[text] = known
        return known

    def _check_content(self, call: Any, part: Any, subcalls: Any) -> _Checked:
        """What the columns need of a valid content: its shape, method, flags and faults."""
        shape_id = self.shapes.intern(_compact(_skeleton([call, part, subcalls])).decode())
        flags = 0
        fault = 0
        method_id = -1
        if isinstance(call, dict):
            method = call.get("method")
            method_id = self.methods.intern(method if isinstance(method, str) else "")
            if method == "system.multicall":
                flags |= F_MULTICALL
        if part is None:
            flags |= F_NO_RESPONSE
        elif "fault" in part:
            flags |= F_FAULT
            code = part["fault"].get("code") if isinstance(part["fault"], dict) else None
            fault = max(-(1 << 63), min(code, (1 << 63) - 1)) if isinstance(code, int) else 0
        else:
            flags |= _RESULT
        sub_methods: tuple[int, ...] = ()
        sub_faults: tuple[int, ...] = ()
        if subcalls:
            sub_faults = tuple(
                int(s["fault"]["code"]) for s in subcalls if isinstance(s.get("fault"), dict)
            )
            if sub_faults:
                flags |= F_SUBFAULT
            sub_methods = tuple(self.methods.intern(str(s["call"]["method"])) for s in subcalls)
        return shape_id, method_id, flags, fault, sub_methods, sub_faults

    # ------------------------------------------------------------ sorting

    def sort_rows(self, rows: array[int], key: SortKey, *, reverse: bool = False) -> array[int]:
        """``rows`` ordered by a column (stable; ties keep row order).

        Memory counts on a million rows: each row's key becomes a 64-bit integer in the order of
        the column (one ``array``), runs of ``_SORT_RUN`` places are sorted by it (only a run's
        worth of Python objects at a time) and merged. The interpreter is not held for a whole
        sort either, so a UI thread keeps running meanwhile.
        """
        n = len(rows)
        keys = self._order_keys(rows, key)
        get = keys.__getitem__
        runs = [
            array("i", sorted(range(lo, min(lo + _SORT_RUN, n)), key=get, reverse=reverse))
            for lo in range(0, n, _SORT_RUN)
        ]
        # ``heapq.merge`` is stable: on equal keys the earlier run (smaller places) comes first.
        places: Iterable[int] = (
            runs[0] if len(runs) == 1 else heapq.merge(*runs, key=get, reverse=reverse)
        )
        return array("i", map(rows.__getitem__, places))

    def _order_keys(self, rows: array[int], key: SortKey) -> array[int]:
        """A signed 64-bit integer per row of ``rows``, in the order ``sort_rows`` sorts by."""
        if key == "seq":
            return array("q", map(self.seq.__getitem__, rows))
        if key == "size":  # unsigned: shift into the signed range
            return array("q", map((-(1 << 63)).__add__, map(self.size.__getitem__, rows)))
        if key in ("time", "duration"):
            if key == "time":
                values = array("d", map(self.started.__getitem__, rows))
            else:  # no response (NaN) sorts as -1 ms: before every answered call
                values = array(
                    "d", (-1.0 if d != d else d for d in map(self.duration.__getitem__, rows))
                )
            bits = array("q")
            bits.frombytes(values.tobytes())
            del values
            return array("q", map(_float_order, bits))
        if key in ("method", "client"):
            names = (self.methods if key == "method" else self.clients).names
            rank = array("q", bytes(8 * len(names)))
            for place, i in enumerate(sorted(range(len(names)), key=names.__getitem__)):
                rank[i] = place
            ids = self.method if key == "method" else self.client
            return array("q", map(rank.__getitem__, map(ids.__getitem__, rows)))
        if key == "status":
            # (error or problem, fault, fault code): the codes ranked among those present.
            flags, fault = self.flags, self.fault
            codes = {c: i for i, c in enumerate(sorted(set(map(fault.__getitem__, rows))))}
            bad = F_ERROR | F_PROBLEM
            return array(
                "q",
                (
                    (((flags[r] & bad) << 1 | (flags[r] & F_FAULT)) << 32) + codes[fault[r]]
                    for r in rows
                ),
            )
        raise ValueError(f"unknown sort key {key!r}")


def _flag_table(bits: int) -> bytes:
    return bytes(1 if (b & bits) else 0 for b in range(256))


#: ``bytes.translate`` tables turning the flags column into 0/1 masks.
FLAG_TABLES: Final = {
    bit: _flag_table(bit)
    for bit in (
        F_FAULT,
        F_SUBFAULT,
        F_PROBLEM,
        F_ERROR,
        F_MULTICALL,
        F_NO_RESPONSE,
        F_OK,
        F_NONCONFORMANT,
    )
}
FAULTY_TABLE: Final = _flag_table(F_FAULT | F_SUBFAULT)
BAD_TABLE: Final = _flag_table(F_PROBLEM | F_ERROR)


def _half(response: Any, protocol: str) -> Any:
    """A response half's JSON in another protocol's form (None without one)."""
    return response.get(protocol) if type(response) is dict else None


def _native_outcome(protocol: str, half: Any) -> tuple[int, int]:
    """The answer flag (``_RESULT``, ``F_FAULT`` or ``F_NO_RESPONSE``) and fault code of a call
    of another protocol, from its response half's JSON (``rpcspy.capture.native.fault_of``, as
    ``CallRecord.is_fault`` and ``fault_code`` read it; a fault without a code is 0)."""
    if type(half) is not dict:
        return F_NO_RESPONSE, 0
    fault = fault_of(protocol, half)
    if fault is None:
        return _RESULT, 0
    return F_FAULT, fault.code or 0


_LOW63: Final = (1 << 63) - 1


def _float_order(bits: int) -> int:
    """A signed 64-bit integer in the order of the float whose IEEE bits (as a signed 64-bit
    integer) these are; -0.0 and 0.0 give the same one, as they compare equal."""
    return (bits ^ _LOW63) + 1 if bits < 0 else bits


def _compact(v: Any) -> bytes:
    """Compact JSON of a line's messages; the stdlib writes what orjson cannot (a lone surrogate,
    which a line read by the stdlib may hold), as escapes."""
    try:
        return orjson.dumps(v)
    except orjson.JSONEncodeError:
        return json.dumps(v, ensure_ascii=True, separators=(",", ":")).encode()


def _skeleton(v: Any) -> Any:
    """The shape of a messages JSON value: wire types and structure, values taken out."""
    if isinstance(v, list):
        return [_skeleton(x) for x in v]
    if not isinstance(v, dict):
        return None
    if len(v) == 1:
        ((key, payload),) = v.items()
        if key == "struct" and isinstance(payload, dict):
            return {"struct": {k: _skeleton(x) for k, x in payload.items()}}
        if key == "array" and isinstance(payload, list):
            return {"array": [_skeleton(x) for x in payload]}
        if key in ("call", "result", "fault"):
            return {key: _skeleton(payload)}
        if key == "native" and isinstance(payload, dict):
            # Another protocol's halves: the shape of what paths walk (capture.native).
            protocol = str(payload.get("protocol"))
            params = params_of(protocol, payload.get("request"))
            result = result_of(protocol, payload.get("response"))
            return {key: {"params": _skeleton(params), "result": _skeleton(result)}}
        return {key: None}
    return {k: (x if k in ("method", "index") else _skeleton(x)) for k, x in v.items()}


# ---------------------------------------------------------------- the schema's check


def _verdict(obj: dict[str, Any]) -> RecordError | None:
    """The schema's own verdict on a call line: None when it is a valid record."""
    try:
        record_from_json(obj)
    except RecordError as exc:
        return exc
    return None


# ---------------------------------------------------------------- building from a capture


class IndexBuilder:
    """Reads a capture file once (or follows it), appending each call's columns to an index.

    ``run`` is meant for a worker thread. It calls ``on_batch(count)`` after each batch (the first
    one small, so the first screen appears at once), and in follow mode keeps reading the file as
    it grows until ``stop()``. The header is checked when the builder is made
    (``CaptureFormatError``, ``OSError``), unless following a file that is still empty. With
    ``cache`` (the default) the index is saved in the cache directory and reused, or extended
    with what was appended, the next time the same capture is opened. For a UI
    (``shows_first_page``) a big cached index is restored with its first page of rows only when
    the builder is made; ``run`` takes the other saved rows once that page is shown.
    """

    def __init__(
        self,
        path: str | Path,
        index: CaptureIndex | None = None,
        *,
        follow: bool = False,
        poll_interval: float = 0.25,
        cache: bool = True,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        shows_first_page: bool = False,
    ) -> None:
        self.path = Path(path)
        self.index = index if index is not None else CaptureIndex()
        self.follow = follow
        self._poll = poll_interval
        self._max_line = max_line_bytes
        self._stop = threading.Event()
        #: True once the whole file (as it was) has been read.
        self.done = False
        #: Set by the UI once the first page is on screen; with ``shows_first_page`` indexing
        #: waits for it (a little), so the first screen does not compete with the indexer for
        #: the interpreter. Without a UI nothing waits: a command's progress bar is no page.
        self.first_page_shown = threading.Event()
        self.shows_first_page = shows_first_page
        #: How the index was got: "built", "cached" (reused as is) or "extended" (cache + growth).
        self.source = "built"
        #: True when helper processes indexed (some of) the file.
        self.helped = False
        self._workers: list[subprocess.Popen[bytes]] = []
        self._helpers_started = False
        #: Called once the first rows are published (and shown, or waited for).
        self._after_first: Callable[[], None] | None = None
        self._closed = False
        self._first = True
        self._on_batch: Callable[[int], None] | None = None
        self._before: list[Problem] | None = None
        self._entry = cache_module.open_entry(self.path) if cache else None
        self._resume: cache_module.Resume | None = None
        try:
            if self._entry is not None and not self._entry.writable and follow:
                self._entry.close()  # another program has the entry; following needs to write
                self._entry = None
            if self._entry is not None:
                # A UI shows a page first: the rest of the saved rows come in ``run``.
                loaded = self._entry.load(
                    head=_CACHED_HEAD if shows_first_page else None, above=_CACHED_WHOLE
                )
                if loaded is not None:
                    entry, rows = self._entry, loaded.rows
                    self.index.restore(loaded, rest=lambda: entry.columns(rows))
                self._resume = None if loaded is None else loaded.resume
                if self._resume is not None:
                    self.source = "cached" if self._resume.unchanged else "extended"
                elif not self._entry.writable:
                    self._entry.close()  # another program has it: index into temporary files
                    self._entry = None
            if self._resume is None:
                self._attach_new_files()
            self.reader = CaptureReader(
                self.path,
                follow=follow,
                poll_interval=poll_interval,
                stop_event=self._stop,
                max_line_bytes=max_line_bytes,
            )
        except BaseException:
            self.close()
            raise
        self.header: CaptureHeader | None = self.reader.header

    def _attach_new_files(self) -> None:
        index = self.index
        if self._entry is not None:
            index.texts = self._entry.blob("texts", fresh=True)
        else:
            index.texts = temp_blob("rpcspy-texts-")
        index.lines = None  # known once the reader has seen whether the file is gzip

    def stop(self) -> None:
        """Ask ``run`` to return at its next check (helper processes are ended now)."""
        self._stop.set()
        for worker in self._workers:
            with contextlib.suppress(OSError):
                if worker.poll() is None:
                    worker.terminate()

    def close(self) -> None:
        """Stop and release the files (a temporary decompressed copy is removed)."""
        self.stop()
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(AttributeError):
            self.reader.close()
        self.index.close()
        if self._entry is not None:
            self._entry.close()

    def run(self, on_batch: Callable[[int], None] | None = None) -> None:
        """Index the file; in follow mode keep going until ``stop()``."""
        index = self.index
        resume = self._resume
        if index.partial:
            self._load_rest()
        if resume is not None and resume.unchanged and not self.follow:
            self.done = True
            if on_batch is not None:
                on_batch(index.count)
            return
        self._first = True
        self._on_batch = on_batch
        if resume is not None:
            self.reader.resume_at(resume.offset, resume.lineno)
            self._consume(self.reader, skip_to=resume.offset)
            return
        plan = self._plan()
        if plan is None:
            self._consume(self.reader)
            return
        self._index_in_pieces(*plan)

    def _load_rest(self) -> None:
        """The saved rows past the head restored at first, once the first page is shown."""
        if self.shows_first_page:
            self.first_page_shown.wait(1.0)
        self.index.complete()

    def _index_in_pieces(self, head_end: int, pieces: list[tuple[int, int]]) -> None:
        """A big plain file, first reading: helper processes index it in pieces while this one
        reads its head (for the first page) and then only merges their results, in file order,
        as they come: the interpreter of this process (a UI's) stays free."""
        index = self.index
        scratch = [(self._scratch("texts-part"), self._scratch("part-result")) for _ in pieces]
        n = _helpers(len(pieces))
        workers: list[subprocess.Popen[bytes]] = []
        #: Per helper, the ids here of the names it gave back so far (``_merge_part``).
        seen: list[dict[str, list[int]]] = [{} for _ in range(n)]
        try:
            for w in range(n):
                mine = range(w, len(pieces), n)  # interleaved: all of them work near the front
                fds = [fd for i in mine for fd in (scratch[i][0].fd, scratch[i][1].fd)]
                args = [a for i in mine for a in (*pieces[i], scratch[i][0].fd, scratch[i][1].fd)]
                # A helper writes into our scratch files by descriptor, says "done" on its stdout
                # after each piece, and ends when its stdin does (this process ended, however).
                workers.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "rpcspy.capture._part",
                            str(self.path),
                            str(self._max_line),
                            *map(str, args),
                        ],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                        pass_fds=fds,
                    )
                )
            self._workers = workers
            # For a UI the helpers wait until the first page is up (they would slow it down):
            # then go. Without one they go at once, while this process reads the head.
            if self.shows_first_page:
                self._after_first = lambda: self._start_helpers(workers)
            else:
                self._start_helpers(workers)
            self.reader.end_at(head_end)
            self._consume(self.reader, final=False)
            self._start_helpers(workers)
            if self._stop.is_set():
                return
            head = self.reader
            offset, lineno = head._offset, head._lineno
            self._before = self._problems_before + head.problems
            for i, (start, _end) in enumerate(pieces):
                if self._stop.is_set() or offset != start:
                    break  # (a piece's last line ran past its end: read on from there here)
                worker = workers[i % n]
                assert worker.stdout is not None
                if worker.stdout.readline() != b"done\n":
                    break  # the helper failed: read the rest here
                texts, out = scratch[i]
                result = read_part(out.fd)
                _merge_part(index, result, texts, lineno, self._before, seen[i % n])
                for blob in (texts, out):
                    blob.truncate(0)
                    blob.close()
                self.helped = True
                offset, lineno = result["end"], lineno + result["lines"]
                del result
                _release_free_memory()
                if self._on_batch is not None:
                    self._on_batch(index.count)
            if self._stop.is_set():
                return
            self.reader = CaptureReader(
                self.path,
                follow=self.follow,
                poll_interval=self._poll,
                stop_event=self._stop,
                max_line_bytes=self._max_line,
            )
            self.reader.resume_at(offset, lineno)
        finally:
            self._end_workers(workers)
            for blobs in scratch:
                for blob in blobs:
                    with contextlib.suppress(OSError):
                        blob.truncate(0)
                    blob.close()
        self._consume(self.reader)

    def _start_helpers(self, workers: list[subprocess.Popen[bytes]]) -> None:
        """Tell the helper processes to go (once)."""
        self._after_first = None
        if self._helpers_started:
            return
        self._helpers_started = True
        for worker in workers:
            with contextlib.suppress(OSError, ValueError):
                assert worker.stdin is not None
                worker.stdin.write(b"go\n")
                worker.stdin.flush()

    @staticmethod
    def _end_workers(workers: list[subprocess.Popen[bytes]]) -> None:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait()
            for pipe in (worker.stdin, worker.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()

    def _scratch(self, name: str) -> Blob:
        return temp_blob(f"rpcspy-{name}-")

    def _plan(self) -> tuple[int, list[tuple[int, int]]] | None:
        """Where this process's head of the file ends, and the pieces for helper processes
        (each from one line's start to another's); None to read it all in this one."""
        if (os.cpu_count() or 1) == 1:
            return None
        size = os.stat(self.path).st_size
        if size < PARALLEL_MIN_BYTES:
            return None
        with open(self.path, "rb") as f:
            if f.read(2) == GZIP_MAGIC:
                return None  # a gzip stream is read from its start only

            def line_start(at: int) -> int | None:
                f.seek(at)
                nl = f.read(1 << 20).find(b"\n")
                return None if nl < 0 else at + nl + 1

            head_end = line_start(min(_HEAD_BYTES, size // 16))
            if head_end is None or head_end >= size:
                return None
            rest = size - head_end
            count = min(_MAX_PIECES, max(2, -(-rest // _PIECE_BYTES)))
            # As many pieces for each helper: none of them works on alone at the end.
            helpers = _helpers(count)
            count = max(helpers, min(-(-count // helpers) * helpers, _MAX_PIECES))
            cuts = [head_end]
            for k in range(1, count):
                cut = line_start(head_end + rest * k // count)
                if cut is not None and cuts[-1] < cut < size:
                    cuts.append(cut)
        cuts.append(size)
        return head_end, list(itertools.pairwise(cuts))

    def _consume(self, reader: CaptureReader, *, skip_to: int = 0, final: bool = True) -> None:
        """Index the lines ``reader`` gives, publishing batches as they fill."""
        index = self.index
        on_batch = self._on_batch
        lines_blob = index.lines
        batch = Batch()
        last_flush = time.monotonic()
        add_line = _add_line
        copy = False  # gzip: lines are copied to a decompressed file for random access

        def flush() -> None:
            nonlocal batch, last_flush
            was_first = self._first
            if len(batch):
                index.append_batch(batch)
                batch = Batch()
            self._first = False
            last_flush = time.monotonic()
            index.problems[:] = self._problems_before + reader.problems
            if on_batch is not None:
                on_batch(index.count)
                if was_first and self.shows_first_page:
                    self.first_page_shown.wait(1.0)
            if was_first and self._after_first is not None:
                self._after_first()

        started = False
        for item in reader.lines(idle=True):
            if not started and reader.header is not None:
                started = True
                self.header = reader.header
                if lines_blob is None:
                    if reader.compressed:
                        lines_blob = (
                            self._entry.blob("lines", fresh=True)
                            if self._entry is not None
                            else temp_blob("rpcspy-lines-")
                        )
                    else:
                        lines_blob = Blob(self.path)
                    index.lines = lines_blob
                copy = reader.compressed
            if item is None:
                newly_done = not self.done
                self.done = True
                if len(batch) or self._first or newly_done:
                    flush()
                if newly_done and self._entry is not None:
                    self._save()
                continue
            _lineno, offset, line = item
            if offset < skip_to:
                continue  # gzip, resumed: this line is indexed already
            add_line(index, batch, reader, line, offset, lines_blob if copy else None)
            pending = len(batch.rows)  # (the batch is sealed only when flushed)
            if (
                pending >= 8192
                or (pending & 255 == 0 and time.monotonic() - last_flush > 0.2)
                or (self._first and pending >= 200)
            ):
                flush()
        if not final:
            flush()
            return
        self.done = True
        flush()
        if self._entry is not None and not self._stop.is_set():
            self._save()

    @property
    def _problems_before(self) -> list[Problem]:
        if self._before is not None:
            return self._before
        return self._resume.problems if self._resume is not None else []

    def _save(self) -> None:
        assert self._entry is not None
        self.index.problems[:] = self._problems_before + self.reader.problems
        with contextlib.suppress(OSError):
            if self.index.saveable:
                self._entry.save(self.index.snapshot(), self.reader)


def _add_line(
    index: CaptureIndex,
    batch: Batch,
    reader: CaptureReader,
    line: bytes,
    offset: int,
    copy_to: Blob | None,
    tried: _envelope.Line | bool | None = False,
) -> None:
    """Index one line the reader gave (a problem recorded if it is not a valid call), copying it
    to ``copy_to`` first (the decompressed copy of a gzip capture) if it is a call line.

    ``tried``: the envelope of a line ``add_envelope`` did not take (None: the line has none).
    """
    # The common case first: a call line the typed envelope reads. Anything else, the reader
    # and the schema say what it is.
    envelope = _envelope.decode_line(line) if tried is False else tried
    assert not isinstance(envelope, bool)
    obj: dict[str, Any] | None = None
    if envelope is None:
        obj = reader.call_object(line)
        if obj is None:
            return
    if copy_to is not None:
        offset = copy_to.append(line)
    if envelope is not None:
        if tried is False and index.add_envelope(batch, envelope, offset, len(line) - 1):
            return
        obj = reader.call_object(line)
    assert obj is not None  # (a line the envelope read is a call object)
    error = index.add_columns(batch, obj, offset, len(line) - 1)
    if error is not None:
        reader.record_problem(error)


@dataclass(slots=True)
class Carry:
    """What a helper process keeps from one piece it indexes to the next: the name tables (ids
    stay the same) and what checking each content found. Each piece has its own messages file,
    so where a content is stored is not kept: it is stored again in the next piece's."""

    methods: Interner = field(default_factory=Interner)
    clients: Interner = field(default_factory=Interner)
    origins: Interner = field(default_factory=lambda: Interner(ORIGINS))
    protocols: Interner = field(default_factory=lambda: Interner(PROTOCOLS))
    shapes: Interner = field(default_factory=Interner)
    rules: Interner = field(default_factory=Interner)
    checked: dict[bytes, _Checked] = field(default_factory=dict)
    client_ids: dict[tuple[Any, int], int] = field(default_factory=dict)

    def lend(self, index: CaptureIndex) -> None:
        """Let a new (empty) index use these tables."""
        index.methods, index.clients, index.origins = self.methods, self.clients, self.origins
        index.protocols = self.protocols
        index.shapes, index.rules = self.shapes, self.rules
        index._checked, index._client_ids = self.checked, self.client_ids


def index_part(
    path: Path,
    start: int,
    end: int,
    max_line_bytes: int,
    texts_fd: int,
    carry: Carry | None = None,
) -> dict[str, Any]:
    """Index the lines of a plain capture from ``start`` to ``end`` (in another process): the
    columns, names, problems (line numbers counted from ``start``) and messages (written to
    the file ``texts_fd``), for ``_merge_part``. ``carry``: tables kept from the pieces this
    process indexed before (the names given back then hold theirs too)."""
    index = CaptureIndex()
    if carry is not None:
        carry.lend(index)
    index.texts = Blob(Path(f"/dev/fd/{texts_fd}"), fd=texts_fd)
    reader = CaptureReader(path, max_line_bytes=max_line_bytes)
    try:
        reader.resume_at(start, 0)
        reader.end_at(end)
        batch = Batch()
        decode = _envelope.decode_line
        decode_plain = _envelope.decode_line_plain
        plain_below = _envelope.PLAIN_BELOW
        decode_error = _envelope.DecodeError
        add_envelope = index.add_envelope
        # Many lines at a time (this loop is most of a first reading's time): the common line
        # inline (a short ASCII one is decoded at once: ``_envelope.decode`` would only find
        # nothing to doubt), anything else as ``_add_line`` does it, its problems at its own
        # line number.
        for lineno, offset, lines in reader.blocks(_BLOCK_BYTES):
            for line in lines:
                size = len(line)
                if size < plain_below and line.isascii():
                    try:
                        envelope: _envelope.Line | None = decode_plain(line)
                    except (decode_error, RecursionError):
                        envelope = None
                else:
                    envelope = decode(line)
                if envelope is None or not add_envelope(batch, envelope, offset, size):
                    lineno_after = reader._lineno
                    reader._lineno = lineno + 1
                    _add_line(index, batch, reader, line + b"\n", offset, None, envelope)
                    reader._lineno = lineno_after
                offset += size + 1
                lineno += 1
            if len(batch.rows) >= 8192:
                index.append_batch(batch)
                batch = Batch()
        index.append_batch(batch)
        # The last line may run past ``end`` (a torn one at the end of the file): see where
        # the reading stopped.
        return {
            "cols": {name: getattr(index, name) for name, _code in COLUMNS},
            "flags": index.flags,
            "origin": index.origin,
            "protocol": index.protocol,
            "sub_methods": index.sub_methods,
            "sub_faults": index.sub_faults,
            "row_rules": index.row_rules,
            "rules": index.rules.names,
            "methods": index.methods.names,
            "clients": index.clients.names,
            "origins": index.origins.names,
            "protocols": index.protocols.names,
            "shapes": index.shapes.names,
            # The end of the file is reported by whoever reads on from here.
            "problems": [p for p in reader.problems if p.kind not in ("torn-line", "torn-gzip")],
            "lines": reader._lineno,
            "end": reader._offset,
            "texts_size": index.texts.size,
        }
    finally:
        reader.close()
        index.close()


#: What ``write_part`` writes raw: the columns, then the byte columns.
_BYTE_PARTS: Final = ("cols", "flags", "origin", "protocol")


#: The name tables a piece's result gives back.
_NAME_TABLES: Final = ("methods", "clients", "origins", "protocols", "shapes", "rules")


def write_part(part: dict[str, Any], fd: int, sent: dict[str, int] | None = None) -> None:
    """Write what ``index_part`` found to the file ``fd``: its columns raw (no copy in memory),
    after the rest pickled. ``sent``: how many names of each table this process sent with its
    earlier pieces (updated): only the names after them are sent (``<table>_from`` says from
    where)."""
    with os.fdopen(fd, "wb") as f:
        head = {k: v for k, v in part.items() if k not in _BYTE_PARTS}
        if sent is not None:
            for kind in _NAME_TABLES:
                start = sent.get(kind, 0)
                head[kind] = head[kind][start:]
                head[f"{kind}_from"] = start
                sent[kind] = start + len(head[kind])
        head["rows"] = len(part["flags"])
        pickle.dump(head, f, protocol=pickle.HIGHEST_PROTOCOL)
        for name, _code in COLUMNS:
            part["cols"][name].tofile(f)
        for name in _BYTE_PARTS[1:]:
            f.write(part[name])


def read_part(fd: int) -> dict[str, Any]:
    """What ``write_part`` wrote to the file ``fd`` (read from its start; ``fd`` stays open)."""
    with os.fdopen(os.dup(fd), "rb") as f:
        f.seek(0)
        part: dict[str, Any] = pickle.load(f)
        rows = part["rows"]
        part["cols"] = {}
        for name, code in COLUMNS:
            col = array(code)
            col.fromfile(f, rows)
            part["cols"][name] = col
        for name in _BYTE_PARTS[1:]:
            part[name] = bytearray(f.read(rows))
        if len(part[_BYTE_PARTS[-1]]) != rows:
            raise EOFError("the part's result is cut short")
    return part


def _helpers(pieces: int) -> int:
    """How many helper processes index ``pieces`` pieces: one per core, up to ``_MAX_HELPERS``."""
    return min(pieces, max(1, min(os.cpu_count() or 1, _MAX_HELPERS)))


def _release_free_memory() -> None:
    """Give the memory freed since (a merged piece's) back to the system: glibc's ``malloc``
    keeps it otherwise, and a UI's resident memory would grow by what merging passed through."""
    if sys.platform == "linux":
        import ctypes  # (here: a reopen of a cached index need not import it)

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).malloc_trim(0)  # (not every C library has it)


def _merge_part(
    index: CaptureIndex,
    part: dict[str, Any],
    texts: Blob,
    lines_before: int,
    problems: list[Problem],
    seen: dict[str, list[int]],
) -> None:
    """Append the rows ``index_part`` found, its ids, offsets and line numbers made global.

    ``seen``: per name table, the ids here of the names the same helper process gave back
    with its earlier pieces (its tables are carried from piece to piece: ``write_part`` sends
    only the names that are new since, and only these are looked up here)."""
    import dataclasses

    assert index.texts is not None
    texts.size = part["texts_size"]
    base = index.texts.append_file(texts)
    batch = Batch()
    batch.cols = part.pop("cols")

    def ids_of(kind: str, table: Interner) -> list[int]:
        ids = seen.setdefault(kind, [])
        if part.get(f"{kind}_from", 0) != len(ids):
            raise ValueError(f"the piece's {kind} do not follow those of the piece before")
        ids.extend(map(table.intern, part[kind]))
        return ids

    def remap(column: str, kind: str, table: Interner) -> list[int]:
        ids = ids_of(kind, table)
        if ids != list(range(len(ids))):  # (the same ids: nothing to do)
            batch.cols[column] = _gather(ids, batch.cols[column])
        return ids

    methods = remap("method", "methods", index.methods)
    remap("client", "clients", index.clients)
    remap("shape", "shapes", index.shapes)
    for column, kind, known in (
        ("origin", "origins", index.origins),
        ("protocol", "protocols", index.protocols),
    ):
        ids = ids_of(kind, known)
        table = bytes(ids[i] & 0xFF if i < len(ids) else 0 for i in range(256))
        setattr(batch, column, part.pop(column).translate(table))
    if base:
        batch.cols["text_off"] = _shifted(batch.cols["text_off"], base)
    batch.flags = part.pop("flags")
    batch.sub_methods = {r: tuple(methods[m] for m in ms) for r, ms in part["sub_methods"].items()}
    batch.sub_faults = dict(part["sub_faults"])
    rules = ids_of("rules", index.rules)
    batch.row_rules = {r: tuple(rules[i] for i in ids) for r, ids in part["row_rules"].items()}
    problems.extend(
        dataclasses.replace(p, line=None if p.line is None else p.line + lines_before)
        for p in part["problems"]
    )
    index.problems[:] = problems
    index.append_batch(batch)


# A piece's columns are remapped with numpy (imported only here): element by element, the
# ids of a million rows took the merging process a second of CPU that the helpers lacked.


def _gather(ids: list[int], column: array[int]) -> array[int]:
    """``ids[i]`` for each ``i`` of an ``I`` column (an ``IndexError`` if one is not in ``ids``)."""
    import numpy as np

    code = f"u{column.itemsize}"  # (``I`` is 4 bytes wide wherever this runs, but to be sure)
    taken = np.asarray(ids, dtype=code)[np.frombuffer(column, dtype=code)]
    out = array("I")
    out.frombytes(taken.tobytes())
    return out


def _shifted(column: array[int], base: int) -> array[int]:
    """A ``q`` column with ``base`` added to each value."""
    import numpy as np

    out = array("q")
    out.frombytes((np.frombuffer(column, dtype=f"i{column.itemsize}") + base).tobytes())
    return out


def open_index(
    path: str | Path,
    *,
    cache: bool = True,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> tuple[CaptureIndex, IndexBuilder]:
    """Index a whole capture now; close the builder (``builder.close()``) when done with it."""
    builder = IndexBuilder(path, cache=cache, max_line_bytes=max_line_bytes)
    try:
        builder.run()
    except BaseException:
        builder.close()
        raise
    return builder.index, builder


def index_records(records: Iterable[CallRecord]) -> CaptureIndex:
    """An index of in-memory records (nothing read from a file)."""
    index = CaptureIndex()
    for record in records:
        index.add_record(record)
    return index


def write_rows(index: CaptureIndex, rows: Iterable[int], path: Path) -> int:
    """Write ``rows`` as a new capture file (``.gz`` compresses); returns how many were written.

    Lines of file-backed rows are copied as they are; live and resent records are serialised
    (with credentials redacted).
    """
    import gzip

    tmp = path.with_name(path.name + ".part")
    n = 0
    try:
        with gzip.open(tmp, "wb") if path.name.endswith(".gz") else open(tmp, "wb") as out:
            out.write(dumps_line(make_header()))
            for row in rows:
                raw = index.raw_line(row)
                if raw is not None:
                    out.write(raw + b"\n")
                else:
                    out.write(dumps_line(record_to_json(index.record(row), redact=True)))
                n += 1
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return n
