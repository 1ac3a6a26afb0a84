"""The call record and ``build_record``: real XML-RPC bodies from the stdlib client, compressed
bodies, a bomb, malformed bodies and multicalls; every failure becomes a Problem, never an error."""

from __future__ import annotations

import dataclasses
import gzip
import xmlrpc.client
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rpcspy.capture import CaptureWriter, build_record, read_capture
from rpcspy.capture.record import CallRecord, HttpMessage, Problem, SubCall
from rpcspy.xmlrpc.messages import Fault, Limits, MethodCall, MethodResponse
from rpcspy.xmlrpc.values import Array, Boolean, Double, Int, Nil, String, Struct, WideI4
from tests.capture.helpers import make_record


def call_body(method: str, *params: Any) -> bytes:
    return xmlrpc.client.dumps(params, method, allow_none=True).encode()


def result_body(value: Any) -> bytes:
    return xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode()


def fault_body(code: int, text: str) -> bytes:
    return xmlrpc.client.dumps(xmlrpc.client.Fault(code, text), methodresponse=True).encode()


def build(
    request_body: bytes | None,
    response_body: bytes | None,
    *,
    request_headers: Any = (("Content-Type", "text/xml"),),
    response_headers: Any = (("Content-Type", "text/xml"),),
    request_content_encoding: str | None = None,
    response_content_encoding: str | None = None,
    **kw: Any,
) -> CallRecord:
    """``build_record`` of the two halves made of these parts, in a plausible envelope."""
    args: dict[str, Any] = {
        "started": 100.0,
        "ended": 100.25,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "scheme": "http",
        "host": "127.0.0.1",
        "port": 8000,
        "path": "/RPC2",
        "status": 200,
    }
    args.update(kw)
    return build_record(
        HttpMessage(request_headers, request_body, request_content_encoding),
        HttpMessage(response_headers, response_body, response_content_encoding),
        **args,
    )


def kinds(record: CallRecord) -> list[tuple[str, str]]:
    return [(p.where, p.kind) for p in record.problems]


# ---------------------------------------------------------------- the record itself


def test_properties() -> None:
    r = make_record()
    assert r.duration_ms == pytest.approx(125.0)
    assert r.method == "add"
    assert not r.is_fault and r.fault_code is None
    assert not r.is_multicall
    assert r.ok
    fault = make_record(response={"decoded": Fault.make(4, "nope")})
    assert fault.is_fault and fault.fault_code == 4 and not fault.ok
    assert not make_record(problems=(Problem("response", "bad-value", "x"),)).ok
    assert not make_record(error="refused").ok
    assert not make_record(response=None).ok
    none = make_record(ended=None, request={"decoded": None, "body": b""})
    assert none.duration_ms is None and none.method is None
    # An undecoded request still names its method when the raw body shows it plainly.
    assert make_record(request={"decoded": None}).method == "add"


def test_records_are_immutable_even_when_given_lists() -> None:
    r = dataclasses.replace(
        make_record(),
        request=HttpMessage(
            headers=[["Host", "h"]],  # type: ignore[arg-type]
            body=bytearray(b"abc"),
        ),
        problems=[Problem("request", "k", "r")],  # type: ignore[arg-type]
        client=["::1", 5, 0, 0],  # type: ignore[arg-type]
    )
    assert r.request.headers == (("Host", "h"),)
    assert type(r.problems) is tuple and type(r.request.body) is bytes
    assert r.client == ("::1", 5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.seq = 5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.request.body = b""  # type: ignore[misc]


def test_problem_messages() -> None:
    p = Problem("response", "malformed-xml", "mismatched tag", 3, 7)
    assert p.message == "response malformed-xml: mismatched tag (line 3, column 7)"
    p = Problem("request", "bad-value", "out of range", 1, None, "params[0]")
    assert p.message == "request bad-value: out of range (line 1, at params[0])"
    assert Problem("multicall", "bad-value", "length mismatch").message == (
        "multicall bad-value: length mismatch"
    )
    assert Problem("capture", "bad-json", "not valid JSON", 12, 40).message == (
        "line 12, column 40: not valid JSON"
    )


# ---------------------------------------------------------------- build_record


def test_a_plain_call_and_result() -> None:
    r = build(call_body("add", 2, 3), result_body(5), seq=4, id="x" * 32, origin="replay")
    assert r.call == MethodCall("add", (Int(2), Int(3)))
    assert r.reply == MethodResponse(Int(5))
    assert r.problems == () and r.ok
    assert (r.seq, r.id, r.origin, r.redacted) == (4, "x" * 32, "replay", False)
    assert r.duration_ms == pytest.approx(250.0)
    assert r.request.headers == (("Content-Type", "text/xml"),)


def test_typed_values_come_through() -> None:
    params = ({"name": "bob", "n": 2.5, "ok": True, "none": None},)
    r = build(call_body("m", *params), result_body([1, "a"]))
    assert r.call is not None
    assert r.call.params == (
        Struct(name=String("bob"), n=Double(2.5), ok=Boolean(True), none=Nil()),
    )
    assert r.reply == MethodResponse(Array([Int(1), String("a")]))


def test_a_fault() -> None:
    r = build(call_body("div", 1, 0), fault_body(4, "division by zero"))
    assert r.reply == Fault.make(4, "division by zero")
    assert r.is_fault and r.fault_code == 4 and not r.ok and r.problems == ()


def test_ids_are_unique_by_default() -> None:
    assert build(call_body("a"), None).id != build(call_body("a"), None).id


@pytest.mark.parametrize(
    ("encode", "encoding"),
    [
        (gzip.compress, "gzip"),
        (zlib.compress, "deflate"),
        (lambda b: zlib.compress(b)[2:-4], "deflate"),  # raw deflate, as some servers send
        (lambda b: b, "identity"),
    ],
    ids=["gzip", "zlib", "raw-deflate", "identity"],
)
def test_compressed_bodies_are_decoded_and_kept_as_sent(encode: Any, encoding: str) -> None:
    request, response = encode(call_body("add", 1)), encode(result_body(1))
    r = build(
        request,
        response,
        request_content_encoding=encoding,
        response_content_encoding=encoding,
    )
    assert r.problems == ()
    assert r.call == MethodCall("add", (Int(1),))
    assert r.reply == MethodResponse(Int(1))
    assert r.response is not None
    assert r.request.body == request and r.response.body == response


def test_content_encoding_comes_from_the_headers_when_not_given() -> None:
    r = build(
        gzip.compress(call_body("a")),
        gzip.compress(result_body(1)),
        request_headers=[("Content-Encoding", "gzip")],
        response_headers=(("content-encoding", "gzip"),),
    )
    assert r.response is not None
    assert (r.request.content_encoding, r.response.content_encoding) == ("gzip", "gzip")
    assert r.ok


def test_a_decompression_bomb_is_a_problem() -> None:
    bomb = gzip.compress(b" " * (8 << 20))
    r = build(
        call_body("a"), bomb, response_content_encoding="gzip", limits=Limits(max_bytes=1 << 20)
    )
    assert r.call == MethodCall("a")
    assert r.reply is None
    (p,) = r.problems
    assert (p.where, p.kind) == ("response", "content-encoding")
    assert "more than 1 MiB" in p.reason
    assert r.response is not None and r.response.body == bomb


@pytest.mark.parametrize(
    ("body", "encoding", "kind", "reason"),
    [
        (b"not gzip", "gzip", "content-encoding", "gzip data is corrupt"),
        (gzip.compress(b"<methodCall/>")[:-10], "gzip", "content-encoding", "ends early"),
        (b"x", "br", "content-encoding", "unsupported content-encoding 'br'"),
        (b"", None, "not-xml-rpc", "an empty body, sent as text/xml (decoder: the body is empty)"),
        (
            b"<html><body>500 Internal Server Error</body></html>",
            None,
            "not-xml-rpc",
            "not an XML-RPC call: an HTML page, sent as text/xml "
            "(decoder: not an XML-RPC message: the root element is <html>",
        ),
        (b"<methodCall><methodName>x</methodName>", None, "malformed-xml", "ends too early"),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><methodCall/>',
            None,
            "unsafe-xml",
            "DOCTYPE",
        ),
        (b"\xff\xfe\x00garbage", None, "not-xml-rpc", "binary data"),
    ],
    ids=[
        "not-gzip",
        "truncated-gzip",
        "unknown-encoding",
        "empty",
        "html",
        "unclosed",
        "dtd",
        "binary",
    ],
)
def test_bad_request_bodies_become_problems(
    body: bytes, encoding: str | None, kind: str, reason: str
) -> None:
    r = build(body, result_body(1), request_content_encoding=encoding)
    assert r.call is None
    assert r.reply == MethodResponse(Int(1))  # the response still decodes
    (p,) = r.problems
    assert (p.where, p.kind) == ("request", kind)
    assert reason in p.reason
    assert r.request.body == body


OVERFLOW_CALL = (
    b"<methodCall><methodName>x</methodName><params><param><value><i4>99999999999</i4>"
    b"</value></param></params></methodCall>"
)


def test_strict_decoding_makes_a_deviation_a_problem() -> None:
    r = build(OVERFLOW_CALL, result_body(1), strict=True)
    assert r.call is None
    assert r.reply == MethodResponse(Int(1))  # the response still decodes
    (p,) = r.problems
    assert (p.where, p.kind) == ("request", "bad-value")
    assert "out of range" in p.reason
    assert r.request.body == OVERFLOW_CALL
    assert r.findings == ()


def test_tolerant_decoding_keeps_the_value_and_notes_a_finding() -> None:
    r = build(OVERFLOW_CALL, result_body(1))
    assert r.call == MethodCall("x", (WideI4(99999999999),))
    assert r.problems == ()
    (f,) = r.findings
    assert (f.where, f.rule, f.severity, f.path, f.line) == (
        "request",
        "int-out-of-range",
        "warning",
        "params[0]",
        1,
    )
    assert "i4" in f.message and f.spec.startswith('"<i4> or <int>')
    assert r.nonconformant and r.findings_in("request") == (f,) and not r.findings_in("response")


def test_codec_positions_reach_the_problem() -> None:
    body = (
        b"<methodResponse>\n<params>\n<param>\n<value><int>1</value>\n"
        b"</param></params></methodResponse>"
    )
    r = build(call_body("a"), body)
    (p,) = r.problems
    assert (p.where, p.kind, p.line) == ("response", "malformed-xml", 4)
    assert p.column is not None
    overflow = (
        b"<methodResponse><params><param><value><struct><member><name>n</name>"
        b"<value><i4>99999999999</i4></value></member></struct></value></param></params>"
        b"</methodResponse>"
    )
    (p,) = build(call_body("a"), overflow, strict=True).problems
    assert p.kind == "bad-value" and p.path == "result.n"
    (f,) = build(call_body("a"), overflow).findings
    assert (f.where, f.rule, f.path, f.line) == ("response", "int-out-of-range", "result.n", 1)


def test_a_response_that_is_a_call_is_a_problem() -> None:
    r = build(call_body("a"), call_body("b"))
    assert r.reply is None
    assert kinds(r) == [("response", "malformed-xml")]


def test_no_response() -> None:
    r = build(
        call_body("a"),
        None,
        status=None,
        ended=None,
        response_headers=[],
        error="connection refused",
    )
    assert r.response is None and r.reply is None
    assert r.problems == ()
    assert r.error == "connection refused" and not r.ok


def test_ipv6_peers_are_cut_to_host_and_port() -> None:
    r = build(call_body("a"), None, client=("::1", 5000, 0, 0), server=None)
    assert r.client == ("::1", 5000) and r.server is None


# ---------------------------------------------------------------- multicall


def multicall_body(*calls: tuple[str, tuple[Any, ...]]) -> bytes:
    entries = [{"methodName": m, "params": list(p)} for m, p in calls]
    return call_body("system.multicall", entries)


def test_multicall_with_a_fault_inside() -> None:
    request = multicall_body(("add", (1, 2)), ("div", (1, 0)), ("echo", ("x",)))
    response = result_body([[3], {"faultCode": 4, "faultString": "division by zero"}, ["x"]])
    r = build(request, response)
    assert r.is_multicall
    assert r.problems == ()
    assert r.subcalls == (
        SubCall(0, MethodCall("add", (Int(1), Int(2))), MethodResponse(Int(3))),
        SubCall(1, MethodCall("div", (Int(1), Int(0))), Fault.make(4, "division by zero")),
        SubCall(2, MethodCall("echo", (String("x"),)), MethodResponse(String("x"))),
    )
    assert r.ok  # the multicall itself succeeded


def test_multicall_whose_response_length_does_not_match() -> None:
    request = multicall_body(("add", (1, 2)), ("add", (3, 4)))
    r = build(request, result_body([[3]]))
    assert [s.call.method for s in r.subcalls] == ["add", "add"]
    assert all(s.result is None for s in r.subcalls)
    assert kinds(r) == [("multicall", "bad-value")]
    assert r.reply == MethodResponse(Array([Array([Int(3)])]))


def test_multicall_with_malformed_entries() -> None:
    r = build(call_body("system.multicall", [{"methodName": "a"}, 5]), result_body([]))
    assert r.is_multicall and r.subcalls == ()
    assert kinds(r) == [("multicall", "bad-value")]


def test_multicall_faulted_as_a_whole_or_unanswered() -> None:
    request = multicall_body(("a", ()), ("b", ()))
    for response in (fault_body(-32600, "multicall refused"), None):
        r = build(request, response)
        assert [s.result for s in r.subcalls] == [None, None]
        assert r.problems == ()


def test_built_records_round_trip_through_a_capture(tmp_path: Any) -> None:
    records = [
        build(call_body("add", 1, 2), result_body(3), seq=1),
        build(
            b"\xff\xfe junk", gzip.compress(result_body(1)), response_content_encoding="gzip", seq=2
        ),
        build(
            multicall_body(("a", ()), ("b", (1,))),
            result_body([[1], {"faultCode": 1, "faultString": "x"}]),
            seq=3,
        ),
        build(
            multicall_body(
                ("a", ()),
            ),
            result_body([]),
            seq=4,
        ),
        build(call_body("x"), None, status=None, ended=None, error="timed out", seq=5),
    ]
    path = tmp_path / "c.jsonl.gz"
    with CaptureWriter(path, redact=False) as w:
        for r in records:
            w.write(r)
    reader = read_capture(path)
    assert list(reader) == records
    assert reader.problems == []


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.binary(max_size=200), st.sampled_from([call_body("a", 1), b"<methodCall>"])),
    st.none() | st.binary(max_size=200),
    st.sampled_from([None, "gzip", "deflate", "br", "gzip, deflate", "identity"]),
    st.sampled_from([200, 204, 301, 401, 500, 502]),
    st.sampled_from([None, "text/html", "application/json", "text/xml; charset=utf-8"]),
)
def test_build_record_never_raises_on_any_bytes(
    request: bytes,
    response: bytes | None,
    encoding: str | None,
    status: int,
    content_type: str | None,
) -> None:
    headers = (("Content-Type", content_type),) if content_type else ()
    for body in (request, gzip.compress(request)):
        r = build(
            body,
            response,
            request_content_encoding=encoding,
            response_content_encoding=encoding,
            request_headers=headers,
            response_headers=headers,
            status=status,
        )
        assert r.request.body == body
        assert (r.response.body if r.response is not None else None) == response
        assert (r.call is None) == any(p.where == "request" for p in r.problems)
        if response is not None and r.reply is None:
            # An answer that did not decode: with an error status it is always an http-error.
            kinds = [p.kind for p in r.problems if p.where == "response"]
            assert len(kinds) == 1
            assert (kinds == ["http-error"]) == (not 200 <= status < 300)


def test_an_http_error_page_is_named_as_such_not_as_broken_xml() -> None:
    from rpcspy.capture import build_record

    record = build_record(
        HttpMessage((), b"<methodCall><methodName>echo</methodName></methodCall>"),
        HttpMessage((), b"authentication required\n"),
        started=1.0,
        ended=2.0,
        client=None,
        server=None,
        scheme="http",
        host="h",
        port=80,
        path="/RPC2",
        status=401,
    )
    assert [p.kind for p in record.problems] == ["http-error"]
    assert record.problems[0].reason.startswith("HTTP 401: the server answered with an error")
    assert "authentication required" in record.problems[0].reason
    assert record.call is not None and record.call.method == "echo"
    ok_status_garbage = build_record(
        HttpMessage((), b"<methodCall><methodName>echo</methodName></methodCall>"),
        HttpMessage((), b"<html>oops</html>"),
        started=1.0,
        ended=2.0,
        client=None,
        server=None,
        scheme="http",
        host="h",
        port=80,
        path="/RPC2",
        status=200,
    )
    assert [p.kind for p in ok_status_garbage.problems] == ["malformed-xml"]


HTML_500 = (
    b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
    b"<title>500 Internal Server Error</title>\n</head><body>oops</body></html>\n"
)
DTD_BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>\n'
    b"<methodResponse><params><param><value><string>&b;</string></value></param></params>"
    b"</methodResponse>"
)


@pytest.mark.parametrize(
    ("status", "body", "content_type", "encoding", "words"),
    [
        (401, b"authentication required\n", "text/plain", None, 'text "authentication required"'),
        (
            404,
            b"<html><head><title>Not Found</title></head><body>nope</body></html>",
            "text/html",
            None,
            'an HTML page titled "Not Found", sent as text/html',
        ),
        (500, HTML_500, "text/html", None, 'an HTML page titled "500 Internal Server Error"'),
        (502, b"", None, None, "(an empty body; decoder: the body is empty)"),
        (503, b"<h1>down</h1>", "text/html", None, "an HTML page, sent as text/html"),
        (301, b"moved to https", "text/plain", None, 'text "moved to https"'),
        (500, b"not gzip", None, "gzip", "8 bytes that could not be decompressed (gzip)"),
        (400, b'{"error": "bad"}', "application/json", None, "(JSON, sent as application/json;"),
        (500, DTD_BOMB, "text/xml", None, "decoder: a DOCTYPE declaration is not allowed"),
        (
            500,
            # A value even the tolerant reading cannot keep: a fault that is not a struct.
            b"<methodResponse><fault><value><string>oops</string></value></fault></methodResponse>",
            "text/xml",
            None,
            "XML with the root element <methodResponse>",
        ),
    ],
    ids=[
        "401",
        "404-html",
        "500-doctype",
        "502-empty",
        "503-fragment",
        "301",
        "500-bad-gzip",
        "400-json",
        "500-dtd",
        "500-bad-value",
    ],
)
def test_a_non_2xx_answer_that_is_not_xmlrpc_is_an_http_error(
    status: int, body: bytes, content_type: str | None, encoding: str | None, words: str
) -> None:
    headers = (("Content-Type", content_type),) if content_type else ()
    r = build(
        call_body("echo"),
        body,
        response_headers=headers,
        status=status,
        response_content_encoding=encoding,
    )
    assert r.call == MethodCall("echo")
    assert r.reply is None
    (p,) = r.problems
    assert (p.where, p.kind) == ("response", "http-error")
    assert p.reason.startswith(f"HTTP {status}: the server answered with an error, not XML-RPC (")
    assert words in p.reason
    assert "decoder: " in p.reason
    assert r.response is not None and r.response.body == body


def test_a_fault_sent_with_an_error_status_is_a_fault() -> None:
    r = build(call_body("echo"), fault_body(7, "no such thing"), status=500)
    assert r.fault_code == 7
    assert r.problems == ()
    ok = build(call_body("echo"), result_body(1), status=201)
    assert ok.ok and ok.problems == ()


def test_a_dtd_bomb_with_status_200_stays_unsafe() -> None:
    r = build(call_body("echo"), DTD_BOMB, status=200)
    assert kinds(r) == [("response", "unsafe-xml")]
    garbage = build(call_body("echo"), HTML_500, status=200)
    assert kinds(garbage) == [("response", "unsafe-xml")]


def test_an_oversized_error_answer_stays_too_large() -> None:
    # Not decoded, so not known to be anything: the size limit is what the record says.
    r = build(call_body("echo"), HTML_500, status=500, max_body=100)
    assert kinds(r) == [("response", "too-large")]


@pytest.mark.parametrize(
    ("body", "content_type", "encoding", "words"),
    [
        (b'{"jsonrpc": "2.0", "method": "echo", "id": 1}', "application/json", None, "JSON-RPC"),
        (b'[1, 2, {"a": null}]', None, None, "JSON"),
        (b"user=alice&password=x", None, None, "form data"),
        (b"--xyz\r\n", "multipart/form-data; boundary=xyz", None, "multipart form data"),
        (b"<?xml version='1.0'?><feed><entry/></feed>", "text/xml", None, "root element is <feed>"),
        (result_body(1), "text/xml", None, "an XML-RPC response (<methodResponse>), not a call"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png", None, "binary data (10 bytes, starting 89"),
        (b"   \n", None, None, "a body of only white space"),
        (gzip.compress(b'{"a": 1}'), "application/json", "gzip", "JSON"),
        (b"<!doctype html><p>hi", None, None, "an HTML page"),
        (b"hello there, server", "text/plain", None, 'text "hello there, server"'),
    ],
    ids=[
        "json-rpc",
        "json",
        "form",
        "multipart",
        "other-root",
        "a-response",
        "binary",
        "blank",
        "gzip-json",
        "html",
        "text",
    ],
)
def test_a_request_that_is_not_a_call_is_named_for_what_it_is(
    body: bytes, content_type: str | None, encoding: str | None, words: str
) -> None:
    headers = (("Content-Type", content_type),) if content_type else ()
    r = build(body, result_body(1), request_headers=headers, request_content_encoding=encoding)
    assert r.call is None
    assert r.reply == MethodResponse(Int(1))
    (p,) = r.problems
    assert (p.where, p.kind) == ("request", "not-xml-rpc")
    assert p.reason.startswith("not an XML-RPC call: ")
    assert words in p.reason
    assert "(decoder: " in p.reason
    assert r.request.body == body


def test_a_broken_call_keeps_the_decoders_kind() -> None:
    # Its root is <methodCall>: broken XML-RPC, not something else.
    assert kinds(build(call_body("a")[:-20], result_body(1))) == [("request", "malformed-xml")]
    assert kinds(build(b"<methodCall><methodName>x</methodName>", None)) == [
        ("request", "malformed-xml")
    ]
    corrupt = build(b"not gzip", result_body(1), request_content_encoding="gzip")
    assert kinds(corrupt) == [("request", "content-encoding")]


def test_an_undecodable_request_still_names_its_method() -> None:
    from rpcspy.capture import build_record

    def record(body: bytes, encoding: str | None = None) -> object:
        return build_record(
            HttpMessage((), body, encoding),
            None,
            started=1.0,
            ended=2.0,
            client=None,
            server=None,
            scheme="http",
            host="h",
            port=80,
            path="/RPC2",
            status=200,
            strict=True,  # the strict decoder refuses the overflow below
        )

    overflow = (
        b"<?xml version='1.0'?><methodCall><methodName>user.update</methodName><params>"
        b"<param><value><i4>99999999999</i4></value></param></params></methodCall>"
    )
    bad = record(overflow)
    assert bad.call is None and bad.problems[0].kind == "bad-value"  # type: ignore[attr-defined]
    assert bad.method == "user.update"  # type: ignore[attr-defined]
    assert record(b"garbage").method is None  # type: ignore[attr-defined]
    assert record(b"<methodName></methodName>").method is None  # type: ignore[attr-defined]
    assert record(overflow, "gzip").method is None  # type: ignore[attr-defined]
    far = b" " * 5000 + overflow
    assert record(far).method is None  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the builder's halves


def test_the_builder_decodes_the_halves_afresh() -> None:
    stale = HttpMessage((), call_body("add", 1), decoded=MethodCall("other", ()))
    r = build_record(stale, HttpMessage((), result_body(1)), started=1.0, ended=1.5)
    assert r.call == MethodCall("add", (Int(1),))
    assert r.request.decoded is r.call and r.response is not None
    assert r.response.decoded == r.reply == MethodResponse(Int(1))


def test_a_response_half_that_carries_nothing_is_no_response() -> None:
    r = build_record(HttpMessage((), call_body("a")), HttpMessage((), None), started=1.0)
    assert r.response is None and r.reply is None
    kept = build_record(
        HttpMessage((), call_body("a")), HttpMessage((("Server", "x"),), None), started=1.0
    )
    assert kept.response is not None and kept.response.body is None and kept.reply is None


def test_max_body_drops_and_notes_a_body_too_large_to_decode() -> None:
    multicall = multicall_body(("a", ()), ("b", ()))
    big_answer = result_body([["x" * 500], ["y"]])
    r = build(multicall, big_answer, max_body=len(multicall))
    assert kinds(r) == [("response", "too-large")]
    assert r.response is not None and r.response.body == b"" and r.reply is None
    assert r.call is not None and r.subcalls == ()
    assert str(len(big_answer)) in r.problems[0].reason
    r = build(call_body("add", 1, 2) + b" " * 100, result_body(3), max_body=200)
    assert kinds(r) == [("request", "too-large")]
    assert r.request.body == b"" and r.call is None and r.method is None
    assert r.reply == MethodResponse(Int(3))
    # The same bound holds after decompression: a small gzip bomb is not decoded either.
    bomb = gzip.compress(b" " * 4096)
    r = build(call_body("a"), bomb, response_content_encoding="gzip", max_body=1024)
    assert kinds(r) == [("response", "content-encoding")] and r.reply is None


def test_a_streamed_request_body_is_noted_and_kept_as_no_bytes() -> None:
    r = build(None, result_body(1))
    assert kinds(r) == [("request", "streamed")]
    assert r.request.body == b"" and r.call is None and r.reply == MethodResponse(Int(1))


def _problem_kinds_in_the_code() -> set[str]:
    """Every problem kind the package can produce, read off its source (not a list kept here)."""
    import ast
    from pathlib import Path

    import rpcspy
    from rpcspy.capture.record import PROBLEM_PLACES

    kinds: set[str] = set()

    def literal(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        return None

    for source in Path(rpcspy.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in ("Problem", "_problem"):
                    # The kind is the first string argument that is not a place.
                    for arg in node.args:
                        value = literal(arg)
                        if value is not None and value not in PROBLEM_PLACES:
                            kinds.add(value)
                            break
                kinds.update(
                    v for k in node.keywords if k.arg == "kind" and (v := literal(k.value))
                )
            elif isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    if (
                        isinstance(stmt, ast.Assign)
                        and [getattr(t, "id", None) for t in stmt.targets] == ["kind"]
                        and (value := literal(stmt.value))
                    ):
                        kinds.add(value)
            elif isinstance(node, ast.Dict):
                for key, value_node in zip(node.keys, node.values, strict=True):
                    if key is not None and literal(key) == "kind" and literal(value_node):
                        kinds.add(literal(value_node))  # type: ignore[arg-type]
    return kinds


def test_the_capture_format_lists_every_problem_kind() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "capture-format.md").read_text()
    kinds = _problem_kinds_in_the_code()
    # The scan finds the kinds this change is about, and the decoder's, and the reader's.
    assert {"http-error", "not-xml-rpc", "malformed-xml", "unsafe-xml", "torn-gzip"} <= kinds
    missing = sorted(k for k in kinds if f"| `{k}` |" not in doc)
    assert missing == [], f"docs/capture-format.md does not list the problem kinds {missing}"
