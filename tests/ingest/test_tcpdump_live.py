"""tcpdump run live on the loopback around real calls to the demo server, then imported.

The fixtures in tests/ingest/fixtures were made the same way; this makes a fresh pcap now, so
the importer is checked against what this machine's tcpdump writes. It skips, saying why, only
where packet capture is not permitted (no CAP_NET_RAW); without tcpdump it fails: run
scripts/install-peers.sh.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest

from tests.ingest.fixtures.make_fixtures import CaptureCapable, record_pcap
from tests.ingest.helpers import import_file


@pytest.mark.slow
def test_a_live_tcpdump_capture_imports_every_call_as_the_client_saw_it(tmp_path: Path) -> None:
    assert shutil.which("tcpdump"), "tcpdump is not installed: run scripts/install-peers.sh"
    pcap = tmp_path / "live.pcap"
    try:
        expected = record_pcap(pcap)
    except CaptureCapable as exc:
        pytest.skip(f"PACKET CAPTURE NOT PERMITTED HERE, live tcpdump test skipped: {exc}")
    records, counts = import_file(pcap, tmp_path / "live.jsonl")
    calls = [r for r in records if r.method is not None]
    assert [r.method for r in calls] == [e["method"] for e in expected]
    for record, sent in zip(calls, expected, strict=True):
        assert record.problems == ()
        assert record.request.body == base64.b64decode(sent["request"])
        assert record.response is not None
        assert record.response.body == base64.b64decode(sent["response"])
    assert len({r.client for r in calls[:4]}) == 1  # kept alive
    assert counts.skipped == 2 and counts.damaged == 0
    assert [p.kind for r in records if r.method is None for p in r.problems] == ["encrypted"]
