"""``rpcspy export --to parquet``: the same tables, and the same SQL gives the same rows in plain
DuckDB on the export as ``rpcspy query`` gives on the capture."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from rpcspy.filter import matches, parse_filter
from rpcspy.query import TABLES
from rpcspy.query.parquet import export
from tests.query.conftest import RECORDED_CALLS, records_of, rpcspy
from tests.query.reference import README_QUERIES, expected_calls, run_sql

EVERY_TABLE = (
    "SELECT * FROM calls ORDER BY seq",
    'SELECT * FROM subcalls ORDER BY call_seq, "index"',
    "SELECT * FROM findings ORDER BY call_seq",
)


def plain_duckdb(directory: Path, sql: str) -> list[tuple[object, ...]]:
    """``sql`` in DuckDB itself over an export, with the views docs/query.md creates."""
    con = duckdb.connect()
    for table in TABLES:
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM '{directory}/{table}.parquet'")
    return con.execute(sql).fetchall()


@pytest.fixture(params=["recorded", "generated"])
def exported(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Path]:
    capture: Path = request.getfixturevalue(request.param)
    out = tmp_path / "export.parquet"
    done = rpcspy("export", str(capture), "--to", "parquet", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "calls.parquet",
        "findings.parquet",
        "subcalls.parquet",
    ]
    return capture, out


def test_the_same_sql_gives_the_same_rows_on_the_export(exported: tuple[Path, Path]) -> None:
    capture, out = exported
    for sql in (*EVERY_TABLE, *README_QUERIES):
        _, rows = run_sql([capture], sql)
        assert plain_duckdb(out, sql) == rows, sql
        # and rpcspy query reads the export directory as it reads the capture
        _, again = run_sql([out], sql)
        assert again == rows


def test_the_export_says_what_it_wrote(recorded: Path, tmp_path: Path) -> None:
    out = tmp_path / "session.parquet"
    done = rpcspy("export", str(recorded), "--to", "parquet", "-o", str(out))
    assert done.returncode == 0, done.stderr
    size = sum(p.stat().st_size for p in out.iterdir())
    line = done.stdout.strip()
    assert line.startswith(f"{RECORDED_CALLS} calls exported to {out}, 3 sub-call rows, 1 finding")
    assert f"{size / recorded.stat().st_size:.1%} of the capture's" in line


def test_a_filtered_export_holds_only_the_calls_passing(recorded: Path, tmp_path: Path) -> None:
    out = tmp_path / "faults.parquet"
    done = rpcspy(
        "export", str(recorded), "--to", "parquet", "-o", str(out), "--filter", "method:demo.*"
    )
    assert done.returncode == 0, done.stderr
    flt = parse_filter("method:demo.*")
    records = [r for r in records_of(recorded) if matches(flt, r)]
    assert 0 < len(records) < RECORDED_CALLS
    assert plain_duckdb(out, EVERY_TABLE[0]) == expected_calls(recorded, records)
    subs = sum(len(r.subcalls) for r in records)
    assert plain_duckdb(out, "SELECT count(*) FROM subcalls") == [(subs,)]


def test_records_from_elsewhere_export_as_the_capture_does(
    recorded: Path, tmp_path: Path, fresh_copy: Callable[..., Path]
) -> None:
    # Records without an index (any caller of the exporter): indexed in memory, same tables.
    capture = fresh_copy(recorded, "session.jsonl")
    out = tmp_path / "records.parquet"
    done = export(iter(records_of(capture)), out, source=capture)
    assert done.calls == RECORDED_CALLS
    for sql in EVERY_TABLE:
        _, rows = run_sql([capture], sql)
        assert plain_duckdb(out, sql) == rows, sql
