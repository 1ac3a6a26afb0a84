"""Terminal output helpers for the CLI: colour that respects NO_COLOR and only goes to a TTY."""

from __future__ import annotations

import os
import sys
from typing import TextIO

__all__ = ["Style", "error", "use_colour", "warn"]

_CODES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}


def use_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, never with NO_COLOR set (any value), always with FORCE_COLOR."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


class Style:
    """Wraps text in ANSI colour codes when the stream wants colour, and passes it through
    otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.enabled = use_colour(stream)

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles:
            return text
        codes = ";".join(_CODES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


def error(message: str) -> None:
    """Print ``rpcspy: error: message`` to stderr."""
    style = Style(sys.stderr)
    print(f"rpcspy: {style('error:', 'bold', 'red')} {message}", file=sys.stderr)


def warn(message: str) -> None:
    """Print ``rpcspy: warning: message`` to stderr."""
    style = Style(sys.stderr)
    print(f"rpcspy: {style('warning:', 'bold', 'yellow')} {message}", file=sys.stderr)
