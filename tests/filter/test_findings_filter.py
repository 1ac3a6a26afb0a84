"""``finding:RULE`` and ``nonconformant`` on the real peers' capture: through the index (the
TUI's path), through ``rpcspy show --filter`` and against ``rpcspy lint``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rpcspy.capture.index import CaptureIndex, IndexBuilder
from rpcspy.filter import complete, filter_rows, parse_filter
from rpcspy.xmlrpc.findings import RULES
from rpcspy.xmlrpc.messages import Fault
from tests.capture.peers import peer_records, write_peers_capture
from tests.filter.reference import matches as reference_matches

PEERS = list(peer_records())


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "rpcspy", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_peers_capture(tmp_path_factory.mktemp("findings") / "peers.jsonl")


@pytest.fixture(scope="module")
def index(capture: Path) -> Iterator[CaptureIndex]:
    builder = IndexBuilder(capture)
    builder.run()
    yield builder.index
    builder.close()


def _selected(index: CaptureIndex, text: str) -> list[int]:
    return [index.seq[row] for row in filter_rows(index, parse_filter(text))]


def _manifest_rules(entry: dict[str, Any]) -> set[str]:
    """The rules the manifest saw broken in an exchange, either half."""
    return {
        d["rule"]
        for half in ("request", "response")
        if isinstance(entry.get(half), dict)
        for d in entry[half].get("deviations", [])
    }


def test_fault_code_not_int_selects_the_string_code_faults(index: CaptureIndex) -> None:
    got = _selected(index, "finding:fault-code-not-int")
    expected = [r.seq for e, r in PEERS if "fault-code-not-int" in _manifest_rules(e)]
    assert got == expected
    by_seq = {r.seq: (e, r) for e, r in PEERS}
    assert all(isinstance(by_seq[s][1].reply, Fault) for s in got)
    # Of the faults real servers wrote, exactly XMLRPC::Lite's; the others are the stub's
    # deviant answers that tested each client's tolerance.
    servers = {by_seq[s][0]["variant"] for s in got if by_seq[s][0]["role"] != "client-tolerance"}
    assert servers == {"perl-xmlrpc-lite"}
    lite_server = [
        r.seq
        for e, r in PEERS
        if e["variant"] == "perl-xmlrpc-lite" and e["role"] == "server" and r.findings
    ]
    assert set(lite_server) & set(got)
    assert {s for s in got if by_seq[s][0]["role"] == "server"} == {
        s for s in lite_server if "fault-code-not-int" in _manifest_rules(by_seq[s][0])
    }


@pytest.mark.parametrize(
    "text",
    [
        "nonconformant",
        "not nonconformant",
        "finding:fault-*",
        "finding:int-out-of-range",
        "finding:*-extension and not finding:nil-extension",
        "nonconformant and fault",
        "finding:duplicate-member or finding:member-order",
    ],
)
def test_index_agrees_with_the_records(index: CaptureIndex, text: str) -> None:
    tree = parse_filter(text).tree
    expected = [r.seq for _, r in PEERS if reference_matches(tree, r)]
    assert _selected(index, text) == expected
    assert [r.seq for _, r in PEERS if parse_filter(text).matches(r)] == expected
    assert expected, text  # each test finds some calls


def test_nonconformant_is_every_call_with_a_finding(index: CaptureIndex) -> None:
    assert _selected(index, "nonconformant") == [r.seq for _, r in PEERS if r.findings]
    rules = {f.rule for _, r in PEERS for f in r.findings}
    assert set(index.rules.names) == rules
    assert _selected(index, "finding:*") == _selected(index, "nonconformant")


def test_show_nonconformant_counts_what_lint_counts(capture: Path) -> None:
    shown = _run("show", capture, "--filter", "nonconformant", "--json")
    assert shown.returncode == 0, shown.stderr
    linted = _run("lint", capture, "--json")
    # lint also counts a body no reading can decode (PHP's "UTF-16" request) as an error;
    # the filter finds such a call with `problem`, not `nonconformant` (no finding was made).
    assert linted.returncode == 1, linted.stderr
    report = json.loads(linted.stdout)
    undecodable = _run("show", capture, "--filter", "problem and not nonconformant", "--json")
    lost = [
        line
        for line in undecodable.stdout.splitlines()
        if any(p["kind"] == "malformed-xml" for p in json.loads(line)["problems"])
    ]
    assert len(lost) == 1
    assert len(shown.stdout.splitlines()) + len(lost) == report["nonconformant_calls"] > 1
    lite = _run("show", capture, "--filter", "finding:fault-code-not-int", "--json")
    assert lite.returncode == 0, lite.stderr
    assert len(lite.stdout.splitlines()) == len(
        [r for e, r in PEERS if "fault-code-not-int" in _manifest_rules(e)]
    )


def test_the_cached_index_keeps_the_rule_table(capture: Path, index: CaptureIndex) -> None:
    # A second opening loads the saved index: the rule table and rows come back the same.
    again = IndexBuilder(capture)
    again.run()
    try:
        assert again.index.rules.names == index.rules.names
        assert again.index.row_rules == index.row_rules
        assert _selected(again.index, "finding:fault-*") == _selected(index, "finding:fault-*")
    finally:
        again.close()


def test_every_rule_completes_after_finding() -> None:
    assert complete("finding:") == [f"finding:{r}" for r in sorted(RULES)]
    assert complete("method:x finding:fault-code") == ["method:x finding:fault-code-not-int"]
    assert "nonconformant" in complete("non")
