"""80x24 is first-class: the list keeps ``#``, method and outcome, the footer keeps ``? Help``
and ``q Quit``, and the README's pictures are what the app shows at that size."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.cells import cell_len

from rpcspy.tui.app import RpcSpyApp
from rpcspy.tui.format import PARAMS_MIN, layout_columns
from rpcspy.tui.screens.detail import DetailScreen
from rpcspy.tui.screenshot import README_SIZE, readme_screens, screen_text
from rpcspy.tui.widgets.call_list import CallList, CallListHeader
from rpcspy.tui.widgets.key_bar import KeyBar
from tests.tui.conftest import wait_for

AppFactory = Callable[..., RpcSpyApp]
ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"<!-- screen: (\w+) -->\n```\n(.*?)```", re.S)


async def settled(pilot: object, app: RpcSpyApp, n: int = 12) -> None:
    await wait_for(
        pilot,
        lambda: (
            len(app.calls_screen.call_list.shown) == n
            and app.indexer is not None
            and app.indexer.done
            and any(bar.entries() for bar in app.screen.query(KeyBar))
        ),
    )
    await pilot.pause(0.2)  # type: ignore[attr-defined]


@pytest.mark.parametrize("width", [80, 90, 100, 115, 116, 140])
def test_layout_keeps_number_method_outcome_and_room_for_params(width: int) -> None:
    layout = layout_columns(width)
    keys = [c.key for c, _x, _w in layout]
    assert {"seq", "method", "status"} <= set(keys)
    params = next(w for c, _x, w in layout if c.key == "params")
    assert params >= PARAMS_MIN
    _c, x, w = layout[-1]
    assert x + w <= width  # nothing falls off the right edge
    if width == 80:
        assert keys == ["seq", "method", "params", "status", "duration"]
    # The client is the first to go: it takes 22 cells, the params keep at least PARAMS_MIN.
    assert ("client" in keys) is (width >= 116)
    if width >= 90:
        assert "time" in keys and "size" in keys


async def test_call_list_at_80x24_shows_number_outcome_method_and_help_quit(
    make_app: AppFactory, sample_capture: Path
) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot, app)
        header = str(app.calls_screen.query_one(CallListHeader).render())
        assert header.split()[:2] == ["#", "▲"]
        assert "method" in header and "outcome" in header
        lines = screen_text(app)
        assert len(lines) == 24 and all(cell_len(line) <= 80 for line in lines)
        body = lines[3:15]
        # Row n shows its number first, then its method; the outcomes are all there.
        methods = [app.store.record(r).method for r in app.calls_screen.call_list.shown]
        for n, (line, method) in enumerate(zip(body, methods, strict=True), start=1):
            assert line.split()[0] in (str(n), "▸")
            assert str(n) in line.split()[:2] and method in line
        assert "fault -32601" in body[4] and "ok, 1/3 faulted" in body[6]
        assert "problem" in body[8] and "error" in body[10]
        footer = lines[-1]
        assert "? Help" in footer and "q Quit" in footer
        assert "⏎ Open" in footer and "/ Filter" in footer
        dropped = app.screen.query_one(KeyBar).dropped
        assert dropped and "save" in dropped and "help" not in dropped
        assert app.calls_screen.query_one(CallList).size.width == 80
        await pilot.press("w")  # a key left out of the footer still works
        await pilot.pause()
        assert type(app.screen).__name__ == "PathPrompt"


async def test_call_view_at_80x24_footer_fits_and_offers_help(
    make_app: AppFactory, sample_capture: Path
) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot, app)
        await pilot.press("down", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.pause(0.2)
        lines = screen_text(app)
        assert all(cell_len(line) <= 80 for line in lines)
        footer = lines[-1]
        assert "esc Back" in footer and "? Help" in footer and "c Copy curl" in footer


async def test_footer_follows_a_resize(make_app: AppFactory, sample_capture: Path) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=(140, 24)) as pilot:
        await settled(pilot, app)
        assert "w Save shown" in screen_text(app)[-1]
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: "w Save shown" not in screen_text(app)[-1])
        await pilot.pause(0.2)
        assert "? Help" in screen_text(app)[-1] and "q Quit" in screen_text(app)[-1]
        await pilot.resize_terminal(140, 24)
        await wait_for(pilot, lambda: "w Save shown" in screen_text(app)[-1])


#: What may differ between a capture recorded again and the README's picture of it.
_VOLATILE = [
    (re.compile(r"\d+(\.\d+)? ?(us|ms|s|B|KB|MB)\b"), "<n unit>"),
    (re.compile(r"\d\d:\d\d:\d\d\.\d{3}"), "<clock>"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
    (re.compile(r"\d+\.\d{4,}…?"), "<float>"),
]


def _steady(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        for pattern, mark in _VOLATILE:
            line = pattern.sub(mark, line)
        out.append(line)
    return out


async def test_readme_pictures_are_the_app_at_80x24() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = {name: text.split("\n")[:-1] for name, text in BLOCK.findall(readme)}
    assert set(blocks) == {"calls", "detail"}
    width, height = README_SIZE
    assert (width, height) == (80, 24)
    for name, lines in blocks.items():
        assert len(lines) == height, name
        too_wide = [line for line in lines if cell_len(line) > width]
        assert not too_wide, f"README picture {name} has lines over {width} cells: {too_wide}"
    rendered = await readme_screens(ROOT / "captures" / "faults.jsonl")
    for name, lines in blocks.items():
        assert _steady(lines) == _steady(rendered[name]), (
            f"README picture {name} is not what the app shows; "
            "run PYTHONPATH=. .venv/bin/python scripts/readme_screens.py --write"
        )
    assert "# ▲ method" in blocks["calls"][2] and "? Help  q Quit" in blocks["calls"][-1]
