"""Captures for the stats tests, recorded for real: the stdlib client calls the demo server
through rpcspy's proxy, which writes the capture. One more comes from the benchmarks' generator.

The expected figures are computed from the records by ``tests.stats.oracle`` (sorted lists and
``statistics``), never by ``rpcspy.capture.stats``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcspy.capture import read_capture
from rpcspy.proxy import ProxyConfig
from rpcspy.server import DemoServer, ServerConfig
from tests.conftest import REPO
from tests.proxy.helpers import ThreadedProxy, wait_for
from tests.tui.conftest import make_app, pytest_pyfunc_call

__all__ = ["make_app", "pytest_pyfunc_call"]  # (the TUI's app factory, and its async tests)


def _client(url: str) -> xmlrpc.client.ServerProxy:
    return xmlrpc.client.ServerProxy(url + "/RPC2", allow_none=True, use_builtin_types=True)


def _record(path: Path, confdir: Path, calls: list[tuple[str, tuple[object, ...]]]) -> Path:
    """Make ``calls`` (method, params; ``multicall`` for a multicall of echo, fault, add)
    through a recording proxy in front of a demo server; the capture holds one line each."""
    with (
        DemoServer(ServerConfig(port=0, quiet=True)) as server,
        ThreadedProxy(
            ProxyConfig(
                target=server.base_url, listen_port=0, capture=path, confdir=confdir, quiet=True
            )
        ) as proxy,
    ):
        client = _client(proxy.url)
        for method, params in calls:
            if method == "multicall":
                multi = xmlrpc.client.MultiCall(client)
                multi.echo("a")
                multi.demo.fault(7, "inside")
                multi.add(2, 3)
                with contextlib.suppress(xmlrpc.client.Fault):
                    list(multi())
                continue
            with contextlib.suppress(xmlrpc.client.Fault, OSError, xmlrpc.client.ProtocolError):
                getattr(client, method)(*params)
        proxy.wait_records(len(calls), timeout=30)
    wait_for(lambda: len(list(read_capture(path))) == len(calls), timeout=30)
    return path


@pytest.fixture(scope="session")
def confdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mitmproxy-confdir")


#: A mix of every outcome: results, faults, a multicall, a connection dropped, slow calls,
#: gzip answers.
MIXED: list[tuple[str, tuple[object, ...]]] = [
    *[("echo", (f"hello {i}",)) for i in range(6)],
    *[("add", (i, i + 1)) for i in range(5)],
    ("add", ("x", 1)),  # a fault: add takes numbers
    *[("demo.slow", (s,)) for s in (0.0, 0.01, 0.02, 0.05, 0.03)],
    *[("demo.fault", (code, "boom")) for code in (4, 42)],
    ("no.such.method", ()),
    ("multicall", ()),
    ("multicall", ()),
    ("demo.crash", ()),
    *[("demo.large", (n,)) for n in (10, 5000, 20_000)],
    ("system.listMethods", ()),
]

#: Every call fails: faults, an unknown method, connections dropped.
FAILING: list[tuple[str, tuple[object, ...]]] = [
    *[("demo.fault", (code, "no")) for code in (1, 2, 3)],
    ("no.such.method", ()),
    ("divide", (1, 0)),
    ("demo.crash", ()),
    ("demo.crash", ()),
]


@pytest.fixture(scope="session")
def mixed_capture(tmp_path_factory: pytest.TempPathFactory, confdir: Path) -> Path:
    return _record(tmp_path_factory.mktemp("mixed") / "mixed.jsonl", confdir, MIXED)


@pytest.fixture(scope="session")
def failing_capture(tmp_path_factory: pytest.TempPathFactory, confdir: Path) -> Path:
    return _record(tmp_path_factory.mktemp("failing") / "failing.jsonl", confdir, FAILING)


@pytest.fixture(scope="session")
def generated_capture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """3,000 calls from ``bench/_generate.py`` (faults, multicalls, problems, slow calls)."""
    spec = importlib.util.spec_from_file_location("_generate", REPO / "bench" / "_generate.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    path = tmp_path_factory.mktemp("generated") / "generated.jsonl"
    generator.generate(path, 3000)
    yield path
