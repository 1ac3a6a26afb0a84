"""``rpcspy query`` as a user runs it: output formats, schema, exit codes, torn lines."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

from rpcspy.query import TABLES
from rpcspy.query.engine import cache_root, names_lines, needs_lines
from tests.query.conftest import RECORDED_CALLS, rpcspy
from tests.query.reference import FAULT_RATE_BY_CLIENT, SLOWEST_METHODS, run_sql

SQL = "SELECT seq, method, outcome, duration_ms, started, param_types FROM calls ORDER BY seq"


def test_the_table_is_aligned_with_a_header(recorded: Path) -> None:
    done = rpcspy("query", str(recorded), SLOWEST_METHODS)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["method", "calls", "p95_ms"]
    _, rows = run_sql([recorded], SLOWEST_METHODS)
    assert len(lines) == 1 + len(rows)
    for line, (method, calls, _p95) in zip(lines[1:], rows, strict=True):
        assert line.split()[:2] == [method, str(calls)]
    # numbers are right-aligned: every row ends in the same column
    assert len({len(line) for line in lines}) == 1
    assert "\x1b[" not in done.stdout  # NO_COLOR, and not a terminal


def test_json_gives_one_object_per_row(recorded: Path) -> None:
    done = rpcspy("query", str(recorded), SQL, "--json")
    assert done.returncode == 0, done.stderr
    objects = [json.loads(line) for line in done.stdout.splitlines()]
    _, rows = run_sql([recorded], SQL)
    assert len(objects) == len(rows) == RECORDED_CALLS
    for obj, (seq, method, outcome, duration, started, types) in zip(objects, rows, strict=True):
        assert obj == {
            "seq": seq,
            "method": method,
            "outcome": outcome,
            "duration_ms": duration,
            "started": started.isoformat(),
            "param_types": types,
        }


def test_csv_has_a_header_and_empty_nulls(recorded: Path) -> None:
    sql = "SELECT seq, fault_code, fault_string FROM calls ORDER BY seq"
    done = rpcspy("query", str(recorded), sql, "--csv")
    assert done.returncode == 0, done.stderr
    table = list(csv.reader(io.StringIO(done.stdout)))
    _, rows = run_sql([recorded], sql)
    assert table[0] == ["seq", "fault_code", "fault_string"]
    assert table[1:] == [
        [str(s), "" if c is None else str(c), "" if f is None else f] for s, c, f in rows
    ]
    assert any(c is None for _s, c, _f in rows) and any(c is not None for _s, c, _f in rows)


def test_schema_lists_every_column_with_its_meaning() -> None:
    done = rpcspy("query", "--schema")
    assert done.returncode == 0, done.stderr
    for name, columns in TABLES.items():
        assert f"\n{name}\n" in f"\n{done.stdout}"
        for c in columns:
            assert any(
                line.split()[:2] == [c.name, c.type] and c.meaning in line
                for line in done.stdout.splitlines()
            ), c.name


def test_an_sql_error_is_one_line_and_exit_2(recorded: Path) -> None:
    for sql in ("SELEC 1", "SELECT nosuch FROM calls", "SELECT * FROM callz"):
        done = rpcspy("query", str(recorded), sql)
        assert done.returncode == 2, done.stderr
        assert done.stdout == ""
        assert len(done.stderr.strip().splitlines()) == 1
        assert done.stderr.startswith("rpcspy: error: SQL: ")
    done = rpcspy("query", str(recorded), "SELECT * FROM callz")
    assert 'Did you mean "calls"' in done.stderr


def test_a_capture_that_cannot_be_read_is_exit_3(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    done = rpcspy("query", str(missing), "SELECT 1")
    assert done.returncode == 3 and "no such capture file" in done.stderr
    junk = tmp_path / "junk.jsonl"
    junk.write_text("this is not a capture\n")
    done = rpcspy("query", str(junk), "SELECT 1")
    assert done.returncode == 3 and "not an rpcspy capture" in done.stderr
    done = rpcspy("query", str(tmp_path), "SELECT 1")
    assert done.returncode == 3 and "calls.parquet" in done.stderr
    done = rpcspy("query", "SELECT 1")
    assert done.returncode == 2


def test_torn_lines_are_warned_and_exit_4(recorded: Path, fresh_copy: Callable[..., Path]) -> None:
    torn = fresh_copy(recorded, "torn.jsonl")
    lines = torn.read_bytes().splitlines(keepends=True)
    # a corrupt line in the middle, and a last line cut short by a writer that stopped
    torn.write_bytes(
        b"".join([*lines[:5], b'{"type": "call", "seq": \n', *lines[5:], lines[3][:40]])
    )
    done = rpcspy("query", str(torn), "SELECT count(*) AS n FROM calls")
    assert done.returncode == 4
    assert done.stdout.split() == ["n", str(RECORDED_CALLS)]
    warnings = [w for w in done.stderr.splitlines() if w.startswith("rpcspy: warning: torn.jsonl")]
    assert len(warnings) == 2
    assert "line 6" in warnings[0] and "cut short" in done.stderr
    # the same warnings from the cache: the next query does not read the capture again
    again = rpcspy("query", str(torn), "SELECT count(*) AS n FROM calls")
    assert again.returncode == 4 and again.stderr == done.stderr


def test_help_has_examples() -> None:
    done = rpcspy("query", "--help")
    assert done.returncode == 0
    examples = done.stdout.split("examples:\n", 1)[1]
    assert sum(line.strip().startswith("rpcspy query") for line in examples.splitlines()) >= 4


def test_only_what_the_sql_names_from_the_lines_is_read() -> None:
    assert not needs_lines(SLOWEST_METHODS)
    assert not needs_lines(FAULT_RATE_BY_CLIENT)
    assert not needs_lines("SELECT count(*) FROM calls WHERE outcome = 'error'")
    assert needs_lines("SELECT * FROM calls")
    assert needs_lines("SELECT url FROM calls")
    assert needs_lines('SELECT "ID" FROM calls')
    assert needs_lines("SELECT rule FROM findings")
    assert needs_lines("SELECT COLUMNS(*) FROM calls")
    assert needs_lines("SELECT c.* FROM calls c")
    assert needs_lines("SELECT COLUMNS('.*_bytes') FROM calls")
    assert not needs_lines("SELECT count(*) AS columns FROM calls")
    assert needs_lines("DESCRIBE calls") and needs_lines("summarize calls")
    assert needs_lines("SELECT column_name FROM information_schema.columns")
    assert not names_lines('Binder Error: Referenced column "nosuch" not found! Candidate: "id"')
    assert names_lines('Binder Error: Referenced column "URL" not found in FROM clause!')
    assert names_lines("Catalog Error: Table with name findings does not exist!")


def test_the_cache_is_where_the_index_cache_is(
    tmp_path: Path, monkeypatch: __import__("pytest").MonkeyPatch
) -> None:
    from rpcspy.capture.cache import cache_root as index_cache_root

    for env in (
        {"RPCSPY_CACHE_DIR": str(tmp_path / "a")},
        {"XDG_CACHE_HOME": str(tmp_path / "xdg")},
        {"HOME": str(tmp_path / "home")},
    ):
        for name in ("RPCSPY_CACHE_DIR", "XDG_CACHE_HOME"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        assert cache_root() == index_cache_root()


def test_a_capture_named_twice_is_counted_twice(
    recorded: Path, fresh_copy: Callable[..., Path]
) -> None:
    capture = fresh_copy(recorded)
    for _ in range(2):  # cold (tabled once for both), then warm
        done = rpcspy("query", str(capture), str(capture), "SELECT count(*) AS n FROM calls")
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["n", str(2 * RECORDED_CALLS)]


def test_values_no_column_type_holds_are_null(tmp_path: Path) -> None:
    # A hostile capture may say anything its schema allows: a time in the year 10^292, a port
    # beyond 32 bits. The call is still a row; those values are NULL.
    from tests.conftest import CAPTURES

    header, line = (CAPTURES / "basics.jsonl").read_text().splitlines()[:2]
    odd = line.replace('"seq":1,', '"seq":2,')
    odd = re.sub(r'"started":[0-9.]+', '"started":1e300', odd)
    odd = re.sub(r'"ended":[0-9.]+', '"ended":1e300', odd)
    odd = re.sub(r'"client":\["127.0.0.1",\d+\]', '"client":["127.0.0.1",99999999999]', odd)
    odd = re.sub(r'"server":\["127.0.0.1",\d+\]', '"server":["127.0.0.1",99999999999]', odd)
    assert odd.count("1e300") == 2 and odd.count("99999999999") == 2
    capture = tmp_path / "odd.jsonl"
    capture.write_text(f"{header}\n{line}\n{odd}\n")
    sql = "SELECT seq, started IS NULL, ended IS NULL, client_port, server_port FROM calls"
    done = rpcspy("query", str(capture), sql + " ORDER BY seq", "--csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))[1:]
    assert rows[0][:3] == ["1", "false", "false"] and rows[0][3] and rows[0][4]
    assert rows[1] == ["2", "true", "true", "", ""]
