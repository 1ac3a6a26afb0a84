"""The main screen: filter bar, call list, status bar."""

from __future__ import annotations

import datetime as dt
import time
from array import array
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text as RichText
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import get_current_worker

from rpcspy.capture._columns import row_range
from rpcspy.capture.index import CaptureIndex
from rpcspy.tui import messages
from rpcspy.tui.widgets.call_list import CallList, CallListHeader
from rpcspy.tui.widgets.filter_bar import FilterBar
from rpcspy.tui.widgets.key_bar import KeyBar
from rpcspy.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    # (imported when first needed: the empty filter shows every row without the engine, so the
    # first screen does not wait for the filter language to load)
    from rpcspy.filter import Filter

__all__ = ["SORT_KEYS", "CallsScreen"]

#: Sort keys in the order ``o`` cycles through them.
SORT_KEYS: tuple[str, ...] = ("seq", "time", "method", "duration", "size", "status", "client")
#: Footer entries left out on a narrow terminal, first to go first (``? Help`` and ``q Quit``
#: stay: at 80 columns the footer reads ``⏎ Open / Filter s Stats r Replay ? Help q Quit``).
FOOTER_DROP = (
    "save",
    "cycle_sort",
    "api",
    "edit",
    "command_palette",
    "stats",
    "replay",
    "focus_filter",
)
#: Rows below which a tail of new rows is filtered on the UI thread (column tests only).
_SYNC_TAIL = 20_000
#: When an empty list is to show every row in arrival order (a big capture opened with its index
#: cached), it shows this many at once and the rest once they are painted.
_FIRST_PAGE = 1_000


def _is_cheap(flt: Filter) -> bool:
    """True when the filter needs only columns (no text or param-path test)."""
    from rpcspy.filter.ast import PathTest, Text

    stack = [flt.tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Text | PathTest):
            return False
        for name in ("left", "right", "operand"):
            child = getattr(node, name, None)
            if child is not None:
                stack.append(child)
    return True


class FilterProgress(Message):
    """How far a filter worker got (posted from its thread)."""

    def __init__(self, generation: int, text: str) -> None:
        super().__init__()
        self.generation = generation
        self.text = text


class FilterDone(Message):
    """A filter worker's result (posted from its thread)."""

    def __init__(self, generation: int, rows: array[int], upto: int) -> None:
        super().__init__()
        self.generation = generation
        self.rows = rows
        self.upto = upto


class StatusBar(Static):
    """Counts: calls, faults, problems, shown/total, sort, and what is going on."""


class CallsScreen(Screen[None]):
    """Every call, filtered and sorted; Enter opens one.

    What it cannot do itself it asks the app for with a message (``rpcspy.tui.messages``); the
    app calls down ``show_new_rows``, ``show_source_state``, ``set_filter`` and ``sort_by``.
    """

    class Ready(Message):
        """The screen is up: the app may start reading (not sooner: the first screen is quick)."""

    class FirstPage(Message):
        """The list shows its first calls (posted once): the indexer may take its full speed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash,f", "focus_filter", "Filter"),
        Binding("escape", "escape", "Back to list", show=False),
        Binding("s", "stats", "Stats"),
        Binding("a", "api", "API"),
        Binding("r", "replay", "Replay"),
        Binding("R", "replay_all", "Replay shown", show=False),
        Binding("e", "edit", "Edit+send"),
        Binding("w", "save", "Save shown"),
        Binding("o", "cycle_sort", "Sort"),
        Binding("O", "reverse_sort", "Reverse sort", show=False),
        Binding("c", "copy_curl", "Copy curl", show=False),
        Binding("y", "copy_python", "Copy Python", show=False),
        Binding("F", "toggle_follow", "Follow tail", show=False),
        Binding("p", "problems", "Problems", show=False),
        Binding("question_mark,f1", "help", "Help"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(
        self, store: CaptureIndex, *, initial_filter: str = "", tz: dt.tzinfo | None = None
    ) -> None:
        super().__init__(id="calls")
        self.store = store
        self.tz = tz
        #: The filter applied; None for an empty one not parsed yet (see ``filter``).
        self._filter: Filter | None = None
        if initial_filter.strip():
            from rpcspy.filter import parse_filter

            self._filter = parse_filter(initial_filter)
        self._initial_filter = initial_filter
        self.sort_key = "seq"
        self.sort_reverse = False
        self._generation = 0
        self._filtered_upto = 0
        self._full_running = False
        self._tail_running = False
        self._merge_timer_set = False
        self._progress = ""
        self._loading_text = ""
        self._live_text = ""
        self._first_page_posted = False
        #: Every row is to be shown and only a first page is (see ``refilter``).
        self._rest_pending = False
        # Rows may be indexed before the screen is composed; on_mount then filters them all.
        self._ready = False

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield FilterBar(
            lambda: self.store.methods.names,
            lambda: self.store.clients.names,
            value=self._initial_filter,
            id="filter-bar",
        )
        yield CallListHeader(id="list-header")
        yield CallList(self.store, tz=self.tz, id="call-list")
        yield StatusBar("", id="status")
        yield KeyBar(drop=FOOTER_DROP)

    @property
    def call_list(self) -> CallList:
        """The list widget."""
        return self.query_one(CallList)

    def on_unmount(self) -> None:
        self._ready = False

    def on_mount(self) -> None:
        self._ready = True
        self.call_list.focus()
        self.refilter()
        # Only now start reading: the indexer then does not slow the first screen down.
        self.post_message(self.Ready())

    @property
    def filter(self) -> Filter:
        """The filter applied (the empty one at first)."""
        if self._filter is None:
            from rpcspy.filter import parse_filter

            self._filter = parse_filter(self._initial_filter)
        return self._filter

    @filter.setter
    def filter(self, flt: Filter) -> None:
        self._filter = flt

    def _every_row(self) -> bool:
        """Does every row pass the filter?"""
        return self._filter is None or self._filter.is_empty

    def _column_only(self) -> bool:
        """Does the filter need only columns (no text or param-path test)?"""
        return self._filter is None or _is_cheap(self._filter)

    def _passing(self, a: int, b: int) -> array[int]:
        """The rows in ``[a, b)`` that pass the filter, on this thread."""
        if self._filter is None:  # the empty filter, not even parsed: every row passes
            return row_range(a, min(b, self.store.count))
        from rpcspy.filter import filter_rows

        return filter_rows(self.store, self._filter, a, b)

    def _first_page_shown(self) -> None:
        if not self._first_page_posted:
            self._first_page_posted = True
            self.post_message(self.FirstPage())

    # ------------------------------------------------------------ filtering

    def refilter(self) -> None:
        """Filter (and sort) every row again, in a worker; the list keeps its place meanwhile."""
        self._generation += 1
        self._rest_pending = False
        upto = self.store.count
        if (
            upto > _FIRST_PAGE
            and not self.call_list.shown
            and self.in_row_order
            and self._every_row()
        ):
            # Nothing shown yet, and every row to show in order: a first page now, the rest
            # (``show_new_rows``) once it is painted.
            self._full_running = True
            self._rest_pending = True
            rows = self._passing(0, _FIRST_PAGE)
            self._apply_all(self._generation, rows, _FIRST_PAGE, catch_up=False)
            self.call_after_refresh(self.show_new_rows)
            return
        if upto <= _SYNC_TAIL and self._column_only():
            # Small or column-only work: no need for a thread.
            self._full_running = True
            rows = self._sorted(self._passing(0, upto), self.sort_key, self.sort_reverse)
            self._apply_all(self._generation, rows, upto)
            return
        self._full_running = True
        self._progress = "filtering…"
        self.update_status()
        self._filter_all(self._generation, self.filter, upto, self.sort_key, self.sort_reverse)

    @work(thread=True, exclusive=True, group="filter", exit_on_error=False)
    def _filter_all(self, generation: int, flt: Filter, upto: int, key: str, reverse: bool) -> None:
        from rpcspy.filter import Cancelled, filter_rows  # (imported by ``flt``'s parsing)

        worker = get_current_worker()

        def cancelled() -> bool:
            return worker.is_cancelled or generation != self._generation

        last = [0.0]

        def progress(done: int) -> None:
            now = time.monotonic()
            if now - last[0] > 0.2 and upto:
                last[0] = now
                # post_message does not wait for the UI (call_from_thread would).
                self.post_message(FilterProgress(generation, f"filtering… {100 * done // upto}%"))

        try:
            rows = filter_rows(self.store, flt, 0, upto, cancelled=cancelled, progress=progress)
            rows = self._sorted(rows, key, reverse)
        except Cancelled:
            return
        if not cancelled():
            self.post_message(FilterDone(generation, rows, upto))

    def on_filter_progress(self, message: FilterProgress) -> None:
        self._set_progress(message.generation, message.text)

    def on_filter_done(self, message: FilterDone) -> None:
        self._apply_all(message.generation, message.rows, message.upto)

    def _sorted(self, rows: array[int], key: str, reverse: bool) -> array[int]:
        if key == "seq":
            if reverse:
                rows.reverse()
            return rows
        return self.store.sort_rows(rows, key, reverse=reverse)

    @property
    def in_row_order(self) -> bool:
        """Is the list in arrival order (so new rows just go at the end)?"""
        return self.sort_key == "seq" and not self.sort_reverse

    def _set_progress(self, generation: int, text: str) -> None:
        if generation == self._generation:
            self._progress = text
            self.update_status()

    def _apply_all(
        self, generation: int, rows: array[int], upto: int, *, catch_up: bool = True
    ) -> None:
        if generation != self._generation:
            return
        self._full_running = False
        self._filtered_upto = upto
        self._progress = ""
        self.call_list.set_rows(rows, in_row_order=self.in_row_order)
        if rows:
            self._first_page_shown()
        header = self.query_one(CallListHeader)
        header.sort_key, header.sort_reverse = self.sort_key, self.sort_reverse
        self.update_status()
        if catch_up:
            self.show_new_rows()

    def show_new_rows(self) -> None:
        """New rows were indexed or arrived live: filter just them and add them to the list."""
        if not self._ready:
            return
        self._rest_pending = False
        if self._full_running or self._tail_running:
            self.update_status()
            return
        a, b = self._filtered_upto, self.store.count
        if a >= b:
            self.update_status()
            return
        if not self.in_row_order:
            # Merging into a sorted million-row list costs a sort: at most once a second.
            if not self._merge_timer_set:
                self._merge_timer_set = True
                self.set_timer(1.0, self._merge_sorted)
            self.update_status()
            return
        if self._every_row() or (b - a <= _SYNC_TAIL and self._column_only()):
            rows = self._passing(a, b)
            self._filtered_upto = b
            self.call_list.append_rows(rows)
            if rows:
                self._first_page_shown()
            self.update_status()
            return
        self._tail_running = True
        self._filter_tail(self._generation, self.filter, a, b)

    def _merge_sorted(self) -> None:
        self._merge_timer_set = False
        if not self._full_running:
            self.refilter()

    @work(thread=True, group="tail", exit_on_error=False)
    def _filter_tail(self, generation: int, flt: Filter, a: int, b: int) -> None:
        from rpcspy.filter import Cancelled, filter_rows  # (imported by ``flt``'s parsing)

        try:
            rows = filter_rows(
                self.store, flt, a, b, cancelled=lambda: generation != self._generation
            )
        except Cancelled:
            rows = None
        self.app.call_from_thread(self._apply_tail, generation, rows, b)

    def _apply_tail(self, generation: int, rows: array[int] | None, b: int) -> None:
        self._tail_running = False
        if generation == self._generation and rows is not None:
            self._filtered_upto = b
            self.call_list.append_rows(rows)
        self.show_new_rows()

    def on_filter_bar_changed(self, event: FilterBar.Changed) -> None:
        if event.filter.text != self.filter.text or event.submitted:
            changed = event.filter.tree != self.filter.tree
            self.filter = event.filter
            if changed:
                self.refilter()
        if event.submitted:
            self.call_list.focus()

    def set_filter(self, text: str) -> None:
        """Type ``text`` into the filter bar (and apply it)."""
        self.query_one(FilterBar).set_value(text)

    # ------------------------------------------------------------ status

    def show_source_state(self, loading: str, live: str) -> None:
        """What reading the capture and the live source are doing, for the status bar."""
        self._loading_text, self._live_text = loading, live
        self.update_status()

    def update_status(self) -> None:
        """Redraw the counts in the status bar."""
        if not self._ready:
            return
        store = self.store
        shown = store.count if self._rest_pending else len(self.call_list.shown)
        parts: list[tuple[str, str]] = [
            (_count(store.count, "call"), ""),
            (_count(store.faults, "fault"), "bold" if store.faults else ""),
            (_count(store.bad, "problem"), "bold" if store.bad else ""),
            (f"shown {shown:,}/{store.count:,}", ""),
        ]
        if self.sort_key != "seq" or self.sort_reverse:
            parts.append((f"sort {self.sort_key} {'▼' if self.sort_reverse else '▲'}", ""))
        if store.problems:
            n = len(store.problems)
            parts.append((f" {n} bad line{'s' if n != 1 else ''} skipped (p: list) ", "reverse"))
        if self._progress:
            parts.append((self._progress, "italic"))
        elif self._loading_text:
            parts.append((self._loading_text, "italic"))
        if self._live_text:
            parts.append((self._live_text, "bold"))
        text = RichText(no_wrap=True, overflow="ellipsis")
        for i, (part, style) in enumerate(parts):
            if i:
                text.append(" · ")
            text.append(part, style)
        self.query_one(StatusBar).update(text)

    # ------------------------------------------------------------ list events

    def on_call_list_selected(self, event: CallList.Selected) -> None:
        self.post_message(messages.ShowCall(event.row, event.sub))

    def on_call_list_header_sort_requested(self, event: CallListHeader.SortRequested) -> None:
        if event.key == self.sort_key:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_key, self.sort_reverse = event.key, False
        self.refilter()

    # ------------------------------------------------------------ actions

    def action_focus_filter(self) -> None:
        self.query_one(FilterBar).input.focus()

    def action_escape(self) -> None:
        if self.focused is not self.call_list:
            self.call_list.focus()
        elif self.filter.text:
            self.set_filter("")

    def action_cycle_sort(self) -> None:
        i = SORT_KEYS.index(self.sort_key) if self.sort_key in SORT_KEYS else 0
        self.sort_by(SORT_KEYS[(i + 1) % len(SORT_KEYS)], self.sort_reverse)

    def action_reverse_sort(self) -> None:
        self.sort_by(self.sort_key, not self.sort_reverse)

    def sort_by(self, key: str, reverse: bool = False) -> None:
        """Sort the list by a column."""
        self.sort_key, self.sort_reverse = key, reverse
        self.refilter()

    def action_toggle_follow(self) -> None:
        cl = self.call_list
        cl.follow_tail = not cl.follow_tail
        self.notify("following new calls" if cl.follow_tail else "not following new calls")

    def _selected(self) -> tuple[int, int | None] | None:
        current = self.call_list.current
        if current is None:
            self.notify("no call selected", severity="warning")
        return current

    def action_stats(self) -> None:
        self.post_message(messages.ShowStats(array("i", self.call_list.shown), self.filter.text))

    def action_help(self) -> None:
        self.post_message(messages.ShowHelp())

    def action_problems(self) -> None:
        self.post_message(messages.ShowProblems())

    def action_api(self) -> None:
        self.post_message(messages.ShowApi())

    def action_copy_curl(self) -> None:
        current = self._selected()
        if current is not None:
            self.post_message(messages.CopyCall(self.store.record(current[0]), "curl"))

    def action_copy_python(self) -> None:
        current = self._selected()
        if current is not None:
            self.post_message(messages.CopyCall(self.store.record(current[0]), "python"))

    def action_save(self) -> None:
        self.post_message(messages.SaveCalls(array("i", self.call_list.shown)))

    def action_replay(self) -> None:
        current = self._selected()
        if current is not None:
            self.post_message(messages.ReplayCalls([current[0]]))

    def action_replay_all(self) -> None:
        self.post_message(messages.ReplayCalls(list(self.call_list.shown)))

    def action_edit(self) -> None:
        current = self._selected()
        if current is not None:
            self.post_message(messages.EditCall(current[0]))


def _count(n: int, noun: str) -> str:
    """``1 call``, ``2 calls``, ``1,000 calls``."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"
