"""The index reads every kind of capture exactly as the reader does: same records, same problems,
same refusals. Plus the index cache (hit, change, growth) and following a growing file."""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rpcspy.capture import CaptureFormatError, CaptureWriter, read_capture
from rpcspy.capture.index import CaptureIndex, IndexBuilder
from rpcspy.capture.record import CallRecord
from tests.capture.helpers import index_in_small_pieces
from tests.tui.samples import sample_records, write_capture

Outcome = tuple[str, object, object]


def by_reader(path: Path, max_line_bytes: int) -> Outcome:
    try:
        with read_capture(path, max_line_bytes=max_line_bytes) as reader:
            records = list(reader)
            return "read", records, _problems(reader.problems)
    except CaptureFormatError as exc:
        return "refused", str(exc), None


def by_index(path: Path, max_line_bytes: int, cache: bool = False) -> Outcome:
    try:
        builder = IndexBuilder(path, cache=cache, max_line_bytes=max_line_bytes)
    except CaptureFormatError as exc:
        return "refused", str(exc), None
    try:
        builder.run()
        index = builder.index
        records: list[CallRecord] = list(index.records())
        return "read", records, _problems(index.problems)
    except CaptureFormatError as exc:
        return "refused", str(exc), None
    finally:
        builder.close()


def _problems(problems: list[object]) -> list[tuple[object, ...]]:
    return [(p.where, p.kind, p.line, p.reason, p.path) for p in problems]  # type: ignore[attr-defined]


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _record_line(**changes: object) -> bytes:
    from rpcspy.capture.schema import dumps_line, record_to_json

    obj = record_to_json(sample_records()[1])
    for key, value in changes.items():
        target = obj
        *parents, last = key.split("__")
        for part in parents:
            target = target[part]  # type: ignore[assignment,index]
        if value is _DROP:
            del target[last]  # type: ignore[attr-defined]
        else:
            target[last] = value  # type: ignore[index]
    return dumps_line(obj)


_DROP = object()


def plain(tmp: Path) -> Path:
    return write_capture(tmp / "c.jsonl", sample_records())


def gz(tmp: Path) -> Path:
    return write_capture(tmp / "c.jsonl.gz", sample_records())


def multi_member_gzip(tmp: Path) -> Path:
    path = tmp / "m.jsonl.gz"
    records = sample_records()
    for part in (records[:4], records[4:8], records[8:]):
        with CaptureWriter(path) as writer:  # each session appends a gzip member
            for r in part:
                writer.write(r)
    return path


def torn_line(tmp: Path) -> Path:
    path = plain(tmp)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    return path


def torn_gzip(tmp: Path) -> Path:
    path = gz(tmp)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def bad_gzip(tmp: Path) -> Path:
    path = multi_member_gzip(tmp)
    data = bytearray(path.read_bytes())
    # Damage the second member's deflate data (past its 10-byte header).
    second = data.index(b"\x1f\x8b", 10)
    for i in range(second + 12, second + 40):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


def bad_gzip_at_start(tmp: Path) -> Path:
    path = gz(tmp)
    data = bytearray(path.read_bytes())
    for i in range(12, 40):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


def no_header(tmp: Path) -> Path:
    path = plain(tmp)
    path.write_bytes(b"".join(_lines(path)[1:]))
    return path


def unknown_version(tmp: Path) -> Path:
    path = plain(tmp)
    lines = _lines(path)
    lines[0] = lines[0].replace(b'"1.0"', b'"7.2"')
    path.write_bytes(b"".join(lines))
    return path


def later_header_of_unknown_version(tmp: Path) -> Path:
    path = plain(tmp)
    lines = _lines(path)
    lines.insert(5, lines[0].replace(b'"1.0"', b'"7.2"'))
    path.write_bytes(b"".join(lines))
    return path


def not_a_capture(tmp: Path) -> Path:
    path = tmp / "x.jsonl"
    path.write_bytes(b"\x00\x01binary")
    return path


def line_too_long(tmp: Path) -> Path:
    path = plain(tmp)
    lines = _lines(path)
    lines.insert(3, _record_line(request__body__text="x" * 5000, request__body__size=5000))
    path.write_bytes(b"".join(lines))
    return path


def invalid_records(tmp: Path) -> Path:
    path = plain(tmp)
    lines = _lines(path)
    bad = [
        _record_line(request__call__params=[{"i4": "seven"}]),  # bad value
        _record_line(request__call__params=[{"nope": 1}]),  # unknown wire type
        _record_line(id=_DROP),  # a required key missing
        _record_line(seq=True),  # a boolean is not an integer
        _record_line(started="noon"),
        _record_line(client=["127.0.0.1"]),
        _record_line(request__headers=[["Host"]]),
        _record_line(request__body={"base64": "***"}),  # invalid base64
        _record_line(request__body=None),
        _record_line(response__fault={"code": 1, "string": "x"}),  # result and fault
        _record_line(problems=[{"where": "nowhere", "kind": "k", "reason": "r"}]),
        _record_line(subcalls=[{"index": 0, "call": {"method": 5, "params": []}}]),
        b'{"type": "call", "seq": \n',  # not JSON
        b"[1, 2]\n",  # not an object
        b'{"no": "type"}\n',
        b'{"type": "future-line", "x": 1}\n',  # a newer minor version's line: skipped
        b"\n",
    ]
    for i, line in enumerate(bad):
        lines.insert(2 + 2 * i % (len(lines) - 1), line)
    path.write_bytes(b"".join(lines))
    return path


def valid_oddities(tmp: Path) -> Path:
    path = plain(tmp)
    lines = _lines(path)
    lines.append(_record_line(request__body={"base64": "PD94bWw+", "size": 6}, seq=90))
    lines.append(_record_line(origin=None, redacted=None, status=None, seq=91))
    lines.append(_record_line(request__body__text="caf\u00e9 \U0001f600", seq=92))
    path.write_bytes(b"".join(lines))
    return path


KINDS: dict[str, Callable[[Path], Path]] = {
    "plain": plain,
    "gzip": gz,
    "multi-member gzip": multi_member_gzip,
    "torn line": torn_line,
    "torn gzip": torn_gzip,
    "bad gzip": bad_gzip,
    "bad gzip at the start": bad_gzip_at_start,
    "no header": no_header,
    "unknown version": unknown_version,
    "later header of an unknown version": later_header_of_unknown_version,
    "not a capture": not_a_capture,
    "line too long": line_too_long,
    "invalid records": invalid_records,
    "valid oddities": valid_oddities,
}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("cache", [False, True])
def test_index_reads_every_kind_of_capture_as_the_reader(
    tmp_path: Path, kind: str, cache: bool
) -> None:
    path = KINDS[kind](tmp_path)
    limit = 4096
    expected = by_reader(path, limit)
    assert by_index(path, limit, cache) == expected
    if cache:
        assert by_index(path, limit, cache) == expected  # and from the cache, the same


def test_the_kinds_settled_toward_the_reader(tmp_path: Path) -> None:
    # What the former TUI store did differently, each settled toward the documented behaviour.
    for kind, check in (
        ("no header", lambda o: o[0] == "refused" and "no header line" in str(o[1])),
        ("bad gzip", lambda o: [p[1] for p in o[2]] == ["bad-gzip"]),
        ("torn gzip", lambda o: [p[1] for p in o[2]] == ["torn-gzip"]),
        ("line too long", lambda o: [p[1] for p in o[2]] == ["line-too-long"]),
    ):
        directory = tmp_path / kind.replace(" ", "-")
        directory.mkdir()
        assert check(by_index(KINDS[kind](directory), 4096)), kind
    directory = tmp_path / "invalid"
    directory.mkdir()
    outcome = by_index(invalid_records(directory), 4096)
    kinds = [p[1] for p in outcome[2]]  # type: ignore[union-attr]
    assert kinds.count("bad-value") == 3 and "bad-json" in kinds
    assert len(outcome[1]) == 12  # type: ignore[arg-type]


# ---------------------------------------------------------------- the cache


def _open(path: Path) -> IndexBuilder:
    builder = IndexBuilder(path)
    builder.run()
    return builder


def test_cache_hit_change_and_growth(tmp_path: Path, _index_cache: Path) -> None:
    records = sample_records()
    path = write_capture(tmp_path / "c.jsonl", records[:6])
    first = _open(path)
    assert first.source == "built" and first.index.count == 6
    first.close()
    again = _open(path)
    assert again.source == "cached" and again.index.count == 6
    assert [again.index.record(r).seq for r in range(6)] == [1, 2, 3, 4, 5, 6]
    again.close()
    # Growth: only the appended lines are read.
    with CaptureWriter(path) as writer:
        for r in records[6:]:
            writer.write(r)
    grown = _open(path)
    assert grown.source == "extended" and grown.index.count == 12
    assert [grown.index.record(r).seq for r in range(12)] == list(range(1, 13))
    assert grown.reader.records_read == 0  # nothing was read as records
    grown.close()
    cached = _open(path)
    assert cached.source == "cached"
    cached.close()
    # A change (not an append): rebuilt.
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([lines[0], *lines[2:]]))
    changed = _open(path)
    assert changed.source == "built" and changed.index.count == 11
    changed.close()
    # Same size, different bytes, new mtime: rebuilt too.
    data = path.read_bytes().replace(b"user.get", b"user.GET")
    time.sleep(0.01)
    path.write_bytes(data)
    rewritten = _open(path)
    assert rewritten.source == "built"
    assert "user.GET" in rewritten.index.methods.names
    rewritten.close()
    assert any((_index_cache / "index").iterdir())


def test_cache_of_a_torn_tail_then_growth(tmp_path: Path) -> None:
    records = sample_records()
    path = write_capture(tmp_path / "c.jsonl", records)
    data = path.read_bytes()
    cut = len(data) - 30
    path.write_bytes(data[:cut])
    torn = _open(path)
    assert torn.index.count == 11 and [p.kind for p in torn.index.problems] == ["torn-line"]
    torn.close()
    with open(path, "ab") as f:
        f.write(data[cut:])  # the writer finishes its line
    whole = _open(path)
    assert whole.source == "extended"
    assert whole.index.count == 12 and not whole.index.problems
    whole.close()


def test_gzip_cache_and_growth(tmp_path: Path) -> None:
    records = sample_records()
    path = write_capture(tmp_path / "c.jsonl.gz", records[:5])
    first = _open(path)
    assert first.index.count == 5
    first.close()
    cached = _open(path)
    assert cached.source == "cached"
    cached.close()
    with CaptureWriter(path) as writer:
        for r in records[5:]:
            writer.write(r)
    grown = _open(path)
    assert grown.source == "extended" and grown.index.count == 12
    assert [grown.index.record(r).seq for r in range(12)] == list(range(1, 13))
    assert not grown.index.problems
    grown.close()


def test_an_entry_is_written_by_one_and_then_shared(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "c.jsonl.gz", sample_records())
    one = IndexBuilder(path)
    two = IndexBuilder(path)  # the entry is being built: this one uses temporary files
    one.run()
    two.run()
    assert one.index.count == two.index.count == 12
    assert two.index.record(11).seq == 12
    temp = two.index.lines
    assert temp is not None and str(temp.path).startswith("/dev/fd/")  # no name: nothing left
    two.close()
    with pytest.raises(OSError):
        os.fstat(temp.fd)
    # Saved: a third one shares it (read-only) while the first still has it open.
    three = IndexBuilder(path)
    three.run()
    assert three.source == "cached" and three.index.count == 12
    assert three.index.record(11).seq == 12
    three.close()
    assert one.index.record(11).seq == 12
    one.close()


def test_a_helper_process_indexes_the_second_half_of_a_big_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rpcspy.capture import index as index_module

    monkeypatch.setattr(index_module, "PARALLEL_MIN_BYTES", 1)
    records = sample_records() * 20
    path = write_capture(tmp_path / "big.jsonl", records)
    lines = path.read_bytes().splitlines(keepends=True)
    at = len(lines) * 3 // 4
    lines.insert(at, b"{oops\n")  # a bad line in the second half
    path.write_bytes(b"".join(lines))
    limit = 1 << 20
    expected = by_reader(path, limit)
    assert by_index(path, limit) == expected
    assert [p[2] for p in expected[2]] == [at + 1]  # type: ignore[index]
    builder = IndexBuilder(path, cache=False)
    builder.run()
    assert builder.helped  # the second half did come from the helper process
    assert builder.index.count == len(records) and len(builder.index.shapes.names) < 20
    builder.close()
    # Not for gzip (even followed, before its first bytes are read): one process reads it.
    gz = write_capture(tmp_path / "big.jsonl.gz", records)
    followed = IndexBuilder(gz, CaptureIndex(), follow=True, cache=False, poll_interval=0.02)
    thread = threading.Thread(target=followed.run)
    thread.start()
    deadline = time.monotonic() + 20
    while followed.index.count < len(records) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert followed.index.count == len(records)
    assert followed.index.record(len(records) - 1).seq == records[-1].seq
    followed.close()
    thread.join(10)
    assert not followed.helped


def test_helper_processes_index_a_big_file_in_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    index_in_small_pieces(monkeypatch)
    records = sample_records() * 30
    path = write_capture(tmp_path / "big.jsonl", records)
    lines = path.read_bytes().splitlines(keepends=True)
    for at in (len(lines) - 3, len(lines) * 2 // 3, len(lines) // 3, 40):
        lines.insert(at, b"{oops\n")  # bad lines in several pieces
    # Lines too long for the limit, one of them likely to end a piece (whose reader then runs
    # past its end: the rest is read on in this process).
    long_line = _record_line(request__body__text="x" * 6000, request__body__size=6000)
    for at in range(60, len(lines), 37):
        lines.insert(at, long_line)
    lines.append(lines[5][:50])  # and a torn line at the end
    path.write_bytes(b"".join(lines))
    limit = 4096
    expected = by_reader(path, limit)
    assert by_index(path, limit) == expected
    kinds = {p[1] for p in expected[2]}  # type: ignore[union-attr]
    assert sorted(kinds) == ["bad-json", "line-too-long", "torn-line"]
    builder = IndexBuilder(path, cache=False, max_line_bytes=limit)
    assert builder._plan() is not None and len(builder._plan()[1]) > 4  # type: ignore[index]
    counts: list[int] = []
    builder.run(on_batch=counts.append)
    assert builder.helped and builder.index.count == len(records)
    assert len(counts) > 3 and counts == sorted(counts)  # rows published piece by piece
    builder.close()


def test_helpers_start_once_the_first_rows_are_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rpcspy.capture import index as index_module

    index_in_small_pieces(monkeypatch)
    records = sample_records() * 30
    path = write_capture(tmp_path / "big.jsonl", records)
    builder = IndexBuilder(path, cache=False, shows_first_page=True)
    started_at_first_batch: list[bool] = []

    def on_batch(count: int) -> None:
        if not started_at_first_batch:
            started_at_first_batch.append(builder._helpers_started)
            builder.first_page_shown.set()  # as a UI does once the first page is painted

    builder.run(on_batch=on_batch)
    # The helpers existed but waited: the first page had the CPU to itself.
    assert started_at_first_batch == [False]
    assert builder._helpers_started and builder.helped
    assert builder.index.count == len(records)
    # As many pieces for each helper.
    plan = builder._plan()
    assert plan is not None and len(plan[1]) % index_module._helpers(len(plan[1])) == 0
    builder.close()


def test_without_a_ui_nothing_waits_for_a_first_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A command's progress bar takes batches too, but shows no page: before, the first batch
    # waited a second for a page no one would paint, with the helpers held back.
    import threading

    index_in_small_pieces(monkeypatch)
    records = sample_records() * 30
    path = write_capture(tmp_path / "big.jsonl", records)
    waits: list[float | None] = []

    class Watched(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            waits.append(timeout)
            return super().wait(timeout)

    builder = IndexBuilder(path, cache=False)
    builder.first_page_shown = Watched()
    counts: list[int] = []
    started_at_first_batch: list[bool] = []

    def on_batch(count: int) -> None:
        if not counts:
            started_at_first_batch.append(builder._helpers_started)
        counts.append(count)

    builder.run(on_batch=on_batch)
    assert waits == []
    assert started_at_first_batch == [True]  # they went before the head was read
    assert counts and counts[-1] == len(records) and builder.helped
    builder.close()


def test_a_helper_keeps_what_it_checked_from_one_piece_to_the_next(tmp_path: Path) -> None:
    import orjson

    from rpcspy.capture._columns import temp_blob
    from rpcspy.capture.index import Carry, index_part

    path = write_capture(tmp_path / "big.jsonl", sample_records() * 3)
    data = path.read_bytes()
    start = data.index(b"\n") + 1
    mid = data.index(b"\n", (start + len(data)) // 2) + 1
    limit = 1 << 20

    def messages(part: dict[str, object], fd: int) -> list[bytes]:
        texts = os.pread(fd, part["texts_size"], 0)  # type: ignore[arg-type]
        cols = part["cols"]
        return [
            texts[o : o + n]
            for o, n in zip(cols["text_off"], cols["text_len"], strict=True)  # type: ignore[index]
        ]

    def named(part: dict[str, object], column: str, names: str) -> list[str]:
        table = part[names]
        return [table[i] for i in part["cols"][column]]  # type: ignore[index]

    carry = Carry()
    blobs = [temp_blob("rpcspy-test-"), temp_blob("rpcspy-test-"), temp_blob("rpcspy-test-")]
    # (a helper's end of the messages file is its own: index_part closes it)
    first = index_part(path, start, mid, limit, os.dup(blobs[0].fd), carry)
    checked = len(carry.checked)
    assert checked > 0
    second = index_part(path, mid, len(data), limit, os.dup(blobs[1].fd), carry)
    alone = index_part(path, mid, len(data), limit, os.dup(blobs[2].fd))
    # The second piece met the same contents: nothing checked again, but each stored in the
    # second piece's own messages file, and everything found as by a helper without the carry.
    assert len(carry.checked) == checked
    assert len(first["flags"]) > 0  # type: ignore[arg-type]
    assert messages(second, blobs[1].fd) == messages(alone, blobs[2].fd)
    assert all(orjson.loads(m) is not None for m in messages(second, blobs[1].fd))
    for column, names in (("method", "methods"), ("client", "clients"), ("shape", "shapes")):
        assert named(second, column, names) == named(alone, column, names)
    for column in ("offsets", "lengths", "seq", "started", "fault", "size", "status"):
        assert second["cols"][column] == alone["cols"][column]  # type: ignore[index]
    assert second["flags"] == alone["flags"] and second["origin"] == alone["origin"]
    assert second["sub_faults"] == alone["sub_faults"]
    for blob in blobs:
        blob.close()


def test_closing_while_helper_processes_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rpcspy.capture import index as index_module

    monkeypatch.setattr(index_module, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(index_module, "_HEAD_BYTES", 4096)
    monkeypatch.setattr(index_module, "_PIECE_BYTES", 1 << 16)
    path = write_capture(tmp_path / "big.jsonl", sample_records() * 200)
    builder = IndexBuilder(path, cache=False)
    shown = threading.Event()
    thread = threading.Thread(target=builder.run, args=(lambda n: shown.set(),))
    thread.start()
    assert shown.wait(20)
    # The helpers work at a lower CPU priority than this process (a UI's comes first).
    from rpcspy.capture._part import NICE

    mine = os.getpriority(os.PRIO_PROCESS, 0)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(
        os.getpriority(os.PRIO_PROCESS, w.pid) < mine + NICE for w in builder._workers
    ):
        time.sleep(0.01)
    assert all(os.getpriority(os.PRIO_PROCESS, w.pid) == mine + NICE for w in builder._workers)
    builder.close()  # ends the helpers: the reading stops soon
    thread.join(20)
    assert not thread.is_alive()
    assert all(w.poll() is not None for w in builder._workers)


# ---------------------------------------------------------------- following


@pytest.mark.parametrize("name", ["live.jsonl", "live.jsonl.gz"])
def test_follow_picks_up_appended_calls(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    records = sample_records()
    writer = CaptureWriter(path, append=False)
    writer.write(records[0])
    index = CaptureIndex()
    builder = IndexBuilder(path, index, follow=True, poll_interval=0.02)
    thread = threading.Thread(target=builder.run)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while index.count < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert index.count == 1
        for rec in records[1:5]:
            writer.write(rec)
        while index.count < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [index.record(r).seq for r in range(index.count)] == [1, 2, 3, 4, 5]
        writer.close()
        # A second writer session appends a new gzip member; it is followed too.
        with CaptureWriter(path) as again:
            for rec in records[5:]:
                again.write(rec)
        while index.count < 12 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [index.record(r).seq for r in range(index.count)] == list(range(1, 13))
        assert not index.problems
    finally:
        writer.close()
        builder.close()
        thread.join(10)
    assert not thread.is_alive()


def test_follow_an_empty_file_until_it_has_a_header(tmp_path: Path) -> None:
    path = tmp_path / "later.jsonl"
    path.write_bytes(b"")
    index = CaptureIndex()
    builder = IndexBuilder(path, index, follow=True, poll_interval=0.02)
    thread = threading.Thread(target=builder.run)
    thread.start()
    try:
        time.sleep(0.1)
        write_capture(path, sample_records()[:3])
        deadline = time.monotonic() + 10
        while index.count < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert index.count == 3 and builder.header is not None
    finally:
        builder.close()
        thread.join(10)


def test_gzip_copy_is_json_text(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "c.jsonl.gz", sample_records()[:2])
    builder = _open(path)
    raw = builder.index.raw_line(0)
    assert raw is not None and json.loads(raw)["seq"] == 1
    assert gzip.decompress(path.read_bytes()).count(b"\n") == 3
    builder.close()


def test_a_scratch_file_closed_twice_leaves_the_file_that_took_its_number(
    tmp_path: Path,
) -> None:
    # The index builder closes a piece's scratch files once merged and again when it ends; a
    # file opened meanwhile (the reader of the rest, another thread's) may take their number.
    from rpcspy.capture._columns import temp_blob

    blob = temp_blob("rpcspy-test-")
    number = blob.fd
    blob.close()
    other = os.open(tmp_path / "other", os.O_RDWR | os.O_CREAT)
    try:
        assert other == number  # (the lowest free number: the one just closed)
        blob.close()
        blob.close()
        os.write(other, b"still open")
        assert os.pread(other, 10, 0) == b"still open"
    finally:
        os.close(other)
