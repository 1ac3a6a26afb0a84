"""``rpcspy proxy --tui`` says how many calls it recorded once the UI is gone, as without it."""

from __future__ import annotations

import asyncio
import datetime as dt
import xmlrpc.client
from pathlib import Path
from typing import Any

import pytest

from rpcspy.capture import read_capture
from rpcspy.live import LiveProxyApp
from rpcspy.proxy.runner import ProxyConfig
from tests.cli.test_cli import RPCSPY
from tests.conftest import free_port
from tests.tui.conftest import wait_for
from tests.tui.test_e2e_tmux import Tmux, tmux, wait_exit

__all__ = ["tmux"]  # the fixture, used by name


async def test_the_live_app_knows_how_many_calls_its_proxy_recorded(
    demo_server: Any, tmp_path: Path
) -> None:
    config = ProxyConfig(
        target=f"http://127.0.0.1:{demo_server.port}",
        listen_port=0,
        confdir=tmp_path / "mitmproxy",
    )
    app = LiveProxyApp(config, tz=dt.UTC)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.runner is not None, timeout=30)
        assert app.recorded is None  # still running
        assert app.runner is not None
        url = app.runner.url
        await pilot.pause()
        proxy = xmlrpc.client.ServerProxy(f"{url}/RPC2")
        # The stdlib client blocks: run it off the app's loop.
        assert await asyncio.to_thread(proxy.add, 2, 3) == 5
        await wait_for(pilot, lambda: app.store.count == 1, timeout=30)
        await app.stop_proxy()
        assert app.recorded == 1


@pytest.mark.slow
def test_proxy_tui_prints_the_calls_recorded_on_quit(
    tmux: Tmux, demo_server: Any, tmp_path: Path
) -> None:
    exit_file = tmp_path / "exit"
    port = free_port()
    capture = tmp_path / "live.jsonl"
    command = [
        RPCSPY,
        "proxy",
        f"http://127.0.0.1:{demo_server.port}",
        "--listen",
        f"127.0.0.1:{port}",
        "--confdir",
        str(tmp_path / "mitmproxy"),
        "-w",
        str(capture),
        "--tui",
    ]
    tmux.start(command, exit_file)
    tmux.wait_for(f"live: http://127.0.0.1:{port}", timeout=60)
    proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2")
    assert proxy.add(2, 3) == 5
    assert proxy.echo("hi") == "HI"  # the demo server shouts back
    tmux.wait_for("2 calls ·")
    tmux.keys("q")
    assert wait_exit(exit_file) == 0
    # Textual draws on stderr: the line is read off the terminal once the UI is gone.
    tmux.wait_for("rpcspy proxy stopped; 2 calls recorded")
    with read_capture(capture) as reader:
        assert [r.method for r in reader] == ["add", "echo"]
