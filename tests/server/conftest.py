"""Demo servers on free ports of 127.0.0.1, always stopped after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rpcspy.server import DemoServer, ServerConfig

MakeServer = Callable[..., DemoServer]


@pytest.fixture
def make_server() -> Iterator[MakeServer]:
    """Start a quiet DemoServer on a free port with the given ServerConfig options."""
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


@pytest.fixture(scope="module")
def shared_server() -> Iterator[DemoServer]:
    """One server per test module, for tests that change no state on it."""
    with DemoServer(ServerConfig(port=0, quiet=True)) as server:
        yield server


@pytest.fixture
def server(make_server: MakeServer) -> DemoServer:
    """A fresh server with its own sandbox."""
    return make_server()
