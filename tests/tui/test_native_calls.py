"""ONC RPC and RPyC calls in the TUI (a capture made from real peers' bytes by
tests/nativecaps.py): the list's columns, the detail screen's typed tree and hexdump, filters."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Static, TabbedContent

from rpcspy.capture import read_capture
from rpcspy.tui.app import RpcSpyApp
from rpcspy.tui.screens.detail import DetailScreen
from rpcspy.tui.screenshot import screen_text
from rpcspy.tui.widgets.value_tree import ValueTree
from tests.nativecaps import native_capture
from tests.tui.conftest import wait_for

AppFactory = Callable[..., RpcSpyApp]
SIZE = (140, 40)


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    return native_capture(tmp_path / "native.jsonl")


def _count(path: Path) -> int:
    with read_capture(path) as reader:
        return sum(1 for _ in reader)


def _shown(app: RpcSpyApp) -> list[int]:
    return list(app.calls_screen.call_list.shown)


async def _loaded(pilot: object, app: RpcSpyApp, n: int) -> None:
    await wait_for(
        pilot,
        lambda: len(_shown(app)) == n and app.indexer is not None and app.indexer.done,
    )


def _tree_lines(tree: ValueTree) -> list[str]:
    out: list[str] = []

    def walk(node: object, depth: int) -> None:
        for child in node.children:  # type: ignore[attr-defined]
            out.append("  " * depth + str(child.label))
            walk(child, depth + 1)

    walk(tree.root, 0)
    return out


async def test_the_list_shows_method_call_outcome_and_size(
    make_app: AppFactory, capture: Path
) -> None:
    app = make_app(capture=capture)
    async with app.run_test(size=SIZE) as pilot:
        await _loaded(pilot, app, _count(capture))
        rows = screen_text(app)
        add = next(r for r in rows if "intpair{a: int 2, b: int 40} → int 42" in r)
        assert "RPC_EXAMPLE_PROG.RPC_EX" in add  # (the method column cuts it)
        assert " ok " in add and "108 B" in add
        bad = next(r for r in rows if "536871065.1.99" in r)
        assert "PROC_UNAVAIL" in bad
        app.calls_screen.set_filter("getcwd")
        await wait_for(pilot, lambda: len(_shown(app)) == 3)
        rows = screen_text(app)
        assert any(
            "modules.os.getcwd" in r and "modules.os.getcwd() → '/tmp/rpyc-srv-" in r for r in rows
        )


@pytest.mark.parametrize(
    ("expr", "count"),
    [
        ("method:PMAP*", 2),
        ("fault", 3),
        ("fault:3", 1),
        ("not ok", 4),
        ("Lovelace", 1),
        ("AUTH_SYS", 10),
        ("SlaveService", 6),
    ],
)
async def test_filters_on_native_calls(
    make_app: AppFactory, capture: Path, expr: str, count: int
) -> None:
    with read_capture(capture) as reader:
        records = list(reader)
    from rpcspy.filter import parse_filter

    want = [i for i, r in enumerate(records) if parse_filter(expr).matches(r)]
    assert len(want) == count
    app = make_app(capture=capture)
    async with app.run_test(size=SIZE) as pilot:
        await _loaded(pilot, app, len(records))
        app.calls_screen.set_filter(expr)
        await wait_for(pilot, lambda: _shown(app) == want)


async def test_the_detail_screen_shows_the_typed_tree_and_the_bytes(
    make_app: AppFactory, capture: Path
) -> None:
    with read_capture(capture) as reader:
        row = next(i for i, r in enumerate(reader) if (r.method or "").endswith(".LOOKUP"))
    app = make_app(capture=capture)
    async with app.run_test(size=SIZE) as pilot:
        await _loaded(pilot, app, _count(capture))
        await pilot.press(*(["down"] * row), "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        lines = _tree_lines(detail.query_one(ValueTree))
        for line in (
            "call",
            "  procedure  LOOKUP  3",
            "  credential  AUTH_SYS uid 0 gid 0 gids [] machine 'vm' stamp 1796143255",
            "  args  uint 1",
            "  status  SUCCESS",
            "  result  union lookup_result  <int 0>",
            "    found  struct person",
            "      name  string 'Ada Lovelace'",
        ):
            assert line in lines, line
        summary = str(detail.query_one("#detail-summary", Static).render())
        assert "RPC_EXAMPLE_PROG.RPC_EXAMPLE_VERS.LOOKUP" in summary
        assert "oncrpc tcp 127.0.0.1:2049" in summary
        await pilot.press("2")
        await pilot.pause()
        tabs = detail.query_one(TabbedContent)
        assert tabs.active == "tab-xml"
        shown = str(detail.query_one("#xml-response", Static).render())
        assert (
            "00000020  00 00 00 0c 41 64 61 20  4c 6f 76 65 6c 61 63 65  |....Ada Lovelace|"
            in shown.splitlines()
        )
        assert any("Bytes" in r for r in screen_text(app))


async def test_edit_and_copy_of_a_native_call_say_why_not(
    make_app: AppFactory, capture: Path
) -> None:
    app = make_app(capture=capture)
    async with app.run_test(size=SIZE) as pilot:
        await _loaded(pilot, app, _count(capture))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("e")
        await pilot.press("c")
        await pilot.pause()
        said = [n.message for n in app._notifications]
        assert "call #1 is oncrpc: the editor sends XML-RPC calls" in said
        assert "call #1 is ONC RPC over tcp: curl sends HTTP requests only" in said
        assert isinstance(app.screen, DetailScreen)
