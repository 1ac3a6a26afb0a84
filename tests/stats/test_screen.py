"""The TUI's stats screen through Pilot: the table in ``rpcspy stats``'s words, and the latency
histogram of the method under the cursor, checked against the capture's own records."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widgets import DataTable

from rpcspy.capture.stats import ALL_METHODS, bin_label
from rpcspy.tui.app import RpcSpyApp
from rpcspy.tui.screens.calls import CallsScreen
from rpcspy.tui.screens.stats import StatsScreen
from rpcspy.tui.widgets.histogram import LatencyHistogram
from tests.stats.oracle import Expected, expected_from
from tests.tui.conftest import wait_for

RPCSPY = str(Path(sys.executable).with_name("rpcspy"))
SIZE = (120, 40)


async def open_stats(pilot: Any, app: RpcSpyApp) -> StatsScreen:
    await wait_for(pilot, lambda: app.indexer is not None and app.indexer.done)
    await pilot.pause()
    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(app.screen, StatsScreen) and bool(app.screen.stats))
    await pilot.pause()
    assert isinstance(app.screen, StatsScreen)
    return app.screen


def cells_of(table: DataTable[Any]) -> dict[str, list[str]]:
    rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
    return {r[0]: r for r in rows}


def histogram_matches(histogram: LatencyHistogram, want: Expected) -> None:
    """The bins on screen hold exactly the capture's latencies of that method."""
    latencies = sorted(want.latencies)
    assert histogram.bins, "no bins shown"
    assert sum(b.count for b in histogram.bins) == len(latencies)
    for b in histogram.bins[:-1]:
        assert b.count == sum(1 for ms in latencies if b.lo_ms <= ms < b.hi_ms)
    last = histogram.bins[-1]
    assert last.count == sum(1 for ms in latencies if ms >= last.lo_ms)
    text = str(histogram.render())
    for b in histogram.bins:
        assert f"{bin_label(b)} {b.count:,}".replace(" ", "") in text.replace(" ", "")


async def test_histogram_of_the_selected_method(
    make_app: Callable[..., RpcSpyApp], mixed_capture: Path
) -> None:
    per, total = expected_from(mixed_capture)
    app = make_app(capture=mixed_capture)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_stats(pilot, app)
        table = screen.query_one(DataTable)
        histogram = screen.query_one(LatencyHistogram)
        order = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert order[-1] == ALL_METHODS
        # the first row is selected when the screen opens
        assert histogram.stats is not None and histogram.stats.method == order[0]
        histogram_matches(histogram, per[order[0]])
        for method in ("demo.slow", "echo", "system.multicall"):
            table.move_cursor(row=order.index(method))
            await pilot.pause()
            assert histogram.stats is not None and histogram.stats.method == method
            histogram_matches(histogram, per[method])
            assert f"latency of {method}" in str(histogram.render())
        table.move_cursor(row=len(order) - 1)
        await pilot.pause()
        histogram_matches(histogram, total)
        await pilot.press("enter")  # all methods: nothing to filter to
        await pilot.pause()
        assert app.screen is screen
        table.move_cursor(row=order.index("demo.crash"))
        await pilot.pause()
        assert histogram.bins == []
        assert "no call with a response" in str(histogram.render())
        table.move_cursor(row=order.index("echo"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CallsScreen))
        await wait_for(
            pilot, lambda: len(app.calls_screen.call_list.shown) == per["echo"].count + 2
        )  # the echo calls, and the two multicalls that call echo


async def test_the_table_has_the_words_of_rpcspy_stats(
    make_app: Callable[..., RpcSpyApp], mixed_capture: Path
) -> None:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "250"}
    out = subprocess.run(
        [RPCSPY, "stats", str(mixed_capture)], capture_output=True, text=True, env=env, timeout=60
    )
    printed = {}
    for line in out.stdout.splitlines()[1:]:
        if " calls, " in line:
            break
        cells = [c.strip() for c in line.split("  ") if c.strip()]
        printed[cells[0]] = cells
    app = make_app(capture=mixed_capture)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_stats(pilot, app)
        table = screen.query_one(DataTable)
        headings = [c.strip() for c in out.stdout.splitlines()[0].split("  ") if c.strip()]
        assert [str(c.label) for c in table.ordered_columns] == headings
        assert cells_of(table) == printed


async def test_a_bigger_window_gets_finer_bins(
    make_app: Callable[..., RpcSpyApp], generated_capture: Path
) -> None:
    per, _total = expected_from(generated_capture)
    counts = []
    for size in ((100, 24), (100, 60)):
        app = make_app(capture=generated_capture)
        async with app.run_test(size=size) as pilot:
            screen = await open_stats(pilot, app)
            histogram = screen.query_one(LatencyHistogram)
            assert histogram.stats is not None
            histogram_matches(histogram, per[histogram.stats.method])
            assert len(histogram.bins) <= histogram.size.height - 1
            counts.append(len(histogram.bins))
    assert counts[0] < counts[1]
