"""The capture an import writes, byte for byte, against the one recorded for each fixture pcap.

The speed work on the importer (reassembly, HTTP framing, the record builder, the hand-over to
the recording process) must not change one byte of what it writes. The golden captures
(``fixtures/*.capture.jsonl.gz``) are the call lines ``rpcspy import`` wrote for ``lo.pcap`` and
``lossy.pcap``, with each record's random ``id`` blanked (the header line, which holds the time
the capture was made and the producer's version, is left out); they were written by
``python -m tests.ingest.test_golden`` before that work began.
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

import pytest

from rpcspy.cli import main
from tests.ingest.helpers import FIXTURES, import_file

_ID = re.compile(rb'^(\{"type":"call","seq":\d+,"id":")[0-9a-f]{32}(")')
PCAPS = ("lo", "lossy")


def call_lines(capture: Path) -> bytes:
    """The capture's call lines, each record's id blanked."""
    out = []
    for line in capture.read_bytes().splitlines(keepends=True):
        if line.startswith(b'{"type":"header"'):
            continue
        blanked, n = _ID.subn(rb"\1\2", line)
        assert n == 1, line[:100]
        out.append(blanked)
    return b"".join(out)


def golden(name: str) -> Path:
    return FIXTURES / f"{name}.capture.jsonl.gz"


def _same(got: bytes, want: bytes) -> None:
    got_lines, want_lines = got.splitlines(), want.splitlines()
    for i, (a, b) in enumerate(zip(got_lines, want_lines, strict=False), 1):
        assert a == b, f"call line {i} differs"
    assert len(got_lines) == len(want_lines)
    assert got == want


@pytest.mark.parametrize("name", PCAPS)
def test_the_command_writes_the_golden_capture(name: str, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    code = main(["import", str(FIXTURES / f"{name}.pcap"), "-w", str(out), "--no-progress"])
    assert code in (0, 4)  # 4: the lossy capture has a damaged call
    _same(call_lines(out), gzip.decompress(golden(name).read_bytes()))


@pytest.mark.parametrize("name", PCAPS)
def test_records_built_in_this_process_make_the_golden_capture(name: str, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    import_file(FIXTURES / f"{name}.pcap", out)
    _same(call_lines(out), gzip.decompress(golden(name).read_bytes()))


def _write_goldens(tmp: Path) -> None:
    for name in PCAPS:
        out = tmp / f"{name}.jsonl"
        main(["import", str(FIXTURES / f"{name}.pcap"), "-w", str(out), "--no-progress"])
        golden(name).write_bytes(gzip.compress(call_lines(out), 9, mtime=0))


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        _write_goldens(Path(tmp))
    sys.exit(0)
