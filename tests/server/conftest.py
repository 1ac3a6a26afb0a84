"""Demo servers on free ports of 127.0.0.1, always stopped after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rpcspy.server import DemoServer, ServerConfig
from tests.conftest import MakeServer


@pytest.fixture(scope="module")
def shared_server() -> Iterator[DemoServer]:
    """One server per test module, for tests that change no state on it."""
    with DemoServer(ServerConfig(port=0, quiet=True)) as server:
        yield server


@pytest.fixture
def server(make_server: MakeServer) -> DemoServer:
    """A fresh server with its own sandbox."""
    return make_server()
