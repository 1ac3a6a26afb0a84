"""The live TUI keeps secrets redacted, on screen and in every snippet (issue 11, item 8).

``rpcspy proxy --tui`` used to show the real ``Authorization`` header in the HTTP tab and write it
into a 0755 "save as curl" script. Here a real stdlib client sends Basic auth, an ``X-Api-Key``
and an ``?access_token=`` through the real proxy to a demo server that checks the password; the
app is driven with Textual's Pilot. Nothing the TUI shows, copies or saves holds a secret; saved
snippets are 0600; and with the secrets given as the variables the snippet names, the snippet
makes the call again (the server accepts the password).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os
import re
import shutil
import stat
import subprocess
import sys
import xmlrpc.client
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from rpcspy.capture import read_capture
from rpcspy.live import LiveProxyApp
from rpcspy.proxy.runner import ProxyConfig
from rpcspy.tui.clipboard import copies_dir
from rpcspy.tui.screens.detail import DetailScreen
from rpcspy.tui.screens.prompt import PathPrompt
from tests.conftest import MakeServer
from tests.tui.conftest import wait_for

PASSWORD = "pw-Live-5ecret"
API_KEY = "key-Live-5ecret"
TOKEN = "tok-Live-5ecret"
BASIC = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
SECRETS = (PASSWORD, API_KEY, TOKEN, BASIC)


def _no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def _private(path: Path) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, oct(path.stat().st_mode)


async def _save(pilot: Any, app: LiveProxyApp, key: str, path: Path) -> None:
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt))
    app.screen.query_one(Input).value = str(path)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and path.exists())


def test_live_tui_shows_copies_and_saves_no_secret(
    make_server: MakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plain test driving Pilot in a loop of its own (tests/hostile has no async runner).
    asyncio.run(_live_tui_shows_copies_and_saves_no_secret(make_server, tmp_path, monkeypatch))


async def _live_tui_shows_copies_and_saves_no_secret(
    make_server: MakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    server = make_server(user="alice", password=PASSWORD)
    answers: list[object] = []

    def client(url: str) -> None:
        address = url.split("://", 1)[1]
        proxy = xmlrpc.client.ServerProxy(
            f"http://alice:{PASSWORD}@{address}/RPC2", headers=[("X-Api-Key", API_KEY)]
        )
        # The demo server serves /RPC2 without a query: the second call is a 404, recorded.
        with_token = xmlrpc.client.ServerProxy(
            f"http://alice:{PASSWORD}@{address}/RPC2?access_token={TOKEN}&page=2"
        )
        for call in (lambda: proxy.add(2, 3), lambda: with_token.add(2, 3)):
            try:
                answers.append(call())
            except xmlrpc.client.ProtocolError as exc:
                answers.append(exc.errcode)

    capture = tmp_path / "live.jsonl"
    config = ProxyConfig(
        target=server.base_url,
        listen_port=0,
        capture=capture,
        confdir=tmp_path / "mitmproxy",
    )
    # A script left from an earlier save, executable: saving over it must not keep its mode.
    old_curl = tmp_path / "call.sh"
    old_curl.write_text("echo old\n")
    old_curl.chmod(0o755)
    app = LiveProxyApp(config, client=client, tz=dt.UTC, save_dir=tmp_path)
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_for(pilot, lambda: len(app.calls_screen.call_list.shown) == 2, timeout=30)
        await wait_for(pilot, lambda: len(answers) == 2, timeout=30)
        # The server checks the password: the proxy forwarded the real one.
        assert answers == [5, 404]

        # The call with the token in its URL: the list, the HTTP tab, a copy as curl.
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("3")
        http = str(app.screen.query_one("#http-text").render())
        _no_secret(http)
        assert "/RPC2?access_token=<redacted>&page=2" in http
        await pilot.press("c")
        await wait_for(pilot, lambda: (copies_dir() / "rpcspy-call-2.sh").exists())
        _no_secret(app.clipboard)
        assert "access_token='\"${RPCSPY_QUERY_ACCESS_TOKEN:?" in app.clipboard
        await pilot.press("escape", "up", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert isinstance(app.screen, DetailScreen) and app.screen.record.seq == 1

        # The call with Basic auth and an API key.
        await pilot.press("3")
        http = str(app.screen.query_one("#http-text").render())
        _no_secret(http)
        assert "Authorization: Basic <redacted>" in http
        assert "X-Api-Key: <redacted>" in http
        assert "redacted when recorded" in http

        await _save(pilot, app, "C", old_curl)
        await _save(pilot, app, "Y", tmp_path / "call.py")
        # Copies go to the app's clipboard and to a file, both redacted too.
        await pilot.press("c")
        await wait_for(pilot, lambda: (copies_dir() / "rpcspy-call-1.sh").exists())
        copied_curl = app.clipboard
        await pilot.press("y")
        await wait_for(pilot, lambda: (copies_dir() / "rpcspy-call-1.py").exists())
        copied_python = app.clipboard
        await app.stop_proxy()

    curl, python = old_curl.read_text(), (tmp_path / "call.py").read_text()
    for path in (old_curl, tmp_path / "call.py", *copies_dir().iterdir()):
        _private(path)
        _no_secret(path.read_text())
    assert stat.S_IMODE(copies_dir().stat().st_mode) == 0o700
    _no_secret(copied_curl + copied_python)
    assert copied_curl == curl and copied_python == python
    # The snippets say how to give the secrets instead of holding them.
    for text in (curl, python):
        assert "<redacted>" not in text
        for variable in ("RPCSPY_USER", "RPCSPY_PASSWORD", "RPCSPY_HEADER_X_API_KEY"):
            assert f"#   {variable} " in text
    assert '--user "${RPCSPY_USER:?' in curl
    assert "xmlrpc.client.ServerProxy(url, headers=[('X-Api-Key', os.environ[" in python
    # The capture holds no secret either.
    _no_secret(capture.read_text())
    records = list(read_capture(capture))
    assert [r.redacted for r in records] == [True, True]

    # With the secrets given, the saved snippets make the call again.
    env = {
        **os.environ,
        "RPCSPY_USER": "alice",
        "RPCSPY_PASSWORD": PASSWORD,
        "RPCSPY_HEADER_X_API_KEY": API_KEY,
    }
    done = subprocess.run(
        [sys.executable, str(tmp_path / "call.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "5"
    if shutil.which("curl") is not None:
        ran = subprocess.run(
            ["sh", str(old_curl)], env=env, capture_output=True, timeout=30, check=False
        )
        assert ran.returncode == 0, ran.stderr
        assert b"<int>5</int>" in ran.stdout
        # Without them, curl is not run with a placeholder: the shell names what is missing.
        bare = {k: v for k, v in env.items() if not k.startswith("RPCSPY_")}
        refused = subprocess.run(
            ["sh", str(old_curl)], env=bare, capture_output=True, timeout=30, check=False
        )
        assert refused.returncode != 0
        assert re.search(rb"RPCSPY_\w+: not set", refused.stderr), refused.stderr
