"""What the TUI does before its first screen, and what it leaves until that screen is painted.

Strategy: starting ``rpcspy tui`` on a big capture is importing (Textual's modules and ours),
opening the capture's index (a cached index is some 80 bytes a call read from disk), composing
the main screen and painting its first page. Two things make that shorter, and nothing here
imports Textual, so a command can use them before it imports the app:

- ``CaptureOpening`` opens the capture's index in a thread, started as soon as the command knows
  the file, while the other thread imports Textual and builds the screen. The app takes the
  result when it makes its main screen. A big cached index is opened with its first page of
  rows only (``IndexBuilder``): the other rows (some 80 bytes a call) are read in once that
  page is painted, as a first reading indexes the rest of the file then.
- ``hold_gc``/``release_gc``: the cyclic garbage collector would scan the heap that grows with
  every import, again and again, and find nothing (modules and classes live as long as the
  process). It is switched off until the first page is painted, then on again, what lives by
  then frozen out of its scans (``gc.freeze``: else its first full scan costs a UI some
  50 ms for nothing).
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rpcspy.capture.index import CaptureIndex, IndexBuilder

__all__ = ["CaptureOpening", "hold_gc", "release_gc"]

#: True while the collector is off because ``hold_gc`` switched it off.
_held = False


def hold_gc() -> None:
    """Switch the cyclic garbage collector off for the start (if it is on; once)."""
    global _held
    if gc.isenabled():
        gc.disable()
        _held = True


def release_gc(*, freeze: bool = False) -> None:
    """Switch the collector on again if ``hold_gc`` switched it off; with ``freeze``, what lives
    by then (modules, classes, the app and its first screen) is left out of its scans first
    (``gc.freeze``: the collector would otherwise scan it all once more, and find nothing)."""
    global _held
    if _held:
        _held = False
        if freeze:
            gc.freeze()
        gc.enable()


class CaptureOpening:
    """Opens a capture's index (``IndexBuilder``: header checked, a cached index loaded) in a
    thread; ``result()`` waits for it and gives the builder, or the reason it could not open."""

    def __init__(self, path: Path, store: CaptureIndex, *, follow: bool = False) -> None:
        self.path = path
        self.store = store
        self.follow = follow
        self._builder: IndexBuilder | None = None
        self._error: str | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._open, name="rpcspy-open", daemon=True)
        self._thread.start()

    def _open(self) -> None:
        from rpcspy.capture.index import IndexBuilder  # (imported by now: it made the store)
        from rpcspy.capture.schema import CaptureFormatError

        try:
            self._builder = IndexBuilder(
                self.path, self.store, follow=self.follow, shows_first_page=True
            )
        except (CaptureFormatError, OSError) as exc:
            self._error = str(exc)
        except BaseException as exc:  # raised again where the result is taken
            self._failure = exc

    def result(self) -> tuple[IndexBuilder | None, str | None]:
        """(the builder, None), or (None, why the capture cannot be read); waits for the thread."""
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        return self._builder, self._error
