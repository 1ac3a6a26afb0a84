"""Call numbers across proxy sessions appending to one capture (issue 11, item 16)."""

from __future__ import annotations

import os
import signal
import subprocess
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcspy.capture import CaptureWriter, read_capture
from rpcspy.server import DemoServer, ServerConfig
from tests.conftest import REPO, free_port
from tests.proxy.helpers import PYTHON, killing, spawn_run_proxy, stop_process, wait_listening


@pytest.fixture
def demo() -> Iterator[DemoServer]:
    with DemoServer(ServerConfig(port=0, quiet=True)) as server:
        yield server


def _session(demo: DemoServer, capture: Path, confdir: Path, words: list[str]) -> None:
    port = free_port()
    proc = spawn_run_proxy(
        f"target={demo.base_url!r}, listen_port={port}, capture=Path({str(capture)!r}), "
        f"confdir=Path({str(confdir)!r}), quiet=True"
    )
    with killing(proc):
        wait_listening(port)
        client = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2")
        for word in words:
            assert client.echo(word) == word.upper()
        _, err = stop_process(proc, signal.SIGINT)
    assert proc.returncode == 0, err.decode()


def _show(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "rpcspy", "show", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )


@pytest.mark.parametrize("name", ["twice.jsonl", "twice.jsonl.gz"])
def test_a_second_session_appending_goes_on_numbering(
    name: str, demo: DemoServer, tmp_path: Path
) -> None:
    capture = tmp_path / name
    confdir = tmp_path / "confdir"
    _session(demo, capture, confdir, ["a", "b", "c", "d"])
    _session(demo, capture, confdir, ["e", "f", "g", "h"])
    records = list(read_capture(capture))
    assert [str(r.call.params[0]) for r in records if r.call is not None] == list("abcdefgh")
    assert [r.seq for r in records] == [1, 2, 3, 4, 5, 6, 7, 8]
    # Each number names one call; a number past the last is an error, not an id prefix.
    shown = _show(str(capture), "--call", "6")
    assert shown.returncode == 0, shown.stderr
    assert "call #6 " in shown.stdout and 'params[0]: string "f"' in shown.stdout
    missing = _show(str(capture), "--call", "9")
    assert missing.returncode == 3
    assert missing.stdout == ""
    assert "no call '9'" in missing.stderr


def test_writer_reads_the_last_seq_past_a_torn_or_bad_tail(tmp_path: Path) -> None:
    from tests.cli.test_show import call, exchange, result

    for name in ("t.jsonl", "t.jsonl.gz"):
        path = tmp_path / name
        with CaptureWriter(path) as writer:
            assert writer.last_seq == 0
            for seq in (1, 2, 41):
                writer.write(exchange(seq, call("echo", "x"), result("X")))  # type: ignore[arg-type]
        if not name.endswith(".gz"):
            with open(path, "ab") as f:
                f.write(b'{"type": "call", "seq": 99, "torn')
        with CaptureWriter(path) as writer:
            assert writer.last_seq == 41, name
