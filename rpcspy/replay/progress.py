"""A small progress bar for long work, drawn on stderr.

It draws only when the stream is a terminal (never into a pipe, a file or a CI log), uses colour
only where ``rpcspy.term.use_colour`` allows it (so ``NO_COLOR`` gives a plain bar), and redraws at
most a few times a second so that it costs nothing measurable in a tight loop. Everywhere else it
is a no-op, so callers use it unconditionally.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from types import TracebackType
from typing import TextIO

from rpcspy.term import Style

__all__ = ["Progress", "progress_enabled"]

_REDRAW_EVERY = 0.1
_BAR_WIDTH = 24


def progress_enabled(stream: TextIO) -> bool:
    """True when a bar may be drawn on ``stream``: a terminal that is not ``TERM=dumb``."""
    isatty = getattr(stream, "isatty", None)
    try:
        tty = bool(isatty and isatty())
    except ValueError:  # closed stream
        return False
    return tty and os.environ.get("TERM") != "dumb"


class Progress:
    """``label [#####.....] 120/400 35/s`` on one terminal line; thread-safe ``advance``.

    ``total`` may be None when the amount of work is not known; the bar then shows a count and a
    rate only. Use as a context manager so the line is cleared at the end, whatever happens.
    """

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
    ) -> None:
        self.stream: TextIO = stream if stream is not None else sys.stderr
        self.label = label
        self.total = total
        self.done = 0
        self.enabled = progress_enabled(self.stream) if enabled is None else enabled
        self._style = Style(self.stream)
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._drawn = False
        self.suffix = ""

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def advance(self, n: int = 1, *, suffix: str | None = None) -> None:
        """Count ``n`` more units of work done; redraws when enough time has passed."""
        with self._lock:
            self.done += n
            if suffix is not None:
                self.suffix = suffix
            if not self.enabled:
                return
            now = time.monotonic()
            finished = self.total is not None and self.done >= self.total
            if now - self._last_draw >= _REDRAW_EVERY or finished:
                self._last_draw = now
                self._draw(now)

    def render(self, now: float | None = None) -> str:
        """The bar's text for the current state (without colour or carriage return)."""
        elapsed = max((now if now is not None else time.monotonic()) - self._start, 1e-9)
        rate = self.done / elapsed
        parts = [self.label]
        if self.total:
            frac = min(self.done / self.total, 1.0)
            filled = int(frac * _BAR_WIDTH)
            parts.append("[" + "#" * filled + "." * (_BAR_WIDTH - filled) + "]")
            parts.append(f"{self.done}/{self.total}")
        else:
            parts.append(str(self.done))
        parts.append(f"{rate:.0f}/s")
        if self.suffix:
            parts.append(self.suffix)
        return " ".join(parts)

    def _draw(self, now: float) -> None:
        text = self.render(now)
        try:
            width = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            width = 80
        text = text[: max(width - 1, 10)]
        try:
            self.stream.write("\r" + self._style(text, "dim") + "\x1b[K")
            self.stream.flush()
        except (OSError, ValueError):
            self.enabled = False
            return
        self._drawn = True

    def clear(self) -> None:
        """Erase the bar's line so that other stderr output starts on a clean line."""
        with self._lock:
            if self._drawn:
                try:
                    self.stream.write("\r\x1b[K")
                    self.stream.flush()
                except (OSError, ValueError):
                    pass
                self._drawn = False

    def close(self) -> None:
        """Clear the bar; the object stays usable as a counter."""
        self.clear()
