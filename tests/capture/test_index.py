"""The capture index: indexing capture files, filters on it agreeing with a plain reading, sorting.

(Moved from the TUI's former store, tests/tui/test_store.py.)"""

from __future__ import annotations

import gzip
import threading
import time
from pathlib import Path

import pytest

from rpcspy.capture import CaptureFormatError, CaptureWriter
from rpcspy.capture.index import CaptureIndex, IndexBuilder, index_records
from rpcspy.filter import Cancelled, engine, filter_rows, parse_filter
from tests.filter.reference import matches as reference_matches
from tests.tui.samples import FILTERS, exchange, sample_records, write_capture


def index(path: Path, *, follow: bool = False) -> tuple[CaptureIndex, IndexBuilder]:
    store = CaptureIndex()
    indexer = IndexBuilder(path, store, follow=follow)
    if not follow:
        indexer.run()
    return store, indexer


@pytest.fixture
def sample_capture(tmp_path: Path) -> Path:
    return write_capture(tmp_path / "sample.jsonl", sample_records())


def test_indexes_every_call_and_builds_records_lazily(sample_capture: Path) -> None:
    store, indexer = index(sample_capture)
    records = sample_records()
    assert store.count == len(records) == 12
    assert indexer.done and not store.problems
    assert indexer.header is not None and indexer.header.version[0] == 1
    for row, rec in enumerate(records):
        got = store.record(row)
        assert got.id == rec.id and got.call == rec.call and got.reply == rec.reply
        assert store.method_name(row) == (rec.method or "")
        assert store.raw_line(row) is not None and store.is_file_row(row)
    assert store.faults == 3  # 5, 7 (sub-call), 8
    assert store.bad == 2  # 9 problem, 11 error
    indexer.close()


def test_columns_of_file_rows_equal_columns_of_records(sample_capture: Path) -> None:
    store, indexer = index(sample_capture)
    reference = index_records(sample_records())
    for name in ("seq", "started", "flags", "fault", "size", "status", "origin"):
        assert list(getattr(store, name)) == list(getattr(reference, name)), name
    assert [store.method_name(r) for r in range(12)] == [
        reference.method_name(r) for r in range(12)
    ]
    assert [store.client_name(r) for r in range(12)] == [
        reference.client_name(r) for r in range(12)
    ]
    for r in range(12):
        a, b = store.duration_ms(r), reference.duration_ms(r)
        assert (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-3)
    assert {k: [store.methods.names[m] for m in v] for k, v in store.sub_methods.items()} == {
        k: [reference.methods.names[m] for m in v] for k, v in reference.sub_methods.items()
    }
    assert store.sub_faults == reference.sub_faults
    indexer.close()


@pytest.mark.parametrize("chunk", [3, 32_768])
def test_index_filters_agree_with_a_plain_reading(
    sample_capture: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "CHUNK", chunk)
    store, indexer = index(sample_capture)
    records = sample_records()
    # Live records too: the same filter must treat in-memory rows the same way.
    for rec in records[:4]:
        store.add_record(rec)
    everything = records + records[:4]
    for text in FILTERS:
        flt = parse_filter(text)
        expected = [row for row, rec in enumerate(everything) if reference_matches(flt.tree, rec)]
        assert list(filter_rows(store, flt)) == expected, text
        assert [row for row, rec in enumerate(everything) if flt.matches(rec)] == expected, text
    indexer.close()


def test_filter_range_and_cancel(sample_capture: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "CHUNK", 2)
    store, indexer = index(sample_capture)
    assert list(filter_rows(store, parse_filter("ok"), 3, 8)) == [3, 5]
    calls: list[int] = []
    with pytest.raises(Cancelled):
        filter_rows(
            store, parse_filter("ok"), cancelled=lambda: len(calls) > 1, progress=calls.append
        )
    indexer.close()


def test_text_filter_decodes_only_candidate_contents(
    sample_capture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, indexer = index(sample_capture)
    tested: list[object] = []
    original = engine.matches_messages

    def spy(node: object, messages: list[object]) -> bool:
        tested.append(messages)
        return original(node, messages)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "matches_messages", spy)
    assert list(filter_rows(store, parse_filter("hostname"))) == [11]
    assert len(tested) == 1  # the raw-bytes prefilter kept only the content holding the word
    tested.clear()
    assert list(filter_rows(store, parse_filter("method:dir.* and txt"))) == [1]
    assert len(tested) == 1
    tested.clear()
    # Words that may be spelled differently in the raw form are not prefiltered: every
    # distinct content that has a params[0] (the shape says which) is decoded, once.
    assert list(filter_rows(store, parse_filter("params[0]=0.35"))) == [5]
    have_param = {
        store.text_off[r]
        for r in range(store.count)
        if list(filter_rows(store, parse_filter("params[0]"), r, r + 1))
    }
    assert len(tested) == len(have_param) > 1
    indexer.close()


def test_type_tests_run_once_per_shape(
    sample_capture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, indexer = index(sample_capture)
    tested: list[object] = []
    original = engine.matches_shape

    def spy(node: object, shape: list[object]) -> bool:
        tested.append(shape)
        return original(node, shape)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "matches_shape", spy)
    for rec in sample_records():
        store.add_record(rec)  # the same shapes again: no new shape to test
    assert list(filter_rows(store, parse_filter("params[0].id:string"))) == [3, 15]
    assert len(tested) == len(store.shapes.names) < store.count
    indexer.close()


def test_corrupt_and_torn_lines_are_skipped_and_reported(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "c.jsonl", sample_records()[:4])
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(2, b'{"type": "call", "seq": \n')  # corrupt JSON (line 3)
    lines.insert(4, b"[1, 2]\n")  # not an object (line 5)
    data = b"".join(lines) + lines[-1][: len(lines[-1]) // 2]  # torn last line
    path.write_bytes(data)
    store, indexer = index(path)
    assert store.count == 4
    assert [p.line for p in store.problems] == [3, 5, 8]
    assert store.problems[0].where == "capture"
    assert "cut short" in store.problems[0].reason
    # The reader's wording: a last line without its newline is torn (even if it parses).
    assert store.problems[2].kind == "torn-line"
    assert [store.record(r).seq for r in range(4)] == [1, 2, 3, 4]
    indexer.close()


def test_missing_header_is_refused_like_the_reader_does(tmp_path: Path) -> None:
    # The former TUI store read such a file with a "no-header" problem; the reader (and
    # docs/capture-format.md) refuse it, and so does the index now.
    path = write_capture(tmp_path / "c.jsonl", sample_records()[:3])
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[1:]))
    with pytest.raises(CaptureFormatError, match="no header line"):
        IndexBuilder(path, CaptureIndex())


def test_unsupported_version_raises(tmp_path: Path) -> None:
    path = tmp_path / "v9.jsonl"
    path.write_text('{"type": "header", "format": "rpcspy-capture", "version": "9.0"}\n')
    with pytest.raises(CaptureFormatError, match=r"9\.0"):
        IndexBuilder(path, CaptureIndex())


def test_gzip_capture_and_a_torn_gzip(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "c.jsonl.gz", sample_records())
    store, indexer = index(path)
    assert store.count == 12 and not store.problems
    assert store.record(6).is_multicall
    indexer.close()
    data = path.read_bytes()
    torn = tmp_path / "torn.jsonl.gz"
    torn.write_bytes(data[: len(data) * 2 // 3])
    store, indexer = index(torn)
    assert 0 < store.count < 12
    assert store.problems and store.problems[-1].where == "capture"
    assert store.problems[-1].kind == "torn-gzip"
    indexer.close()


def test_follow_picks_up_appended_calls(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    records = sample_records()
    writer = CaptureWriter(path, append=False)
    writer.write(records[0])
    store, indexer = index(path, follow=True)
    thread = threading.Thread(target=indexer.run, kwargs={"on_batch": None})
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while store.count < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert store.count == 1
        for rec in records[1:5]:
            writer.write(rec)
        while store.count < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [store.record(r).seq for r in range(store.count)] == [1, 2, 3, 4, 5]
    finally:
        writer.close()
        indexer.close()
        thread.join(10)
    assert not thread.is_alive()


def test_sort_and_stats(sample_capture: Path) -> None:
    store, indexer = index(sample_capture)
    rows = filter_rows(store, parse_filter(""))
    by_duration = list(store.sort_rows(rows, "duration", reverse=True))
    assert by_duration[0] == 5  # demo.slow
    assert by_duration[-1] == 10  # no response sorts last when descending
    assert [store.method_name(r) for r in store.sort_rows(rows, "method")][:3] == [
        "demo.crash",
        "demo.fault",
        "demo.large",
    ]
    assert list(store.sort_rows(rows, "size"))[-1] == 6  # the multicall is the biggest
    by_status = list(store.sort_rows(rows, "status", reverse=True))
    assert set(by_status[:2]) == {8, 10}  # problem and error first
    with pytest.raises(ValueError):
        store.sort_rows(rows, "nope")
    indexer.close()


def test_in_memory_records(tmp_path: Path) -> None:
    store = CaptureIndex()
    row = store.add_record(exchange(1, "a.b", (1,), result=2))
    assert row == 0 and store.count == 1 and not store.is_file_row(0)
    assert store.raw_line(0) is None
    assert store.record(0).method == "a.b"
    assert list(filter_rows(store, parse_filter("method:a.*"))) == [0]


def test_gzip_file_bytes_are_not_the_text(tmp_path: Path) -> None:
    # A .gz capture's lines are read from a decompressed copy, so raw lines are JSON text.
    path = write_capture(tmp_path / "c.jsonl.gz", sample_records()[:2])
    store, indexer = index(path)
    raw = store.raw_line(0)
    assert raw is not None and raw.startswith(b"{")
    assert gzip.decompress(path.read_bytes()).count(b"\n") == 3
    indexer.close()


@pytest.mark.parametrize("run", [None, 64, 7])
def test_sort_rows_orders_like_sorted_with_a_key(
    run: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sort by 64-bit keys, in merged runs, agrees with ``sorted(rows, key=...)`` on every
    key, both ways: ties (many), no response (NaN: -1 ms), negative and zero values, -0.0, the
    extremes of each column, and a row subset; in one run and in many."""
    from rpcspy.capture import index as index_module

    if run is not None:
        monkeypatch.setattr(index_module, "_SORT_RUN", run)
    import math
    import random
    from array import array

    from rpcspy.capture.index import F_ERROR, F_FAULT, F_PROBLEM

    rng = random.Random(8)
    store = CaptureIndex()
    n = 3000
    for name in ("m.b", "m.a", "m.c", "", "a.z"):
        store.methods.intern(name)
    for name in ("10.0.0.9:1", "10.0.0.1:2", "-"):
        store.clients.intern(name)
    store.seq = array("q", (rng.choice([-(1 << 63), -5, 0, 7, (1 << 63) - 1]) for _ in range(n)))
    store.started = array(
        "d", (rng.choice([-2.5, -0.0, 0.0, 1e-300, 1.7e9, 3.0]) for _ in range(n))
    )
    store.duration = array(
        "d", (rng.choice([math.nan, -1.0, -0.0, 0.0, 0.5, 2.0, 1e308]) for _ in range(n))
    )
    store.size = array("Q", (rng.choice([0, 1, 1 << 40, (1 << 64) - 1]) for _ in range(n)))
    store.method = array("I", (rng.randrange(5) for _ in range(n)))
    store.client = array("I", (rng.randrange(3) for _ in range(n)))
    store.fault = array(
        "q", (rng.choice([-(1 << 63), -32601, 0, 4, (1 << 63) - 1]) for _ in range(n))
    )
    store.flags = bytearray(rng.randrange(128) for _ in range(n))
    dur, flags = store.duration, store.flags
    reference = {
        "seq": store.seq.__getitem__,
        "time": store.started.__getitem__,
        "duration": lambda r: -1.0 if dur[r] != dur[r] else dur[r],
        "size": store.size.__getitem__,
        "method": lambda r: store.methods.names[store.method[r]],
        "client": lambda r: store.clients.names[store.client[r]],
        "status": lambda r: (
            flags[r] & (F_ERROR | F_PROBLEM),
            flags[r] & F_FAULT,
            store.fault[r],
        ),
    }
    subset = array("i", rng.sample(range(n), 1000))
    for rows in (array("i", range(n)), subset, array("i"), array("i", [5])):
        for key, ref in reference.items():
            for reverse in (False, True):
                got = list(store.sort_rows(rows, key, reverse=reverse))
                assert got == sorted(rows, key=ref, reverse=reverse), (key, reverse)
