"""``rpcspy replay`` and ``rpcspy diff`` as real subprocesses: exit codes, output, reports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
import xmlrpc.client as xc
from pathlib import Path

from rpcspy.capture import CallRecord, HttpMessage, build_record
from tests.conftest import REPO, MakeServer, free_port
from tests.replay.support import (
    attempt,
    client,
    load,
    rpcspy_command,
    run_rpcspy,
    write_capture,
)


def test_replay_against_variant_2_reports_the_differences_and_fails(
    session: tuple[Path, list[CallRecord]], make_server: MakeServer, tmp_path: Path
) -> None:
    path, records = session
    server = make_server(variant=2)
    out = tmp_path / "new.jsonl"
    junit = tmp_path / "replay.xml"
    result = run_rpcspy(
        "replay",
        str(path),
        "--target",
        server.url,
        "--ignore",
        "demo.random",
        "-w",
        str(out),
        "--junit",
        str(junit),
    )
    assert result.code == 1, result.stderr
    assert '#1 demo.version  changed\n    result: string "1.0" -> string "2.0"\n' in result.stdout
    assert "#2 add  changed\n    result: int 5 -> double 5.0\n" in result.stdout
    assert "FAIL 9 calls: 5 same, 4 changed" in result.stdout
    written = load(out)
    assert [r.seq for r in written] == [r.seq for r in records]
    assert {r.origin for r in written} == {"replay"}
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "4" and suite.get("tests") == "9"


def test_replay_with_learned_noise_passes_and_reports_noise_apart(
    session: tuple[Path, list[CallRecord]], make_server: MakeServer
) -> None:
    path, _ = session
    server = make_server()
    result = run_rpcspy(
        "replay", str(path), "--target", server.url, "--learn-noise", "--concurrency", "3"
    )
    assert result.code == 0, result.stdout + result.stderr
    assert "noise (learned from known-good answers; not counted):" in result.stdout
    assert "demo.random: result.random" in result.stdout
    assert "OK 9 calls: 9 same" in result.stdout


def test_replay_json_report(
    session: tuple[Path, list[CallRecord]], make_server: MakeServer
) -> None:
    path, _ = session
    server = make_server(variant=2)
    result = run_rpcspy(
        "replay",
        str(path),
        "--target",
        server.url,
        "--json",
        "--ignore",
        "demo.random",
        "--only",
        "method:getData",
    )
    assert result.code == 1
    data = json.loads(result.stdout)
    assert data["summary"]["changed"] == 1 and data["summary"]["total"] == 1
    (call,) = data["calls"]
    assert call["method"] == "getData" and call["verdict"] == "changed"
    assert call["differences"][0]["text"] == 'result: string "42" -> int 42'


def test_dead_target_errors_every_call_and_writes_them_all(
    session: tuple[Path, list[CallRecord]], tmp_path: Path
) -> None:
    path, records = session
    out = tmp_path / "dead.jsonl"
    result = run_rpcspy(
        "replay",
        str(path),
        "--target",
        f"http://127.0.0.1:{free_port()}",
        "-w",
        str(out),
        "--timeout",
        "5",
    )
    assert result.code == 1
    assert result.stdout.count("error: connection refused") == len(records)
    written = load(out)
    assert len(written) == len(records)
    assert all(r.error == "connection refused" for r in written)


def test_skip_from_flags(make_server: MakeServer, tmp_path: Path) -> None:
    server = make_server()
    records: list[CallRecord] = []
    proxy = client(server.url, records)
    attempt(lambda: proxy.dir.create("made"))
    attempt(lambda: proxy.echo("x"))
    path = write_capture(tmp_path / "dirs.jsonl", records)
    result = run_rpcspy("replay", str(path), "--target", server.url, "--skip", "dir.*")
    assert result.code == 0, result.stdout
    assert "#1 dir.create  skipped: not re-sent (--skip 'dir.*')" in result.stdout
    again = run_rpcspy("replay", str(path), "--target", server.url)
    assert again.code == 1 and "#1 dir.create  new fault" in again.stdout


def test_usage_errors_exit_2(session: tuple[Path, list[CallRecord]]) -> None:
    path, _ = session
    assert run_rpcspy("replay", str(path)).code == 2  # --target is required
    bad_speed = run_rpcspy("replay", str(path), "--target", "http://127.0.0.1:1", "--speed", "x")
    assert bad_speed.code == 2 and "--speed" in bad_speed.stderr
    bad_only = run_rpcspy(
        "replay", str(path), "--target", "http://127.0.0.1:1", "--only", "method:("
    )
    assert bad_only.code == 2 and "--only: column" in bad_only.stderr
    bad_target = run_rpcspy("replay", str(path), "--target", "ftp://x")
    assert bad_target.code == 2 and "http://" in bad_target.stderr
    bad_rule = run_rpcspy(
        "replay", str(path), "--target", "http://127.0.0.1:1", "--ignore", "m: nothere.x"
    )
    assert bad_rule.code == 2
    same_file = run_rpcspy("replay", str(path), "--target", "http://127.0.0.1:1", "-w", str(path))
    assert same_file.code == 2
    no_password = run_rpcspy(
        "replay",
        str(path),
        "--target",
        "http://127.0.0.1:1",
        "--user",
        "alice",
        env={"RPCSPY_PASSWORD": ""},
    )
    assert no_password.code == 2 and "--user needs a password" in no_password.stderr
    lone_password = run_rpcspy(
        "replay",
        str(path),
        "--target",
        "http://127.0.0.1:1",
        "--password",
        "pw",
        env={"RPCSPY_USER": ""},
    )
    assert lone_password.code == 2 and "--password needs --user" in lone_password.stderr


def test_unreadable_captures_exit_3(tmp_path: Path) -> None:
    missing = run_rpcspy("replay", str(tmp_path / "nope.jsonl"), "--target", "http://127.0.0.1:1")
    assert missing.code == 3 and "no such capture file" in missing.stderr
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_text("hello, world\n")
    result = run_rpcspy("replay", str(foreign), "--target", "http://127.0.0.1:1")
    assert result.code == 3
    assert run_rpcspy("diff", str(foreign), str(foreign)).code == 3


def test_corrupt_lines_are_skipped_with_a_warning(
    session: tuple[Path, list[CallRecord]], make_server: MakeServer
) -> None:
    path, records = session
    with path.open("ab") as f:
        f.write(b'{"type": "call", "torn\n')
    server = make_server()
    result = run_rpcspy("replay", str(path), "--target", server.url, "--ignore", "demo.random")
    assert result.code == 4, result.stdout + result.stderr
    assert f"OK {len(records)} calls" in result.stdout
    assert "skipped" in result.stderr


def test_diff_of_two_captures(make_server: MakeServer, tmp_path: Path) -> None:
    one, two = make_server(), make_server(variant=2)
    a_records: list[CallRecord] = []
    b_records: list[CallRecord] = []
    pa, pb = client(one.url, a_records), client(two.url, b_records)
    attempt(lambda: pa.demo.version())
    attempt(lambda: pa.echo("a"))
    attempt(lambda: pa.echo("b"))
    attempt(lambda: pa.getData())
    attempt(lambda: pb.demo.version())
    attempt(lambda: pb.echo("b"))
    attempt(lambda: pb.getData())
    attempt(lambda: pb.echo("c"))
    a = write_capture(tmp_path / "a.jsonl", a_records)
    b = write_capture(tmp_path / "b.jsonl", b_records)
    result = run_rpcspy("diff", str(a), str(b))
    assert result.code == 1
    lines = result.stdout.splitlines()
    assert "#1 demo.version  changed" in lines
    assert '#2 echo  missing: only in A: echo("a")' in lines
    assert 'B#4 echo  extra: only in B: echo("c")' in lines
    assert "FAIL 5 calls: 1 same, 2 changed, 1 missing, 1 extra" in result.stdout
    same = run_rpcspy("diff", str(a), str(a), "--json")
    assert same.code == 0 and json.loads(same.stdout)["ok"] is True
    torn = tmp_path / "torn.jsonl"
    torn.write_bytes(a.read_bytes() + b'{"type": "call", "torn')
    partial = run_rpcspy("diff", str(a), str(torn))
    assert partial.code == 4, partial.stdout + partial.stderr
    assert "OK 4 calls: 4 same" in partial.stdout and "skipped" in partial.stderr


def test_skip_from_the_rules_file(make_server: MakeServer, tmp_path: Path) -> None:
    server = make_server()
    records: list[CallRecord] = []
    proxy = client(server.url, records)
    attempt(lambda: proxy.dir.create("made"))
    attempt(lambda: proxy.demo.random())
    path = write_capture(tmp_path / "dirs.jsonl", records)
    rules = tmp_path / "rules.toml"
    rules.write_text('skip = ["dir.create"]\n\n[[ignore]]\nmethod = "demo.random"\n')
    result = run_rpcspy("replay", str(path), "--target", server.url, "--rules", str(rules))
    assert result.code == 0, result.stdout + result.stderr
    assert "OK 2 calls: 1 same, 1 skipped" in result.stdout


def test_ctrl_c_reports_what_was_replayed_and_keeps_the_written_capture(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = make_server()
    records: list[CallRecord] = []
    attempt(lambda: client(server.url, records).echo("one"))
    # The second call keeps the server busy for 10 s when replayed; it is not recorded for
    # real (that would take the 10 s), only built from its bytes.
    slow = build_record(
        HttpMessage((), xc.dumps((10,), "demo.slow").encode()),
        None,
        started=records[0].started + 1,
        ended=None,
        client=None,
        server=None,
        scheme="http",
        host="127.0.0.1",
        port=server.port,
        path="/RPC2",
        status=None,
        error="not recorded",
        seq=2,
    )
    path = write_capture(tmp_path / "slow.jsonl", [records[0], slow])
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        [*rpcspy_command(), "replay", str(path), "--target", server.url, "-w", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        deadline = time.monotonic() + 20
        while not (out.exists() and len(load(out)) == 1):
            assert time.monotonic() < deadline, "the first call was not written in time"
            assert proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "interrupted after 1 calls" in stderr
    assert "1 call: 1 same" in stdout
    assert [r.method for r in load(out)] == ["echo"]
