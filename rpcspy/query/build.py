"""The one builder of the query tables' rows (``rpcspy.query.tables``) from a capture index.

Strategy: a capture index (``rpcspy.capture.index``) already holds most of a call's columns as
compact arrays (seq, start, duration, method, client, status, flags, fault code, size, origin)
and, per *distinct* content, its messages as compact JSON (the call, its result or fault, its
sub-calls). So a table is built in two parts, both written as Parquet by DuckDB:

- the *core* part of ``calls`` and all of ``subcalls``, from the index's columns (NumPy views of
  its arrays, handed to DuckDB without a copy per value) and from its messages, each distinct
  content read once however many calls repeat it: no capture line is read;
- the *lines* part of ``calls`` (call id, end time, server, URL, the two body sizes, problems,
  error, finding count) and all of ``findings``, which only the capture lines hold: read through
  the index (``CaptureIndex.lines``, by the offsets it keeps, plain or decompressed gzip alike),
  by forked worker processes over row ranges, and built only when a query needs them.

Both parts carry the index row number (``row``); ``calls`` joins them on it. ``build_core`` and
``build_lines`` write the Parquet files of a range of rows; ``rpcspy.query.engine`` keeps them
in a cache and ``rpcspy.query.parquet`` writes them as one export.

Outcome words are those of ``rpcspy.capture.summary`` (``ok``, ``subfault``, ``fault``,
``problem``, ``error``, ``pending``), worked out from the index's flags by the same rules.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import msgspec
import numpy as np
import orjson

from rpcspy.capture.index import (
    F_ERROR,
    F_FAULT,
    F_MULTICALL,
    F_NO_RESPONSE,
    F_NONCONFORMANT,
    F_PROBLEM,
    F_SUBFAULT,
    MEMORY_BIT,
    CaptureIndex,
)
from rpcspy.capture.native import fault_of
from rpcspy.capture.schema import dumps_line, record_to_json

if TYPE_CHECKING:
    import duckdb

__all__ = ["build_core", "build_lines"]

_TYPES_JSON: Final = "'[\"VARCHAR\"]'"
#: How the cache's parts are written: snappy, not zstd (a cache is written on the way to a first
#: answer; zstd cost 0.6 s more CPU per million calls for a core part half the size, which
#: both read back in the same time). ``rpcspy export --to parquet`` writes zstd.
_PARTS_FORMAT: Final = "(FORMAT parquet, COMPRESSION snappy)"

#: Bytes of lines read at once by a worker.
_READ_BYTES: Final = 8 << 20
#: Fewer rows than this are read by this process alone.
_FORK_MIN_ROWS: Final = 50_000
_MAX_WORKERS: Final = 4


# ---------------------------------------------------------------- the core part


def _array(column: Any, dtype: Any, lo: int, hi: int) -> np.ndarray[Any, Any]:
    # A copy of the slice: the index's arrays may grow later (a view would pin their buffer).
    return np.frombuffer(memoryview(column)[lo:hi].tobytes(), dtype=dtype)


#: Times beyond this many seconds from 1970 (the year 5138) are no TIMESTAMP: NULL.
_MAX_SECONDS: Final = 1e11
#: Stands for such a time among the microseconds handed to DuckDB.
_NO_TIME: Final = -(1 << 63)


def _micros(seconds: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Seconds since 1970 as whole microseconds (``_NO_TIME`` where there is no timestamp)."""
    ok = np.abs(seconds) < _MAX_SECONDS  # (False for NaN too)
    out = np.full(len(seconds), _NO_TIME, dtype=np.int64)
    out[ok] = np.round(seconds[ok] * 1e6).astype(np.int64)
    return out


def _within(n: int | None, limit: int) -> int | None:
    """``n`` when its column's type holds it (a hostile capture may say anything), else None."""
    return n if n is not None and -limit <= n < limit else None


def _dumps(value: object) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        import json

        return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def _types(params: object) -> str | None:
    if not isinstance(params, list):
        return None
    return _dumps([next(iter(p), None) if isinstance(p, dict) else None for p in params])


def _fault_parts(fault: object) -> tuple[int | None, str | None]:
    if not isinstance(fault, dict):
        return None, None
    code = fault.get("code")
    string = fault.get("string")
    return (
        code if type(code) is int else None,
        string if isinstance(string, str) else None,
    )


@dataclass(slots=True)
class _Content:
    params: str | None
    param_types: str | None
    result: str | None
    fault_code: int | None
    fault_string: str | None
    #: (index, method, params, param_types, outcome, result, fault_code, fault_string)
    subcalls: list[tuple[Any, ...]]


def _native_content(native: dict[str, Any]) -> _Content:
    """What the tables take from a call of another protocol (the index keeps its halves as
    ``{"protocol", "request", "response"}``): ONC RPC arguments as params and a SUCCESS's result,
    the RPyC request's boxed arguments and reply value; the fault as ``CallRecord`` reads it."""
    protocol = str(native.get("protocol"))
    request = native.get("request")
    response = native.get("response")
    params: object = None
    result: object = None
    if protocol == "oncrpc":
        params = request.get("args") if isinstance(request, dict) else None
        result = response.get("result") if isinstance(response, dict) else None
    elif isinstance(request, dict):
        message = request.get("request")
        body = message.get("request") if isinstance(message, dict) else None
        params = body.get("args") if isinstance(body, dict) else None
        reply = response.get("reply") if isinstance(response, dict) else None
        answer = reply.get("reply") if isinstance(reply, dict) else None
        result = answer.get("value") if isinstance(answer, dict) else None
    fault = fault_of(protocol, response if isinstance(response, dict) else None)
    return _Content(
        None if params is None else _dumps(params),
        _types(params),
        None if result is None else _dumps(result),
        None if fault is None else fault.code,
        None if fault is None else fault.text,
        [],
    )


def _content(text: bytes) -> _Content:
    """What the tables take from one distinct messages JSON ``[call, part, subcalls]``."""
    call, part, subs = orjson.loads(text)
    if isinstance(part, dict) and isinstance(part.get("native"), dict):
        return _native_content(part["native"])
    params = call.get("params") if isinstance(call, dict) else None
    result = fault_code = fault_string = None
    if isinstance(part, dict):
        if "result" in part:
            result = _dumps(part["result"])
        elif "fault" in part:
            fault_code, fault_string = _fault_parts(part["fault"])
    out = []
    for s in subs if isinstance(subs, list) else ():
        sc = s.get("call") if isinstance(s, dict) else None
        if not isinstance(sc, dict):
            continue
        sp = sc.get("params")
        s_code = s_string = s_result = None
        if "fault" in s:
            outcome = "fault"
            s_code, s_string = _fault_parts(s["fault"])
        elif "result" in s:
            outcome = "ok"
            s_result = _dumps(s["result"])
        else:
            outcome = "pending"
        out.append(
            (
                s.get("index"),
                sc.get("method"),
                None if sp is None else _dumps(sp),
                _types(sp),
                outcome,
                s_result,
                s_code,
                s_string,
            )
        )
    return _Content(
        None if params is None else _dumps(params),
        _types(params),
        result,
        fault_code,
        fault_string,
        out,
    )


def _split_client(name: str) -> tuple[str | None, int | None]:
    if name == "-" or ":" not in name:
        return None, None
    host, _, port = name.rpartition(":")
    try:
        return host, _within(int(port), 1 << 31)
    except ValueError:
        return host, None


#: Stands for no port among the ports handed to DuckDB (beyond any INTEGER).
_NO_PORT: Final = -(1 << 40)


def _clients(
    names: Sequence[str],
) -> tuple[list[str | None], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The distinct hosts of the client names (``host:port``, ``-``), and per client id its
    host's id among them and its port (``_NO_PORT`` for none)."""
    hosts: dict[str | None, int] = {}
    host_of = np.empty(len(names), dtype=np.int64)
    port_of = np.empty(len(names), dtype=np.int64)
    for i, name in enumerate(names):
        host, port = _split_client(name)
        host_of[i] = hosts.setdefault(host, len(hosts))
        port_of[i] = _NO_PORT if port is None else port
    return list(hosts), host_of, port_of


_OUTCOME_SQL: Final = f"""
    CASE
        WHEN r.flags & {F_ERROR} <> 0 THEN 'error'
        WHEN r.flags & {F_FAULT} <> 0 THEN 'fault'
        WHEN r.flags & {F_NO_RESPONSE} <> 0 AND r.status <> 0
             AND NOT (r.status BETWEEN 200 AND 299) THEN 'problem'
        WHEN r.flags & {F_PROBLEM} <> 0 THEN 'problem'
        WHEN r.flags & {F_NO_RESPONSE} <> 0 THEN 'pending'
        WHEN r.flags & {F_SUBFAULT} <> 0 THEN 'subfault'
        ELSE 'ok'
    END"""


def build_core(
    con: duckdb.DuckDBPyConnection, index: CaptureIndex, lo: int, hi: int, out: Path
) -> tuple[Path, Path, Path]:
    """Write the core part of ``calls``, its contents and the ``subcalls`` of rows ``lo``..``hi``
    as Parquet files in ``out`` (``core.N.parquet``, ``contents.N.parquet``,
    ``subcalls.N.parquet``, N = ``lo``); returns them."""
    n = hi - lo
    text_off = _array(index.text_off, np.int64, lo, hi)
    text_len = _array(index.text_len, np.uint32, lo, hi)
    offsets, first, inverse = np.unique(text_off, return_index=True, return_inverse=True)
    contents = [
        _content(index.messages(int(off), int(text_len[at])))
        for off, at in zip(offsets.tolist(), first.tolist(), strict=True)
    ]

    # A client is host and port: the hosts are few, a name each (looked up as the methods are);
    # the ports are numbers per row. (A list of every client looked up per row cost DuckDB
    # a copy of the list per vector: half a second per million calls.)
    hosts, host_of, port_of = _clients(index.clients.names)
    client = _array(index.client, np.uint32, lo, hi)
    # The numbers per row from the index's arrays; the names looked up among the few distinct
    # ones. A call's content (params, result, fault) is written once per distinct content, in
    # ``contents.N.parquet``, keyed by ``content`` (``lo`` + its id here: unique across parts),
    # and joined to the rows when a query names it: a lookup per row of lists of contents cost
    # DuckDB a copy of each list per vector, about 0.5 s of CPU per column per million calls.
    frame = {
        "row": np.arange(lo, hi, dtype=np.int64),
        "seq": _array(index.seq, np.int64, lo, hi),
        "started_us": _micros(_array(index.started, np.float64, lo, hi)),
        "duration": _array(index.duration, np.float64, lo, hi),
        "host": host_of[client],
        "port": port_of[client],
        "status": _array(index.status, np.uint16, lo, hi).astype(np.int32),
        "method": _array(index.method, np.uint32, lo, hi).astype(np.int64),
        "flags": np.frombuffer(bytes(index.flags[lo:hi]), dtype=np.uint8).astype(np.int32),
        "size_bytes": _array(index.size, np.uint64, lo, hi).astype(np.int64),
        "origin": np.frombuffer(bytes(index.origin[lo:hi]), dtype=np.uint8).astype(np.int64),
        "content": inverse.astype(np.int64) + lo,
    }
    assert len(frame["row"]) == n
    dims = {
        "methods_frame": _frame(
            ("id", "name"), [(i, m or None) for i, m in enumerate(index.methods.names)]
        ),
        "hosts_frame": _frame(("id", "host"), list(enumerate(hosts))),
        "origins_frame": _frame(("id", "name"), list(enumerate(index.origins.names))),
        "contents_frame": _frame(
            ("content", "params", "param_types", "result", "fault_code", "fault_string"),
            [
                (lo + i, c.params, c.param_types, c.result, c.fault_code, c.fault_string)
                for i, c in enumerate(contents)
            ],
        ),
    }
    core_path = out / f"core.{lo}.parquet"
    contents_path = out / f"contents.{lo}.parquet"
    con.register("core_frame", frame)
    for name, dim in dims.items():
        con.register(name, dim)
    # Names are looked up by position in (short) lists held in variables: a projection keeps
    # the rows in order (a join would not), and each distinct string is converted once.
    for var, (table, value) in {
        "rpcspy_methods": ("methods_frame", "name"),
        "rpcspy_hosts": ("hosts_frame", "host"),
        "rpcspy_origins": ("origins_frame", "name"),
    }.items():
        con.execute(
            f"SET VARIABLE {var} = (SELECT coalesce(list({value} ORDER BY id), []) FROM {table})"
        )

    def look(var: str, key: str) -> str:
        return f"getvariable('{var}')[{key} + 1]"

    con.execute(
        f"""COPY (SELECT r.row, r.seq,
            CASE WHEN r.started_us <> {_NO_TIME} THEN make_timestamp(r.started_us) END AS started,
            CASE WHEN isnan(r.duration) THEN NULL ELSE r.duration END AS duration_ms,
            {look("rpcspy_hosts", "r.host")}::VARCHAR AS client_host,
            CASE WHEN r.port <> {_NO_PORT} THEN r.port END::INTEGER AS client_port,
            nullif(r.status, 0) AS status, {look("rpcspy_methods", "r.method")}::VARCHAR AS method,
            r.flags & {F_MULTICALL} <> 0 AS multicall, {_OUTCOME_SQL} AS outcome,
            r.flags & {F_FAULT} <> 0 AS faulted,
            r.size_bytes, {look("rpcspy_origins", "r.origin")}::VARCHAR AS origin,
            r.flags & {F_NONCONFORMANT} <> 0 AS nonconformant,
            r.content
        FROM core_frame r) TO '{_sql_path(core_path)}'
        {_PARTS_FORMAT}"""
    )
    con.execute(
        f"""COPY (SELECT content::BIGINT AS content, params::VARCHAR AS params,
            from_json(param_types::VARCHAR, {_TYPES_JSON})::VARCHAR[] AS param_types,
            result::VARCHAR AS result, fault_code::BIGINT AS fault_code,
            fault_string::VARCHAR AS fault_string
        FROM contents_frame) TO '{_sql_path(contents_path)}'
        {_PARTS_FORMAT}"""
    )
    for name in ("core_frame", *dims):
        con.unregister(name)

    # Sub-calls: only the rows whose content has some. (Every frame is in row order, and DuckDB
    # keeps the order of a projection it copies: no sort.)
    has_subs = np.array([bool(c.subcalls) for c in contents] + [False])[inverse]
    sub_rows: list[tuple[Any, ...]] = []
    seq = frame["seq"]
    for i in np.flatnonzero(has_subs).tolist():
        for s in contents[inverse[i]].subcalls:
            sub_rows.append((lo + i, int(seq[i]), *s))
    sub_path = out / f"subcalls.{lo}.parquet"
    names = (
        "row",
        "call_seq",
        "index",
        "method",
        "params",
        "param_types",
        "outcome",
        "result",
        "fault_code",
        "fault_string",
    )
    sub_frame = _frame(names, sub_rows)
    con.register("sub_frame", sub_frame)
    con.execute(
        f"""COPY (SELECT row::BIGINT AS row, call_seq::BIGINT AS call_seq,
            "index"::INTEGER AS "index", method::VARCHAR AS method, params::VARCHAR AS params,
            from_json(param_types::VARCHAR, {_TYPES_JSON}) AS param_types,
            outcome::VARCHAR AS outcome, result::VARCHAR AS result,
            fault_code::BIGINT AS fault_code, fault_string::VARCHAR AS fault_string
        FROM sub_frame) TO '{_sql_path(sub_path)}'
        {_PARTS_FORMAT}"""
    )
    con.unregister("sub_frame")
    return core_path, contents_path, sub_path


def _frame(names: Sequence[str], rows: list[tuple[Any, ...]]) -> dict[str, np.ndarray[Any, Any]]:
    """Columns of object arrays from rows (a typed empty column when there are none)."""
    if not rows:
        return {name: np.array([], dtype=object) for name in names}
    return {
        name: np.array(list(values), dtype=object)
        for name, values in zip(names, zip(*rows, strict=True), strict=True)
    }


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


# ---------------------------------------------------------------- the lines part


class _Body(msgspec.Struct, gc=False):
    size: int | None = None


class _Half(msgspec.Struct, gc=False):
    body: _Body | None = None


class _Finding(msgspec.Struct, gc=False):
    where: str
    rule: str
    severity: str
    message: str
    path: str | None = None


class _Line(msgspec.Struct, gc=False):
    """The keys of a call line the lines part takes (messages and headers skipped unread)."""

    id: str = ""
    ended: float | None = None
    scheme: str = ""
    host: str = ""
    port: int = 0
    path: str = ""
    server: tuple[str, int] | None = None
    error: str | None = None
    request: _Half | None = None
    response: _Half | None = None
    problems: msgspec.Raw = msgspec.Raw(b"[]")
    findings: list[_Finding] | None = None


_decode_line = msgspec.json.Decoder(_Line).decode


def _url(line: _Line) -> str:
    host = f"[{line.host}]" if ":" in line.host else line.host
    return f"{line.scheme}://{host}:{line.port}{line.path}"


def _line_bytes(index: CaptureIndex, lo: int, hi: int) -> Any:
    """``(row, line bytes)`` of rows ``lo``..``hi``: file rows read in big pieces by the offsets
    the index keeps, in-memory rows (live or given records) as the capture would write them."""
    offsets, lengths = index.offsets, index.lengths
    lines = index.lines
    row = lo
    while row < hi:
        start = offsets[row]
        if start >= MEMORY_BIT or lines is None:
            record = index.record(row)
            yield row, dumps_line(record_to_json(record, redact=True))
            row += 1
            continue
        end_row = row
        end = start
        while end_row < hi and offsets[end_row] < MEMORY_BIT:
            stop = offsets[end_row] + lengths[end_row]
            if stop - start > _READ_BYTES and end_row > row:
                break
            end = max(end, stop)
            end_row += 1
        data = lines.read(start, end - start)
        for r in range(row, end_row):
            at = offsets[r] - start
            yield r, data[at : at + lengths[r]]
        row = end_row


def _lines_rows(index: CaptureIndex, lo: int, hi: int) -> tuple[list[Any], list[Any]]:
    calls: list[tuple[Any, ...]] = []
    findings: list[tuple[Any, ...]] = []
    seq = index.seq
    for row, data in _line_bytes(index, lo, hi):
        try:
            line = _decode_line(data)
        except msgspec.DecodeError:
            line = _Line()
        server = line.server
        request = line.request
        response = line.response
        req_body = request.body if request is not None else None
        resp_body = response.body if response is not None else None
        found = line.findings or ()
        problems = line.problems
        calls.append(
            (
                row,
                line.id,
                None
                if line.ended is None or not abs(line.ended) < _MAX_SECONDS
                else round(line.ended * 1e6),
                None if server is None else server[0],
                None if server is None else _within(server[1], 1 << 31),
                _url(line),
                0 if req_body is None else _within(req_body.size or 0, 1 << 63),
                None if resp_body is None else _within(resp_body.size, 1 << 63),
                len(found),
                "[]" if bytes(problems) == b"null" else bytes(problems).decode(),
                line.error,
            )
        )
        for f in found:
            findings.append((row, seq[row], f.where, f.rule, f.severity, f.message, f.path))
    return calls, findings


_LINE_NAMES: Final = (
    "row",
    "id",
    "ended_us",
    "server_host",
    "server_port",
    "url",
    "request_bytes",
    "response_bytes",
    "finding_count",
    "problems",
    "error",
)
_FINDING_NAMES: Final = ("row", "call_seq", "half", "rule", "severity", "message", "path")


def _write_lines(index: CaptureIndex, lo: int, hi: int, out: Path) -> tuple[Path, Path]:
    from rpcspy.query.tables import connect

    calls, findings = _lines_rows(index, lo, hi)
    lines_path = out / f"lines.{lo}.parquet"
    find_path = out / f"findings.{lo}.parquet"
    with connect() as con:
        con.register("lines_frame", _frame(_LINE_NAMES, calls))
        con.execute(
            f"""COPY (SELECT row::BIGINT AS row, id::VARCHAR AS id,
                make_timestamp(ended_us::BIGINT) AS ended,
                server_host::VARCHAR AS server_host, server_port::INTEGER AS server_port,
                url::VARCHAR AS url, request_bytes::BIGINT AS request_bytes,
                response_bytes::BIGINT AS response_bytes,
                finding_count::INTEGER AS finding_count, problems::VARCHAR AS problems,
                error::VARCHAR AS error
            FROM lines_frame) TO '{_sql_path(lines_path)}'
            {_PARTS_FORMAT}"""
        )
        con.register("find_frame", _frame(_FINDING_NAMES, findings))
        con.execute(
            f"""COPY (SELECT row::BIGINT AS row, call_seq::BIGINT AS call_seq,
                half::VARCHAR AS half, rule::VARCHAR AS rule, severity::VARCHAR AS severity,
                message::VARCHAR AS message, path::VARCHAR AS path
            FROM find_frame) TO '{_sql_path(find_path)}'
            {_PARTS_FORMAT}"""
        )
    return lines_path, find_path


def build_lines(
    index: CaptureIndex,
    lo: int,
    hi: int,
    out: Path,
    *,
    on_part: Callable[[int], None] | None = None,
) -> list[int]:
    """Write the lines part of ``calls`` and the ``findings`` of rows ``lo``..``hi`` into
    ``out`` (``lines.N.parquet``, ``findings.N.parquet``); returns the N (first rows) written.

    Many rows are read by forked worker processes, each over its own range of rows (the
    index's columns and files are shared with them as they are; the capture is read through
    its ``lines``). Call it before this process opens a DuckDB connection: a process that
    forks must not hold DuckDB's threads. ``on_part(rows)`` is told of each part done.
    """
    n = hi - lo
    workers = min(_MAX_WORKERS, os.cpu_count() or 1)
    if n < _FORK_MIN_ROWS or workers < 2 or not hasattr(os, "fork"):
        _write_lines(index, lo, hi, out)
        if on_part is not None:
            on_part(n)
        return [lo]
    # Several parts per worker, so progress moves and the parts stay a few hundred MB of lines.
    count = max(workers, -(-n // 250_000))
    cuts = [lo + n * k // count for k in range(count + 1)]
    ranges = list(itertools.pairwise(cuts))
    pids: dict[int, list[tuple[int, int]]] = {}
    read_fd, write_fd = os.pipe()
    try:
        for w in range(workers):
            mine = ranges[w::workers]
            pid = os.fork()
            if pid == 0:  # the worker
                code = 1
                try:
                    os.close(read_fd)
                    for a, b in mine:
                        _write_lines(index, a, b, out)
                        os.write(write_fd, f"{b - a}\n".encode())
                    code = 0
                except BaseException:
                    with contextlib.suppress(Exception):
                        import traceback

                        traceback.print_exc(file=sys.stderr)
                finally:
                    os._exit(code)
            pids[pid] = mine
        os.close(write_fd)
        write_fd = -1
        with os.fdopen(read_fd, "rb", closefd=False) as done:
            for line in done:
                if on_part is not None:
                    on_part(int(line))
        failed = False
        for pid in pids:
            _, status = os.waitpid(pid, 0)
            failed = failed or os.waitstatus_to_exitcode(status) != 0
        pids.clear()
        if failed:
            raise RuntimeError("a worker reading the capture lines failed")
    finally:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
                os.waitpid(pid, 0)
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
    return [a for a, _b in ranges]
