"""Writing captures: header, append checks, redaction, threads, crash safety (plain and gzip)."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import threading
from pathlib import Path

import orjson
import pytest

from rpcspy.capture import CaptureFormatError, CaptureWriter, read_capture
from rpcspy.capture._gzip import GzipRaw, _Candidate, _verify, scan_for_append
from rpcspy.capture.schema import dumps_line, make_header
from rpcspy.xmlrpc.messages import MethodResponse
from rpcspy.xmlrpc.values import Array, Int, Value
from tests.capture.helpers import make_record, numbered, write_capture
from tests.conftest import REPO


@pytest.fixture(params=["jsonl", "jsonl.gz"])
def suffix(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def text_of(path: Path) -> bytes:
    data = path.read_bytes()
    if data.startswith(b"\x1f\x8b"):
        return GzipRaw(io.BytesIO(data)).readall()
    return data


def test_new_file_starts_with_the_header(tmp_path: Path, suffix: str) -> None:
    path = write_capture(tmp_path / f"c.{suffix}", numbered(2))
    lines = text_of(path).splitlines()
    assert len(lines) == 3
    header = orjson.loads(lines[0])
    assert header["type"] == "header" and header["format"] == "rpcspy-capture"
    assert header["version"] == "1.2"
    assert header["producer"].startswith("rpcspy ")
    assert header["created"].endswith("+00:00")
    assert [orjson.loads(x)["seq"] for x in lines[1:]] == [0, 1]
    if suffix.endswith("gz"):
        assert gzip.decompress(path.read_bytes()) == text_of(path)  # a normal gzip file


def test_append_adds_records_after_the_existing_ones(tmp_path: Path, suffix: str) -> None:
    path = write_capture(tmp_path / f"c.{suffix}", numbered(2), redact=False)
    with CaptureWriter(path, redact=False) as w:
        assert w.header.version == (1, 2)
        w.write(make_record(seq=7, id="7" * 32))
    reader = read_capture(path)
    assert [r.seq for r in reader] == [0, 1, 7]
    assert reader.problems == []
    assert text_of(path).count(b'"type":"header"') == 1


def test_appending_to_gzip_adds_a_member(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "c.jsonl.gz", numbered(2))
    write_capture(path, numbered(2, start=2))
    raw = GzipRaw(io.BytesIO(path.read_bytes()))
    raw.readall()
    assert raw.members == 2
    assert len(gzip.decompress(path.read_bytes()).splitlines()) == 5


def test_append_false_starts_afresh(tmp_path: Path, suffix: str) -> None:
    path = write_capture(tmp_path / f"c.{suffix}", numbered(3))
    write_capture(path, numbered(1, start=5), append=False)
    assert [r.seq for r in read_capture(path)] == [5]


def test_appending_to_another_major_version_is_refused_and_the_file_kept(
    tmp_path: Path, suffix: str
) -> None:
    content = dumps_line({**make_header(), "version": "2.3"}) + b'{"type": "call"}\n'
    path = tmp_path / f"c.{suffix}"
    path.write_bytes(gzip.compress(content) if suffix.endswith("gz") else content)
    before = path.read_bytes()
    with pytest.raises(
        CaptureFormatError, match=r"refusing to append.*version 2\.3 is not supported"
    ):
        CaptureWriter(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.jsonl", b"hello\n", "not an rpcspy capture"),
        ("data.jsonl", b'{"some": "json"}\n', "not a capture header"),
        ("c.jsonl.gz", b'{"type": "header"}\n', "not gzip"),
        ("c.jsonl", gzip.compress(b"x"), "gzip-compressed but its name"),
        ("c.jsonl.gz", gzip.compress(b"just text\n"), "not an rpcspy capture"),
        ("c.jsonl.gz", b"\x1f\x8b\x08\x00" + bytes(range(200)), "damaged gzip"),
    ],
)
def test_appending_to_what_is_not_a_capture_is_refused(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CaptureFormatError, match=message):
        CaptureWriter(path)
    assert path.read_bytes() == content


def test_a_torn_last_line_gets_a_newline_before_new_records(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "c.jsonl", numbered(2), redact=False)
    path.write_bytes(path.read_bytes()[:-25])  # the writer died inside record 2
    write_capture(path, numbered(1, start=2), redact=False)
    reader = read_capture(path)
    assert [r.seq for r in reader] == [0, 2]
    assert [(p.line, p.kind) for p in reader.problems] == [(3, "bad-json")]
    assert "cut short" in reader.problems[0].reason


def test_credentials_are_redacted_by_default(tmp_path: Path, suffix: str) -> None:
    record = make_record(
        request={"headers": (("Authorization", "Basic dXNlcjpwYXNz"), ("Cookie", "sid=s3cret"))},
        response={"headers": (("Set-Cookie", "sid=s3cret; Path=/"),)},
    )
    path = write_capture(tmp_path / f"c.{suffix}", [record])
    data = text_of(path)
    assert b"dXNlcjpwYXNz" not in data and b"s3cret" not in data
    (got,) = read_capture(path)
    assert got.redacted
    assert dict(got.request.headers)["Authorization"] == "Basic <redacted>"
    kept = write_capture(tmp_path / f"kept.{suffix}", [record], redact=False)
    (got,) = read_capture(kept)
    assert got == record and not got.redacted


def test_each_record_is_readable_as_soon_as_it_is_written(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"c.{suffix}"
    with CaptureWriter(path, redact=False) as w:
        for i, record in enumerate(numbered(3)):
            w.write(record)
            reader = read_capture(path)
            assert [r.seq for r in reader] == list(range(i + 1))
            # An open gzip member has no trailer yet: readable, but reported as unfinished.
            kinds = [p.kind for p in reader.problems]
            assert kinds == (["torn-gzip"] if suffix.endswith("gz") else [])


def test_threads_share_one_writer(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"c.{suffix}"
    per_thread, threads = 150, 8
    with CaptureWriter(path, redact=False) as w:

        def produce(t: int) -> None:
            for r in numbered(per_thread, start=t * per_thread):
                w.write(r)

        workers = [threading.Thread(target=produce, args=(t,)) for t in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        assert w.records_written == per_thread * threads
    reader = read_capture(path)
    seqs = sorted(r.seq for r in reader)
    assert seqs == list(range(per_thread * threads))
    assert reader.problems == []


def test_write_after_close_is_an_error(tmp_path: Path) -> None:
    w = CaptureWriter(tmp_path / "c.jsonl")
    w.close()
    w.close()
    assert w.closed
    with pytest.raises(ValueError, match="closed"):
        w.write(make_record())


def test_values_too_deep_for_json_keep_the_raw_bodies(tmp_path: Path) -> None:
    deep: Value = Int(1)
    for _ in range(700):
        deep = Array([deep])
    path = write_capture(
        tmp_path / "c.jsonl", [make_record(response={"decoded": MethodResponse(deep)})]
    )
    reader = read_capture(path)
    (got,) = reader
    assert reader.problems == []
    assert got.reply is None and got.call is None
    assert got.response is not None and got.response.body == make_record().response.body
    assert [p.kind for p in got.problems] == ["not-stored"]


# ---------------------------------------------------------------- crashes

_KILLED_WRITER = """
import sys
from rpcspy.capture import CaptureWriter
from tests.capture.helpers import numbered
w = CaptureWriter(sys.argv[1], redact=False)
for r in numbered(int(sys.argv[2])):
    w.write(r)
print("written", flush=True)
sys.stdin.read()
"""


def kill_mid_run(path: Path, n: int) -> None:
    """A real writer process writes ``n`` records and is killed (SIGKILL) before closing."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(path), str(n)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"written\n"
    finally:
        proc.kill()
        proc.wait(10)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


def test_killed_writer_leaves_every_written_record_readable(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"c.{suffix}"
    kill_mid_run(path, 25)
    reader = read_capture(path)
    assert list(reader) == numbered(25)
    assert [p.kind for p in reader.problems] == (["torn-gzip"] if suffix.endswith("gz") else [])
    # Restarting on the same file: the torn gzip member is closed, and nothing is reported.
    write_capture(path, numbered(3, start=25), redact=False)
    reader = read_capture(path)
    assert list(reader) == numbered(28)
    assert reader.problems == []


def _torn_gzip_capture(tmp_path: Path, n: int) -> bytes:
    """The bytes a killed gzip writer leaves after ``n`` records (an open member)."""
    path = tmp_path / "live.jsonl.gz"
    w = CaptureWriter(path, redact=False)
    try:
        for r in numbered(n):
            w.write(r)
        return path.read_bytes()
    finally:
        w.close()


def test_appending_after_a_gzip_tear_anywhere_keeps_all_complete_records(tmp_path: Path) -> None:
    data = _torn_gzip_capture(tmp_path, 30)
    path = tmp_path / "c.jsonl.gz"
    one_record = len(data) // 31
    cuts = [*range(len(data) - 3 * one_record, len(data) + 1, 3), 1, 5, 10, 12, 20, 40]
    for cut in cuts:
        path.write_bytes(data[:cut])
        before = list(read_capture(path)) if cut > 40 else []
        write_capture(path, [make_record(seq=100, id="f" * 32)], redact=False)
        reader = read_capture(path)
        got = list(reader)
        assert reader.problems == [], cut
        # The repaired file is plain valid gzip: every member ends with a correct trailer.
        assert gzip.decompress(path.read_bytes()).count(b"\n") == len(got) + 1
        assert got[-1].seq == 100
        kept = got[:-1]
        # At most the record being written when the tear came is lost.
        assert kept == numbered(30)[: len(kept)], cut
        assert len(before) - 1 <= len(kept) <= len(before), cut


def test_appending_to_a_newer_minor_version_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(dumps_line({**make_header(), "version": "1.9"}))
    with CaptureWriter(path, redact=False) as w:
        assert w.header.version == (1, 9)
        w.write(make_record())
    assert list(read_capture(path)) == [make_record()]


def test_a_cut_that_is_not_a_flush_point_is_never_used_to_close_a_member(tmp_path: Path) -> None:
    data = _torn_gzip_capture(tmp_path, 5)
    scan = scan_for_append(io.BytesIO(data), 1000)
    assert scan.cut is not None and scan.close_member
    good = _Candidate(scan.cut, scan.crc, scan.size)
    assert _verify(io.BytesIO(data), 0, good)
    for wrong in (
        _Candidate(scan.cut - 3, scan.crc, scan.size),  # inside the flush marker
        _Candidate(scan.cut, scan.crc ^ 1, scan.size),  # wrong CRC
        _Candidate(scan.cut, scan.crc, scan.size - 1),  # wrong size
    ):
        assert not _verify(io.BytesIO(data), 0, wrong)
