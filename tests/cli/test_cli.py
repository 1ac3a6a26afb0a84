"""The ``rpcspy`` command as a user runs it: the installed entry point, as a subprocess."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path

import pytest

from rpcspy.cli import COMMANDS
from tests.conftest import free_port

RPCSPY = str(Path(sys.executable).with_name("rpcspy"))


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [RPCSPY, *args], capture_output=True, text=True, timeout=timeout, env=full_env
    )


def test_help_lists_every_command_and_the_exit_codes() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert f"\n    {command} " in result.stdout, command
    assert "exit codes" in result.stdout
    assert "NO_COLOR" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_explains_itself(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0
    assert "usage: rpcspy " + command in result.stdout
    assert len(result.stdout.splitlines()) > 5
    # Every command shows how it is used: an "examples:" section of "rpcspy COMMAND ..." lines.
    examples = result.stdout.split("\nexamples:\n", 1)
    assert len(examples) == 2, result.stdout
    lines = examples[1].splitlines()
    assert lines and lines[0].startswith(f"  rpcspy {command}"), lines[:1]


def test_the_help_lists_the_commands_of_the_one_list() -> None:
    from rpcspy.cli import COMMANDS

    result = run("--help")
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("    ")]
    assert [name for name in listed if name in COMMANDS] == list(COMMANDS)


def test_no_command_is_a_usage_error_on_stderr() -> None:
    result = run()
    assert result.returncode == 2
    assert result.stdout == ""
    assert "required" in result.stderr


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("rpcspy ")


def test_demo_runs_every_scenario_and_passes() -> None:
    result = run("demo")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all 48 steps behaved as expected" in result.stdout
    for scenario in ("basics", "multicall", "auth", "tls", "faults", "validator1", "large"):
        assert scenario in result.stdout
    assert "\x1b[" not in result.stdout  # NO_COLOR


def test_demo_quiet_prints_only_the_summary_and_where_the_captures_are(tmp_path: Path) -> None:
    result = run("demo", "-q", "--scenario", "basics", "--out", str(tmp_path))
    assert result.returncode == 0
    assert result.stdout.strip().splitlines() == [
        "all 20 steps behaved as expected",
        f"captures in {tmp_path}/",
    ]
    assert (tmp_path / "basics.jsonl").is_file()


def test_demo_out_must_be_a_directory(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = run("demo", "--out", str(not_a_dir))
    assert result.returncode == 2
    assert "--out is not a directory" in result.stderr


def test_demo_unknown_scenario_is_a_usage_error() -> None:
    result = run("demo", "--scenario", "nope")
    assert result.returncode == 2
    assert "unknown scenario nope" in result.stderr


def test_demo_lists_scenarios() -> None:
    result = run("demo", "--list")
    assert result.returncode == 0
    assert result.stdout.split()[0] == "basics"


def _wait_for_server(url: str, proc: subprocess.Popen[str], deadline: float = 20) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        assert proc.poll() is None, proc.communicate()
        try:
            with xmlrpc.client.ServerProxy(url) as p:
                p.system.listMethods()
            return
        except (ConnectionError, xmlrpc.client.ProtocolError):
            time.sleep(0.05)
    raise AssertionError("server did not come up")


def test_serve_answers_and_stops_cleanly_on_sigint() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [RPCSPY, "serve", "--port", str(port), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        url = f"http://127.0.0.1:{port}/RPC2"
        _wait_for_server(url, proc)
        with xmlrpc.client.ServerProxy(url) as p:
            assert p.echo("through the cli") == "THROUGH THE CLI"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode in (0, 130)
        assert f"http://127.0.0.1:{port}/RPC2" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_serve_with_auth_from_the_environment() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [RPCSPY, "serve", "--port", str(port), "-q", "--user", "bob"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RPCSPY_PASSWORD": "s3cret"},
    )
    try:
        _wait_for_server(f"http://bob:s3cret@127.0.0.1:{port}/RPC2", proc)
        with (
            pytest.raises(xmlrpc.client.ProtocolError) as info,
            xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2") as p,
        ):
            p.echo("x")
        assert info.value.errcode == 401
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def test_serve_on_a_busy_port_says_so() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = run("serve", "--port", str(port))
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_serve_user_without_password_is_a_usage_error() -> None:
    result = run("serve", "--user", "bob", env={"RPCSPY_PASSWORD": ""})
    assert result.returncode == 2
    assert "--user needs a password" in result.stderr


def test_serve_with_a_bad_certificate_says_so(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate\n")
    result = run("serve", "--port", "0", "--tls", "--cert", str(cert))
    assert result.returncode == 3
    assert "cannot use the TLS certificate or key" in result.stderr


def test_serve_missing_root_is_an_input_error(tmp_path: Path) -> None:
    result = run("serve", "--root", str(tmp_path / "missing"))
    assert result.returncode == 3
    assert "--root is not a directory" in result.stderr


def test_the_command_line_loads_neither_mitmproxy_nor_textual_until_needed() -> None:
    # Every command starts by building the parser: importing mitmproxy there cost 0.6 s a run.
    code = (
        "import sys, rpcspy.cli\n"
        "rpcspy.cli.build_parser()\n"
        "print(sorted(m for m in ('mitmproxy', 'textual', 'lxml') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_command_run_builds_only_its_own_parser_and_says_the_same() -> None:
    # ``rpcspy tui ...`` imports the tui command's module, not the fifteen others.
    code = (
        "import sys, rpcspy.cli\n"
        "try:\n"
        "    rpcspy.cli.main(['wait', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('rpcspy.commands.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    modules = out.stdout.strip().splitlines()[-1]
    assert "rpcspy.commands.wait" in modules
    assert not any(f"'rpcspy.commands.{name}'" in modules for name in ("tui", "proxy", "query"))
    # Its help and its options are the same as with every command registered.
    from rpcspy.cli import COMMANDS, build_parser

    def sub_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return dict(action.choices)

    whole = sub_parsers(build_parser())
    for name in COMMANDS:
        alone = sub_parsers(build_parser(name))
        assert list(alone) == [name]
        assert alone[name].format_help() == whole[name].format_help()


def test_an_unknown_or_missing_command_is_a_usage_error_that_lists_every_command() -> None:
    # Only a command named first gets a parser of its own; a typo sees them all.
    for args, says in (
        (["tiu", "capture.jsonl"], "invalid choice: 'tiu'"),
        ([], "required: COMMAND"),
        (["--no-such-option", "tui", "x.jsonl"], "unrecognized arguments: --no-such-option"),
    ):
        result = run(*args)
        assert result.returncode == 2, args
        assert result.stdout == "" and says in result.stderr, result.stderr
    listed = run("tiu").stderr
    assert all(f"'{name}'" in listed for name in COMMANDS)
