"""A footer that fits: on a narrow terminal it leaves out the keys that matter least.

Textual's ``Footer`` lays out every shown binding in a row and lets the last ones fall off the
right edge, so at 80 columns ``? Help`` and ``q Quit`` were the ones lost. ``FittingFooter`` is
given the actions it may leave out, least important first, and drops them one by one until the
row fits the screen; every key keeps working (the help screen lists them all).

It also builds its keys again only when they change: Textual's footer rebuilds them (a dozen
widgets, each styled) whenever the bindings may have changed, which happens several times while
the app starts (focus moves, screens mount) with the same keys each time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.screen import Screen

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
        #: What the keys shown (or about to be rebuilt) are built from (``_keys``).
        self._built_from: object = None

    def _room(self) -> int:
        return self.size.width or self.screen.size.width or self.app.size.width

    def _keys(self) -> object:
        """What the keys shown depend on: the shown bindings and whether each is enabled."""
        return (
            self.show_command_palette,
            tuple(
                (key, binding.action, binding.description, binding.key_display, enabled, tip)
                for key, (_node, binding, enabled, tip) in self.screen.active_bindings.items()
                if binding.show or key == self.app.COMMAND_PALETTE_BINDING
            ),
        )

    def bindings_changed(self, screen: Screen[object]) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            keys = self._keys()
            if self._bindings_ready and keys == self._built_from:
                return  # the keys shown, or those a rebuild already asked for will show
            self._built_from = keys
        super().bindings_changed(screen)  # rebuilds after the next refresh

    def compose(self) -> ComposeResult:
        self._built_from = self._keys()
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
