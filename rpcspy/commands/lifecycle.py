"""How a long-running command (``serve``, ``mock``, ``proxy``, ``replay``) starts and stops.

- ``ReadyFile``: ``--ready-file PATH`` gets the server's URL once the socket accepts connections,
  written to a temporary file beside it and renamed, so a reader never sees half a line; it is
  removed on the way out. ``rpcspy wait --file PATH`` waits for it.
- ``StopSignals``: SIGINT and SIGTERM handled explicitly. A process started in the background by
  a script (``cmd &``, ``nohup``) inherits SIGINT ignored, and Python then installs no Ctrl-C
  handler of its own; a command that relied on ``KeyboardInterrupt`` would ignore Ctrl-C, and
  one without a SIGTERM handler would die without its summary.
- ``listen_error``: the one message for an address that cannot be listened on.

Imported by the commands' ``run`` only; standard library only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from rpcspy.exits import EXIT_FAILURE, EXIT_USAGE, CliError

__all__ = [
    "STOP_SIGNALS",
    "ReadyFile",
    "StopSignals",
    "check_ready_file",
    "listen_error",
    "reason_of",
]

#: The signals every long-running command stops on, whatever their inherited disposition.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def listen_error(host: str, port: int, reason: str) -> CliError:
    """``cannot listen on HOST:PORT: REASON; ...`` naming both ways to choose another address."""
    shown = f"[{host}]" if ":" in host else (host or "*")
    reason = reason[:1].lower() + reason[1:]
    hint = ""
    if "in use" in reason.lower() or "not available" in reason.lower():
        hint = "; choose another with --listen HOST:PORT (or --port PORT; 0 picks a free one)"
    return CliError(f"cannot listen on {shown}:{port}: {reason}{hint}", EXIT_FAILURE)


def reason_of(exc: OSError) -> str:
    """``address already in use`` rather than ``[Errno 98] Address already in use``."""
    if exc.errno is not None and exc.errno in errno.errorcode:
        return os.strerror(exc.errno).lower()
    return str(exc.strerror or exc)


def check_ready_file(path: Path | None) -> None:
    """Refuse a ``--ready-file`` that could never be written, before anything starts."""
    if path is None:
        return
    if path.is_dir():
        raise CliError(f"--ready-file: {path} is a directory", EXIT_USAGE)
    parent = path.parent
    if not parent.is_dir():
        raise CliError(f"--ready-file: no such directory: {parent}", EXIT_USAGE)


class ReadyFile:
    """``--ready-file``: the URL written atomically once ready, the file removed on exit."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._written = False

    def write(self, url: str) -> None:
        """Write ``url`` and a newline to the file (temporary file, then rename)."""
        if self.path is None:
            return
        directory = self.path.parent
        try:
            fd, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(url + "\n")
                os.replace(temp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        except OSError as exc:
            raise CliError(
                f"cannot write --ready-file {self.path}: {exc.strerror or exc}", EXIT_FAILURE
            ) from None
        self._written = True

    def remove(self) -> None:
        """Remove the file if this process wrote it (idempotent)."""
        if self.path is None or not self._written:
            return
        self._written = False
        with contextlib.suppress(OSError):
            self.path.unlink()

    def __enter__(self) -> ReadyFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()


class StopSignals:
    """SIGINT and SIGTERM handled while the block runs; the previous handlers come back after.

    ``with StopSignals() as stop: ... stop.wait(done)`` blocks until a signal arrives (or
    ``done()`` is true) and returns the signal, or None. With ``raise_interrupt`` the handler
    raises ``KeyboardInterrupt`` instead, for work that already stops cleanly on Ctrl-C (replay).
    Only the main thread may install handlers; elsewhere the block changes nothing.
    """

    def __init__(self, *, raise_interrupt: bool = False) -> None:
        self.raise_interrupt = raise_interrupt
        #: The first stop signal received, if any.
        self.received: signal.Signals | None = None
        self._previous: dict[signal.Signals, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        # Only a flag (or an exception): locks taken here could deadlock with the main thread.
        if self.received is None:
            self.received = signal.Signals(signum)
        if self.raise_interrupt:
            raise KeyboardInterrupt

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
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
