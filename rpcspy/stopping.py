"""Stop signals: the one place that says how rpcspy's long-running work stops on a signal.

A process started in the background by a script (``cmd &``, ``nohup``) inherits SIGINT ignored,
and Python then installs no Ctrl-C handler of its own: work that relied on ``KeyboardInterrupt``
would ignore Ctrl-C, and work without a SIGTERM handler would die without its summary, its
pending records, or the terminal given back. So the signals are handled explicitly, whatever
their inherited disposition, for the length of a ``with StopSignals(...)`` block:

- ``stop_signals()``: SIGINT, SIGTERM, and SIGHUP (a closed terminal) unless the process was
  started with ``nohup``; ``STOP_SIGNALS`` is the first two.
- **flag** (the default): the first signal is noted in ``received``; ``wait()`` blocks until one
  arrives. The servers (``serve``, ``mock``) stop this way and print their summary.
- **interrupt**: the handler raises ``KeyboardInterrupt``, for work that already stops cleanly
  on Ctrl-C (replay).
- **raise**: the handler raises at once (``check()``: ``KeyboardInterrupt`` for SIGINT,
  ``SystemExit(128 + N)`` for the others), so every ``with`` block unwinds (the demo).
- whatever the mode, while a terminal UI runs (``app`` set, its event loop running), a signal
  asks that loop to call ``app.exit()``: unmount handlers run (live mode stops its proxy and
  writes every pending record) and the terminal is given back; a second signal before the app is
  gone takes the signal's default action, for a user who wants out now.

Only the main thread may install handlers; elsewhere the block changes nothing. Standard library
only: any layer may use it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, Literal, Protocol

__all__ = ["STOP_SIGNALS", "StopSignals", "stop_signals"]

#: The signals every long-running command stops on, whatever their inherited disposition.
STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)


def stop_signals() -> tuple[signal.Signals, ...]:
    """SIGINT, SIGTERM, and SIGHUP unless ``nohup`` asked to ignore it.

    A closed terminal sends SIGHUP; stopping on it as on Ctrl-C writes every pending record
    instead of dying with them.
    """
    hup = getattr(signal, "SIGHUP", None)
    if hup is None or signal.getsignal(hup) is signal.SIG_IGN:
        return STOP_SIGNALS
    return (*STOP_SIGNALS, hup)


class _Exits(Protocol):
    def exit(self) -> None: ...


class StopSignals:
    """``signals`` handled while the block runs; the previous handlers come back after."""

    def __init__(
        self,
        signals: tuple[signal.Signals, ...] = STOP_SIGNALS,
        *,
        mode: Literal["flag", "interrupt", "raise"] = "flag",
    ) -> None:
        self.signals = signals
        self.mode = mode
        #: The first stop signal received, if any.
        self.received: signal.Signals | None = None
        #: The terminal UI running now, if any: a signal asks it to exit.
        self.app: _Exits | None = None
        self._asked = False
        self._previous: dict[signal.Signals, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        # Only a flag, a call_soon_threadsafe or an exception: locks taken here could deadlock
        # with the main thread.
        if self.app is not None and self._asked:
            signal.signal(signum, signal.SIG_DFL)  # asked once, still running: out, now
            os.kill(os.getpid(), signum)
            return
        if self.received is None:
            self.received = signal.Signals(signum)
        if self.app is not None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None:
                self._asked = True
                loop.call_soon_threadsafe(self.app.exit)
                return
        if self.mode == "interrupt":
            raise KeyboardInterrupt
        if self.mode == "raise":
            self.check()

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

    def wait(
        self, done: Callable[[], bool] = lambda: False, poll: float = 0.1
    ) -> signal.Signals | None:
        """Block until a stop signal arrives or ``done()`` is true; the signal, or None."""
        while self.received is None and not done():
            time.sleep(poll)
        return self.received

    def check(self) -> None:
        """Raise for the signal received, if any: ``KeyboardInterrupt`` for SIGINT (the command
        line exits 130), ``SystemExit(128 + N)`` for the others (143 for SIGTERM)."""
        if self.received == signal.SIGINT:
            raise KeyboardInterrupt
        if self.received is not None:
            raise SystemExit(128 + self.received)
