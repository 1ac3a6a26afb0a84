"""``rpcspy import`` as a user runs it: the installed entry point, on the fixtures."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from rpcspy.capture import read_capture
from rpcspy.cli import main
from tests.cli.test_cli import run
from tests.ingest.helpers import FIXTURES


class Ran:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def rpcspy(capsys: pytest.CaptureFixture[str]) -> Any:
    """``rpcspy ARGS`` in this process (quicker than the entry point, same code)."""

    def call(*args: str) -> Ran:
        code = main(list(args))
        out = capsys.readouterr()
        return Ran(code, out.out, out.err)

    return call


def test_imports_every_format_and_says_what_it_did(tmp_path: Path) -> None:
    out = tmp_path / "all.jsonl"
    result = run(
        "import",
        str(FIXTURES / "lo.pcap"),
        str(FIXTURES / "mitm.har"),
        str(FIXTURES / "mitm.mitm"),
        "-w",
        str(out),
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    records = list(read_capture(out))
    assert len(records) == 10 + 6 + 6
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    assert {r.origin for r in records} == {"import"}
    # 2 skipped in the pcap (a GET, the end marker), 1 in each mitmdump file; the TLS record.
    assert result.stdout.strip() == "22 calls, 4 skipped (not XML-RPC), 1 with problems"


def test_a_lossy_pcap_exits_4_with_the_calls_imported(tmp_path: Path, rpcspy: Any) -> None:
    out = tmp_path / "lossy.jsonl"
    result = rpcspy("import", str(FIXTURES / "lossy.pcap"), "-w", str(out))
    assert result.returncode == 4
    assert "10 calls" in result.stdout and "2 with problems" in result.stdout
    assert len(list(read_capture(out))) == 10


def test_an_existing_capture_is_kept_unless_appended_to_or_forced(
    tmp_path: Path, rpcspy: Any
) -> None:
    out = tmp_path / "x.jsonl"
    har = str(FIXTURES / "mitm.har")
    assert rpcspy("import", har, "-w", str(out)).returncode == 0
    refused = rpcspy("import", har, "-w", str(out))
    assert refused.returncode == 2
    assert "--append" in refused.stderr and "--force" in refused.stderr
    assert len(list(read_capture(out))) == 6
    assert rpcspy("import", har, "-w", str(out), "--append").returncode == 0
    appended = list(read_capture(out))
    assert [r.seq for r in appended] == list(range(1, 13))
    assert rpcspy("import", har, "-w", str(out), "--force").returncode == 0
    assert len(list(read_capture(out))) == 6


def test_unknown_content_is_exit_3_and_format_forces_a_reader(tmp_path: Path, rpcspy: Any) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 not a capture of anything")
    result = rpcspy("import", str(junk), "-w", str(tmp_path / "o.jsonl"))
    assert result.returncode == 3
    assert "not a pcap, pcapng, HAR or mitmproxy flow file" in result.stderr
    forced = rpcspy("import", str(junk), "--format", "pcap", "-w", str(tmp_path / "f.jsonl"))
    assert forced.returncode == 3
    assert "not a pcap or pcapng file" in forced.stderr
    named = tmp_path / "capture.dat"  # the name says nothing; the content does
    shutil.copy(FIXTURES / "mitm.har", named)
    assert rpcspy("import", str(named), "-w", str(tmp_path / "n.jsonl")).returncode == 0
    missing = rpcspy("import", str(tmp_path / "nope.pcap"), "-w", str(tmp_path / "m.jsonl"))
    assert missing.returncode == 3


def test_pcapng_from_a_conversion_reads_the_same(tmp_path: Path, rpcspy: Any) -> None:
    # tcpdump writes pcap only; editcap (Wireshark) converts when it is installed.
    editcap = shutil.which("editcap")
    if editcap is None:
        import dpkt

        # dpkt writes a pcapng of the same packets (the reader is the one under test).
        ng = tmp_path / "lo.pcapng"
        with open(FIXTURES / "lo.pcap", "rb") as f, open(ng, "wb") as g:
            writer = dpkt.pcapng.Writer(g, snaplen=262144)
            for ts, buf in dpkt.pcap.Reader(f):
                writer.writepkt(buf, ts=ts)
    else:
        ng = tmp_path / "lo.pcapng"
        subprocess.run([editcap, "-F", "pcapng", str(FIXTURES / "lo.pcap"), str(ng)], check=True)
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert rpcspy("import", str(FIXTURES / "lo.pcap"), "-w", str(a)).returncode == 0
    assert rpcspy("import", str(ng), "-w", str(b)).returncode == 0
    one, two = list(read_capture(a)), list(read_capture(b))
    assert [(r.method, r.request.body, r.reply) for r in one] == [
        (r.method, r.request.body, r.reply) for r in two
    ]
    assert [round(r.started, 6) for r in one] == [round(r.started, 6) for r in two]


def test_a_gzip_capture_reads_back_the_same_calls(tmp_path: Path, rpcspy: Any) -> None:
    plain, zipped = tmp_path / "p.jsonl", tmp_path / "z.jsonl.gz"
    assert rpcspy("import", str(FIXTURES / "lo.pcap"), "-w", str(plain)).returncode == 0
    assert rpcspy("import", str(FIXTURES / "lo.pcap"), "-w", str(zipped)).returncode == 0
    one, two = list(read_capture(plain)), list(read_capture(zipped))
    assert len(one) == 10
    assert [(r.seq, r.method, r.request.body, r.reply) for r in one] == [
        (r.seq, r.method, r.request.body, r.reply) for r in two
    ]


def test_the_records_are_written_the_same_by_one_process_or_two(
    tmp_path: Path, rpcspy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rpcspy.ingest import worker

    two = tmp_path / "two.jsonl"
    monkeypatch.setattr(worker, "two_cores", lambda: True)
    assert rpcspy("import", str(FIXTURES / "lossy.pcap"), "-w", str(two)).returncode == 4
    monkeypatch.setattr(worker, "two_cores", lambda: False)
    one = tmp_path / "one.jsonl"
    assert rpcspy("import", str(FIXTURES / "lossy.pcap"), "-w", str(one)).returncode == 4
    a, b = list(read_capture(one)), list(read_capture(two))
    assert [(r.seq, r.method, r.problems, r.reply, r.started) for r in a] == [
        (r.seq, r.method, r.problems, r.reply, r.started) for r in b
    ]
