"""``rpcspy stats`` and ``rpcspy query`` on a capture of ONC RPC and RPyC calls
(tests/nativecaps.py, real peers' bytes): counted by method with their faults, latency over the
answered ones, the figures as the records say."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path

import pytest

from rpcspy.capture import read_capture
from tests.cli.test_show import run
from tests.nativecaps import native_capture


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    return native_capture(tmp_path / "native.jsonl")


def test_stats_count_native_calls_by_method_with_faults_and_latency(capture: Path) -> None:
    with read_capture(capture) as reader:
        records = list(reader)
    done = run("stats", str(capture), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["calls"] == len(records)
    by_method = {m["method"]: m for m in report["methods"]}
    counts = Counter(r.method for r in records)
    faults = Counter(r.method for r in records if r.is_fault)
    assert {name: m["count"] for name, m in by_method.items()} == counts
    assert {name: m["faults"] for name, m in by_method.items() if m["faults"]} == faults
    assert faults == {"536871065.1.99": 1, "536871065.7.0": 1, "next": 1}
    answered = Counter(r.method for r in records if r.response is not None)
    assert {name: m["answered"] for name, m in by_method.items()} == {
        name: answered.get(name, 0) for name in counts
    }
    lookups = [r for r in records if r.method == "RPC_EXAMPLE_PROG.RPC_EXAMPLE_VERS.LOOKUP"]
    lookup = by_method["RPC_EXAMPLE_PROG.RPC_EXAMPLE_VERS.LOOKUP"]
    assert lookup["latency_ms"]["mean"] == pytest.approx(
        statistics.mean(r.duration_ms or 0.0 for r in lookups)
    )
    sizes = [len(r.response.body or b"") for r in lookups if r.response is not None]
    assert lookup["response_bytes"] == {"mean": pytest.approx(statistics.mean(sizes)), "max": 148}


def test_query_sees_native_calls_outcomes_fault_codes_and_values(capture: Path) -> None:
    sql = (
        "SELECT seq, method, outcome, fault_code, fault_string, params, result FROM calls "
        "ORDER BY seq"
    )
    done = run("query", str(capture), sql, "--json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    with read_capture(capture) as reader:
        records = list(reader)
    assert [r["method"] for r in rows] == [r.method for r in records]
    for row, record in zip(rows, records, strict=True):
        assert (row["outcome"] == "fault") == record.is_fault
        assert (row["outcome"] == "ok") == record.ok
        assert row["fault_code"] == record.fault_code
    echo = rows[0]
    assert json.loads(echo["params"]) == [{"string": "hello, rpcspy"}]
    assert json.loads(echo["result"]) == {"string": "hello, rpcspy"}
    mismatch = next(r for r in rows if r["method"] == "536871065.7.0")
    assert (mismatch["fault_code"], mismatch["fault_string"]) == (
        2,
        "PROG_MISMATCH (supported 1-1)",
    )
    stop = next(r for r in rows if r["outcome"] == "fault" and r["method"] == "next")
    assert stop["fault_code"] is None and stop["fault_string"] == "StopIteration"
    assert rows[-1]["outcome"] == "pending" and rows[-1]["method"] == "close"
