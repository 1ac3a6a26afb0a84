"""README.md's Quick tour, pasted as one block: it runs, shows the call, and leaves nothing behind.

The block is taken from the README as it stands and run by ``bash`` (non-interactive, as a
script or a paste is: background jobs start with SIGINT ignored) on a terminal, so that the
TUI it ends with really runs; the test presses ``q`` in it. Its fixed ports (8000, 8080) are
kept: the tour runs in a network namespace of its own when the machine allows one
(``unshare -rn``), else only when both ports are free.
"""

from __future__ import annotations

import contextlib
import os
import pty
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcspy.capture import read_capture
from tests.conftest import REPO

VENV = Path(sys.executable).parent.parent


def quick_tour_block() -> str:
    """The first ```sh block under README.md's "## Quick tour" heading."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Quick tour\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found is not None, "no ```sh block in the Quick tour"
    return found.group(1)


def _isolation() -> list[str]:
    """The command prefix that gives the tour a loopback of its own, or [] when none can."""
    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    if unshare and ip:
        probe = subprocess.run(
            [unshare, "-rn", ip, "link", "set", "lo", "up"], capture_output=True, timeout=30
        )
        if probe.returncode == 0:
            return [unshare, "-rn", "sh", "-c", f'{ip} link set lo up && exec "$@"', "sh"]
    return []


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _session_members(sid: int) -> list[str]:
    """``pid command`` of every process still in session ``sid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        # state ppid pgrp session ...: a zombie is gone for our purpose
        if int(fields[3]) == sid and fields[0] != "Z":
            members.append(f"{entry.name} {cmdline.strip()}")
    return members


def _others(leader: int) -> list[str]:
    """The session's processes but its leader (the stand-in for the user's shell)."""
    return [m for m in _session_members(leader) if int(m.split()[0]) != leader]


class Terminal:
    """A pseudo-terminal whose output is collected by a thread until every writer closed it."""

    def __init__(self, columns: int = 120, rows: int = 40) -> None:
        self.master, self.slave = pty.openpty()
        size = struct.pack("HHHH", rows, columns, 0, 0)
        import fcntl

        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, size)
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: no process holds the terminal any more
                return
            if not data:
                return
            with self._lock:
                self._chunks.append(data)

    @property
    def output(self) -> str:
        with self._lock:
            return b"".join(self._chunks).decode("utf-8", "replace")

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output:
                return True
            time.sleep(0.1)
        return False

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def closed(self, timeout: float) -> bool:
        self._reader.join(timeout)
        return not self._reader.is_alive()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.slave)
        with contextlib.suppress(OSError):
            os.close(self.master)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal()
    yield term
    term.close()


ALT_SCREEN = "\x1b[?1049h"  # the TUI has taken the screen


def test_the_quick_tour_runs_pasted_as_one_block(tmp_path: Path, terminal: Terminal) -> None:
    if shutil.which("jq") is None:
        pytest.skip("the tour uses jq, which is not installed")
    prefix = _isolation()
    if not prefix and not (_port_free(8000) and _port_free(8080)):
        pytest.skip("no network namespace available and port 8000 or 8080 is busy")
    block = quick_tour_block()
    lines = [line for line in block.splitlines() if line.strip()]
    assert "tui calls.jsonl --follow" in lines[-1], "the TUI must come last"
    # A fresh clone after ./setup.sh: the tour runs where .venv is, and writes its files there.
    (tmp_path / ".venv").symlink_to(VENV)
    (tmp_path / "tour.sh").write_text(block)
    home = tmp_path / "home"  # mitmproxy's CA goes to ~/.mitmproxy: not the user's
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "TERM": "xterm-256color", "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    # The session's leader stays, as the user's interactive shell does after a paste: were bash
    # the leader, its exit would hang up the terminal and SIGHUP what the tour left running.
    leader = 'bash tour.sh; echo "tour exit status $?"; exec sleep 120'
    proc = subprocess.Popen(
        [*prefix, "sh", "-c", leader],
        cwd=tmp_path,
        env=env,
        stdin=terminal.slave,
        stdout=terminal.slave,
        stderr=terminal.slave,
        start_new_session=True,
    )
    os.close(terminal.slave)
    try:
        assert terminal.wait_for(ALT_SCREEN, 120), terminal.output[-3000:]
        # Let the TUI draw and follow the capture, then quit it as the README says: q.
        time.sleep(2)
        terminal.type("q")
        assert terminal.wait_for("tour exit status", 60), terminal.output[-3000:]
        deadline = time.monotonic() + 30
        while _others(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = _others(proc.pid)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for member in _session_members(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(member.split()[0]), signal.SIGKILL)
    assert left == []
    proc.kill()
    proc.wait()
    assert terminal.closed(10)
    output = terminal.output
    before_tui = output.split(ALT_SCREEN, 1)[0]
    after_tui = output.rsplit("\x1b[?1049l", 1)[-1]
    assert "tour exit status 0" in after_tui, output[-3000:]
    # The client got its answer through the proxy; show, replay and jq saw the call.
    assert "\nHI\r\n" in before_tui, before_tui
    assert re.search(r"echo\(\"hi\"\) -> \"HI\" +ok", before_tui), before_tui
    assert "OK 1 call: 1 same" in before_tui, before_tui
    assert re.search(r"\n1\techo\t[0-9.]+\r\n", before_tui), before_tui
    # Quitting the TUI stopped both background processes cleanly, the capture complete.
    assert "rpcspy proxy stopped; 1 call recorded" in after_tui, after_tui
    assert "rpcspy demo server stopped (SIGTERM)" in after_tui, after_tui
    assert "Traceback" not in output
    assert [r.method for r in read_capture(tmp_path / "calls.jsonl")] == ["echo"]
