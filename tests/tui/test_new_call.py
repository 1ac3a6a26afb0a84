"""``n``: a new call composed from nothing, its method completed from ``system.listMethods``.

Driven against a real ``rpcspy serve`` process (it has introspection) and against a stdlib
server without ``system.listMethods``.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

import pytest
from textual.widgets import Input, OptionList

from rpcspy.tui.app import RpcSpyApp
from rpcspy.tui.editing import EDIT_TYPES
from rpcspy.tui.screens.edit import EditScreen, ParamsTree, TypePicker, ValuePrompt
from rpcspy.xmlrpc.messages import MethodCall, MethodResponse
from rpcspy.xmlrpc.values import Int, Struct
from tests.conftest import REPO, free_port
from tests.tui.conftest import wait_for
from tests.tui.test_editor_session import record_calls


@pytest.fixture(scope="module")
def rpcspy_serve() -> Iterator[str]:
    """A real ``rpcspy serve`` process on a free port; its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rpcspy", "serve", "--port", str(port), "--quiet"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert time.monotonic() < deadline, "rpcspy serve is not listening"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/RPC2"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _Quiet(SimpleXMLRPCRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def bare_server() -> Iterator[tuple[str, list[str]]]:
    """A stdlib server with ``pow`` and no introspection; its URL and the methods asked of it."""
    asked: list[str] = []
    server = SimpleXMLRPCServer(("127.0.0.1", 0), requestHandler=_Quiet, logRequests=False)
    server.register_function(pow)
    dispatch = server._dispatch

    def logged(method: str, params: Any) -> Any:
        asked.append(method)
        return dispatch(method, params)

    server._dispatch = logged  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/RPC2", asked
    finally:
        server.shutdown()
        server.server_close()


async def add_int_param(pilot: Any, app: RpcSpyApp, screen: EditScreen, number: int) -> None:
    """``a`` on the params, ``t`` int, ``v`` the number: the way a person types one."""
    tree = screen.query_one(ParamsTree)
    tree.move_cursor(tree.root)
    count = len(screen.params)
    await pilot.press("a")
    await wait_for(
        pilot, lambda: tree.cursor_node is not None and tree.cursor_node.data == (count,)
    )
    await pilot.press("t")
    await wait_for(pilot, lambda: isinstance(app.screen, TypePicker))
    app.screen.query_one(OptionList).highlighted = EDIT_TYPES.index("int")
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.screen is screen)
    await pilot.press("v")
    await wait_for(pilot, lambda: isinstance(app.screen, ValuePrompt))
    app.screen.query_one(Input).value = str(number)
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.screen is screen)
    assert screen.params[count] == Int(number)


def status(screen: EditScreen) -> str:
    return str(screen.query_one("#edit-status").render())


async def test_new_call_completes_from_list_methods_and_sends(
    make_app: Callable[..., RpcSpyApp], tmp_path: Path, rpcspy_serve: str
) -> None:
    capture = record_calls(
        tmp_path / "one.jsonl", rpcspy_serve, [MethodCall("add", (Int(1), Int(2)))]
    )
    app = make_app(capture=capture)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.calls_screen.call_list.shown) == 1)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, EditScreen))
        screen = app.screen
        assert isinstance(screen, EditScreen) and screen.is_new
        method = screen.query_one("#edit-method", Input)
        # Empty, aimed at the capture's server, the method name to type first.
        assert method.value == "" and len(screen.params) == 0
        assert screen.query_one("#edit-target", Input).value == rpcspy_serve.removesuffix("/RPC2")
        assert app.focused is method
        # The server's method names arrive from a worker.
        await wait_for(pilot, lambda: "sample.sumAndDifference" in screen.methods, timeout=20)
        assert "dir.create" in screen.methods and "system.listMethods" in screen.methods
        await pilot.press(*"sample.su")
        await wait_for(pilot, lambda: method._suggestion == "sample.sumAndDifference")
        assert "sample.sumAndDifference" in status(screen)
        await pilot.press("tab")
        assert method.value == "sample.sumAndDifference"
        await pilot.press("enter")  # to the params
        assert app.focused is screen.query_one(ParamsTree)
        await add_int_param(pilot, app, screen, 7)
        await add_int_param(pilot, app, screen, 3)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(screen.sent) == 1, timeout=20)
        sent = screen.sent[0]
        assert sent.method == "sample.sumAndDifference" and sent.origin == "resent"
        assert sent.reply == MethodResponse(Struct({"sum": Int(10), "difference": Int(4)}))
        assert "sent as #2" in status(screen)
        assert "difference: int 4" in str(screen.query_one("#edit-result").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(app.calls_screen.call_list.shown) == 2)
        assert app.store.method_name(app.calls_screen.call_list.shown[1]) == (
            "sample.sumAndDifference"
        )


async def test_new_call_without_introspection_is_quiet(
    make_app: Callable[..., RpcSpyApp], bare_server: tuple[str, list[str]]
) -> None:
    url, asked = bare_server
    app = make_app()  # no capture: no server known yet
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, EditScreen))
        screen = app.screen
        assert isinstance(screen, EditScreen)
        target = screen.query_one("#edit-target", Input)
        assert target.value == ""
        # Sending with no target says what is missing and goes to the field.
        screen.query_one("#edit-method", Input).value = "pow"
        await pilot.press("ctrl+s")
        assert "enter the server's URL" in status(screen)
        assert app.focused is target
        await pilot.press(*url)
        # The editor asks the server for its methods once the typing pauses; it has none.
        await wait_for(pilot, lambda: "system.listMethods" in asked, timeout=20)
        await wait_for(pilot, lambda: not screen.workers, timeout=20)
        assert screen.methods == []
        assert screen.query_one("#edit-method", Input).suggester is None
        assert len(app._notifications) == 0
        assert "fault" not in status(screen) and "error" not in status(screen)
        # The call itself works all the same.
        screen.query_one(ParamsTree).focus()
        await add_int_param(pilot, app, screen, 2)
        await add_int_param(pilot, app, screen, 3)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(screen.sent) == 1, timeout=20)
        assert screen.sent[0].reply == MethodResponse(Int(8))
        assert asked == ["system.listMethods", "pow"]
        assert len(app._notifications) == 0
        # The server it was sent to is now the session's target.
        assert app.replay_target == url


async def test_editing_a_recorded_call_completes_once_the_method_field_is_used(
    make_app: Callable[..., RpcSpyApp], tmp_path: Path, rpcspy_serve: str
) -> None:
    capture = record_calls(
        tmp_path / "one.jsonl", rpcspy_serve, [MethodCall("add", (Int(1), Int(2)))]
    )
    app = make_app(capture=capture)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.calls_screen.call_list.shown) == 1)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EditScreen))
        screen = app.screen
        assert isinstance(screen, EditScreen) and not screen.is_new
        await pilot.pause(0.3)
        # Opening the editor asks the server nothing.
        assert screen.methods == [] and not screen.workers
        method = screen.query_one("#edit-method", Input)
        method.focus()
        await wait_for(pilot, lambda: "dir.create" in screen.methods, timeout=20)
        method.value = ""
        await pilot.press(*"dir.cr")
        await wait_for(pilot, lambda: method._suggestion == "dir.create")
        await pilot.press("tab")
        assert method.value == "dir.create"
