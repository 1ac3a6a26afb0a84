"""Hostile and broken bodies through the proxy: forwarded byte for byte, recorded with the problem.

A raw-socket client sends the bodies; a raw upstream records exactly what reached it.
"""

from __future__ import annotations

import gzip
import threading
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcspy.capture import read_capture
from rpcspy.proxy import ProxyConfig
from rpcspy.xmlrpc.values import RawValue
from tests.proxy.helpers import RawUpstream, ThreadedProxy, raw_post

CALL_HEAD = b"<?xml version='1.0'?>\n<methodCall><methodName>echo</methodName><params>"
GOOD = CALL_HEAD + b"<param><value><string>ok</string></value></param></params></methodCall>\n"

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'.encode()
        for i in range(1, 10)
    )
    + b"]>\n<methodCall><methodName>&lol9;</methodName></methodCall>\n"
)
XXE = (
    b'<?xml version="1.0"?>\n<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b"<methodCall><methodName>echo</methodName><params><param><value><string>&xxe;</string>"
    b"</value></param></params></methodCall>\n"
)
TRUNCATED = GOOD[: len(GOOD) // 2]
MALFORMED = CALL_HEAD + b"<param><value><i4>12</int></value></param></params></methodCall>"
#: A well-formed body with a value that is not one: kept as written, with an error finding.
BAD_VALUE = CALL_HEAD + b"<param><value><i4>12x</i4></value></param></params></methodCall>"
NOT_XML = b"\x00\xff\xfe garbage \x89PNG\r\n"
DEEP = (
    CALL_HEAD
    + b"<param>"
    + b"<value><array><data>" * 5000
    + b"</data></array></value>" * 5000
    + b"</param></params></methodCall>"
)


def gzip_bomb() -> bytes:
    """About 32 KiB on the wire, 32 MiB inflated: eight times the proxy's limit in these tests."""
    return gzip.compress(CALL_HEAD + b"<param><value><string>" + b"A" * (32 << 20), 9)


@pytest.fixture
def upstream() -> Iterator[RawUpstream]:
    with RawUpstream() as up:
        yield up


@pytest.fixture
def hostile_proxy(upstream: RawUpstream, tmp_path: Path, confdir: Path) -> Iterator[ThreadedProxy]:
    config = ProxyConfig(
        target=upstream.url,
        listen_port=0,
        capture=tmp_path / "hostile.jsonl",
        confdir=confdir,
        quiet=True,
        max_body=4 * 1024 * 1024,
    )
    with ThreadedProxy(config) as proxy:
        yield proxy


CASES = {
    "truncated": (TRUNCATED, b"", {"malformed-xml"}),
    "malformed": (MALFORMED, b"", {"bad-value", "malformed-xml"}),
    "wrong-root": (
        b"<?xml version='1.0'?>\n<methodCal><methodName>x</methodName></methodCal>",
        b"",
        {"not-xml-rpc"},
    ),
    "billion-laughs": (BILLION_LAUGHS, b"", {"unsafe-xml"}),
    "xxe": (XXE, b"", {"unsafe-xml"}),
    "too-deep": (DEEP, b"", {"unsafe-xml", "bad-value", "malformed-xml"}),
    "gzip-bomb": (
        gzip_bomb(),
        b"Content-Encoding: gzip\r\n",
        {"content-encoding", "unsafe-xml", "too-large"},
    ),
    "huge": (
        CALL_HEAD
        + b"<param><value><string>"
        + b"x" * (6 * 1024 * 1024)
        + b"</string></value></param></params></methodCall>",
        b"",
        {"too-large"},
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_body_is_forwarded_intact_and_recorded(
    name: str, hostile_proxy: ThreadedProxy, upstream: RawUpstream
) -> None:
    body, headers, kinds = CASES[name]
    status, answer = raw_post(hostile_proxy.port, body, extra_headers=headers)
    assert status == 200
    assert answer == upstream.response_body
    assert upstream.bodies == [body]
    (record,) = hostile_proxy.wait_records(1, timeout=30)
    assert record.call is None
    request_problems = [p for p in record.problems if p.where == "request"]
    assert request_problems, record.problems
    assert request_problems[0].kind in kinds, request_problems
    # The upstream's answer is still decoded: a fault.
    assert record.fault_code == -32700
    if name != "huge":
        assert record.request.body == body
    hostile_proxy.stop()
    assert hostile_proxy.runner is not None
    capture = hostile_proxy.config.capture
    assert capture is not None
    stored = list(read_capture(capture))
    assert [r.id for r in stored] == [record.id]
    assert "root:" not in capture.read_text(errors="replace")  # no /etc/passwd leaked


def test_a_bad_value_is_forwarded_and_recorded_raw_with_an_error_finding(
    hostile_proxy: ThreadedProxy, upstream: RawUpstream
) -> None:
    status, answer = raw_post(hostile_proxy.port, BAD_VALUE)
    assert status == 200 and answer == upstream.response_body
    assert upstream.bodies == [BAD_VALUE]
    (record,) = hostile_proxy.wait_records(1, timeout=30)
    assert record.request.body == BAD_VALUE
    assert record.call is not None and record.method == "echo"
    (param,) = record.call.params
    assert isinstance(param, RawValue) and param.xml == "<i4>12x</i4>"
    assert [p for p in record.problems if p.where == "request"] == []
    (finding,) = record.findings
    assert (finding.where, finding.rule, finding.severity, finding.path) == (
        "request",
        "invalid-value",
        "error",
        "params[0]",
    )
    assert record.fault_code == -32700


def test_binary_garbage_is_forwarded_and_not_recorded(
    hostile_proxy: ThreadedProxy, upstream: RawUpstream
) -> None:
    # Off the watched endpoints (an ordinary path, a binary Content-Type) it is not recorded.
    status, answer = raw_post(
        hostile_proxy.port, NOT_XML, path="/upload", content_type="application/octet-stream"
    )
    assert status == 200 and answer == upstream.response_body
    assert upstream.bodies == [NOT_XML]
    # A call after it is recorded; the garbage before it was not.
    raw_post(hostile_proxy.port, GOOD)
    (record,) = hostile_proxy.wait_records(1)
    assert record.method == "echo"
    assert len(hostile_proxy.snapshot()) == 1


def test_binary_garbage_to_the_endpoint_is_forwarded_and_recorded(
    hostile_proxy: ThreadedProxy, upstream: RawUpstream
) -> None:
    status, answer = raw_post(hostile_proxy.port, NOT_XML, path="/RPC2")
    assert status == 200 and answer == upstream.response_body
    assert upstream.bodies == [NOT_XML]
    (record,) = hostile_proxy.wait_records(1)
    assert record.request.body == NOT_XML
    assert [(p.where, p.kind) for p in record.problems] == [("request", "not-xml-rpc")]
    assert "binary data (18 bytes, starting 00 ff fe 20" in record.problems[0].reason
    assert record.fault_code == -32700  # the upstream's answer, decoded


def test_the_proxy_keeps_serving_while_hostile_bodies_pass(
    hostile_proxy: ThreadedProxy, upstream: RawUpstream
) -> None:
    bodies = [TRUNCATED, BILLION_LAUGHS, XXE, NOT_XML, MALFORMED, CASES["huge"][0]] * 3
    errors: list[BaseException] = []

    def send(body: bytes) -> None:
        try:
            if body == NOT_XML:  # sent off the watched endpoints, where it is not recorded
                status, _ = raw_post(hostile_proxy.port, body, "/upload", content_type="image/png")
            else:
                status, _ = raw_post(hostile_proxy.port, body)
            assert status == 200
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    good = [raw_post(hostile_proxy.port, GOOD) for _ in range(10)]
    for t in threads:
        t.join(60)
    assert not errors
    assert all(status == 200 for status, _ in good)
    records = hostile_proxy.wait_records(len(bodies) + 10 - 3, timeout=60)
    assert sorted(upstream.bodies) == sorted([*bodies, *[GOOD] * 10])
    good_records = [r for r in records if r.call is not None]
    assert len(good_records) == 10
    assert len(records) - 10 == len(bodies) - 3  # the three binary bodies are not XML-RPC
    assert all(r.method == "echo" for r in good_records)


def test_stdlib_client_through_hostile_upstream_gets_the_fault(
    hostile_proxy: ThreadedProxy,
) -> None:
    with pytest.raises(xmlrpc.client.Fault):
        xmlrpc.client.ServerProxy(hostile_proxy.url + "/RPC2").echo("x")
    (record,) = hostile_proxy.wait_records(1)
    assert record.ok is False and record.fault_code == -32700


def test_gzip_request_body_reaches_the_server_still_compressed(
    hostile_proxy: ThreadedProxy, upstream: RawUpstream
) -> None:
    body = gzip.compress(GOOD)
    status, _ = raw_post(hostile_proxy.port, body, extra_headers=b"Content-Encoding: gzip\r\n")
    assert status == 200
    assert upstream.bodies == [body]
    (record,) = hostile_proxy.wait_records(1)
    assert record.request.content_encoding == "gzip"
    assert record.method == "echo" and record.request.body == body
