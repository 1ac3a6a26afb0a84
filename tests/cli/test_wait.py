"""``rpcspy wait`` and ``--ready-file``: a script knows when a server it started is ready."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcspy.commands.lifecycle import ReadyFile
from tests.cli.servers import RPCSPY, server


def wait(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RPCSPY, "wait", *argv], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def listening() -> Iterator[int]:
    """A port of 127.0.0.1 that accepts connections."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("form", ["{port}", "127.0.0.1:{port}", "http://127.0.0.1:{port}/RPC2"])
def test_an_address_that_accepts_is_ready_at_once(form: str, listening: int) -> None:
    result = wait(form.format(port=listening), "--timeout", "10")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


def test_nothing_listening_times_out_with_exit_1(tmp_path: Path) -> None:
    port = _closed_port()
    started = time.monotonic()
    result = wait(str(port), "--file", str(tmp_path / "never"), "--timeout", "0.5")
    assert result.returncode == 1
    assert result.stderr == f"rpcspy: error: not ready after 0.5 s: {port}, {tmp_path}/never\n"
    assert time.monotonic() - started < 10


def test_a_dead_pid_fails_at_once() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    started = time.monotonic()
    result = wait(str(_closed_port()), "--pid", str(dead.pid), "--timeout", "30")
    assert result.returncode == 1
    assert result.stderr == f"rpcspy: error: process {dead.pid} exited before it was ready\n"
    assert time.monotonic() - started < 10


def test_a_ready_file_is_waited_for_and_its_url_printed(tmp_path: Path, listening: int) -> None:
    path = tmp_path / "server.url"
    url = f"http://127.0.0.1:{listening}/RPC2"

    def later() -> None:
        time.sleep(1)
        ReadyFile(path).write(url)

    writer = threading.Thread(target=later)
    writer.start()
    result = wait("--file", str(path), "--timeout", "30")
    writer.join()
    assert result.returncode == 0, result.stderr
    assert result.stdout == url + "\n"
    assert wait("--file", str(path), "-q").stdout == ""


def test_a_stale_ready_file_is_not_ready(tmp_path: Path) -> None:
    # Left behind by a killed server: its address no longer answers.
    path = tmp_path / "stale.url"
    path.write_text(f"http://127.0.0.1:{_closed_port()}/RPC2\n")
    result = wait("--file", str(path), "--timeout", "0.5")
    assert result.returncode == 1
    assert "not ready after 0.5 s" in result.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "nothing to wait for: give an ADDRESS or --file PATH"),
        (["host:port"], "not an address: not a port (0-65535): 'port' in 'host:port'"),
        (["0"], "not an address: port 0 is not an address to wait for: '0'"),
        (["8000", "--timeout", "0"], "--timeout must be more than 0 seconds"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str) -> None:
    result = wait(*argv)
    assert result.returncode == 2
    assert result.stderr == f"rpcspy: error: {message}\n"


def test_the_help_shows_a_script() -> None:
    result = subprocess.run([RPCSPY, "wait", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    examples = result.stdout.split("\nexamples:\n", 1)[1].splitlines()
    assert examples[0].startswith("  rpcspy wait ")
    assert any("--ready-file" in line and "&" in line for line in examples)
    assert "exit codes: 0 everything is ready, 1 timed out" in result.stdout


def test_ready_file_is_written_whole_once_listening_and_removed_on_exit(tmp_path: Path) -> None:
    ready = tmp_path / "serve.url"
    with server(["serve", "--listen", "0", "-q"], ready) as s:
        url = s.wait_ready()
        # The moment the file is there, the server answers; only the file is in its directory.
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        assert ready.read_text() == f"http://127.0.0.1:{port}/RPC2\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["serve.url"]
        result = wait("--file", str(ready), "--pid", str(s.proc.pid))
        assert result.stdout == url + "\n"
        stopped = s.stop(15)
    assert stopped.code == 0
    assert not ready.exists()


def test_ready_file_is_not_written_when_the_server_cannot_start(
    tmp_path: Path, listening: int
) -> None:
    ready = tmp_path / "mock.url"
    result = subprocess.run(
        [RPCSPY, "serve", "--port", str(listening), "--ready-file", str(ready)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert not ready.exists()


@pytest.mark.parametrize("command", [["serve"], ["mock", "x.jsonl"], ["proxy", "http://h:1"]])
def test_a_ready_file_in_a_missing_directory_is_a_usage_error(
    command: list[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "ready"
    result = subprocess.run(
        [RPCSPY, *command, "--port", "0", "--ready-file", str(missing)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == f"rpcspy: error: --ready-file: no such directory: {missing.parent}\n"
