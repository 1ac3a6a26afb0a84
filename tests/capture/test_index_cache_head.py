"""A big cached index restored in two steps for a UI: the head (a first page of rows) when the
builder is made, every other saved row in ``run``; the same index as restored at once. And
``row_range``, the list of every row a first screen shows."""

from __future__ import annotations

import random
from array import array
from pathlib import Path
from typing import Any

import pytest

from rpcspy.capture import CaptureWriter
from rpcspy.capture import index as index_module
from rpcspy.capture._columns import row_range
from rpcspy.capture.cache import ALL_COLUMNS
from rpcspy.capture.index import CaptureIndex, IndexBuilder, index_records
from tests.tui.samples import sample_records, write_capture

HEAD = 5


@pytest.fixture
def small_head(monkeypatch: pytest.MonkeyPatch) -> None:
    """Indexes of more than 10 rows are restored in two steps, a head of ``HEAD`` rows first."""
    monkeypatch.setattr(index_module, "_CACHED_HEAD", HEAD)
    monkeypatch.setattr(index_module, "_CACHED_WHOLE", 10)


def _state(index: CaptureIndex) -> dict[str, Any]:
    """Everything a reader of the index sees of its rows."""
    rows = index.count
    return {
        "count": rows,
        **{name: bytes(getattr(index, name)) for name, _code in ALL_COLUMNS},
        "sub_methods": {k: v for k, v in index.sub_methods.items() if k < rows},
        "sub_faults": {k: v for k, v in index.sub_faults.items() if k < rows},
        "row_rules": {k: v for k, v in index.row_rules.items() if k < rows},
        "faults": index.faults,
        "bad": index.bad,
        "methods": index.methods.names,
        "clients": index.clients.names,
        "shapes": index.shapes.names,
        "records": [index.record(r) for r in range(rows)],
        "problems": index.problems,
    }


def _whole(path: Path) -> dict[str, Any]:
    builder = IndexBuilder(path)  # no UI: restored at once
    try:
        assert builder.source in ("cached", "extended")
        builder.run()
        return _state(builder.index)
    finally:
        builder.close()


def _capture(tmp_path: Path) -> Path:
    """Two dozen calls of every outcome (multicalls, faults, problems), indexed and cached."""
    path = write_capture(tmp_path / "c.jsonl", sample_records() * 2)
    builder = IndexBuilder(path)
    builder.run()
    builder.close()
    return path


def test_a_ui_gets_the_head_of_a_big_cached_index_first_then_all_of_it(
    tmp_path: Path, small_head: None
) -> None:
    path = _capture(tmp_path)
    whole = _whole(path)
    assert whole["count"] == 24 and whole["faults"] and whole["sub_methods"]
    builder = IndexBuilder(path, shows_first_page=True)
    try:
        assert builder.source == "cached" and not builder.done
        head = _state(builder.index)
        # The head: the first rows, as the whole index has them, counted on their own.
        assert head["count"] == HEAD
        for name, code in ALL_COLUMNS:
            size = array(code).itemsize
            assert head[name] == whole[name][: HEAD * size], name
        assert head["records"] == whole["records"][:HEAD]
        # Its fault and problem counts are those of its rows (as an index of them counts).
        alone = index_records(whole["records"][:HEAD])
        assert (head["faults"], head["bad"]) == (alone.faults, alone.bad)
        assert head["faults"] < whole["faults"]
        assert head["sub_methods"] == {k: v for k, v in whole["sub_methods"].items() if k < HEAD}
        assert head["methods"] == whole["methods"] and head["clients"] == whole["clients"]
        counts: list[int] = []
        builder.first_page_shown.set()  # (a UI sets it once its first page is painted)
        builder.run(on_batch=counts.append)
        assert builder.done and counts == [24]
        assert _state(builder.index) == whole
    finally:
        builder.close()


def test_a_big_cached_index_that_grew_gets_its_head_then_all_then_the_new_rows(
    tmp_path: Path, small_head: None
) -> None:
    path = _capture(tmp_path)
    with CaptureWriter(path) as writer:
        for record in sample_records()[:7]:
            writer.write(record)
    builder = IndexBuilder(path, shows_first_page=True)
    try:
        assert builder.source == "extended" and builder.index.count == HEAD
        builder.first_page_shown.set()
        builder.run()
        assert builder.index.count == 31
        grown = _state(builder.index)
        assert [r.seq for r in grown["records"]] == [r.seq for r in sample_records() * 2] + [
            r.seq for r in sample_records()[:7]
        ]
    finally:
        builder.close()
    assert _whole(path) == grown


def test_a_small_cached_index_or_one_opened_without_a_ui_is_restored_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "_CACHED_HEAD", HEAD)  # (more than 24 rows split)
    path = _capture(tmp_path)
    for ui in (True, False):
        builder = IndexBuilder(path, shows_first_page=ui)
        assert builder.source == "cached" and builder.index.count == 24
        builder.close()


@pytest.mark.parametrize(
    ("start", "stop"),
    [
        (0, 0),
        (5, 3),
        (0, 10),
        (0, 4096),
        (0, 1_000_000),
        (1000, 1_000_000),
        (255, 70_000),
        (65_535, 65_536 * 3 + 7),
        (2**24 - 5, 2**24 + 70_000),
        (2**31 - 10_000, 2**31),
    ],
)
def test_row_range_is_every_row_from_start_to_stop(start: int, stop: int) -> None:
    assert row_range(start, stop) == array("i", range(start, stop))


def test_row_range_at_random_bounds() -> None:
    rng = random.Random(8)
    for _ in range(40):
        start = rng.randrange(0, 20_000_000)
        stop = start + rng.randrange(0, 300_000)
        assert row_range(start, stop) == array("i", range(start, stop)), (start, stop)


def test_a_record_added_before_the_rest_comes_goes_after_every_saved_row(
    tmp_path: Path, small_head: None
) -> None:
    # (A call resent from the UI's editor, say, before the other saved rows are read in.)
    path = _capture(tmp_path)
    whole = _whole(path)
    builder = IndexBuilder(path, shows_first_page=True)
    try:
        index = builder.index
        assert index.partial and index.count == HEAD
        extra = sample_records()[0]
        assert index.add_record(extra) == 24
        assert not index.partial and index.count == 25
        assert [index.record(r) for r in range(24)] == whole["records"]
        assert index.record(24) == extra
        builder.first_page_shown.set()
        builder.run()  # nothing left to take: the rows stay as they are
        assert index.count == 25 and index.record(24) == extra
    finally:
        builder.close()
