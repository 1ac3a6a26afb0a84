"""How a long-running command (``serve``, ``mock``, ``proxy``, ``replay``) starts and stops.

- ``ReadyFile``: ``--ready-file PATH`` gets the server's URL once the socket accepts connections,
  written to a temporary file beside it and renamed, so a reader never sees half a line; it is
  removed on the way out. ``rpcspy wait --file PATH`` waits for it.
- ``StopSignals``, ``STOP_SIGNALS``: from ``rpcspy.stopping`` (the one owner of stop signals),
  named here for the commands.
- ``listen_error``: the one message for an address that cannot be listened on.

Imported by the commands' ``run`` only; standard library only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from types import TracebackType

from rpcspy.exits import EXIT_FAILURE, EXIT_USAGE, CliError
from rpcspy.stopping import STOP_SIGNALS, StopSignals

__all__ = [
    "STOP_SIGNALS",
    "ReadyFile",
    "StopSignals",
    "check_ready_file",
    "listen_error",
    "reason_of",
]


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
