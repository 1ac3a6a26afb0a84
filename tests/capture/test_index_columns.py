"""Each column of the index holds what its call's record says, on every path a row is built
(the typed envelope, the full check, helper processes): a batch packs rows and splits them back
into columns, so a value in the wrong place would show here. And a line's halves, typed once per
distinct raw JSON, are never taken on memory when they do not pass."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from rpcspy.capture import _envelope
from rpcspy.capture import index as index_module
from rpcspy.capture.index import F_FAULT, F_MULTICALL, F_NO_RESPONSE, F_OK, IndexBuilder
from rpcspy.capture.record import CallRecord
from rpcspy.capture.schema import dumps_line, make_header, record_to_json
from rpcspy.capture.summary import call_size
from tests.capture.helpers import index_in_small_pieces
from tests.capture.test_index_agreement import by_index, by_reader
from tests.tui.samples import sample_records, write_capture


def _expected(record: CallRecord) -> dict[str, object]:
    duration = record.duration_ms
    return {
        "seq": record.seq,
        "started": record.started,
        "duration": "nan" if duration is None else round(duration, 6),
        "status": record.status or 0,
        "size": call_size(record),
        "req_size": record.request.size or 0,
        "method": record.method or "",
        "client": "-" if record.client is None else f"{record.client[0]}:{record.client[1]}",
        "origin": record.origin,
        "fault": record.response is not None and record.is_fault,
        "multicall": record.is_multicall,
        "no_response": record.response is None or record.response.decoded is None,
    }


def _columns(builder: IndexBuilder, row: int) -> dict[str, object]:
    index = builder.index
    duration = index.duration[row]
    flags = index.flags[row]
    return {
        "seq": index.seq[row],
        "started": index.started[row],
        "duration": "nan" if math.isnan(duration) else round(duration, 6),
        "status": index.status[row],
        "size": index.size[row],
        "req_size": index.req_size[row],
        "method": index.method_name(row),
        "client": index.client_name(row),
        "origin": index.origins.names[index.origin[row]],
        "fault": bool(flags & F_FAULT),
        "multicall": bool(flags & F_MULTICALL),
        "no_response": bool(flags & F_NO_RESPONSE),
    }


@pytest.mark.parametrize("path_kind", ["typed", "full check", "helpers", "halves not remembered"])
def test_every_column_holds_its_records_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path_kind: str
) -> None:
    records = sample_records() * (25 if path_kind == "helpers" else 3)
    path = write_capture(tmp_path / "c.jsonl", records)
    if path_kind == "full check":
        monkeypatch.setattr(_envelope, "decode_line", lambda line: None)
    if path_kind == "halves not remembered":
        # Halves that seldom repeat are typed each time for a while (the memory is off, then
        # tried again): a memory of 2 is full after 2 distinct halves in 2 lines.
        monkeypatch.setattr(index_module, "_HALVES_MAX", 2)
        monkeypatch.setattr(index_module, "_HALVES_SKIP", 5)
        learn = index_module.CaptureIndex._learn_halves
        keys: list[bool] = []

        def learn_halves(
            self: index_module.CaptureIndex, key: bytes | None, line: object
        ) -> object:
            keys.append(key is not None)
            return learn(self, key, line)  # type: ignore[arg-type]

        monkeypatch.setattr(index_module.CaptureIndex, "_learn_halves", learn_halves)
    if path_kind == "helpers":
        index_in_small_pieces(monkeypatch)
    builder = IndexBuilder(path, cache=False)
    try:
        builder.run()
        assert builder.helped == (path_kind == "helpers")
        assert builder.index.count == len(records)
        for row, record in enumerate(records):
            assert _columns(builder, row) == _expected(record), row
        if path_kind == "halves not remembered":
            # Both ways, each several times: remembered, then not, then remembered again.
            switches = sum(a != b for a, b in itertools.pairwise(keys))
            assert switches >= 4 and len(builder.index._halves) <= 2
        ok = [r for r in range(len(records)) if builder.index.flags[r] & F_OK]
        assert ok and len(ok) < len(records)
    finally:
        builder.close()


def test_halves_that_do_not_pass_are_refused_every_time(tmp_path: Path) -> None:
    good = record_to_json(sample_records()[1])
    bad_headers = {**good, "request": {**good["request"], "headers": [["Host", 5]]}}
    bad_body = {**good, "response": {**good["response"], "body": {"text": None}}}
    lines = [dumps_line(make_header())]
    for n, obj in enumerate([good, bad_headers, good, bad_headers, bad_body, good, bad_body]):
        lines.append(dumps_line({**obj, "seq": n + 1}))
    # The same halves, the response null or left out: the same row either way.
    lines.append(dumps_line({**good, "seq": 8, "response": None}))
    no_response = dict(good, seq=9)
    del no_response["response"]
    lines.append(dumps_line(no_response))
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"".join(lines))
    expected = by_reader(path, 1 << 20)
    assert expected[0] == "read"
    assert [r.seq for r in expected[1]] == [1, 3, 6, 8, 9]  # type: ignore[union-attr]
    assert len(expected[2]) == 4  # type: ignore[arg-type]
    assert by_index(path, 1 << 20) == expected


def test_rows_that_share_halves_keep_their_own_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line's halves are looked up by their raw JSON: lines with the same halves (and the
    problem, error or sub-calls of each their own), or with halves of the same length that
    differ, get each the columns the full check gives them."""
    good = record_to_json(sample_records()[1])
    other = json_copy(good)  # the same lengths, another value
    other["request"]["call"]["params"][1]["struct"]["limit"]["int"] = 99
    other["request"]["body"]["text"] = good["request"]["body"]["text"].replace("10", "99")
    other["response"]["result"]["array"][0]["string"] = "z.txt"
    other["response"]["body"]["text"] = good["response"]["body"]["text"].replace("a.txt", "z.txt")
    problem = {"where": "response", "kind": "bad-xml", "reason": "it broke"}
    no_subcalls = dict(good)
    del no_subcalls["subcalls"]
    objs = [
        good,
        other,
        {**good, "problems": [problem]},
        {**other, "error": "connection reset"},
        no_subcalls,
        {**good, "subcalls": []},
        {**good, "error": "timeout", "problems": [problem]},
        other,
        good,
    ]
    lines = [dumps_line(make_header())]
    lines += [dumps_line({**obj, "seq": n + 1}) for n, obj in enumerate(objs)]
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"".join(lines))

    def rows() -> list[tuple[object, ...]]:
        builder = IndexBuilder(path, cache=False)
        try:
            builder.run()
            index = builder.index
            assert index.count == len(objs)
            return [
                (
                    *(getattr(index, name)[row] for name, _code in index_module.COLUMNS),
                    index.flags[row],
                    index.messages(index.text_off[row], index.text_len[row]),
                )
                for row in range(index.count)
            ]
        finally:
            builder.close()

    typed = rows()
    with monkeypatch.context() as m:
        m.setattr(_envelope, "decode_line", lambda line: None)
        full = rows()
    assert len({(r[-2], r[-1]) for r in typed}) > 4  # outcomes and messages of several kinds
    flags = [r[-2] for r in typed]
    ok = [True, True, False, False, True, True, False, True, True]
    assert [bool(f & F_OK) for f in flags] == ok  # type: ignore[operator]
    for row, (a, b) in enumerate(zip(typed, full, strict=True)):
        assert a == b, row
    assert typed[0][-1] != typed[1][-1]  # the halves of the same length told apart


def json_copy(obj: dict[str, object]) -> dict[str, object]:
    import json

    copied: dict[str, object] = json.loads(json.dumps(obj))
    return copied
