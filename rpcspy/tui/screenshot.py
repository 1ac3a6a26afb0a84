"""The running app's screen as plain text, line by line (README screenshots, tests)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.app import App

__all__ = ["README_SIZE", "readme_screens", "screen_text"]


def screen_text(app: App[Any]) -> list[str]:
    """What the terminal shows now, one string per row, trailing blanks removed."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system=None,
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    update = app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens, simplify=True
    )
    console.print(update)
    text = console.export_text(styles=False)
    return [line.rstrip() for line in text.split("\n")[:height]]


#: The README's pictures: the call list of a capture, then its third call opened.
README_SIZE = (80, 24)


async def readme_screens(
    capture: Path, size: tuple[int, int] = README_SIZE
) -> dict[str, list[str]]:
    """The screens the README shows, rendered by the real app (times in UTC): ``calls``, the
    list of ``capture``; ``detail``, its third call opened (``↓ ↓ Enter``)."""
    import datetime as dt

    from rpcspy.tui.app import RpcSpyApp
    from rpcspy.tui.screens.detail import DetailScreen
    from rpcspy.tui.widgets.key_bar import KeyBar

    app = RpcSpyApp(capture=capture, tz=dt.UTC)
    screens: dict[str, list[str]] = {}
    async with app.run_test(size=size) as pilot:

        async def settle(done: Callable[[], bool]) -> None:
            for _ in range(500):
                if done():
                    break
                await pilot.pause(0.02)
            else:
                raise TimeoutError("the app did not settle")
            await pilot.pause(0.2)

        def footer_ready() -> bool:
            return any(bar.entries() for bar in app.screen.query(KeyBar))

        calls = app.calls_screen
        await settle(
            lambda: (
                app.indexer is not None
                and app.indexer.done
                and len(calls.call_list.shown) == app.store.count
                and footer_ready()
            )
        )
        screens["calls"] = screen_text(app)
        await pilot.press("down", "down", "enter")
        await settle(lambda: isinstance(app.screen, DetailScreen) and footer_ready())
        screens["detail"] = screen_text(app)
    return screens
