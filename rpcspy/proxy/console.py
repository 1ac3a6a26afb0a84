"""One concise line per call, for the terminal while the proxy runs."""

from __future__ import annotations

import time

from rpcspy.capture import CallRecord
from rpcspy.term import Style
from rpcspy.xmlrpc import Fault

__all__ = ["format_call_line"]

_PROBLEM_CHARS = 100


def _clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts * 1000) % 1000:03d}"


def _plain(text: str, *_styles: str) -> str:
    return text


def _outcome(record: CallRecord, paint: Style | None) -> str:
    color = paint or _plain
    if record.error is not None:
        return color(f"error: {record.error}", "red")
    response = record.response
    if isinstance(response, Fault):
        return color(f"fault {response.code}: {response.string}", "yellow")
    if response is None:
        status = f"HTTP {record.status}" if record.status is not None else "no response"
        return color(status, "red")
    faults = sum(1 for s in record.subcalls if isinstance(s.result, Fault))
    text = "ok"
    if faults:
        text += f" ({faults} of {len(record.subcalls)} faulted)"
    if record.status is not None and record.status != 200:
        text += f" (HTTP {record.status})"
    return color(text, "green" if not faults else "yellow")


def format_call_line(record: CallRecord, style: Style | None = None) -> str:
    """``12:00:01.234  echo  1.3 ms  ok`` with the fault, error or problems when there are any."""
    paint = style or _plain
    method = record.method or "?"
    if record.is_multicall:
        method += f" [{len(record.subcalls)}]"
    duration = record.duration_ms
    took = f"{duration:8.1f} ms" if duration is not None else f"{'-':>8}   "
    line = f"{paint(_clock(record.started), 'dim')}  {paint(f'{method:<28}', 'bold')} {took}  "
    line += _outcome(record, style)
    if record.problems:
        messages = "; ".join(p.message for p in record.problems)
        if len(messages) > _PROBLEM_CHARS:
            messages = messages[: _PROBLEM_CHARS - 1] + "…"
        line += "  " + paint(f"[{messages}]", "red")
    return line
