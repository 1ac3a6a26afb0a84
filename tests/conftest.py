"""Shared test helpers: free ports on 127.0.0.1, demo servers, and the repository layout."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rpcspy.server import DemoServer, ServerConfig

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
CAPTURES = REPO / "captures"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def port() -> int:
    return free_port()


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


@pytest.fixture(autouse=True)
def _index_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's capture indexes are cached in a directory of its own, never in ~/.cache."""
    path = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("RPCSPY_CACHE_DIR", str(path))
    return path
