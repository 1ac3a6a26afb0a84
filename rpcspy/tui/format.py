"""Text for the call list's cells: clock, params, column layout. Pure, no Textual.

A call's outcome, duration and size are worded by ``rpcspy.capture.summary`` (re-exported here),
the same words ``rpcspy show`` and the proxy console use.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rpcspy.capture.summary import format_duration, format_size, outcome, sub_outcome
from rpcspy.xmlrpc.messages import MethodResponse
from rpcspy.xmlrpc.render import format_response, format_short, plural

if TYPE_CHECKING:
    from rpcspy.capture import CallRecord

__all__ = [
    "COLUMNS",
    "Column",
    "clock_time",
    "format_clock",
    "format_duration",
    "format_instant",
    "format_size",
    "layout_columns",
    "native_view",
    "outcome",
    "short_params",
    "sub_outcome",
]


def clock_time(ts: float, tz: dt.tzinfo | None = None) -> dt.datetime | None:
    """The time of a timestamp in ``tz``; None for one no clock can show (``1e308``, NaN)."""
    try:
        return dt.datetime.fromtimestamp(ts, tz)
    except (OverflowError, ValueError, OSError):
        return None


def format_clock(ts: float, tz: dt.tzinfo | None = None) -> str:
    """``HH:MM:SS.mmm`` in ``tz`` (local time when None); the number for an impossible time."""
    when = clock_time(ts, tz)
    return f"{ts:.6g}"[:12] if when is None else when.strftime("%H:%M:%S.%f")[:-3]


def format_instant(ts: float, tz: dt.tzinfo | None = None) -> str:
    """Date and time to the millisecond in ``tz``; the number for an impossible time."""
    when = clock_time(ts, tz)
    if when is None:
        return f"{ts!r} (not a time a clock can show)"
    return when.isoformat(sep=" ", timespec="milliseconds")


def native_view(protocol: str) -> Any:
    """The module that words calls of ``protocol`` for people (``rpcspy.oncrpc.view``,
    ``rpcspy.rpyc.view``: ``params_text``, ``answer_text``, ``detail``), imported when first
    needed."""
    if protocol == "oncrpc":
        from rpcspy.oncrpc import view as onc_view

        return onc_view
    from rpcspy.rpyc import view as rpyc_view

    return rpyc_view


def _native_params(record: CallRecord, limit: int) -> str:
    """ONC RPC arguments (``intpair{a: int 2, b: int 40}``) or the RPyC operation
    (``modules.os.getcwd()``), then ``→ result`` if room."""
    view = native_view(record.protocol)
    text = str(view.params_text(record.request.native, limit))
    response = record.response
    if record.ok and response is not None and len(text) < limit - 6:
        text += " → " + str(view.answer_text(response.native, max(4, limit - len(text) - 3)))
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def short_params(record: CallRecord, limit: int) -> str:
    """The params on one line (``"/tmp", {recursive: true}``), then ``→ result`` if room."""
    if record.protocol != "xmlrpc":
        return _native_params(record, limit)
    if record.call is None:
        return "(request not decoded)"
    if record.is_multicall:
        text = f"[{plural(len(record.subcalls), 'call')}] " + ", ".join(
            s.call.method for s in record.subcalls
        )
    else:
        text = ", ".join(format_short(p, limit) for p in record.call.params)
    reply = record.reply
    if isinstance(reply, MethodResponse) and not record.is_multicall and len(text) < limit - 6:
        text += " → " + format_response(reply, max(4, limit - len(text) - 3))
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
    Column("status", "outcome", 15),
    Column("duration", "took", 7, "right"),
    Column("size", "size", 6, "right"),
)
#: Width of the marker at the start of each row (expand arrow, origin mark).
MARKER = 2


#: The params → result column is kept at least this wide by giving up other columns first.
PARAMS_MIN = 16
#: Columns given up, in this order, when params → result would be narrower than ``PARAMS_MIN``
#: (``#``, method and outcome always stay): at 80 columns the list shows
#: ``# method params → result outcome took``.
_GIVE_UP = ("client", "method-narrow", "size", "time", "duration")


def layout_columns(width: int) -> list[tuple[Column, int, int]]:
    """Columns that fit ``width``, each with its x and width.

    The number, method and outcome always show; the client, the size, the time and the
    duration make room for the params, in that order, as the screen narrows.
    """
    keep = list(COLUMNS)
    widths = {c.key: c.width for c in COLUMNS}

    def flex() -> int:
        fixed = sum(widths[c.key] for c in keep if c.width) + len(keep) - 1 + MARKER
        return width - fixed

    if width < 110:
        keep = [c for c in keep if c.key != "client"]
    for step in _GIVE_UP:
        if flex() >= PARAMS_MIN:
            break
        if step == "method-narrow":
            widths["method"] = 20
        else:
            keep = [c for c in keep if c.key != step]
    out: list[tuple[Column, int, int]] = []
    x = MARKER
    for c in keep:
        w = widths[c.key] or max(8, flex())
        out.append((c, x, w))
        x += w + 1
    return out
