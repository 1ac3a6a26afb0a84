"""The index's typed envelope (``rpcspy.capture._envelope``) against the schema's rules.

The index reads a common call line with typed structs and reads anything they refuse with the
schema itself (``record_from_json``). Two things must hold, checked here over every sample
capture, random records and a corpus of bad lines (each key of a line given each kind of wrong
value, and byte-level oddities):

- the structs never accept a line the schema refuses (whatever they accept, the reader reads);
- a line read either way gives the same columns, names and messages.

The index reads a ``Line`` (halves raw, typed by ``halves``); ``decode`` (a whole ``Call``,
for ``rpcspy.api.learn``) must take no line the ``Line`` path refuses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from rpcspy.capture import _envelope
from rpcspy.capture._columns import COLUMNS, temp_blob
from rpcspy.capture.index import Batch, CaptureIndex
from rpcspy.capture.schema import RecordError, dumps_line, loads_line, record_from_json
from rpcspy.capture.schema import record_to_json as to_json
from tests.capture import strategies
from tests.capture.test_index_agreement import KINDS, by_index, by_reader
from tests.tui.samples import sample_records


def schema_accepts(line: bytes) -> bool:
    """Does the reader read this line as a call record?"""
    try:
        obj = loads_line(line)
    except ValueError:
        return False
    if not isinstance(obj, dict) or obj.get("type") != "call":
        return False
    try:
        record_from_json(obj)
    except RecordError:
        return False
    return True


def _row(index: CaptureIndex, batch: Batch) -> dict[str, Any]:
    """One indexed row with every id resolved to what it names."""
    index.append_batch(batch)
    assert index.count == 1
    row: dict[str, Any] = {name: getattr(index, name)[0] for name, _code in COLUMNS}
    row["flags"] = index.flags[0]
    row["method"] = index.method_name(0)
    row["client"] = index.client_name(0)
    row["shape"] = index.shapes.names[row["shape"]]
    row["origin"] = index.origins.names[index.origin[0]]
    row["messages"] = index.messages(row.pop("text_off"), row.pop("text_len"))
    row["sub_methods"] = [index.methods.names[m] for m in index.sub_methods.get(0, ())]
    row["sub_faults"] = index.sub_faults.get(0, ())
    row["rules"] = [index.rules.names[r] for r in index.row_rules.get(0, ())]
    if row["duration"] != row["duration"]:
        row["duration"] = "nan"
    return row


def by_schema(line: bytes) -> dict[str, Any] | None:
    """The row the schema's path (``add_columns``) makes of a line, None if it refuses it."""
    index = CaptureIndex()
    index.texts = temp_blob("rpcspy-test-")
    try:
        batch = Batch()
        obj: Any = loads_line(line)
        if index.add_columns(batch, obj, 0, len(line)) is not None:
            return None
        return _row(index, batch)
    finally:
        index.close()


def by_envelope(line: bytes) -> dict[str, Any] | None:
    """The row the typed path (``add_envelope``) makes of a line, None if it leaves it."""
    call = _envelope.decode_line(line)
    if call is None:
        return None
    index = CaptureIndex()
    index.texts = temp_blob("rpcspy-test-")
    try:
        batch = Batch()
        if not index.add_envelope(batch, call, 0, len(line)):
            return None
        return _row(index, batch)
    finally:
        index.close()


def check(line: bytes) -> bool:
    """The two properties for one line; returns whether the typed path took it."""
    fast = by_envelope(line)
    if fast is not None:
        assert schema_accepts(line), line
        assert fast == by_schema(line), line
    if _envelope.decode(line) is not None:
        lean = _envelope.decode_line(line)
        assert lean is not None and _envelope.halves(lean) is not None, line
    return fast is not None


# ---------------------------------------------------------------- corpus


def _base() -> dict[str, Any]:
    records = sample_records()
    obj = to_json(records[6])  # a multicall: sub-calls, a response, every key
    obj["problems"] = [
        {"where": "response", "kind": "bad-xml", "reason": "r", "line": 1, "column": 2, "path": "p"}
    ]
    obj["findings"] = [
        {
            "where": "request",
            "rule": "int-out-of-range",
            "severity": "warning",
            "message": "m",
            "line": None,
            "column": 3,
            "path": None,
        }
    ]
    return obj


_BAD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    7,
    1 << 63,
    (1 << 64) - 1,
    -(1 << 63) - 1,
    1.5,
    -0.0,
    "",
    "x",
    "\ud800",
    "caf\u00e9",
    [],
    {},
    ["a"],
    ["a", 1],
    ["a", "b"],
    ["a", True],
    [["a", "b"]],
    [["a"]],
    [{"where": "nowhere"}],
    {"text": None},
    {"text": 5},
    {"text": "\ud800"},
    {"text": "x", "size": -5},
    {"text": "x", "size": 1.5},
    {"text": "x", "size": None},
    {"base64": "PD94bWw+", "size": 6},
    {"base64": "***"},
    {"int": 1},
    {"fault": {"code": 1}},
    {"method": "m", "params": []},
]

_DROP = object()


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key and index in a JSON value, as paths from its root (sub-values first met)."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        yield (*path, key)
        if isinstance(child, dict | list) and len(path) < 4:
            yield from _paths(child, (*path, key))


def _changed(obj: Any, path: tuple[Any, ...], value: Any) -> bytes:
    obj = json.loads(json.dumps(obj))
    target = obj
    for key in path[:-1]:
        target = target[key]
    if value is _DROP:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return dumps_line(obj)


def mutations() -> Iterator[bytes]:
    """A valid line with each of its keys (to four levels) dropped or given each bad value."""
    base = _base()
    yield dumps_line(base)
    for path in _paths(base):
        for value in (_DROP, *_BAD_VALUES):
            yield _changed(base, path, value)
    for key in ("type", "extra", "redacted", "origin", "status", "error"):
        for value in _BAD_VALUES:
            yield _changed(base, (key,), value)


def byte_oddities() -> Iterator[bytes]:
    """Lines that differ from a valid one in their bytes, not their JSON values."""
    good = dumps_line(_base())
    body = good.rstrip(b"\n")
    head = body[:-1]  # the object without its closing brace
    yield head + b',"x":"\xff"}\n'  # not UTF-8 in a key no one reads
    yield head + b',"x":"\xed\xa0\x80"}\n'  # an encoded surrogate (json.loads takes it)
    yield head + b',"x":"\\ud800"}\n'  # an escaped lone surrogate (json.loads takes it)
    yield head + b',"x":NaN}\n'
    yield head + b',"x":1e400}\n'
    yield head + b',"x":18446744073709551616}\n'
    yield head + b',"seq":"one"}\n'  # a duplicate key: the last one counts
    yield b'{"seq":"one",' + body[1:] + b"\n"
    yield head + b',"request":5}\n'
    yield body.replace(b'"text":"', b'"text":"\\ud800', 1) + b"\n"
    yield body.replace(b'"text":"', b'"text":"\\ud83d\\ude00', 1) + b"\n"  # a pair: fine
    yield body.replace(b'"text":"', b'"text":"\\udc00', 1) + b"\n"
    yield body.replace(b'"seq":', b'"seq":-0', 1) + b"\n"
    yield body.replace(b'"started":', b'"started":1e2,"s0":', 1) + b"\n"
    yield b"\xef\xbb\xbf" + good  # a byte order mark
    yield b" \t" + body + b" \r\n"
    yield body + b"x\n"
    yield body[:-40] + b"\n"
    for depth in (10, 300, 999, 1023, 1024, 1400, 1495, 1496, 1497, 1498, 3000):
        yield head + b',"x":' + b"[" * depth + b"]" * depth + b"}\n"
        yield head + b',"x":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}\n"


def test_the_typed_path_takes_the_common_line() -> None:
    for record in sample_records():
        assert check(dumps_line(to_json(record))), record.seq


@pytest.mark.parametrize("name", ["mutations", "byte oddities"])
def test_the_typed_path_never_accepts_what_the_schema_refuses(name: str) -> None:
    lines = list(mutations() if name == "mutations" else byte_oddities())
    taken = sum(check(line) for line in lines)
    refused = sum(not schema_accepts(line) for line in lines)
    assert refused > 50 if name == "mutations" else refused > 5  # the corpus is mostly bad
    assert taken > 10 if name == "mutations" else taken > 2  # and the typed path did take some


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.records())
def test_random_records_read_either_way_give_the_same_row(record: Any) -> None:
    check(dumps_line(to_json(record)))


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_sample_capture_indexed_with_or_without_the_typed_path(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = KINDS[kind](tmp_path)
    expected = by_reader(path, 4096)
    assert by_index(path, 4096) == expected
    for line in path.read_bytes().splitlines(keepends=True)[1:] if kind == "plain" else ():
        assert check(line)
    monkeypatch.setattr(_envelope, "decode_line", lambda line: None)
    assert by_index(path, 4096) == expected


def test_a_capture_of_the_whole_corpus_reads_as_the_reader_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    header = dumps_line({"type": "header", "format": "rpcspy-capture", "version": "1.1"})
    lines = [*mutations(), *byte_oddities()]
    path.write_bytes(
        header + b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
    )
    limit = 1 << 20
    expected = by_reader(path, limit)
    assert expected[0] == "read" and len(expected[1]) > 10  # type: ignore[arg-type]
    assert by_index(path, limit) == expected


def test_a_finding_the_schema_refuses_is_not_listed(tmp_path: Path) -> None:
    # Settled toward the reader: the index once listed a line whose findings the schema refuses.
    base = _base()
    bad = _changed(base, ("findings", 0, "where"), "nowhere")
    assert not schema_accepts(bad) and _envelope.decode(bad) is None
    assert _envelope.decode_line(bad) is None
    assert by_schema(bad) is None
