"""Replaying ONC RPC calls from the TUI: the recorded calls of the rpcgen example go again, with
fresh xids, to a real ONC RPC server on 127.0.0.1 (``rpcspy.server.oncrpc`` serving the example
program), and the table says which answers are the same; an RPyC capture is refused in words."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widgets import DataTable, Input

from rpcspy.oncrpc import Union
from rpcspy.server.oncrpc import OncRpcServer, responder
from rpcspy.server.rpc_example import EXAMPLE_PROCEDURES
from rpcspy.tui.app import RpcSpyApp
from rpcspy.tui.screens.replay import ConfirmStateChanges
from tests.oncrpc.tool_peers import capture_of, example_interface, rpyc_capture_of
from tests.tui.conftest import wait_for
from tests.tui.test_replay_screen import cells, open_replay_all, status


async def _send_to(pilot: Any, screen: Any, target: str) -> None:
    box = screen.query_one("#replay-target", Input)
    box.value = target
    await pilot.pause()
    screen.action_send()
    await pilot.pause()
    if isinstance(screen.app.screen, ConfirmStateChanges):
        # The example's SET-like calls may change state: send them all again.
        await pilot.press("a")


async def test_onc_rpc_calls_replay_the_same_against_the_example_server(
    make_app: Callable[..., RpcSpyApp], tmp_path: Path
) -> None:
    capture = tmp_path / "onc.jsonl"
    records = capture_of("example_tcp.json", capture)
    served = responder(example_interface(), EXAMPLE_PROCEDURES)
    with OncRpcServer(served, quiet=True) as server:
        app = make_app(capture=capture)
        async with app.run_test(size=(140, 44)) as pilot:
            screen = await open_replay_all(pilot, app, len(records))
            # The default target is where the calls were recorded: tcp://HOST:PORT.
            assert screen.default == "tcp://127.0.0.1:9099"
            await _send_to(pilot, screen, f"tcp://127.0.0.1:{server.port}")
            await wait_for(
                pilot, lambda: not screen.sending and len(screen.results) == len(records)
            )
            table = screen.query_one(DataTable)
            assert cells(table, 4) == ["same"] * len(records)
            assert f"done: {len(records)} sent, 0 differ" in status(screen)
            # Fresh xids: no new call reused the recorded one's.
            old = {r.recorded.request.native["xid"] for r in screen.results}  # type: ignore[index]
            assert old.isdisjoint(r.replayed.request.body[4:8] for r in screen.results)


async def test_a_changed_onc_rpc_answer_shows_as_a_difference(
    make_app: Callable[..., RpcSpyApp], tmp_path: Path
) -> None:
    capture = tmp_path / "onc.jsonl"
    records = capture_of("example_tcp.json", capture)

    def lookup(args: tuple[Any, ...]) -> object:
        found = EXAMPLE_PROCEDURES["LOOKUP"](args)
        assert isinstance(found, Union)
        if found.arm != "found":
            return found
        person = dict(found.value)  # type: ignore[call-overload]
        person["age"] = int(person["age"]) + 1
        return Union(found.type, found.discriminant, found.arm, person)  # type: ignore[arg-type]

    served = responder(example_interface(), {**EXAMPLE_PROCEDURES, "LOOKUP": lookup})
    with OncRpcServer(served, quiet=True) as server:
        app = make_app(capture=capture)
        async with app.run_test(size=(140, 44)) as pilot:
            screen = await open_replay_all(pilot, app, len(records))
            await _send_to(pilot, screen, f"udp://127.0.0.1:{server.port}")
            await wait_for(
                pilot, lambda: not screen.sending and len(screen.results) == len(records)
            )
            diffs = cells(screen.query_one(DataTable), 4)
            assert diffs.count("same") == len(records) - 2
            assert all(d != "same" for d in diffs[3:5])  # LOOKUP of Ada and of Charles
            assert "2 differ" in status(screen)


async def test_an_rpyc_capture_is_not_replayed_from_the_tui_and_it_says_how(
    make_app: Callable[..., RpcSpyApp], tmp_path: Path
) -> None:
    capture = tmp_path / "rpyc.jsonl"
    records = rpyc_capture_of("tutorial", capture)
    app = make_app(capture=capture)
    async with app.run_test(size=(140, 44)) as pilot:
        screen = await open_replay_all(pilot, app, len(records))
        await _send_to(pilot, screen, "tcp://127.0.0.1:1")
        await pilot.pause()
        assert not screen.sending and not screen.results
        assert "rpcspy replay CAPTURE --target tcp://HOST:PORT" in status(screen)


async def test_onc_rpc_replay_stops_when_no_server_answers(
    make_app: Callable[..., RpcSpyApp], tmp_path: Path
) -> None:
    from tests.conftest import free_port

    capture = tmp_path / "onc.jsonl"
    records = capture_of("example_tcp.json", capture)
    app = make_app(capture=capture)
    async with app.run_test(size=(140, 44)) as pilot:
        screen = await open_replay_all(pilot, app, len(records))
        await _send_to(pilot, screen, f"tcp://127.0.0.1:{free_port()}")
        await wait_for(pilot, lambda: not screen.sending)
        # Three calls found no server: the rest were not tried.
        assert len(screen.results) == 3
        assert all(r.replayed.error for r in screen.results)
        assert "stopped:" in status(screen)
