"""The Python answers the SQL is checked against: each table's rows worked out from the records
of a capture as rpcspy.capture reads them, and the three README queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from rpcspy.capture import CallRecord, record_to_json
from rpcspy.capture.summary import call_size, outcome, sub_outcome
from rpcspy.query.engine import Source, execute, needs_lines, open_views, table_capture
from rpcspy.xmlrpc import Fault, MethodResponse
from rpcspy.xmlrpc.jsonform import call_to_json, value_to_json

#: The three queries of the README and docs/query.md, run as they are written there.
SLOWEST_METHODS = """\
SELECT method, count(*) AS calls,
       round(quantile_cont(duration_ms, 0.95), 3) AS p95_ms
FROM calls
GROUP BY method
ORDER BY p95_ms DESC NULLS LAST, method
LIMIT 10"""

FAULT_RATE_BY_CLIENT = """\
SELECT client_host, count(*) AS calls,
       count(*) FILTER (WHERE outcome = 'fault') AS faults,
       round(count(*) FILTER (WHERE outcome = 'fault') / count(*), 4) AS fault_rate
FROM calls
GROUP BY client_host
ORDER BY fault_rate DESC, client_host"""

CHANGED_TYPE = """\
WITH p AS (
    SELECT method, seq, unnest(param_types) AS type,
           generate_subscripts(param_types, 1) - 1 AS position
    FROM calls
)
SELECT method, position, list(DISTINCT type ORDER BY type) AS types,
       list(seq ORDER BY seq) AS calls
FROM p
GROUP BY method, position
HAVING count(DISTINCT type) > 1
ORDER BY method, position"""

README_QUERIES = (SLOWEST_METHODS, FAULT_RATE_BY_CLIENT, CHANGED_TYPE)

_EPOCH = dt.datetime(1970, 1, 1)


def timestamp(seconds: float | None) -> dt.datetime | None:
    """A capture's time as a TIMESTAMP column reads back (UTC, microseconds)."""
    if seconds is None:
        return None
    return _EPOCH + dt.timedelta(microseconds=round(seconds * 1e6))


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def _params(call: Any) -> tuple[str | None, list[str] | None]:
    if call is None:
        return None, None
    params = call_to_json(call)["params"]
    return _json(params), [next(iter(p)) for p in params]


def expected_calls(capture: Path, records: list[CallRecord]) -> list[tuple[Any, ...]]:
    """``SELECT * FROM calls ORDER BY seq``, from the records."""
    rows = []
    for r in sorted(records, key=lambda r: r.seq):
        reply = r.reply
        params, types = _params(r.call)
        host = f"[{r.host}]" if ":" in r.host else r.host
        rows.append(
            (
                capture.name,
                r.seq,
                r.id,
                timestamp(r.started),
                timestamp(r.ended),
                r.duration_ms,
                None if r.client is None else r.client[0],
                None if r.client is None else r.client[1],
                None if r.server is None else r.server[0],
                None if r.server is None else r.server[1],
                f"{r.scheme}://{host}:{r.port}{r.path}",
                r.status,
                r.method,
                r.is_multicall,
                outcome(r).kind,
                r.fault_code,
                reply.string if isinstance(reply, Fault) else None,
                r.request.size,
                None if r.response is None else r.response.size,
                call_size(r),
                r.origin,
                bool(r.findings),
                len(r.findings),
                params,
                types,
                _json(value_to_json(reply.value)) if isinstance(reply, MethodResponse) else None,
                _json(record_to_json(r)["problems"]),
                r.error,
            )
        )
    return rows


def expected_subcalls(capture: Path, records: list[CallRecord]) -> list[tuple[Any, ...]]:
    """``SELECT * FROM subcalls ORDER BY call_seq, index``."""
    rows = []
    for r in sorted(records, key=lambda r: r.seq):
        for s in r.subcalls:
            params, types = _params(s.call)
            result = s.result
            rows.append(
                (
                    capture.name,
                    r.seq,
                    s.index,
                    s.call.method,
                    params,
                    types,
                    sub_outcome(result).kind,
                    _json(value_to_json(result.value))
                    if isinstance(result, MethodResponse)
                    else None,
                    result.code if isinstance(result, Fault) else None,
                    result.string if isinstance(result, Fault) else None,
                )
            )
    return rows


def expected_findings(capture: Path, records: list[CallRecord]) -> list[tuple[Any, ...]]:
    """``SELECT * FROM findings ORDER BY call_seq`` (each call's in their order)."""
    return [
        (capture.name, r.seq, f.where, f.rule, f.severity, f.message, f.path)
        for r in sorted(records, key=lambda r: r.seq)
        for f in r.findings
    ]


def p95_by_method(records: list[CallRecord]) -> dict[str | None, tuple[int, float | None]]:
    """Calls and p95 latency (linear interpolation, numpy's default) per method."""
    durations: dict[str | None, list[float]] = defaultdict(list)
    counts: dict[str | None, int] = defaultdict(int)
    for r in records:
        counts[r.method] += 1
        if r.duration_ms is not None:
            durations[r.method].append(r.duration_ms)
    return {
        m: (
            n,
            float(np.percentile(durations[m], 95, method="linear")) if durations[m] else None,
        )
        for m, n in counts.items()
    }


def fault_rate_by_client(records: list[CallRecord]) -> dict[str | None, tuple[int, int]]:
    """Calls and faults per client host."""
    out: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    for r in records:
        host = None if r.client is None else r.client[0]
        out[host][0] += 1
        out[host][1] += outcome(r).kind == "fault"
    return {k: (v[0], v[1]) for k, v in out.items()}


def changed_types(records: list[CallRecord]) -> dict[tuple[str, int], tuple[list[str], list[int]]]:
    """(method, position) -> (the distinct types, the calls) where a param's type changed."""
    seen: dict[tuple[str, int], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        _, types = _params(r.call)
        for position, t in enumerate(types or ()):
            seen[(r.method or "", position)][t].append(r.seq)
    return {
        key: (sorted(by_type), sorted(s for seqs in by_type.values() for s in seqs))
        for key, by_type in seen.items()
        if len(by_type) > 1
    }


def run_sql(paths: list[Path], sql: str, *, cache: bool = True) -> tuple[list[str], list[Any]]:
    """``sql`` over captures (or Parquet exports) as ``rpcspy query`` runs it, in-process."""
    from rpcspy.capture import open_index

    sources = []
    try:
        for path in paths:
            if path.is_dir():
                sources.append(Source(path.name, export_dir=path))
                continue
            index, builder = open_index(path)
            try:
                tables = table_capture(path, index, lines=needs_lines(sql), cache=cache)
            finally:
                builder.close()
            sources.append(Source(path.name, tables))
        with open_views(sources) as con:
            columns, rows = execute(con, sql)
            assert columns is not None
            return columns, list(rows)
    finally:
        for s in sources:
            if s.tables is not None:
                s.tables.close()
