"""``rpcspy demo`` as a user runs it: the scripted client runs once per sandbox, so the live TUI
shows the printed run's outcomes, and nothing is left in the temp dir however the demo ends."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import rpcspy.demo as demo
from rpcspy.capture import CallRecord, read_capture
from rpcspy.capture.summary import outcome, sub_outcome
from rpcspy.demo import SCENARIOS

RPCSPY = str(Path(sys.executable).with_name("rpcspy"))
#: The scenarios the live TUI runs (those of the plain server), and one that it does not.
LIVE = ["basics", "multicall"]


def left_behind(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.iterdir() if p.name.startswith("rpcspy-demo"))


def private_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TMUX")}
    return {**env, "TMPDIR": str(tmp), "TERM": "xterm-256color"}


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def calls_in(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(1 for line in path.read_bytes().splitlines() if b'"type":"call"' in line)


def outcomes(records: list[CallRecord]) -> list[tuple[Any, ...]]:
    """What the TUI shows of each call's outcome: method, outcome, sub-call outcomes."""
    return [
        (r.method, outcome(r).text, tuple(sub_outcome(s.result).text for s in r.subcalls))
        for r in records
    ]


# ---------------------------------------------------------------- without a terminal


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    path = tmp_path / "tmp"
    path.mkdir()
    return path


def test_a_demo_without_out_leaves_no_temp_dir(tmp: Path) -> None:
    result = subprocess.run(
        [RPCSPY, "demo", "--scenario", "basics", "--scenario", "tls"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**private_env(tmp), "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all 22 steps behaved as expected" in result.stdout
    last = result.stdout.splitlines()[-1]
    assert last.startswith("captures not kept; to keep them: ") and last.endswith(" demo --out DIR")
    assert left_behind(tmp) == []


def test_a_demo_with_out_keeps_the_captures_and_nothing_else(tmp: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = subprocess.run(
        [RPCSPY, "demo", "-q", "--scenario", "auth", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=private_env(tmp),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["auth.jsonl"]
    assert left_behind(tmp) == []


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_demo_leaves_no_temp_dir(tmp: Path, sig: int, code: int) -> None:
    proc = subprocess.Popen(
        [RPCSPY, "demo", "--no-tui", "--scenario", "basics", "--scenario", "large"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=private_env(tmp),
        # As from a script in the background: SIGINT inherited ignored must not matter.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        # Stop it mid-run: its captures, sandboxes and certificates all exist by then.
        wait_for(lambda: any(tmp.glob("rpcspy-demo-*/basics.jsonl")))
        assert any(tmp.glob("rpcspy-demo-root-*")) and any(tmp.glob("rpcspy-demo-tls-*"))
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == code, err.decode()[-2000:]
    assert left_behind(tmp) == []


def test_a_failing_demo_leaves_no_temp_dir(
    tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp))

    def broken(name: str, servers: Any, capture: Path, *, quiet: bool) -> list[Any]:
        capture.write_text("{}\n")
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(demo, "_run_recorded", broken)
    with pytest.raises(RuntimeError, match="broken on purpose"):
        demo.run_demo(["basics"], quiet=True)
    assert left_behind(tmp) == []


# ---------------------------------------------------------------- on a terminal


class Terminal:
    """A command on a pseudo-terminal of its own (its controlling terminal), output drained."""

    def __init__(self, args: list[str], env: dict[str, str], cols: int = 120, rows: int = 40):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

        def controlling_terminal() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            args,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            preexec_fn=controlling_terminal,
        )
        os.close(slave)
        self.master = master
        self.output = bytearray()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def wait(self, timeout: float = 60.0) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code

    @property
    def text(self) -> str:
        return bytes(self.output).decode("utf-8", "replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):
            os.close(self.master)


@pytest.fixture
def terminal() -> Iterator[Callable[..., Terminal]]:
    started: list[Terminal] = []

    def start(args: list[str], env: dict[str, str]) -> Terminal:
        t = Terminal(args, env)
        started.append(t)
        return t

    yield start
    for t in started:
        t.close()


def test_the_live_tui_shows_the_outcomes_of_the_printed_run(
    terminal: Callable[..., Terminal], tmp: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    names = [*LIVE, "auth"]
    args = [RPCSPY, "demo", "--out", str(out)]
    for name in names:
        args += ["--scenario", name]
    term = terminal(args, private_env(tmp))
    steps = sum(len(SCENARIOS[n].steps) for n in LIVE)
    # The scripted client runs live in the TUI: once all its calls are recorded, quit.
    wait_for(lambda: calls_in(out / "live.jsonl") == steps or term.proc.poll() is not None)
    term.type(b"q")
    assert term.wait() == 0, term.text[-3000:]

    printed: list[CallRecord] = []
    for name in LIVE:
        printed += list(read_capture(out / f"{name}.jsonl"))
    live = list(read_capture(out / "live.jsonl"))
    assert outcomes(live) == outcomes(printed)
    # The second run of the dir service found a sandbox of its own: no "already exists" fault.
    creates = [r for r in live if r.method == "dir.create"]
    assert [outcome(r).text for r in creates] == ["ok", "ok", "fault 100"]
    assert f"live run: all {steps} steps behaved as expected" in term.text
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.jsonl" for n in [*names, "live"])
    assert left_behind(tmp) == []


def test_sigterm_in_the_live_tui_gives_the_terminal_back_and_leaves_no_temp_dir(
    terminal: Callable[..., Terminal], tmp: Path
) -> None:
    term = terminal([RPCSPY, "demo", "--scenario", "basics"], private_env(tmp))
    # The TUI is up and its client is running through the proxy into the temp dir.
    wait_for(lambda: any(calls_in(p) for p in tmp.glob("rpcspy-demo-*/live.jsonl")))
    term.proc.send_signal(signal.SIGTERM)
    assert term.wait() == 143, term.text[-3000:]
    assert "\x1b[?1049l" in term.text  # the TUI left the alternate screen
    assert left_behind(tmp) == []
