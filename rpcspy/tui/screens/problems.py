"""The capture's problem rows: every line the reader skipped (torn, not JSON, not a valid record,
too long), with its line number and the reader's own message.

The index checks each call line with the reader's rules when it reads it (``rpcspy.capture
.index``), so a line that would not make a record never becomes a call row: it becomes a problem
row here, in the reader's words (the same ``rpcspy show`` prints on stderr).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Static

from rpcspy.capture.record import Problem
from rpcspy.term import printable
from rpcspy.tui.widgets.key_bar import KeyBar
from rpcspy.tui.widgets.title_bar import TitleBar

__all__ = ["ProblemsScreen", "problem_row"]


def problem_row(problem: Problem) -> tuple[str, str, str]:
    """The cells of a problem row: line, kind, what (the reader's message, line number apart)."""
    line = "" if problem.line is None else f"{problem.line:,}"
    what = problem.reason + (f" (at {problem.path})" if problem.path else "")
    return line, problem.kind, printable(what)


class ProblemsScreen(Screen[None]):
    """A table of the capture's problems, one row per skipped line; grows while reading."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,p", "app.pop_screen", "Back"),
    ]

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(id="problems")
        self.problems = problems
        self._shown = 0

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static("", id="problems-title")
        table: DataTable[str] = DataTable(
            id="problems-table", cursor_type="row", zebra_stripes=True
        )
        yield table
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("line", key="line")
        table.add_column("kind", key="kind")
        table.add_column("what", key="what")
        table.focus()
        self.show_new_problems()

    def show_new_problems(self) -> None:
        """Add the rows of problems met since the last call (the list only grows)."""
        table = self.query_one(DataTable)
        for problem in self.problems[self._shown :]:
            table.add_row(*problem_row(problem))
        self._shown = len(self.problems)
        n = self._shown
        self.query_one("#problems-title", Static).update(
            f"{n:,} line{'s' if n != 1 else ''} of the capture skipped (not a call)"
            if n
            else "No problems: every line of the capture is a call"
        )
