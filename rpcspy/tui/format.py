"""Text for the call list's cells: times, sizes, outcomes, column layout. Pure, no Textual."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rpcspy.xmlrpc.messages import Fault, MethodResponse
from rpcspy.xmlrpc.render import format_response, format_short

if TYPE_CHECKING:
    from rpcspy.capture import CallRecord

__all__ = [
    "COLUMNS",
    "Column",
    "format_clock",
    "format_duration",
    "format_size",
    "layout_columns",
    "outcome",
    "short_params",
]


def format_clock(ts: float, tz: dt.tzinfo | None = None) -> str:
    """``HH:MM:SS.mmm`` in ``tz`` (local time when None)."""
    return dt.datetime.fromtimestamp(ts, tz).strftime("%H:%M:%S.%f")[:-3]


def format_duration(ms: float | None) -> str:
    """``0.8``, ``12.3``, ``1234`` ms, ``-`` when unknown."""
    if ms is None:
        return "-"
    if ms < 100:
        return f"{ms:.1f}"
    if ms < 100_000:
        return f"{ms:.0f}"
    return f"{ms / 1000:.0f}s"


def format_size(n: int) -> str:
    """``512B``, ``12K``, ``3.4M`` (1024-based, at most 5 characters)."""
    if n < 1000:
        return f"{n}B"
    if n < 1000 * 1024:
        return f"{n / 1024:.0f}K" if n >= 10 * 1024 else f"{n / 1024:.1f}K"
    if n < 1000 * 1024 * 1024:
        mb = n / (1024 * 1024)
        return f"{mb:.0f}M" if mb >= 10 else f"{mb:.1f}M"
    return f"{n / (1 << 30):.1f}G"


def outcome(record: CallRecord) -> tuple[str, str]:
    """Short outcome text and its kind (``ok``, ``fault``, ``problem``, ``error``, ``pending``)."""
    if record.error is not None:
        return "error", "error"
    if isinstance(record.response, Fault):
        return f"fault {record.response.code}", "fault"
    if record.problems:
        return "problem", "problem"
    if record.response is None:
        return "no reply", "pending"
    faults = sum(1 for s in record.subcalls if isinstance(s.result, Fault))
    if faults:
        return f"ok ({faults} fault{'s' if faults > 1 else ''})", "subfault"
    return "ok", "ok"


def sub_outcome(result: MethodResponse | Fault | None) -> tuple[str, str]:
    """Outcome text and kind of one multicall sub-call."""
    if result is None:
        return "no reply", "pending"
    if isinstance(result, Fault):
        return f"fault {result.code}", "fault"
    return "ok", "ok"


def short_params(record: CallRecord, limit: int) -> str:
    """The params on one line (``"/tmp", {recursive: true}``), then ``→ result`` if room."""
    if record.call is None:
        return "(request not decoded)"
    if record.is_multicall:
        text = f"[{len(record.subcalls)} calls] " + ", ".join(
            s.call.method for s in record.subcalls
        )
    else:
        text = ", ".join(format_short(p, limit) for p in record.call.params)
    if (
        isinstance(record.response, MethodResponse)
        and not record.is_multicall
        and len(text) < limit - 6
    ):
        text += " → " + format_response(record.response, max(4, limit - len(text) - 3))
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the call list: key (also the sort key), title, width (0 = flexible)."""

    key: str
    title: str
    width: int
    align: str = "left"
    sortable: bool = True


COLUMNS: tuple[Column, ...] = (
    Column("seq", "#", 6, "right"),
    Column("time", "time", 12),
    Column("client", "client", 21),
    Column("method", "method", 24),
    Column("params", "params → result", 0, sortable=False),
    Column("status", "outcome", 13),
    Column("duration", "ms", 7, "right"),
    Column("size", "size", 6, "right"),
)
#: Width of the marker at the start of each row (expand arrow, origin mark).
MARKER = 2


def layout_columns(width: int) -> list[tuple[Column, int, int]]:
    """Columns that fit ``width``, each with its x and width; narrow screens drop client and #."""
    keep = list(COLUMNS)
    method_width = 24
    if width < 110:
        keep = [c for c in keep if c.key != "client"]
    if width < 90:
        keep = [c for c in keep if c.key != "seq"]
        method_width = 20
    fixed = sum(c.width for c in keep if c.width) + len(keep) - 1 + MARKER
    fixed += method_width - 24
    flex = max(8, width - fixed)
    out: list[tuple[Column, int, int]] = []
    x = MARKER
    for c in keep:
        w = c.width or flex
        if c.key == "method":
            w = method_width
        out.append((c, x, w))
        x += w + 1
    return out
