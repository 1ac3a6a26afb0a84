"""Learning an API from traffic: the fast reading of whole captures gives exactly what
``learn_records`` (the definition) gives, and learning never loses a type it saw."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rpcspy.api import learn
from rpcspy.api.learn import learn_captures, learn_reader, learn_records
from rpcspy.api.model import Api, Shape, api_to_json
from rpcspy.capture import CallRecord, CaptureFormatError, CaptureWriter, HttpMessage, read_capture
from rpcspy.capture.schema import dumps_line
from rpcspy.xmlrpc.jsonform import json_key
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.values import Array, RawValue, Struct, Value
from tests.capture import strategies as capture_strategies
from tests.capture.test_envelope import byte_oddities, mutations
from tests.capture.test_index_agreement import KINDS
from tests.xmlrpc import strategies as value_strategies

REPO = Path(__file__).resolve().parents[2]
SAMPLE_CAPTURES = sorted(
    [*(REPO / "captures").glob("*.jsonl*"), *(REPO / "tests").glob("*/captures/*.jsonl*")]
)

Outcome = tuple[str, object, object]


def _problems(problems: list[Any]) -> list[tuple[object, ...]]:
    return [(p.where, p.kind, p.reason, p.line, p.column, p.path) for p in problems]


def by_records(path: Path, max_line_bytes: int = 1 << 29) -> Outcome:
    """The definition: every record the reader gives, learned one by one."""
    try:
        with read_capture(path, max_line_bytes=max_line_bytes) as reader:
            api = learn_records(reader)
            return "read", api_to_json(api), _problems(reader.problems)
    except CaptureFormatError as exc:
        return "refused", str(exc), None


def by_fast(path: Path, max_line_bytes: int = 1 << 29) -> Outcome:
    try:
        with read_capture(path, max_line_bytes=max_line_bytes) as reader:
            api = learn_reader(reader)
            return "read", api_to_json(api), _problems(reader.problems)
    except CaptureFormatError as exc:
        return "refused", str(exc), None


def test_there_are_sample_captures() -> None:
    names = {p.name for p in SAMPLE_CAPTURES}
    assert {"basics.jsonl", "multicall.jsonl", "large.jsonl.gz", "lone-surrogate.jsonl"} <= names


@pytest.mark.parametrize("path", SAMPLE_CAPTURES, ids=lambda p: p.name)
def test_every_sample_capture_learned_fast_as_by_its_records(path: Path) -> None:
    expected = by_records(path)
    assert expected[0] == "read"
    assert by_fast(path) == expected
    assert api_to_json(learn_captures([path])) == expected[1]


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_of_capture_learned_fast_as_by_its_records(tmp_path: Path, kind: str) -> None:
    path = KINDS[kind](tmp_path)
    assert by_fast(path, 4096) == by_records(path, 4096)


def test_a_corpus_of_bad_and_odd_lines(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    header = dumps_line({"type": "header", "format": "rpcspy-capture", "version": "1.1"})
    lines = [*mutations(), *byte_oddities()]
    path.write_bytes(
        header + b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
    )
    expected = by_records(path)
    assert expected[0] == "read" and len(expected[2]) > 50  # type: ignore[arg-type]
    assert expected[1]["methods"]  # type: ignore[index]
    assert by_fast(path) == expected


def test_the_benchmark_capture_with_a_tiny_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The benchmark's generated traffic (faults, multicalls, problems), read with the usual
    memory of contents and with one so small it is emptied all the time."""
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    try:
        from _generate import generate
    finally:
        sys.path.remove(str(REPO / "bench"))
    path = tmp_path / "bench.jsonl"
    generate(path, 3000)
    expected = by_records(path)
    assert by_fast(path) == expected
    monkeypatch.setattr(learn, "CONTENT_MEMORY", 3)
    assert by_fast(path) == expected
    methods: dict[str, Any] = expected[1]["methods"]  # type: ignore[index]
    assert methods["user.get"]["faults"]  # the generated faults are learned
    assert "nope" in methods  # a multicall's sub-call


def test_progress_counts_every_line(tmp_path: Path) -> None:
    seen: list[int] = []
    path = REPO / "captures" / "basics.jsonl"
    with read_capture(path) as reader:
        learn_reader(reader, progress=seen.append)
        assert sum(seen) == reader.records_read == 20


def test_learning_adds_to_a_given_api() -> None:
    path = REPO / "captures" / "basics.jsonl"
    api = Api()
    api.method("made.up").help = "kept"
    learned = learn_captures([path, path], api)
    assert learned is api
    assert api.methods["made.up"].help == "kept"
    once = learn_captures([path])
    assert api.methods["add"].calls == 2 * once.methods["add"].calls


# ---------------------------------------------------------------- never loses a type


def _wire_tags(value: Value, shape: Shape | None, where: str) -> Iterator[str]:
    """Where ``shape`` lacks something ``value`` has: a wire tag, a struct member, an item."""
    if shape is None:
        yield f"{where}: nothing learned"
        return
    if isinstance(value, Struct):
        if shape.struct is None:
            yield f"{where}: struct not learned"
            return
        for name, item in value.items():
            member = shape.struct.members.get(name)
            if member is None:
                yield f"{where}.{name}: member not learned"
            else:
                yield from _wire_tags(item, member.shape, f"{where}.{name}")
    elif isinstance(value, Array):
        if shape.array is None:
            yield f"{where}: array not learned"
            return
        for i, item in enumerate(value):
            yield from _wire_tags(item, shape.array.items, f"{where}[{i}]")
    else:
        tag = value.element if isinstance(value, RawValue) else json_key(type(value))
        if tag not in shape.scalars:
            yield f"{where}: {tag} not in {sorted(shape.scalars)}"


def _lost(api: Api, call: MethodCall, answer: MethodResponse | Fault | None) -> list[str]:
    method = api.methods[call.method]
    out: list[str] = []
    for i, param in enumerate(call.params):
        shape = method.params[i] if i < len(method.params) else None
        out.extend(_wire_tags(param, shape, f"{call.method} params[{i}]"))
    if len(call.params) not in method.arity:
        out.append(f"{call.method}: arity {len(call.params)} not learned")
    if isinstance(answer, MethodResponse):
        out.extend(_wire_tags(answer.value, method.result, f"{call.method} result"))
    elif isinstance(answer, Fault) and answer.code not in method.faults:
        out.append(f"{call.method}: fault {answer.code} not learned")
    return out


_methods = st.sampled_from(["user.get", "user.set", "system.multicall", "ping"])
_calls = st.builds(MethodCall, _methods, st.lists(value_strategies.values, max_size=3).map(tuple))
_answers = st.one_of(
    st.none(), value_strategies.values.map(MethodResponse), value_strategies.faults()
)


def _record(seq: int, call: MethodCall, answer: MethodResponse | Fault | None) -> CallRecord:
    response = None
    if answer is not None:
        response = HttpMessage((("Content-Type", "text/xml"),), b"<methodResponse/>", None, answer)
    return CallRecord(
        id=f"{seq:032x}",
        seq=seq,
        started=1.0,
        ended=1.5,
        client=("127.0.0.1", 5000),
        server=("127.0.0.1", 8000),
        scheme="http",
        host="127.0.0.1",
        port=8000,
        path="/RPC2",
        status=200 if answer is not None else None,
        request=HttpMessage((("Content-Type", "text/xml"),), b"<methodCall/>", None, call),
        response=response,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_calls, _answers), min_size=1, max_size=8))
def test_learning_never_loses_a_type_it_saw(
    tmp_path_factory: pytest.TempPathFactory, traffic: list[Any]
) -> None:
    path = tmp_path_factory.mktemp("learn") / "traffic.jsonl"
    writer = CaptureWriter(path, append=False)
    try:
        for seq, (call, answer) in enumerate(traffic, 1):
            writer.write(_record(seq, call, answer))
    finally:
        writer.close()
    direct = learn_records(_record(seq, c, a) for seq, (c, a) in enumerate(traffic, 1))
    fast = learn_captures([path])
    assert api_to_json(fast) == api_to_json(direct)
    lost = [miss for call, answer in traffic for miss in _lost(fast, call, answer)]
    assert not lost, lost
    for name, method in fast.methods.items():
        assert method.calls == sum(1 for call, _ in traffic if call.method == name)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(capture_strategies.records(), min_size=1, max_size=5))
def test_random_records_learned_fast_as_by_their_records(
    tmp_path_factory: pytest.TempPathFactory, records: list[CallRecord]
) -> None:
    path = tmp_path_factory.mktemp("random") / "random.jsonl"
    writer = CaptureWriter(path, append=False)
    try:
        for record in records:
            writer.write(record)
    finally:
        writer.close()
    assert by_fast(path) == by_records(path)


def test_adding_an_api_n_times_at_once() -> None:
    from rpcspy.api.model import add_api

    one = learn_captures(
        [REPO / "captures" / "basics.jsonl", REPO / "captures" / "multicall.jsonl"]
    )
    thrice = Api()
    for _ in range(3):
        add_api(thrice, one)
    at_once = add_api(Api(), one, 3)
    assert api_to_json(at_once) == api_to_json(thrice)
    assert at_once.methods["add"].calls == 3 * one.methods["add"].calls


@pytest.mark.parametrize("path", SAMPLE_CAPTURES, ids=lambda p: p.name)
def test_a_capture_index_rows_learned_fast_as_by_their_records(path: Path) -> None:
    # The TUI's API pane learns the index's rows: file-backed ones by their line.
    from rpcspy.api.learn import learn_lines
    from rpcspy.capture.index import open_index

    index, builder = open_index(path, cache=False)
    try:
        rows = range(index.count)
        items = [index.raw_line(r) or index.record(r) for r in rows]
        assert any(isinstance(item, bytes) for item in items)
        fast = learn_lines(items)
        assert api_to_json(fast) == api_to_json(learn_records(index.records(rows)))
        assert api_to_json(fast) == by_records(path)[1]
    finally:
        builder.close()
