"""Captures whose records have a field of the wrong type or value (issue 11, item 13).

The TUI used to list such a record and fail on Enter with a traceback (``RecordError: id should
be a string, got int``), exiting 0. Now the index checks each line with the reader's rules when
it reads it: for every file of the corpus (``captures/``, made by ``make_captures.py``) the TUI's
call rows are exactly the reader's records, each opens in the call view, and each record the
reader refuses is a problem row (``p``) with the reader's message; ``rpcspy show`` counts the
same.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import re
from pathlib import Path

import pytest

from rpcspy.capture import read_capture
from rpcspy.capture.index import IndexBuilder
from rpcspy.capture.record import CallRecord, Problem
from rpcspy.cli import main as rpcspy_main
from rpcspy.tui.app import RpcSpyApp
from rpcspy.tui.screens.calls import StatusBar
from rpcspy.tui.screens.detail import DetailScreen
from rpcspy.tui.screens.problems import ProblemsScreen, problem_row
from tests.hostile.make_captures import WRONG_RECORDS

CAPTURES = Path(__file__).parent / "captures"
FILES = sorted(CAPTURES.glob("*.jsonl"))
RECORD_FILES = sorted(CAPTURES.glob("record-*.jsonl"))
#: A few files the TUI itself opens one by one (the whole corpus goes through it at once below).
PILOT_FILES = [
    "record-id-int.jsonl",
    "record-fault-code-1e30.jsonl",
    "record-param-nested-deep.jsonl",
    "record-request-headers-object.jsonl",
    "record-param-i4-huge.jsonl",
    "record-request-body-size-string.jsonl",
    "started-1e308.jsonl",
    "lone-surrogate.jsonl",
    "escape-sequences.jsonl",
]


def by_reader(path: Path) -> tuple[list[CallRecord], list[Problem]]:
    with read_capture(path) as reader:
        return list(reader), list(reader.problems)


def by_index(path: Path) -> tuple[list[CallRecord], list[Problem]]:
    builder = IndexBuilder(path, cache=False)
    try:
        builder.run()
        index = builder.index
        # Every row opens: its record is built from its line, as the call view builds it.
        return [index.record(row) for row in range(index.count)], list(index.problems)
    finally:
        builder.close()


def test_the_corpus_is_there_and_hostile() -> None:
    assert len(RECORD_FILES) == len(WRONG_RECORDS) >= 70
    refused = [p for p in RECORD_FILES if by_reader(p)[1]]
    # Nearly every file has a record the reader refuses; the rest are odd but valid.
    assert len(refused) >= len(RECORD_FILES) - 5
    for path in RECORD_FILES:
        records, problems = by_reader(path)
        assert len(records) + len(problems) == 3, path.name
        assert [p.line for p in problems] in ([], [3]), path.name


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_index_and_reader_agree(path: Path) -> None:
    assert by_index(path) == by_reader(path)


def _show(path: Path) -> tuple[int, int, list[str]]:
    """``rpcspy show FILE``: exit code, calls counted on stdout, warnings on stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = rpcspy_main(["show", str(path)])
    counted = re.search(r"^(\d+) calls?$", out.getvalue(), re.M)
    assert counted is not None, out.getvalue()
    return code, int(counted.group(1)), err.getvalue().splitlines()


@pytest.mark.parametrize("path", RECORD_FILES, ids=[p.name for p in RECORD_FILES])
def test_show_counts_what_the_index_lists(path: Path) -> None:
    records, problems = by_index(path)
    code, counted, warnings = _show(path)
    assert counted == len(records)
    assert code == (4 if problems else 0)
    for problem in problems:
        assert any(problem.message in w for w in warnings), (problem.message, warnings)
    assert "Traceback" not in "\n".join(warnings)


def _status(app: RpcSpyApp) -> str:
    return str(app.calls_screen.query_one(StatusBar).render())


async def _open_every_row_and_the_problems(path: Path, tmp_path: Path) -> None:
    expected_records, expected_problems = by_reader(path)
    app = RpcSpyApp(capture=path, tz=dt.UTC, save_dir=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = asyncio.get_running_loop().time() + 30
        while not (app.indexer is not None and app.indexer.done):
            assert asyncio.get_running_loop().time() < deadline, "the capture was not read"
            await pilot.pause(0.02)
        await pilot.pause(0.05)
        calls = app.calls_screen
        assert app.store.count == len(expected_records)
        assert len(calls.call_list.shown) == len(expected_records)
        # Every call row opens in the call view, showing its record.
        for row in range(app.store.count):
            await pilot.press("home", *["down"] * row, "enter")
            while not isinstance(app.screen, DetailScreen):
                await pilot.pause(0.01)
            screen = app.screen
            assert screen.row == row
            assert app.store.record(row) == expected_records[row]
            await pilot.pause(0.02)
            await pilot.press("escape")
            while app.screen is not calls:
                await pilot.pause(0.01)
        # Every refused record is a problem row, in the reader's words.
        n = len(expected_problems)
        if n:
            assert f"{n} bad line{'s' if n != 1 else ''} skipped" in _status(app)
        await pilot.press("p")
        while not isinstance(app.screen, ProblemsScreen):
            await pilot.pause(0.01)
        table = app.screen.query_one("#problems-table")
        rows = [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]  # type: ignore[attr-defined]
        assert rows == [problem_row(p) for p in expected_problems]
        for problem, (line, kind, what) in zip(expected_problems, rows, strict=True):
            assert line == f"{problem.line:,}" and kind == problem.kind
            assert problem.reason in what
        await pilot.press("escape")
        while app.screen is not calls:
            await pilot.pause(0.01)
        await pilot.press("q")
    assert app.return_code in (0, None)


@pytest.mark.parametrize("name", PILOT_FILES)
def test_tui_rows_open_and_refused_records_are_problem_rows(name: str, tmp_path: Path) -> None:
    asyncio.run(_open_every_row_and_the_problems(CAPTURES / name, tmp_path))


def test_tui_on_the_whole_corpus_at_once(tmp_path: Path) -> None:
    # Every hostile record of the corpus in one capture (the files' header once, then their
    # records): the TUI lists exactly the records the reader reads and opens each of them.
    lines = [RECORD_FILES[0].read_bytes().splitlines(keepends=True)[0]]
    for path in RECORD_FILES:
        lines.extend(path.read_bytes().splitlines(keepends=True)[2:3])
    lines.extend(RECORD_FILES[0].read_bytes().splitlines(keepends=True)[1:2])
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_bytes(b"".join(lines))
    records, problems = by_reader(corpus)
    assert len(problems) >= len(RECORD_FILES) - 5 and len(records) >= 2
    assert by_index(corpus) == (records, problems)
    asyncio.run(_open_every_row_and_the_problems(corpus, tmp_path))
