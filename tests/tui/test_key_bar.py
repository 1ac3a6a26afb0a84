"""The key bar (every screen's footer): one line of the screen's keys, fitted to the width; a
click presses a key, a disabled key is dimmed and rings the bell, the entry under the mouse is
highlighted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rich.style import Style
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.widgets import Static

from rpcspy.tui.app import RpcSpyApp
from rpcspy.tui.screens.stats import StatsScreen
from rpcspy.tui.screenshot import screen_text
from rpcspy.tui.widgets.key_bar import KeyBar
from tests.tui.conftest import wait_for

AppFactory = Callable[..., RpcSpyApp]


class Keys(App[None]):
    """A small app: two shown keys (``b`` disabled), one hidden, the palette."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "note('a')", "Alpha"),
        Binding("b", "note('b')", "Beta"),
        Binding("x,y", "note('x')", "Twice"),  # one entry for both keys
        Binding("h", "note('h')", "Hidden", show=False),
    ]

    def __init__(self, drop: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.drop = drop
        self.notes: list[str] = []
        self.bells = 0

    def compose(self) -> ComposeResult:
        yield Static("body")
        yield KeyBar(drop=self.drop)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if parameters == ("b",) else True  # None: shown, disabled

    def action_note(self, what: str) -> None:
        self.notes.append(what)

    def bell(self) -> None:
        self.bells += 1


def _bottom(app: App[None]) -> str:
    return screen_text(app)[-1]


async def test_one_entry_per_action_hidden_ones_left_out_palette_on_the_right() -> None:
    app = Keys()
    async with app.run_test(size=(60, 5)) as pilot:
        await pilot.pause()
        line = _bottom(app)
        assert line.startswith(" a Alpha  b Beta  x Twice ")
        assert "Hidden" not in line and "y Twice" not in line
        # The palette's entry ends the line (its 12 cells: ``▏^p palette ``).
        assert line.ljust(60)[-12:] == "▏^p palette "
        assert [e.action for e in app.query_one(KeyBar).entries()] == [
            "note('a')",
            "note('b')",
            "note('x')",
            "command_palette",
        ]


async def test_what_is_dropped_to_fit_goes_in_the_order_given() -> None:
    app = Keys(drop=("command_palette", "note('b')"))
    async with app.run_test(size=(24, 5)) as pilot:
        await pilot.pause()
        bar = app.query_one(KeyBar)
        assert bar.dropped == ("command_palette", "note('b')")
        assert _bottom(app) == " a Alpha  x Twice"
        await pilot.resize_terminal(60, 5)
        await wait_for(pilot, lambda: "palette" in _bottom(app))
        assert bar.dropped == ()


async def test_a_click_presses_the_key_and_a_disabled_key_rings_the_bell() -> None:
    app = Keys()
    async with app.run_test(size=(60, 5)) as pilot:
        await pilot.pause()
        await pilot.click(KeyBar, offset=(3, 0))  # " a Alpha "
        await pilot.click(KeyBar, offset=(12, 0))  # " b Beta ": disabled
        await pilot.click(KeyBar, offset=(20, 0))  # " x Twice "
        await pilot.click(KeyBar, offset=(40, 0))  # between the keys and the palette
        await pilot.pause()
        assert app.notes == ["a", "x"]
        assert app.bells == 1
        await pilot.click(KeyBar, offset=(55, 0))
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))


async def test_the_entry_under_the_mouse_is_highlighted_and_a_disabled_one_dimmed() -> None:
    app = Keys()
    async with app.run_test(size=(60, 5)) as pilot:
        await pilot.pause()
        bar = app.query_one(KeyBar)

        def style_at(x: int) -> Style:
            text = bar.render()
            return text.get_style_at_offset(app.console, x)

        hover = bar.get_component_rich_style("key-bar--hover", partial=True)
        assert style_at(12).dim and not style_at(3).dim  # b is disabled
        before = style_at(3)
        await pilot.hover(KeyBar, offset=(3, 0))
        await pilot.pause()
        assert style_at(3) != before and style_at(3).bgcolor == hover.bgcolor
        assert style_at(20).bgcolor != hover.bgcolor
        await pilot.hover(Static)
        await pilot.pause()
        assert style_at(3) == before


async def test_a_click_on_a_key_of_the_calls_screen_opens_its_screen(
    make_app: AppFactory, sample_capture: Path
) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.calls_screen.call_list.shown) == 12)
        line = _bottom(app)
        x = line.index("s Stats")
        await pilot.click(KeyBar, offset=(x + 1, 0))
        await wait_for(pilot, lambda: isinstance(app.screen, StatsScreen))
