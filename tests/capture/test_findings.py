"""Findings in records: the builder on the real peers' bytes and the tolerant corpus, and their
round trip through capture files (with the value forms only the tolerant reading makes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rpcspy.capture import CaptureWriter, HttpMessage, build_record, read_capture
from rpcspy.capture.schema import dumps_line, loads_line, record_from_json, record_to_json
from rpcspy.xmlrpc.findings import RULES
from tests.capture.peers import EXCHANGES, exchange_record, write_peers_capture
from tests.conftest import DATA

TOLERANT = DATA / "tolerant"


def _id(entry: dict[str, Any]) -> str:
    return entry["files"]["request"].removesuffix(".request.http")


@pytest.mark.parametrize("entry", EXCHANGES, ids=_id)
def test_every_body_the_stdlib_accepts_is_decoded_with_its_findings(entry: dict[str, Any]) -> None:
    record = exchange_record(entry, 1)
    for half, decoded in (("request", record.call), ("response", record.reply)):
        if entry[half]["stdlib"] != "accepts":
            continue
        assert decoded is not None, (half, record.problems)
        assert not [p for p in record.problems if p.where == half], record.problems
        rules = {f.rule for f in record.findings if f.where == half}
        seen = {d["rule"] for d in entry[half]["deviations"] if d["rule"] in RULES}
        seen.discard("empty-value")  # the manifest's empty <value/> is a conformant ""
        assert seen <= rules, (half, seen, rules)


def test_the_peers_capture_round_trips_findings_and_values(tmp_path: Path) -> None:
    path = write_peers_capture(tmp_path / "peers.jsonl.gz")
    records = list(read_capture(path))
    assert len(records) == len(EXCHANGES)
    built = [exchange_record(e, seq) for seq, e in enumerate(EXCHANGES, 1)]
    assert sum(len(r.findings) for r in records) > 300
    for read, made in zip(records, built, strict=True):
        assert read.findings == made.findings
        assert read.call == made.call and read.reply == made.reply
        assert read.subcalls == made.subcalls
        # The JSON line itself is stable: written again, the same bytes.
        line = dumps_line(record_to_json(read))
        assert dumps_line(record_to_json(record_from_json(loads_line(line)))) == line


@pytest.mark.parametrize("name", sorted(p.name for p in TOLERANT.glob("*.xml")), ids=str)
def test_the_tolerant_corpus_round_trips(tmp_path: Path, name: str) -> None:
    body = (TOLERANT / name).read_bytes()
    is_call = b"<methodCall" in body[:400] or b"<\x00m\x00e\x00t\x00h\x00o\x00d\x00C" in body
    request = HttpMessage((), body if is_call else b"")
    response = HttpMessage((("Server", "x"),), body) if not is_call else None
    record = build_record(request, response, started=1.0, seq=1)
    message = record.call if is_call else record.reply
    if message is None:  # a body the tolerant reading refuses too: still a problem as before
        assert record.problems
        return
    assert record.findings, name
    path = tmp_path / "c.jsonl"
    with CaptureWriter(path) as w:
        w.write(record)
    (back,) = read_capture(path)
    assert back.findings == record.findings
    assert (back.call if is_call else back.reply) == message
    # The kept wire forms survive too (an i4 over 32 bits stays an i4, a raw value its XML).
    kept = back.call if is_call else back.reply
    assert repr(kept) == repr(message)


def test_show_call_prints_each_finding_under_its_value(tmp_path: Path) -> None:
    path = write_peers_capture(tmp_path / "peers.jsonl")
    (seq,) = [
        i
        for i, e in enumerate(EXCHANGES, 1)
        if e["variant"] == "perl-xmlrpc-lite"
        and e["role"] == "server"
        and e["scenario"] == "bigint"
    ]
    env = {**os.environ, "NO_COLOR": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "rpcspy", "show", str(path), "--call", str(seq)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.splitlines()
    at = out.index("    big: int 1099511627776")
    assert out[at + 1].startswith("      ! warning int-out-of-range: 1099511627776 does not fit")
    assert out[at + 1].endswith("(line 1)")
    table = subprocess.run(
        [sys.executable, "-m", "rpcspy", "show", str(path)],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "80"},
        check=True,
    ).stdout.splitlines()
    (row,) = [line for line in table if line.startswith(f"{seq:>5}")]
    assert row[5] == "!"
    records = list(read_capture(path))
    conformant = next(r.seq for r in records if not r.findings)
    (row,) = [line for line in table if line.startswith(f"{conformant:>5}")]
    assert row[5] == " "
    assert table[-1] == (
        f"{len(records)} calls; ! {sum(r.nonconformant for r in records)} with conformance "
        "findings (rpcspy show --call N, rpcspy lint)"
    )
