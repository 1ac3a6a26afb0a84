"""Replay: send recorded calls to a server and compare the new responses with the recorded ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Static
from textual.worker import get_current_worker

from rpcspy.capture.index import CaptureIndex
from rpcspy.capture.summary import time_text
from rpcspy.tui.editing import marked_lines, response_lines
from rpcspy.tui.format import outcome

if TYPE_CHECKING:
    from rpcspy.capture.record import CallRecord
    from rpcspy.diff import Difference

__all__ = ["ReplayResult", "ReplayScreen", "default_target", "side_text"]


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """One replayed call: the recorded and the new exchange, and their differences."""

    row: int
    recorded: CallRecord
    replayed: CallRecord
    differences: list[Difference]


def default_target(record: CallRecord) -> str:
    """The server a call was recorded against, as a target URL (recorded paths kept)."""
    host = f"[{record.host}]" if ":" in record.host else record.host
    return f"{record.scheme}://{host}:{record.port}"


def side_text(record: CallRecord, paths: list[str]) -> Text:
    """A response as typed lines, the ones under a difference highlighted."""
    text = Text()
    label, _kind = outcome(record)
    text.append(f"{label}   {time_text(record)}\n", "bold")
    if record.error:
        text.append(f"{record.error}\n", "bold red")
    for p in record.problems:
        text.append(f"{p.message}\n", "red")
    for line, hit in marked_lines(response_lines(record.reply, record.error), paths):
        text.append(line + "\n", "bold reverse" if hit else "")
    return text


class ReplayScreen(Screen[None]):
    """Pick a target, send, compare. One call: side by side; several: a table, then side by side."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+r", "send", "Send", priority=True),
        Binding("t", "focus_target", "Target", show=False),
    ]

    def __init__(self, store: CaptureIndex, rows: list[int], *, target: str | None = None) -> None:
        super().__init__(id="replay")
        self.store = store
        self.rows = rows
        first = store.record(rows[0])
        self.target = target or default_target(first)
        self.results: list[ReplayResult] = []
        self.sending = False

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="⇄")
        with Horizontal(id="replay-bar"):
            yield Label("target ", id="replay-target-label")
            yield Input(self.target, id="replay-target", placeholder="http://host:port[/path]")
            yield Button("Send", id="replay-send", variant="primary")
        table: DataTable[str] = DataTable(id="replay-results", cursor_type="row")
        if len(self.rows) == 1:
            table.add_class("-single")
        yield table
        with Horizontal(id="replay-compare"):
            with VerticalScroll(classes="side"):
                yield Static("recorded", classes="side-title")
                yield Static("", id="side-recorded")
            with VerticalScroll(classes="side"):
                yield Static("replayed", classes="side-title")
                yield Static(Text("not sent yet: Enter or Ctrl+R sends", "dim"), id="side-replayed")
        yield Static("", id="replay-diff")
        yield Static("", id="replay-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, title in (
            ("seq", "#"),
            ("method", "method"),
            ("recorded", "recorded"),
            ("replayed", "replayed"),
            ("diffs", "differences"),
        ):
            table.add_column(title, key=key)
        self.query_one("#replay-diff", Static).display = False
        self._show_recorded(self.store.record(self.rows[0]))
        self.query_one("#replay-status", Static).update(
            f"{len(self.rows):,} call{'s' if len(self.rows) != 1 else ''} to send; "
            "edit the target and press Enter"
        )
        self.query_one("#replay-target", Input).focus()

    def _show_recorded(self, record: CallRecord, paths: list[str] | None = None) -> None:
        self.query_one("#side-recorded", Static).update(side_text(record, paths or []))

    def action_focus_target(self) -> None:
        self.query_one("#replay-target", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_send()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "replay-send":
            self.action_send()

    def action_send(self) -> None:
        if self.sending:
            self.notify("still sending", severity="warning")
            return
        from rpcspy.replay.send import Target

        text = self.query_one("#replay-target", Input).value
        try:
            target = Target.parse(text)
        except ValueError as exc:
            self.query_one("#replay-status", Static).update(Text(str(exc), "bold red"))
            return
        self.target = text
        self.results = []
        self.query_one(DataTable).clear()
        self.sending = True
        self.query_one("#replay-status", Static).update(f"sending to {target.url}…")
        self._send(target)

    @work(thread=True, exclusive=True, group="replay", exit_on_error=False)
    def _send(self, target: object) -> None:
        from rpcspy.diff import diff_responses
        from rpcspy.replay.send import Sender, Target

        assert isinstance(target, Target)
        worker = get_current_worker()
        refused = 0
        with Sender(target, timeout=15.0) as sender:
            for i, row in enumerate(self.rows):
                if worker.is_cancelled:
                    break
                recorded = self.store.record(row)
                replayed = sender.send(recorded, seq=recorded.seq)
                if replayed.error and replayed.status is None:
                    refused += 1
                differences = diff_responses(
                    recorded.reply, replayed.reply, method=recorded.method or ""
                )
                result = ReplayResult(row, recorded, replayed, differences)
                self.app.call_from_thread(self._add_result, i, result)
                if refused >= 3 and refused == i + 1:
                    # The server is not there: do not try every call of a million.
                    self.app.call_from_thread(self._finish, f"stopped: {replayed.error}")
                    return
        self.app.call_from_thread(self._finish, None)

    def _add_result(self, i: int, result: ReplayResult) -> None:
        self.results.append(result)
        table = self.query_one(DataTable)
        rec_label, _ = outcome(result.recorded)
        new_label, _ = outcome(result.replayed)
        n = len(result.differences)
        table.add_row(
            str(result.recorded.seq),
            result.recorded.method or "-",
            rec_label,
            new_label if not result.replayed.error else "error",
            "same" if not n else f"{n} difference{'s' if n != 1 else ''}",
        )
        if len(self.results) == 1:
            self._show_result(result)
        self.query_one("#replay-status", Static).update(
            f"sent {len(self.results):,}/{len(self.rows):,} to {self.target}"
        )

    def _finish(self, stopped: str | None) -> None:
        self.sending = False
        differing = sum(1 for r in self.results if r.differences)
        errors = [r for r in self.results if r.replayed.error]
        if stopped:
            msg = Text(stopped, "bold red")
        elif errors and len(errors) == len(self.results):
            msg = Text(f"the server did not answer: {errors[0].replayed.error}", "bold red")
        else:
            msg = Text(
                f"done: {len(self.results):,} sent, {differing:,} differ"
                + (f", {len(errors):,} failed" if errors else "")
            )
        self.query_one("#replay-status", Static).update(msg)
        if len(self.rows) > 1:
            self.query_one(DataTable).focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.results):
            self._show_result(self.results[event.cursor_row])

    def _show_result(self, result: ReplayResult) -> None:
        paths = [d.path for d in result.differences]
        self._show_recorded(result.recorded, paths)
        self.query_one("#side-replayed", Static).update(side_text(result.replayed, paths))
        diff = self.query_one("#replay-diff", Static)
        diff.display = True
        if result.replayed.error and result.replayed.reply is None:
            diff.set_class(False, "-same")
            diff.update(Text(f"no response from the server: {result.replayed.error}", "bold red"))
        elif not result.differences:
            diff.set_class(True, "-same")
            diff.update(Text("same response (types included)", "bold green"))
        else:
            diff.set_class(False, "-same")
            text = Text()
            for d in result.differences[:50]:
                text.append(("(minor) " if d.minor else "") + d.describe() + "\n")
            if len(result.differences) > 50:
                text.append(f"… {len(result.differences) - 50} more\n", "dim")
            diff.update(text)
