"""Reports: summary counts, exit codes, text, JSON and JUnit XML."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

from rpcspy.diff import Difference
from rpcspy.replay.report import CallResult, Report, render_text, report_to_json, report_to_junit
from rpcspy.xmlrpc.values import Double, Int


def _report() -> Report:
    report = Report("replay", "session.jsonl", "http://127.0.0.1:9/RPC2")
    report.add(CallResult("same", "demo.echo", seq=1))
    report.add(
        CallResult(
            "changed",
            "add",
            seq=2,
            differences=(Difference("result", "type", Int(5), Double(5.0), "add"),),
        )
    )
    report.add(CallResult("error", "demo.crash", seq=3, message="connection refused"))
    report.add(CallResult("skipped", "dir.create", seq=4, message="not re-sent"))
    report.add(
        CallResult(
            "same",
            "demo.random",
            seq=5,
            noise=(Difference("result.random", "changed", Double(0.1), Double(0.2), "x"),),
        )
    )
    return report


def test_summary_and_exit_codes() -> None:
    report = _report()
    assert report.summary() == "5 calls: 2 same, 1 changed, 1 error, 1 skipped"
    assert report.failed and report.exit_code() == 1
    clean = Report("diff", "a", "b", [CallResult("same", "m", seq=1)])
    assert clean.exit_code() == 0
    clean.partial = True
    assert clean.exit_code() == 4
    ordered = Report("diff", "a", "b", [CallResult("reordered", "m", seq=1, counts=False)])
    assert ordered.exit_code() == 0


def test_text_lists_what_differs_and_the_noise() -> None:
    out = io.StringIO()
    render_text(_report(), out)
    text = out.getvalue()
    assert "#2 add  changed\n    result: int 5 -> double 5.0\n" in text
    assert "#3 demo.crash  error: connection refused" in text
    assert "#1 demo.echo" not in text
    assert "noise: result.random: double 0.1 -> double 0.2" in text
    assert text.rstrip().endswith("(0.00 s)") and "FAIL 5 calls" in text


def test_json_form() -> None:
    data = report_to_json(_report())
    assert data["ok"] is False and data["exit_code"] == 1
    summary = data["summary"]
    assert isinstance(summary, dict)
    assert summary["changed"] == 1 and summary["total"] == 5
    calls = data["calls"]
    assert isinstance(calls, list)
    assert [c["seq"] for c in calls] == [2, 3, 4, 5]
    assert calls[0]["differences"][0]["kind"] == "type"


def test_junit_xml() -> None:
    root = ET.fromstring(report_to_junit(_report()))
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "5" and suite.get("failures") == "1"
    assert suite.get("errors") == "1" and suite.get("skipped") == "1"
    cases = suite.findall("testcase")
    failure = cases[1].find("failure")
    assert failure is not None and failure.text == "result: int 5 -> double 5.0"
    error = cases[2].find("error")
    assert error is not None and error.get("message") == "error: connection refused"
    assert cases[3].find("skipped") is not None
    assert cases[0].find("failure") is None


def test_names_of_calls_only_in_b() -> None:
    assert CallResult("extra", "m", new_seq=7).name == "B#7 m"
    assert CallResult("missing", None, seq=3).name == "#3 (undecodable call)"
