"""Small modal dialogs: ask for a file path or a URL."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

__all__ = ["PathPrompt", "TextPrompt"]


class TextPrompt(ModalScreen[str | None]):
    """One line of text; Enter accepts, Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    #: Whether the answer loses the spaces at its ends.
    strip = True

    def __init__(
        self, title: str, value: str = "", hint: str = "enter: ok · escape: cancel"
    ) -> None:
        super().__init__(classes="prompt")
        self.title_text = title
        self.value = value
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box"):
            yield Label(self.title_text, id="prompt-title")
            yield Input(value=self.value, id="prompt-input")
            yield Static("", id="prompt-error")
            yield Static(self.hint, id="prompt-hint")

    def on_mount(self) -> None:
        inp = self.query_one(Input)
        inp.focus()
        inp.cursor_position = len(inp.value)

    def validate(self, value: str) -> str | None:
        """An error message for ``value``, or None when it is acceptable."""
        return None if value.strip() else "enter a value"

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        error = self.validate(event.value)
        if error:
            self.query_one("#prompt-error", Static).update(error)
            return
        self.dismiss(event.value.strip() if self.strip else event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PathPrompt(ModalScreen[Path | None]):
    """A file path to write; refuses directories and missing parent directories."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, default: Path) -> None:
        super().__init__(classes="prompt")
        self.title_text = title
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box"):
            yield Label(self.title_text, id="prompt-title")
            yield Input(value=str(self.default), id="prompt-input")
            yield Static("", id="prompt-error")
            yield Static("enter: save · escape: cancel", id="prompt-hint")

    def on_mount(self) -> None:
        inp = self.query_one(Input)
        inp.focus()
        inp.cursor_position = len(inp.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        error = self.query_one("#prompt-error", Static)
        if not text:
            error.update("enter a file name")
            return
        path = Path(text).expanduser()
        if path.is_dir():
            error.update(f"{path} is a directory")
            return
        if not path.parent.is_dir():
            error.update(f"no such directory: {path.parent}")
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)
