"""``rpcspy replay`` of ONC RPC and RPyC captures against tcp:// and udp:// targets.

The captures are the real peers' recorded bytes (tests/data/oncrpc, tests/data/rpyc) read by
``rpcspy.streams`` as the proxy reads them; the targets are real servers on 127.0.0.1: the
rpcgen C server, ``rpcspy serve --protocol oncrpc``, a server whose LOOKUP answers otherwise,
a fresh ``rpyc_classic``.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from rpcspy.capture import read_capture
from rpcspy.oncrpc import RecordDecoder, Union, frame_record
from rpcspy.server.oncrpc import OncRpcServer, responder
from rpcspy.server.rpc_example import EXAMPLE_PROCEDURES
from tests.cli.servers import RPCSPY, Server
from tests.oncrpc.peers import example_server
from tests.oncrpc.tool_peers import (
    EXAMPLE_X,
    build_c_peers,
    capture_of,
    example_interface,
    rpyc_capture_of,
)
from tests.rpyc import fixtures
from tests.rpyc.peers import classic_server


def _replay(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RPCSPY, "replay", *argv], capture_output=True, text=True, timeout=120)


def _report(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="module")
def c_peers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_c_peers(tmp_path_factory.mktemp("rpc_example"))


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_the_rpcgen_clients_calls_replay_the_same_against_rpcspy_serve(
    transport: str, tmp_path: Path
) -> None:
    capture = tmp_path / "calls.jsonl"
    recorded = capture_of(f"example_{transport}.json", capture)
    server = Server(
        ["serve", "--protocol", "oncrpc", "--idl", str(EXAMPLE_X), "--no-register", "--port", "0"],
        tmp_path / "ready",
    )
    try:
        port = int(server.wait_ready().rsplit(":", 1)[1])
        out = tmp_path / "new.jsonl"
        result = _replay(
            str(capture),
            "--target",
            f"{transport}://127.0.0.1:{port}",
            "--idl",
            str(EXAMPLE_X),
            "--json",
            "--all",
            "-w",
            str(out),
        )
    finally:
        stopped = server.stop(signal.SIGTERM)
    assert result.returncode == 0, result.stdout + result.stderr
    report = _report(result)
    assert report["summary"]["same"] == report["summary"]["total"] == len(recorded) == 11
    assert [c["method"] for c in report["calls"]] == [r.method for r in recorded]
    # The server saw every call again, with fresh xids; the new records keep the numbers.
    assert stopped.stderr.count(f"{transport} RPC_EXAMPLE_PROG.RPC_EXAMPLE_VERS.") == 9
    new = list(read_capture(out))
    assert [r.seq for r in new] == [r.seq for r in recorded]
    assert all(r.origin == "replay" and r.transport == transport for r in new)
    old_xids = {r.request.native["xid"] for r in recorded if r.request.native}
    assert not old_xids & {r.request.native["xid"] for r in new if r.request.native}
    # Only the xid changed in what was sent.
    for old, fresh in zip(recorded, new, strict=True):
        assert old.request.body is not None and fresh.request.body is not None
        cut = 8 if transport == "tcp" else 4  # record mark + xid, or the xid alone
        assert old.request.body[cut:] == fresh.request.body[cut:]


@pytest.mark.interop
def test_replay_against_the_rpcgen_c_server_over_both_transports(
    c_peers: tuple[Path, Path], tmp_path: Path
) -> None:
    c_server, _ = c_peers
    capture = tmp_path / "calls.jsonl"
    capture_of("example_tcp.json", capture)
    with example_server(c_server) as port:
        for transport in ("tcp", "udp"):
            result = _replay(
                str(capture), "--target", f"{transport}://127.0.0.1:{port}", "--idl", str(EXAMPLE_X)
            )
            assert result.returncode == 0, result.stdout + result.stderr
            assert "OK 11 calls: 11 same" in result.stdout


def test_without_the_idl_the_result_bytes_decide(tmp_path: Path) -> None:
    capture = tmp_path / "calls.jsonl"
    capture_of("example_udp.json", capture)
    with OncRpcServer(responder(example_interface(), EXAMPLE_PROCEDURES), quiet=True) as server:
        result = _replay(str(capture), "--target", f"udp://127.0.0.1:{server.port}", "--json")
    assert result.returncode == 0, result.stdout
    report = _report(result)
    assert report["summary"]["same"] == 11
    raw = [c for c in report["calls"] if c["message"]]
    assert len(raw) == 9 and all("compared as raw XDR" in c["message"] for c in raw)


def test_a_changed_answer_is_reported_by_path_in_text_json_and_junit(tmp_path: Path) -> None:
    capture = tmp_path / "calls.jsonl"
    capture_of("example_tcp.json", capture)

    def lookup(args: tuple[Any, ...]) -> object:
        found = EXAMPLE_PROCEDURES["LOOKUP"](args)
        assert isinstance(found, Union)
        if found.arm != "found":
            return found
        person = dict(found.value)  # type: ignore[call-overload]
        person["age"] = int(person["age"]) + 1
        return Union(found.type, found.discriminant, found.arm, person)  # type: ignore[arg-type]

    procedures = {**EXAMPLE_PROCEDURES, "LOOKUP": lookup}
    junit = tmp_path / "replay.xml"
    with OncRpcServer(responder(example_interface(), procedures), quiet=True) as server:
        target = f"tcp://127.0.0.1:{server.port}"
        text = _replay(str(capture), "--target", target, "--idl", str(EXAMPLE_X))
        as_json = _replay(
            str(capture),
            "--target",
            target,
            "--idl",
            str(EXAMPLE_X),
            "--json",
            "--junit",
            str(junit),
        )
    assert text.returncode == as_json.returncode == 1
    assert "result.found.age: uint 36 -> uint 37" in text.stdout
    assert "result.found.age: uint 79 -> uint 80" in text.stdout  # LOOKUP 2: Charles
    assert "FAIL 11 calls: 9 same, 2 changed" in text.stdout
    report = _report(as_json)
    changed = [c for c in report["calls"] if c["verdict"] == "changed"]
    assert [c["seq"] for c in changed] == [4, 5]
    assert changed[1]["differences"][0]["path"] == "result.found.age"
    with OncRpcServer(responder(example_interface(), procedures), quiet=True) as server:
        target = f"tcp://127.0.0.1:{server.port}"
        common = ("--target", target, "--idl", str(EXAMPLE_X), "--json", "--all")
        ignored = _replay(
            str(capture), *common, "--only", "method:*.LOOKUP", "--ignore", "*: result.found.age"
        )
        skipped = _replay(str(capture), *common, "--skip", "*.LOOKUP")
    assert ignored.returncode == 0, ignored.stdout
    only_lookups = _report(ignored)
    assert only_lookups["summary"]["same"] == only_lookups["summary"]["total"] == 3
    assert [c["ignored"] for c in only_lookups["calls"]] == [1, 1, 0]
    assert skipped.returncode == 0, skipped.stdout
    without = _report(skipped)
    assert (without["summary"]["same"], without["summary"]["skipped"]) == (8, 3)
    assert {c["message"] for c in without["calls"] if c["verdict"] == "skipped"} == {
        "not re-sent (--skip '*.LOOKUP')"
    }
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "2" and suite.get("tests") == "11"


def test_a_silent_or_absent_server_is_an_error_per_call(tmp_path: Path) -> None:
    capture = tmp_path / "calls.jsonl"
    capture_of("example_udp.json", capture)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        result = _replay(
            str(capture), "--target", f"udp://127.0.0.1:{port}", "--timeout", "0.3", "--json"
        )
    assert result.returncode == 1
    report = _report(result)
    assert report["summary"]["error"] == 11
    assert all(c["message"] == "timed out after 0.3 s" for c in report["calls"])
    with OncRpcServer(responder(example_interface(), {}), quiet=True) as server:
        closed = server.port
    absent = _report(_replay(str(capture), "--target", f"tcp://127.0.0.1:{closed}", "--json"))
    assert absent["summary"]["error"] == 11
    assert all(c["message"] == "cannot connect: connection refused" for c in absent["calls"])


def test_http_only_options_are_refused_for_a_native_target(tmp_path: Path) -> None:
    capture = tmp_path / "calls.jsonl"
    capture_of("example_udp.json", capture)
    result = _replay(str(capture), "--target", "udp://127.0.0.1:9", "--reencode", "--speed", "2x")
    assert result.returncode == 2
    assert "--reencode, --speed: HTTP replay only, not a udp:// target" in result.stderr
    bad = _replay(str(capture), "--target", "tcp://127.0.0.1")
    assert bad.returncode == 2 and "tcp://HOST:PORT" in bad.stderr


@pytest.mark.interop
def test_the_rpyc_tutorial_session_replays_best_effort_on_a_fresh_rpyc_classic(
    tmp_path: Path,
) -> None:
    capture = tmp_path / "rpyc.jsonl"
    rpyc_capture_of("tutorial", capture)
    cwd = tmp_path / "srv"
    cwd.mkdir()
    with classic_server(cwd) as server:
        result = _replay(
            str(capture), "--target", f"tcp://127.0.0.1:{server.port}", "--json", "--all"
        )
    report = _report(result)
    by_method = {c["method"]: c for c in report["calls"]}
    getcwd = by_method["modules.os.getcwd()"]
    recorded_cwd = fixtures.load("tutorial").meta["server_cwd"]
    assert getcwd["verdict"] == "changed"
    assert getcwd["message"] == f"recorded {recorded_cwd!r}, now {str(cwd)!r}"
    write = by_method["modules.sys.stdout.write('This is a message from the RPC client.\\n')"]
    assert write["verdict"] == "same"
    for name in ("root", "modules.os", "modules.sys.path", "iter(modules.sys.path)"):
        assert by_method[name]["verdict"] == "same", name
    assert by_method["close()"]["message"] == "not answered: the server closes instead"
    # sys.path items are the same only where the fresh server's path has them.
    assert report["summary"]["changed"] >= 1 and result.returncode == 1


def test_rpyc_operations_on_netrefs_that_no_longer_exist_are_skipped_with_why(
    tmp_path: Path,
) -> None:
    capture = tmp_path / "rpyc.jsonl"
    records = rpyc_capture_of("tour", capture)
    assert records
    cwd = tmp_path / "srv"
    cwd.mkdir()
    with classic_server(cwd) as server:
        result = _replay(
            str(capture), "--target", f"tcp://127.0.0.1:{server.port}", "--json", "--all"
        )
    report = _report(result)
    skipped = [c for c in report["calls"] if c["verdict"] == "skipped"]
    reasons = " | ".join(c["message"] for c in skipped)
    assert "by reference; the replayer has no such object" in reasons
    assert "does not exist on the fresh server" in reasons
    assert report["summary"]["same"] > len(skipped)


def test_a_stray_reply_before_the_right_one_is_not_taken_for_it(tmp_path: Path) -> None:
    capture = tmp_path / "calls.jsonl"
    recorded = capture_of("example_tcp.json", capture)
    real = responder(example_interface(), EXAMPLE_PROCEDURES)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        decoder = RecordDecoder()
        with conn:
            while data := conn.recv(65536):
                for message in decoder.feed(data):
                    answer = real(message).reply
                    assert answer is not None
                    stray = (int.from_bytes(answer[:4]) ^ 0x5A5A).to_bytes(4, "big")
                    conn.sendall(frame_record(stray + answer[4:]) + frame_record(answer))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        result = _replay(
            str(capture), "--target", f"tcp://127.0.0.1:{port}", "--idl", str(EXAMPLE_X)
        )
    finally:
        listener.close()
    assert f"OK {len(recorded)} calls: {len(recorded)} same" in result.stdout, result.stdout


def test_an_http_target_leaves_native_calls_out(tmp_path: Path) -> None:
    capture = tmp_path / "calls.jsonl"
    capture_of("example_udp.json", capture)
    result = _replay(str(capture), "--target", "http://127.0.0.1:9/RPC2", "--json")
    report = _report(result)
    assert result.returncode == 0
    assert report["summary"]["skipped"] == report["summary"]["total"] == 11
    assert {c["message"] for c in report["calls"]} == {
        "an ONC RPC call: replay it against a udp:// target"
    }
