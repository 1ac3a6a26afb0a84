"""``rpcspy diff`` of ONC RPC and RPyC captures: calls matched by protocol, procedure numbers and
typed arguments (not by xid, credentials or transport), answers compared as typed values."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from rpcspy.capture import CaptureWriter, read_capture
from rpcspy.oncrpc import Union
from rpcspy.server.oncrpc import OncRpcServer, responder
from rpcspy.server.rpc_example import EXAMPLE_PROCEDURES
from tests.cli.servers import RPCSPY
from tests.oncrpc.tool_peers import EXAMPLE_X, capture_of, example_interface, rpyc_capture_of
from tests.rpyc import fixtures
from tests.rpyc.peers import classic_server, server_truth


def _diff(a: Path, b: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = subprocess.run(
        [RPCSPY, "diff", str(a), str(b), "--json", *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, json.loads(result.stdout)


def test_the_same_calls_over_tcp_and_udp_are_the_same(tmp_path: Path) -> None:
    code, report = _diff(
        _made(tmp_path, "example_tcp.json", "a"), _made(tmp_path, "example_udp.json", "b")
    )
    assert code == 0
    assert report["summary"]["same"] == report["summary"]["total"] == 11


def _made(tmp_path: Path, fixture: str, name: str) -> Path:
    path = tmp_path / f"{name}.jsonl"
    capture_of(fixture, path)
    return path


def test_a_changed_result_a_missing_call_and_a_new_fault(tmp_path: Path) -> None:
    a = _made(tmp_path, "example_tcp.json", "a")

    def lookup(args: tuple[Any, ...]) -> object:
        found = EXAMPLE_PROCEDURES["LOOKUP"](args)
        assert isinstance(found, Union)
        if found.arm == "error":
            return Union(found.type, found.discriminant, found.arm, "nobody here")
        return found

    procedures = {**EXAMPLE_PROCEDURES, "LOOKUP": lookup}
    procedures.pop("AREA")
    replayed = tmp_path / "replayed.jsonl"
    extra = ("--idl", str(EXAMPLE_X), "-w", str(replayed))
    with OncRpcServer(responder(example_interface(), procedures), quiet=True) as server:
        subprocess.run(
            [RPCSPY, "replay", str(a), "--target", f"tcp://127.0.0.1:{server.port}", *extra],
            capture_output=True,
            timeout=120,
        )
    # B lacks the first ECHO.
    b = tmp_path / "b.jsonl"
    with CaptureWriter(b) as writer:
        for record in list(read_capture(replayed))[1:]:
            writer.write(dataclasses.replace(record))
    code, report = _diff(a, b)
    assert code == 1
    calls = {(c["seq"], c["verdict"]): c for c in report["calls"]}
    assert (1, "missing") in calls
    nobody = calls[(6, "changed")]
    assert [d["text"] for d in nobody["differences"]] == [
        'result.error: string "no person with id 99" -> string "nobody here"'
    ]
    faults = [c for c in report["calls"] if c["verdict"] == "new-fault"]
    assert [c["seq"] for c in faults] == [7, 8, 9]
    assert faults[0]["differences"][0]["text"].endswith('-> fault 3: "PROC_UNAVAIL"')


@pytest.mark.interop
def test_an_rpyc_session_against_its_replay_on_a_fresh_server(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    rpyc_capture_of("tutorial", a)
    cwd = tmp_path / "srv"
    cwd.mkdir()
    with classic_server(cwd) as server:
        target = f"tcp://127.0.0.1:{server.port}"
        subprocess.run(
            [RPCSPY, "replay", str(a), "--target", target, "-w", str(b)],
            capture_output=True,
            timeout=120,
        )
        fresh = server_truth(server.port)
    code, report = _diff(a, b)
    assert code == 1
    # Netref ids differ in every argument and result; they compare by class, so only the
    # working directory changed, and the INSPECT bookkeeping replay leaves out is missing.
    # Also the items of sys.path where the fresh server's differs from the recorded one's:
    # it holds the paths of the checkout and its venv, which depend on where the tests run.
    meta = fixtures.load("tutorial").meta
    changed = [c for c in report["calls"] if c["verdict"] == "changed"]
    cwd_calls = [c for c in changed if c["method"] == "modules.os.getcwd"]
    assert len(cwd_calls) == 1
    recorded = meta["server_cwd"]
    assert cwd_calls[0]["differences"][0]["text"] == f'result: str "{recorded}" -> str "{cwd}"'
    recorded_path: list[str] = meta["server_sys_path"]
    fresh_path = fresh["sys_path"]
    assert isinstance(fresh_path, list)
    others = [c for c in changed if c["method"] != "modules.os.getcwd"]
    if fresh_path == recorded_path:
        assert others == []
    for call in others:
        text = " ".join(d["text"] for d in call["differences"])
        assert any(item in text for item in [*recorded_path, "StopIteration"]), text
    missing = {c["method"] for c in report["calls"] if c["verdict"] == "missing"}
    assert missing == {"inspect"}
    assert report["summary"]["same"] > 20
