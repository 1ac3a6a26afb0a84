"""Reading captures: damaged lines reported and skipped, bad files refused clearly, constant memory,
follow mode."""

from __future__ import annotations

import gzip
import os
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from rpcspy.capture import (
    CallRecord,
    CaptureFormatError,
    CaptureWriter,
    read_capture,
    read_header,
    record_to_json,
)
from rpcspy.capture.reader import CaptureReader
from rpcspy.capture.schema import dumps_line, make_header
from tests.capture.helpers import make_record, numbered, write_capture

HEADER = dumps_line(make_header())


def line(record: CallRecord) -> bytes:
    return dumps_line(record_to_json(record))


@pytest.fixture(params=["jsonl", "jsonl.gz"])
def suffix(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def put(path: Path, data: bytes) -> Path:
    """Write raw capture bytes, gzip-compressed when the name says so."""
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def test_reads_back_what_was_written(tmp_path: Path, suffix: str) -> None:
    records = numbered(20)
    path = write_capture(tmp_path / f"c.{suffix}", records, redact=False)
    reader = read_capture(path)
    assert reader.header is not None and reader.header.version[0] == 1
    assert list(reader) == records
    assert reader.problems == []
    assert reader.records_read == 20


def test_header_only_capture_has_no_records(tmp_path: Path, suffix: str) -> None:
    path = write_capture(tmp_path / f"c.{suffix}", [])
    assert list(read_capture(path)) == []
    assert read_header(path).producer is not None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\n\n", "empty file"),
        (b'{"hello": "world"}\n', "not a capture header"),
        (b"[1, 2, 3]\n", "not a capture header"),
        (b"hello, this is text\n", "first line is not JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary data"),
        (bytes(range(256)) * 4, "binary data"),
        (b"{" * 70_000, "far too long"),
        (b'{"type": "header", "format": "rpcspy-capture", "vers', "is cut short"),
    ],
    ids=["empty", "blank", "json", "array", "text", "png", "bytes", "long", "torn-header"],
)
def test_files_that_are_not_captures_are_refused_clearly(
    tmp_path: Path, suffix: str, content: bytes, message: str
) -> None:
    path = put(tmp_path / f"c.{suffix}", content)
    with pytest.raises(CaptureFormatError, match=message):
        read_capture(path)
    with pytest.raises(CaptureFormatError, match=message):
        read_header(path)


def test_missing_header(tmp_path: Path, suffix: str) -> None:
    path = put(tmp_path / f"c.{suffix}", line(make_record()) * 2)
    with pytest.raises(CaptureFormatError, match=r"no header line.*call record"):
        read_capture(path)


def test_unknown_major_version_is_refused(tmp_path: Path, suffix: str) -> None:
    header = {**make_header(), "version": "2.0"}
    path = put(tmp_path / f"c.{suffix}", dumps_line(header) + line(make_record()))
    with pytest.raises(CaptureFormatError, match=r"version 2\.0 is not supported.*upgrade rpcspy"):
        read_capture(path)


def test_damaged_gzip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(200))
    with pytest.raises(CaptureFormatError, match="not a readable gzip file"):
        read_capture(path)


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_capture(tmp_path / "nope.jsonl")


def test_corrupt_lines_are_reported_with_line_numbers_and_skipped(
    tmp_path: Path, suffix: str
) -> None:
    good = numbered(4)
    bad_value = record_to_json(make_record())
    bad_value["request"]["call"]["params"][0] = {"int": "one"}  # type: ignore[index]
    content = b"".join(
        [
            HEADER,  # line 1
            line(good[0]),  # 2
            b'{"type": "call", "seq": \n',  # 3: bad JSON (cut short)
            b"[1, 2]\n",  # 4: not an object
            line(good[1]),  # 5
            orjson.dumps(bad_value) + b"\n",  # 6: bad value form
            b'{"type": "call", "id": 5}\n',  # 7: wrong shape
            b'{"seq": 1}\n',  # 8: no type
            b"\n",  # 9: blank, ignored
            line(good[2]),  # 10
            line(good[3])[:-30],  # 11: torn last line
        ]
    )
    reader = read_capture(put(tmp_path / f"c.{suffix}", content))
    assert list(reader) == good[:3]
    found = [(p.line, p.kind) for p in reader.problems]
    assert found == [
        (3, "bad-json"),
        (4, "bad-record"),
        (6, "bad-value"),
        (7, "bad-record"),
        (8, "bad-record"),
        (11, "torn-line"),
    ]
    by_line = {p.line: p for p in reader.problems}
    assert "cut short" in by_line[3].reason
    assert by_line[3].column is not None
    assert by_line[6].path == "request.call.params[0]"
    assert "int wants an integer" in by_line[6].message
    assert by_line[6].message.startswith("line 6: ")
    assert "object, not list" in by_line[4].reason
    assert all(p.where == "capture" for p in reader.problems)


def test_lines_of_unknown_type_from_a_newer_minor_are_skipped_silently(tmp_path: Path) -> None:
    header = {**make_header(), "version": "1.9"}
    content = dumps_line(header) + b'{"type": "note", "text": "hi"}\n' + line(make_record())
    reader = read_capture(put(tmp_path / "c.jsonl", content))
    assert list(reader) == [make_record()]
    assert reader.problems == []
    assert reader.unknown_lines == 1


def test_concatenated_captures_read_as_one(tmp_path: Path) -> None:
    a = write_capture(tmp_path / "a.jsonl", numbered(2), redact=False)
    b = write_capture(tmp_path / "b.jsonl", numbered(3, start=2), redact=False)
    both = put(tmp_path / "ab.jsonl", a.read_bytes() + b.read_bytes())
    reader = read_capture(both)
    assert [r.seq for r in reader] == [0, 1, 2, 3, 4]
    assert reader.problems == []


def test_a_later_header_of_another_major_version_stops_the_reading(tmp_path: Path) -> None:
    content = (
        HEADER
        + line(make_record(seq=1))
        + b'{"type": "header", "oops": true}\n'
        + dumps_line({**make_header(), "version": "3.0"})
        + line(make_record(seq=2))
    )
    reader = read_capture(put(tmp_path / "c.jsonl", content))
    assert next(reader).seq == 1
    with pytest.raises(CaptureFormatError, match=r"version 3\.0 is not supported"):
        next(reader)
    assert [(p.line, p.kind) for p in reader.problems] == [(3, "bad-record")]


def test_over_long_lines_are_skipped(tmp_path: Path, suffix: str) -> None:
    big = make_record(request={"body": b"x" * 5000})
    content = HEADER + line(make_record(seq=1)) + line(big) + line(make_record(seq=2))
    reader = read_capture(put(tmp_path / f"c.{suffix}", content), max_line_bytes=2000)
    assert [r.seq for r in reader] == [1, 2]
    assert [(p.line, p.kind) for p in reader.problems] == [(3, "line-too-long")]


def test_torn_gzip_tail_yields_the_records_before_it(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "c.jsonl.gz", numbered(50), redact=False)
    data = path.read_bytes()
    for cut in (len(data) - 8, len(data) - 200, len(data) // 2):
        torn = put(tmp_path / "torn.jsonl", data[:cut])  # plain name: the reader sniffs gzip
        reader = read_capture(torn)
        got = list(reader)
        assert got == numbered(50)[: len(got)]
        assert len(got) > 10
        assert [p.kind for p in reader.problems] == ["torn-gzip"]
        assert reader.problems[0].line == len(got) + 2
        assert "ends early" in reader.problems[0].message


def test_multi_member_gzip(tmp_path: Path) -> None:
    content = HEADER + b"".join(line(r) for r in numbered(3))
    mid = len(HEADER) + 10  # members may split anywhere, even inside a line
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(gzip.compress(content[:mid]) + gzip.compress(content[mid:]) + b"\x00" * 8)
    reader = read_capture(path)
    assert list(reader) == numbered(3)
    assert reader.problems == []


def test_garbage_after_gzip_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(gzip.compress(HEADER + line(make_record())) + b"garbage!")
    reader = read_capture(path)
    assert list(reader) == [make_record()]
    assert [p.kind for p in reader.problems] == ["bad-gzip"]
    assert "not gzip" in reader.problems[0].reason


@pytest.mark.parametrize(
    "n", [10_000, pytest.param(50_000, marks=pytest.mark.slow)], ids=["10k", "50k"]
)
def test_reading_streams_in_constant_memory(tmp_path: Path, n: int) -> None:
    path = tmp_path / "big.jsonl"
    template = line(make_record()).replace(b'"' + b"0" * 32 + b'"', b'"%032x"', 1)
    with open(path, "wb") as f:
        f.write(HEADER)
        for i in range(n):
            f.write(template % i)
    size = path.stat().st_size
    assert size > n * 500
    tracemalloc.start()
    try:
        count = 0
        for record in read_capture(path):
            count += 1
            assert record.method == "add"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n
    # The reader holds a buffer and one record at a time, whatever the file's size.
    assert peak < 1_000_000, f"peak {peak} bytes while reading a {size} byte file"


# ---------------------------------------------------------------- follow mode


def collect(reader: Iterator[CallRecord], out: list[CallRecord]) -> threading.Thread:
    def run() -> None:
        out.extend(reader)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_follow_yields_records_as_a_writer_thread_adds_them(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"c.{suffix}"
    writer = CaptureWriter(path, redact=False)
    reader = read_capture(path, follow=True, poll_interval=0.01)
    got: list[CallRecord] = []
    t = collect(reader, got)
    try:

        def produce() -> None:
            for r in numbered(30):
                writer.write(r)
                time.sleep(0.002)

        producer = threading.Thread(target=produce)
        producer.start()
        producer.join()
        wait_for(lambda: len(got) == 30)
        assert t.is_alive()  # still following
        writer.write(make_record(seq=99))
        wait_for(lambda: len(got) == 31)
    finally:
        reader.stop()
        t.join(5)
        writer.close()
    assert not t.is_alive()
    assert [r.seq for r in got] == [*range(30), 99]
    assert reader.problems == []


def test_follow_waits_for_the_newline_of_a_partial_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(HEADER)
    stop = threading.Event()
    reader = read_capture(path, follow=True, poll_interval=0.01, stop_event=stop)
    got: list[CallRecord] = []
    t = collect(reader, got)
    try:
        text = line(make_record(seq=1))
        with open(path, "ab", buffering=0) as f:
            for i in range(0, len(text) - 1, 97):
                f.write(text[i : min(i + 97, len(text) - 1)])
                time.sleep(0.005)
            time.sleep(0.05)
            assert got == [] and reader.problems == []
            f.write(b"\n")
            wait_for(lambda: len(got) == 1)
    finally:
        stop.set()
        t.join(5)
    assert not t.is_alive()
    assert got == [make_record(seq=1)]
    assert reader.problems == []


def test_follow_an_empty_file_waits_for_the_header(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    path.touch()
    reader = read_capture(path, follow=True, poll_interval=0.01)
    assert reader.header is None
    got: list[CallRecord] = []
    t = collect(reader, got)
    try:
        with CaptureWriter(path, redact=False) as w:
            w.write(make_record())
            wait_for(lambda: len(got) == 1)
        assert reader.header is not None
    finally:
        reader.stop()
        t.join(5)
    assert not t.is_alive()


def test_follow_stops_while_idle_and_close_ends_iteration(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "c.jsonl", numbered(2))
    reader = read_capture(path, follow=True, poll_interval=0.01)
    assert next(reader).seq == 0
    assert next(reader).seq == 1
    got: list[CallRecord] = []
    t = collect(reader, got)
    time.sleep(0.05)
    assert t.is_alive()
    reader.close()
    t.join(5)
    assert not t.is_alive() and got == []


def _by_lines(path: Path, limit: int, start: int, end: int | None) -> tuple[object, ...]:
    reader = CaptureReader(path, max_line_bytes=limit)
    if start:
        reader.resume_at(start, 0)
    if end is not None:
        reader.end_at(end)
    got = [(n, at, text.rstrip(b"\n")) for n, at, text in reader.lines() if text is not None]
    probs = [(p.kind, p.line, p.reason) for p in reader.problems]
    return got, probs, reader._lineno, reader._offset


def _by_blocks(
    path: Path, limit: int, start: int, end: int | None, size: int
) -> tuple[object, ...]:
    reader = CaptureReader(path, max_line_bytes=limit)
    if start:
        reader.resume_at(start, 0)
    if end is not None:
        reader.end_at(end)
    got = []
    for n, at, lines in reader.blocks(size):
        for text in lines:
            n += 1
            got.append((n, at, text))
            at += len(text) + 1
    probs = [(p.kind, p.line, p.reason) for p in reader.problems]
    return got, probs, reader._lineno, reader._offset


@pytest.mark.parametrize("torn", [False, True])
def test_blocks_give_the_lines_lines_gives(tmp_path: Path, torn: bool) -> None:
    """Many lines at a time (the index's helper processes) with the same guards and problems:
    lines too long at every place of a read, blank lines, a torn last line, a piece's end."""
    good = line(make_record())
    parts = [dumps_line(make_header())]
    for i in range(60):
        parts.append(good)
        if i % 7 == 3:
            parts.append(b"x" * (300 + 37 * i) + b"\n")  # over the limit below
        if i % 11 == 5:
            parts.append(b"\n")
    if torn:
        parts.append(good[:40])
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"".join(parts))
    limit = max(len(good), 290)
    starts = [0, len(parts[0]), len(b"".join(parts[:9]))]
    ends = [None, len(b"".join(parts[:20])), len(b"".join(parts[:20])) - 5, path.stat().st_size]
    for start in starts:
        for end in ends:
            if end is not None and end <= start:
                continue
            expected = _by_lines(path, limit, start, end)
            for size in (1, 64, 333, limit + 1, 1 << 20):
                assert _by_blocks(path, limit, start, end, size) == expected, (start, end, size)
    kinds = {p[0] for p in _by_lines(path, limit, 0, None)[1]}  # type: ignore[union-attr]
    assert "line-too-long" in kinds and ("torn-line" in kinds) == torn


def test_the_count_hint_counts_small_captures_and_estimates_big_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rpcspy.capture import reader as reader_module
    from rpcspy.capture.reader import count_records_hint

    records = numbered(400)
    path = write_capture(tmp_path / "c.jsonl", records)
    assert count_records_hint(path) == len(records)  # small: every line counted
    # Big (as far as the hint knows): an estimate from samples, near the truth.
    monkeypatch.setattr(reader_module, "_COUNT_ALL_BELOW", 1)
    monkeypatch.setattr(reader_module, "_SAMPLE_BYTES", 4096)
    estimate = count_records_hint(path)
    assert estimate is not None and abs(estimate - len(records)) <= len(records) * 0.25
    gz = tmp_path / "c.jsonl.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert count_records_hint(gz) is None
