"""Running a process under hostile input with its memory measured and capped.

``run_measured`` starts a command, samples its peak RSS (``VmHWM`` in ``/proc/PID/status``, the
high-water mark of the program's own memory) every few milliseconds until it ends, kills it after
``timeout`` seconds, and can cap its address space (``RLIMIT_AS``) so that a regression fails the
test with a ``MemoryError`` instead of taking the machine's memory. Not ``ru_maxrss``: Linux
carries the parent's high-water mark over ``fork`` and ``exec``, so a child of a 500 MB test
runner would report 500 MB whatever it did. ``Measured`` is what came
back. ``bench/memory.py`` uses the same function.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Measured", "Running", "peak_rss", "run_measured", "start_measured"]


@dataclass(frozen=True)
class Measured:
    """A finished process: exit code (negative: killed by that signal), output, peak RSS."""

    code: int
    stdout: str
    stderr: str
    peak_rss: int
    elapsed: float
    timed_out: bool

    @property
    def peak_mib(self) -> float:
        return self.peak_rss / (1024 * 1024)


def _limits(address_space: int | None) -> Callable[[], None] | None:
    if address_space is None:
        return None

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    return apply


class Running:
    """A process started by ``start_measured``; ``finish`` stops it (or waits) and measures."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None,
        address_space: int | None,
        cwd: str | None,
    ) -> None:
        # Closed in ``finish``: they outlive this constructor on purpose.
        self._out = tempfile.TemporaryFile()  # noqa: SIM115
        self._err = tempfile.TemporaryFile()  # noqa: SIM115
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=self._err,
            env=env,
            cwd=cwd,
            preexec_fn=_limits(address_space),
        )
        #: The highest ``VmHWM`` seen so far, in bytes.
        self.peak = 0
        self._sampling = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._sampling.is_set():
            self.peak = max(self.peak, peak_rss(self.proc.pid))
            self._sampling.wait(0.01)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr_so_far(self) -> str:
        """What the process wrote on stderr up to now."""
        self._err.seek(0)
        return self._err.read().decode(errors="replace")

    def finish(self, *, timeout: float, interrupt: bool = False) -> Measured:
        """Wait for the process (SIGINT first when ``interrupt``), kill it after ``timeout``."""
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)

        if interrupt:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGINT)
        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, _ = os.wait4(self.proc.pid, 0)
        finally:
            timer.cancel()
            self._sampling.set()
            self._sampler.join()
        elapsed = time.monotonic() - self.started
        code = os.waitstatus_to_exitcode(status)
        self.proc.returncode = code  # already reaped: Popen must not wait for it again
        outputs = []
        for f in (self._out, self._err):
            f.seek(0)
            outputs.append(f.read().decode(errors="replace"))
            f.close()
        return Measured(code, outputs[0], outputs[1], self.peak, elapsed, timed_out.is_set())


def start_measured(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    address_space: int | None = None,
    cwd: str | None = None,
) -> Running:
    """Start ``argv``; call ``finish`` on the result to measure it."""
    return Running(argv, env=env, address_space=address_space, cwd=cwd)


def run_measured(
    argv: Sequence[str],
    *,
    timeout: float,
    env: dict[str, str] | None = None,
    address_space: int | None = None,
    cwd: str | None = None,
) -> Measured:
    """Run ``argv`` to its end (killed after ``timeout`` s) and measure it."""
    return start_measured(argv, env=env, address_space=address_space, cwd=cwd).finish(
        timeout=timeout
    )


def peak_rss(pid: int) -> int:
    """A running process's peak RSS so far (``VmHWM``), in bytes; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0
