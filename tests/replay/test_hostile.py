"""``rpcspy replay`` against hostile targets: endless and huge answers are cut at ``--max-body``
and reported ``too-large``, a dripping server cannot stretch a call past ``--timeout``, and a
password in the target URL is never printed back. Each drives the real command."""

from __future__ import annotations

import json
import os
from pathlib import Path

from rpcspy.capture import CallRecord
from tests.conftest import MakeServer
from tests.hostile.processes import run_measured
from tests.hostile.targets import HostileTarget, answer, drip, endless_chunked, huge_length
from tests.replay.support import client, load, rpcspy_command, run_rpcspy, write_capture

MIB = 1024 * 1024


def _three_calls(make_server: MakeServer, tmp_path: Path) -> Path:
    server = make_server()
    records: list[CallRecord] = []
    proxy = client(server.url, records)
    for word in ("one", "two", "three"):
        proxy.echo(word)
    return write_capture(tmp_path / "three.jsonl", records)


def _replay(path: Path, url: str) -> list[str]:
    return [*rpcspy_command(), "replay", str(path), "--target", url, "--json", "--no-progress"]


def _env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1"}


def test_endless_and_huge_answers_are_too_large_and_the_replay_goes_on(
    make_server: MakeServer, tmp_path: Path
) -> None:
    path = _three_calls(make_server, tmp_path)
    out = tmp_path / "new.jsonl"
    with HostileTarget(endless_chunked(), huge_length(), answer()) as target:
        # The address-space cap turns a regression into a MemoryError, not a machine out of RAM.
        done = run_measured(
            [*_replay(path, target.url), "--timeout", "60", "-w", str(out)],
            timeout=90,
            env=_env(),
            address_space=1536 * MIB,
        )
    assert not done.timed_out, done.stderr
    assert done.code == 1, done.stderr
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert report["exit_code"] == 1
    assert report["summary"]["too-large"] == 2 and report["summary"]["total"] == 3
    calls = {c["seq"]: c for c in report["calls"]}
    assert calls[1]["verdict"] == "too-large"
    # The default limit is the decoder's own: 64 MiB.
    assert calls[1]["message"].startswith("the answer went past the limit of 67108864 bytes")
    assert calls[2]["verdict"] == "too-large"
    assert (
        calls[2]["message"] == "the answer announces 10000000000 bytes, over the limit of 67108864"
    )
    # The third call was sent and answered: it differs from the recorded echo, but it ran.
    assert calls[3]["verdict"] == "changed"
    # Bounded: the endless answer was read to the limit and a little past, not to gigabytes.
    assert done.peak_rss < 400 * MIB, done.peak_mib
    new = load(out)
    assert [r.seq for r in new] == [1, 2, 3]
    for record in new[:2]:
        assert [p.kind for p in record.problems if p.where == "response"] == ["too-large"]
        assert record.response is not None and not record.response.body
        assert record.status == 200


def test_max_body_sets_the_limit(make_server: MakeServer, tmp_path: Path) -> None:
    path = _three_calls(make_server, tmp_path)
    with HostileTarget(answer()) as target:
        small = run_rpcspy(
            "replay", str(path), "--target", target.url, "--json", "--max-body", "100"
        )
        roomy = run_rpcspy(
            "replay", str(path), "--target", target.url, "--json", "--max-body", "1k"
        )
    assert small.code == 1
    calls = json.loads(small.stdout)["calls"]
    assert [c["verdict"] for c in calls] == ["too-large"] * 3
    assert "over the limit of 100" in calls[0]["message"]
    assert [c["verdict"] for c in json.loads(roomy.stdout)["calls"]] == ["changed"] * 3
    done = run_rpcspy(
        "replay", str(tmp_path / "x.jsonl"), "--target", "http://h/", "--max-body", "lots"
    )
    assert done.code == 2
    assert "not a size: 'lots'" in done.stderr


def test_timeout_is_a_deadline_per_call_not_per_read(
    make_server: MakeServer, tmp_path: Path
) -> None:
    path = _three_calls(make_server, tmp_path)
    # One byte a second: every read returns well within the timeout, the call never would.
    with HostileTarget(drip(interval=1.0)) as target:
        done = run_measured(
            [*_replay(path, target.url), "--timeout", "2"],
            timeout=90,
            env=_env(),
        )
        assert target.requests == 3
    assert not done.timed_out
    assert done.code == 1, done.stderr
    report = json.loads(done.stdout)
    assert [c["verdict"] for c in report["calls"]] == ["error"] * 3
    assert [c["message"] for c in report["calls"]] == ["timed out after 2 s"] * 3
    # Three calls of 2 s each, plus start-up under a loaded machine; not the minutes a
    # per-read timeout gives.
    assert done.elapsed < 30, done.elapsed
    for call in report["calls"]:
        assert call["duration_ms"] is None or call["duration_ms"] < 4000


def test_a_password_in_the_target_url_is_never_printed(tmp_path: Path) -> None:
    secret = "Sup3r-s3cret"
    done = run_rpcspy(
        "replay", str(tmp_path / "x.jsonl"), "--target", f"http://alice:{secret}@127.0.0.1:9/"
    )
    assert done.code == 2
    assert secret not in done.stderr + done.stdout
    assert "http://alice:***@127.0.0.1:9/" in done.stderr
    assert "put credentials in --user/--password" in done.stderr
    # Every refusal of a target masks it, not only the one about credentials.
    done = run_rpcspy("replay", str(tmp_path / "x.jsonl"), "--target", f"ftp://bob:{secret}@h/")
    assert done.code == 2
    assert secret not in done.stderr + done.stdout
    assert "ftp://bob:***@h/" in done.stderr


def test_too_large_is_a_failing_verdict_and_a_junit_error() -> None:
    from rpcspy.replay.report import FAILING, CallResult, Report, report_to_junit

    assert "too-large" in FAILING
    report = Report("replay", "a.jsonl", "http://h/RPC2")
    report.add(CallResult("too-large", "echo", seq=1, message="it announces 9 bytes"))
    report.add(CallResult("same", "add", seq=2))
    assert report.exit_code() == 1
    assert report.summary() == "2 calls: 1 same, 1 too large"
    junit = report_to_junit(report).decode()
    assert 'errors="1"' in junit and 'failures="0"' in junit
    assert '<error message="too large: it announces 9 bytes" type="too-large"' in junit
