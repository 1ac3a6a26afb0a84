"""Checking calls against an API: each disagreement a finding of an ``api-*`` rule, on records
decoded from bodies the stdlib client writes."""

from __future__ import annotations

import xmlrpc.client
from pathlib import Path

import pytest

from rpcspy.api.check import API_RULES, check_reader, check_record
from rpcspy.api.learn import learn_records
from rpcspy.api.model import Api, Signature, declared_shape
from rpcspy.capture import CallRecord, CaptureWriter, HttpMessage, build_record, read_capture
from rpcspy.lint import build_report

REPO = Path(__file__).resolve().parents[2]
XML = (("Content-Type", "text/xml"),)


def rec(
    method: str,
    params: tuple[object, ...],
    result: object = None,
    *,
    fault: tuple[int, str] | None = None,
    seq: int = 1,
    agent: str = "client-a",
) -> CallRecord:
    """A record of the real decoder, from the bodies ``xmlrpc.client`` writes."""
    body = xmlrpc.client.dumps(params, method, allow_none=True).encode()
    if fault is not None:
        answer = xmlrpc.client.dumps(xmlrpc.client.Fault(*fault), allow_none=True).encode()
    else:
        answer = xmlrpc.client.dumps((result,), methodresponse=True, allow_none=True).encode()
    return build_record(
        HttpMessage(headers=(*XML, ("User-Agent", agent)), body=body),
        HttpMessage(headers=(*XML, ("Server", "demo")), body=answer),
        started=1.0,
        ended=1.5,
        seq=seq,
        client=("127.0.0.1", 4000),
        host="127.0.0.1",
        port=8000,
    )


def _learned() -> Api:
    return learn_records(
        [
            rec("user.get", (7,), {"name": "bob", "id": 7}),
            rec("user.get", (None,), {"name": "al", "id": 8, "email": "a@x"}),
            rec("user.find", ({"name": "bob", "tags": ["a", "b"]},), [1, 2]),
            rec("math.add", (1, 2), 3),
        ]
    )


def _found(api: Api, record: CallRecord) -> list[tuple[str, str, str, str | None]]:
    return [(f.where, f.rule, f.severity, f.path) for f in check_record(api, record)]


def test_the_traffic_learned_agrees_with_itself() -> None:
    api = _learned()
    for record in [rec("user.get", (7,), {"name": "x", "id": 1}), rec("math.add", (5, 6), 11)]:
        assert check_record(api, record) == []
    # i4|nil: both kinds are allowed (the API saw int and nil at params[0]).
    assert check_record(api, rec("user.get", (None,), {"name": "x", "id": 1})) == []


def test_a_param_of_another_type() -> None:
    (finding,) = check_record(_learned(), rec("user.get", ("7",), {"name": "x", "id": 1}))
    assert (finding.where, finding.rule, finding.severity) == ("request", "api-param-type", "error")
    assert finding.path == "params[0]"
    assert finding.message == "params[0] is string, expected int|nil"


def test_unknown_method_and_arity() -> None:
    api = _learned()
    assert _found(api, rec("user.delete", (7,), True)) == [
        ("request", "api-unknown-method", "error", None)
    ]
    (finding,) = check_record(api, rec("math.add", (1, 2, 3), 6))
    assert (finding.rule, finding.path) == ("api-arity", "params")
    assert finding.message == "math.add called with 3 params; the API knows 2"


def test_members_inside_a_struct_and_items_inside_an_array() -> None:
    api = _learned()
    record = rec("user.find", ({"name": 5, "tags": ["a", 1], "age": 3},), [1])
    assert sorted(_found(api, record)) == [
        ("request", "api-param-type", "error", "params[0].name"),
        ("request", "api-param-type", "error", "params[0].tags[1]"),
        ("request", "api-unknown-member", "warning", "params[0].age"),
    ]


def test_result_types() -> None:
    api = _learned()
    assert _found(api, rec("math.add", (1, 2), "3")) == [
        ("response", "api-result-type", "error", "result")
    ]
    assert _found(api, rec("user.get", (1,), {"name": "x", "id": 1, "extra": True})) == [
        ("response", "api-unknown-member", "warning", "result.extra")
    ]
    # Faults are not checked against the result.
    assert check_record(api, rec("math.add", (1, 2), fault=(4, "no"))) == []


def _declared() -> Api:
    api = Api()
    add = api.method("add")
    add.sources = {"introspection"}
    add.signatures = [
        Signature([declared_shape("int"), declared_shape("int")], declared_shape("int")),
        Signature([declared_shape("double"), declared_shape("double")], declared_shape("double")),
    ]
    echo = api.method("echo")
    echo.signatures = [Signature([declared_shape("undef")], declared_shape("undef"))]
    save = api.method("save")
    save.signatures = [
        Signature([declared_shape("struct"), declared_shape("array")], declared_shape("boolean"))
    ]
    api.method("unsigned")  # listed, nothing declared
    return api


def test_declared_signatures() -> None:
    api = _declared()
    assert check_record(api, rec("add", (1, 2), 3)) == []
    assert check_record(api, rec("add", (1.5, 2.5), 4.0)) == []
    # One signature has to take every param: int and double together match none.
    assert _found(api, rec("add", (1, 2.5), 3.5)) == [
        ("request", "api-param-type", "error", "params[1]")
    ]
    assert _found(api, rec("add", (1,), 3)) == [("request", "api-arity", "error", "params")]
    # undef is any type; a declared struct or array takes any struct or array.
    for value in (1, "x", None, [1], {"a": 1}):
        assert check_record(api, rec("echo", (value,), value)) == []
    assert check_record(api, rec("save", ({"any": [1, {"x": None}]}, ["a", 2]), True)) == []
    assert _found(api, rec("save", ([1], {"a": 1}), True)) == [
        ("request", "api-param-type", "error", "params[0]"),
        ("request", "api-param-type", "error", "params[1]"),
    ]
    # A method listed without signatures takes anything.
    assert check_record(api, rec("unsigned", (1, 2, 3), None)) == []


def test_declared_or_seen_either_will_do() -> None:
    api = _declared()
    learn_records([rec("add", ("1", "2"), "3")], api)  # a client that sends strings, and works
    assert check_record(api, rec("add", ("4", "5"), "9")) == []
    assert check_record(api, rec("add", (4, 5), 9)) == []
    assert _found(api, rec("add", (4, None), 9)) == [
        ("request", "api-param-type", "error", "params[1]")
    ]


def test_multicall_entries_are_checked_each() -> None:
    api = _learned()
    learn_records(
        [rec("system.multicall", ([{"methodName": "math.add", "params": [1, 2]}],), [[3]])], api
    )
    calls = [
        {"methodName": "math.add", "params": [1, 2]},
        {"methodName": "math.add", "params": ["1", 2]},
        {"methodName": "nope", "params": []},
        {"methodName": "math.add", "params": [2, 2]},
    ]
    results = [[3], [3], {"faultCode": 1, "faultString": "no"}, ["4"]]
    record = rec("system.multicall", (calls,), results)
    assert len(record.subcalls) == 4
    assert _found(api, record) == [
        ("multicall", "api-param-type", "error", "params[0][1].params[0]"),
        ("multicall", "api-unknown-method", "error", "params[0][2].methodName"),
        ("multicall", "api-result-type", "error", "result[3][0]"),
    ]


def test_check_reader_numbers_each_call(tmp_path: Path) -> None:
    api = _learned()
    path = tmp_path / "c.jsonl"
    writer = CaptureWriter(path, append=False)
    for seq in range(1, 7):
        writer.write(rec("math.add", (1, "2" if seq % 2 else 2), 3, seq=seq))
    writer.close()
    with read_capture(path) as reader:
        checked = list(check_reader(api, reader))
        assert reader.records_read == 6
    assert [c.seq for c in checked] == [1, 3, 5]
    assert all(c.method == "math.add" for c in checked)
    assert [f.path for c in checked for f in c.findings] == ["params[1]"] * 3


def test_lint_counts_api_findings_per_peer() -> None:
    api = _learned()
    records = [
        rec("math.add", (1, "2"), 3, seq=1, agent="bad-client"),
        rec("math.add", (1, 2), "3", seq=2, agent="good-client"),
    ]
    report = build_report((("c.jsonl", r) for r in records), extra=lambda r: check_record(api, r))
    peers = {(p.role, p.agent): p for p in report.sorted_peers()}
    assert set(peers[("client", "bad-client")].rules) == {"api-param-type"}
    assert peers[("client", "good-client")].rules == {}
    server = peers[("server", "demo")]
    assert set(server.rules) == {"api-result-type"}
    assert server.rules["api-result-type"].example.seq == 2
    assert report.errors == 2


@pytest.mark.parametrize("rule", sorted(API_RULES))
def test_every_api_rule_is_documented(rule: str) -> None:
    doc = (REPO / "docs" / "conformance.md").read_text()
    assert f"`{rule}`" in doc
    assert API_RULES[rule].severity in ("warning", "error")
    assert API_RULES[rule].description and API_RULES[rule].spec
