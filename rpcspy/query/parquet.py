"""``rpcspy export --to parquet``: a directory of three Parquet tables, ``calls.parquet``,
``subcalls.parquet`` and ``findings.parquet``, the same tables (and columns) ``rpcspy query``
queries, written by DuckDB's own Parquet writer (zstd).

When the command hands over the capture's index and the rows to export (``IndexedRecords`` of
``rpcspy.export``), the tables are built from the index as ``rpcspy query`` builds them (and kept
in its cache), without building a record per call; other records are indexed in memory first.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from rpcspy.capture import CallRecord
from rpcspy.capture.index import CaptureIndex, index_records
from rpcspy.capture.summary import format_size
from rpcspy.export import Exported
from rpcspy.query.engine import table_capture
from rpcspy.query.tables import FINDINGS, SUBCALLS, calls_select, connect

__all__ = ["export"]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def export(records: Iterable[CallRecord], out: Path, *, source: Path) -> Exported:
    """Write ``records`` as the Parquet tables of ``rpcspy query`` into the new directory
    ``out``; the detail gives the sub-call and finding rows and the size against the capture."""
    index: CaptureIndex | None = getattr(records, "index", None)
    rows: Any = getattr(records, "rows", None)
    advance: Callable[[int], None] | None = getattr(records, "advance", None)
    own = index is None or rows is None
    if own:
        # Records from elsewhere: indexed in memory, tabled in a temporary directory.
        index = index_records(records)
        rows = range(index.count)
    assert index is not None
    try:
        tables = table_capture(source, index, lines=True, cache=not own, on_rows=advance)
        try:
            return _write(tables.dir, rows, index.count, out, source)
        finally:
            tables.close()
    finally:
        if own:
            index.close()


def _write(directory: Path, rows: Any, count: int, out: Path, source: Path) -> Exported:
    out.mkdir(parents=True, exist_ok=False)
    name = _quote(source.name)

    def parts(kind: str) -> str:
        return f"read_parquet({_quote(str(directory / f'{kind}.*.parquet'))})"

    everything = isinstance(rows, range) and rows == range(count)
    where = "" if everything else "c.row IN (SELECT row FROM keep)"
    sub_where = "" if everything else " WHERE row IN (SELECT row FROM keep)"
    with connect() as con:
        if not everything:
            keep = np.fromiter(rows, dtype=np.int64)
            con.register("keep", {"row": keep})
        tables = {
            "calls": calls_select(parts("core"), parts("contents"), parts("lines"), name, where)
            + " ORDER BY c.row",
            "subcalls": (
                f"SELECT {name} AS capture, "
                + ", ".join(f'"{c.name}"' for c in SUBCALLS[1:])
                + f' FROM {parts("subcalls")}{sub_where} ORDER BY row, "index"'
            ),
            "findings": (
                f"SELECT {name} AS capture, "
                + ", ".join(f'"{c.name}"' for c in FINDINGS[1:])
                + f" FROM {parts('findings')}{sub_where} ORDER BY row"
            ),
        }
        for table, select in tables.items():
            target = _quote(str(out / f"{table}.parquet"))
            con.execute(f"COPY ({select}) TO {target} (FORMAT parquet, COMPRESSION zstd)")
        counts = {
            t: con.execute(f"SELECT count(*) FROM {_quote(str(out / f'{t}.parquet'))}").fetchone()
            for t in tables
        }
    calls, subs, finds = (int(counts[t][0]) if counts[t] else 0 for t in tables)  # type: ignore[index]
    written = sum(p.stat().st_size for p in out.iterdir())
    detail = (
        f"{subs} sub-call row{'s' if subs != 1 else ''}, "
        f"{finds} finding{'s' if finds != 1 else ''}, {format_size(written)}"
    )
    try:
        jsonl = os.stat(source).st_size
    except OSError:
        jsonl = 0
    if jsonl:
        detail += f" ({written / jsonl:.1%} of the capture's {format_size(jsonl)})"
    return Exported(calls, detail)
