"""Demo servers and recorded sessions for the replay tests; everything stopped after each test."""

from __future__ import annotations

from pathlib import Path

import pytest

from rpcspy.capture import CallRecord
from tests.conftest import MakeServer
from tests.replay.support import client, standard_session, write_capture


@pytest.fixture
def session(make_server: MakeServer, tmp_path: Path) -> tuple[Path, list[CallRecord]]:
    """The standard session recorded from a variant-1 demo server, as a capture file."""
    server = make_server()
    records: list[CallRecord] = []
    standard_session(client(server.url, records))
    return write_capture(tmp_path / "session.jsonl", records), records
