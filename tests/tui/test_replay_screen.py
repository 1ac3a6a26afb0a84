"""The replay screen: the table gets the room, has the focus, shows the call being sent, and
asks before sending calls that may change state again (against the real demo server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, DataTable, Static

from rpcspy.capture import CaptureWriter
from rpcspy.replay.send import send_call
from rpcspy.tui.app import RpcSpyApp
from rpcspy.tui.editing import changes_state
from rpcspy.tui.screens.replay import ConfirmStateChanges, ReplayScreen
from rpcspy.xmlrpc.messages import MethodCall
from rpcspy.xmlrpc.values import Double, Int, String
from tests.conftest import free_port
from tests.tui.conftest import wait_for
from tests.tui.test_editor_session import record_calls


def cells(table: DataTable[Any], column: int) -> list[str]:
    return [str(table.get_row_at(i)[column]) for i in range(table.row_count)]


def status(screen: ReplayScreen) -> str:
    return str(screen.query_one("#replay-status", Static).render())


async def open_replay_all(pilot: Any, app: RpcSpyApp, count: int) -> ReplayScreen:
    await wait_for(pilot, lambda: len(app.calls_screen.call_list.shown) == count)
    await pilot.press("R")
    await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
    screen = app.screen
    assert isinstance(screen, ReplayScreen)
    await pilot.pause()
    return screen


async def test_twenty_replayed_calls_all_show_at_120x40(
    make_app: Callable[..., RpcSpyApp], tmp_path: Path, demo_server: Any
) -> None:
    calls = [MethodCall("multiply", (Int(i), Int(2))) for i in range(1, 21)]
    capture = record_calls(tmp_path / "twenty.jsonl", demo_server.url, calls)
    app = make_app(capture=capture)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_replay_all(pilot, app, 20)
        table = screen.query_one(DataTable)
        # The table has the focus and lists every call to send, before anything is sent.
        assert app.focused is table
        assert table.row_count == 20
        assert cells(table, 0) == [str(i) for i in range(1, 21)]
        assert set(cells(table, 1)) == {"multiply"}
        # Enter on the table sends (multiply changes nothing: no question).
        await pilot.press("enter")
        await wait_for(pilot, lambda: not screen.sending and len(screen.results) == 20)
        assert not isinstance(app.screen, ConfirmStateChanges)
        assert cells(table, 3) == ["ok"] * 20
        assert cells(table, 4) == ["same"] * 20
        # All 20 rows and the column titles are on screen, none scrolled away.
        assert table.max_scroll_y == 0
        assert table.region.height >= 21
        assert table.region.bottom <= 40
        # ... and there is still room to compare the highlighted call.
        compare = screen.query_one("#replay-compare")
        assert compare.region.height >= 5 and compare.region.y >= table.region.bottom
        table.move_cursor(row=19)
        await pilot.pause()
        title = str(screen.query_one("#side-recorded-title").render())
        assert "#20 multiply" in title
        assert "int 40" in str(screen.query_one("#side-recorded").render())
        assert "same response" in str(screen.query_one("#replay-diff").render())
        assert "done: 20 sent, 0 differ" in status(screen)


async def test_the_call_being_sent_is_shown(
    make_app: Callable[..., RpcSpyApp], tmp_path: Path, demo_server: Any
) -> None:
    calls = [
        MethodCall("echo", (String("first"),)),
        MethodCall("demo.slow", (Double(1.5),)),
        MethodCall("echo", (String("last"),)),
    ]
    capture = record_calls(tmp_path / "slow.jsonl", demo_server.url, calls)
    app = make_app(capture=capture)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_replay_all(pilot, app, 3)
        table = screen.query_one(DataTable)
        await pilot.press("ctrl+r")
        # While demo.slow sleeps: the status line and its row say it is being sent.
        await wait_for(pilot, lambda: screen.current == 1)
        assert "sending 2 of 3: #2 demo.slow" in status(screen)
        assert cells(table, 3) == ["ok", "sending…", "waiting"]
        await wait_for(pilot, lambda: not screen.sending and len(screen.results) == 3)
        assert cells(table, 3) == ["ok", "ok", "ok"]
        assert screen.current is None


def test_which_methods_change_state() -> None:
    changing = ["dir.create", "dir.remove", "add", "user.add", "setConfig", "file_write"]
    changing += ["deleteAll", "system.shutdown", "db.updateRow", "putObject"]
    reading = ["dir.list", "dir.entries", "getData", "system.listMethods", "system.methodHelp"]
    reading += ["multiply", "sample.sumAndDifference", "uname", "echo", "list_contents"]
    reading += ["user.isAdmin", "getSettings", "store.items", "HTTPServer.getStatus"]
    assert [m for m in changing if not changes_state(m)] == []
    assert [m for m in reading if changes_state(m)] == []


@pytest.fixture
def mixed(tmp_path: Path, demo_server: Any) -> Path:
    """dir.create and dir.remove among read-only calls, recorded for real."""
    calls = [
        MethodCall("dir.list", (String("/"),)),
        MethodCall("dir.create", (String("/tmp/replayed"),)),
        MethodCall("getData", ()),
        MethodCall("dir.remove", (String("/tmp/replayed"),)),
        MethodCall("multiply", (Int(6), Int(7))),
    ]
    path = tmp_path / "mixed.jsonl"
    with CaptureWriter(path, append=False) as writer:
        for i, call in enumerate(calls, 1):
            rec = send_call(call, demo_server.url, seq=i)
            assert rec.error is None, rec.error
            writer.write(rec)
    return path


async def test_state_changing_calls_are_named_and_can_be_skipped(
    make_app: Callable[..., RpcSpyApp], mixed: Path, demo_server: Any
) -> None:
    app = make_app(capture=mixed)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_replay_all(pilot, app, 5)
        table = screen.query_one(DataTable)
        assert "2 may change state" in status(screen)
        # Cancel: nothing sent.
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmStateChanges))
        dialog = app.screen
        assert "2 of 5 calls may change state" in str(dialog.query_one("#prompt-title").render())
        named = str(dialog.query_one("#confirm-methods").render())
        assert "dir.create  1 call: #2" in named and "dir.remove  1 call: #4" in named
        assert "getData" not in named and "multiply" not in named
        assert str(dialog.query_one("#confirm-skip", Button).label) == "Skip them: send 3"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.results == [] and not screen.sending
        assert "nothing sent" in status(screen)
        # Skip them (the default button): the three others are sent, the two marked skipped.
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmStateChanges))
        await pilot.press("enter")
        await wait_for(pilot, lambda: not screen.sending and len(screen.results) == 3)
        sent = [r.replayed.method for r in screen.results]
        assert sent == ["dir.list", "getData", "multiply"]
        assert cells(table, 3) == ["ok", "skipped", "ok", "skipped", "ok"]
        assert "3 sent" in status(screen) and "2 skipped" in status(screen)
        table.move_cursor(row=1)
        await pilot.pause()
        assert "skipped" in str(screen.query_one("#side-replayed").render())
        # Send all: the state-changing calls go too, in their order.
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmStateChanges))
        await pilot.press("a")
        await wait_for(pilot, lambda: not screen.sending and len(screen.results) == 5)
        sent = [r.replayed.method for r in screen.results]
        assert sent == ["dir.list", "dir.create", "getData", "dir.remove", "multiply"]
        assert "skipped" not in status(screen)


async def test_one_state_changing_call_is_flagged_not_blocked(
    make_app: Callable[..., RpcSpyApp], mixed: Path
) -> None:
    app = make_app(capture=mixed)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.calls_screen.call_list.shown) == 5)
        await pilot.press("home", "down")  # dir.create
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        await pilot.pause()
        # The one call the user picked: said plainly, sent on Enter without a question.
        assert "dir.create may change state on the server" in status(screen)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not screen.sending and len(screen.results) == 1)
        assert screen.results[0].replayed.method == "dir.create"


async def test_calls_left_when_the_server_is_gone_read_not_sent(
    make_app: Callable[..., RpcSpyApp], tmp_path: Path, demo_server: Any
) -> None:
    calls = [MethodCall("multiply", (Int(i), Int(2))) for i in range(1, 6)]
    capture = record_calls(tmp_path / "five.jsonl", demo_server.url, calls)
    app = make_app(capture=capture, replay_target=f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_replay_all(pilot, app, 5)
        table = screen.query_one(DataTable)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not screen.sending, timeout=30)
        assert "stopped" in status(screen) and "refused" in status(screen)
        assert cells(table, 3) == ["error", "error", "error", "not sent", "not sent"]
