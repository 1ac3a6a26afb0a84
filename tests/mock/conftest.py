"""Demo servers and recorded sessions for the mock tests; everything stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rpcspy.capture import CallRecord
from rpcspy.server import DemoServer, ServerConfig
from tests.replay.support import client, standard_session, write_capture

MakeServer = Callable[..., DemoServer]


@pytest.fixture
def make_server() -> Iterator[MakeServer]:
    """Start a quiet DemoServer on a free port of 127.0.0.1 with the given ServerConfig options."""
    servers: list[DemoServer] = []

    def make(**options: Any) -> DemoServer:
        options.setdefault("quiet", True)
        options.setdefault("port", 0)
        server = DemoServer(ServerConfig(**options))
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def session(make_server: MakeServer, tmp_path: Path) -> tuple[Path, list[CallRecord]]:
    """The standard session recorded from a variant-1 demo server, as a capture file."""
    server = make_server()
    records: list[CallRecord] = []
    standard_session(client(server.url, records))
    return write_capture(tmp_path / "session.jsonl", records), records
