"""The footer of every screen: its keys in one line, fitted to the width, in one widget.

It shows what Textual's ``Footer`` shows (the focused screen's shown bindings, one per action,
`` k Description `` each, and ``▏^p palette`` on the right) and draws it the same way, but as
one widget that renders a line: ``Footer`` composes a widget per key and styles each one, some
0.1 s of CPU on every screen it appears on, the first screen of a big capture included.

Given ``drop`` (actions, least important first), it leaves them out one by one until the row
fits (``"command_palette"`` names the palette's entry): at 80 columns ``? Help`` and ``q Quit``
stay, and every key keeps working (the help screen lists them all). A click on an entry presses
its key; a disabled entry is dimmed and rings the bell.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

__all__ = ["KeyBar"]

#: The action of the command palette's entry (in ``drop``).
PALETTE = "command_palette"


@dataclass(frozen=True, slots=True)
class Entry:
    """One key shown: `` key description `` (the palette's: ``▏key description ``)."""

    key: str
    display: str
    description: str
    action: str
    enabled: bool
    tooltip: str
    palette: bool = False

    @property
    def width(self) -> int:
        return cell_len(self.display) + cell_len(self.description) + 3


class KeyBar(Widget):
    """The keys of the screen's shown bindings, leaving out those in ``drop`` to fit."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {
        "key-bar--key",
        "key-bar--description",
        "key-bar--hover",
        "key-bar--disabled",
        "key-bar--border",
    }
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .key-bar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-bar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .key-bar--hover {
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
        & > .key-bar--disabled {
            text-style: dim;
        }
        & > .key-bar--border {
            color: $foreground 20%;
        }
    }
    """

    def __init__(self, *, drop: Iterable[str] = (), id: str | None = None) -> None:
        super().__init__(id=id)
        self.drop = tuple(drop)
        #: The actions left out at the last layout (for tests and the curious).
        self.dropped: tuple[str, ...] = ()
        self._entries: tuple[Entry, ...] | None = None
        #: Where each shown entry starts and ends on the line, at the last render.
        self._spans: list[tuple[int, int, Entry]] = []
        self._hover: Entry | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is self.screen and self.entries() != self._entries:
            self.refresh()

    def entries(self) -> tuple[Entry, ...]:
        """Every key the screen's bindings show (before fitting): one per action, in order,
        then the palette's."""
        app = self.app
        active = self.screen.active_bindings
        first: dict[str, Entry] = {}
        for _node, binding, enabled, tooltip in active.values():
            if binding.show and binding.action not in first:
                first[binding.action] = Entry(
                    binding.key,
                    app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    enabled,
                    tooltip,
                )
        shown = list(first.values())
        palette = active.get(app.COMMAND_PALETTE_BINDING) if app.ENABLE_COMMAND_PALETTE else None
        if palette is not None:
            _node, binding, enabled, _tooltip = palette
            shown.append(
                Entry(
                    binding.key,
                    app.get_key_display(binding),
                    binding.description,
                    PALETTE,
                    enabled,
                    binding.tooltip or binding.description,
                    palette=True,
                )
            )
        return tuple(shown)

    def _fit(self, entries: tuple[Entry, ...], room: int) -> list[Entry]:
        kept = list(entries)
        total = sum(e.width for e in kept)
        dropped: list[str] = []
        for action in self.drop:
            if total <= room:
                break
            for entry in [e for e in kept if e.action == action]:
                kept.remove(entry)
                total -= entry.width
                dropped.append(action)
        self.dropped = tuple(dropped)
        return kept

    def render(self) -> Text:
        self._entries = self.entries()
        width = self.size.width
        kept = self._fit(self._entries, width)
        keys = [e for e in kept if not e.palette]
        palette = next((e for e in kept if e.palette), None)
        base = self.rich_style
        key_style = self.get_component_rich_style("key-bar--key", partial=True)
        desc_style = self.get_component_rich_style("key-bar--description", partial=True)
        hover = self.get_component_rich_style("key-bar--hover", partial=True)
        dim = self.get_component_rich_style("key-bar--disabled", partial=True)
        # ``$foreground 20%`` over the bar's background, as Textual blends a border's colour.
        over = self.get_component_styles("key-bar--border").color
        border = Style(color=(self.background_colors[1] + over).rich_color)
        text = Text(no_wrap=True, overflow="crop", style=base)
        spans: list[tuple[int, int, Entry]] = []

        def put(entry: Entry) -> None:
            start = text.cell_len
            extra = Style()
            if entry == self._hover:
                extra += hover
            if not entry.enabled:
                extra += dim
            if entry.palette:  # its border, then the key where its padding would be
                text.append("▏", border)
                text.append(entry.display, key_style + extra)
                text.append(f" {entry.description} ", desc_style + extra)
            else:
                text.append(f" {entry.display} ", key_style + extra)
                text.append(f"{entry.description} ", desc_style + extra)
            spans.append((start, text.cell_len, entry))

        room = width - (palette.width if palette is not None else 0)
        for entry in keys:
            put(entry)
        if text.cell_len > room:
            text.truncate(max(0, room))
            spans = [(a, min(b, room), e) for a, b, e in spans if a < room]
        if palette is not None:
            text.append(" " * (room - text.cell_len))
            put(palette)
        self._spans = spans
        return text

    def _entry_at(self, x: int) -> Entry | None:
        return next((e for a, b, e in self._spans if a <= x < b), None)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        entry = self._entry_at(event.x)
        if entry != self._hover:
            self._hover = entry
            self.tooltip = entry.tooltip or None if entry is not None else None
            self.refresh()

    def on_leave(self, _event: events.Leave) -> None:
        if self._hover is not None:
            self._hover = None
            self.tooltip = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        entry = self._entry_at(event.x)
        if entry is None:
            return
        if entry.enabled:
            self.app.simulate_key(entry.key)
        else:
            self.app.bell()
