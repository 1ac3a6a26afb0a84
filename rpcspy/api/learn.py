"""Learn an API from traffic: per method, the types seen at each param position, the arities,
the result's shape and the fault codes.

``learn_records`` is the definition: every call of every record (a ``system.multicall`` and each
of its sub-calls) adds to its method. ``learn_captures`` reads whole capture files fast and gives
the same description as ``learn_records`` over the same files' records (a test holds it to that
over every sample capture).

Strategy for the fast reading (``capture_contents``): what a record teaches depends only on its
messages (the call, the result or fault, the sub-calls), and real traffic repeats them: a
client asks the same few things over and over. So each call line is read by the capture's typed
envelope (``rpcspy.capture._envelope``, which checks every key but the messages in C and keeps
the messages as raw JSON bytes); those bytes are the *content key*. A content met for the first
time is checked by the schema itself (``record_from_json`` on the messages alone, exactly as the
capture index checks it) and learned once; after that a line costs a dictionary lookup, and a
content met ``n`` times is added ``n`` times at once (``add_api(..., times=n)``). Lines the
envelope does not take (non-ASCII oddities, deep nesting, damage) get the full reading, record
by record. The memories are bounded (``CONTENT_MEMORY`` contents, then they are emptied), so the
memory used does not grow with the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Final

import orjson

from rpcspy.api.model import Api, Method, add_api, value_shape
from rpcspy.capture import _envelope
from rpcspy.capture.reader import CaptureReader, read_capture
from rpcspy.capture.record import CallRecord
from rpcspy.capture.schema import RecordError, loads_line, messages_only, record_from_json
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse

__all__ = [
    "CONTENT_MEMORY",
    "Progress",
    "capture_contents",
    "learn_call",
    "learn_captures",
    "learn_lines",
    "learn_reader",
    "learn_records",
]

#: Distinct contents remembered at once (each with its record and what was learned of it).
CONTENT_MEMORY: Final = 4096
#: Called with the number of lines read since its last call (every ``_TICK`` lines).
Progress = Callable[[int], None]
_TICK: Final = 1024
_UNSET: Final = _envelope.UNSET


def learn_call(api: Api, call: MethodCall, answer: MethodResponse | Fault | None) -> Method:
    """Add one call (and its answer, when there is one) to ``api``; returns its method."""
    method = api.method(call.method)
    method.sources.add("traffic")
    method.calls += 1
    arity = len(call.params)
    method.arity[arity] = method.arity.get(arity, 0) + 1
    for i, param in enumerate(call.params):
        shape = value_shape(param)
        if i < len(method.params):
            method.params[i].merge(shape)
        else:
            method.params.append(shape)
    if isinstance(answer, MethodResponse):
        method.answered += 1
        shape = value_shape(answer.value)
        if method.result is None:
            method.result = shape
        else:
            method.result.merge(shape)
    elif isinstance(answer, Fault):
        method.answered += 1
        method.faults[answer.code] = method.faults.get(answer.code, 0) + 1
    return method


def learn_records(records: Iterable[CallRecord], api: Api | None = None) -> Api:
    """The API the calls in ``records`` show, added to ``api`` (a new one when None)."""
    api = Api() if api is None else api
    for record in records:
        call = record.request.decoded
        if not isinstance(call, MethodCall):
            continue
        answer = record.response.decoded if record.response is not None else None
        if isinstance(answer, MethodCall):
            answer = None
        learn_call(api, call, answer)
        for sub in record.subcalls:
            learn_call(api, sub.call, sub.result)
    return api


# ---------------------------------------------------------------- reading whole captures


def _content_record(env: _envelope.Call) -> CallRecord | RecordError | None:
    """The record of a line's messages alone (the envelope is checked already), or the schema's
    verdict against them; None when orjson cannot read them (the line gets the full reading)."""
    try:
        call = None if env.request.call is _UNSET else orjson.loads(memoryview(env.request.call))
        part: dict[str, object] | None = None
        response = env.response
        if response is not None:
            part = {}
            if response.result is not _UNSET:
                part["result"] = orjson.loads(memoryview(response.result))
            if response.fault is not _UNSET:
                part["fault"] = orjson.loads(memoryview(response.fault))
        subcalls = None if env.subcalls is _UNSET else orjson.loads(memoryview(env.subcalls))
    except orjson.JSONDecodeError:
        return None
    try:
        return record_from_json(messages_only(call, part, subcalls))
    except RecordError as exc:
        return exc


def _key(env: _envelope.Call) -> bytes:
    response = env.response
    parts = [b"" if env.request.call is _UNSET else bytes(env.request.call)]
    if response is None:
        parts.append(b"-")
    else:
        parts.append(b"r" if response.result is _UNSET else b"R" + bytes(response.result))
        parts.append(b"f" if response.fault is _UNSET else b"F" + bytes(response.fault))
    parts.append(b"" if env.subcalls is _UNSET else bytes(env.subcalls))
    return b"\x00".join(parts)


def capture_contents(
    reader: CaptureReader, progress: Progress | None = None
) -> Iterator[tuple[int, bytes | None, CallRecord]]:
    """``(seq, key, record)`` for each valid call line of ``reader``, in file order.

    ``key`` is the line's content key (lines with equal keys have equal messages: whatever is
    learned or checked of one holds for all) and ``record`` a record of its messages alone
    (``seq`` 0, shared by every line with that key); for a line read in full, ``key`` is None
    and ``record`` the line's own record. Invalid lines become ``reader.problems``, as reading
    the records would make them.
    """
    known: dict[bytes, CallRecord | RecordError] = {}
    decode = _envelope.decode
    ticks = 0
    for item in reader.lines():
        if item is None:
            continue
        if progress is not None:
            ticks += 1
            if ticks == _TICK:
                progress(ticks)
                ticks = 0
        line = item[2]
        env = decode(line)
        if env is not None:
            key = _key(env)
            verdict = known.get(key)
            if verdict is None:
                found = _content_record(env)
                if found is not None:
                    if len(known) >= CONTENT_MEMORY:
                        known.clear()
                    known[key] = verdict = found
            if verdict is not None:
                if isinstance(verdict, RecordError):
                    reader.record_problem(verdict)
                else:
                    reader.records_read += 1
                    yield env.seq, key, verdict
                continue
        obj = reader.call_object(line)
        if obj is None:
            continue
        try:
            record = record_from_json(obj)
        except RecordError as exc:
            reader.record_problem(exc)
            continue
        reader.records_read += 1
        yield record.seq, None, record
    if progress is not None and ticks:
        progress(ticks)


def learn_reader(
    reader: CaptureReader, api: Api | None = None, progress: Progress | None = None
) -> Api:
    """``learn_records`` over the records of ``reader``, fast (see the module's strategy); the
    reader's ``problems`` list the lines skipped."""
    api = Api() if api is None else api
    counts: dict[bytes, int] = {}
    learned: dict[bytes, Api] = {}

    def flush() -> None:
        for key, n in counts.items():
            add_api(api, learned[key], n)
        counts.clear()
        learned.clear()

    for _seq, key, record in capture_contents(reader, progress):
        if key is None:
            learn_records((record,), api)
            continue
        n = counts.get(key)
        if n is not None:
            counts[key] = n + 1
            continue
        if len(counts) >= CONTENT_MEMORY:
            flush()
        counts[key] = 1
        learned[key] = learn_records((record,))
    flush()
    return api


def _full(line: bytes) -> CallRecord:
    """A line's record by the full reading (``loads_line`` reads what orjson cannot)."""
    obj = loads_line(line)
    if not isinstance(obj, dict):
        raise RecordError(f"a line holds a JSON object, not {type(obj).__name__}")
    return record_from_json(obj)


def learn_lines(items: Iterable[bytes | CallRecord], api: Api | None = None) -> Api:
    """``learn_records`` over call lines a reader has already accepted (a capture index's
    file-backed rows: ``CaptureIndex.raw_line``) or records, fast: each distinct content is
    learned once, as in ``learn_reader``. A line that is not a valid call raises ``RecordError``
    (or ``orjson.JSONDecodeError``): give only lines the capture's rules accept."""
    api = Api() if api is None else api
    counts: dict[bytes, int] = {}
    learned: dict[bytes, Api] = {}
    decode = _envelope.decode
    for item in items:
        if isinstance(item, CallRecord):
            learn_records((item,), api)
            continue
        env = decode(item)
        if env is None:
            learn_records((_full(item),), api)
            continue
        key = _key(env)
        n = counts.get(key)
        if n is not None:
            counts[key] = n + 1
            continue
        found = _content_record(env)
        if found is None:
            learn_records((_full(item),), api)
            continue
        if isinstance(found, RecordError):
            raise found
        if len(counts) >= CONTENT_MEMORY:
            for k, times in counts.items():
                add_api(api, learned[k], times)
            counts.clear()
            learned.clear()
        counts[key] = 1
        learned[key] = learn_records((found,))
    for k, times in counts.items():
        add_api(api, learned[k], times)
    return api


def learn_captures(
    paths: Iterable[Path], api: Api | None = None, progress: Progress | None = None
) -> Api:
    """``learn_records`` over every record of the capture files ``paths``, fast and in constant
    memory. Raises what ``read_capture`` raises (``CaptureFormatError``, ``OSError``); corrupt
    lines are skipped (``learn_reader`` gives access to them)."""
    api = Api() if api is None else api
    for path in paths:
        with read_capture(path) as reader:
            learn_reader(reader, api, progress)
    return api
