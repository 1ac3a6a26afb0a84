"""Terminal output helpers for the CLI: colour that respects NO_COLOR and only goes to a TTY,
and ``printable``, the one escaper for text that came from a peer or a capture file.

Strategy: anything a peer chose (a method name, a header, a status line, a fault string, a body,
a capture file's contents) may carry terminal control sequences: ESC starts CSI/OSC sequences
(OSC 0 sets the window title, OSC 52 writes the clipboard), C1 controls are their 8-bit forms,
BEL and backspace rewrite what was shown, bidi overrides reorder it, and a lone surrogate cannot
even be encoded (``UnicodeEncodeError``). ``printable`` turns each such character into a visible
escape (``\\x1b``, ``\\u202e``, ``\\ud800``) before the text reaches a terminal; colour codes are
added by ``Style`` afterwards, so ours are the only ones that get through.
"""

from __future__ import annotations

import os
import re
import sys
from typing import TextIO

__all__ = ["Style", "error", "json_text", "printable", "use_colour", "warn"]

# C0 controls (tab and newline handled apart), DEL, C1 controls, the bidi embeddings, overrides
# and isolates, the Arabic letter mark, line/paragraph separators, and lone surrogates.
_UNSAFE = r"\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE_LINE = re.compile(f"[\t\n{_UNSAFE}]")
_UNSAFE_TEXT = re.compile(f"[{_UNSAFE}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x09:
        return "\\t"
    if code == 0x0A:
        return "\\n"
    if code == 0x0D:
        return "\\r"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` safe for a terminal: control characters, DEL, C1, bidi controls and lone
    surrogates become visible escapes (``\\x1b``). ``multiline`` keeps tabs and newlines."""
    pattern = _UNSAFE_TEXT if multiline else _UNSAFE_LINE
    if pattern.search(text) is None:
        return text
    return pattern.sub(_escape, text)


#: Characters JSON may leave raw that a terminal still acts on: DEL, C1 controls, bidi controls.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def json_text(obj: object, *, indent: bool = False) -> str:
    """``obj`` as JSON text for a terminal or a pipe: every control character is a JSON escape
    (``\\u001b``, ``\\u009b``, ``\\u202e``) and a lone surrogate is written escaped (the
    stdlib's form) where orjson refuses it. No trailing newline."""
    import json

    import orjson

    try:
        text = orjson.dumps(obj, option=orjson.OPT_INDENT_2 if indent else 0).decode()
    except TypeError:
        text = json.dumps(obj, ensure_ascii=True, indent=2 if indent else None)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


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
    """Print ``rpcspy: error: message`` to stderr (control characters in it escaped)."""
    style = Style(sys.stderr)
    text = printable(message, multiline=True)
    print(f"rpcspy: {style('error:', 'bold', 'red')} {text}", file=sys.stderr)


def warn(message: str) -> None:
    """Print ``rpcspy: warning: message`` to stderr (control characters in it escaped)."""
    style = Style(sys.stderr)
    text = printable(message, multiline=True)
    print(f"rpcspy: {style('warning:', 'bold', 'yellow')} {text}", file=sys.stderr)
