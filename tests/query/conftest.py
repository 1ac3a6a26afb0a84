"""Captures for the query tests: one recorded through the real proxy (demo server, stdlib
client, a raw client for a body that breaks the spec) and one made by the benchmarks'
generator; and the Python answers the SQL is checked against."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rpcspy.capture import CallRecord, read_capture
from rpcspy.proxy import ProxyConfig
from rpcspy.proxy.background import BackgroundProxy
from rpcspy.server import DemoServer, ServerConfig

RPCSPY = str(Path(sys.executable).with_name("rpcspy"))
#: How many calls ``recorded`` holds.
RECORDED_CALLS = 15

#: A call whose <i4> does not fit in 32 bits: decoded, with a conformance finding.
WIDE_I4 = (
    b"<?xml version='1.0'?><methodCall><methodName>add</methodName><params>"
    b"<param><value><i4>4294967296</i4></value></param>"
    b"<param><value><i4>1</i4></value></param></params></methodCall>"
)


def rpcspy(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``rpcspy ARGS`` as a user runs it (no colour, no progress bar: not a terminal)."""
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([RPCSPY, *args], capture_output=True, text=True, timeout=timeout, env=env)


def _record_session(capture: Path, confdir: Path) -> None:
    with DemoServer(ServerConfig(port=0, quiet=True)) as demo:
        config = ProxyConfig(
            target=demo.base_url, listen_port=0, capture=capture, confdir=confdir, quiet=True
        )
        with BackgroundProxy(config) as proxy:
            client = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{proxy.port}/RPC2")
            for a, b in [(2, 3), (40, 2), (7, 8)]:
                client.add(a, b)
            client.add(2.5, 1)  # params[0] of add changes type: int -> double
            client.echo("hello")
            client.echo("world")
            faulting = [
                lambda: client.echo(5),  # params[0] of echo changes type too
                lambda: client.echo([1, 2]),
                lambda: client.demo.fault(4, "failure 4"),
                lambda: client.demo.fault(4, "failure 4 again"),
                lambda: client.demo.fault(17, "failure 17"),
                lambda: client.no.such.method(),
            ]
            for call in faulting:
                with pytest.raises(xmlrpc.client.Fault):
                    call()
            client.demo.slow(0.05)
            multi = xmlrpc.client.MultiCall(client)
            multi.add(1, 2)
            multi.echo("inside")
            multi.demo.fault(42, "a fault inside a multicall")
            with pytest.raises(xmlrpc.client.Fault):
                list(multi())  # the third result is the fault
            conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
            conn.request("POST", "/RPC2", WIDE_I4, {"Content-Type": "text/xml"})
            conn.getresponse().read()
            conn.close()
            deadline = time.monotonic() + 15
            while len(proxy.snapshot()) < RECORDED_CALLS and time.monotonic() < deadline:
                time.sleep(0.05)
    assert len(records_of(capture)) == RECORDED_CALLS


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A capture recorded through rpcspy's proxy from the demo server (``RECORDED_CALLS``)."""
    directory = tmp_path_factory.mktemp("recorded")
    capture = directory / "session.jsonl"
    _record_session(capture, tmp_path_factory.mktemp("confdir"))
    return capture


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A capture of 3,000 calls from the benchmarks' generator (faults, multicalls, problems)."""
    from bench._generate import generate

    capture = tmp_path_factory.mktemp("generated") / "generated.jsonl"
    generate(capture, 3000, seed=7)
    return capture


def records_of(capture: Path) -> list[CallRecord]:
    """Every record of a capture, read with rpcspy.capture (the reference)."""
    with read_capture(capture) as reader:
        return list(reader)


@pytest.fixture
def fresh_copy(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Copy a capture into the test's own directory (its cache entries are its own)."""

    def copy(src: Path, name: str | None = None) -> Path:
        dst = tmp_path / (name or src.name)
        dst.write_bytes(src.read_bytes())
        return dst

    yield copy
