"""The filter bar: an input that completes filter words and says what is wrong with a bad one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.timer import Timer
from textual.widgets import Input, Static

if TYPE_CHECKING:
    # (imported when first used, after the first screen: see rpcspy.tui.startup)
    from rpcspy.filter import Filter, FilterError

__all__ = ["FilterBar", "FilterSuggester"]


class FilterSuggester(Suggester):
    """Suggests the completion of the word being typed (keywords, method names, clients)."""

    def __init__(
        self, methods: Callable[[], Iterable[str]], clients: Callable[[], Iterable[str]]
    ) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self._methods = methods
        self._clients = clients

    async def get_suggestion(self, value: str) -> str | None:
        from rpcspy.filter import complete

        options = complete(value, self._methods(), self._clients())
        return options[0] if options else None


class FilterInput(Input):
    """The text field; Tab accepts the suggestion."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "accept_suggestion", "Complete", show=False, priority=True),
    ]

    def action_accept_suggestion(self) -> None:
        if self._suggestion and self._suggestion != self.value:
            self.value = self._suggestion
            self.cursor_position = len(self.value)
        else:
            self.screen.focus_next()


class FilterBar(Vertical):
    """Input plus a one-line message; posts ``Changed`` with a parsed filter as the user types."""

    DEFAULT_CSS = """
    FilterBar { height: auto; }
    """

    class Changed(Message):
        """A new valid filter (already parsed)."""

        def __init__(self, flt: Filter, submitted: bool = False) -> None:
            super().__init__()
            self.filter = flt
            self.submitted = submitted

    def __init__(
        self,
        methods: Callable[[], Iterable[str]],
        clients: Callable[[], Iterable[str]],
        *,
        value: str = "",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._methods = methods
        self._clients = clients
        self._initial = value
        self.error: FilterError | None = None
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield FilterInput(
            value=self._initial,
            placeholder=(
                "filter: method:dir.* and not ok, latency>200ms, params[0].name=bob …  (? help)"
            ),
            suggester=FilterSuggester(self._methods, self._clients),
            id="filter-input",
            # Keep the expression when the bar is focused: "/" then typing refines the filter.
            select_on_focus=False,
        )
        yield Static("", id="filter-message")

    @property
    def input(self) -> Input:
        """The text field."""
        return self.query_one(FilterInput)

    @property
    def value(self) -> str:
        """The expression as typed."""
        return self.input.value

    def set_value(self, text: str) -> None:
        """Replace the expression (applies it)."""
        self.input.value = text
        self.input.cursor_position = len(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        # Wait for a pause in typing so a million calls are not filtered per keystroke.
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(0.15, lambda: self._apply(False))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._apply(True)

    def _apply(self, submitted: bool) -> None:
        from rpcspy.filter import FilterError, parse_filter

        text = self.value
        message = self.query_one("#filter-message", Static)
        try:
            flt = parse_filter(text)
        except FilterError as exc:
            self.error = exc
            self.add_class("-invalid")
            line = Text()
            line.append(
                " " * (exc.column - 1) + "^" * min(exc.length, max(1, len(text) - exc.column + 1)),
                "bold",
            )
            line.append(f"  {exc.message}")
            message.update(line)
            message.display = True
            return
        self.error = None
        self.remove_class("-invalid")
        message.update("")
        message.display = False
        self.post_message(self.Changed(flt, submitted))

    def on_mount(self) -> None:
        self.query_one("#filter-message", Static).display = False
