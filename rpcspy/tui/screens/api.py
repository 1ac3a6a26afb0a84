"""The API pane (``a``): every method the calls show (and the ``--api`` file declares), with
its signatures, call count, fault rate and sources; the selected method in detail below.

The API is learned from every call loaded (not only the ones the list's filter shows: a
server's API does not change with what you look at), in a worker thread a batch at a time, so
a big capture never blocks the UI; the title says ``learning… N%`` meanwhile and the table
fills as it goes. Calls that arrive later (``--follow``, live traffic, resent calls) are learned
as they come. What was learned is kept by the app (an ``ApiLearner``), so opening the pane
again learns only the new calls. ``n`` or ``Enter`` asks the app for a new call of the
selected method, pre-filled (``rpcspy.tui.apiview.example_params``).
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.console import JustifyMethod
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from rpcspy.api.model import Api
from rpcspy.tui import messages
from rpcspy.tui.apiview import (
    ApiLearner,
    detail_text,
    example_params,
    fault_text,
    signature_text,
    sources_text,
)
from rpcspy.tui.widgets.key_bar import KeyBar
from rpcspy.tui.widgets.title_bar import TitleBar
from rpcspy.xmlrpc.messages import MethodCall

__all__ = ["ApiScreen"]

#: How often the pane looks for calls that arrived since it learned (seconds).
_POLL = 0.5
#: How often a long learning shows what it has so far (seconds).
_PARTIAL = 1.5


class ApiScreen(Screen[None]):
    """A table of methods over a detail of the selected one."""

    class Learned(Message):
        """What the learning worker has so far (posted from its thread)."""

        def __init__(
            self, api: Api, upto: int, total: int, done: bool, error: str | None = None
        ) -> None:
            super().__init__()
            self.api = api
            self.upto = upto
            self.total = total
            self.done = done
            self.error = error

    class Progress(Message):
        """How far the learning worker got (posted from its thread)."""

        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done = done
            self.total = total

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,a", "app.pop_screen", "Back"),
        Binding("n", "new_call", "New call"),
        Binding("question_mark,f1", "help", "Help"),
    ]

    def __init__(
        self, learner: ApiLearner, file_api: Api | None = None, file_label: str | None = None
    ) -> None:
        super().__init__(id="api")
        self.learner = learner
        self.file_api = file_api
        self.file_label = file_label
        #: The API shown: the file's merged with what was learned so far.
        self.api = Api()
        #: Method names in table order.
        self.names: list[str] = []
        self.learning = False
        self._progress = ""
        self._failed = False

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static("", id="api-title")
        table: DataTable[str | Text] = DataTable(
            id="api-table", cursor_type="row", zebra_stripes=True
        )
        yield table
        with VerticalScroll(id="api-detail"):
            yield Static(Text("learning…", "italic"), id="api-detail-text")
        yield KeyBar()

    def on_mount(self) -> None:
        self.title = "API"
        self.query_one(DataTable).focus()
        self._start()
        self.set_interval(_POLL, self._poll)

    # ------------------------------------------------------------ learning

    def _poll(self) -> None:
        if not self.learning and not self._failed and self.learner.behind:
            self._start()

    def _start(self) -> None:
        self.learning = True
        self._show_title()
        self._learn()

    @work(thread=True, exclusive=True, group="api-learn", exit_on_error=False)
    def _learn(self) -> None:
        worker = get_current_worker()
        learner = self.learner
        last = [0.0, time.monotonic()]  # the first batch's progress shows at once

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] > 0.2:
                last[0] = now
                self.post_message(self.Progress(done, total))
            if now - last[1] > _PARTIAL:
                last[1] = now
                self.post_message(self.Learned(learner.merged(self.file_api), done, total, False))

        error = None
        try:
            learner.learn(cancelled=lambda: worker.is_cancelled, progress=progress)
        except Exception as exc:  # a record that cannot be read: say so, keep what was learned
            error = f"learning stopped: {exc}"
        api = learner.merged(self.file_api)
        self.post_message(self.Learned(api, learner.upto, learner.store.count, True, error))

    def on_api_screen_progress(self, message: Progress) -> None:
        if self.learning and message.total:
            pct = 100 * message.done // message.total
            self._progress = f"learning… {pct}% of {message.total:,}"
            self._show_title()

    def on_api_screen_learned(self, message: Learned) -> None:
        if message.done:
            self.learning = False
            self._progress = ""
        if message.error:
            self._failed = True  # no retry every half second
            self.notify(message.error, severity="error")
        self.show_api(message.api)

    # ------------------------------------------------------------ showing

    def _show_title(self) -> None:
        count = self.learner.upto
        text = Text(no_wrap=True, overflow="ellipsis")
        n = len(self.api.methods)
        text.append(f"{n:,} method{'s' if n != 1 else ''}", "bold")
        text.append(f" · all {count:,} call{'s' if count != 1 else ''} (unfiltered)")
        if self.file_label:
            text.append(f" + {self.file_label}")
        if self.learning:
            text.append(" · ")
            text.append(self._progress or "learning…", "italic")
        self.query_one("#api-title", Static).update(text)

    def show_api(self, api: Api) -> None:
        """Show ``api`` in the table, the cursor kept on the same method."""
        self.api = api
        table = self.query_one(DataTable)
        current = self.current_method
        self.names = sorted(api.methods)
        rows = []
        for name in self.names:
            method = api.methods[name]
            rows.append((name, f"{method.calls:,}", fault_text(method), sources_text(method)))
        # Every column as wide as its content, the signature the rest of the line (cut with
        # an ellipsis: the detail below has it whole), so nothing scrolls sideways.
        titles = ("method", "calls", "faults", "from")
        widths = [max([len(t), *(len(r[i]) for r in rows)]) for i, t in enumerate(titles)]
        room = self.size.width or self.app.size.width
        widths[0] = min(widths[0], max(20, room // 2))
        pad = 2 * table.cell_padding
        sig_width = max(12, room - sum(widths) - pad * 5 - 1)
        table.clear(columns=True)
        justify: tuple[JustifyMethod, ...] = ("left", "right", "left", "left")
        for title, width, side in zip(titles, widths, justify, strict=True):
            table.add_column(Text(title, justify=side), key=title, width=width)
        table.add_column("signature", key="signature", width=sig_width)
        for name, calls, fault, sources in rows:
            method = api.methods[name]
            table.add_row(
                Text(name, no_wrap=True, overflow="ellipsis"),
                Text(calls, justify="right"),
                Text(fault, "bold yellow" if method.faults else ""),
                sources,
                Text(signature_text(method), no_wrap=True, overflow="ellipsis"),
                key=name,
            )
        if current in api.methods:
            table.move_cursor(row=self.names.index(current))
        self._show_title()
        self._show_detail()

    def on_resize(self) -> None:
        if self.names:
            self.show_api(self.api)

    @property
    def current_method(self) -> str | None:
        """The name of the method under the cursor (None when the table is empty)."""
        row = self.query_one(DataTable).cursor_row
        return self.names[row] if 0 <= row < len(self.names) else None

    def _show_detail(self) -> None:
        name = self.current_method
        out = self.query_one("#api-detail-text", Static)
        if name is None:
            out.update(Text("learning…" if self.learning else "no method seen", "italic"))
        else:
            out.update(detail_text(self.api.methods[name]))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_new_call()

    # ------------------------------------------------------------ actions

    def action_new_call(self) -> None:
        name = self.current_method
        if name is None:
            self.notify("no method selected", severity="warning")
            return
        call = MethodCall(name, example_params(self.api.methods[name]))
        self.post_message(messages.ComposeCall(call))

    def action_help(self) -> None:
        self.post_message(messages.ShowHelp())
