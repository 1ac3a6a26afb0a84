"""The line at the top of every screen: an icon that opens the command palette, and the title.

It draws what Textual's ``Header`` draws (the icon in the first 8 cells, the screen's title, or
the app's, centred with its sub-title, and the 10 cells a clock would take on the right) as
one widget. ``Header`` is four widgets, each styled on mount: some 20 ms of the first screen
of a big capture, where every millisecond before the first row counts.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual import events
from textual.widget import Widget

__all__ = ["TitleBar"]

#: Cells of the icon on the left (padding included) and of the clock's place on the right.
ICON_CELLS = 8
CLOCK_CELLS = 10


class TitleBar(Widget):
    """One line: ``icon`` (click: the command palette), then the title centred."""

    DEFAULT_CSS = """
    TitleBar {
        dock: top;
        width: 100%;
        height: 1;
        background: $panel;
        color: $foreground;
    }
    """

    def __init__(self, *, icon: str = "⇄", id: str | None = None) -> None:
        super().__init__(id=id)
        self.icon = icon

    def on_mount(self) -> None:
        for node in (self.app, self.screen):
            self.watch(node, "title", self._retitle, init=False)
            self.watch(node, "sub_title", self._retitle, init=False)

    def _retitle(self, _value: object = None) -> None:
        self.refresh()

    @property
    def title_text(self) -> str:
        """The title shown: the screen's (else the app's), `` — `` and the sub-title if any."""
        screen, app = self.screen, self.app
        title = screen.title if screen.title is not None else app.title
        sub = screen.sub_title if screen.sub_title is not None else app.sub_title
        return f"{title} — {sub}" if sub else title

    def render(self) -> Text:
        width = self.size.width
        room = max(0, width - ICON_CELLS - CLOCK_CELLS)
        title = self.title_text
        if cell_len(title) > room:
            title = set_cell_size(title, max(0, room - 1)) + "…" if room else ""
        left = (room - cell_len(title)) // 2
        text = Text(no_wrap=True, overflow="crop")
        text.append(set_cell_size(f" {self.icon}", ICON_CELLS))
        text.append(" " * left)
        text.append(title)
        text.append(" " * (width - ICON_CELLS - left - cell_len(title)))
        return text

    async def on_click(self, event: events.Click) -> None:
        if event.x < ICON_CELLS and self.app.ENABLE_COMMAND_PALETTE:
            event.stop()
            await self.run_action("app.command_palette")
