"""The rpcspy terminal UI: browse, filter, inspect, replay and resend XML-RPC calls.

``RpcSpyApp`` shows the calls of a ``CaptureIndex``, fed by a capture file (indexed in a worker
thread, optionally followed like ``tail -f``), by an async iterable of records (``make_live_app``),
or by ``add_record`` calls (``rpcspy.live`` feeds it from a proxy in the same asyncio loop).

The screens post messages (``rpcspy.tui.messages`` and the ones nested in a screen) and the app
handles them: it opens screens, copies and saves, replays and resends, and calls methods down on
its screens. No screen imports the app.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import threading
from array import array
from collections.abc import AsyncIterable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen

from rpcspy.capture.index import CaptureIndex, IndexBuilder
from rpcspy.tui import messages
from rpcspy.tui.screens.calls import SORT_KEYS, CallsScreen
from rpcspy.tui.startup import CaptureOpening, hold_gc, release_gc

if TYPE_CHECKING:
    from rpcspy.api.model import Api
    from rpcspy.capture.record import CallRecord
    from rpcspy.tui.apiview import ApiLearner
    from rpcspy.tui.screens.edit import EditScreen
    from rpcspy.tui.screens.replay import TargetChosen

__all__ = ["RpcSpyApp", "make_live_app", "write_rows"]


class RowsAdded(Message):
    """The index grew (posted from the indexer thread; coalesced)."""


class RpcSpyApp(App[int]):
    """Browse the calls of a capture file or of live traffic."""

    #: Absolute, so that subclasses defined elsewhere (``rpcspy.live``) find it too.
    CSS_PATH = Path(__file__).with_name("rpcspy.tcss")
    TITLE = "rpcspy"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("n", "new_call", "New call", show=False),
    ]

    def __init__(
        self,
        *,
        capture: Path | None = None,
        follow: bool = False,
        records: AsyncIterable[CallRecord] | None = None,
        store: CaptureIndex | None = None,
        tz: dt.tzinfo | None = None,
        initial_filter: str = "",
        replay_target: str | None = None,
        title: str | None = None,
        save_dir: Path | None = None,
        api: Api | None = None,
        api_label: str | None = None,
        opening: CaptureOpening | None = None,
    ) -> None:
        """``opening``: the capture already being opened (``rpcspy tui`` starts that before it
        imports Textual); by default the app opens ``capture`` itself."""
        super().__init__()
        if store is None:
            store = opening.store if opening is not None else CaptureIndex()
        self.store = store
        self.tz = tz
        self.capture = capture
        self.follow = follow
        self.records = records
        self.replay_target = replay_target
        self.save_dir = save_dir or Path.cwd()
        self._initial_filter = initial_filter
        #: An API description given with ``--api`` (merged first in the API pane), its name.
        self.api = api
        self.api_label = api_label
        #: The API learned from the calls, kept between openings of the pane.
        self.api_learner: ApiLearner | None = None
        self.indexer: IndexBuilder | None = None
        self._open_error: str | None = None
        self._rows_pending = threading.Event()
        self._loading_text = ""
        self._live_text = ""
        self._reported_problems = 0
        self._frozen = False
        self._started = False
        #: The capture's index being opened in a thread (taken by ``get_default_screen``).
        self._opening: CaptureOpening | None = None
        if capture is not None:
            if opening is None:
                opening = CaptureOpening(capture, self.store, follow=follow)
            self._opening = opening
            self.loading_text = "reading…"
        if title:
            self.title = title
        elif capture is not None:
            self.title = f"rpcspy — {capture.name}"
        if records is not None:
            self.live_text = "live"

    # ------------------------------------------------------------ screens

    def get_default_screen(self) -> Screen[Any]:
        # The screen reads the store from its mount on: the index must be open by then.
        self._take_opening()
        return CallsScreen(self.store, initial_filter=self._initial_filter, tz=self.tz)

    def _take_opening(self) -> None:
        """Wait for the capture's index to be opened (begun when the app was made)."""
        opening, self._opening = self._opening, None
        if opening is not None:
            self.indexer, self._open_error = opening.result()

    def on_load(self) -> None:
        # No garbage collection until the first page is painted (see rpcspy.tui.startup).
        hold_gc()

    @property
    def calls_screen(self) -> CallsScreen:
        """The main screen (always at the bottom of the stack)."""
        screen = self.screen_stack[0]
        assert isinstance(screen, CallsScreen)
        return screen

    @property
    def loading_text(self) -> str:
        """What reading the capture is doing (``reading… 1,000``, ``following``), or empty."""
        return self._loading_text

    @loading_text.setter
    def loading_text(self, text: str) -> None:
        self._loading_text = text
        self._show_source_state()

    @property
    def live_text(self) -> str:
        """What the live source is doing (``live: URL``, ``proxy failed``), or empty."""
        return self._live_text

    @live_text.setter
    def live_text(self, text: str) -> None:
        self._live_text = text
        self._show_source_state()

    def _show_source_state(self) -> None:
        if self.is_running and self.screen_stack and not self._exit:
            self.calls_screen.show_source_state(self._loading_text, self._live_text)

    def on_calls_screen_ready(self, _message: CallsScreen.Ready) -> None:
        self.calls_screen.show_source_state(self._loading_text, self._live_text)
        self.start_sources()
        # The collector comes back once the first page is painted, or in a second anyway (an
        # empty capture, live traffic that has not come yet).
        self.set_timer(1.0, release_gc)

    def on_calls_screen_first_page(self, _message: CallsScreen.FirstPage) -> None:
        self.first_page_ready()

    def start_sources(self) -> None:
        """Start reading the capture and the live source (once, when the main screen is up)."""
        if self._started:
            return
        self._started = True
        if self._open_error is not None:
            self.call_after_refresh(self._index_failed, self._open_error)
        if self.indexer is not None:
            self.run_worker(self._index, thread=True, group="index", exit_on_error=False)
        if self.records is not None:
            self.run_worker(self._consume(self.records), group="live", exit_on_error=False)

    def first_page_ready(self) -> None:
        """The list shows calls: once that is painted, let the indexer take its full speed."""
        if self.indexer is None or not self.indexer.first_page_shown.is_set():
            self.call_after_refresh(self._first_page_shown)

    async def on_unmount(self) -> None:
        release_gc()
        self._take_opening()
        if self.indexer is not None:
            self.indexer.first_page_shown.set()
            self.indexer.close()

    # ------------------------------------------------------------ sources

    def _index(self) -> None:
        assert self.indexer is not None
        try:
            self.indexer.run(on_batch=self._post_rows)
        except Exception as exc:
            self.call_from_thread(self._index_failed, str(exc))

    def _post_rows(self, count: int) -> None:
        # Coalesce: one message in flight is enough, the handler reads the current count.
        if not self._rows_pending.is_set():
            self._rows_pending.set()
            self.post_message(RowsAdded())

    def on_rows_added(self, _message: RowsAdded) -> None:
        self._rows_pending.clear()
        if self._exit or not self.screen_stack:
            return  # shutting down: the widgets may already be gone
        indexer = self.indexer
        if indexer is not None:
            if indexer.done:
                self.loading_text = "following" if self.follow else ""
            else:
                self.loading_text = f"reading… {self.store.count:,}"
        self._report_problems()
        show_new_problems = getattr(self.screen, "show_new_problems", None)
        if show_new_problems is not None:  # the problems screen is open
            show_new_problems()
        try:
            self.calls_screen.show_new_rows()
        except NoMatches:
            return  # the screen is being torn down
        if indexer is not None and indexer.done and not self._frozen:
            self._frozen = True
            self.call_after_refresh(self._freeze_heap)

    def _freeze_heap(self) -> None:
        # The app's own objects live as long as it does: keep the collector off them, so a
        # filter's garbage does not pause the UI to scan them all again. (After a paint: the
        # first screen does not wait for it.)
        gc.collect()
        gc.freeze()

    def _first_page_shown(self) -> None:
        release_gc(freeze=True)
        if self.indexer is not None:
            self.indexer.first_page_shown.set()

    def _report_problems(self) -> None:
        problems = self.store.problems
        if len(problems) > self._reported_problems:
            new = problems[self._reported_problems :]
            self._reported_problems = len(problems)
            first = new[0].message
            more = f" (and {len(new) - 1} more)" if len(new) > 1 else ""
            self.notify(
                f"{first}{more}; the good records are shown (p lists the problems)",
                title="capture problem",
                severity="warning",
                timeout=8,
            )

    def _index_failed(self, message: str) -> None:
        self.loading_text = "unreadable"
        self.notify(message, title="cannot read the capture", severity="error", timeout=30)

    async def _consume(self, records: AsyncIterable[CallRecord]) -> None:
        async for record in records:
            self.add_record(record)
        self.live_text = "live source ended"

    def add_record(self, record: CallRecord) -> int:
        """Add a record (live traffic, a resent call) and show it if it passes the filter.

        Call it on the app's thread; from another thread use ``call_from_thread``.
        """
        row = self.store.add_record(record)
        if self.is_running and self.screen_stack:
            self.calls_screen.show_new_rows()
        return row

    # ------------------------------------------------------------ what the screens ask for

    def on_show_call(self, message: messages.ShowCall) -> None:
        from rpcspy.tui.screens.detail import DetailScreen

        self.push_screen(DetailScreen(self.store, message.row, message.sub, tz=self.tz))

    def on_show_stats(self, message: messages.ShowStats) -> None:
        from rpcspy.tui.screens.stats import StatsScreen

        self.push_screen(StatsScreen(self.store, message.rows, message.filter_text))

    def on_show_problems(self, _message: messages.ShowProblems) -> None:
        from rpcspy.tui.screens.problems import ProblemsScreen

        self.push_screen(ProblemsScreen(self.store.problems))

    def on_show_help(self, _message: messages.ShowHelp) -> None:
        from rpcspy.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def on_show_api(self, _message: messages.ShowApi) -> None:
        from rpcspy.tui.apiview import ApiLearner
        from rpcspy.tui.screens.api import ApiScreen

        if self.api_learner is None:
            self.api_learner = ApiLearner(self.store)
        self.push_screen(ApiScreen(self.api_learner, self.api, self.api_label))

    def on_compose_call(self, message: messages.ComposeCall) -> None:
        from rpcspy.tui.screens.edit import EditScreen

        self.push_screen(
            EditScreen(self.store, None, target=self.new_call_target(), call=message.call)
        )

    def on_apply_filter(self, message: messages.ApplyFilter) -> None:
        if self.screen is not self.calls_screen:
            self.pop_screen()
        self.calls_screen.set_filter(message.text)

    def on_copy_call(self, message: messages.CopyCall) -> None:
        self.copy_snippet(message.record, message.kind)

    def on_save_call(self, message: messages.SaveCall) -> None:
        self.save_snippet(message.record, message.kind)

    def on_save_calls(self, message: messages.SaveCalls) -> None:
        self.save_rows(message.rows)

    def on_replay_calls(self, message: messages.ReplayCalls) -> None:
        self.open_replay(message.rows)

    def on_edit_call(self, message: messages.EditCall) -> None:
        self.open_editor(message.row)

    def on_edit_screen_sent(self, message: EditScreen.Sent) -> None:
        row = self.add_resent(message.record)
        message.editor.show_sent(self.store.record(row))

    # ------------------------------------------------------------ snippets and saving

    def copy_snippet(self, record: CallRecord, kind: str) -> None:
        """Copy a call as ``curl`` or ``python`` to the clipboard."""
        from rpcspy.export.script import to_curl, to_python

        try:
            text = to_curl(record) if kind == "curl" else to_python(record)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        self.copy_honestly(
            text,
            f"call #{record.seq} as {'curl' if kind == 'curl' else 'Python'}",
            f"rpcspy-call-{record.seq}{'.sh' if kind == 'curl' else '.py'}",
        )

    def clipboard_blocker(self) -> str | None:
        """Why an OSC 52 copy cannot reach a clipboard here, None when it may."""
        from rpcspy.tui.clipboard import osc52_blocker

        return osc52_blocker(headless=self.is_headless)

    def copy_honestly(self, text: str, what: str, name: str) -> None:
        """Send ``text`` to the terminal's clipboard (OSC 52, unconfirmable) and save it as the
        file ``name``; the notification says which of the two surely happened."""
        from rpcspy.tui.clipboard import save_copy

        self.copy_to_clipboard(text)  # also the app's own clipboard (paste into an input)
        failure = ""
        try:
            saved: str | None = str(save_copy(text, name))
        except OSError as exc:
            saved = None
            failure = exc.strerror or str(exc)
        blocker = self.clipboard_blocker()
        if blocker is None:
            tail = (
                f"; if your terminal doesn't support it, it is saved in {saved}"
                if saved
                else f" (not saved to a file: {failure})"
            )
            self.notify(f"{what}: sent to the terminal's clipboard (OSC 52){tail}", timeout=8)
        elif saved:
            self.notify(
                f"{what} saved in {saved} (not copied to the clipboard: {blocker})",
                severity="warning",
                timeout=12,
            )
        else:
            self.notify(f"{what} not copied: {blocker}, and not saved: {failure}", severity="error")

    def save_snippet(self, record: CallRecord, kind: str) -> None:
        """Ask for a file name and save the call as a curl script or a Python script."""
        from rpcspy.export.script import to_curl, to_python, write_snippet
        from rpcspy.tui.screens.prompt import PathPrompt

        try:
            text = to_curl(record) if kind == "curl" else to_python(record)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        suffix = ".sh" if kind == "curl" else ".py"
        default = self.save_dir / f"rpcspy-call-{record.seq}{suffix}"

        def done(path: Path | None) -> None:
            if path is None:
                return
            try:
                write_snippet(path, text)  # 0600: run it with sh or python
            except OSError as exc:
                self.notify(f"cannot write {path}: {exc.strerror or exc}", severity="error")
                return
            self.notify(f"saved {path}")

        self.push_screen(PathPrompt(f"Save call #{record.seq} as {kind}", default), done)

    def save_rows(self, rows: array[int]) -> None:
        """Ask for a file name and save these rows as a new capture."""
        from rpcspy.tui.screens.prompt import PathPrompt

        if not rows:
            self.notify("no calls shown: nothing to save", severity="warning")
            return
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        default = self.save_dir / f"rpcspy-{stamp}.jsonl"

        def done(path: Path | None) -> None:
            if path is not None:
                self.notify(f"saving {len(rows):,} calls to {path}…")
                self.run_worker(
                    lambda: self._write_capture(path, rows),
                    thread=True,
                    group="save",
                    exit_on_error=False,
                )

        self.push_screen(PathPrompt(f"Save {len(rows):,} shown calls as a capture", default), done)

    def _write_capture(self, path: Path, rows: array[int]) -> None:
        try:
            write_rows(self.store, rows, path)
        except OSError as exc:
            self.call_from_thread(
                self.notify, f"cannot write {path}: {exc.strerror or exc}", severity="error"
            )
            return
        self.call_from_thread(self.notify, f"saved {len(rows):,} calls to {path}")

    # ------------------------------------------------------------ replay and resend

    def open_replay(self, rows: list[int]) -> None:
        """Replay these rows against a target (asks for it first)."""
        from rpcspy.tui.screens.replay import ReplayScreen

        if not rows:
            self.notify("no calls to replay", severity="warning")
            return
        self.push_screen(ReplayScreen(self.store, rows, target=self.replay_target))

    def open_editor(self, row: int) -> None:
        """Edit the call of ``row`` and resend it."""
        from rpcspy.tui.screens.edit import EditScreen

        record = self.store.record(row)
        if record.protocol != "xmlrpc":
            self.notify(f"call #{record.seq} is {record.protocol}: the editor sends XML-RPC calls")
            return
        if record.call is None:
            self.notify(
                "the request was not decoded, so there is nothing to edit", severity="error"
            )
            return
        self.push_screen(EditScreen(self.store, record, target=self.replay_target))

    def action_new_call(self) -> None:
        """Compose a new call in the editor (``n``), aimed at the session's server."""
        from textual.screen import ModalScreen

        from rpcspy.tui.screens.edit import EditScreen

        if isinstance(self.screen, ModalScreen | EditScreen):
            return
        self.push_screen(EditScreen(self.store, None, target=self.new_call_target()))

    def new_call_target(self) -> str | None:
        """Where a new call goes: the session's target, else the selected call's server."""
        from rpcspy.tui.screens.replay import default_target

        target = self.replay_target
        if target is None and self.store.count:
            current = self.calls_screen.call_list.current
            target = default_target(self.store.record(current[0] if current else 0))
        return target

    def on_target_chosen(self, message: TargetChosen) -> None:
        """A server the user sent to stays the target of replays and edits for the session."""
        self.replay_target = message.url

    def add_resent(self, record: CallRecord) -> int:
        """Add a record sent from the editor, marked ``origin="resent"``."""
        store = self.store
        seq = (max(store.seq) + 1) if store.count else 1
        return self.add_record(dataclasses.replace(record, origin="resent", seq=seq))

    # ------------------------------------------------------------ command palette

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        calls = self.calls_screen
        yield SystemCommand(
            "Filter: faults", "Show only calls that faulted", lambda: calls.set_filter("fault")
        )
        yield SystemCommand(
            "Filter: problems",
            "Show calls with decode problems or errors",
            lambda: calls.set_filter("problem"),
        )
        yield SystemCommand(
            "Filter: slow calls", "Calls over 200 ms", lambda: calls.set_filter("latency>200ms")
        )
        yield SystemCommand(
            "Filter: multicalls",
            "Only system.multicall calls",
            lambda: calls.set_filter("multicall"),
        )
        yield SystemCommand(
            "Filter: resent",
            "Calls resent from the editor",
            lambda: calls.set_filter("origin:resent"),
        )
        yield SystemCommand("Filter: clear", "Show every call", lambda: calls.set_filter(""))
        for key in SORT_KEYS:
            yield SystemCommand(
                f"Sort by {key}", f"Order the list by {key}", lambda k=key: calls.sort_by(k)
            )
        yield SystemCommand(
            "Reverse sort", "Reverse the order of the list", calls.action_reverse_sort
        )
        yield SystemCommand("Stats", "Count, fault rate and latency per method", calls.action_stats)
        yield SystemCommand(
            "Problems",
            "The capture's lines skipped as not a call, in the reader's words",
            calls.action_problems,
        )
        yield SystemCommand(
            "API", "Methods, signatures and fault rates learned from the calls", calls.action_api
        )
        yield SystemCommand(
            "Save shown calls", "Write the shown calls to a new capture file", calls.action_save
        )
        yield SystemCommand(
            "Replay selected call",
            "Send the selected call to a server and compare",
            calls.action_replay,
        )
        yield SystemCommand(
            "Replay shown calls",
            "Send every shown call to a server and compare",
            calls.action_replay_all,
        )
        yield SystemCommand(
            "Edit and resend",
            "Edit the selected call's method and params, send it",
            calls.action_edit,
        )
        yield SystemCommand(
            "New call", "Compose a call from nothing and send it", self.action_new_call
        )
        yield SystemCommand(
            "Copy as curl", "Copy the selected call as a curl command", calls.action_copy_curl
        )
        yield SystemCommand(
            "Copy as Python",
            "Copy the selected call as an xmlrpc.client snippet",
            calls.action_copy_python,
        )
        yield SystemCommand(
            "Toggle follow", "Keep the cursor on the newest call", calls.action_toggle_follow
        )
        yield SystemCommand("Help", "Keys and the filter language", calls.action_help)


def write_rows(store: CaptureIndex, rows: Iterable[int], path: Path) -> int:
    """Write ``rows`` as a capture file (``.gz`` compresses); returns how many were written."""
    from rpcspy.capture.index import write_rows as write_index_rows

    return write_index_rows(store, rows, path)


def make_live_app(
    records: AsyncIterable[CallRecord] | None = None,
    *,
    title: str = "rpcspy — live",
    replay_target: str | None = None,
    initial_filter: str = "",
) -> RpcSpyApp:
    """An app that shows records as they arrive (from ``records`` or from ``app.add_record``)."""
    return RpcSpyApp(
        records=records, title=title, replay_target=replay_target, initial_filter=initial_filter
    )
