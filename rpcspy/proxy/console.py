"""One concise line per call, for the terminal while the proxy runs."""

from __future__ import annotations

import time

from rpcspy.capture import CallRecord
from rpcspy.capture.summary import outcome, outcome_detail, size_text, time_text
from rpcspy.term import Style, printable

__all__ = ["format_call_line"]

_PROBLEM_CHARS = 100

#: Colour of each outcome kind (see ``rpcspy.capture.summary``).
_KIND_COLOUR = {
    "ok": "green",
    "subfault": "yellow",
    "fault": "yellow",
    "problem": "red",
    "error": "red",
    "pending": "red",
}


def _clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts * 1000) % 1000:03d}"


def _plain(text: str, *_styles: str) -> str:
    return text


def format_call_line(record: CallRecord, style: Style | None = None) -> str:
    """``12:00:01.234  echo  1.3 ms  278 B  ok``, then the fault string, error or problems.

    Outcome, time and size are worded by ``rpcspy.capture.summary``, as in ``rpcspy show``
    and the TUI.
    """
    paint = style or _plain
    # Everything from the wire is escaped (``printable``) before colour is added.
    method = printable(record.method or "?")
    if record.is_multicall:
        method += f" [{len(record.subcalls)}]"
    line = f"{paint(_clock(record.started), 'dim')}  {paint(f'{method:<28}', 'bold')} "
    line += f"{time_text(record):>8}  {size_text(record):>6}  "
    text, kind = outcome(record)
    detail = outcome_detail(record)
    text = printable(text)
    line += paint(f"{text}: {printable(detail)}" if detail else text, _KIND_COLOUR[kind])
    if record.problems:
        messages = printable("; ".join(p.message for p in record.problems))
        if len(messages) > _PROBLEM_CHARS:
            messages = messages[: _PROBLEM_CHARS - 1] + "…"
        line += "  " + paint(f"[{messages}]", "red")
    return line
