"""Fixtures for the proxy tests: mitmproxy's confdir (its CA), demo servers, a running proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcspy.proxy import ProxyConfig
from rpcspy.server import DemoServer, ServerConfig
from tests.proxy.helpers import ThreadedProxy


@pytest.fixture(scope="session")
def confdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mitmproxy configuration directory for the whole run (its CA is made once, not in ~)."""
    return tmp_path_factory.mktemp("mitmproxy-confdir")


@pytest.fixture
def demo() -> Iterator[DemoServer]:
    with DemoServer(ServerConfig(port=0, quiet=True)) as server:
        yield server


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    return tmp_path / "capture.jsonl"


@pytest.fixture
def proxy(demo: DemoServer, capture: Path, confdir: Path) -> Iterator[ThreadedProxy]:
    """rpcspy's runner, reverse mode to the demo server, recording to ``capture``."""
    config = ProxyConfig(
        target=demo.base_url, listen_port=0, capture=capture, confdir=confdir, quiet=True
    )
    with ThreadedProxy(config) as running:
        yield running
