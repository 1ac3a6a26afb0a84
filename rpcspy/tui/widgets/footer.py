"""A footer that fits: on a narrow terminal it leaves out the keys that matter least.

Textual's ``Footer`` lays out every shown binding in a row and lets the last ones fall off the
right edge, so at 80 columns ``? Help`` and ``q Quit`` were the ones lost. ``FittingFooter`` is
given the actions it may leave out, least important first, and drops them one by one until the
row fits the screen; every key keeps working (the help screen lists them all).
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

__all__ = ["FittingFooter"]

#: Cells a key takes beyond its key and description: `` k desc `` (the palette's entry too:
#: its border takes the place of a padding cell).
_KEY_EXTRA = 3


def _width(widget: Widget) -> int:
    if not isinstance(widget, FooterKey):
        return 0
    return cell_len(widget.key_display) + cell_len(widget.description) + _KEY_EXTRA


class FittingFooter(Footer):
    """A ``Footer`` that leaves out the actions in ``drop`` (in that order) until it fits.

    ``"command_palette"`` in ``drop`` names the ``^p palette`` entry.
    """

    def __init__(self, *, drop: Iterable[str] = (), id: str | None = None) -> None:
        super().__init__(id=id)
        self.drop = tuple(drop)
        self._laid_out_for = -1
        #: The actions left out at the last layout (for tests and the curious).
        self.dropped: tuple[str, ...] = ()

    def _room(self) -> int:
        return self.size.width or self.screen.size.width or self.app.size.width

    def compose(self) -> ComposeResult:
        keys = list(super().compose())
        room = self._room()
        self._laid_out_for = room
        total = sum(_width(k) for k in keys)
        dropped: list[str] = []
        for action in self.drop:
            if total <= room:
                break
            for key in [k for k in keys if isinstance(k, FooterKey) and k.action == action]:
                keys.remove(key)
                total -= _width(key)
                dropped.append(action)
        self.dropped = tuple(dropped)
        yield from keys

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._laid_out_for and self._bindings_ready:
            self.call_after_refresh(self.recompose)
