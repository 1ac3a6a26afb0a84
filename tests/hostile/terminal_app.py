"""The real ``rpcspy tui`` process in a pseudo-terminal, its peak memory sampled, and the gzip bomb.

``TuiProcess`` starts a command with a pty as its terminal (stdin, stdout and stderr), reads what
it draws, samples its peak RSS (``VmHWM``) like ``processes.Running``, and can wait for a text
on the screen, press keys and send signals. ``write_gzip_bomb`` writes a capture header and then
a run of spaces as gzip: a few hundred KiB on disk, any size once inflated.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import select
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from rpcspy.capture.schema import dumps_line, make_header
from tests.hostile.processes import _limits, peak_rss

__all__ = ["TuiProcess", "write_gzip_bomb"]

_MEMBER = 16 << 20
_CONTROL = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-B]|.)")


def write_gzip_bomb(path: Path, spaces: int) -> Path:
    """A gzip capture: the header line, then ``spaces`` spaces (rounded up to 16 MiB) and no
    newline. Written as one gzip member per 16 MiB of spaces (the same 16 KiB each, so it is
    made at once); readers inflate it as one stream, one line."""
    member = gzip.compress(b" " * _MEMBER, compresslevel=9, mtime=0)
    with open(path, "wb") as f:
        f.write(gzip.compress(dumps_line(make_header()), mtime=0))
        for _ in range(-(-spaces // _MEMBER)):
            f.write(member)
    return path


class TuiProcess:
    """A command running in a pseudo-terminal of ``size`` (columns, lines)."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str],
        size: tuple[int, int] = (120, 40),
        cwd: str | None = None,
        address_space: int | None = None,
    ) -> None:
        import fcntl
        import struct
        import termios

        master, slave = os.openpty()
        cols, lines = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, cols, 0, 0))
        self._master = master
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(lines)},
            cwd=cwd,
            start_new_session=True,  # its own session: signals go to it alone
            preexec_fn=_limits(address_space),
        )
        os.close(slave)
        self._output = bytearray()
        self._lock = threading.Lock()
        #: The highest ``VmHWM`` seen so far, in bytes.
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, peak_rss(self.proc.pid))
            ready, _, _ = select.select([self._master], [], [], 0.01)
            if ready:
                try:
                    data = os.read(self._master, 65536)
                except OSError:
                    data = b""
                if not data:
                    self._done.wait(0.01)
                    if self.proc.poll() is not None:
                        return
                    continue
                with self._lock:
                    self._output += data

    @property
    def pid(self) -> int:
        return self.proc.pid

    def text(self) -> str:
        """Everything drawn so far, control sequences taken out, whitespace squeezed."""
        with self._lock:
            raw = bytes(self._output)
        plain = _CONTROL.sub(b" ", raw).decode(errors="replace")
        return " ".join(plain.split())

    def raw(self) -> bytes:
        """Everything written to the terminal so far, control sequences and all."""
        with self._lock:
            return bytes(self._output)

    def wait_for(self, text: str, timeout: float, *, regex: bool = False) -> None:
        """Wait until ``text`` (a pattern with ``regex``) is drawn; AssertionError (with the
        screen) after ``timeout``."""
        deadline = time.monotonic() + timeout
        pattern = re.compile(text if regex else re.escape(text))
        while pattern.search(self.text()) is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                shown = self.text()[-2000:]
                raise AssertionError(f"{text!r} not shown; the terminal shows: {shown}")
            time.sleep(0.05)

    def press(self, keys: str) -> None:
        os.write(self._master, keys.encode())

    def send(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, sig)

    def finish(self, timeout: float) -> int:
        """Wait for the process to end (SIGKILL after ``timeout``); its exit code."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.peak = max(self.peak, peak_rss(self.proc.pid))
        time.sleep(0.05)
        self._done.set()
        self._thread.join()
        os.close(self._master)
        return code

    def __enter__(self) -> TuiProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        if not self._done.is_set():
            self.finish(10)
