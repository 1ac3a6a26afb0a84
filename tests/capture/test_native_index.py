"""The index of a capture of ONC RPC and RPyC calls agrees with their records: method, ok,
fault and fault code, size; and the filters on those columns and on the calls' words answer as
the records say (tests/nativecaps.py makes the capture from real peers' bytes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rpcspy.capture import read_capture
from rpcspy.capture.index import F_FAULT, F_OK, CaptureIndex, IndexBuilder, index_records
from rpcspy.capture.record import CallRecord, HttpMessage, Problem, build_native_record
from rpcspy.capture.summary import call_size
from rpcspy.filter import filter_rows, parse_filter
from tests.nativecaps import native_capture, oncrpc_records, rpyc_records, write_capture


def _index(path: Path) -> tuple[CaptureIndex, IndexBuilder]:
    builder = IndexBuilder(path, cache=False)
    builder.run()
    return builder.index, builder


def _odd_records() -> list[CallRecord]:
    """A call without a reply, one whose reply did not decode, one with a problem."""
    call = oncrpc_records()[0]
    no_reply = build_native_record(
        "oncrpc", call.request, None, transport="tcp", started=1.0, seq=90
    )
    undecoded = build_native_record(
        "oncrpc",
        call.request,
        HttpMessage(body=b"\x80\x00\x00\x02ab"),
        transport="tcp",
        started=2.0,
        ended=2.5,
        problems=[Problem("response", "truncated", "the reply ends inside its header")],
        seq=91,
    )
    return [no_reply, undecoded]


def _check_agreement(index: CaptureIndex, records: list[CallRecord]) -> None:
    assert index.count == len(records)
    for row, record in enumerate(records):
        flags = index.flags[row]
        assert bool(flags & F_OK) == record.ok, (row, record.method)
        assert bool(flags & F_FAULT) == record.is_fault, (row, record.method)
        assert index.fault[row] == (record.fault_code or 0)
        assert (index.methods.names[index.method[row]] or None) == record.method
        assert index.size[row] == call_size(record)


def test_the_index_columns_of_native_calls_agree_with_their_records(tmp_path: Path) -> None:
    path = native_capture(tmp_path / "native.jsonl")
    write_capture(path, read_and(path, _odd_records()))
    with read_capture(path) as reader:
        records = list(reader)
    assert {r.protocol for r in records} == {"oncrpc", "rpyc"}
    assert any(r.is_fault for r in records) and any(r.ok for r in records)
    index, builder = _index(path)
    try:
        _check_agreement(index, records)
        assert list(index.records()) == records
    finally:
        builder.close()
    _check_agreement(index_records(records), records)


def read_and(path: Path, more: list[CallRecord]) -> list[CallRecord]:
    with read_capture(path) as reader:
        return [*reader, *more]


def test_a_small_rpyc_frame_that_reads_as_text_is_still_an_rpyc_call(tmp_path: Path) -> None:
    # rpyc's first frames are ASCII bytes, so the capture keeps them as text: the line then
    # looks like an XML-RPC call's to the fast reading, which must leave it to the full one.
    records = rpyc_records()
    assert records[0].request.body is not None and records[0].request.body.isascii()
    path = write_capture(tmp_path / "r.jsonl", records)
    index, builder = _index(path)
    try:
        _check_agreement(index, records)
    finally:
        builder.close()


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("method:PMAP_PROG.*", lambda r: (r.method or "").startswith("PMAP_PROG.")),
        ("method:*.ECHO", lambda r: r.method == "RPC_EXAMPLE_PROG.RPC_EXAMPLE_VERS.ECHO"),
        ("fault", lambda r: r.is_fault),
        ("ok", lambda r: r.ok),
        ("fault:3", lambda r: r.fault_code == 3),
        ("not ok and not fault", lambda r: not r.ok and not r.is_fault),
        ("Lovelace", lambda r: "Lovelace" in json.dumps(r.response and r.response.native)),
        ('"hello, rpcspy"', lambda r: r.method == "RPC_EXAMPLE_PROG.RPC_EXAMPLE_VERS.ECHO"),
        ("getcwd", lambda r: "getcwd" in str((r.request.native or {}).get("text"))),
        ("modules.sys.path", lambda r: "modules.sys.path" in str(r.request.native)),
    ],
)
def test_filters_on_native_calls(tmp_path: Path, expr: str, expected: object) -> None:
    path = native_capture(tmp_path / "native.jsonl")
    with read_capture(path) as reader:
        records = list(reader)
    want = [i for i, r in enumerate(records) if expected(r)]  # type: ignore[operator]
    assert want, expr  # each filter picks some calls of the capture...
    assert len(want) < len(records), expr  # ...and leaves others out
    flt = parse_filter(expr)
    index, builder = _index(path)
    try:
        assert list(filter_rows(index, flt)) == want
    finally:
        builder.close()
    assert [i for i, r in enumerate(records) if flt.matches(r)] == want


@pytest.mark.parametrize(
    ("expr", "seqs"),
    [
        ("params[0].a=2", [2]),  # ADD(intpair{a: 2, b: 40})
        ("params[0].a>100", [3]),  # ADD(2147483647, -2147483648)
        ("params[0]=99", [6]),  # LOOKUP(uint 99)
        ("params[0]:string", [1]),  # ECHO
        ("params[0].radius>1", [7]),  # AREA of a circle: the union's arm
        ("params[0].sides.width=2", [8]),
        ("result.found.name~lovelace", [4]),  # LOOKUP's union arm, a struct
        ('result.found.manager.name="Charles Babbage"', [4]),  # through an optional
        ("result.found.admin=true", [5]),
        ("result.error", [6]),
        ("result:double", [7, 8, 9]),
    ],
)
def test_param_and_result_paths_on_onc_rpc_values(
    tmp_path: Path, expr: str, seqs: list[int]
) -> None:
    path = native_capture(tmp_path / "native.jsonl")
    with read_capture(path) as reader:
        records = list(reader)
    flt = parse_filter(expr)
    index, builder = _index(path)
    try:
        assert [records[i].seq for i in filter_rows(index, flt)] == seqs
    finally:
        builder.close()
    assert [r.seq for r in records if flt.matches(r)] == seqs
