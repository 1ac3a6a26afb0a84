"""Does orjson pay for capture files? Times writing and reading captures with orjson (what rpcspy
uses) against the stdlib ``json`` module, in the same run, on the same records.

    .venv/bin/python bench/capture_json.py [--quick]

Reports, for N records: the JSON step alone (dumps / loads) and the whole path (CaptureWriter to a
file, read_capture back), best of several rounds, with the stdlib/orjson ratio.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.capture.helpers

from rpcspy.capture import CaptureWriter, read_capture, record_to_json
from rpcspy.capture import reader as reader_module
from rpcspy.capture import writer as writer_module
from rpcspy.capture.record import CallRecord
from rpcspy.xmlrpc.messages import MethodCall, MethodResponse
from rpcspy.xmlrpc.values import Array, Base64, Boolean, DateTime, Double, Int, String, Struct
from tests.capture.helpers import make_record


def sample_records(n: int) -> list[CallRecord]:
    """A mix: small calls, a struct-heavy result, a record with a binary body."""
    row = Struct(
        id=Int(1),
        name=String("widget"),
        price=Double(9.99),
        active=Boolean(True),
        created=DateTime("20240101T10:00:00"),
        tags=Array([String("a"), String("b"), String("c")]),
    )
    big = MethodResponse(Array([Struct({**row, "id": Int(i)}) for i in range(40)]))
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            r = make_record(seq=i, id=f"{i:032x}")
        elif kind == 1:
            body = b"<?xml version='1.0'?><methodResponse>" + b"<x/>" * 800 + b"</methodResponse>"
            r = make_record(seq=i, id=f"{i:032x}", response={"decoded": big, "body": body})
        else:
            r = make_record(
                seq=i,
                id=f"{i:032x}",
                request={
                    "decoded": MethodCall("upload", (Base64(bytes(range(256)) * 8),)),
                    "body": bytes(range(256)) * 12,
                },
            )
        out.append(r)
    return out


def stdlib_dumps_line(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False).encode("utf-8") + b"\n"


def best(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    quick = "--quick" in sys.argv
    n = 500 if quick else 3_000
    rounds = 3 if quick else 5
    records = sample_records(n)
    objs: list[object] = [record_to_json(r) for r in records]
    lines: list[object] = [orjson.dumps(o) for o in objs]
    size = sum(len(x) + 1 for x in lines if isinstance(x, bytes))
    print(f"{n} records, {size / 1e6:.1f} MB of JSON Lines, best of {rounds}")

    def each(fn: Callable[[object], object], items: list[object]) -> Callable[[], None]:
        # Results are dropped at once, as the writer and reader do: no garbage piles up to slow GC.
        def run() -> None:
            for item in items:
                fn(item)

        return run

    rows = [
        ("dumps only", each(orjson.dumps, objs), each(stdlib_dumps_line, objs)),
        ("loads only", each(orjson.loads, lines), each(json.loads, lines)),  # type: ignore[arg-type]
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.jsonl"

        def write() -> None:
            with CaptureWriter(path, append=False, redact=False) as w:
                for r in records:
                    w.write(r)

        def read() -> None:
            for _ in read_capture(path):
                pass

        def write_stdlib() -> None:
            with mock.patch.object(writer_module, "dumps_line", stdlib_dumps_line):
                write()

        def read_stdlib() -> None:
            with mock.patch.object(reader_module, "loads_line", json.loads):
                read()

        write()
        rows += [("write capture", write, write_stdlib), ("read capture", read, read_stdlib)]
        print(f"{'step':16} {'orjson':>10} {'stdlib':>10} {'stdlib/orjson':>14}")
        for name, fast, slow in rows:
            a = best(fast, rounds)
            b = best(slow, rounds)
            print(f"{name:16} {a * 1000:8.1f}ms {b * 1000:8.1f}ms {b / a:13.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
