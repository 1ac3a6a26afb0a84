"""Running ``rpcspy serve|mock|proxy`` as a script would: in the background, SIGINT ignored.

A shell script's ``cmd &`` (and ``nohup``) starts a process with SIGINT ignored; Python then
installs no Ctrl-C handler of its own. ``start`` reproduces that, waits for the server's
``--ready-file``, and ``stop`` signals it and collects what it printed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO

RPCSPY = str(Path(sys.executable).with_name("rpcspy"))


def ignore_sigint() -> None:
    """The disposition ``cmd &`` in a script gives its background jobs (and ``nohup``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass
class Stopped:
    code: int
    stdout: str
    stderr: str


class Server:
    """A background ``rpcspy`` server process started with SIGINT ignored."""

    def __init__(self, argv: list[str], ready_file: Path, *, ignore_int: bool = True) -> None:
        self.ready_file = ready_file
        self.proc = subprocess.Popen(
            [RPCSPY, *argv, "--ready-file", str(ready_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={**os.environ, "NO_COLOR": "1"},
            preexec_fn=ignore_sigint if ignore_int else None,
        )
        self.url = ""

    def wait_ready(self, timeout: float = 60.0) -> str:
        """The URL from the ready file, once it is there (fails if the process exits)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out, err = self.proc.communicate()
                raise AssertionError(f"exited with {self.proc.returncode}: {err}{out}")
            if self.ready_file.exists():
                self.url = self.ready_file.read_text().strip()
                return self.url
            time.sleep(0.05)
        raise AssertionError(f"{self.ready_file} did not appear in {timeout} s")

    def stop(self, sig: int, timeout: float = 30.0) -> Stopped:
        """Send ``sig``; the exit code and output once the process is gone."""
        self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError(f"did not stop on {signal.Signals(sig).name}: {err}") from None
        return Stopped(self.proc.returncode, out, err)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@contextlib.contextmanager
def server(argv: list[str], ready_file: Path, *, ignore_int: bool = True) -> Iterator[Server]:
    """A started server; killed at the end if the test left it running."""
    running = Server(argv, ready_file, ignore_int=ignore_int)
    try:
        yield running
    finally:
        running.kill()
