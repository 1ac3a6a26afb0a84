"""Viewing a call: tabs hand the keys to what they show, the help lists every key, copies are
honest about the clipboard, counts agree with their nouns."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.containers import VerticalScroll
from textual.widgets import TabbedContent

from rpcspy.tui.app import RpcSpyApp
from rpcspy.tui.clipboard import copies_dir, osc52_blocker
from rpcspy.tui.format import short_params
from rpcspy.tui.screens.detail import DetailScreen
from rpcspy.tui.screens.help import HELP_TEXT, HelpScreen, key_name
from rpcspy.tui.screenshot import screen_text
from rpcspy.tui.widgets.value_tree import ValueTree
from tests.tui.conftest import wait_for
from tests.tui.samples import exchange, sample_records, write_capture

AppFactory = Callable[..., RpcSpyApp]
SIZE = (100, 30)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "tui.md"


async def loaded(pilot: object, app: RpcSpyApp, n: int = 12) -> None:
    await wait_for(
        pilot,
        lambda: (
            len(app.calls_screen.call_list.shown) == n
            and app.indexer is not None
            and app.indexer.done
        ),
    )


async def open_call(pilot: object, app: RpcSpyApp, downs: int, n: int = 12) -> DetailScreen:
    await loaded(pilot, app, n)
    await pilot.press(*(["down"] * downs), "enter")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
    screen = app.screen
    assert isinstance(screen, DetailScreen)
    return screen


def notes(app: RpcSpyApp) -> list[str]:
    return [n.message for n in app._notifications]


# ---------------------------------------------------------------- tabs and the tree's keys


async def test_tabs_2_3_1_leave_the_tree_taking_the_keys(
    make_app: AppFactory, sample_capture: Path
) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=SIZE) as pilot:
        detail = await open_call(pilot, app, 2)  # user.get: a struct param, a struct result
        tree = detail.query_one(ValueTree)
        tabs = detail.query_one(TabbedContent)
        assert app.focused is tree
        await pilot.press("2")
        await pilot.pause()
        assert tabs.active == "tab-xml"
        assert app.focused is detail.query_one("#xml-scroll", VerticalScroll)
        await pilot.press("3")
        await pilot.pause()
        assert tabs.active == "tab-http"
        assert app.focused is detail.query_one("#http-scroll", VerticalScroll)
        await pilot.press("1")
        await pilot.pause()
        assert tabs.active == "tab-tree"
        assert app.focused is tree  # no Tab presses needed
        before = tree.cursor_line
        await pilot.press("down")
        assert tree.cursor_line == before + 1
        await pilot.press("down")
        node = tree.cursor_node
        assert node is not None and node.allow_expand and node.is_expanded
        await pilot.press("space")
        assert not node.is_expanded
        await pilot.press("space")
        assert node.is_expanded


async def test_clicking_a_tab_and_the_tab_bar_keep_working(
    make_app: AppFactory, sample_capture: Path
) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=SIZE) as pilot:
        detail = await open_call(pilot, app, 2)
        tabs = detail.query_one(TabbedContent)
        await pilot.press("shift+tab")  # to the tab bar: ← → move along it, focus stays there
        await pilot.pause()
        bar = app.focused
        assert bar is not None and type(bar).__name__ == "ContentTabs"
        await pilot.press("right")
        await pilot.pause()
        assert tabs.active == "tab-xml" and app.focused is bar
        await pilot.press("1")  # a digit still hands the keys to the tab's content
        await pilot.pause()
        assert tabs.active == "tab-tree" and app.focused is detail.query_one(ValueTree)


async def test_tree_arrows_open_close_and_step(make_app: AppFactory, sample_capture: Path) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=SIZE) as pilot:
        detail = await open_call(pilot, app, 2)
        tree = detail.query_one(ValueTree)
        await pilot.press("j", "j")  # root, call user.get, params[0]
        node = tree.cursor_node
        assert node is not None and "params[0]" in str(node.label) and node.is_expanded
        await pilot.press("left")
        assert not node.is_expanded
        await pilot.press("right")
        assert node.is_expanded
        await pilot.press("l")  # open already: step into the first member
        assert tree.cursor_node is node.children[0]
        await pilot.press("h")  # a leaf: step out to the parent
        assert tree.cursor_node is node
        await pilot.press("k")
        assert tree.cursor_node is node.parent
        await pilot.press("G")
        assert tree.cursor_line == tree.last_line
        await pilot.press("g")
        assert tree.cursor_line == 0


def _keys(bindings: object) -> set[str]:
    out: set[str] = set()
    for binding in bindings:  # type: ignore[attr-defined]
        key = binding.key if hasattr(binding, "key") else binding[0]
        out.update(k.strip() for k in key.split(","))
    return out


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end, text.index(start))]


def test_help_and_docs_list_every_key_of_the_call_view_and_its_tree() -> None:
    keys = _keys(DetailScreen.BINDINGS)
    for cls in ValueTree.__mro__:
        keys |= _keys(cls.__dict__.get("BINDINGS", ()))
    assert {"space", "shift+space", "up", "right", "ctrl+pageup", "1", "c"} <= keys
    help_view = _section(HELP_TEXT, "## Call view", "## Filter language")
    docs_view = _section(DOCS.read_text(encoding="utf-8"), "## A call", "## Stats")
    for key in sorted(keys):
        written = f"`{key_name(key)}`"
        assert written in help_view, f"the help screen does not list {written}"
        assert written in docs_view, f"docs/tui.md's 'A call' does not list {written}"


async def test_help_screen_shows_the_tree_keys(make_app: AppFactory, sample_capture: Path) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=(100, 120)) as pilot:
        await loaded(pilot, app)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("question_mark")  # from the call view itself
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause(0.3)
        shown = "\n".join(screen_text(app))
        assert "Shift+Space" in shown and "open / close a struct or array" in shown
        await pilot.press("escape")
        assert isinstance(app.screen, DetailScreen)


# ---------------------------------------------------------------- copying


async def test_copy_without_a_terminal_says_saved_not_copied(
    make_app: AppFactory, sample_capture: Path
) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("down", "c")
        await wait_for(pilot, lambda: bool(notes(app)))
        note = notes(app)[-1]
        saved = copies_dir() / "rpcspy-call-2.sh"
        assert note == (
            f"call #2 as curl saved in {saved} "
            "(not copied to the clipboard: no terminal (headless))"
        )
        assert "sent to" not in note and "copied call" not in note
        assert saved.read_text(encoding="utf-8") == app.clipboard
        assert app.clipboard.startswith("curl -sS -X POST http://127.0.0.1:8000/RPC2")
        assert str(copies_dir()).startswith(os.environ["XDG_CACHE_HOME"])
        await pilot.press("y")
        await wait_for(pilot, lambda: len(notes(app)) == 2)
        python = copies_dir() / "rpcspy-call-2.py"
        assert str(python) in notes(app)[-1]
        assert "import xmlrpc.client" in python.read_text(encoding="utf-8")


class TerminalApp(RpcSpyApp):
    """The app as on an xterm outside tmux/screen (Pilot itself is always headless)."""

    def clipboard_blocker(self) -> str | None:
        return osc52_blocker(headless=False, environ={"TERM": "xterm-256color"})


async def test_copy_on_a_terminal_says_sent_and_names_the_file(
    sample_capture: Path, tmp_path: Path
) -> None:
    import datetime as dt

    app = TerminalApp(capture=sample_capture, tz=dt.UTC, save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        detail = await open_call(pilot, app, 1)
        assert detail.record.seq == 2
        await pilot.press("y")
        await wait_for(pilot, lambda: bool(notes(app)))
        saved = copies_dir() / "rpcspy-call-2.py"
        assert notes(app)[-1] == (
            "call #2 as Python: sent to the terminal's clipboard (OSC 52); "
            f"if your terminal doesn't support it, it is saved in {saved}"
        )
        assert saved.read_text(encoding="utf-8") == app.clipboard


async def test_copy_says_when_it_could_not_even_save(
    make_app: AppFactory, sample_capture: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    monkeypatch.setattr("tempfile.tempdir", str(blocked))
    app = make_app(capture=sample_capture)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("c")
        await wait_for(pilot, lambda: bool(notes(app)))
        assert re.fullmatch(
            r"call #1 as curl not copied: no terminal \(headless\), and not saved: .+",
            notes(app)[-1],
        )


@pytest.mark.parametrize(
    ("environ", "headless", "tmux", "reason"),
    [
        ({"TERM": "xterm-256color"}, False, None, None),
        ({"TERM": "xterm-256color"}, True, None, "no terminal (headless)"),
        ({"TERM": "dumb"}, False, None, "TERM is dumb"),
        ({}, False, None, "TERM is unset"),
        ({"TERM": "unknown"}, False, None, "TERM is unknown"),
        (
            {"TERM": "xterm-256color", "TERM_PROGRAM": "Apple_Terminal"},
            False,
            None,
            "macOS Terminal ignores OSC 52",
        ),
        ({"TERM": "screen", "STY": "1.pts-0.host"}, False, None, "GNU screen drops OSC 52"),
        ({"TERM": "tmux-256color", "TMUX": "/x,1,0"}, False, "on", None),
        (
            {"TERM": "tmux-256color", "TMUX": "/x,1,0"},
            False,
            "external",
            "inside tmux, set-clipboard is external (needs on)",
        ),
        (
            {"TERM": "tmux-256color", "TMUX": "/x,1,0"},
            False,
            "off",
            "inside tmux, set-clipboard is off (needs on)",
        ),
    ],
)
def test_when_osc52_cannot_arrive(
    environ: dict[str, str], headless: bool, tmux: str | None, reason: str | None
) -> None:
    assert osc52_blocker(headless=headless, environ=environ, tmux_option=tmux) == reason


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.parametrize("option", ["on", "external", "off"])
def test_tmux_set_clipboard_is_asked_of_the_tmux_server(option: str, tmp_path: Path) -> None:
    socket = tmp_path / f"tmux-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-S", str(socket)]
    subprocess.run([*tmux, "new-session", "-d", "-x", "80", "-y", "24"], check=True, timeout=20)
    try:
        subprocess.run([*tmux, "set-option", "-g", "set-clipboard", option], check=True)
        pid = subprocess.run(
            [*tmux, "display-message", "-p", "#{pid}"], capture_output=True, text=True, check=True
        ).stdout.strip()
        environ = {
            "TERM": "tmux-256color",
            "TMUX": f"{socket},{pid},0",
            "PATH": os.environ.get("PATH", ""),
        }
        reason = osc52_blocker(headless=False, environ=environ)
        expected = None if option == "on" else f"inside tmux, set-clipboard is {option} (needs on)"
        assert reason == expected
    finally:
        subprocess.run([*tmux, "kill-server"], check=False, timeout=20)


# ---------------------------------------------------------------- counts agree with nouns


async def test_a_multicall_of_one_reads_1_call_and_1_sub_call(
    make_app: AppFactory, tmp_path: Path
) -> None:
    answer = xmlrpc.client.dumps(([[{"only": 1}]],), methodresponse=True).encode()
    records = [
        exchange(
            1,
            "system.multicall",
            ([{"methodName": "user.get", "params": [[7]]}],),
            response_body=answer,
        ),
        *sample_records()[1:3],
    ]
    assert short_params(records[0], 60).startswith("[1 call] user.get")
    app = make_app(capture=write_capture(tmp_path / "one.jsonl", records))
    async with app.run_test(size=SIZE) as pilot:
        detail = await open_call(pilot, app, 0, 3)
        tree = detail.query_one(ValueTree)
        labels: list[str] = []
        stack = [tree.root]
        while stack:
            node = stack.pop()
            labels.append(str(node.label))
            stack.extend(node.children)
        text = "\n".join(labels)
        assert "1 sub-call" in text and "1 sub-calls" not in text
        assert "[1 item]" in text and "1 items" not in text
        assert "{1 member}" in text
