"""The call list: a virtual list that renders only the rows on screen.

It holds the shown rows as an ``array`` of store row numbers (a million rows cost 4 MB) and draws
each visible line on demand with the Line API, so the widget costs the same for ten calls or a
million. Multicall rows expand in place into their sub-calls.
"""

from __future__ import annotations

import bisect
import datetime as dt
from array import array
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from rpcspy.capture.index import F_MULTICALL, F_NONCONFORMANT, CaptureIndex
from rpcspy.tui.format import (
    MARKER,
    format_clock,
    format_duration,
    format_size,
    layout_columns,
    outcome,
    short_params,
    sub_outcome,
)
from rpcspy.xmlrpc.messages import MethodResponse
from rpcspy.xmlrpc.render import format_response, format_short

__all__ = ["CallList", "CallListHeader"]

_KIND_CLASS = {
    "ok": "call-list--ok",
    "subfault": "call-list--fault",
    "fault": "call-list--fault",
    "problem": "call-list--problem",
    "error": "call-list--problem",
    "pending": "call-list--dim",
}


class CallListHeader(Static):
    """Column titles above the call list; click one to sort by it."""

    class SortRequested(Message):
        """The user clicked a column title."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    sort_key: reactive[str] = reactive("seq")
    sort_reverse: reactive[bool] = reactive(False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._layout_width = 0

    def _titles(self, width: int) -> Text:
        text = Text(" " * MARKER, no_wrap=True, overflow="crop")
        for col, _x, w in layout_columns(width):
            title = col.title
            if col.key == self.sort_key:
                title += " ▼" if self.sort_reverse else " ▲"
            cell = title.rjust(w) if col.align == "right" else title.ljust(w)
            text.append(cell[:w] + " ")
        return text

    def render(self) -> Text:
        self._layout_width = self.size.width
        return self._titles(self.size.width)

    def watch_sort_key(self) -> None:
        self.refresh()

    def watch_sort_reverse(self) -> None:
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        for col, x, w in layout_columns(self.size.width):
            if x <= event.x < x + w + 1 and col.sortable:
                self.post_message(self.SortRequested(col.key))
                return


class CallList(ScrollView, can_focus=True):
    """Every shown call, one line each; expanded multicalls add a line per sub-call."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
        Binding("enter", "select", "Open", show=True),
        Binding("space,right,l", "expand", "Expand", show=False),
        Binding("left,h", "collapse", "Collapse", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "call-list--cursor",
        "call-list--cursor-blurred",
        "call-list--ok",
        "call-list--fault",
        "call-list--problem",
        "call-list--dim",
        "call-list--sub",
        "call-list--origin",
        "call-list--finding-warning",
        "call-list--finding-error",
    }

    DEFAULT_CSS = """
    CallList { height: 1fr; }
    """

    class Highlighted(Message):
        """The cursor moved to a row (``sub`` is the sub-call index on a sub-call line)."""

        def __init__(self, row: int | None, sub: int | None) -> None:
            super().__init__()
            self.row = row
            self.sub = sub

    class Selected(Message):
        """Enter or a double click on a row."""

        def __init__(self, row: int, sub: int | None) -> None:
            super().__init__()
            self.row = row
            self.sub = sub

    cursor: reactive[int] = reactive(0, always_update=True)

    def __init__(
        self,
        store: CaptureIndex,
        *,
        tz: dt.tzinfo | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.store = store
        self.tz = tz
        self.shown: array[int] = array("i")
        #: Store rows that are expanded, with their number of sub-calls.
        self.expanded: dict[int, int] = {}
        self._exp_pos: list[int] = []  # positions in ``shown`` of expanded rows, sorted
        self._exp_before: list[int] = []  # extra lines before each of them
        self._extra = 0
        self._lines: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._style_generation = 0
        #: Row order of ``shown`` is store row order (no sort), so bisect finds positions.
        self.in_row_order = True

    # ------------------------------------------------------------ model

    @property
    def line_count(self) -> int:
        """Lines in the list: shown calls plus sub-call lines of expanded multicalls."""
        return len(self.shown) + self._extra

    def _reindex_expansions(self) -> None:
        if not self.expanded:
            self._exp_pos, self._exp_before, self._extra = [], [], 0
            return
        positions = []
        wanted = self.expanded
        if self.in_row_order:
            for row in wanted:
                p = bisect.bisect_left(self.shown, row)
                if p < len(self.shown) and self.shown[p] == row:
                    positions.append(p)
        else:
            positions = [p for p, r in enumerate(self.shown) if r in wanted]
        positions.sort()
        self.expanded = {self.shown[p]: wanted[self.shown[p]] for p in positions}
        before, total = [], 0
        for p in positions:
            before.append(total)
            total += self.expanded[self.shown[p]]
        self._exp_pos, self._exp_before, self._extra = positions, before, total

    def locate(self, line: int) -> tuple[int, int | None]:
        """The store row and sub-call index (None for the call line) drawn at ``line``."""
        if not self._exp_pos:
            return self.shown[line], None
        lo, hi = 0, len(self._exp_pos)
        while lo < hi:  # last expanded entry whose call line is at or before ``line``
            mid = (lo + hi) // 2
            if self._exp_pos[mid] + self._exp_before[mid] <= line:
                lo = mid + 1
            else:
                hi = mid
        i = lo - 1
        if i < 0:
            return self.shown[line], None
        start = self._exp_pos[i] + self._exp_before[i]
        row = self.shown[self._exp_pos[i]]
        n = self.expanded[row]
        if line - start <= n:
            return row, (None if line == start else line - start - 1)
        return self.shown[line - self._exp_before[i] - n], None

    def line_of(self, row: int, sub: int | None = None) -> int | None:
        """The line where ``row`` (or its sub-call) is drawn, None when not shown."""
        if self.in_row_order:
            p = bisect.bisect_left(self.shown, row)
            if p >= len(self.shown) or self.shown[p] != row:
                return None
        else:
            try:
                p = self.shown.index(row)
            except ValueError:
                return None
        k = bisect.bisect_left(self._exp_pos, p)
        extra = (
            self._exp_before[k - 1] + self.expanded[self.shown[self._exp_pos[k - 1]]] if k else 0
        )
        line = p + extra
        if sub is not None and row in self.expanded:
            line += sub + 1
        return line

    @property
    def current(self) -> tuple[int, int | None] | None:
        """(row, sub) under the cursor, None when the list is empty."""
        if not self.line_count:
            return None
        return self.locate(min(self.cursor, self.line_count - 1))

    def set_rows(self, shown: array[int], *, in_row_order: bool, keep: bool = True) -> None:
        """Show ``shown``; keep the selected call selected, at the same height on screen."""
        previous = self.current if keep else None
        screen_offset = self.cursor - round(self.scroll_offset.y)
        self.shown = shown
        self.in_row_order = in_row_order
        self._reindex_expansions()
        self._update_size()
        line = None
        if previous is not None:
            line = self.line_of(*previous)
            if line is None:
                line = self.line_of(previous[0])
        if line is None:
            line = min(self.cursor, max(0, self.line_count - 1)) if keep else 0
        self._move(line, scroll_to=max(0, line - max(0, screen_offset)))

    def append_rows(self, rows: array[int]) -> None:
        """Add rows at the end (live traffic, a growing file); follows the tail if at the end."""
        if not rows:
            return
        at_end = self.line_count == 0 or self.cursor >= self.line_count - 1
        was_empty = self.line_count == 0
        self.shown.extend(rows)
        self._update_size(keep_lines=True)  # (the lines drawn stay as they are)
        if at_end and not was_empty and self.follow_tail:
            self._move(self.line_count - 1)
        else:
            self.refresh()
            if was_empty:
                self._move(0)

    follow_tail = True

    def _update_size(self, *, keep_lines: bool = False) -> None:
        """The list's height after a change of its lines; ``keep_lines``: only lines were added
        at the end, so every line drawn is drawn as it was (a big capture's rows come in
        batches: the page on screen was drawn again after each, for nothing)."""
        self.virtual_size = Size(self.size.width, self.line_count)
        if not keep_lines:
            self._lines.clear()
        self.refresh()

    def toggle(self, row: int) -> None:
        """Expand or collapse the multicall ``row``."""
        if row in self.expanded:
            del self.expanded[row]
        elif self.store.flags[row] & F_MULTICALL:
            try:
                n = len(self.store.record(row).subcalls)
            except Exception:
                return
            if not n:
                return
            self.expanded[row] = n
        else:
            return
        self._reindex_expansions()
        self._update_size()
        line = self.line_of(row)
        if line is not None:
            self._move(line)

    # ------------------------------------------------------------ cursor

    def _move(self, line: int, *, scroll_to: int | None = None) -> None:
        count = self.line_count
        line = max(0, min(line, count - 1)) if count else 0
        self.cursor = line
        height = max(1, self.scrollable_content_region.height)
        y = round(self.scroll_offset.y)
        if scroll_to is not None:
            y = scroll_to
        if line < y:
            y = line
        elif line >= y + height:
            y = line - height + 1
        y = max(0, min(y, max(0, count - height)))
        self.scroll_to(y=y, animate=False, force=True, immediate=True)
        self.refresh()
        current = self.current
        self.post_message(self.Highlighted(*(current if current else (None, None))))

    def action_cursor_up(self) -> None:
        self._move(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self._move(self.cursor + 1)

    def action_page_up(self) -> None:
        self._move(self.cursor - max(1, self.scrollable_content_region.height - 1))

    def action_page_down(self) -> None:
        self._move(self.cursor + max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self._move(0)

    def action_last(self) -> None:
        self._move(self.line_count - 1)

    def action_select(self) -> None:
        current = self.current
        if current is not None:
            self.post_message(self.Selected(*current))

    def action_expand(self) -> None:
        current = self.current
        if current is not None and current[1] is None:
            row = current[0]
            if row not in self.expanded:
                self.toggle(row)

    def action_collapse(self) -> None:
        current = self.current
        if current is not None and current[0] in self.expanded:
            self.toggle(current[0])

    def on_click(self, event: events.Click) -> None:
        line = round(self.scroll_offset.y) + event.y
        if not 0 <= line < self.line_count:
            return
        self.focus()
        self._move(line)
        row, sub = self.locate(line)
        if event.x < MARKER and sub is None:
            self.toggle(row)
        elif event.chain >= 2:
            self.post_message(self.Selected(row, sub))

    def on_focus(self) -> None:
        self._lines.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._lines.clear()
        self.refresh()

    def on_resize(self) -> None:
        self._update_size()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_generation += 1
        self._lines.clear()

    # ------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        line = round(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if not 0 <= line < self.line_count:
            return Strip.blank(width, base)
        row, sub = self.locate(line)
        is_cursor = line == self.cursor
        key = (row, sub, width, is_cursor, self.has_focus, self._style_generation)
        strip = self._lines.get(key)
        if strip is None:
            strip = self._render_row(row, sub, width, base, is_cursor)
            self._lines[key] = strip
        return strip

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def _render_row(
        self, row: int, sub: int | None, width: int, base: Style, is_cursor: bool
    ) -> Strip:
        store = self.store
        try:
            record = store.record(row)
        except Exception as exc:  # a line that went bad after indexing
            return self._finish(
                [(f"  (unreadable record: {exc})", self._style("call-list--problem"))],
                width,
                base,
                is_cursor,
            )
        cells: dict[str, tuple[str, Style | None]] = {}
        layout = layout_columns(width)
        params_width = next((w for c, _x, w in layout if c.key == "params"), 20)
        row_style: Style | None = None
        if sub is None:
            label, kind = outcome(record)
            multicall = bool(store.flags[row] & F_MULTICALL)
            marker = ("▾" if row in self.expanded else "▸") if multicall else " "
            origin_mark = {"resent": "↻", "replay": "↺", "import": "⇲"}.get(record.origin, " ")
            cells["marker"] = (marker + origin_mark, self._style("call-list--origin"))
            if kind in ("problem", "error"):
                row_style = self._style("call-list--problem")
            cells["seq"] = (str(store.seq[row]), self._style("call-list--dim"))
            cells["time"] = (format_clock(store.started[row], self.tz), None)
            cells["client"] = (store.client_name(row), self._style("call-list--dim"))
            cells["method"] = (record.method or "(not decoded)", Style(bold=True))
            cells["params"] = (short_params(record, params_width), None)
            cells["status"] = (label, self._style(_KIND_CLASS[kind]))
            cells["duration"] = (format_duration(store.duration_ms(row)), None)
            cells["size"] = (format_size(store.size[row]), self._style("call-list--dim"))
        else:
            row_style = self._style("call-list--sub")
            entry = record.subcalls[sub]
            label, kind = sub_outcome(entry.result)
            cells["marker"] = ("  ", None)
            last = sub == len(record.subcalls) - 1
            cells["method"] = (("└ " if last else "├ ") + entry.call.method, None)
            args = ", ".join(format_short(p, params_width) for p in entry.call.params)
            if isinstance(entry.result, MethodResponse):
                args += " → " + format_response(entry.result, max(4, params_width - len(args) - 3))
            cells["params"] = (args, None)
            cells["status"] = (label, self._style(_KIND_CLASS[kind]))
        #: ``!`` after the call's number when a body breaks the spec (as ``rpcspy show`` marks
        #: it), in the colour of its worst finding. It takes the space after the first column
        #: shown (the number, which every width keeps), so no column moves.
        finding_mark: Style | None = None
        if sub is None and store.flags[row] & F_NONCONFORMANT:
            errors = any(f.severity == "error" for f in record.findings)
            finding_mark = self._style(
                "call-list--finding-error" if errors else "call-list--finding-warning"
            )
        marker_text, marker_style = cells.get("marker", ("  ", None))
        parts: list[tuple[str, Style | None]] = [(set_cell_size(marker_text, MARKER), marker_style)]
        for col, _x, w in layout:
            value, style = cells.get(col.key, ("", None))
            if cell_len(value) > w:
                value = set_cell_size(value, max(0, w - 1)) + "…"
            elif col.align == "right":
                value = " " * (w - cell_len(value)) + value
            else:
                value = set_cell_size(value, w)
            parts.append((value, style))
            if finding_mark is not None and col is layout[0][0]:
                parts.append(("!", finding_mark))
            else:
                parts.append((" ", None))
        return self._finish(parts, width, base, is_cursor, row_style)

    def _finish(
        self,
        parts: list[tuple[str, Style | None]],
        width: int,
        base: Style,
        is_cursor: bool,
        row_style: Style | None = None,
    ) -> Strip:
        cursor = (
            self._style("call-list--cursor" if self.has_focus else "call-list--cursor-blurred")
            if is_cursor
            else None
        )
        line_style = base + row_style if row_style else base
        segments = []
        for text, style in parts:
            st = line_style + style if style else line_style
            if cursor is not None:
                st = st + cursor
            segments.append(Segment(text, st))
        pad = line_style + cursor if cursor is not None else base
        return Strip(segments).extend_cell_length(width, pad).crop(0, width)
