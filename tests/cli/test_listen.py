"""Where ``serve``, ``mock`` and ``proxy`` listen: one spelling of the address for all three.

``--listen HOST:PORT`` (or ``PORT``) and ``--host``/``--port`` are both accepted everywhere;
mixing them is a usage error; a busy address is one clear error line naming it and the flags.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcspy.cli import build_parser
from rpcspy.commands.options import listen_address
from rpcspy.exits import EXIT_USAGE, CliError
from tests.cli.servers import RPCSPY, server
from tests.conftest import CAPTURES

CAPTURE = str(CAPTURES / "basics.jsonl")

#: Each server command's arguments before the address, and its default port.
COMMANDS = {
    "serve": ([], 8000),
    "mock": ([CAPTURE], 8000),
    "proxy": (["http://127.0.0.1:9"], 8080),
}


def parse(command: str, *flags: str) -> argparse.Namespace:
    before, _ = COMMANDS[command]
    return build_parser().parse_args([command, *before, *flags])


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--listen", "0.0.0.0:9001"], ("0.0.0.0", 9001)),
        (["--listen", "9001"], ("127.0.0.1", 9001)),
        (["--listen", ":9001"], ("127.0.0.1", 9001)),
        (["--listen", "[::1]:9001"], ("::1", 9001)),
        (["--host", "0.0.0.0", "--port", "9001"], ("0.0.0.0", 9001)),
        (["--port", "9001"], ("127.0.0.1", 9001)),
        (["--host", "::1"], ("::1", None)),
        (["--port", "0"], ("127.0.0.1", 0)),
        ([], ("127.0.0.1", None)),
    ],
)
def test_both_spellings_give_the_same_address(
    command: str, flags: list[str], expected: tuple[str, int | None]
) -> None:
    host, port = expected
    default_port = COMMANDS[command][1]
    assert listen_address(parse(command, *flags)) == (host, default_port if port is None else port)


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(
    "flags",
    [
        ["--listen", "9001", "--port", "9001"],
        ["--listen", "127.0.0.1:9001", "--host", "127.0.0.1"],
        ["--listen", "9001", "--host", "::1", "--port", "9002"],
    ],
)
def test_mixing_the_spellings_is_a_usage_error(command: str, flags: list[str]) -> None:
    with pytest.raises(CliError) as info:
        listen_address(parse(command, *flags))
    assert info.value.code == EXIT_USAGE
    assert "give the address once: --listen HOST:PORT, or --host and --port" in str(info.value)


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(
    "flags", [["--listen", "host:port"], ["--listen", "70000"], ["--port", "x"], ["--port", "-1"]]
)
def test_a_bad_address_is_a_usage_error_on_the_command_line(command: str, flags: list[str]) -> None:
    before, _ = COMMANDS[command]
    result = subprocess.run(
        [RPCSPY, command, *before, *flags], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    last = result.stderr.splitlines()[-1]
    assert "error: " in last and "not a port (0-65535)" in last, result.stderr


@pytest.mark.parametrize("command", list(COMMANDS))
def test_mixing_the_spellings_exits_2_before_anything_starts(command: str) -> None:
    before, _ = COMMANDS[command]
    result = subprocess.run(
        [RPCSPY, command, *before, "--listen", "0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "rpcspy: error: give the address once: --listen HOST:PORT, or --host and --port\n"
    )


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_help_documents_both_spellings_and_readiness(command: str) -> None:
    result = subprocess.run([RPCSPY, command, "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for flag in ("--listen HOST:PORT", "--host HOST", "--port PORT", "--ready-file PATH"):
        assert flag in text, flag
    assert "--listen HOST:PORT (or PORT, or [IPv6]:PORT), or --host HOST and --port PORT" in text
    assert "rpcspy wait --file" in text
    assert "Ctrl-C or SIGTERM" in text


@pytest.mark.parametrize("spelling", ["--listen", "--port"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_server_listens_where_either_spelling_says(
    command: str, spelling: str, tmp_path: Path, confdir: Path
) -> None:
    port = _free_port()
    before, _ = COMMANDS[command]
    argv = [command, *before, spelling, str(port)]
    if command == "proxy":
        argv += ["--confdir", str(confdir)]
    with server(argv, tmp_path / "ready") as s:
        url = s.wait_ready()
        assert f"127.0.0.1:{port}" in url
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        stopped = s.stop(15)
    assert stopped.code == 0, stopped.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port of 127.0.0.1 that something else listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


@pytest.mark.parametrize("spelling", ["--listen", "--port"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_busy_port_is_one_clear_error(
    command: str, spelling: str, busy_port: int, confdir: Path
) -> None:
    before, _ = COMMANDS[command]
    argv = [RPCSPY, command, *before, spelling, str(busy_port)]
    if command == "proxy":
        argv += ["--confdir", str(confdir)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        f"rpcspy: error: cannot listen on 127.0.0.1:{busy_port}: address already in use; "
        "choose another with --listen HOST:PORT (or --port PORT; 0 picks a free one)\n"
    )
    assert result.stdout == ""


def test_the_runner_raises_one_listen_error_and_prints_nothing(
    busy_port: int, confdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rpcspy.proxy import ListenError, ProxyConfig
    from rpcspy.proxy.background import BackgroundProxy

    config = ProxyConfig(
        target="http://127.0.0.1:9", listen_port=busy_port, confdir=confdir, quiet=True
    )
    with pytest.raises(ListenError) as info:
        BackgroundProxy(config).start()
    error = info.value
    assert (error.host, error.port, error.reason) == (
        "127.0.0.1",
        busy_port,
        "Address already in use",
    )
    assert str(error) == f"cannot listen on 127.0.0.1:{busy_port}: Address already in use"
    # mitmproxy's own report (and its '--mode ...@PORT' advice) is not printed beside it.
    assert capsys.readouterr().err == ""
