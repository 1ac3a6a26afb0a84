"""Replay and edit-and-resend against real demo servers, driven through the UI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, OptionList

from rpcspy.capture import CaptureWriter
from rpcspy.replay.send import send_call
from rpcspy.tui.app import RpcSpyApp
from rpcspy.tui.screens.edit import EditScreen, ParamsTree, TypePicker, ValuePrompt
from rpcspy.tui.screens.replay import ConfirmStateChanges, ReplayScreen
from rpcspy.xmlrpc.messages import MethodCall, MethodResponse
from rpcspy.xmlrpc.values import Int, String
from tests.conftest import free_port
from tests.tui.conftest import wait_for

SIZE = (110, 32)


@pytest.fixture
def recorded(tmp_path: Path, demo_server: Any) -> Path:
    """Three real exchanges with the demo server (variant 1), as a capture."""
    calls = [
        MethodCall("add", (Int(2), Int(3))),
        MethodCall("getData", ()),
        MethodCall("sample.sumAndDifference", (Int(7), Int(3))),
    ]
    path = tmp_path / "recorded.jsonl"
    with CaptureWriter(path, append=False) as writer:
        for i, call in enumerate(calls, 1):
            rec = send_call(call, demo_server.url, seq=i)
            assert rec.error is None and isinstance(rec.reply, MethodResponse)
            writer.write(rec)
    return path


def replay_status(screen: ReplayScreen) -> str:
    return str(screen.query_one("#replay-status").render())


async def test_replay_one_call_same_then_different_then_dead(
    make_app: Callable[..., RpcSpyApp], recorded: Path, demo_server: Any, demo_server_v2: Any
) -> None:
    app = make_app(capture=recorded)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.calls_screen.call_list.shown) == 3)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        target = screen.query_one("#replay-target", Input)
        assert target.value == f"http://127.0.0.1:{demo_server.port}"  # the recorded server
        await pilot.press("enter")
        await wait_for(pilot, lambda: not screen.sending and len(screen.results) == 1)
        assert screen.results[0].differences == []
        assert "same response" in str(screen.query_one("#replay-diff").render())
        # Variant 2 answers add() with a double: a type difference, highlighted.
        target.value = f"http://127.0.0.1:{demo_server_v2.port}"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not screen.sending and len(screen.results) == 1)
        (diff,) = screen.results[0].differences
        assert diff.kind == "type" and diff.path == "result"
        shown = str(screen.query_one("#replay-diff").render())
        assert "result: int 5 -> double 5.0" in shown
        assert "double 5.0" in str(screen.query_one("#side-replayed").render())
        # Nobody listens there: a clear message, and the UI still answers.
        target.value = f"http://127.0.0.1:{free_port()}"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not screen.sending, timeout=20)
        assert "the server did not answer" in replay_status(screen)
        assert "refused" in replay_status(screen)
        target.value = "ftp://nope"
        await pilot.press("enter")
        assert "must start with http://" in replay_status(screen)
        await pilot.press("escape")
        assert app.screen is app.calls_screen


async def test_replay_every_shown_call(
    make_app: Callable[..., RpcSpyApp], recorded: Path, demo_server_v2: Any
) -> None:
    app = make_app(capture=recorded, replay_target=f"http://127.0.0.1:{demo_server_v2.port}")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.calls_screen.call_list.shown) == 3)
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        await pilot.press("ctrl+r")
        # add() may change state (its name says so): asked first, sent all.
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmStateChanges))
        await pilot.press("a")
        await wait_for(pilot, lambda: not screen.sending and len(screen.results) == 3)
        table = screen.query_one(DataTable)
        assert table.row_count == 3
        diffs = [str(table.get_row_at(i)[4]) for i in range(3)]
        assert diffs == ["1 difference", "1 difference", "same"]
        assert "done: 3 sent, 2 differ" in replay_status(screen)
        table.move_cursor(row=1)
        await pilot.pause()
        assert "getData" in str(table.get_row_at(1)[1])
        assert "result: string" in str(screen.query_one("#replay-diff").render())


async def test_edit_and_resend(
    make_app: Callable[..., RpcSpyApp], recorded: Path, demo_server: Any
) -> None:
    app = make_app(capture=recorded)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.calls_screen.call_list.shown) == 3)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EditScreen))
        screen = app.screen
        assert isinstance(screen, EditScreen)
        tree = screen.query_one(ParamsTree)
        await pilot.press("down")  # params[0]
        assert tree.cursor_node is not None and tree.cursor_node.data == (0,)
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ValuePrompt))
        app.screen.query_one(Input).value = "forty"
        await pilot.press("enter")
        assert "whole number" in str(app.screen.query_one("#prompt-error").render())
        app.screen.query_one(Input).value = "40"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.params[0] == Int(40)
        # Add a third param, then delete it again.
        await pilot.press("a")
        await pilot.pause()
        assert list(screen.params) == [Int(40), Int(3), String("")]
        await wait_for(
            pilot, lambda: tree.cursor_node is not None and tree.cursor_node.data == (2,)
        )
        await pilot.press("d")
        assert len(screen.params) == 2
        # Change params[1] to a string: the demo server's add then faults.
        tree.move_cursor(tree.root.children[1])
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TypePicker))
        options = app.screen.query_one(OptionList)
        options.highlighted = 0  # string
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.params[1] == String("3")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(screen.sent) == 1)
        assert screen.sent[0].is_fault and screen.sent[0].origin == "resent"
        # Back to ints, a new method name: sent, answered, and in the list marked resent.
        screen.params[1] = Int(2)
        screen.query_one("#edit-method", Input).value = "multiply"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(screen.sent) == 2)
        resent = screen.sent[1]
        assert resent.method == "multiply" and resent.reply == MethodResponse(Int(80))
        assert "sent as #5" in str(screen.query_one("#edit-status").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(app.calls_screen.call_list.shown) == 5)
        app.calls_screen.set_filter("origin:resent")
        await wait_for(pilot, lambda: list(app.calls_screen.call_list.shown) == [3, 4])
