"""Messages the screens post to the app: a screen asks, the app decides.

Screens never reach into the app (no cast of ``self.app``): they ``post_message`` one of these,
it bubbles up to ``RpcSpyApp``, and the app acts, calling methods down on its screens when a screen
must change (``CallsScreen.set_filter``, ``EditScreen.show_sent``). The toolong viewer is built
the same way (its ``messages.py``). Messages that belong to one screen alone are nested in it
(``CallsScreen.Ready``, ``EditScreen.Sent``).
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from rpcspy.capture.record import CallRecord
    from rpcspy.xmlrpc.messages import MethodCall

__all__ = [
    "ApplyFilter",
    "ComposeCall",
    "CopyCall",
    "EditCall",
    "ReplayCalls",
    "SaveCall",
    "SaveCalls",
    "ShowApi",
    "ShowCall",
    "ShowHelp",
    "ShowProblems",
    "ShowStats",
]


class ShowCall(Message):
    """Open one call (or one sub-call of a multicall) in full."""

    def __init__(self, row: int, sub: int | None = None) -> None:
        super().__init__()
        self.row = row
        self.sub = sub


class ShowStats(Message):
    """Open the per-method figures of these rows."""

    def __init__(self, rows: array[int], filter_text: str = "") -> None:
        super().__init__()
        self.rows = rows
        self.filter_text = filter_text


class ShowHelp(Message):
    """Open the keys and the filter language."""


class ShowProblems(Message):
    """Open the capture's problem rows (the lines the reader skipped)."""


class ApplyFilter(Message):
    """Go back to the list and filter it with ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class CopyCall(Message):
    """Copy a call to the clipboard as ``curl`` or ``python`` (the ``kind``)."""

    def __init__(self, record: CallRecord, kind: str) -> None:
        super().__init__()
        self.record = record
        self.kind = kind


class SaveCall(Message):
    """Ask for a file name and save a call as a curl or a Python script."""

    def __init__(self, record: CallRecord, kind: str) -> None:
        super().__init__()
        self.record = record
        self.kind = kind


class SaveCalls(Message):
    """Ask for a file name and save these rows as a new capture."""

    def __init__(self, rows: array[int]) -> None:
        super().__init__()
        self.rows = rows


class ReplayCalls(Message):
    """Replay these rows against a server (asked for first)."""

    def __init__(self, rows: list[int]) -> None:
        super().__init__()
        self.rows = rows


class EditCall(Message):
    """Edit the call of ``row`` and resend it."""

    def __init__(self, row: int) -> None:
        super().__init__()
        self.row = row


class ShowApi(Message):
    """Open the API pane: the methods learned from the calls (and the ``--api`` file)."""


class ComposeCall(Message):
    """Open the editor on a new call pre-filled with ``call`` (the API pane's ``n``)."""

    def __init__(self, call: MethodCall) -> None:
        super().__init__()
        self.call = call
