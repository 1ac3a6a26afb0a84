"""``rpcspy mock`` (a real process, real clients) on a peer's non-conformant answers and values:
XMLRPC::Lite's string faultCode served byte for byte (and written back as read when its bytes
were not recorded), and the i4/int synonyms beyond 32 bits."""

from __future__ import annotations

import dataclasses
import time
import xmlrpc.client
from pathlib import Path

import pytest

from rpcspy.capture import HttpMessage, build_record
from rpcspy.mock.playbook import FAULT_NO_MATCH
from rpcspy.replay import send_call
from rpcspy.xmlrpc.messages import Fault
from rpcspy.xmlrpc.tolerant import read_message
from tests.conftest import MakeServer
from tests.mock.test_mock_types_and_bytes import BIG_I4, _mock, _post
from tests.replay.support import write_capture

#: The stdlib's call ``demo.nope("x")``.
NOPE = xmlrpc.client.dumps(("x",), "demo.nope").encode()
#: XMLRPC::Lite's fault: faultCode is a string (as tests/data/peers/perl-xmlrpc-lite records).
LITE_FAULT = (
    b'<?xml version="1.0" encoding="UTF-8"?><methodResponse><fault><value><struct><member>'
    b"<name>faultCode</name><value><string>Client</string></value></member><member>"
    b"<name>faultString</name><value><string>Denied access to method (nope) in class (demo)"
    b"</string></value></member></struct></value></fault></methodResponse>"
)
HEADERS = (("Content-Type", "text/xml"),)


def _lite_record(*, keep_body: bool = True) -> object:
    now = time.time()
    record = build_record(
        HttpMessage(HEADERS, NOPE),
        HttpMessage((*HEADERS, ("Server", "libwww-perl-daemon/6.16")), LITE_FAULT),
        started=now,
        ended=now + 0.01,
        status=200,
        seq=1,
    )
    assert isinstance(record.reply, Fault) and record.reply.code == 0
    assert [f.rule for f in record.findings] == ["fault-code-not-int"]
    if keep_body:
        return record
    # A capture that kept the decoded fault but not its bytes (an answer over the size limit).
    assert record.response is not None
    return dataclasses.replace(record, response=dataclasses.replace(record.response, body=None))


def test_a_string_code_fault_is_served_byte_for_byte(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "lite.jsonl", [_lite_record()])  # type: ignore[list-item]
    with _mock(path, "-q") as (port, _):
        assert _post(port, NOPE) == (200, LITE_FAULT)
        proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2")
        with pytest.raises(xmlrpc.client.Fault) as info:
            proxy.demo.nope("x")
        assert info.value.faultCode == "Client"  # the stdlib reads it as the peer wrote it
        assert info.value.faultString.startswith("Denied access to method (nope)")


def test_a_string_code_fault_without_its_bytes_is_written_back_as_read(tmp_path: Path) -> None:
    record = _lite_record(keep_body=False)
    path = write_capture(tmp_path / "lite-nobody.jsonl", [record])  # type: ignore[list-item]
    with _mock(path, "-q") as (port, _):
        status, body = _post(port, NOPE)
        assert status == 200
        message, findings = read_message(body)
        assert message == record.reply  # type: ignore[attr-defined]
        assert [f.rule for f in findings] == ["fault-code-not-int"]
        proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2")
        with pytest.raises(xmlrpc.client.Fault) as info:
            proxy.demo.nope("x")
        assert info.value.faultCode == "Client"


def test_wide_i4_and_wide_int_are_one_type_unless_strict(
    make_server: MakeServer, tmp_path: Path
) -> None:
    recorded = send_call(BIG_I4, make_server().url, seq=1)
    assert recorded.response is not None and recorded.response.body
    assert [f.rule for f in recorded.findings] == ["int-out-of-range"]
    path = write_capture(tmp_path / "wide.jsonl", [recorded])
    # The same call from a client that writes <int> (the tolerant reading: a WideInt).
    as_int = BIG_I4.replace(b"<i4>", b"<int>").replace(b"</i4>", b"</int>")
    with _mock(path, "-q") as (port, _):
        assert _post(port, as_int) == (200, recorded.response.body)
    with _mock(path, "-q", "--strict-types") as (port, _):
        status, body = _post(port, as_int)
        assert status == 200
        message, _findings = read_message(body)
        assert isinstance(message, Fault) and message.code == FAULT_NO_MATCH
        # The closest miss names the wire type as the only difference.
        assert "i4" in message.string and "int" in message.string
