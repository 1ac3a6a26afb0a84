"""Live mode's failure reaches the user as an exit code: ``rpcspy proxy --tui`` on a busy port.

The TUI and live mode raise no command-line error themselves: live mode raises the proxy's own
``ProxyError`` once the user has quit the UI that said so, and the command turns it into exit 1.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcspy.live import LiveProxyApp
from rpcspy.proxy.runner import ProxyConfig, ProxyError
from tests.cli.test_cli import RPCSPY
from tests.conftest import free_port
from tests.tui.conftest import wait_for
from tests.tui.test_e2e_tmux import Tmux, tmux, wait_exit

__all__ = ["tmux"]  # the fixture, used by name


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield busy.getsockname()[1]


async def test_live_mode_raises_the_proxys_error_after_the_ui_said_so(
    busy_port: int, tmp_path: Path
) -> None:
    config = ProxyConfig(
        target=f"http://127.0.0.1:{free_port()}",
        listen_port=busy_port,
        confdir=tmp_path / "mitmproxy",
    )
    app = LiveProxyApp(config, tz=dt.UTC)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.proxy_error is not None, timeout=30)
        assert app.live_text == "proxy failed"
    with pytest.raises(ProxyError, match=r"^the proxy could not start: "):
        app.raise_proxy_error()


def test_a_live_app_whose_proxy_ran_raises_nothing(tmp_path: Path) -> None:
    app = LiveProxyApp(ProxyConfig(target="http://127.0.0.1:1", confdir=tmp_path))
    app.raise_proxy_error()  # never started, never failed


@pytest.mark.slow
def test_proxy_tui_on_a_busy_port_exits_1_with_the_reason(
    tmux: Tmux, busy_port: int, tmp_path: Path
) -> None:
    exit_file = tmp_path / "exit"
    command = [
        RPCSPY,
        "proxy",
        f"http://127.0.0.1:{free_port()}",
        "--listen",
        f"127.0.0.1:{busy_port}",
        "--confdir",
        str(tmp_path / "mitmproxy"),
        "--tui",
    ]
    tmux.start(command, exit_file)
    tmux.wait_for("the proxy could not start", timeout=60)  # the UI says so first
    tmux.keys("q")
    assert wait_exit(exit_file) == 1
    # Textual draws on stderr, so the message is read off the terminal once the UI is gone.
    screen = tmux.wait_for("rpcspy: error: the proxy could not start: ")
    assert f"127.0.0.1:{busy_port}" in screen.replace("\n", "")
