"""``rpcspy stats`` as a user runs it: table, chart, --json, --filter, --sort/--top, colour,
encodings and exit codes. Figures are checked against ``tests.stats.oracle``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rpcspy.capture.summary import format_duration
from tests.stats.oracle import expected_from
from tests.tui.samples import write_capture

RPCSPY = str(Path(sys.executable).with_name("rpcspy"))
BLOCK = "\u2588"


def stats(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "NO_COLOR": "1", "COLUMNS": "160", **env}
    for name, value in env.items():
        if value == "":
            full.pop(name, None)
    return subprocess.run(
        [RPCSPY, "stats", *args], capture_output=True, text=True, timeout=120, env=full
    )


def table(out: str) -> dict[str, list[str]]:
    """The table's rows by method: the cells split on runs of two spaces or more."""
    lines = out.splitlines()
    head = lines[0].split()
    assert head[:3] == ["method", "calls", "faults"], lines[0]
    rows = {}
    for line in lines[1:]:
        if not line.strip() or " calls, " in line:
            break
        cells = [c.strip() for c in line.split("  ") if c.strip()]
        rows[cells[0]] = cells
    return rows


def test_the_table_and_the_chart(mixed_capture: Path) -> None:
    per, total = expected_from(mixed_capture)
    out = stats(str(mixed_capture))
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert "\x1b[" not in out.stdout  # NO_COLOR
    rows = table(out.stdout)
    assert set(rows) == {*per, "(all methods)"}
    for method, want in per.items():
        cells = rows[method]
        assert cells[1] == f"{want.count:,}" and cells[2] == f"{want.faults:,}"
        assert cells[3] == f"{100 * want.faults / want.count:.1f}"
        assert cells[8] == format_duration(want.pct(95)), method
    assert rows["(all methods)"][1] == f"{total.count:,}"
    assert f"{total.count} calls, {len(per)} methods" in out.stdout
    chart = out.stdout.split("slowest methods by p95")[1].splitlines()[1:]
    slowest = sorted((m for m in per if per[m].latencies), key=lambda m: -(per[m].pct(95) or 0))
    assert [line.split()[0] for line in chart] == slowest[:10]
    assert BLOCK in chart[0]
    # bars are as long as the p95 (the slowest fills the width: 160 columns)
    assert len(chart[0]) <= 160


def test_json_has_every_figure(mixed_capture: Path) -> None:
    per, total = expected_from(mixed_capture)
    out = stats(str(mixed_capture), "--json")
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout)
    assert obj["calls"] == total.count and obj["filter"] is None
    assert obj["total"]["count"] == total.count
    got = {m["method"]: m for m in obj["methods"]}
    assert set(got) == set(per)
    for method, want in per.items():
        m = got[method]
        assert (m["count"], m["faults"], m["errors"], m["problems"]) == (
            want.count,
            want.faults,
            want.errors,
            want.problems,
        )
        assert m["answered"] == len(want.latencies)
        for p in (50, 95, 99):
            value = m["latency_ms"][f"p{p}"]
            assert (value is None) == (want.pct(p) is None)
            if value is not None:
                assert value == pytest.approx(want.pct(p), rel=1e-12)
        assert m["request_bytes"]["max"] == max(want.requests)
        assert sum(b["count"] for b in m["histogram"]) == len(want.latencies)


def test_filter_sort_and_top(mixed_capture: Path) -> None:
    out = stats(str(mixed_capture), "--filter", "method:demo.*", "--json")
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout)
    assert obj["filter"] == "method:demo.*"
    assert {m["method"] for m in obj["methods"]} == {
        "demo.slow",
        "demo.fault",
        "demo.crash",
        "demo.large",
        "system.multicall",  # a multicall that calls demo.fault passes method:demo.*
    }
    per, _total = expected_from(mixed_capture)
    slowest = sorted(per, key=lambda m: (per[m].pct(95) is None, -(per[m].pct(95) or 0), m))
    top = json.loads(stats(str(mixed_capture), "--json", "--sort", "p95", "--top", "2").stdout)
    assert [m["method"] for m in top["methods"]] == slowest[:2]
    by_name = json.loads(stats(str(mixed_capture), "--json", "--sort", "method").stdout)
    names = [m["method"] for m in by_name["methods"]]
    assert names == sorted(names)
    shown = stats(str(mixed_capture), "--top", "3")
    assert len(table(shown.stdout)) == 4  # three methods and all of them
    assert "(3 shown)" in shown.stdout


def test_every_call_failed(failing_capture: Path) -> None:
    out = stats(str(failing_capture))
    assert out.returncode == 0, out.stderr
    rows = table(out.stdout)
    assert rows["demo.fault"][3] == "100.0"
    assert rows["demo.crash"][4] == "2"  # errors
    assert rows["demo.crash"][7] == "-"  # no p50 without a response
    obj = json.loads(stats(str(failing_capture), "--json").stdout)
    crash = next(m for m in obj["methods"] if m["method"] == "demo.crash")
    assert crash["latency_ms"]["p95"] is None and crash["histogram"] == []


def test_an_empty_capture(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "empty.jsonl", [])
    out = stats(str(path))
    assert (out.returncode, out.stdout, out.stderr) == (0, "no calls\n", "")
    obj = json.loads(stats(str(path), "--json").stdout)
    assert obj["methods"] == [] and obj["calls"] == 0
    assert obj["total"]["latency_ms"]["p50"] is None


def test_a_filter_nothing_passes(mixed_capture: Path) -> None:
    out = stats(str(mixed_capture), "--filter", "method:nothing.like.this")
    assert (out.returncode, out.stdout) == (0, "no call passes the filter\n")


def test_exit_codes(tmp_path: Path, mixed_capture: Path) -> None:
    bad = stats(str(mixed_capture), "--filter", "latency>")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("rpcspy: error: --filter:")
    missing = stats(str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 3 and "no such capture file" in missing.stderr
    not_a_capture = tmp_path / "x.jsonl"
    not_a_capture.write_text("hello\n")
    assert stats(str(not_a_capture)).returncode == 3
    corrupt = tmp_path / "corrupt.jsonl"
    corrupt.write_bytes(mixed_capture.read_bytes() + b'{"type": "call", "seq": \n')
    _per, total = expected_from(mixed_capture)
    out = stats(str(corrupt), "--json")
    assert out.returncode == 4
    assert "1 line skipped; the other calls are counted" in out.stderr
    assert json.loads(out.stdout)["calls"] == total.count
    assert stats(str(mixed_capture), "--top", "0").returncode == 2


def test_colour_only_on_request_and_never_with_no_color(mixed_capture: Path) -> None:
    coloured = stats(str(mixed_capture), NO_COLOR="", FORCE_COLOR="1")
    assert "\x1b[" in coloured.stdout
    assert "\x1b[" not in stats(str(mixed_capture), NO_COLOR="1", FORCE_COLOR="1").stdout
    assert "\x1b[" not in stats(str(mixed_capture), NO_COLOR="").stdout  # not a terminal


def test_ascii_terminals_get_ascii_bars(mixed_capture: Path) -> None:
    out = stats(str(mixed_capture), PYTHONIOENCODING="ascii")
    assert out.returncode == 0, out.stderr
    chart = out.stdout.split("slowest methods by p95")[1]
    assert "#" in chart and BLOCK not in out.stdout
    out.stdout.encode("ascii")


def test_help_has_examples() -> None:
    out = subprocess.run([RPCSPY, "stats", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "examples:" in out.stdout and "rpcspy stats " in out.stdout
    assert "--sort {count,p95,faults,method}" in out.stdout


def test_a_peers_method_name_cannot_drive_the_terminal(tmp_path: Path) -> None:
    """Method names are the peer's: escaped in the table and the chart, as ``show`` does."""
    from tests.tui.samples import exchange

    evil = "[red]x[/red]\u202eevil"
    path = write_capture(tmp_path / "evil.jsonl", [exchange(1, evil, (1,), result=2)])
    out = stats(str(path))
    assert out.returncode == 0, out.stderr
    assert "\u202e" not in out.stdout
    assert "[red]x[/red]\\u202eevil" in out.stdout
    assert json.loads(stats(str(path), "--json").stdout)["methods"][0]["method"] == evil
