"""End to end: ``rpcspy tui`` in a real terminal (tmux), on a capture and against a live server."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rpcspy.capture import CaptureWriter
from rpcspy.replay.send import send_call
from rpcspy.xmlrpc.messages import MethodCall
from rpcspy.xmlrpc.values import Int
from tests.conftest import REPO

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

# Run the real command; through the CLI when it has the subcommand, else through its module.
_HARNESS = (
    "import argparse, sys; from rpcspy.commands.tui import add_parser; "
    "p = argparse.ArgumentParser(prog='rpcspy'); add_parser(p.add_subparsers()); "
    "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))"
)


def tui_command(*args: str) -> list[str]:
    rpcspy = REPO / ".venv" / "bin" / "rpcspy"
    if rpcspy.exists():
        probe = subprocess.run([str(rpcspy), "tui", "--help"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return [str(rpcspy), "tui", *args]
    return [sys.executable, "-c", _HARNESS, "tui", *args]


class Tmux:
    """A private tmux server with one 100x30 window."""

    def __init__(self) -> None:
        self.socket = f"rpcspy-test-{uuid.uuid4().hex[:12]}"

    def run(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20
        )
        return out.stdout

    def start(self, command: list[str], exit_file: Path) -> None:
        shell = f"{shlex.join(command)}; echo $? > {shlex.quote(str(exit_file))}; sleep 60"
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TMUX")}
        subprocess.run(
            ["tmux", "-L", self.socket, "new-session", "-d", "-x", "100", "-y", "30", shell],
            check=True,
            timeout=20,
            env={**env, "TERM": "xterm-256color", "TZ": "UTC"},
        )

    def screen(self) -> str:
        return self.run("capture-pane", "-p")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", *keys)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} did not appear; the screen was:\n{screen}")
            time.sleep(0.1)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=20)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    t = Tmux()
    try:
        yield t
    finally:
        t.kill()


def wait_exit(exit_file: Path, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while not exit_file.exists() or not exit_file.read_text().strip():
        if time.monotonic() > deadline:
            raise AssertionError("rpcspy tui did not exit")
        time.sleep(0.1)
    return int(exit_file.read_text())


@pytest.mark.slow
def test_tui_on_a_capture_and_a_live_server(tmux: Tmux, tmp_path: Path, demo_server: Any) -> None:
    capture = tmp_path / "calls.jsonl"
    with CaptureWriter(capture, append=False) as writer:
        for i, call in enumerate(
            [
                MethodCall("add", (Int(2), Int(3))),
                MethodCall("sample.sumAndDifference", (Int(7), Int(3))),
                MethodCall("demo.fault", (Int(4),)),
            ],
            1,
        ):
            writer.write(send_call(call, demo_server.url, seq=i))
    exit_file = tmp_path / "exit"
    tmux.start(tui_command(str(capture)), exit_file)
    screen = tmux.wait_for("3 calls")
    assert "sample.sumAndDifference" in screen and "rpcspy — calls.jsonl" in screen
    # Filter as you type.
    tmux.keys("/")
    tmux.wait_for("f1 Help")  # the footer of the focused filter bar
    tmux.keys("-l", "fault")
    screen = tmux.wait_for("shown 1/3")
    assert "demo.fault" in screen and "sample.sumAndDifference" not in screen
    tmux.keys("Escape", "Escape")  # back to the list, then clear the filter
    tmux.wait_for("shown 3/3")
    # Open the second call: typed values.
    tmux.keys("Home", "Down", "Enter")  # the selection stayed on demo.fault
    screen = tmux.wait_for("Tree  XML  HTTP")
    screen = tmux.wait_for("difference  int  4")
    assert "params[0]  int  7" in screen
    tmux.keys("Escape")
    tmux.wait_for("shown 3/3")
    # Replay it against the live demo server it was recorded from.
    tmux.keys("r")
    tmux.wait_for("replayed")
    tmux.keys("Enter")
    tmux.wait_for("same response (types included)")
    tmux.keys("Escape")
    tmux.wait_for("shown 3/3")
    tmux.keys("q")
    assert wait_exit(exit_file) == 0


@pytest.mark.slow
def test_tui_on_a_corrupt_capture_exits_4(tmux: Tmux, tmp_path: Path, demo_server: Any) -> None:
    capture = tmp_path / "torn.jsonl"
    with CaptureWriter(capture, append=False) as writer:
        writer.write(send_call(MethodCall("add", (Int(1), Int(1))), demo_server.url, seq=1))
    with capture.open("ab") as f:
        f.write(b'{"type": "call", "seq": 2, "id": "to')
    exit_file = tmp_path / "exit"
    tmux.start(tui_command(str(capture)), exit_file)
    screen = tmux.wait_for("1 bad line skipped")
    assert "1 call " in screen
    tmux.keys("q")
    assert wait_exit(exit_file) == 4


def test_bad_arguments_are_cli_errors(tmp_path: Path) -> None:
    from rpcspy.exits import CliError

    missing = tmp_path / "nope.jsonl"
    out = subprocess.run(tui_command(str(missing)), capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    import argparse

    from rpcspy.commands.tui import add_parser

    parser = argparse.ArgumentParser(prog="rpcspy")
    add_parser(parser.add_subparsers())
    capture = tmp_path / "ok.jsonl"
    capture.write_text('{"type": "header", "format": "rpcspy-capture", "version": "1.0"}\n')
    args = parser.parse_args(["tui", str(capture), "--filter", "fault and"])
    with pytest.raises(CliError, match="column 7") as info:
        args.func(args)
    assert info.value.code == 2
    args = parser.parse_args(["tui", str(missing)])
    with pytest.raises(CliError, match="no such capture file") as info:
        args.func(args)
    assert info.value.code == 3
    bad = tmp_path / "v9.jsonl"
    bad.write_text('{"type": "header", "format": "rpcspy-capture", "version": "9.0"}\n')
    args = parser.parse_args(["tui", str(bad)])
    with pytest.raises(CliError, match="not supported") as info:
        args.func(args)
    assert info.value.code == 3
