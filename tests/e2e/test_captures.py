"""The sample captures in captures/, and the demo that makes them, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
import xmlrpc.client
from pathlib import Path

import pytest

from rpcspy.capture import read_capture
from rpcspy.demo import SCENARIOS
from rpcspy.mock import MockServer, Playbook
from rpcspy.server import DemoServer, ServerConfig
from rpcspy.xmlrpc import Fault, MethodResponse
from tests.conftest import CAPTURES

RPCSPY = str(Path(sys.executable).with_name("rpcspy"))
#: ``--ignore`` options for what uname answers about the machine rather than the server.
MACHINE_SPECIFIC = [
    option
    for field in ("nodename", "release", "version")
    for option in ("--ignore", f"uname: result.{field}")
]
SAMPLES = {
    "auth": "auth.jsonl",
    "basics": "basics.jsonl",
    "faults": "faults.jsonl",
    "large": "large.jsonl.gz",
    "multicall": "multicall.jsonl",
    "tls": "tls.jsonl",
    "validator1": "validator1.jsonl",
}


def rpcspy(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([RPCSPY, *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("scenario", sorted(SAMPLES))
def test_each_sample_reads_cleanly_with_one_record_per_demo_step(scenario: str) -> None:
    reader = read_capture(CAPTURES / SAMPLES[scenario])
    records = list(reader)
    assert reader.problems == []
    assert len(records) == len(SCENARIOS[scenario].steps)
    assert all(r.call is not None for r in records)
    for record in records:
        for name, value in record.request.headers:
            if name.lower() == "authorization":
                assert value == "Basic <redacted>"


def test_samples_hold_what_each_scenario_shows() -> None:
    multicall = list(read_capture(CAPTURES / "multicall.jsonl"))
    subs = multicall[0].subcalls
    assert [s.call.method for s in subs] == ["add", "echo", "demo.fault", "uname"]
    assert isinstance(subs[2].result, Fault) and subs[2].result.code == 42
    faults = {r.method: r for r in read_capture(CAPTURES / "faults.jsonl")}
    assert faults["demo.crash"].error is not None
    assert faults["no.such.method"].fault_code == -32601
    auth = list(read_capture(CAPTURES / "auth.jsonl"))
    assert [r.status for r in auth] == [200, 401, 401]
    assert [p.kind for p in auth[1].problems] == ["http-error"]
    large = list(read_capture(CAPTURES / "large.jsonl.gz"))
    assert large[0].response.content_encoding == "gzip"
    assert isinstance(large[0].reply, MethodResponse)
    assert len(str(large[0].reply.value)) == 1_000_000


def test_replaying_the_basics_against_a_fresh_server_finds_nothing_changed() -> None:
    with DemoServer(ServerConfig(port=0, quiet=True)) as server:
        # uname's nodename, release and version are the recording machine's: not a change of
        # the server's.
        out = rpcspy(
            "replay",
            str(CAPTURES / "basics.jsonl"),
            "--target",
            server.base_url,
            *MACHINE_SPECIFIC,
            "--no-progress",
        )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "20 same" in out.stdout


def test_replaying_against_variant_2_reports_exactly_the_changed_results() -> None:
    with DemoServer(ServerConfig(port=0, quiet=True, variant=2)) as server:
        out = rpcspy(
            "replay",
            str(CAPTURES / "basics.jsonl"),
            "--target",
            server.base_url,
            *MACHINE_SPECIFIC,
            "--no-progress",
            "--json",
        )
    assert out.returncode == 1
    import json

    report = json.loads(out.stdout)
    changed = {c["method"]: c for c in report["calls"] if c["verdict"] == "changed"}
    # add returns a double in variant 2, so its introspected signature changes with it; variant 2
    # drops mul and adds demo.features, so system.listMethods changes by exactly those.
    assert set(changed) == {
        "add",
        "uname",
        "demo.version",
        "system.methodSignature",
        "system.listMethods",
    }
    add_diffs = [d["text"] for d in changed["add"]["differences"]]
    assert add_diffs == ["result: int 5 -> double 5.0"], add_diffs
    version = [d["text"] for d in changed["demo.version"]["differences"]]
    assert version == ['result: string "1.0" -> string "2.0"'], version
    listed = [d["text"] for d in changed["system.listMethods"]["differences"]]
    assert listed == ['result[5]: added string "demo.features"', 'result[19]: removed string "mul"']


def test_the_mock_answers_a_stdlib_client_as_the_server_did() -> None:
    records = list(read_capture(CAPTURES / "validator1.jsonl"))
    with (
        MockServer(Playbook(records), host="127.0.0.1", port=0) as mock,
        xmlrpc.client.ServerProxy(f"http://127.0.0.1:{mock.port}/RPC2") as proxy,
    ):
        assert proxy.validator1.simpleStructReturnTest(7) == {
            "times10": 70,
            "times100": 700,
            "times1000": 7000,
        }
        with pytest.raises(xmlrpc.client.Fault) as miss:
            proxy.validator1.simpleStructReturnTest(8)
    assert miss.value.faultCode == -32602
    assert "validator1.simpleStructReturnTest" in miss.value.faultString


def test_demo_records_every_scenario_through_the_proxy(tmp_path: Path) -> None:
    out = rpcspy("demo", "--out", str(tmp_path), "--no-tui")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "all 48 steps behaved as expected" in out.stdout
    for scenario in SCENARIOS:
        reader = read_capture(tmp_path / f"{scenario}.jsonl")
        records = list(reader)
        assert reader.problems == []
        assert len(records) == len(SCENARIOS[scenario].steps), scenario
    tls = list(read_capture(tmp_path / "tls.jsonl"))
    assert {r.scheme for r in tls} == {"https"}


def test_demo_direct_talks_to_the_servers_and_writes_nothing(tmp_path: Path) -> None:
    out = rpcspy("demo", "--direct", "-q", "--scenario", "tls", "--scenario", "auth")
    assert out.returncode == 0
    assert out.stdout.strip() == "all 5 steps behaved as expected"
