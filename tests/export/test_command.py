"""``rpcspy export`` itself: where it writes, what it refuses, --filter, exit codes, cleanup.

The command runs as a real process (``helpers.rpcspy``) on a capture the proxy recorded; the
failure cases that need an exporter to break midway run ``rpcspy.cli.main`` in this process
with a broken exporter registered in ``EXPORTERS``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path

import orjson
import pytest

from rpcspy.capture import CallRecord, read_capture
from rpcspy.cli import main
from rpcspy.export import EXPORTERS, Exported, ExportError
from tests.export.helpers import CALLS, assert_same_calls, rpcspy


@pytest.fixture
def session(recorded: Path, tmp_path: Path) -> Path:
    """A copy of the recorded capture in this test's directory."""
    copy = tmp_path / "session.jsonl"
    shutil.copyfile(recorded, copy)
    return copy


def entries(path: Path) -> list[dict[str, object]]:
    doc = orjson.loads(path.read_bytes())
    found: list[dict[str, object]] = doc["log"]["entries"]
    return found


def seqs(har_entries: list[dict[str, object]]) -> list[int]:
    return [e["_rpcspy"]["seq"] for e in har_entries]  # type: ignore[index]


def listing(where: Path) -> list[str]:
    return sorted(p.name for p in where.iterdir())


def test_the_default_output_is_beside_the_capture(session: Path) -> None:
    done = rpcspy("export", str(session), "--to", "har")
    assert done.returncode == 0, done.stderr
    har = session.with_name("session.har")
    assert len(entries(har)) == len(CALLS)
    assert done.stdout.strip() == f"{len(CALLS)} calls exported to {har}"
    done = rpcspy("export", str(session), "--to", "mitm")
    assert done.returncode == 0, done.stderr
    assert session.with_name("session.mitm").stat().st_size > 0
    assert listing(session.parent) == ["session.har", "session.jsonl", "session.mitm"]


def test_an_existing_output_is_replaced_only_with_force(session: Path) -> None:
    har = session.with_name("session.har")
    har.write_text("keep me\n")
    done = rpcspy("export", str(session), "--to", "har")
    assert done.returncode == 2
    assert "exists: --force to replace it" in done.stderr
    assert har.read_text() == "keep me\n"
    done = rpcspy("export", str(session), "--to", "har", "--force")
    assert done.returncode == 0, done.stderr
    assert len(entries(har)) == len(CALLS)
    assert listing(session.parent) == ["session.har", "session.jsonl"]


def test_a_directory_is_not_a_file_to_write(session: Path) -> None:
    where = session.with_name("somewhere")
    where.mkdir()
    (where / "precious").write_text("x")
    done = rpcspy("export", str(session), "--to", "har", "-o", str(where), "--force")
    assert done.returncode == 2 and "is a directory" in done.stderr
    assert (where / "precious").read_text() == "x"


def test_the_capture_itself_is_not_overwritten(session: Path) -> None:
    before = session.read_bytes()
    done = rpcspy("export", str(session), "--to", "har", "-o", str(session), "--force")
    assert done.returncode == 2 and "is the capture itself" in done.stderr
    assert session.read_bytes() == before


def test_stdout_gets_the_export_and_stderr_the_summary(session: Path, tmp_path: Path) -> None:
    done = rpcspy("export", str(session), "--to", "har", "-o", "-")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["log"]["entries"]) == len(CALLS)
    assert done.stderr.strip() == f"{len(CALLS)} calls exported to stdout"
    assert listing(tmp_path) == ["session.jsonl"]  # nothing written beside the capture
    assert rpcspy("export", str(session), "--to", "parquet", "-o", "-").returncode == 2


@pytest.mark.parametrize("expr", ["fault", "method:echo", "problem or not ok", "origin:import"])
def test_filter_exports_the_rows_show_lists(session: Path, tmp_path: Path, expr: str) -> None:
    shown = rpcspy("show", str(session), "--json", "--filter", expr)
    assert shown.returncode == 0, shown.stderr
    want = [json.loads(line)["seq"] for line in shown.stdout.splitlines()]
    out = tmp_path / "filtered.har"
    done = rpcspy("export", str(session), "--to", "har", "--filter", expr, "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert seqs(entries(out)) == want
    n = len(want)
    assert done.stdout.strip() == f"{n} call{'s' if n != 1 else ''} exported to {out}"
    if expr == "fault":
        assert want  # the capture has faults: the filter is not vacuous


def test_a_bad_filter_is_bad_usage(session: Path) -> None:
    done = rpcspy("export", str(session), "--to", "har", "--filter", "method:(")
    assert done.returncode == 2 and "--filter" in done.stderr
    assert listing(session.parent) == ["session.jsonl"]


def test_a_torn_capture_line_is_exported_around_and_exits_4(session: Path) -> None:
    with open(session, "ab") as f:
        f.write(b'{"type": "call", "seq": 99, "id": "torn')  # the proxy died mid-line
    done = rpcspy("export", str(session), "--to", "har")
    assert done.returncode == 4, done.stderr
    assert "torn" in done.stderr or "ends inside a line" in done.stderr
    assert seqs(entries(session.with_name("session.har"))) == list(range(1, len(CALLS) + 1))


def test_a_missing_capture_exits_3(tmp_path: Path) -> None:
    done = rpcspy("export", str(tmp_path / "nope.jsonl"), "--to", "har")
    assert done.returncode == 3 and "no such capture file" in done.stderr
    assert listing(tmp_path) == []


def _broken(fail: BaseException) -> object:
    def export(records: Iterable[CallRecord], out: Path, *, source: Path) -> Exported:
        with open(out, "wb") as f:
            for i, record in enumerate(records):
                f.write(record.id.encode() + b"\n")
                f.flush()
                if i == 3:
                    raise fail
        return Exported(0)

    return export


@pytest.mark.parametrize(
    ("fail", "code"),
    [
        (ExportError("the format cannot hold this"), 3),
        (OSError(28, "No space left on device"), 3),
        (RuntimeError("a bug"), None),
        (KeyboardInterrupt(), 130),
    ],
)
def test_a_failure_midway_leaves_nothing_behind(
    session: Path, monkeypatch: pytest.MonkeyPatch, fail: BaseException, code: int | None
) -> None:
    monkeypatch.setitem(EXPORTERS, "har", f"{__name__}:BROKEN")
    monkeypatch.setitem(globals(), "BROKEN", _broken(fail))
    argv = ["export", str(session), "--to", "har", "--no-progress"]
    if code is None:
        with pytest.raises(RuntimeError, match="a bug"):
            main(argv)
    else:
        assert main(argv) == code
    # No partial export, no temporary directory: only the capture.
    assert listing(session.parent) == ["session.jsonl"]
    # An existing export replaced with --force is left as it was.
    old = session.with_name("session.har")
    old.write_text("the previous export\n")
    if code is None:
        with pytest.raises(RuntimeError):
            main([*argv, "--force"])
    else:
        assert main([*argv, "--force"]) == code
    assert old.read_text() == "the previous export\n"
    assert listing(session.parent) == ["session.har", "session.jsonl"]


def test_help_has_examples() -> None:
    done = rpcspy("export", "--help")
    assert done.returncode == 0
    head, _, examples = done.stdout.partition("examples:\n")
    assert "--to" in head and "har" in head and "mitm" in head
    lines = [line.strip() for line in examples.splitlines() if line.strip()]
    assert len(lines) >= 4 and all(line.startswith("rpcspy export ") for line in lines)


@pytest.mark.parametrize("fmt", ["har", "mitm"])
def test_export_then_import_by_the_commands_gives_the_same_calls(
    session: Path, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"x.{fmt}"
    assert rpcspy("export", str(session), "--to", fmt, "-o", str(out)).returncode == 0
    back = tmp_path / "back.jsonl"
    done = rpcspy("import", str(out), "-w", str(back), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(f"{len(CALLS)} calls, 0 skipped")
    assert_same_calls(list(read_capture(session)), list(read_capture(back)))
