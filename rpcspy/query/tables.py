"""The relational view of captures: the three tables (``calls``, ``subcalls``, ``findings``)
and their documented columns. ``rpcspy.query.build`` makes their rows, ``rpcspy.query.engine``
opens them as DuckDB views, ``rpcspy.query.parquet`` exports them; docs/query.md describes them.

Two parts make ``calls``: the *core* (every column not marked ``lines``), built from the capture
index alone, and the *lines* part (``Column.lines``), which only the capture lines hold and which
is built when a query needs it. Both carry the index row (``row``) they are joined on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "CALLS",
    "FINDINGS",
    "LINE_COLUMNS",
    "SUBCALLS",
    "TABLES",
    "Column",
    "calls_select",
    "connect",
]


@dataclass(frozen=True, slots=True)
class Column:
    """One documented column: its name, SQL type, meaning, and whether only the lines hold it."""

    name: str
    type: str
    meaning: str
    lines: bool = False


#: One row per call (in no set order: a query says ORDER BY seq for the capture's).
CALLS: Final = (
    Column("capture", "VARCHAR", "the capture file's name (its base name)"),
    Column("seq", "BIGINT", "the call's sequence number in its capture"),
    Column("id", "VARCHAR", "the call's id (unique per call)", lines=True),
    Column("started", "TIMESTAMP", "when the request started (UTC, microseconds)"),
    Column("ended", "TIMESTAMP", "when the response ended (UTC); NULL without one", lines=True),
    Column("duration_ms", "DOUBLE", "ended - started in milliseconds; NULL without a response"),
    Column("client_host", "VARCHAR", "the client's address; NULL when unknown"),
    Column("client_port", "INTEGER", "the client's port; NULL when unknown"),
    Column("server_host", "VARCHAR", "the server's address; NULL when unknown", lines=True),
    Column("server_port", "INTEGER", "the server's port; NULL when unknown", lines=True),
    Column("url", "VARCHAR", "scheme://host:port/path the call went to", lines=True),
    Column("status", "INTEGER", "the HTTP status; NULL without a response"),
    Column("method", "VARCHAR", "the called method; NULL when the request did not decode"),
    Column("multicall", "BOOLEAN", "true for a system.multicall"),
    Column(
        "outcome",
        "VARCHAR",
        "ok, subfault (a multicall with faulted sub-calls), fault, problem, error "
        "(connection error) or pending (no response): the words of rpcspy show",
    ),
    Column("fault_code", "BIGINT", "the fault code of a fault; NULL otherwise"),
    Column("fault_string", "VARCHAR", "the fault string of a fault; NULL otherwise"),
    Column("request_bytes", "BIGINT", "request body bytes on the wire (still encoded)", lines=True),
    Column(
        "response_bytes",
        "BIGINT",
        "response body bytes on the wire; NULL when none was recorded",
        lines=True,
    ),
    Column("size_bytes", "BIGINT", "both bodies' bytes on the wire (the size rpcspy show gives)"),
    Column("origin", "VARCHAR", "proxy, replay, resent or import"),
    Column("nonconformant", "BOOLEAN", "true when a body breaks the XML-RPC spec (has findings)"),
    Column("finding_count", "INTEGER", "how many conformance findings the call has", lines=True),
    Column(
        "params",
        "VARCHAR",
        'the params as typed JSON text, [{"int": 2}, {"string": "x"}]; NULL when undecoded',
    ),
    Column(
        "param_types",
        "VARCHAR[]",
        "the XML-RPC type of each param, in order (int, i4, string, struct ...)",
    ),
    Column("result", "VARCHAR", 'the result as typed JSON text, {"int": 5}; NULL otherwise'),
    Column(
        "problems",
        "VARCHAR",
        "the decode and connection problems as JSON text (where, kind, reason ...); [] for none",
        lines=True,
    ),
    Column("error", "VARCHAR", "the connection error; NULL when there was none", lines=True),
)

#: One row per sub-call of a system.multicall.
SUBCALLS: Final = (
    Column("capture", "VARCHAR", "the capture file's name"),
    Column("call_seq", "BIGINT", "seq of the multicall in calls"),
    Column("index", "INTEGER", "the sub-call's position in the multicall, from 0"),
    Column("method", "VARCHAR", "the sub-call's method"),
    Column("params", "VARCHAR", "its params as typed JSON text"),
    Column("param_types", "VARCHAR[]", "the XML-RPC type of each of its params"),
    Column("outcome", "VARCHAR", "ok, fault or pending (no result for it)"),
    Column("result", "VARCHAR", "its result as typed JSON text; NULL for a fault or none"),
    Column("fault_code", "BIGINT", "its fault code; NULL otherwise"),
    Column("fault_string", "VARCHAR", "its fault string; NULL otherwise"),
)

#: One row per conformance finding of a call.
FINDINGS: Final = (
    Column("capture", "VARCHAR", "the capture file's name"),
    Column("call_seq", "BIGINT", "seq of the call in calls"),
    Column("half", "VARCHAR", "request, response or multicall: where it was found"),
    Column("rule", "VARCHAR", "the rule id (int-out-of-range ...; see rpcspy lint)"),
    Column("severity", "VARCHAR", "warning (decoded, meaning kept) or error (kept as written)"),
    Column("message", "VARCHAR", "what the body does, for people"),
    Column("path", "VARCHAR", "the value path (params[0].id ...); NULL when none"),
)

TABLES: Final = {"calls": CALLS, "subcalls": SUBCALLS, "findings": FINDINGS}

#: The columns of ``calls`` only the capture lines hold (read when a query needs them).
LINE_COLUMNS: Final = frozenset(c.name for c in CALLS if c.lines)


#: The columns of ``calls`` a call's distinct content holds (its messages): kept once per
#: content in the ``contents`` parts, joined to the core rows by ``content`` when queried.
_CONTENT_COLUMNS: Final = frozenset(
    ("params", "param_types", "result", "fault_code", "fault_string")
)


def calls_select(
    core: str, contents: str, lines: str | None, capture_sql: str, where: str = ""
) -> str:
    """The SELECT of the ``calls`` view over a core relation, its contents relation and (when
    built) a lines relation, in the documented column order (without the lines' columns when
    ``lines`` is None); ``where`` is a condition on the core's ``c.row``."""
    cols = []
    for c in CALLS:
        if c.name == "capture":
            cols.append(f"{capture_sql} AS capture")
        elif c.lines:
            if lines is not None:
                cols.append(f"l.{c.name}")
        elif c.name in ("fault_code", "fault_string"):
            cols.append(f"CASE WHEN c.faulted THEN k.{c.name} END AS {c.name}")
        elif c.name in _CONTENT_COLUMNS:
            cols.append(f"k.{c.name}")
        else:
            cols.append(f"c.{c.name}")
    source = f"{core} AS c LEFT JOIN {contents} AS k USING (content)" + (
        f" JOIN {lines} AS l USING (row)" if lines is not None else ""
    )
    return f"SELECT {', '.join(cols)} FROM {source}" + (f" WHERE {where}" if where else "")


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection as rpcspy uses one: no progress bar of DuckDB's own
    (the command draws its own, on stderr, only where it may)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con
