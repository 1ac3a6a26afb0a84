"""The views' answers against a Python computation over the same captures (read with
rpcspy.capture): every column of every table, the README's three queries, plain and gzip
captures, recorded through the real proxy and generated."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from rpcspy.query import TABLES
from tests.conftest import REPO
from tests.query.conftest import RECORDED_CALLS, records_of
from tests.query.reference import (
    CHANGED_TYPE,
    FAULT_RATE_BY_CLIENT,
    README_QUERIES,
    SLOWEST_METHODS,
    changed_types,
    expected_calls,
    expected_findings,
    expected_subcalls,
    fault_rate_by_client,
    p95_by_method,
    run_sql,
)

CAPTURES = ["recorded", "generated"]


@pytest.fixture(params=CAPTURES)
def capture(request: pytest.FixtureRequest) -> Path:
    path: Path = request.getfixturevalue(request.param)
    return path


def test_the_recorded_capture_has_what_the_queries_look_for(recorded: Path) -> None:
    records = records_of(recorded)
    assert len(records) == RECORDED_CALLS
    assert any(r.subcalls for r in records)
    assert any(r.findings for r in records)
    assert changed_types(records)


def test_calls_hold_every_column_of_every_record(capture: Path) -> None:
    columns, rows = run_sql([capture], "SELECT * FROM calls ORDER BY seq")
    assert columns == [c.name for c in TABLES["calls"]]
    assert rows == expected_calls(capture, records_of(capture))


def test_subcalls_hold_every_sub_call(capture: Path) -> None:
    columns, rows = run_sql([capture], 'SELECT * FROM subcalls ORDER BY call_seq, "index"')
    assert columns == [c.name for c in TABLES["subcalls"]]
    expected = expected_subcalls(capture, records_of(capture))
    assert expected  # both captures hold multicalls
    assert rows == expected


def test_findings_hold_every_finding(recorded: Path) -> None:
    columns, rows = run_sql([recorded], "SELECT * FROM findings ORDER BY call_seq")
    assert columns == [c.name for c in TABLES["findings"]]
    expected = expected_findings(recorded, records_of(recorded))
    assert [f[3] for f in expected] == ["int-out-of-range"]
    assert rows == expected


def test_slowest_methods_by_p95_is_numpy_linear_percentile(capture: Path) -> None:
    _, rows = run_sql([capture], SLOWEST_METHODS)
    expected = p95_by_method(records_of(capture))
    assert rows  # (LIMIT 10: the slowest ten)
    for method, calls, p95 in rows:
        n, want = expected[method]
        assert calls == n
        assert want is not None and p95 == round(want, 3)
    top = sorted(expected.items(), key=lambda kv: (-(kv[1][1] or 0), kv[0] or ""))[: len(rows)]
    assert [m for m, _ in top] == [r[0] for r in rows]


def test_count_and_unrounded_p95_per_method(capture: Path) -> None:
    sql = "SELECT method, count(*), quantile_cont(duration_ms, 0.95) FROM calls GROUP BY ALL"
    _, rows = run_sql([capture], sql)
    expected = p95_by_method(records_of(capture))
    assert {m: n for m, n, _p in rows} == {m: n for m, (n, _p) in expected.items()}
    for method, _n, p95 in rows:
        assert p95 == pytest.approx(expected[method][1], rel=1e-12)


def test_fault_rate_by_client(capture: Path) -> None:
    _, rows = run_sql([capture], FAULT_RATE_BY_CLIENT)
    expected = fault_rate_by_client(records_of(capture))
    assert {host: (calls, faults) for host, calls, faults, _rate in rows} == expected
    for _host, calls, faults, rate in rows:
        assert rate == round(faults / calls, 4)


def test_calls_whose_param_changed_type(capture: Path) -> None:
    _, rows = run_sql([capture], CHANGED_TYPE)
    expected = changed_types(records_of(capture))
    assert {(m, p): (t, c) for m, p, t, c in rows} == expected


def test_changed_types_in_the_recorded_session_are_the_ones_made(recorded: Path) -> None:
    _, rows = run_sql([recorded], CHANGED_TYPE)
    assert {(m, p): t for m, p, t, _c in rows} == {
        ("add", 0): ["double", "i4", "int"],
        ("add", 1): ["i4", "int"],
        ("echo", 0): ["array", "int", "string"],
    }


def test_a_gzip_capture_answers_as_its_plain_twin(
    recorded: Path, fresh_copy: Callable[..., Path], tmp_path: Path
) -> None:
    plain = fresh_copy(recorded, "twin.jsonl")
    packed = tmp_path / "twin.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    for sql in ("SELECT * FROM calls ORDER BY seq", *README_QUERIES):
        _, a = run_sql([plain], sql)
        _, b = run_sql([packed], sql)
        assert [r[1:] for r in a] == [r[1:] for r in b] if sql.startswith("SELECT *") else a == b
    _, rows = run_sql([REPO / "captures" / "large.jsonl.gz"], "SELECT * FROM calls ORDER BY seq")
    assert rows == expected_calls(
        REPO / "captures" / "large.jsonl.gz", records_of(REPO / "captures" / "large.jsonl.gz")
    )


def test_several_captures_are_one_view(recorded: Path, generated: Path) -> None:
    sql = "SELECT capture, count(*), count(DISTINCT seq) FROM calls GROUP BY ALL ORDER BY 1"
    _, rows = run_sql([recorded, generated], sql)
    assert rows == [
        ("generated.jsonl", 3000, 3000),
        ("session.jsonl", RECORDED_CALLS, RECORDED_CALLS),
    ]
    _, rows = run_sql([recorded, generated], "SELECT * FROM calls ORDER BY capture, seq")
    assert rows == expected_calls(generated, records_of(generated)) + expected_calls(
        recorded, records_of(recorded)
    )


@pytest.mark.parametrize("table", sorted(TABLES))
def test_the_documented_types_are_the_views_types(recorded: Path, table: str) -> None:
    _, rows = run_sql([recorded], f"DESCRIBE {table}")
    assert [(r[0], r[1]) for r in rows] == [(c.name, c.type) for c in TABLES[table]]
