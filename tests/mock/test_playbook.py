"""The playbook: matching by method and decoded params, recorded order, closest-miss faults."""

from __future__ import annotations

import gzip
import xmlrpc.client

from rpcspy.capture import CallRecord, HttpMessage, build_record
from rpcspy.diff import Rules, parse_rule
from rpcspy.mock.playbook import FAULT_NO_MATCH, FAULT_NO_METHOD, FAULT_NOT_XMLRPC, Playbook
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.values import I4, Int, String, Struct, from_python


def _record(seq: int, method: str, params: tuple[object, ...], result: object) -> CallRecord:
    request = xmlrpc.client.dumps(params, method, allow_none=True).encode()
    if isinstance(result, xmlrpc.client.Fault):
        response = xmlrpc.client.dumps(result, methodresponse=True).encode()
    else:
        response = xmlrpc.client.dumps((result,), methodresponse=True, allow_none=True).encode()
    return build_record(
        HttpMessage((("Content-Type", "text/xml"),), request),
        HttpMessage((("Content-Type", "text/xml"),), response),
        started=1.0,
        ended=1.1,
        client=None,
        server=None,
        scheme="http",
        host="h",
        port=80,
        path="/RPC2",
        status=200,
        seq=seq,
    )


def _call(method: str, *params: object) -> MethodCall:
    return MethodCall(method, tuple(from_python(p) for p in params))


def _result(answer_response: MethodResponse | Fault) -> object:
    assert isinstance(answer_response, MethodResponse)
    return answer_response.value


def test_match_ignores_struct_member_order_and_answers_recorded_bytes() -> None:
    record = _record(1, "user.get", ({"id": 7, "name": "bob"},), {"ok": True})
    book = Playbook([record])
    answer = book.answer(MethodCall("user.get", (Struct(name=String("bob"), id=Int(7)),)))
    assert answer.matched and answer.record is record
    assert answer.body == record.response.body
    assert answer.content_type == "text/xml"


def test_repeated_calls_answer_in_recorded_order_then_repeat_the_last() -> None:
    book = Playbook(
        [
            _record(1, "counter.next", (), 1),
            _record(2, "other", (), "x"),
            _record(3, "counter.next", (), 2),
        ]
    )
    got = [book.answer(_call("counter.next")) for _ in range(4)]
    assert [_result(a.response) for a in got] == [Int(1), Int(2), Int(2), Int(2)]
    assert [(a.position, a.of, a.repeated) for a in got] == [
        (1, 2, False),
        (2, 2, False),
        (2, 2, True),
        (2, 2, True),
    ]
    book.reset()
    assert _result(book.answer(_call("counter.next")).response) == Int(1)


def test_typed_params_must_match() -> None:
    book = Playbook([_record(1, "add", (2, 3), 5)])
    assert book.answer(_call("add", 2, 3)).matched
    typed = MethodCall("add", (from_python(2), String("3")))
    miss = book.answer(typed)
    assert not miss.matched
    assert isinstance(miss.response, Fault) and miss.response.code == FAULT_NO_MATCH


def test_miss_names_the_closest_call_and_the_paths_that_differ() -> None:
    book = Playbook(
        [
            _record(1, "add", (1, 2), 3),
            _record(2, "add", (10, 20), 30),
        ]
    )
    miss = book.answer(_call("add", 1, 5))
    assert not miss.matched and miss.closest is not None and miss.closest.seq == 1
    assert isinstance(miss.response, Fault)
    assert "no recorded call matches add(1, 5); closest is #1 add(1, 2)" in miss.response.string
    assert "params[1]: int 2 -> int 5" in miss.response.string
    assert [d.path for d in miss.differences] == ["params[1]"]
    assert miss.log_line(_call("add", 1, 5)).startswith("miss add(")


def test_unknown_method_suggests_a_near_name() -> None:
    book = Playbook([_record(1, "demo.version", (), "1.0")])
    miss = book.answer(_call("demo.versions"))
    assert isinstance(miss.response, Fault) and miss.response.code == FAULT_NO_METHOD
    assert "closest recorded method: demo.version" in miss.response.string


def test_ignore_rules_leave_paths_out_of_matching() -> None:
    rules = Rules((parse_rule("user.get: params[0].requestId"),))
    book = Playbook(
        [
            _record(1, "user.get", ({"id": 7, "requestId": "r1"},), "first"),
            _record(2, "user.get", ({"id": 7, "requestId": "r2"},), "second"),
        ],
        rules,
    )
    one = book.answer(_call("user.get", {"id": 7, "requestId": "zzz"}))
    two = book.answer(_call("user.get", {"requestId": "yyy", "id": 7}))
    assert (_result(one.response), _result(two.response)) == (String("first"), String("second"))
    assert not book.answer(_call("user.get", {"id": 8, "requestId": "r1"})).matched


def test_failed_exchanges_and_faults_are_played_back_as_recorded() -> None:
    failed = build_record(
        HttpMessage((), xmlrpc.client.dumps((), "demo.crash").encode()),
        None,
        started=1.0,
        ended=None,
        client=None,
        server=None,
        scheme="http",
        host="h",
        port=80,
        path="/RPC2",
        status=None,
        error="closed",
    )
    html = build_record(
        HttpMessage((), xmlrpc.client.dumps((), "gateway").encode()),
        HttpMessage((("Content-Type", "text/html"),), b"<html/>"),
        started=1.0,
        ended=1.1,
        client=None,
        server=None,
        scheme="http",
        host="h",
        port=80,
        path="/RPC2",
        status=502,
    )
    undecodable = build_record(
        HttpMessage((), b"not xml"),
        HttpMessage((), b""),
        started=1.0,
        ended=1.1,
        client=None,
        server=None,
        scheme="http",
        host="h",
        port=80,
        path="/RPC2",
        status=200,
    )
    fault = _record(2, "demo.fault", (42, "boom"), xmlrpc.client.Fault(42, "boom"))
    book = Playbook([failed, html, undecodable, fault])
    # The undecodable request is no longer left out: it is matched by its exact bytes.
    assert book.left_out == 0 and book.calls == 4
    assert book.by_bytes == 1 and book.no_answer == 1
    raw = book.answer_undecoded(b"not xml", None, "does not decode")
    assert raw.matched and raw.by_bytes and raw.record is undecodable
    assert (raw.status, raw.body, raw.drop) == (200, b"", False)
    answer = book.answer(_call("demo.fault", 42, "boom"))
    assert answer.matched and isinstance(answer.response, Fault) and answer.response.code == 42
    crash = book.answer(_call("demo.crash"))
    assert crash.matched and crash.drop
    assert "no answer, connection closed as recorded (closed)" in crash.log_line(None)
    page = book.answer(_call("gateway"))
    assert page.matched and not page.drop and page.response is None
    assert (page.status, page.content_type, page.body) == (502, "text/html", b"<html/>")


def _raw_record(seq: int, request: bytes, response: bytes | None) -> CallRecord:
    return build_record(
        HttpMessage((("Content-Type", "text/xml"),), request),
        None if response is None else HttpMessage((("Content-Type", "text/xml"),), response),
        started=1.0,
        ended=1.1,
        status=200 if response is not None else None,
        seq=seq,
    )


def _raw_call(method: str, *values: str) -> bytes:
    params = "".join(f"<param><value>{v}</value></param>" for v in values)
    text = f"<methodCall><methodName>{method}</methodName><params>{params}</params></methodCall>"
    return text.encode()


_FIVE = xmlrpc.client.dumps((5,), methodresponse=True).encode()


def test_i4_and_int_untyped_and_string_match_unless_strict_types() -> None:
    recorded = _raw_record(1, _raw_call("add", "<i4>2</i4>", "<i4>3</i4>"), _FIVE)
    named = _raw_record(2, _raw_call("hello", "bob"), _FIVE)  # untyped text
    assert recorded.call is not None and recorded.call.params[0].tag == "i4"
    loose = Playbook([recorded, named])
    assert loose.answer(_call("add", 2, 3)).record is recorded
    assert loose.answer(MethodCall("hello", (String("bob"),))).record is named
    # A struct or array deep down is compared the same way.
    deep = _raw_record(
        3,
        _raw_call(
            "put",
            "<struct><member><name>n</name><value><array><data><value><i4>1</i4>"
            "</value></data></array></value></member></struct>",
        ),
        _FIVE,
    )
    assert Playbook([deep]).answer(_call("put", {"n": [1]})).record is deep
    strict = Playbook([recorded, named], strict_types=True)
    assert strict.answer(MethodCall("add", (I4(2), I4(3)))).record is recorded
    miss = strict.answer(_call("add", 2, 3))
    assert not miss.matched and miss.closest is recorded
    assert [d.describe() for d in miss.differences] == [
        "params[0]: i4 2 -> int 2",
        "params[1]: i4 3 -> int 3",
    ]
    assert not strict.answer(MethodCall("hello", (String("bob"),))).matched


def test_closest_miss_prefers_a_wire_type_difference_over_a_value_difference() -> None:
    by_value = _record(1, "add", (2, 4), 6)  # int params, one value differs from the call
    by_type = _raw_record(2, _raw_call("add", "<i4>2</i4>", "<i4>3</i4>"), _FIVE)
    for records in ([by_value, by_type], [by_type, by_value]):
        miss = Playbook(records, strict_types=True).answer(_call("add", 2, 3))
        assert miss.closest is by_type
        assert isinstance(miss.response, Fault)
        assert miss.response.string.endswith(
            "(only in wire types: --strict-types tells them apart)"
        )
    # Without --strict-types the wire types match, so a miss lists only what counts.
    miss = Playbook([by_value, by_type]).answer(_call("add", 2, 7))
    assert isinstance(miss.response, Fault)
    assert [d.describe() for d in miss.differences] == ["params[1]: int 4 -> int 7"]


def test_undecodable_requests_match_by_their_bytes_and_unrecorded_bodies_are_left_out() -> None:
    # A struct member without a name: not decodable, strict or tolerant.
    body = _raw_call("echo", "<struct><member><value><i4>1</i4></value></member></struct>")
    first = _raw_record(1, body, _FIVE)
    second = _raw_record(2, body, b"<html>later</html>")
    streamed = build_record(HttpMessage((), None), HttpMessage((), _FIVE), started=1.0, seq=3)
    assert first.call is None and streamed.call is None
    book = Playbook([first, second, streamed])
    assert (book.calls, book.by_bytes, book.left_out, book.no_answer) == (2, 2, 1, 0)
    assert book.methods == ["echo"]
    got = [book.answer_undecoded(body, None, "r") for _ in range(3)]
    assert [a.record for a in got] == [first, second, second]
    assert [a.body for a in got] == [_FIVE, b"<html>later</html>", b"<html>later</html>"]
    book.reset()
    again = book.answer_undecoded(gzip.compress(body), "gzip", "r")
    assert again.record is first and again.by_bytes
    assert "echo (request did not decode; same bytes as recorded) -> 5" in again.log_line(None)
    other = book.answer_undecoded(body + b" ", None, "it does not decode")
    assert not other.matched and isinstance(other.response, Fault)
    assert other.response.code == FAULT_NOT_XMLRPC
    assert other.response.string == (
        "rpcspy mock: the request is not an XML-RPC call: it does not decode; "
        "and no recorded request has these bytes"
    )


def test_other_integer_types_are_not_synonyms_but_rank_as_wire_type_differences() -> None:
    wide = _raw_record(1, _raw_call("add", "<i8>2</i8>", "<int>3</int>"), _FIVE)
    other = _raw_record(2, _raw_call("add", "<int>2</int>", "<int>9</int>"), _FIVE)
    book = Playbook([other, wide])
    miss = book.answer(_call("add", 2, 3))
    # i8 and int are not synonyms: no match, even without --strict-types, and the hint names
    # the i8 call (a wire type apart) and keeps that difference in its list.
    assert not miss.matched and miss.closest is wide
    assert [d.describe() for d in miss.differences] == ["params[0]: i8 2 -> int 2"]
    assert isinstance(miss.response, Fault)
    assert "--strict-types" not in miss.response.string
