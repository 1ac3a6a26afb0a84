"""Records of other protocols (format 1.2): built from what their codecs read, written and read
back through the capture, with the method and fault every tool uses read off the codec's JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rpcspy.capture import CaptureWriter, read_capture
from rpcspy.capture.native import fault_of, method_of
from rpcspy.capture.record import HttpMessage, Problem, build_native_record
from rpcspy.capture.schema import RecordError, record_from_json, record_to_json
from rpcspy.oncrpc import (
    builtin_interface,
    call_to_json,
    decode_message,
    encode_call,
    encode_reply,
    frame_record,
    reply_to_json,
    type_call,
    type_reply,
)
from rpcspy.oncrpc.rpc import Call, Reply

PORTMAP = builtin_interface()


def _portmap_getport(status: str = "SUCCESS") -> tuple[bytes, bytes, dict, dict]:
    # GETPORT(prog 100003, vers 3, prot 6, port 0) -> 2049
    args = (100003).to_bytes(4, "big") + (3).to_bytes(4, "big") + (6).to_bytes(4, "big") + bytes(4)
    call_bytes = encode_call(7, 100000, 2, 3, args)
    reply_bytes = encode_reply(7, status, (2049).to_bytes(4, "big"))
    call = decode_message(call_bytes)
    reply = decode_message(reply_bytes)
    assert isinstance(call, Call) and isinstance(reply, Reply)
    native_call = call_to_json(type_call(call, PORTMAP))
    native_reply = reply_to_json(type_reply(reply, call, PORTMAP))
    return frame_record(call_bytes), frame_record(reply_bytes), native_call, native_reply


def _record(status: str = "SUCCESS"):
    req, resp, ncall, nreply = _portmap_getport(status)
    return build_native_record(
        "oncrpc",
        HttpMessage(body=req, native=ncall),
        HttpMessage(body=resp, native=nreply),
        transport="tcp",
        started=100.0,
        ended=100.25,
        client=("127.0.0.1", 700),
        server=("127.0.0.1", 111),
    )


def test_an_onc_rpc_record_names_its_method_by_the_interface_and_is_ok() -> None:
    record = _record()
    assert record.protocol == "oncrpc" and record.transport == "tcp"
    assert record.method == "PMAP_PROG.PMAP_VERS.PMAPPROC_GETPORT"
    assert record.ok and not record.is_fault and record.fault_code is None
    assert (record.scheme, record.host, record.port, record.status) == (
        "tcp",
        "127.0.0.1",
        111,
        None,
    )
    assert record.duration_ms == pytest.approx(250.0)


def test_an_onc_rpc_reply_that_is_not_success_is_a_fault_with_its_rfc_number() -> None:
    record = _record("PROC_UNAVAIL")
    assert record.is_fault and not record.ok
    assert record.fault_code == 3
    assert record.native_fault is not None and record.native_fault.text == "PROC_UNAVAIL"


def test_a_record_of_another_protocol_round_trips_through_a_capture_file(tmp_path: Path) -> None:
    record = _record()
    path = tmp_path / "c.jsonl"
    with CaptureWriter(path) as writer:
        writer.write(record)
    lines = path.read_bytes().splitlines()
    assert json.loads(lines[0])["version"] == "1.2"
    obj = json.loads(lines[1])
    assert obj["protocol"] == "oncrpc" and obj["transport"] == "tcp"
    assert obj["method"] == "PMAP_PROG.PMAP_VERS.PMAPPROC_GETPORT"
    assert obj["request"]["call"] is None and obj["request"]["oncrpc"]["procedure"] == 3
    assert obj["response"]["oncrpc"]["result"] is not None
    (back,) = list(read_capture(path))
    assert back == record
    assert back.request.body == record.request.body  # the record-marked bytes, exactly


def test_an_xml_rpc_line_has_no_protocol_key_and_reads_as_xml_rpc() -> None:
    obj = {
        "type": "call",
        "id": "x",
        "seq": 1,
        "started": 1.0,
        "scheme": "http",
        "host": "h",
        "port": 80,
        "path": "/",
        "request": {"headers": [], "body": {"size": 0, "text": ""}, "call": None},
        "response": None,
    }
    record = record_from_json(obj)
    assert record.protocol == "xmlrpc" and record.transport is None
    assert "protocol" not in record_to_json(record)


@pytest.mark.parametrize(
    ("key", "value", "path"),
    [("protocol", "corba", "protocol"), ("transport", "sctp", "transport")],
)
def test_an_unknown_protocol_or_transport_is_a_record_error(
    key: str, value: str, path: str
) -> None:
    obj = record_to_json(_record())
    obj[key] = value
    with pytest.raises(RecordError) as err:
        record_from_json(obj)
    assert err.value.path == path and value in str(err.value)


def test_a_native_half_that_is_not_an_object_is_a_record_error() -> None:
    obj = record_to_json(_record())
    obj["request"]["oncrpc"] = [1, 2]
    with pytest.raises(RecordError) as err:
        record_from_json(obj)
    assert err.value.path == "request.oncrpc"


def test_methods_and_faults_by_number_and_for_rpyc() -> None:
    assert method_of("oncrpc", {"program": 300001, "version": 1, "procedure": 4}) == "300001.1.4"
    assert method_of("oncrpc", {}) is None
    assert method_of("rpyc", {"text": "modules.os.getcwd()"}) == "modules.os.getcwd"
    assert method_of("rpyc", {"text": "modules.sys.path"}) == "modules.sys.path"
    assert method_of("rpyc", {"text": "", "handler": "HANDLE_DIR"}) == "HANDLE_DIR"
    denied = fault_of(
        "oncrpc", {"accepted": False, "status": "AUTH_ERROR", "auth_error": "AUTH_TOOWEAK"}
    )
    assert denied is not None and denied.code == 101 and "AUTH_TOOWEAK" in denied.text
    mismatch = fault_of(
        "oncrpc", {"accepted": True, "status": "PROG_MISMATCH", "mismatch": {"low": 2, "high": 4}}
    )
    assert mismatch is not None and mismatch.code == 2 and "2-4" in mismatch.text
    assert fault_of("rpyc", {"outcome": "reply", "result_text": "'/srv'"}) is None
    exc = fault_of("rpyc", {"outcome": "exception", "result_text": "KeyError('x')"})
    assert exc is not None and exc.code is None and exc.text == "KeyError('x')"


def test_build_native_record_refuses_xml_rpc_and_unknown_transports() -> None:
    half = HttpMessage(body=b"")
    with pytest.raises(ValueError, match="not a protocol of its own"):
        build_native_record("xmlrpc", half, None, transport="tcp", started=0.0)
    with pytest.raises(ValueError, match="transport"):
        build_native_record("oncrpc", half, None, transport="http", started=0.0)


def test_problems_of_a_native_record_survive_the_capture() -> None:
    req, _resp, _ncall, _nreply = _portmap_getport()
    record = build_native_record(
        "oncrpc",
        HttpMessage(body=req[:10]),
        None,
        transport="udp",
        started=1.0,
        problems=[Problem("request", "truncated", "the bytes end inside the call header")],
    )
    back = record_from_json(json.loads(json.dumps(record_to_json(record))))
    assert back == record and back.method is None and not back.ok
    assert back.problems[0].kind == "truncated"
