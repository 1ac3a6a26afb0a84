"""Filter evaluation on real records (built by build_record from real XML bodies)."""

from __future__ import annotations

import pytest

from rpcspy.capture import CallRecord
from rpcspy.filter import parse_filter
from tests.tui.samples import exchange, sample_records


@pytest.fixture(scope="module")
def records() -> dict[int, CallRecord]:
    return {r.seq: r for r in sample_records()}


def seqs(records: dict[int, CallRecord], text: str) -> list[int]:
    flt = parse_filter(text)
    return [seq for seq, r in records.items() if flt.matches(r)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", list(range(1, 13))),
        ("method:user.get", [3, 4, 7]),  # 7: a multicall with a user.get sub-call
        ("method:dir.*", [2, 12]),
        ("method:*.missing", [5, 7]),
        ("method:User.get", []),  # case-sensitive
        ("fault", [5, 7, 8]),
        ("fault:-32601", [5, 7]),
        ("fault:4", [8]),
        ("fault:5", []),
        ("ok", [1, 2, 3, 4, 6, 10, 12]),
        ("not ok", [5, 7, 8, 9, 11]),
        ("problem", [9, 11]),
        ("error", [11]),
        ("multicall", [7]),
        ("latency>200ms", [6]),
        ("latency>=0.3s", [6]),
        ("latency<1.5", [12]),
        ("latency!=2ms", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12]),  # 11 has no latency
        ("bob", [3, 7]),
        ("BOB", [3, 7]),
        ('"not found"', [5, 7]),  # fault strings
        ("hostname", [12]),
        ("-32601", [5, 7]),
        ("txt", [2]),
        ("recursive", [2]),  # struct member names
        ("true", [2]),  # booleans as true/false
        ("params[0].name=bob", [3, 7]),
        ("params[0].name!=bob", [4]),
        ("params[0].name~LIC", [4]),
        ("params[0].id=7", [3, 4]),  # int 7, and the string "7" alice sent (equal as text)
        ("params[0].id:string", [4]),
        ("params[0].id:int", [3]),
        ("params[0].id:i4", []),
        ("params[0]:string", [2, 12]),
        ("params[0]=0.35", [6]),
        ("params[0]>0.3", [6, 7, 8, 10, 11]),  # numbers only; sub-calls too
        ("params[1]", [2, 7, 11]),
        ("params[*].recursive=true", [2]),
        ("params[1].recursive=true", [2]),
        ("params[1].*=10", [2]),
        ("result.admin=false", [3]),
        ("result.id>7", [4]),
        ("result[1]=b.txt", [2]),
        ("result", [1, 2, 3, 4, 6, 7, 10, 12]),
        ("result:base64", [12]),
        ("size>1kb", [7]),
        ("status:200", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12]),
        ("origin:proxy", list(range(1, 13))),
        ("origin:resent", []),
        ("client:127.0.0.1", list(range(1, 13))),
        ("client:*:50003", [3]),
        ("method:user.get and bob", [3, 7]),
        ("method:user.get and not multicall", [3, 4]),
        ("fault or problem", [5, 7, 8, 9, 11]),
        ("(fault or problem) and not method:demo.*", [5, 7, 11]),
        ("!ok !fault", [9, 11]),
    ],
)
def test_matches(records: dict[int, CallRecord], text: str, expected: list[int]) -> None:
    assert seqs(records, text) == expected


def test_string_seven_equals_text_seven(records: dict[int, CallRecord]) -> None:
    # '=' on a string compares text: string "7" equals 7 written as text; the type test tells
    # them apart.
    assert seqs(records, 'params[0].id="7"') == [3, 4]
    assert seqs(records, "params[0].id=7 and params[0].id:int") == [3]


def test_typed_values_beyond_the_stdlib() -> None:
    body = (
        b"<?xml version='1.0'?><methodCall><methodName>t</methodName><params>"
        b"<param><value><i8>9000000000</i8></value></param>"
        b"<param><value>untyped</value></param>"
        b"<param><value><nil/></value></param>"
        b"<param><value><dateTime.iso8601>20240131T08:09:10</dateTime.iso8601></value></param>"
        b"</params></methodCall>"
    )
    rec = exchange(1, "t", request_body=body, result=1)
    assert parse_filter("params[0]:i8 and params[0]>8000000000").matches(rec)
    assert parse_filter("params[1]:untyped and params[1]:string and params[1]=untyped").matches(rec)
    assert not parse_filter("params[0]:string").matches(rec)
    assert parse_filter("params[2]=nil and params[2]:nil").matches(rec)
    assert parse_filter("params[3]>=20240101T00:00:00 and params[3]:dateTime.iso8601").matches(rec)
    assert parse_filter("9000000000").matches(rec)


def test_undecoded_request_matches_only_record_level_tests() -> None:
    rec = exchange(1, "x", request_body=b"<methodCall><methodName>x</methodName>", result=1)
    assert rec.call is None
    assert parse_filter("problem").matches(rec)
    # The method name is still read off the raw request; nothing else of the call is known.
    assert parse_filter("method:x").matches(rec)
    assert not parse_filter("method:y").matches(rec)
    torn = exchange(2, "x", request_body=b"<methodCall><methodNa", result=1)
    assert not parse_filter("method:*").matches(torn)
    assert not parse_filter("params[0]").matches(rec)
    assert not parse_filter("x").matches(rec)
