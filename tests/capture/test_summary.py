"""The agreed words for a call's outcome, time and size (``rpcspy.capture.summary``)."""

from __future__ import annotations

import pytest

from rpcspy.capture import Problem
from rpcspy.capture.summary import (
    call_size,
    format_duration,
    format_size,
    outcome,
    outcome_detail,
    size_text,
    sub_outcome,
    time_text,
)
from rpcspy.xmlrpc.messages import Fault, MethodResponse
from rpcspy.xmlrpc.values import Int
from tests.capture.helpers import make_record
from tests.wording import Case, cases


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_each_outcome_has_its_words(case: Case) -> None:
    assert outcome(case.record) == (case.outcome, case.kind)
    assert time_text(case.record) == case.took
    assert size_text(case.record) == case.size


def test_details_are_the_fault_string_or_the_error() -> None:
    by_name = {c.name: c.record for c in cases()}
    assert outcome_detail(by_name["fault"]) == "boom"
    assert outcome_detail(by_name["connection-error"]) == "refused"
    assert outcome_detail(by_name["ok"]) is None


def test_an_error_wins_over_everything_and_a_fault_over_problems() -> None:
    fault = make_record(response={"decoded": Fault.make(4, "x")})
    assert outcome(fault).text == "fault 4"
    assert outcome(make_record(error="refused", response=fault.response)).text == "error"
    # A 500 that still carried a readable fault is a fault, not an HTTP error.
    assert outcome(make_record(status=500, response=fault.response)).text == "fault 4"
    # A 2xx answer that is not XML-RPC is a problem, not an HTTP error.
    broken = (Problem("response", "malformed-xml", "mismatched tag"),)
    assert outcome(make_record(response={"decoded": None}, problems=broken)).text == "problem"
    # An HTTP error says its status, whatever the decoder made of the page.
    page = make_record(status=502, response={"decoded": None}, problems=broken)
    assert outcome(page) == ("http 502", "problem")
    # A response whose body was not recorded (streamed) has no reply and no problem.
    assert outcome(make_record(response={"decoded": None, "body": None})).text == "no response"


def test_sub_call_outcomes() -> None:
    assert sub_outcome(MethodResponse(Int(1))) == ("ok", "ok")
    assert sub_outcome(Fault.make(-32601, "no")) == ("fault -32601", "fault")
    assert sub_outcome(None) == ("no response", "pending")


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (None, "-"),
        (0.04, "0.0 ms"),
        (0.8, "0.8 ms"),
        (99.94, "99.9 ms"),
        (100.0, "100 ms"),
        (9_999.0, "9999 ms"),
        (12_500.0, "12.5 s"),
        (250_000.0, "250 s"),
    ],
)
def test_durations(ms: float | None, text: str) -> None:
    assert format_duration(ms) == text
    assert len(text) <= 7


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (278, "278 B"),
        (999, "999 B"),
        (1000, "1.0 KB"),
        (1234, "1.2 KB"),
        (12 * 1024, "12 KB"),
        (999 * 1024, "999 KB"),
        (3_565_158, "3.4 MB"),
        (5 << 30, "5.0 GB"),
    ],
)
def test_sizes(n: int, text: str) -> None:
    assert format_size(n) == text
    assert len(text) <= 6


def test_the_size_of_a_call_is_both_bodies_on_the_wire() -> None:
    record = make_record()
    assert record.response is not None and record.response.body is not None
    assert call_size(record) == len(record.request.body or b"") + len(record.response.body)
    assert call_size(make_record(response=None)) == len(record.request.body or b"")
    assert call_size(make_record(response={"body": None})) == len(record.request.body or b"")
