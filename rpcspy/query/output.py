"""A query's rows written out: an aligned table (colour where the terminal wants it), JSON
lines (one object per row) or CSV. Text that came from a capture is escaped for the terminal
(``rpcspy.term.printable``) in the table; JSON escapes it itself."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import math
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

import orjson

from rpcspy.term import Style, json_text, printable

__all__ = ["write_csv", "write_json", "write_table"]


def _plain(value: Any) -> Any:
    """A value as JSON has it: times as ISO text, decimals as numbers, lists and maps inside."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def write_json(columns: Sequence[str], rows: Iterable[Sequence[Any]], out: TextIO) -> int:
    """One JSON object per row (JSON lines); returns the rows written."""
    n = 0
    for row in rows:
        out.write(json_text({c: _plain(v) for c, v in zip(columns, row, strict=True)}))
        out.write("\n")
        n += 1
    return n


def _cell_csv(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"  # (as SQL and DuckDB's own CSV write them)
    value = _plain(value)
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return value


def write_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]], out: TextIO) -> int:
    """A header line, then one CSV line per row (NULL is an empty field); returns the rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    n = 0
    for row in rows:
        writer.writerow([_cell_csv(v) for v in row])
        n += 1
    return n


def _cell_text(value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        # Three decimals are a microsecond of a duration in ms; exact figures: --json or --csv.
        text = f"{value:.3f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, bool):
        return "true" if value else "false"
    value = _plain(value)
    if isinstance(value, list | dict):
        return json_text(value)
    return printable(str(value))


_NUMBERS = (int, float, decimal.Decimal)


def write_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], out: TextIO, *, max_width: int = 60
) -> int:
    """The rows as an aligned table with a header (numbers to the right, NULL shown dimmed,
    long cells cut at ``max_width`` with …); returns the rows written."""
    style = Style(out)
    cells: list[list[str]] = []
    numeric = [True] * len(columns)
    nulls: list[list[bool]] = []
    for row in rows:
        line = []
        null = []
        for i, v in enumerate(row):
            if v is None:
                line.append("NULL")
                null.append(True)
                continue
            if not isinstance(v, _NUMBERS) or isinstance(v, bool):
                numeric[i] = False
            text = _cell_text(v)
            if len(text) > max_width:
                text = text[: max_width - 1] + "…"
            line.append(text)
            null.append(False)
        cells.append(line)
        nulls.append(null)
    heads = [printable(c) for c in columns]
    widths = [len(h) for h in heads]
    for line in cells:
        for i, text in enumerate(line):
            widths[i] = max(widths[i], len(text))

    def fit(text: str, i: int) -> str:
        return text.rjust(widths[i]) if numeric[i] else text.ljust(widths[i])

    out.write("  ".join(style(fit(h, i), "bold") for i, h in enumerate(heads)).rstrip() + "\n")
    for line, null in zip(cells, nulls, strict=True):
        parts = [
            style(fit(text, i), "dim") if null[i] else fit(text, i) for i, text in enumerate(line)
        ]
        out.write("  ".join(parts).rstrip() + "\n")
    if not cells:
        out.write(style("(no rows)", "dim") + "\n")
    return len(cells)
