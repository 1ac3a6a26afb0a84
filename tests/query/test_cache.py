"""The tables' cache: reused as is, extended with appended lines, rebuilt when the capture is
replaced, the lines part built only when needed, and the same answers from forked workers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rpcspy.capture import CaptureWriter, open_index
from rpcspy.query import build
from rpcspy.query.engine import quick_tables, table_capture, tables_dir
from tests.query.conftest import RECORDED_CALLS, records_of, rpcspy
from tests.query.reference import expected_calls, expected_findings, run_sql

ALL_CALLS = "SELECT * FROM calls ORDER BY seq"


def _parts(capture: Path, kind: str) -> list[str]:
    return sorted(p.name for p in tables_dir(capture).glob(f"{kind}.*.parquet"))


def test_a_second_query_reads_only_the_saved_tables(
    recorded: Path, fresh_copy: Callable[..., Path]
) -> None:
    capture = fresh_copy(recorded)
    assert quick_tables(capture, lines=False) is None
    first = rpcspy("query", str(capture), "SELECT count(*) FROM calls")
    assert first.returncode == 0, first.stderr
    saved = quick_tables(capture, lines=False)
    assert saved is not None and saved.source == "cached" and saved.rows == RECORDED_CALLS
    saved.close()
    # the lines part is not there yet: a query that needs it cannot use the quick way
    assert quick_tables(capture, lines=True) is None
    assert _parts(capture, "lines") == []
    second = rpcspy("query", str(capture), "SELECT count(*) FROM calls")
    assert second.stdout == first.stdout


def test_the_lines_part_is_built_once_a_query_needs_it(
    recorded: Path, fresh_copy: Callable[..., Path]
) -> None:
    capture = fresh_copy(recorded)
    rpcspy("query", str(capture), "SELECT count(*) FROM calls")
    assert _parts(capture, "core") == ["core.0.parquet"] and _parts(capture, "lines") == []
    done = rpcspy("query", str(capture), "SELECT count(DISTINCT id) FROM calls")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == str(RECORDED_CALLS)
    assert _parts(capture, "lines") == ["lines.0.parquet"]
    assert _parts(capture, "core") == ["core.0.parquet"]  # kept, not rebuilt
    saved = quick_tables(capture, lines=True)
    assert saved is not None
    saved.close()


def test_an_appended_call_appears_and_only_it_is_tabled(
    recorded: Path, fresh_copy: Callable[..., Path]
) -> None:
    capture = fresh_copy(recorded)
    _, before = run_sql([capture], ALL_CALLS)
    assert len(before) == RECORDED_CALLS
    last = records_of(capture)[-1]
    import dataclasses

    with CaptureWriter(capture) as writer:
        writer.write(dataclasses.replace(last, seq=last.seq + 1, id="appended"))
    assert quick_tables(capture, lines=True) is None  # the file changed
    index, builder = open_index(capture)
    try:
        tables = table_capture(capture, index, lines=True)
    finally:
        builder.close()
    assert tables.source == "extended" and tables.rows == RECORDED_CALLS + 1
    tables.close()
    assert _parts(capture, "core") == ["core.0.parquet", f"core.{RECORDED_CALLS}.parquet"]
    assert _parts(capture, "contents") == [
        "contents.0.parquet",
        f"contents.{RECORDED_CALLS}.parquet",
    ]
    _, after = run_sql([capture], ALL_CALLS)
    assert after[:-1] == before
    assert after == expected_calls(capture, records_of(capture))
    assert after[-1][2] == "appended"


def test_a_call_s_content_is_kept_once_and_a_lost_contents_part_is_built_again(
    recorded: Path, fresh_copy: Callable[..., Path]
) -> None:
    import duckdb

    capture = fresh_copy(recorded)
    _, first = run_sql([capture], ALL_CALLS)
    contents = tables_dir(capture) / "contents.0.parquet"
    core = tables_dir(capture) / "core.0.parquet"
    with duckdb.connect() as con:
        distinct = con.execute(f"SELECT count(DISTINCT content) FROM '{core}'").fetchall()
        kept = con.execute(f"SELECT count(*), count(DISTINCT content) FROM '{contents}'").fetchall()
    assert kept == [(distinct[0][0], distinct[0][0])] and distinct[0][0] > 1
    contents.unlink()  # the cache entry is no longer whole: no quick way, and built again
    assert quick_tables(capture, lines=False) is None
    _, again = run_sql([capture], ALL_CALLS)
    assert again == first == expected_calls(capture, records_of(capture))
    assert _parts(capture, "contents") == ["contents.0.parquet"]


def test_a_replaced_capture_is_tabled_afresh(
    recorded: Path, generated: Path, fresh_copy: Callable[..., Path]
) -> None:
    capture = fresh_copy(recorded, "moving.jsonl")
    _, first = run_sql([capture], ALL_CALLS)
    assert len(first) == RECORDED_CALLS
    replacement = fresh_copy(generated, "other.jsonl")
    replacement.replace(capture)  # a new file under the same name
    _, rows = run_sql([capture], ALL_CALLS)
    assert rows == expected_calls(capture, records_of(capture))
    assert len(rows) == 3000
    assert _parts(capture, "core") == ["core.0.parquet"]


def test_no_cache_leaves_nothing_behind(recorded: Path, fresh_copy: Callable[..., Path]) -> None:
    capture = fresh_copy(recorded)
    done = rpcspy("query", str(capture), "SELECT count(*) FROM findings", "--no-cache")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "1"
    assert _parts(capture, "core") == []


def test_forked_workers_read_the_lines_as_one_process_does(
    generated: Path, fresh_copy: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = fresh_copy(generated, "alone.jsonl")
    forked = fresh_copy(generated, "forked.jsonl")
    _, one = run_sql([alone], ALL_CALLS)
    monkeypatch.setattr(build, "_FORK_MIN_ROWS", 100)
    monkeypatch.setattr(build, "_MAX_WORKERS", 3)
    monkeypatch.setattr(build.os, "cpu_count", lambda: 3)
    index, builder = open_index(forked)
    try:
        seen: list[int] = []
        tables = table_capture(forked, index, lines=True, on_rows=seen.append)
        tables.close()
    finally:
        builder.close()
    assert len(_parts(forked, "lines")) == 3 and sum(seen) == 3000  # (a part per worker)
    _, many = run_sql([forked], ALL_CALLS)
    assert [r[1:] for r in many] == [r[1:] for r in one]
    _, found = run_sql([forked], "SELECT * FROM findings ORDER BY call_seq")
    assert found == expected_findings(forked, records_of(forked))


def test_the_lines_workers_are_forked_only_once_the_preloading_imports_are_done(
    generated: Path, fresh_copy: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A child forked while another thread imports DuckDB would hang on its first use of it:
    # tabling waits for ``preload``'s thread (slowed down here) before it forks the workers.
    import threading
    import time

    from rpcspy.query import engine

    capture = fresh_copy(generated, "preload.jsonl")
    monkeypatch.setattr(build, "_FORK_MIN_ROWS", 100)
    monkeypatch.setattr(build, "_MAX_WORKERS", 2)
    monkeypatch.setattr(build.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(engine, "_preload_imports", lambda: time.sleep(0.5))
    threads_at_fork: list[list[str]] = []
    real_fork = build.os.fork

    def fork() -> int:
        threads_at_fork.append([t.name for t in threading.enumerate()])
        return real_fork()

    monkeypatch.setattr(build.os, "fork", fork)
    engine.preload()
    index, builder = open_index(capture)
    try:
        table_capture(capture, index, lines=True).close()
    finally:
        builder.close()
    assert len(threads_at_fork) == 2
    assert not any("rpcspy-preload" in names for names in threads_at_fork)
