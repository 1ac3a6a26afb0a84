"""Every long-running command stops cleanly on SIGINT and SIGTERM, even started from a script.

Each command runs as a subprocess whose SIGINT disposition is inherited as ignored (what ``&``
in a script and ``nohup`` give it): Ctrl-C must still stop it, as SIGTERM must, with its
summary, its documented exit code, its ready file removed and its capture complete.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path

import pytest

from rpcspy.capture import CallRecord, HttpMessage, build_record, read_capture
from tests.cli.servers import RPCSPY, ignore_sigint, server
from tests.conftest import REPO, MakeServer
from tests.replay.support import attempt, client, write_capture

SIGNALS = pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
#: The proxy also stops cleanly when its terminal closes (SIGHUP), writing every pending record.
PROXY_SIGNALS = pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"]
)


def test_a_script_background_job_really_has_sigint_ignored(tmp_path: Path) -> None:
    # The premise of these tests: without an explicit handler, SIGINT would do nothing.
    proc = subprocess.Popen(
        [sys.executable, "-c", "import signal; print(signal.getsignal(signal.SIGINT) == 1)"],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=ignore_sigint,
    )
    out, _ = proc.communicate(timeout=30)
    assert out.strip() == "True"  # SIG_IGN


@SIGNALS
def test_serve_stops_on_the_signal(sig: int, tmp_path: Path) -> None:
    ready = tmp_path / "serve.url"
    with server(["serve", "--port", "0"], ready) as s:
        url = s.wait_ready()
        assert xmlrpc.client.ServerProxy(url).echo("bg") == "BG"
        stopped = s.stop(sig)
    assert stopped.code == 0, stopped.stderr
    assert f"rpcspy demo server on {url}" in stopped.stderr
    assert " echo -> 200 " in stopped.stderr  # the request log came out before the end
    name = signal.Signals(sig).name
    assert stopped.stderr.rstrip().endswith(f"rpcspy demo server stopped ({name})")
    assert not ready.exists()


@SIGNALS
def test_mock_stops_on_the_signal_with_its_counts(
    sig: int, make_server: MakeServer, tmp_path: Path
) -> None:
    records: list[CallRecord] = []
    attempt(lambda: client(make_server().url, records).echo("one"))
    capture = write_capture(tmp_path / "one.jsonl", records)
    ready = tmp_path / "mock.url"
    with server(["mock", str(capture), "--listen", "0"], ready) as s:
        url = s.wait_ready()
        proxy = xmlrpc.client.ServerProxy(url)
        assert proxy.echo("one") == "ONE"
        with pytest.raises(xmlrpc.client.Fault):
            proxy.echo("two")
        stopped = s.stop(sig)
    assert stopped.code == 0, stopped.stderr
    assert stopped.stderr.splitlines()[-1] == "rpcspy mock: 1 matched, 1 missed"
    assert not ready.exists()


@PROXY_SIGNALS
def test_proxy_stops_on_the_signal_with_the_capture_complete(
    sig: int, make_server: MakeServer, tmp_path: Path, confdir: Path
) -> None:
    upstream = make_server()
    capture = tmp_path / "calls.jsonl"
    ready = tmp_path / "proxy.url"
    argv = ["proxy", upstream.base_url, "--port", "0", "-w", str(capture)]
    with server([*argv, "--confdir", str(confdir)], ready) as s:
        url = s.wait_ready()
        proxy = xmlrpc.client.ServerProxy(url + "/RPC2")
        for i in range(20):
            assert proxy.echo(f"x{i}") == f"X{i}"
        stopped = s.stop(sig)
    assert stopped.code == 0, stopped.stderr
    assert len(stopped.stdout.splitlines()) == 20
    assert "rpcspy proxy stopped; 20 calls recorded" in stopped.stderr
    assert [r.method for r in read_capture(capture)] == ["echo"] * 20
    assert not ready.exists()


@SIGNALS
def test_replay_is_interrupted_by_the_signal_and_reports(
    sig: int, make_server: MakeServer, tmp_path: Path
) -> None:
    target = make_server()
    records: list[CallRecord] = []
    attempt(lambda: client(target.url, records).echo("one"))
    # Replayed, the second call keeps the server busy for 10 s: the signal comes meanwhile.
    slow = build_record(
        HttpMessage((), xmlrpc.client.dumps((10,), "demo.slow").encode()),
        None,
        started=records[0].started + 1,
        ended=None,
        client=None,
        server=None,
        scheme="http",
        host="127.0.0.1",
        port=target.port,
        path="/RPC2",
        status=None,
        error="not recorded",
        seq=2,
    )
    capture = write_capture(tmp_path / "slow.jsonl", [records[0], slow])
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        [RPCSPY, "replay", str(capture), "--target", target.url, "-w", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1"},
        preexec_fn=ignore_sigint,
    )
    try:
        deadline = time.monotonic() + 30
        while not (out.exists() and len(list(read_capture(out))) == 1):
            assert time.monotonic() < deadline, "the first call was not written in time"
            assert proc.poll() is None
            time.sleep(0.05)
        started = time.monotonic()
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert time.monotonic() - started < 8, "it waited for the slow call instead of stopping"
    name = signal.Signals(sig).name
    assert f"interrupted after 1 calls ({name})" in stderr
    assert "1 call: 1 same" in stdout
    assert [r.method for r in read_capture(out)] == ["echo"]
