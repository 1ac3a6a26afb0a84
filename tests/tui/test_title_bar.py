"""The title bar: the icon, the screen's title (else the app's) with its sub-title, centred as
Textual's ``Header`` centres them; a click on the icon opens the command palette."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.command import CommandPalette

from rpcspy.tui.app import RpcSpyApp
from rpcspy.tui.screenshot import screen_text
from rpcspy.tui.widgets.title_bar import CLOCK_CELLS, ICON_CELLS, TitleBar
from tests.tui.conftest import wait_for

AppFactory = Callable[..., RpcSpyApp]


def _line(app: RpcSpyApp) -> str:
    """The top row as the terminal shows it, padded to the screen's width."""
    return screen_text(app)[0].ljust(app.size.width)


def _centred(title: str, width: int) -> int:
    """Where a title starts: centred between the icon and the clock's place."""
    return ICON_CELLS + (width - ICON_CELLS - CLOCK_CELLS - len(title)) // 2


async def test_the_app_title_then_a_screen_title_and_a_sub_title(
    make_app: AppFactory, sample_capture: Path
) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: bool(app.calls_screen.call_list.shown))
        line = _line(app)
        assert line.startswith(" ⇄")
        title = "rpcspy — sample.jsonl"
        start = _centred(title, 80)
        assert line[start : start + len(title)] == title
        assert line[:start].strip() == "⇄" and not line[start + len(title) :].strip()
        # A screen's title replaces the app's; a sub-title follows it; both are followed live.
        app.screen.title = "calls"
        app.screen.sub_title = "filtered"
        await pilot.pause()
        line = _line(app)
        start = _centred("calls — filtered", 80)
        assert line[start:].rstrip() == "calls — filtered"
        assert "rpcspy" not in line


async def test_a_long_title_is_cut_with_an_ellipsis(
    make_app: AppFactory, sample_capture: Path
) -> None:
    app = make_app(capture=sample_capture, title="x" * 200)
    async with app.run_test(size=(60, 24)) as pilot:
        await wait_for(pilot, lambda: bool(app.calls_screen.call_list.shown))
        line = _line(app)
        assert line.rstrip().endswith("x…")
        assert len(line.rstrip()) == 60 - CLOCK_CELLS


async def test_a_click_on_the_icon_opens_the_command_palette(
    make_app: AppFactory, sample_capture: Path
) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: bool(app.calls_screen.call_list.shown))
        await pilot.click(TitleBar, offset=(40, 0))  # the title: nothing happens
        await pilot.pause()
        assert not isinstance(app.screen, CommandPalette)
        await pilot.click(TitleBar, offset=(2, 0))
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
