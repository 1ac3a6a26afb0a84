"""``rpcspy lint`` through the real command line, on a capture of the real peers' exchanges."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from rpcspy.capture import CaptureWriter, read_capture
from rpcspy.xmlrpc.findings import RULES
from tests.capture.helpers import make_record
from tests.capture.peers import EXCHANGES, client_host, server_port, write_peers_capture


def lint(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "rpcspy", "lint", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture(scope="module")
def peers_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_peers_capture(tmp_path_factory.mktemp("lint") / "peers.jsonl")


@pytest.fixture(scope="module")
def report(peers_capture: Path) -> dict[str, Any]:
    result = lint(peers_capture, "--json")
    # One body no reading can decode (PHP's "UTF-16" request is ASCII bytes): an error, so 1.
    assert result.returncode == 1, result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def _peer(report: dict[str, Any], role: str, address: str) -> dict[str, Any]:
    (peer,) = [p for p in report["peers"] if p["role"] == role and p["address"] == address]
    return peer


def _expected(variant: str, half: str) -> Counter[str]:
    """Per rule of the decoder, the calls in which the manifest saw the peer break it."""
    calls: Counter[str] = Counter()
    for e in EXCHANGES:
        if e["variant"] == variant and e["peer_wrote"] == half:
            calls.update({d["rule"] for d in e[half]["deviations"] if d["rule"] in RULES})
    return calls


def test_known_quirks_per_peer(report: dict[str, Any]) -> None:
    lite = _peer(report, "server", f"127.0.0.1:{server_port('perl-xmlrpc-lite')}")
    assert lite["agent"] == "libwww-perl-daemon/6.16"
    rules = {r["rule"]: r for r in lite["rules"]}
    assert rules["fault-code-not-int"]["calls"] == 8
    assert rules["fault-code-not-int"]["severity"] == "warning"
    assert rules["fault-code-not-int"]["example"]["path"] == "fault.faultCode"
    for variant, agent in (
        ("node-xmlrpc", "NodeJS XML-RPC Client"),
        ("ruby-xmlrpc-enable", "XMLRPC::Client (Ruby 3.1.2)"),
    ):
        client = _peer(report, "client", client_host(variant))
        assert client["agent"] == agent
        (big,) = [r for r in client["rules"] if r["rule"] == "int-out-of-range"]
        assert (big["calls"], big["findings"]) == (1, 1)
        assert big["example"]["method"] == "demo.echo"
        assert big["example"]["path"] == "params[0].big"


@pytest.mark.parametrize(
    "variant", sorted({e["variant"] for e in EXCHANGES if e["role"] in ("client", "server")})
)
def test_each_peer_breaks_the_rules_the_manifest_saw(report: dict[str, Any], variant: str) -> None:
    # What the peer wrote (its requests as a client, its responses as a server), rule by rule,
    # in as many calls as the manifest's own analysis of the bytes found.
    for role, half, address in (
        ("client", "request", client_host(variant)),
        ("server", "response", f"127.0.0.1:{server_port(variant)}"),
    ):
        expected = _expected(variant, half)
        found = [p for p in report["peers"] if p["role"] == role and p["address"] == address]
        got: dict[str, int] = defaultdict(int)
        for peer in found:
            for r in peer["rules"]:
                got[r["rule"]] += r["calls"]
        # The manifest's analysis knows fewer forms than the decoder (boolean words, ISO 8601
        # variants ...): each rule it saw is there with its count; empty-value there means an
        # empty <value/>, which is a conformant empty string to the decoder.
        for rule, calls in expected.items():
            if rule != "empty-value":
                assert got.get(rule) == calls, (variant, role, rule, dict(got))


def test_text_report_and_totals(peers_capture: Path, report: dict[str, Any]) -> None:
    result = lint(peers_capture)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    records = list(read_capture(peers_capture))
    assert report["calls"] == len(records) == len(EXCHANGES)
    # Every finding, and every body that could not be decoded at all (an error each).
    undecodable = [
        p
        for r in records
        for p in r.problems
        if p.where != "capture" and p.kind in ("malformed-xml", "unsafe-xml", "bad-value")
    ]
    assert [(p.where, p.kind) for p in undecodable] == [("request", "malformed-xml")]
    assert report["findings"] == sum(len(r.findings) for r in records) + 1
    assert report["nonconformant_calls"] == sum(r.nonconformant for r in records) + 1
    assert (report["errors"], report["warnings"]) == (1, report["findings"] - 1)
    php = _peer(report, "client", "127.0.0.5")
    assert [(r["rule"], r["severity"], r["calls"]) for r in php["rules"]] == [
        ("malformed-xml", "error", 1)
    ]
    assert lines[-1] == (
        f"{report['calls']} calls, {len(report['peers'])} peers; {report['findings']} findings "
        f"(1 error, {report['findings'] - 1} warnings) in {report['nonconformant_calls']} of them"
    )
    port = server_port("perl-xmlrpc-lite")
    at = lines.index(
        f"server libwww-perl-daemon/6.16 @ 127.0.0.1:{port}: 27 calls, 10 breaking the spec"
    )
    block = lines[at + 1 : at + 5]
    assert block[0].split() == [
        "warning",
        "fault-code-not-int",
        "8",
        "findings",
        "in",
        "8",
        "calls",
    ]
    assert block[1].startswith("          e.g. #") and block[1].endswith(" at fault.faultCode")
    at = lines.index("client php-xmlrpc-peer @ 127.0.0.5: 26 calls, 1 breaking the spec")
    assert lines[at + 1].split() == ["error", "malformed-xml", "1", "finding", "in", "1", "call"]
    assert lines[at + 2].strip().endswith("in the request")


def test_error_findings_exit_1(tmp_path: Path) -> None:
    # A value the tolerant reading keeps undecoded (<int>abc</int>) is an error finding.
    body = (
        b"<?xml version='1.0'?><methodCall><methodName>add</methodName><params>"
        b"<param><value><int>abc</int></value></param></params></methodCall>"
    )
    from rpcspy.capture import HttpMessage, build_record

    record = build_record(
        HttpMessage((("User-Agent", "odd/1"),), body),
        None,
        started=1.0,
        client=("10.0.0.1", 5000),
        seq=1,
    )
    assert [f.severity for f in record.findings] == ["error"]
    path = tmp_path / "c.jsonl"
    with CaptureWriter(path) as w:
        w.write(record)
        w.write(make_record(seq=2, id="2" * 32))
    result = lint(path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[0] == "client odd/1 @ 10.0.0.1: 1 call, 1 breaking the spec"
    assert result.stdout.splitlines()[1].split()[:2] == ["error", "invalid-value"]
    data = json.loads(lint(path, "--json").stdout)
    assert (data["errors"], data["calls"]) == (1, 2)
    assert data["peers"][0]["rules"][0]["example"] == {
        "capture": str(path),
        "seq": 1,
        "method": "add",
        "where": "request",
        "path": "params[0]",
        "message": record.findings[0].message,
    }


def test_unreadable_and_corrupt_inputs(tmp_path: Path) -> None:
    missing = lint(tmp_path / "nope.jsonl")
    assert missing.returncode == 3 and "nope.jsonl" in missing.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "header", "format": "rpcspy-capture", "version": "9.0"}\n')
    assert lint(bad).returncode == 3
    torn = tmp_path / "torn.jsonl"
    with CaptureWriter(torn) as w:
        w.write(make_record(seq=1, id="1" * 32))
    with torn.open("ab") as f:
        f.write(b'{"type": "call", "seq": \n')
    result = lint(torn)
    assert result.returncode == 4
    assert "1 line skipped" in result.stderr
    assert result.stdout.splitlines()[-1].startswith("1 call, ")


def test_help_has_examples() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rpcspy", "lint", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "examples:\n  rpcspy lint " in result.stdout
