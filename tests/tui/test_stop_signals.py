"""SIGTERM, SIGINT and SIGHUP on the real terminal UI, in a pseudo-terminal.

Killed by a signal's default action, the app would leave the terminal in its alternate screen and,
in live mode, lose the records the proxy was still writing. ``rpcspy tui`` ends as ``q`` ends it
and exits 143 (SIGTERM) or 130 (SIGINT); ``rpcspy proxy --tui`` stops as the proxy without the UI
does (SIGTERM, SIGINT, SIGHUP): every record written, ``rpcspy proxy stopped; N calls recorded``,
exit 0.
"""

from __future__ import annotations

import os
import signal
import sys
import xmlrpc.client
from pathlib import Path

import pytest

from rpcspy.capture import read_capture
from tests.conftest import MakeServer, free_port
from tests.hostile.terminal_app import TuiProcess

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "captures" / "basics.jsonl"
LEAVE_ALTERNATE_SCREEN = b"\x1b[?1049l"


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "RPCSPY_CACHE_DIR": str(tmp / "cache"), "NO_COLOR": "1"}


@pytest.mark.parametrize(("sig", "code"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_tui_gives_the_terminal_back_on_a_stop_signal(tmp_path: Path, sig: str, code: int) -> None:
    argv = [sys.executable, "-m", "rpcspy", "tui", str(SAMPLE)]
    with TuiProcess(argv, env=_env(tmp_path)) as tui:
        tui.wait_for("system.listMethods", timeout=60)
        drawn = len(tui.raw())
        assert LEAVE_ALTERNATE_SCREEN not in tui.raw()
        tui.send(signal.Signals[sig])
        assert tui.finish(timeout=30) == code
        after = tui.raw()[drawn:]
    assert LEAVE_ALTERNATE_SCREEN in after  # the terminal is given back
    assert b"Traceback" not in after


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_live_mode_writes_every_record_on_a_stop_signal(
    tmp_path: Path, make_server: MakeServer, sig: str
) -> None:
    server = make_server()
    port = free_port()
    capture = tmp_path / "live.jsonl"
    argv = [
        sys.executable,
        "-m",
        "rpcspy",
        "proxy",
        server.base_url,
        "--listen",
        f"127.0.0.1:{port}",
        "-w",
        str(capture),
        "--confdir",
        str(tmp_path / "mitmproxy"),
        "--tui",
    ]
    with TuiProcess(argv, env=_env(tmp_path)) as tui:
        tui.wait_for(f"127.0.0.1:{port}", timeout=90)
        client = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2")
        for i in range(5):
            assert client.add(i, 1) == i + 1
        tui.wait_for("add", timeout=30)
        tui.send(signal.Signals[sig])
        assert tui.finish(timeout=60) == 0  # as the proxy without the UI
        text = tui.text()
    assert "rpcspy proxy stopped; 5 calls recorded" in text
    with read_capture(capture) as reader:
        methods = [record.method for record in reader]
    assert methods == ["add"] * 5
