"""Stop signals while the terminal UI runs: the app ends as ``q`` ends it, never mid-frame.

Killed by a signal's default action, the app would leave the terminal in its alternate screen
with mouse reporting on, and in live mode the records the proxy was still writing would go with
it. ``StopSignals`` handles the given signals for the length of a ``with`` block, whatever their
inherited disposition (a script's ``rpcspy tui ... &`` inherits SIGINT ignored):

- while an app runs (``app`` set, its event loop running), a signal asks that loop to call
  ``app.exit()``: unmount handlers run (live mode stops its proxy and writes every pending
  record) and the terminal is given back; a second signal before the app is gone takes the
  default action, for a user who wants out now;
- with no app running, ``check()`` is called at once: it raises ``KeyboardInterrupt`` for SIGINT
  and ``SystemExit(128 + N)`` for the others, so every ``with`` block unwinds.

After the block, ``received`` says which signal (if any) stopped things; ``check()`` raises for
it, which is how ``rpcspy tui`` and ``rpcspy demo`` exit 143 on SIGTERM (130 on SIGINT) after the
terminal is restored.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from types import FrameType, TracebackType
from typing import Any, Protocol

__all__ = ["StopSignals"]


class _Exits(Protocol):
    def exit(self) -> None: ...


class StopSignals:
    """Handles ``signals`` (default SIGINT and SIGTERM) while the ``with`` block runs."""

    def __init__(self, signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)):
        self.signals = signals
        self.app: _Exits | None = None
        self.received: int | None = None
        self._asked = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in self.signals:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        app = self.app
        if app is not None and self._asked:
            # Asked once already and still running: the default action, now.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self.received = signum
        if app is not None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None:
                self._asked = True
                loop.call_soon_threadsafe(app.exit)
                return
        self.check()

    def check(self) -> None:
        """Raise for the signal received, if any."""
        if self.received == signal.SIGINT:
            raise KeyboardInterrupt
        if self.received is not None:
            raise SystemExit(128 + self.received)
