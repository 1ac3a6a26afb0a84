"""``run_proxy`` as the CLI runs it: a subprocess, per-call lines, SIGINT drains the capture."""

from __future__ import annotations

import contextlib
import signal
import xmlrpc.client
from pathlib import Path

import pytest

from rpcspy.capture import read_capture
from rpcspy.server import DemoServer
from tests.conftest import free_port
from tests.proxy.helpers import killing, spawn_run_proxy, stop_process, wait_listening


def run_and_call(
    demo: DemoServer,
    capture: Path,
    confdir: Path,
    calls: int,
    extra: str = "",
    env: dict[str, str] | None = None,
    sig: int = signal.SIGINT,
) -> tuple[int, str, str]:
    port = free_port()
    proc = spawn_run_proxy(
        f"target={demo.base_url!r}, listen_port={port}, capture=Path({str(capture)!r}), "
        f"confdir=Path({str(confdir)!r}){extra}",
        env=env,
    )
    with killing(proc):
        wait_listening(port)
        c = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2")
        for i in range(calls):
            assert c.echo(f"x{i}") == f"X{i}"
        with contextlib.suppress(xmlrpc.client.Fault):
            c.demo.fault(5, "five")
        # Stop right away: records still queued must be written before exit.
        out, err = stop_process(proc, sig)
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stops_on_signal_with_every_record_written(
    sig: int, demo: DemoServer, tmp_path: Path, confdir: Path
) -> None:
    capture = tmp_path / "run.jsonl"
    code, out, err = run_and_call(demo, capture, confdir, 100, sig=sig)
    assert code == 0, err
    records = list(read_capture(capture))
    assert len(records) == 101
    assert [r.method for r in records[:2]] == ["echo", "echo"]
    assert records[-1].fault_code == 5
    lines = out.splitlines()
    assert len(lines) == 101
    assert "echo" in lines[0] and lines[0].rstrip().endswith("ok") and " ms " in lines[0]
    assert "demo.fault" in lines[-1] and "fault 5: five" in lines[-1]
    assert "\x1b[" not in out  # not a terminal: no colour
    assert "rpcspy proxy on http://127.0.0.1:" in err
    assert "101 calls recorded" in err


def test_quiet_prints_no_lines(demo: DemoServer, tmp_path: Path, confdir: Path) -> None:
    code, out, err = run_and_call(demo, tmp_path / "q.jsonl", confdir, 3, ", quiet=True")
    assert code == 0, err
    assert out == ""
    assert len(list(read_capture(tmp_path / "q.jsonl"))) == 4


def test_colour_follows_force_color_and_no_color(
    demo: DemoServer, tmp_path: Path, confdir: Path
) -> None:
    _, out, _ = run_and_call(demo, tmp_path / "a.jsonl", confdir, 1, env={"FORCE_COLOR": "1"})
    assert "\x1b[" in out
    _, out, _ = run_and_call(
        demo, tmp_path / "b.jsonl", confdir, 1, env={"FORCE_COLOR": "1", "NO_COLOR": "1"}
    )
    assert "\x1b[" not in out


def test_mitmproxy_flow_lines_are_not_printed(
    demo: DemoServer, tmp_path: Path, confdir: Path
) -> None:
    _, out, err = run_and_call(demo, tmp_path / "c.jsonl", confdir, 2)
    assert "POST" not in out and "<< 200" not in out
    assert "client connect" not in err.lower()
