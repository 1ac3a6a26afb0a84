"""``rpcspy show``, the TUI and the proxy console write the same words for the same call.

Outcome, time and size come from one place (``rpcspy.capture.summary``); this drives each view
for real (the installed ``rpcspy show``, the app under Textual's Pilot, the console line of the
proxy) on one record of every outcome and reads the words back off what each one shows.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Static

from rpcspy.proxy.console import format_call_line
from rpcspy.tui.app import RpcSpyApp
from rpcspy.tui.screens.detail import DetailScreen
from tests.tui.conftest import wait_for
from tests.tui.samples import write_capture
from tests.wording import Case, cases

RPCSPY = str(Path(sys.executable).with_name("rpcspy"))
CASES = cases()


def _show(*args: str) -> str:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "160"}
    done = subprocess.run(
        [RPCSPY, "show", *args], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wording") / "wording.jsonl"
    return write_capture(path, [c.record for c in CASES])


@pytest.fixture(scope="module")
def show_table(capture: Path) -> dict[int, str]:
    """Each call's row of the ``rpcspy show`` table, by its #."""
    lines = _show(str(capture)).splitlines()
    return {int(line.split()[0]): line for line in lines[1:] if line[:5].strip().isdigit()}


@pytest.fixture(scope="module")
def show_json(capture: Path) -> dict[int, dict[str, object]]:
    rows = [json.loads(line) for line in _show(str(capture), "--json").splitlines()]
    # Each line is the whole record; the table row's words are under "summary".
    return {int(str(r["seq"])): r["summary"] for r in rows}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_show_writes_the_agreed_words(
    case: Case, capture: Path, show_table: dict[int, str], show_json: dict[int, dict[str, object]]
) -> None:
    seq = case.record.seq
    # The table: outcome, time and size are the row's last three columns.
    row = show_table[seq]
    pattern = rf"\s{re.escape(case.outcome)}\s+{re.escape(case.took)}\s+{re.escape(case.size)}$"
    assert re.search(pattern, row), row
    assert show_json[seq]["status"] == case.outcome
    one = _show(str(capture), "--call", str(seq))
    assert f"  outcome  {case.outcome}\n" in one
    assert f"duration {case.took}  size {case.size}\n" in one


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_console_line_writes_the_agreed_words(case: Case) -> None:
    line = format_call_line(case.record)
    words = [part.strip() for part in line.split("  ") if part.strip()]
    # clock, method, time, size, outcome (then ": detail"), [problems]
    assert words[2:4] == [case.took, case.size], line
    assert words[4].split(": ")[0] == case.outcome, line


async def test_the_tui_writes_the_agreed_words(
    make_app: Callable[..., RpcSpyApp], capture: Path
) -> None:
    app = make_app(capture=capture)
    async with app.run_test(size=(140, 30)) as pilot:
        call_list = app.calls_screen.call_list
        await wait_for(
            pilot,
            lambda: (
                len(call_list.shown) == len(CASES) and app.indexer is not None and app.indexer.done
            ),
        )
        await pilot.pause()
        for y, case in enumerate(CASES):
            row = call_list.render_line(y).text.rstrip()
            took_size = rf"\s{re.escape(case.took)}\s+{re.escape(case.size)}$"
            assert re.search(rf"\s{re.escape(case.outcome)}\s.*{took_size}", row), row
            assert call_list.locate(y)[0] == y
            screen = DetailScreen(app.calls_screen.store, y)
            await app.push_screen(screen)
            await pilot.pause()
            header = str(screen.query_one("#detail-summary", Static).render())
            assert f"   {case.outcome}   {case.took}   " in header, header
            app.pop_screen()
            await pilot.pause()
