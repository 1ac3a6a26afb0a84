"""The index's protocol column: a capture line names its RPC protocol under ``"protocol"``
(format 1.2: ``"oncrpc"``, ``"rpyc"``); a line without the key is XML-RPC. The column is read
on every path (typed envelope, full check, helper processes, the cache) and ``protocol:NAME``
filters on it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rpcspy.capture.index import IndexBuilder, index_records
from rpcspy.capture.record import CallRecord
from rpcspy.capture.schema import dumps_line, make_header, record_to_json
from rpcspy.filter import FilterError, filter_rows, parse_filter
from tests.capture.helpers import index_in_small_pieces
from tests.tui.samples import sample_records

#: The protocol each line names, in turn (None: no ``"protocol"`` key).
NAMED = (None, "oncrpc", None, "xmlrpc", "rpyc", "oncrpc", None)


def _capture(path: Path, times: int = 1) -> tuple[Path, list[str]]:
    """A capture of the sample records, each line naming the protocols of ``NAMED`` in turn;
    the protocol each row should have."""
    lines = [dumps_line(make_header())]
    expected: list[str] = []
    for i, record in enumerate(sample_records() * times):
        obj = record_to_json(record)
        named = NAMED[i % len(NAMED)]
        if named is not None:
            obj["protocol"] = named
        lines.append(dumps_line(obj))
        expected.append(named or "xmlrpc")
    path.write_bytes(b"".join(lines))
    return path, expected


def _protocols(builder: IndexBuilder) -> list[str]:
    index = builder.index
    return [index.protocol_name(row) for row in range(index.count)]


def _rows(builder: IndexBuilder, text: str) -> list[int]:
    return list(filter_rows(builder.index, parse_filter(text)))


def test_each_row_has_the_protocol_its_line_names(tmp_path: Path) -> None:
    path, expected = _capture(tmp_path / "c.jsonl")
    assert expected.count("oncrpc") == 3 and expected.count("rpyc") == 2
    builder = IndexBuilder(path, cache=False)
    try:
        builder.run()
        assert _protocols(builder) == expected
        oncrpc = [row for row, name in enumerate(expected) if name == "oncrpc"]
        assert _rows(builder, "protocol:oncrpc") == oncrpc
        assert _rows(builder, "protocol:ONCRPC") == oncrpc  # exact, ignoring case
        assert _rows(builder, "protocol:OncRpc") == oncrpc
        xmlrpc = [row for row, name in enumerate(expected) if name == "xmlrpc"]
        assert _rows(builder, "protocol:xmlrpc") == xmlrpc
        assert _rows(builder, "not protocol:xmlrpc and method:user.*") == [
            row
            for row in range(len(expected))
            if expected[row] != "xmlrpc" and builder.index.method_name(row).startswith("user.")
        ]
    finally:
        builder.close()


def test_the_typed_path_and_the_full_check_agree_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rpcspy.capture import _envelope

    path, expected = _capture(tmp_path / "c.jsonl")
    monkeypatch.setattr(_envelope, "decode_line", lambda line: None)
    builder = IndexBuilder(path, cache=False)
    try:
        builder.run()
        assert _protocols(builder) == expected
    finally:
        builder.close()


def test_the_column_survives_the_cache_and_helper_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_in_small_pieces(monkeypatch)
    path, expected = _capture(tmp_path / "big.jsonl", times=20)
    builder = IndexBuilder(path)
    try:
        builder.run()
        assert builder.helped and builder.source == "built"
        assert _protocols(builder) == expected
    finally:
        builder.close()
    again = IndexBuilder(path)
    try:
        again.run()
        assert again.source == "cached"
        assert _protocols(again) == expected
        rpyc = [row for row, name in enumerate(expected) if name == "rpyc"]
        assert len(rpyc) == 240 // 7 and _rows(again, "protocol:rpyc") == rpyc
    finally:
        again.close()


def _named(record: CallRecord, protocol: str) -> CallRecord:
    """``record`` of another protocol (``CallRecord.protocol``, format 1.2)."""
    if "protocol" in {f.name for f in dataclasses.fields(CallRecord)}:
        return dataclasses.replace(record, protocol=protocol)  # type: ignore[call-arg]

    @dataclasses.dataclass(frozen=True, slots=True)
    class Named(CallRecord):
        protocol: str = "xmlrpc"

    fields = {f.name: getattr(record, f.name) for f in dataclasses.fields(CallRecord)}
    return Named(**fields, protocol=protocol)


def test_records_are_filtered_by_their_protocol() -> None:
    record = sample_records()[0]
    oncrpc = _named(record, "oncrpc")
    flt = parse_filter("protocol:oncrpc")
    assert flt.matches(oncrpc) and not flt.matches(record)
    assert parse_filter("protocol:xmlrpc").matches(record)
    assert not parse_filter("protocol:xmlrpc").matches(oncrpc)
    index = index_records([record, oncrpc])
    assert [index.protocol_name(row) for row in range(2)] == ["xmlrpc", "oncrpc"]


def test_an_unknown_protocol_is_an_error_that_suggests_one() -> None:
    with pytest.raises(FilterError, match="did you mean 'oncrpc'") as exc:
        parse_filter("protocol:onc")
    assert "protocols are xmlrpc, oncrpc, rpyc" in str(exc.value)
    with pytest.raises(FilterError, match=r"protocol:oncrpc"):
        parse_filter("protocol:")
