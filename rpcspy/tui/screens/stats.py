"""Per-method figures for the shown calls: count, fault rate, p50/p95/max latency."""

from __future__ import annotations

from array import array
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from rpcspy.capture.index import CaptureIndex, MethodStats
from rpcspy.tui import messages
from rpcspy.tui.format import format_duration

__all__ = ["StatsScreen"]


class StatsScreen(Screen[None]):
    """A table, one row per method, computed in a worker over the shown calls."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,s", "app.pop_screen", "Back"),
        Binding("enter", "filter_method", "Filter to method"),
    ]

    def __init__(self, store: CaptureIndex, rows: array[int], filter_text: str = "") -> None:
        super().__init__(id="stats")
        self.store = store
        self.rows = rows
        self.filter_text = filter_text
        self.stats: list[MethodStats] = []

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="⇄")
        scope = f"{len(self.rows):,} shown calls" + (
            f" (filter: {self.filter_text})" if self.filter_text else ""
        )
        yield Static(f"Per method, over {scope}", id="stats-title")
        table: DataTable[str] = DataTable(id="stats-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("method", key="method")
        for key, title in (
            ("count", "calls"),
            ("faults", "faults"),
            ("rate", "fault %"),
            ("p50", "p50"),
            ("p95", "p95"),
            ("max", "max"),
        ):
            table.add_column(title, key=key)
        table.loading = True
        table.focus()
        self._compute()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _compute(self) -> None:
        stats = self.store.method_stats(self.rows)
        self.app.call_from_thread(self._show, stats)

    def _show(self, stats: list[MethodStats]) -> None:
        self.stats = stats
        table = self.query_one(DataTable)
        table.loading = False
        for s in stats:
            table.add_row(
                s.method,
                f"{s.count:,}",
                f"{s.faults:,}",
                f"{100 * s.fault_rate:.1f}",
                format_duration(s.p50_ms),
                format_duration(s.p95_ms),
                format_duration(s.max_ms),
                key=s.method,
            )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_filter_method()

    def action_filter_method(self) -> None:
        table = self.query_one(DataTable)
        if not self.stats or table.cursor_row >= len(self.stats):
            return
        method = self.stats[table.cursor_row].method
        quoted = (
            method
            if all(c.isalnum() or c in "._-" for c in method)
            else '"' + method.replace('"', '\\"') + '"'
        )
        self.post_message(messages.ApplyFilter(f"method:{quoted}"))
