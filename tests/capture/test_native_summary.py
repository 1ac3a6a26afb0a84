"""The words for ONC RPC and RPyC calls (rpcspy.capture.summary): their protocol's outcome, the
wire bytes as size, no HTTP status; and the hexdump of their raw bytes."""

from __future__ import annotations

import dataclasses

from rpcspy.capture.hexdump import hexdump
from rpcspy.capture.record import HttpMessage, build_native_record
from rpcspy.capture.summary import (
    call_line,
    call_size,
    outcome,
    outcome_detail,
    size_text,
    time_text,
)
from tests.nativecaps import oncrpc_records, rpyc_records


def _by_method(records, method):  # type: ignore[no-untyped-def]
    return next(r for r in records if r.method == method)


def test_onc_rpc_outcomes_are_the_reply_status() -> None:
    records = oncrpc_records()
    echo = records[0]
    assert outcome(echo) == ("ok", "ok")
    assert _by_method(records, "536871065.1.99").is_fault
    assert outcome(_by_method(records, "536871065.1.99")) == ("PROC_UNAVAIL", "fault")
    mismatch = _by_method(records, "536871065.7.0")
    assert outcome(mismatch) == ("PROG_MISMATCH (supported 1-1)", "fault")
    assert outcome_detail(mismatch) is None
    assert call_line(mismatch) == "536871065.7.0 → PROG_MISMATCH (supported 1-1)"


def test_an_auth_error_says_its_reason() -> None:
    echo = oncrpc_records()[0]
    assert echo.response is not None
    denied = dict(echo.response.native or {})
    denied.update(accepted=False, status="AUTH_ERROR", auth_error="AUTH_TOOWEAK")
    del denied["result"]
    record = dataclasses.replace(echo, response=HttpMessage(body=echo.response.body, native=denied))
    assert outcome(record) == ("AUTH_ERROR (AUTH_TOOWEAK)", "fault")
    assert record.fault_code == 101


def test_size_is_the_wire_bytes_of_both_halves_and_time_the_reply_time() -> None:
    echo = oncrpc_records()[0]
    assert echo.request.body is not None and echo.response is not None
    assert echo.response.body is not None
    wire = len(echo.request.body) + len(echo.response.body)
    assert call_size(echo) == wire == 88 + 48
    assert size_text(echo) == "136 B"
    assert time_text(echo) == "1.0 ms"
    assert echo.status is None


def test_rpyc_outcomes_name_the_exception_and_a_missing_reply() -> None:
    records = rpyc_records("tour")
    failing = next(r for r in records if r.method == "modules.os.no_such_function")
    assert outcome(failing) == ("AttributeError", "fault")
    assert outcome_detail(failing) == (
        "AttributeError(\"module 'os' has no attribute 'no_such_function'\")"
    )
    assert call_line(failing).startswith("modules.os.no_such_function → AttributeError(")
    close = records[-1]
    assert close.response is None
    assert outcome(close) == ("no reply", "pending")
    assert time_text(close) == "-"
    ok = next(r for r in records if r.ok and "getcwd()" in str(r.request.native))
    assert call_line(ok).startswith("modules.os.getcwd() → '/tmp/")


def test_a_native_call_with_a_problem_reads_problem() -> None:
    record = build_native_record(
        "rpyc",
        HttpMessage(body=b"\x00\x00"),
        None,
        transport="tcp",
        started=1.0,
        problems=[],
        error="connection reset",
    )
    assert outcome(record) == ("error", "error")
    assert outcome_detail(record) == "connection reset"


def test_hexdump_has_offsets_hex_and_ascii() -> None:
    lines = list(hexdump(b"ONC RPC\x00" * 3))
    assert lines == [
        "00000000  4f 4e 43 20 52 50 43 00  4f 4e 43 20 52 50 43 00  |ONC RPC.ONC RPC.|",
        "00000010  4f 4e 43 20 52 50 43 00                           |ONC RPC.|",
    ]
    assert list(hexdump(bytes(40), max_bytes=16))[-1] == "… 24 more bytes (40 in all)"
    assert list(hexdump(b"")) == []
