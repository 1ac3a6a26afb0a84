"""The call editor's layout, and the target the user chose kept for the session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from rpcspy.capture import CaptureWriter
from rpcspy.replay.send import send_call
from rpcspy.tui.app import RpcSpyApp
from rpcspy.tui.screens.edit import EditScreen
from rpcspy.tui.screens.replay import ReplayScreen
from rpcspy.xmlrpc.messages import MethodCall, MethodResponse
from rpcspy.xmlrpc.values import Int
from tests.tui.conftest import wait_for


def record_calls(path: Path, url: str, calls: list[MethodCall]) -> Path:
    """Send ``calls`` to ``url`` for real and write the exchanges as a capture."""
    with CaptureWriter(path, append=False) as writer:
        for i, call in enumerate(calls, 1):
            rec = send_call(call, url, seq=i)
            assert rec.error is None and isinstance(rec.reply, MethodResponse)
            writer.write(rec)
    return path


@pytest.mark.parametrize(("size", "room"), [((80, 24), 10), ((120, 40), 10)])
async def test_method_field_takes_its_share_of_the_row(
    make_app: Callable[..., RpcSpyApp], sample_capture: Path, size: tuple[int, int], room: int
) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: len(app.calls_screen.call_list.shown) > 0)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EditScreen))
        await pilot.pause()
        method = app.screen.query_one("#edit-method", Input)
        target = app.screen.query_one("#edit-target", Input)
        # The method and the target have a line each, the width of the screen but the label.
        for field in (method, target):
            assert field.region.width >= size[0] - room, field.region
            assert field.region.right <= size[0]
        assert target.region.y > method.region.y
        # A long method name shows whole.
        assert method.content_region.width > len("validator1.moderateSizeArrayCheck")


async def test_chosen_target_is_kept_for_the_session(
    make_app: Callable[..., RpcSpyApp], tmp_path: Path, demo_server: Any, demo_server_v2: Any
) -> None:
    capture = record_calls(
        tmp_path / "two.jsonl",
        demo_server.url,
        [MethodCall("add", (Int(2), Int(3))), MethodCall("multiply", (Int(2), Int(3)))],
    )
    recorded = f"http://127.0.0.1:{demo_server.port}"
    other = f"http://127.0.0.1:{demo_server_v2.port}"
    app = make_app(capture=capture)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.calls_screen.call_list.shown) == 2)
        # Untouched, the target is the server the call was recorded against.
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EditScreen))
        editor = app.screen
        assert isinstance(editor, EditScreen)
        target = editor.query_one("#edit-target", Input)
        assert target.value == recorded
        # Sent to the recorded server unchanged: not a choice, nothing is remembered.
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(editor.sent) == 1)
        assert app.replay_target is None
        # Change the target and send: variant 2 answers add() with a double.
        target.value = other
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(editor.sent) == 2)
        assert editor.sent[1].port == demo_server_v2.port
        assert "double" in str(editor.query_one("#edit-result").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.calls_screen)
        # Reopen the editor (on another call, too): the chosen target is kept.
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EditScreen))
        assert app.screen.query_one("#edit-target", Input).value == other
        await pilot.press("escape")
        await pilot.press("home", "down")  # multiply
        assert app.store.method_name(app.calls_screen.call_list.current[0]) == "multiply"
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EditScreen))
        assert app.screen.query_one("#edit-target", Input).value == other
        await pilot.press("escape")
        # Replay starts from it too, and a replay against a third server moves it again.
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
        replay = app.screen
        assert isinstance(replay, ReplayScreen)
        replay_target = replay.query_one("#replay-target", Input)
        assert replay_target.value == other
        replay_target.value = recorded
        await pilot.press("enter")
        await wait_for(pilot, lambda: not replay.sending and len(replay.results) == 1)
        assert replay.results[0].replayed.port == demo_server.port
        await pilot.press("escape")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EditScreen))
        assert app.screen.query_one("#edit-target", Input).value == recorded
