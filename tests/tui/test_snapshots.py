"""Snapshots of the main screens (SVG files under __snapshots__, reviewed by eye).

Times are in UTC and the sample records have fixed times and ids, so the pictures are stable.
Regenerate after a deliberate change with ``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from rpcspy.tui.app import RpcSpyApp
from tests.tui.conftest import wait_for

Snap = Callable[..., bool]


def loaded(app: RpcSpyApp, n: int = 12) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_for(
            pilot,
            lambda: (
                len(app.calls_screen.call_list.shown) == n
                and app.indexer is not None
                and app.indexer.done
                and not app.calls_screen._full_running
            ),
        )
        await pilot.pause()

    return run_before


def test_call_list(
    snap_compare: Snap, make_app: Callable[..., RpcSpyApp], sample_capture: Path
) -> None:
    app = make_app(capture=sample_capture)
    assert snap_compare(app, terminal_size=(110, 24), run_before=loaded(app))


def test_call_list_80x24_multicall_expanded(
    snap_compare: Snap, make_app: Callable[..., RpcSpyApp], sample_capture: Path
) -> None:
    app = make_app(capture=sample_capture)
    keys = ["down"] * 6 + ["space", "down"]
    assert snap_compare(app, terminal_size=(80, 24), run_before=loaded(app), press=keys)


def test_filter_error(
    snap_compare: Snap, make_app: Callable[..., RpcSpyApp], sample_capture: Path
) -> None:
    app = make_app(capture=sample_capture, initial_filter="fault")

    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(app, 3)(pilot)
        await pilot.press("slash", *" and (latncy>5", "_")
        await wait_for(pilot, lambda: app.calls_screen.query_one("FilterBar").error is not None)  # type: ignore[attr-defined]
        app.calls_screen.call_list.focus()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 24), run_before=run_before)


def test_detail_tree(
    snap_compare: Snap, make_app: Callable[..., RpcSpyApp], sample_capture: Path
) -> None:
    app = make_app(capture=sample_capture)
    assert snap_compare(
        app, terminal_size=(100, 30), run_before=loaded(app), press=["down", "down", "enter", "_"]
    )


def test_detail_http(
    snap_compare: Snap, make_app: Callable[..., RpcSpyApp], sample_capture: Path
) -> None:
    app = make_app(capture=sample_capture)
    keys = ["down"] * 4 + ["enter", "3", "_"]
    assert snap_compare(app, terminal_size=(100, 30), run_before=loaded(app), press=keys)


def test_stats(
    snap_compare: Snap, make_app: Callable[..., RpcSpyApp], sample_capture: Path
) -> None:
    app = make_app(capture=sample_capture)

    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(app)(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: bool(getattr(app.screen, "stats", None)))
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 24), run_before=run_before)


def test_help(snap_compare: Snap, make_app: Callable[..., RpcSpyApp], sample_capture: Path) -> None:
    app = make_app(capture=sample_capture)
    assert snap_compare(
        app, terminal_size=(100, 40), run_before=loaded(app), press=["question_mark", "_"]
    )
