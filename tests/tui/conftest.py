"""Fixtures for the TUI tests: sample captures, an app factory, demo servers."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rpcspy.tui.app import RpcSpyApp
from tests.tui.samples import sample_records, write_capture


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests in a fresh event loop (Textual's pilot is async)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{n: pyfuncitem.funcargs[n] for n in names}))
    return True


@pytest.fixture
def sample_capture(tmp_path: Path) -> Path:
    """The dozen sample calls as a capture file."""
    return write_capture(tmp_path / "sample.jsonl", sample_records())


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., RpcSpyApp]:
    """An app in UTC (fixed times on screen) that saves into the test's directory."""

    def factory(**kwargs: Any) -> RpcSpyApp:
        kwargs.setdefault("tz", dt.UTC)
        kwargs.setdefault("save_dir", tmp_path)
        return RpcSpyApp(**kwargs)

    return factory


@pytest.fixture(scope="module")
def demo_server() -> Iterator[Any]:
    """The demo XML-RPC server (variant 1) on a free port."""
    from rpcspy.server import DemoServer, ServerConfig

    with DemoServer(ServerConfig(port=0, quiet=True)) as server:
        yield server


@pytest.fixture(scope="module")
def demo_server_v2() -> Iterator[Any]:
    """The demo server's variant 2, whose answers differ on purpose."""
    from rpcspy.server import DemoServer, ServerConfig

    with DemoServer(ServerConfig(port=0, quiet=True, variant=2)) as server:
        yield server


async def wait_for(pilot: Any, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the app run until ``condition()`` holds (fails the test after ``timeout``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


@pytest.fixture(autouse=True)
def _copies_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``c``/``y`` save what they copy under ``$XDG_CACHE_HOME``: the test's folder, not ~."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
