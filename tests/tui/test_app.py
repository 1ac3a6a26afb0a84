"""The TUI driven by keys and mouse (Textual's pilot) on real capture files."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from textual.widgets import DataTable, Input, TabbedContent

from rpcspy.capture import CallRecord, CaptureWriter, read_capture
from rpcspy.tui.app import RpcSpyApp, make_live_app, write_rows
from rpcspy.tui.screens.calls import CallsScreen, StatusBar
from rpcspy.tui.screens.detail import DetailScreen
from rpcspy.tui.screens.help import HelpScreen
from rpcspy.tui.screens.prompt import PathPrompt
from rpcspy.tui.screens.stats import StatsScreen
from rpcspy.tui.widgets.call_list import CallList, CallListHeader
from rpcspy.tui.widgets.filter_bar import FilterBar
from tests.tui.conftest import wait_for
from tests.tui.samples import exchange, sample_records, write_capture

AppFactory = Callable[..., RpcSpyApp]
SIZE = (100, 30)


def calls(app: RpcSpyApp) -> CallsScreen:
    return app.calls_screen


def shown(app: RpcSpyApp) -> list[int]:
    return list(calls(app).call_list.shown)


def status(app: RpcSpyApp) -> str:
    return str(calls(app).query_one(StatusBar).render())


async def loaded(pilot: object, app: RpcSpyApp, n: int = 12) -> None:
    await wait_for(
        pilot, lambda: len(shown(app)) == n and app.indexer is not None and app.indexer.done
    )


async def test_list_and_status_bar(make_app: AppFactory, sample_capture: Path) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        assert shown(app) == list(range(12))
        text = status(app)
        for part in ("12 calls", "3 faults", "2 problems", "shown 12/12"):
            assert part in text
        assert app.title == "rpcspy — sample.jsonl"
        assert isinstance(app.focused, CallList)


async def test_keyboard_navigation(make_app: AppFactory, sample_capture: Path) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        cl = calls(app).call_list
        await pilot.press("down", "down", "j")
        assert cl.current == (3, None)
        await pilot.press("k")
        assert cl.current == (2, None)
        await pilot.press("end")
        assert cl.current == (11, None)
        await pilot.press("home")
        assert cl.current == (0, None)
        await pilot.press("pagedown")
        assert cl.current is not None and cl.current[0] == 11  # fewer calls than a page
        await pilot.press("G", "g")
        assert cl.current == (0, None)


async def test_multicall_expands_with_keys_and_mouse(
    make_app: AppFactory, sample_capture: Path
) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        cl = calls(app).call_list
        for _ in range(6):
            await pilot.press("down")
        assert cl.current == (6, None)
        await pilot.press("space")
        assert cl.line_count == 15
        await pilot.press("down")
        assert cl.current == (6, 0)
        await pilot.press("down", "down", "down")
        assert cl.current == (7, None)
        await pilot.press("up", "left")  # collapse from a sub-call line
        assert cl.line_count == 12 and cl.current == (6, None)
        await pilot.press("space", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert isinstance(app.screen, DetailScreen) and app.screen.sub == 0
        await pilot.press("escape")
        await pilot.press("left")
        assert cl.line_count == 12
        # Click the ▸ marker of the multicall line (line 6 of the list) to expand it.
        assert await pilot.click(CallList, offset=(0, 6))
        assert cl.line_count == 15
        assert await pilot.click(CallList, offset=(0, 6))
        assert cl.line_count == 12
        # A plain row does not expand.
        await pilot.press("home", "space")
        assert cl.line_count == 12


async def test_filter_as_you_type_with_completion_and_errors(
    make_app: AppFactory, sample_capture: Path
) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("slash")
        bar = calls(app).query_one(FilterBar)
        assert app.focused is bar.input
        await pilot.press(*"fault")
        await wait_for(pilot, lambda: shown(app) == [4, 6, 7])
        assert "shown 3/12" in status(app)
        await pilot.press(*" and")  # incomplete: an error, the list keeps the last good filter
        await wait_for(pilot, lambda: bar.error is not None)
        assert bar.has_class("-invalid")
        message = str(bar.query_one("#filter-message").render())
        assert "column 7: expected a filter after 'and'" in message
        assert "^^^" in message
        assert shown(app) == [4, 6, 7]
        await pilot.press(*" not meth", "tab")  # Tab completes the word
        assert bar.value == "fault and not method:"
        await pilot.press(*"demo.*")
        await wait_for(pilot, lambda: shown(app) == [4, 6])
        assert bar.error is None and not bar.has_class("-invalid")
        await pilot.press("enter")  # back to the list
        assert isinstance(app.focused, CallList)
        await pilot.press("escape")  # Esc in the list clears the filter
        await wait_for(pilot, lambda: len(shown(app)) == 12)
        assert bar.value == ""


async def test_filter_on_params_and_text(make_app: AppFactory, sample_capture: Path) -> None:
    app = make_app(capture=sample_capture, initial_filter="params[0].name=bob")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: shown(app) == [2, 6])
        calls(app).set_filter("latency>200ms or hostname")
        await wait_for(pilot, lambda: shown(app) == [5, 11])


async def test_sort_by_key_and_header_click(make_app: AppFactory, sample_capture: Path) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        screen = calls(app)
        await pilot.press("o")  # seq -> time
        await wait_for(pilot, lambda: screen.sort_key == "time" and not screen._full_running)
        await pilot.press("o", "o")  # -> method -> duration
        await wait_for(pilot, lambda: screen.sort_key == "duration" and not screen._full_running)
        assert shown(app)[-1] == 5  # demo.slow last (ascending)
        await pilot.press("O")
        await wait_for(pilot, lambda: screen.sort_reverse and shown(app)[0] == 5)
        assert "sort duration ▼" in status(app)
        # Click the "method" column title.
        header = screen.query_one(CallListHeader)
        text = str(header.render())
        x = text.index("method")
        assert await pilot.click(CallListHeader, offset=(x, 0))
        await wait_for(pilot, lambda: screen.sort_key == "method" and not screen._full_running)
        names = [app.store.method_name(r) for r in shown(app)]
        assert names == sorted(names)
        assert await pilot.click(CallListHeader, offset=(x, 0))  # again: reversed
        await wait_for(pilot, lambda: screen.sort_reverse and not screen._full_running)
        assert [app.store.method_name(r) for r in shown(app)] == sorted(names, reverse=True)


async def test_detail_by_enter_and_double_click(make_app: AppFactory, sample_capture: Path) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("down", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        detail = app.screen
        assert isinstance(detail, DetailScreen) and detail.record.seq == 3
        tabs = detail.query_one(TabbedContent)
        assert tabs.active == "tab-tree"
        tree_text = "\n".join(str(n.label) for n in detail.query_one("#value-tree").root.children)
        assert "call user.get" in tree_text
        await pilot.press("2")
        assert tabs.active == "tab-xml"
        assert "<methodName>user.get</methodName>" in detail.request_xml
        assert "<name>admin</name>" in detail.response_xml
        await pilot.press("3")
        assert tabs.active == "tab-http"
        http = str(detail.query_one("#http-text").render())
        assert "User-Agent: Python-xmlrpc/3.12" in http and "2023-11-14 22:13:23.000+00:00" in http
        await pilot.press("escape")
        assert isinstance(app.screen, CallsScreen)
        await pilot.double_click(CallList, offset=(10, 4))
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert isinstance(app.screen, DetailScreen) and app.screen.record.seq == 5


async def test_copy_as_curl_and_python(make_app: AppFactory, sample_capture: Path) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("down", "c")
        assert app.clipboard.startswith("curl -sS -X POST http://127.0.0.1:8000/RPC2")
        assert "<methodName>dir.list</methodName>" in app.clipboard
        await pilot.press("y")
        assert "import xmlrpc.client" in app.clipboard
        assert "result = proxy.dir.list('/tmp', {'recursive': True, 'limit': 10})" in app.clipboard
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("c")
        assert app.clipboard.startswith("curl")


async def test_save_snippet_to_a_file(
    make_app: AppFactory, sample_capture: Path, tmp_path: Path
) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("enter", "Y")
        await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt))
        prompt_input = app.screen.query_one(Input)
        assert prompt_input.value == str(tmp_path / "rpcspy-call-1.py")
        await pilot.press("enter")
        await wait_for(pilot, lambda: (tmp_path / "rpcspy-call-1.py").exists())
        assert "proxy.system.listMethods()" in (tmp_path / "rpcspy-call-1.py").read_text()
        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt))
        app.screen.query_one(Input).value = str(tmp_path / "nodir" / "x.sh")
        await pilot.press("enter")
        assert isinstance(app.screen, PathPrompt)  # refused: no such directory
        assert "no such directory" in str(app.screen.query_one("#prompt-error").render())
        app.screen.query_one(Input).value = str(tmp_path / "call.sh")
        await pilot.press("enter")
        await wait_for(pilot, lambda: (tmp_path / "call.sh").exists())
        assert (tmp_path / "call.sh").read_text().startswith("curl ")


async def test_save_shown_calls_as_a_capture(
    make_app: AppFactory, sample_capture: Path, tmp_path: Path
) -> None:
    app = make_app(capture=sample_capture, initial_filter="fault or problem")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: shown(app) == [4, 6, 7, 8, 10])
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt))
        target = tmp_path / "saved.jsonl"
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: target.exists())
    with read_capture(target) as reader:
        saved = list(reader)
        assert not reader.problems
    assert [r.seq for r in saved] == [5, 7, 8, 9, 11]
    assert saved[1].subcalls == sample_records()[6].subcalls


def test_write_rows_mixes_file_and_live_rows(tmp_path: Path) -> None:
    from rpcspy.capture.index import CaptureIndex, IndexBuilder

    path = write_capture(tmp_path / "a.jsonl", sample_records()[:2])
    store = CaptureIndex()
    indexer = IndexBuilder(path, store)
    indexer.run()
    store.add_record(exchange(99, "live.one", (1,), result=2))
    out = tmp_path / "out.jsonl.gz"
    assert write_rows(store, [2, 0], out) == 2
    with read_capture(out) as reader:
        assert [r.seq for r in reader] == [99, 1]
    indexer.close()


async def test_stats_screen(make_app: AppFactory, sample_capture: Path) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("s")
        await wait_for(
            pilot, lambda: isinstance(app.screen, StatsScreen) and bool(app.screen.stats)
        )
        screen = app.screen
        assert isinstance(screen, StatsScreen)
        table = screen.query_one(DataTable)
        keys = [c.key.value for c in table.ordered_columns]
        cells = [table.get_row_at(i) for i in range(table.row_count)]
        rows = {str(c[0]): {k: str(v) for k, v in zip(keys, c, strict=True)} for c in cells}
        assert [rows["user.get"]["count"], rows["user.get"]["faults"]] == ["2", "0"]
        assert rows["demo.fault"]["fault_rate"] == "100.0"
        assert rows["demo.slow"]["p50"] == "352 ms"  # the agreed time wording, unit included
        table.move_cursor(row=list(rows).index("user.get"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(app) == [2, 3, 6])
        assert calls(app).query_one(FilterBar).value == "method:user.get"


async def test_help_screen_and_palette(make_app: AppFactory, sample_capture: Path) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, CallsScreen)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"Filter: faults")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(app) == [4, 6, 7])


async def test_follow_keeps_place_and_adds_calls(make_app: AppFactory, tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    records = sample_records()
    writer = CaptureWriter(path, append=False)
    for rec in records[:3]:
        writer.write(rec)
    app = make_app(capture=path, follow=True)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: len(shown(app)) == 3)
            cl = calls(app).call_list
            await pilot.press("down")
            assert cl.current == (1, None)
            for rec in records[3:6]:
                writer.write(rec)
            await wait_for(pilot, lambda: len(shown(app)) == 6)
            assert cl.current == (1, None)  # the user's place is kept
            await pilot.press("end")
            writer.write(records[6])
            await wait_for(pilot, lambda: len(shown(app)) == 7)
            assert cl.current == (6, None)  # at the end: follows the tail
            calls(app).set_filter("fault")
            await wait_for(pilot, lambda: shown(app) == [4, 6])
            writer.write(records[7])  # a fault: shown as it arrives
            writer.write(records[8])  # a problem: filtered out
            await wait_for(pilot, lambda: app.store.count == 9)
            await wait_for(pilot, lambda: shown(app) == [4, 6, 7])
    finally:
        writer.close()


async def test_corrupt_capture_shows_good_records_and_reports(
    make_app: AppFactory, tmp_path: Path
) -> None:
    path = write_capture(tmp_path / "bad.jsonl", sample_records()[:5])
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(3, b"{not json\n")
    path.write_bytes(b"".join(lines) + b'{"type": "call", "seq": 6, "id"')
    app = make_app(capture=path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "2 bad lines skipped" in status(app))
        assert len(shown(app)) == 5
        await wait_for(pilot, lambda: bool(app._notifications))
        note = next(iter(app._notifications))
        assert "line 4" in note.message and "the good records are shown" in note.message


async def test_live_records_source(make_app: AppFactory) -> None:
    records = sample_records()

    async def source() -> AsyncIterator[CallRecord]:
        for rec in records[:4]:
            yield rec

    app = make_live_app(source(), title="rpcspy — test")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(shown(app)) == 4)
        assert "live source ended" in status(app)
        app.add_record(records[4])
        await wait_for(pilot, lambda: len(shown(app)) == 5)
        assert app.store.record(4).method == "nope.missing"


async def test_fits_80x24_and_no_color(
    make_app: AppFactory, sample_capture: Path, monkeypatch: object
) -> None:
    import pytest

    mp = pytest.MonkeyPatch()
    mp.setenv("NO_COLOR", "1")
    try:
        app = make_app(capture=sample_capture)
        assert app.no_color
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot, app)
            svg = app.export_screenshot()
            from textual.filter import Monochrome

            assert any(isinstance(f, Monochrome) for f in app._filters)
            colours = {
                tuple(int(c[i : i + 2], 16) for i in (0, 2, 4))
                for c in re.findall(r"fill: ?#([0-9a-f]{6})", svg)
            }
            assert colours and all(max(c) - min(c) <= 8 for c in colours)  # greys only
            cl = calls(app).call_list
            assert cl.size.width == 80 and cl.size.height >= 15
            header = str(calls(app).query_one(CallListHeader).render())
            assert "client" not in header and "method" in header and "outcome" in header
    finally:
        mp.undo()
