"""The TUI on live traffic: the real proxy runner in the app's loop, in front of the demo server."""

from __future__ import annotations

import datetime as dt
import xmlrpc.client
from pathlib import Path
from typing import Any

from rpcspy.capture import read_capture
from rpcspy.live import LiveProxyApp
from rpcspy.proxy.runner import ProxyConfig
from tests.conftest import free_port
from tests.tui.conftest import wait_for


async def test_calls_appear_as_they_happen(demo_server: Any, tmp_path: Path) -> None:
    answers: list[object] = []

    def client(url: str) -> None:
        proxy = xmlrpc.client.ServerProxy(f"{url}/RPC2")
        answers.append(proxy.add(2, 3))
        answers.append(proxy.sample.sumAndDifference(7, 3))
        try:
            proxy.demo.fault(4, "Too many parameters")
        except xmlrpc.client.Fault as fault:
            answers.append(fault.faultCode)

    capture = tmp_path / "live.jsonl"
    config = ProxyConfig(
        target=f"http://127.0.0.1:{demo_server.port}",
        listen_port=0,
        capture=capture,
        confdir=tmp_path / "mitmproxy",
    )
    app = LiveProxyApp(config, client=client, tz=dt.UTC)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.calls_screen
        await wait_for(pilot, lambda: len(screen.call_list.shown) == 3, timeout=30)
        # The record can be shown before the client's thread has stored the answer it got.
        await wait_for(pilot, lambda: len(answers) == 3, timeout=30)
        assert answers == [5, {"sum": 10, "difference": 4}, 4]
        assert [app.store.method_name(r) for r in range(3)] == [
            "add",
            "sample.sumAndDifference",
            "demo.fault",
        ]
        assert app.store.faults == 1
        assert app.runner is not None and "live: http://127.0.0.1:" in app.live_text
        screen.set_filter("fault")
        await wait_for(pilot, lambda: list(screen.call_list.shown) == [2])
        await app.stop_proxy()
    with read_capture(capture) as reader:
        assert [r.method for r in reader] == ["add", "sample.sumAndDifference", "demo.fault"]


async def test_a_proxy_that_cannot_start_is_reported(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = ProxyConfig(
            target=f"http://127.0.0.1:{free_port()}",
            listen_port=port,
            confdir=tmp_path / "mitmproxy",
        )
        app = LiveProxyApp(config, tz=dt.UTC)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.proxy_error is not None, timeout=30)
            assert app.live_text == "proxy failed"
