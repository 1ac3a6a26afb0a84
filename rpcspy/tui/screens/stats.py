"""Per-method figures of the shown calls, and the latency histogram of the selected method.

The figures are ``rpcspy.capture.stats``'s, in its words (``TABLE``, ``table_cells``): the same
as ``rpcspy stats`` prints. This screen only lays them out.
"""

from __future__ import annotations

from array import array
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Static

from rpcspy.capture.index import CaptureIndex
from rpcspy.capture.stats import (
    ALL_METHODS,
    TABLE,
    CaptureStats,
    MethodStats,
    compute_stats,
    table_cells,
)
from rpcspy.tui import messages
from rpcspy.tui.widgets.histogram import LatencyHistogram
from rpcspy.tui.widgets.key_bar import KeyBar
from rpcspy.tui.widgets.title_bar import TitleBar

__all__ = ["StatsScreen"]


class StatsScreen(Screen[None]):
    """A table, one row per method (and one for all of them), computed in a worker over the
    shown calls; below it the latency histogram of the method under the cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,s", "app.pop_screen", "Back"),
        Binding("enter", "filter_method", "Filter to method"),
    ]

    def __init__(self, store: CaptureIndex, rows: array[int], filter_text: str = "") -> None:
        super().__init__(id="stats")
        self.store = store
        self.rows = rows
        self.filter_text = filter_text
        #: The methods' figures, in the table's order (most calls first).
        self.stats: list[MethodStats] = []
        self.figures: CaptureStats | None = None

    def compose(self) -> ComposeResult:
        yield TitleBar()
        scope = f"{len(self.rows):,} shown calls" + (
            f" (filter: {self.filter_text})" if self.filter_text else ""
        )
        yield Static(
            Text(f"Per method, over {scope}; latency of the calls with a response"),
            id="stats-title",
        )
        table: DataTable[str | Text] = DataTable(
            id="stats-table", cursor_type="row", zebra_stripes=True
        )
        yield table
        yield LatencyHistogram(id="stats-histogram")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, title in TABLE:
            table.add_column(title if key == "method" else Text(title, justify="right"), key=key)
        table.loading = True
        table.focus()
        self._compute()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _compute(self) -> None:
        figures = compute_stats(self.store, self.rows)
        self.app.call_from_thread(self._show, figures)

    def _show(self, figures: CaptureStats) -> None:
        self.figures = figures
        self.stats = figures.methods
        table = self.query_one(DataTable)
        table.loading = False
        for s in [*figures.methods, figures.total]:
            cells = table_cells(s)
            style = "bold" if s is figures.total else ""
            table.add_row(
                *(
                    Text(cells[key], style=style, justify="left" if key == "method" else "right")
                    for key, _title in TABLE
                ),
                key=s.method if s is not figures.total else ALL_METHODS,
            )
        self.query_one(LatencyHistogram).show(self.selected)

    @property
    def selected(self) -> MethodStats | None:
        """The figures of the row under the cursor (the last row is all methods')."""
        if self.figures is None:
            return None
        rows = [*self.figures.methods, self.figures.total]
        row = self.query_one(DataTable).cursor_row
        return rows[row] if 0 <= row < len(rows) else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.query_one(LatencyHistogram).show(self.selected)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_filter_method()

    def action_filter_method(self) -> None:
        chosen = self.selected
        if chosen is None or self.figures is None or chosen is self.figures.total:
            return
        method = chosen.method
        quoted = (
            method
            if all(c.isalnum() or c in "._-" for c in method)
            else '"' + method.replace('"', '\\"') + '"'
        )
        self.post_message(messages.ApplyFilter(f"method:{quoted}"))
