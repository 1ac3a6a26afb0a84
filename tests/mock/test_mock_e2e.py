"""The mock server end to end: a stdlib client gets what the real demo server answered."""

from __future__ import annotations

import gzip
import http.client
import io
import xmlrpc.client
from pathlib import Path

import pytest

from rpcspy.capture import CallRecord
from rpcspy.mock import MockServer, Playbook
from rpcspy.mock.playbook import FAULT_NO_MATCH, FAULT_NOT_XMLRPC
from tests.conftest import MakeServer
from tests.replay.support import attempt, client, load, write_capture


def _outcomes(proxy: xmlrpc.client.ServerProxy) -> list[object]:
    results: list[object] = []
    for call in (
        lambda: proxy.demo.version(),
        lambda: proxy.add(2, 3),
        lambda: proxy.echo("hello"),
        lambda: proxy.getData(),
        lambda: proxy.uname(),
        lambda: proxy.demo.random(),
        lambda: proxy.demo.fault(42, "boom"),
        lambda: proxy.sample.sumAndDifference(5, 3),
        lambda: proxy.demo.echo({"a": "x", "b": [1, 2.5, None]}),
    ):
        got = attempt(call)
        if isinstance(got, xmlrpc.client.Fault):
            got = ("fault", got.faultCode, got.faultString)
        results.append(got)
    return results


def test_mock_answers_a_stdlib_client_exactly_as_the_real_server_did(
    make_server: MakeServer, tmp_path: Path
) -> None:
    real = make_server()
    records: list[CallRecord] = []
    expected = _outcomes(client(real.url, records))
    path = write_capture(tmp_path / "s.jsonl", records)
    log = io.StringIO()
    with MockServer(Playbook(load(path)), log=log) as mock:
        proxy = xmlrpc.client.ServerProxy(mock.url, allow_none=True, use_builtin_types=True)
        assert _outcomes(proxy) == expected
        assert mock.hits == len(expected) and mock.misses == 0
        # Byte for byte: the raw answer is the recorded one.
        conn = http.client.HTTPConnection(mock.host, mock.port, timeout=5)
        conn.request("POST", "/RPC2", records[0].request.body, {"Content-Type": "text/xml"})
        resp = conn.getresponse()
        assert resp.read() == records[0].response.body
        conn.close()
    lines = log.getvalue().splitlines()
    assert len(lines) == len(expected) + 1
    assert " match #1 demo.version()" in lines[0]


def test_mock_serves_gzip_answers_and_gzip_requests(
    make_server: MakeServer, tmp_path: Path
) -> None:
    real = make_server()
    records: list[CallRecord] = []
    attempt(lambda: client(real.url, records).demo.large(5000))
    assert records[0].response.content_encoding == "gzip"
    path = write_capture(tmp_path / "large.jsonl", records)
    with MockServer(Playbook(load(path)), quiet=True) as mock:
        got = xmlrpc.client.ServerProxy(mock.url).demo.large(5000)
        assert isinstance(got, str) and len(got) == 5000
        body = gzip.compress(xmlrpc.client.dumps((5000,), "demo.large").encode())
        conn = http.client.HTTPConnection(mock.host, mock.port, timeout=5)
        conn.request(
            "POST", "/anything", body, {"Content-Type": "text/xml", "Content-Encoding": "gzip"}
        )
        resp = conn.getresponse()
        assert resp.getheader("Content-Encoding") == "gzip"
        assert resp.read() == records[0].response.body
        conn.close()


def test_unmatched_call_gets_the_closest_miss_fault(session: tuple[Path, list[CallRecord]]) -> None:
    path, _ = session
    log = io.StringIO()
    with MockServer(Playbook(load(path)), log=log) as mock:
        proxy = xmlrpc.client.ServerProxy(mock.url)
        with pytest.raises(xmlrpc.client.Fault) as info:
            proxy.add(2, 4)
        assert info.value.faultCode == FAULT_NO_MATCH
        assert "closest is #2 add(" in info.value.faultString
        assert "params[1]: int 3 -> int 4" in info.value.faultString
        assert mock.misses == 1
    assert "miss add(" in log.getvalue()


def test_requests_that_are_not_xmlrpc_get_a_fault(session: tuple[Path, list[CallRecord]]) -> None:
    path, _ = session
    with MockServer(Playbook(load(path)), quiet=True) as mock:
        conn = http.client.HTTPConnection(mock.host, mock.port, timeout=5)
        conn.request("POST", "/RPC2", b"<html>no</html>", {"Content-Type": "text/xml"})
        resp = conn.getresponse()
        assert resp.status == 200
        with pytest.raises(xmlrpc.client.Fault) as info:
            xmlrpc.client.loads(resp.read())
        conn.close()
    assert info.value.faultCode == FAULT_NOT_XMLRPC
    assert "not an XML-RPC call" in info.value.faultString


def test_repeated_identical_calls_over_the_wire(make_server: MakeServer, tmp_path: Path) -> None:
    real = make_server()
    records: list[CallRecord] = []
    proxy = client(real.url, records)
    first = proxy.demo.random()
    second = proxy.demo.random()
    path = write_capture(tmp_path / "r.jsonl", records)
    with MockServer(Playbook(load(path)), quiet=True) as mock:
        mocked = xmlrpc.client.ServerProxy(mock.url, use_builtin_types=True)
        got = [mocked.demo.random() for _ in range(3)]
    assert got == [first, second, second]


def test_a_recorded_crash_is_played_back_as_a_dropped_connection(
    make_server: MakeServer, tmp_path: Path
) -> None:
    real = make_server()
    records: list[CallRecord] = []
    proxy = client(real.url, records)
    attempt(lambda: proxy.demo.crash())
    attempt(lambda: proxy.echo("after"))
    path = write_capture(tmp_path / "crash.jsonl", records)
    with MockServer(Playbook(load(path)), quiet=True) as mock:
        mocked = xmlrpc.client.ServerProxy(mock.url)
        with pytest.raises(http.client.RemoteDisconnected):
            mocked.demo.crash()
        assert mocked.echo("after") == "AFTER"
