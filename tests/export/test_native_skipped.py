"""``rpcspy export`` of a capture that mixes XML-RPC with ONC RPC and RPyC calls: HAR, mitmproxy
flows, curl and Python hold HTTP exchanges only, so the others are left out and counted on
stderr; Parquet keeps every call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rpcspy.capture import read_capture
from tests.export.helpers import rpcspy
from tests.nativecaps import oncrpc_records, rpyc_records, write_capture
from tests.tui.samples import sample_records


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    xmlrpc = sample_records()[:4]
    return write_capture(
        tmp_path / "mixed.jsonl", [*oncrpc_records()[:3], *xmlrpc, *rpyc_records()[:5]]
    )


@pytest.mark.parametrize(
    ("fmt", "reason"),
    [
        ("har", "HAR holds HTTP exchanges only"),
        ("mitm", "mitmproxy flow files hold HTTP flows only"),
        ("curl", "a curl script sends HTTP requests only"),
        ("python", "the Python script sends XML-RPC calls only"),
    ],
)
def test_http_formats_skip_native_calls_and_say_how_many(
    mixed: Path, tmp_path: Path, fmt: str, reason: str
) -> None:
    out = tmp_path / f"out.{fmt}"
    done = rpcspy("export", str(mixed), "--to", fmt, "-o", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert f"rpcspy: warning: 3 ONC RPC calls skipped: {reason}" in done.stderr
    assert f"rpcspy: warning: 5 RPyC calls skipped: {reason}" in done.stderr
    assert done.stdout.startswith("4 calls exported to ")
    if fmt == "har":
        entries = json.loads(out.read_text())["log"]["entries"]
        assert [e["request"]["url"].split("://")[0] for e in entries] == ["http"] * 4


def test_no_note_when_nothing_is_skipped(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "x.jsonl", sample_records()[:2])
    done = rpcspy("export", str(path), "--to", "har", "-o", str(tmp_path / "x.har"))
    assert done.returncode == 0 and "skipped" not in done.stderr


def test_parquet_keeps_native_calls(mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "tables"
    done = rpcspy("export", str(mixed), "--to", "parquet", "-o", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "skipped" not in done.stderr
    with read_capture(mixed) as reader:
        methods = [r.method for r in reader]
    query = rpcspy("query", str(out), "SELECT method FROM calls ORDER BY seq", "--json")
    assert query.returncode == 0, query.stderr
    assert [json.loads(line)["method"] for line in query.stdout.splitlines()] == methods


def test_one_native_call_as_curl_or_python_is_refused_with_the_reason() -> None:
    from rpcspy.export.script import to_curl, to_python

    record = oncrpc_records()[0]
    with pytest.raises(ValueError, match=r"is ONC RPC over tcp: curl sends HTTP requests only"):
        to_curl(record)
    with pytest.raises(ValueError, match=r"is RPyC over tcp: the Python script makes XML-RPC"):
        to_python(rpyc_records()[0])
