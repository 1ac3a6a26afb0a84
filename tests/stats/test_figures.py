"""``rpcspy.capture.stats`` against the plain computation (``tests.stats.oracle``), over captures
recorded through the proxy and one from the benchmarks' generator."""

from __future__ import annotations

import itertools
import math
import random
import statistics
from array import array
from pathlib import Path

import pytest

from rpcspy.capture import read_capture
from rpcspy.capture.index import index_records, open_index
from rpcspy.capture.stats import (
    ALL_METHODS,
    MethodStats,
    compute_stats,
    histogram,
    percentile,
    sort_stats,
)
from rpcspy.filter import filter_rows, parse_filter
from rpcspy.xmlrpc import Fault
from tests.stats.oracle import Expected, expected, expected_from
from tests.tui.samples import sample_records, write_capture

CAPTURES = ["mixed_capture", "failing_capture", "generated_capture"]


def close(a: float | None, b: float | None) -> bool:
    """Equal but for the last bits (two ways of interpolating round differently)."""
    if a is None or b is None:
        return a is b
    return a == pytest.approx(b, rel=1e-12, abs=1e-12)


def check(got: MethodStats, want: Expected) -> None:
    assert (got.count, got.faults, got.errors, got.problems) == (
        want.count,
        want.faults,
        want.errors,
        want.problems,
    ), got.method
    assert (got.subcalls, got.subcall_faults) == (want.subcalls, want.subcall_faults)
    assert got.fault_rate == want.faults / want.count
    assert got.answered == len(want.latencies)
    lat = sorted(want.latencies)
    assert list(got.latencies) == lat
    assert got.min_ms == (lat[0] if lat else None)
    assert got.max_ms == (lat[-1] if lat else None)
    for p, value in ((50, got.p50_ms), (95, got.p95_ms), (99, got.p99_ms)):
        assert close(value, want.pct(p)), (got.method, p, value, want.pct(p))
    assert close(got.mean_ms, want.mean())
    assert got.request_bytes_mean == statistics.fmean(want.requests)
    assert got.request_bytes_max == max(want.requests)
    if want.responses:
        assert got.response_bytes_mean == pytest.approx(statistics.fmean(want.responses))
        assert got.response_bytes_max == max(want.responses)
    else:
        assert got.response_bytes_mean is None and got.response_bytes_max is None
    bins = got.histogram()
    assert sum(b.count for b in bins) == len(lat)
    for b in bins:
        assert b.count == sum(1 for ms in lat if b.lo_ms <= ms < b.hi_ms) or b is bins[-1]


@pytest.mark.parametrize("name", CAPTURES)
def test_every_figure_matches_the_plain_computation(name: str, request: pytest.FixtureRequest):
    path: Path = request.getfixturevalue(name)
    per, total = expected_from(path)
    index, builder = open_index(path)
    try:
        stats = compute_stats(index)
    finally:
        builder.close()
    assert {s.method for s in stats.methods} == set(per)
    for s in stats.methods:
        check(s, per[s.method])
    assert stats.total.method == ALL_METHODS
    check(stats.total, total)
    assert stats.calls == total.count
    # most calls first, then by name
    assert [s.method for s in stats.methods] == sorted(per, key=lambda m: (-per[m].count, m))


def test_the_recorded_captures_hold_what_the_figures_are_about(
    mixed_capture: Path, failing_capture: Path
) -> None:
    per, _total = expected_from(mixed_capture)
    assert per["system.multicall"].subcalls == 6 and per["system.multicall"].subcall_faults == 2
    assert per["demo.crash"].errors == 1 and not per["demo.crash"].latencies
    assert per["demo.fault"].faults == 2 and per["add"].faults == 1
    assert max(per["demo.slow"].latencies) >= 50
    _failing, all_failing = expected_from(failing_capture)
    assert all_failing.faults + all_failing.errors == all_failing.count


def test_every_call_failed(failing_capture: Path) -> None:
    index, builder = open_index(failing_capture)
    stats = compute_stats(index)
    builder.close()
    crash = stats.method("demo.crash")
    assert crash is not None and crash.errors == crash.count == 2
    assert crash.answered == 0 and crash.p95_ms is None and crash.histogram() == []
    assert crash.response_bytes_mean is None
    fault = stats.method("demo.fault")
    assert fault is not None and fault.fault_rate == 1.0
    assert stats.total.faults + stats.total.errors == stats.total.count


def test_an_empty_capture_has_no_figures(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "empty.jsonl", [])
    index, builder = open_index(path)
    stats = compute_stats(index)
    builder.close()
    assert stats.methods == [] and stats.calls == 0
    assert stats.total.p50_ms is None and stats.total.histogram() == []
    assert stats.total.request_bytes_mean is None and stats.total.fault_rate == 0.0


@pytest.mark.parametrize("text", ["method:echo", "method:demo.*", "not method:echo"])
def test_over_filtered_rows(mixed_capture: Path, text: str) -> None:
    records = list(read_capture(mixed_capture))

    def calls(r: object, pattern: str) -> bool:
        import fnmatch

        names = [r.method] + [s.call.method for s in r.subcalls]  # type: ignore[attr-defined]
        return any(fnmatch.fnmatchcase(n or "", pattern) for n in names)

    pattern = text.removeprefix("not ").removeprefix("method:")
    wanted = [r for r in records if calls(r, pattern) != text.startswith("not ")]
    per, total = expected(wanted)
    index, builder = open_index(mixed_capture)
    stats = compute_stats(index, filter_rows(index, parse_filter(text)))
    builder.close()
    assert {s.method for s in stats.methods} == set(per)
    for s in stats.methods:
        check(s, per[s.method])
    check(stats.total, total)


def test_in_memory_rows_count_the_same() -> None:
    records = sample_records()
    per, total = expected(records)
    stats = compute_stats(index_records(records))
    for s in stats.methods:
        check(s, per[s.method])
    check(stats.total, total)
    # what the stats screen showed before (nearest-rank then, the same on one call)
    by = {s.method: s for s in stats.methods}
    assert by["user.get"].count == 2 and by["user.get"].faults == 0
    assert by["demo.fault"].fault_rate == 1.0
    assert by["demo.slow"].p50_ms == pytest.approx(352.0, abs=0.1)
    assert by["math.add"].p50_ms is None


def test_the_request_size_column(mixed_capture: Path) -> None:
    index, builder = open_index(mixed_capture)
    for row, record in enumerate(read_capture(mixed_capture)):
        assert index.req_size[row] == record.request.size
        response = 0 if record.response is None else record.response.size
        assert index.size[row] - index.req_size[row] == response
    builder.close()


def test_percentiles_interpolate_linearly() -> None:
    rng = random.Random(7)
    for n in (2, 3, 10, 101, 1000):
        values = sorted(rng.lognormvariate(1, 1.5) for _ in range(n))
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        for p in (1, 25, 50, 95, 99):
            assert close(percentile(values, p / 100), cuts[p - 1])
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([1.0, 2.0], 0.0) == 1.0 and percentile([1.0, 2.0], 1.0) == 2.0


def test_percentiles_equal_duckdb_quantile_cont(generated_capture: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    rows = [
        (r.method, (r.ended - r.started) * 1000.0)
        for r in read_capture(generated_capture)
        if r.response is not None and r.ended is not None
    ]
    db = duckdb.connect()
    db.execute("create table t (method varchar, ms double)")
    db.executemany("insert into t values (?, ?)", rows)
    sql = (
        "select method, quantile_cont(ms, 0.5), quantile_cont(ms, 0.95), "
        "quantile_cont(ms, 0.99) from t group by method"
    )
    want = {m: (a, b, c) for m, a, b, c in db.execute(sql).fetchall()}
    index, builder = open_index(generated_capture)
    stats = compute_stats(index)
    builder.close()
    for s in stats.methods:
        assert (s.p50_ms, s.p95_ms, s.p99_ms) == want[s.method]


def test_histogram_bins() -> None:
    rng = random.Random(3)
    values = sorted(rng.lognormvariate(1, 1) for _ in range(500))
    for max_bins in (1, 3, 8, 16, 40):
        bins = histogram(values, max_bins)
        assert 1 <= len(bins) <= max_bins
        assert sum(b.count for b in bins) == len(values)
        assert all(a.hi_ms == b.lo_ms for a, b in itertools.pairwise(bins))
        assert bins[0].lo_ms <= values[0] and values[-1] < bins[-1].hi_ms
        for b in bins:
            assert b.count == sum(1 for v in values if b.lo_ms <= v < b.hi_ms)
            # log-spaced: no bin wider than a decade when there is room for one per decade
            assert b.hi_ms / b.lo_ms <= 10 + 1e-9 or max_bins < 8
    assert histogram([]) == []
    (one,) = histogram([2.5])
    assert one.lo_ms <= 2.5 < one.hi_ms and one.count == 1


def test_histogram_of_odd_times() -> None:
    """Zero and negative times (a clock that went back) and infinite ones (a hostile capture)
    still land in a bin, and every bin says where it starts and ends."""
    values = [-3.0, 0.0, 0.5, 2.0, math.inf]
    bins = histogram(values, 8)
    assert sum(b.count for b in bins) == 5
    assert bins[0].lo_ms == -3.0 and bins[-1].hi_ms == math.inf
    stats = MethodStats("x", 5, latencies=array("d", values))
    assert stats.histogram(8) == bins


def test_sort_orders() -> None:
    def m(name: str, count: int, faults: int, p95: float | None) -> MethodStats:
        return MethodStats(name, count, faults=faults, p95_ms=p95)

    items = [m("b", 5, 0, 3.0), m("a", 5, 2, None), m("c", 9, 1, 7.0), m("d", 1, 2, 1.0)]
    assert [s.method for s in sort_stats(items, "count")] == ["c", "a", "b", "d"]
    assert [s.method for s in sort_stats(items, "p95")] == ["c", "b", "d", "a"]
    assert [s.method for s in sort_stats(items, "faults")] == ["d", "a", "c", "b"]
    assert [s.method for s in sort_stats(items, "method")] == ["a", "b", "c", "d"]
    with pytest.raises(ValueError):
        sort_stats(items, "nope")  # type: ignore[arg-type]


def test_faults_are_the_replies_that_are_faults() -> None:
    records = sample_records()
    stats = compute_stats(index_records(records))
    assert stats.total.faults == sum(isinstance(r.reply, Fault) for r in records)
