"""The first screen: what the app does before it (open the index in a thread) and what it leaves
until it is painted (the rest of a big list, garbage collection, rebuilding the footer)."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rpcspy.capture.index import CaptureIndex, IndexBuilder
from rpcspy.tui import startup
from rpcspy.tui.app import RpcSpyApp
from rpcspy.tui.screens.calls import _FIRST_PAGE, StatusBar
from rpcspy.tui.screenshot import screen_text
from rpcspy.tui.startup import CaptureOpening, hold_gc, release_gc
from rpcspy.tui.widgets.key_bar import KeyBar
from tests.tui.conftest import wait_for
from tests.tui.samples import exchange, write_capture

AppFactory = Callable[..., RpcSpyApp]
SIZE = (120, 30)
BIG = _FIRST_PAGE + 500


@pytest.fixture
def gc_on() -> Iterator[None]:
    """The collector on at the start (as in a fresh process), and as found afterwards."""
    was = gc.isenabled()
    gc.enable()
    yield
    startup._held = False
    (gc.enable if was else gc.disable)()


@pytest.fixture
def big_capture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """More calls than the first page, with their index cached (as on a reopen)."""
    monkeypatch.setenv("RPCSPY_CACHE_DIR", str(tmp_path / "index-cache"))
    records = [exchange(i, f"m{i % 7}", (i,), result=i) for i in range(1, BIG + 1)]
    path = write_capture(tmp_path / "big.jsonl", records)
    builder = IndexBuilder(path)
    builder.run()
    builder.close()
    again = IndexBuilder(path)
    assert again.source == "cached"
    again.close()
    return path


def status(app: RpcSpyApp) -> str:
    return str(app.calls_screen.query_one(StatusBar).render())


async def test_a_big_list_shows_a_first_page_then_every_row_and_counts_them_all_meanwhile(
    make_app: AppFactory, big_capture: Path
) -> None:
    app = make_app(capture=big_capture)
    async with app.run_test(size=SIZE) as pilot:
        call_list = app.calls_screen.call_list
        while not call_list.shown:
            await asyncio.sleep(0)
        # The first rows shown are the first calls, the cursor on the first; the status bar
        # counts every call as shown (they all pass), not just the rows drawn so far.
        first = list(call_list.shown)
        assert first == list(range(len(first)))
        assert len(first) in (_FIRST_PAGE, BIG)
        assert call_list.current == (0, None)
        assert f"shown {BIG:,}/{BIG:,}" in status(app)
        await wait_for(pilot, lambda: len(call_list.shown) == BIG)
        assert list(call_list.shown) == list(range(BIG))
        assert call_list.current == (0, None)
        assert f"shown {BIG:,}/{BIG:,}" in status(app)
        # End goes to the last call: the rest of the list is really there.
        await pilot.press("end")
        await pilot.pause()
        assert call_list.current == (BIG - 1, None)


async def test_clearing_a_filter_on_a_big_list_keeps_the_selected_call(
    make_app: AppFactory, big_capture: Path
) -> None:
    # Only an empty list gets a first page: a list already shown is replaced as a whole, so
    # the selected call stays selected even far beyond the first page.
    app = make_app(capture=big_capture)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.calls_screen
        await wait_for(pilot, lambda: len(screen.call_list.shown) == BIG)
        screen.set_filter("method:m3")
        await wait_for(pilot, lambda: len(screen.call_list.shown) < BIG)
        await pilot.press("end")
        await pilot.pause()
        row = screen.call_list.current
        assert row is not None and row[0] > _FIRST_PAGE
        screen.set_filter("")
        await wait_for(pilot, lambda: len(screen.call_list.shown) == BIG)
        assert screen.call_list.current == row


async def test_the_collector_is_on_again_once_the_first_screen_is_up(
    make_app: AppFactory, sample_capture: Path, gc_on: None
) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.calls_screen.call_list.shown) == 12)
        await wait_for(pilot, gc.isenabled)
    assert gc.isenabled()


async def test_the_collector_is_on_again_with_nothing_to_show(
    make_app: AppFactory, tmp_path: Path, gc_on: None
) -> None:
    # No first page ever comes (an empty capture): the collector comes back all the same.
    empty = write_capture(tmp_path / "empty.jsonl", [])
    app = make_app(capture=empty)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.indexer is not None and app.indexer.done)
        await wait_for(pilot, gc.isenabled, timeout=5)
        assert not app.calls_screen.call_list.shown


def test_hold_and_release_gc_switch_off_only_what_was_on(gc_on: None) -> None:
    hold_gc()
    assert not gc.isenabled()
    hold_gc()  # a second hold changes nothing
    release_gc()
    assert gc.isenabled()
    release_gc()  # nothing held: nothing to do
    assert gc.isenabled()
    # Off already (someone else's choice): it stays off.
    gc.disable()
    hold_gc()
    release_gc()
    assert not gc.isenabled()


def test_an_opening_gives_the_builder_or_why_the_capture_cannot_be_read(
    sample_capture: Path, tmp_path: Path
) -> None:
    store = CaptureIndex()
    builder, error = CaptureOpening(sample_capture, store).result()
    assert error is None and builder is not None and builder.index is store
    builder.close()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("this is not a capture\n")
    builder, error = CaptureOpening(bad, CaptureIndex()).result()
    assert builder is None and error
    builder, error = CaptureOpening(tmp_path / "missing.jsonl", CaptureIndex()).result()
    assert builder is None and error


async def test_a_capture_that_cannot_be_read_is_said_so_on_screen(
    make_app: AppFactory, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("this is not a capture\n")
    app = make_app(capture=bad)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(app._notifications))
        note = next(iter(app._notifications))
        assert note.title == "cannot read the capture"
        assert "unreadable" in status(app)
        assert app.indexer is None


async def test_the_app_takes_an_opening_begun_before_it(
    make_app: AppFactory, sample_capture: Path
) -> None:
    # ``rpcspy tui`` begins opening the capture before it imports the app.
    opening = CaptureOpening(sample_capture, CaptureIndex())
    app = make_app(capture=sample_capture, opening=opening)
    assert app.store is opening.store
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.calls_screen.call_list.shown) == 12)
        assert app.indexer is not None and app.indexer.index is app.store


async def test_the_footer_is_drawn_with_the_first_page_and_follows_the_focus(
    make_app: AppFactory, sample_capture: Path
) -> None:
    app = make_app(capture=sample_capture)
    async with app.run_test(size=SIZE) as pilot:
        bar = app.screen.query_one(KeyBar)
        await wait_for(pilot, lambda: bool(app.calls_screen.call_list.shown))
        await pilot.pause()
        # One widget, its keys there as soon as the list is (no second pass builds them).
        assert not bar.children
        assert "⏎ Open" in screen_text(app)[-1]  # the list has the focus
        # The filter bar takes the focus: Enter no longer opens a call.
        await pilot.press("slash")
        await wait_for(pilot, lambda: "⏎ Open" not in screen_text(app)[-1])
        assert "select" not in [e.action for e in bar.entries()]
        await pilot.press("escape")
        await wait_for(pilot, lambda: "⏎ Open" in screen_text(app)[-1])


def test_what_the_first_screen_does_not_import() -> None:
    # Everything the first screen does not show loads when it is first used: the filter
    # language, the other screens, replay, API, diff, the proxy, highlighting, and the XML
    # codec (the calls shown are read from the capture's JSON, never from XML).
    later = (
        "rpcspy.xmlrpc.decode",
        "rpcspy.xmlrpc.encode",
        "rpcspy.xmlrpc.tolerant",
        "lxml",
        "rpcspy.filter",
        "rpcspy.tui.screens.",
        "rpcspy.replay",
        "rpcspy.api",
        "rpcspy.diff",
        "rpcspy.proxy",
        "rpcspy.mock",
        "rpcspy.query",
        "mitmproxy",
        "pygments",
        "textual.widgets._data_table",
        "textual.widgets._tabbed_content",
    )
    code = (
        "import sys, rpcspy.cli, rpcspy.commands.tui, rpcspy.tui.app\n"
        f"print(sorted(m for m in sys.modules if m.startswith({later!r})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['rpcspy.tui.screens.calls']"


@pytest.fixture
def split_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cached index of more than a first page is restored as a big one is: its first page of
    rows before the first screen, the rest right after it (``IndexBuilder``)."""
    from rpcspy.capture import index as index_module

    monkeypatch.setattr(index_module, "_CACHED_HEAD", _FIRST_PAGE)
    monkeypatch.setattr(index_module, "_CACHED_WHOLE", _FIRST_PAGE)


def _watch_first_page(app: RpcSpyApp) -> list[tuple[int, int]]:
    """(rows indexed, rows shown) when the list first shows calls."""
    seen: list[tuple[int, int]] = []
    ready = app.first_page_ready

    def first_page_ready() -> None:
        seen.append((app.store.count, len(app.calls_screen.call_list.shown)))
        ready()

    app.first_page_ready = first_page_ready  # type: ignore[method-assign]
    return seen


async def test_a_big_cached_index_shows_its_first_page_then_every_row(
    make_app: AppFactory, big_capture: Path, split_cache: None
) -> None:
    app = make_app(capture=big_capture)
    seen = _watch_first_page(app)
    async with app.run_test(size=SIZE) as pilot:
        call_list = app.calls_screen.call_list
        await wait_for(pilot, lambda: len(call_list.shown) == BIG)
        # The first screen had the first page of the saved rows; then came all the others.
        assert seen[0] == (_FIRST_PAGE, _FIRST_PAGE)
        assert app.indexer is not None and app.indexer.source == "cached"
        await wait_for(pilot, lambda: f"{BIG:,} calls" in status(app))
        assert f"shown {BIG:,}/{BIG:,}" in status(app)
        assert "reading" not in status(app)
        assert list(call_list.shown) == list(range(BIG))
        assert call_list.current == (0, None)
        await pilot.press("end")
        await pilot.pause()
        assert call_list.current == (BIG - 1, None)
        assert app.store.record(BIG - 1).seq == BIG
        # Filters see every row.
        app.calls_screen.set_filter("method:m3")
        await wait_for(pilot, lambda: len(call_list.shown) < BIG)
        assert len(call_list.shown) == sum(1 for i in range(1, BIG + 1) if i % 7 == 3)


async def test_a_big_cached_index_of_a_capture_that_grew_shows_the_new_rows(
    make_app: AppFactory, big_capture: Path, split_cache: None
) -> None:
    from rpcspy.capture import CaptureWriter

    more = [exchange(i, "grown", (i,), result=i) for i in range(BIG + 1, BIG + 21)]
    with CaptureWriter(big_capture) as writer:
        for record in more:
            writer.write(record)
    app = make_app(capture=big_capture)
    seen = _watch_first_page(app)
    async with app.run_test(size=SIZE) as pilot:
        call_list = app.calls_screen.call_list
        await wait_for(pilot, lambda: len(call_list.shown) == BIG + 20)
        assert seen[0] == (_FIRST_PAGE, _FIRST_PAGE)
        assert app.indexer is not None and app.indexer.source == "extended"
        assert [app.store.record(r).seq for r in call_list.shown[-21:]] == list(
            range(BIG, BIG + 21)
        )
        assert app.store.method_name(BIG) == "grown"
        await wait_for(pilot, lambda: f"{BIG + 20:,} calls" in status(app))


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Nothing frozen out of the collector's scans at the start, and nothing left so after."""
    gc.unfreeze()
    yield
    gc.unfreeze()


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def _tracked(obj: object) -> bool:
    """Is ``obj`` among what the collector scans (not frozen)?"""
    return any(o is obj for o in gc.get_objects())


def test_releasing_the_collector_can_leave_what_lives_out_of_its_scans(
    gc_on: None, unfrozen: None
) -> None:
    hold_gc()
    alive = _Cycle()
    release_gc(freeze=True)
    assert gc.isenabled() and gc.get_freeze_count() > 0 and not _tracked(alive)
    gc.unfreeze()
    # Nothing held: nothing frozen either.
    release_gc(freeze=True)
    assert gc.get_freeze_count() == 0 and _tracked(alive)


async def test_what_lives_at_the_first_screen_is_left_out_of_the_collectors_scans(
    gc_on: None, unfrozen: None
) -> None:
    # Live traffic (no capture, so nothing freezes once a capture is indexed): the first call
    # shown brings the collector back, the app and its screen left out of its scans.
    from rpcspy.tui.app import make_live_app

    app = make_live_app()
    async with app.run_test(size=SIZE) as pilot:
        app.add_record(exchange(1, "first.call", (1,), result=1))
        await wait_for(pilot, gc.isenabled)
        assert gc.get_freeze_count() > 0
        assert not _tracked(app.calls_screen)


async def test_rows_added_at_the_end_leave_the_lines_drawn_as_they_are(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A big capture's rows come in batches: only what changed is drawn again.
    from rpcspy.tui.app import make_live_app
    from rpcspy.tui.widgets.call_list import CallList

    drawn: list[int] = []
    render_row = CallList._render_row

    def counted(self: CallList, row: int, *args: object) -> object:
        drawn.append(row)
        return render_row(self, row, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(CallList, "_render_row", counted)
    app = make_live_app()
    async with app.run_test(size=SIZE) as pilot:
        call_list = app.calls_screen.call_list
        for seq in (1, 2, 3):
            app.add_record(exchange(seq, f"m{seq}", (seq,), result=seq))
        await wait_for(pilot, lambda: len(call_list.shown) == 3 and {0, 1, 2} <= set(drawn))
        await pilot.pause()
        drawn.clear()
        app.add_record(exchange(4, "m4", (4,), result=4))
        await wait_for(pilot, lambda: 3 in drawn)
        await pilot.pause()
        # The cursor followed the tail from the third call to the fourth: those two are drawn
        # again, the first two are not; and every line is what a fresh drawing gives.
        assert call_list.current == (3, None)
        assert 0 not in drawn and 1 not in drawn
        lines = [call_list.render_line(y).text for y in range(4)]
        call_list._lines.clear()
        assert [call_list.render_line(y).text for y in range(4)] == lines
        assert "m1" in lines[0] and "m4" in lines[3]
