"""Replay: send recorded calls to a server and compare the new responses with the recorded ones.

With several calls the table comes first: it lists every call to send (seq, method), is
focused when the screen opens, and shows which call is being sent. Calls whose method may
change state on the server (``rpcspy.tui.editing.changes_state``: ``dir.create``,
``dir.remove`` …) are named in a question before anything is sent, with the choice to skip them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Input, Label, Static
from textual.worker import get_current_worker

from rpcspy.capture.index import CaptureIndex
from rpcspy.capture.summary import time_text
from rpcspy.tui.editing import changes_state, marked_lines, response_lines
from rpcspy.tui.format import outcome
from rpcspy.tui.widgets.key_bar import KeyBar
from rpcspy.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from collections.abc import Callable

    from rpcspy.capture.record import CallRecord
    from rpcspy.diff import Difference

__all__ = [
    "ConfirmStateChanges",
    "ReplayResult",
    "ReplayScreen",
    "TargetChosen",
    "default_target",
    "side_text",
    "state_changing_rows",
]

#: Rows listed in the table before sending; more are added as they are sent.
PREFILL = 2000


class TargetChosen(Message):
    """The user sent to this server: it is the session's target from now on."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url


def state_changing_rows(store: CaptureIndex, rows: list[int]) -> list[int]:
    """Indexes into ``rows`` of the calls that may change state (a multicall: by its sub-calls).

    Read from the index's columns (method ids), each distinct method judged once.
    """
    names = store.methods.names
    verdict: dict[int, bool] = {}

    def judge(method_id: int) -> bool:
        if method_id not in verdict:
            verdict[method_id] = changes_state(names[method_id])
        return verdict[method_id]

    found = []
    for i, row in enumerate(rows):
        subs = store.sub_methods.get(row)
        if judge(store.method[row]) or (subs is not None and any(judge(m) for m in subs)):
            found.append(i)
    return found


class ConfirmStateChanges(ModalScreen[str | None]):
    """Some calls may change state on the server: send them all, skip them, or cancel.

    Dismisses with ``"all"``, ``"skip"`` or None.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,c", "cancel", "Cancel"),
        Binding("a", "choose('all')", "Send all"),
        Binding("s", "choose('skip')", "Skip them"),
        Binding("left", "app.focus_previous", show=False),
        Binding("right", "app.focus_next", show=False),
    ]

    def __init__(self, total: int, changing: list[tuple[int, str]]) -> None:
        """``changing``: (seq, method) of each state-changing call, ``total`` calls in all."""
        super().__init__(classes="prompt")
        self.total = total
        self.changing = changing

    def compose(self) -> ComposeResult:
        n = len(self.changing)
        by_method: dict[str, list[int]] = {}
        for seq, method in self.changing:
            by_method.setdefault(method, []).append(seq)
        lines = []
        for method, seqs in list(by_method.items())[:8]:
            numbers = ", ".join(f"#{q}" for q in seqs[:5]) + (" …" if len(seqs) > 5 else "")
            calls = f"{len(seqs)} call{'s' if len(seqs) != 1 else ''}"
            lines.append(f"  {method or '(not decoded)'}  {calls}: {numbers}")
        if len(by_method) > 8:
            lines.append(f"  … and {len(by_method) - 8} more methods")
        with Vertical(id="prompt-box"):
            yield Label(
                f"{n:,} of {self.total:,} calls may change state on the server",
                id="prompt-title",
            )
            yield Static("\n".join(lines), id="confirm-methods")
            yield Static(
                "Their names say they create, remove, write or set something; sent again "
                "they do it again.",
                id="prompt-hint",
            )
            with Horizontal(id="confirm-buttons"):
                yield Button(
                    f"Skip them: send {self.total - n:,}",
                    id="confirm-skip",
                    variant="primary",
                    disabled=n == self.total,
                )
                yield Button(f"Send all {self.total:,}", id="confirm-all", variant="warning")
                yield Button("Cancel", id="confirm-cancel")
            yield Static("s skip them · a send all · Esc cancel", id="confirm-keys")

    def on_mount(self) -> None:
        skip = self.query_one("#confirm-skip", Button)
        (self.query_one("#confirm-cancel", Button) if skip.disabled else skip).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        choice = {"confirm-skip": "skip", "confirm-all": "all"}.get(event.button.id or "")
        self.dismiss(choice)

    def action_choose(self, choice: str) -> None:
        if choice == "skip" and len(self.changing) == self.total:
            return  # nothing would be left to send
        self.dismiss(choice)

    def action_cancel(self) -> None:
        self.dismiss(None)


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
    if record.protocol == "oncrpc":
        # The reply as the ONC RPC codec words it (status, typed result): there is no XML.
        from rpcspy.oncrpc.view import answer_text

        half = record.response.native if record.response is not None else None
        if half is not None:
            text.append(answer_text(half, limit=4000) + "\n", "bold reverse" if paths else "")
        return text
    for line, hit in marked_lines(response_lines(record.reply, record.error), paths):
        text.append(line + "\n", "bold reverse" if hit else "")
    return text


class ReplayScreen(Screen[None]):
    """Pick a target, send, compare. One call: side by side; several: a table, then side by side."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+r", "send", "Send", priority=True),
        Binding("t", "focus_target", "Target"),
    ]

    def __init__(self, store: CaptureIndex, rows: list[int], *, target: str | None = None) -> None:
        super().__init__(id="replay")
        self.store = store
        self.rows = rows
        first = store.record(rows[0])
        #: The target as given by the app (the session's choice), None when it had none.
        self.given_target = target
        self.default = default_target(first)
        self.target = target or self.default
        self.results: list[ReplayResult] = []
        #: Each result by its place in ``rows`` (= its row in the table).
        self.by_index: dict[int, ReplayResult] = {}
        #: Places in ``rows`` left out of the last send (state-changing calls skipped).
        self.skipped: set[int] = set()
        #: The place in ``rows`` being sent now, None when nothing is.
        self.current: int | None = None
        self.sending = False
        self._changing: list[int] | None = None

    @property
    def several(self) -> bool:
        """More than one call: the table is shown."""
        return len(self.rows) > 1

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with Horizontal(id="replay-bar"):
            yield Label("target ", id="replay-target-label")
            yield Input(
                self.target,
                id="replay-target",
                placeholder="http://host:port[/path]",
                compact=True,
            )
            yield Button("Send", id="replay-send", variant="primary", compact=True)
        table: DataTable[str] = DataTable(id="replay-results", cursor_type="row")
        if not self.several:
            table.add_class("-single")
        yield table
        with Vertical(id="replay-bottom"):
            with Horizontal(id="replay-compare"):
                with VerticalScroll(classes="side"):
                    yield Static("recorded", classes="side-title", id="side-recorded-title")
                    yield Static("", id="side-recorded")
                with VerticalScroll(classes="side"):
                    yield Static("replayed", classes="side-title")
                    yield Static(
                        Text("not sent yet: Enter or Ctrl+R sends", "dim"), id="side-replayed"
                    )
            yield Static("", id="replay-diff")
        yield Static("", id="replay-status")
        yield KeyBar()

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
        if self.several:
            for i in range(min(len(self.rows), PREFILL)):
                self._add_row(i)
            self._ready_status()
            table.focus()
        else:
            self._ready_status()
            self.query_one("#replay-target", Input).focus()

    def _ready_status(self) -> None:
        n = len(self.rows)
        changing = self.changing()
        text = Text(f"{n:,} call{'s' if n != 1 else ''} to send")
        if changing:
            if self.several:
                text.append(f" · {len(changing):,} may change state", "bold yellow")
            else:
                method = self.store.method_name(self.rows[0])
                text.append(f" · {method} may change state on the server", "bold yellow")
        text.append(" · ")
        text.append("Enter", "bold")
        text.append(" or ")
        text.append("Ctrl+R", "bold")
        text.append(" sends")
        self._status(text)

    def _status(self, text: str | Text) -> None:
        self.query_one("#replay-status", Static).update(text)

    def changing(self) -> list[int]:
        """Places in ``rows`` of the calls that may change state on the server (computed once)."""
        if self._changing is None:
            self._changing = state_changing_rows(self.store, self.rows)
        return self._changing

    def _add_row(self, i: int) -> None:
        table = self.query_one(DataTable)
        row = self.rows[i]
        table.add_row(
            str(self.store.seq[row]),
            self.store.method_name(row) or "-",
            "",
            "",
            "",
            key=str(i),
        )

    def _set_cells(self, i: int, **cells: str | Text) -> None:
        table = self.query_one(DataTable)
        while table.row_count <= i:
            self._add_row(table.row_count)
        for column, value in cells.items():
            table.update_cell(str(i), column, value, update_width=True)

    def _show_recorded(self, record: CallRecord, paths: list[str] | None = None) -> None:
        title = Text("recorded  ")
        title.append(f"#{record.seq} {record.method or '-'}", "bold")
        self.query_one("#side-recorded-title", Static).update(title)
        self.query_one("#side-recorded", Static).update(side_text(record, paths or []))

    def action_focus_target(self) -> None:
        self.query_one("#replay-target", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_send()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "replay-send":
            self.action_send()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # Enter on the table sends, until something was sent; then it only shows the row.
        if not self.sending and not self.results and not self.skipped:
            self.action_send()

    def action_send(self) -> None:
        if self.sending:
            self.notify("still sending", severity="warning")
            return
        from rpcspy.replay.send import Target

        text = self.query_one("#replay-target", Input).value.strip()
        protocols = {self.store.protocol_name(row) for row in self.rows}
        target: object
        try:
            if protocols != {"xmlrpc"}:
                target = self._native_target(text, protocols)
            else:
                target = Target.parse(text)
        except ValueError as exc:
            self._status(Text(str(exc), "bold red"))
            return
        changing = self.changing() if self.several else []
        if not changing:
            self._start(text, target, set())
            return
        names = [
            (self.store.seq[self.rows[i]], self.store.method_name(self.rows[i])) for i in changing
        ]

        def chosen(choice: str | None) -> None:
            if choice is None:
                self._status("nothing sent")
            else:
                self._start(text, target, set(changing) if choice == "skip" else set())

        self.app.push_screen(ConfirmStateChanges(len(self.rows), names), chosen)

    @staticmethod
    def _native_target(text: str, protocols: set[str]) -> object:
        """Where ONC RPC calls go again (``tcp://`` or ``udp://``); ValueError, in words, for
        what the TUI does not replay."""
        from rpcspy.replay.native import NativeTarget

        if protocols != {"oncrpc"}:
            raise ValueError(
                "the TUI replays XML-RPC or ONC RPC calls, one kind at a time; RPyC sessions "
                "replay from the command line: rpcspy replay CAPTURE --target tcp://HOST:PORT"
            )
        return NativeTarget.parse(text)

    def _start(self, text: str, target: object, skip: set[int]) -> None:
        if self.given_target is not None or text != self.default:
            # The user chose this server: it stays the target of the session.
            self.post_message(TargetChosen(text))
        self.target = text
        self.results = []
        self.by_index = {}
        self.skipped = skip
        table = self.query_one(DataTable)
        for i in range(table.row_count):
            skipped = i in skip
            self._set_cells(
                i,
                recorded="",
                replayed=Text("skipped", "yellow") if skipped else Text("waiting", "dim"),
                diffs=Text("changes state", "yellow") if skipped else "",
            )
        self.sending = True
        self._status(f"sending to {text}…")
        self._send(target, skip)

    @work(thread=True, exclusive=True, group="replay", exit_on_error=False)
    def _send(self, target: object, skip: set[int]) -> None:
        from rpcspy.diff import diff_responses
        from rpcspy.replay.native import NativeTarget, OncRpcReplayer
        from rpcspy.replay.send import Sender, Target

        if isinstance(target, Target):
            with Sender(target, timeout=15.0) as sender:

                def http(row: int, recorded: CallRecord) -> ReplayResult | str:
                    replayed = sender.send(recorded, seq=recorded.seq)
                    differences = diff_responses(
                        recorded.reply, replayed.reply, method=recorded.method or ""
                    )
                    return ReplayResult(row, recorded, replayed, differences)

                self._send_rows(http, skip)
            return
        # ONC RPC: each call re-sent with a fresh xid, its typed answer compared with the
        # recorded one (``rpcspy.replay.native``, as ``rpcspy replay`` does).
        assert isinstance(target, NativeTarget)
        with OncRpcReplayer(target, timeout=15.0) as replayer:

            def oncrpc(row: int, recorded: CallRecord) -> ReplayResult | str:
                done = replayer.replay_one(recorded)
                if done.new is None:
                    return done.message or "not sent"
                return ReplayResult(row, recorded, done.new, list(done.differences))

            self._send_rows(oncrpc, skip)

    def _send_rows(
        self, send_one: Callable[[int, CallRecord], ReplayResult | str], skip: set[int]
    ) -> None:
        """Send each row with ``send_one`` (a result, or why it was not sent), showing each as
        it goes; stop early when the first calls all found no server."""
        worker = get_current_worker()
        refused = 0
        sent = 0
        for i, row in enumerate(self.rows):
            if worker.is_cancelled:
                break
            if i in skip:
                self.app.call_from_thread(self._skip, i)
                continue
            recorded = self.store.record(row)
            self.app.call_from_thread(self._sending, i, recorded)
            result = send_one(row, recorded)
            if isinstance(result, str):
                self.app.call_from_thread(self._not_sent, i, result)
                continue
            sent += 1
            replayed = result.replayed
            if replayed.error and replayed.response is None:
                refused += 1
            self.app.call_from_thread(self._add_result, i, result)
            if refused >= 3 and refused == sent:
                # The server is not there: do not try every call of a million.
                self.app.call_from_thread(self._finish, f"stopped: {replayed.error}")
                return
        self.app.call_from_thread(self._finish, None)

    def _not_sent(self, i: int, why: str) -> None:
        self._set_cells(i, replayed=Text("not sent", "yellow"), diffs=why)
        if not self.several:
            self._status(Text(why, "yellow"))

    def _skip(self, i: int) -> None:
        self._set_cells(
            i, replayed=Text("skipped", "yellow"), diffs=Text("changes state", "yellow")
        )

    def _sending(self, i: int, recorded: CallRecord) -> None:
        self.current = i
        if self.several:
            self._set_cells(i, replayed=Text("sending…", "bold"))
        status = Text(
            f"sending {len(self.results) + 1:,} of {len(self.rows) - len(self.skipped):,}: "
        )
        status.append(f"#{recorded.seq} {recorded.method or '-'}", "bold")
        status.append(f" → {self.target}")
        self._status(status)

    def _add_result(self, i: int, result: ReplayResult) -> None:
        self.results.append(result)
        self.by_index[i] = result
        rec_label, _ = outcome(result.recorded)
        new_label, _ = outcome(result.replayed)
        n = len(result.differences)
        if self.several:
            self._set_cells(
                i,
                recorded=rec_label,
                replayed=new_label if not result.replayed.error else "error",
                diffs="same" if not n else f"{n} difference{'s' if n != 1 else ''}",
            )
            table = self.query_one(DataTable)
            if table.cursor_row == i or len(self.results) == 1:
                self._show_result(result)
        else:
            self._show_result(result)

    def _finish(self, stopped: str | None) -> None:
        self.sending = False
        self.current = None
        if self.several:
            table = self.query_one(DataTable)
            for i in range(table.row_count):
                if i not in self.by_index and i not in self.skipped:
                    self._set_cells(i, replayed=Text("not sent", "dim"))
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
                + (f", {len(self.skipped):,} skipped (may change state)" if self.skipped else "")
            )
        self._status(msg)
        if self.several:
            self.query_one(DataTable).focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        result = self.by_index.get(event.cursor_row)
        if result is not None:
            self._show_result(result)
        elif 0 <= event.cursor_row < len(self.rows):
            # Not sent (yet, or skipped): the recorded side alone.
            self._show_recorded(self.store.record(self.rows[event.cursor_row]))
            note = (
                "skipped: it may change state"
                if event.cursor_row in self.skipped
                else ("not sent yet: Enter or Ctrl+R sends")
            )
            self.query_one("#side-replayed", Static).update(Text(note, "dim"))
            self.query_one("#replay-diff", Static).display = False

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
