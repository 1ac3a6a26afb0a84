"""``rpcspy diff`` on two large captures: time and memory, next to just reading them.

Builds capture A (100,000 calls by default, 10,000 with ``--quick``) of mixed methods, and B from
A with a few hundred calls removed, inserted, changed (result or params) and swapped, written to a
temporary directory. Then, in the same run:

- the baseline: reading both captures once with ``read_capture`` (records only, no diff);
- ``diff_capture_files`` (what ``rpcspy diff`` runs), in one process and with two worker
  processes reading A and B at once: a pass over each capture for compact prints, the
  alignment, a second pass for the few records that differ, and the diff engine on them.

Reports seconds, calls per second, the ratio to the baseline and the peak resident memory of
the main process (the workers' is about that of one reading); asserts nothing.

    .venv/bin/python bench/diff_captures.py [--quick] [--calls N]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import xmlrpc.client
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from rpcspy.capture import CallRecord, CaptureWriter, HttpMessage, build_record, read_capture
from rpcspy.replay.capdiff import diff_capture_files


def _record(seq: int, method: str, params: tuple[object, ...], result: object) -> CallRecord:
    body = xmlrpc.client.dumps(params, method, allow_none=True).encode()
    answer = xmlrpc.client.dumps((result,), methodresponse=True, allow_none=True).encode()
    return build_record(
        HttpMessage((("Content-Type", "text/xml"),), body),
        HttpMessage((("Content-Type", "text/xml"),), answer),
        started=1_700_000_000.0 + seq / 100,
        ended=1_700_000_000.0 + seq / 100 + 0.002,
        client=("127.0.0.1", 50000),
        server=("127.0.0.1", 8000),
        scheme="http",
        host="127.0.0.1",
        port=8000,
        path="/RPC2",
        status=200,
        seq=seq,
    )


def _call(i: int, rnd: random.Random) -> tuple[str, tuple[object, ...], object]:
    kind = i % 5
    if kind == 0:
        return (
            "user.get",
            ({"id": i, "fields": ["name", "email"]},),
            {"id": i, "name": f"user{i}", "email": f"u{i}@example.org", "active": bool(i % 2)},
        )
    if kind == 1:
        return "add", (i, 7), i + 7
    if kind == 2:
        return "system.listMethods", (), ["add", "echo", "user.get", "demo.version"]
    if kind == 3:
        return "echo", (f"text {rnd.randint(0, 50)}",), f"TEXT {i}"
    return "stats.get", (i % 100,), {"mean": i / 7, "n": i, "tags": ["a", "b", "c"]}


def _write(path: Path, records: list[CallRecord]) -> None:
    with CaptureWriter(path, append=False) as writer:
        for record in records:
            writer.write(record)


def _build(n: int, folder: Path) -> tuple[Path, Path, Counter[str]]:
    rnd = random.Random(2024)
    calls = [_call(i, rnd) for i in range(n)]
    a_records = [_record(i + 1, m, p, r) for i, (m, p, r) in enumerate(calls)]
    b_records = list(a_records)
    edits: Counter[str] = Counter()
    k = max(n // 500, 5)
    for _ in range(k):
        del b_records[rnd.randrange(len(b_records))]
        edits["removed"] += 1
    for _ in range(k):
        i = rnd.randrange(len(b_records))
        b_records.insert(i, _record(0, "echo", ("inserted",), "INSERTED"))
        edits["inserted"] += 1
    for _ in range(k):
        i = rnd.randrange(len(b_records))
        old = b_records[i]
        if old.method == "add":
            b_records[i] = _record(old.seq, "add", (1, 2), 4)
            edits["changed"] += 1
    for _ in range(k // 2):
        i = rnd.randrange(len(b_records) - 1)
        b_records[i], b_records[i + 1] = b_records[i + 1], b_records[i]
        edits["swapped"] += 1
    b_records = [r if r.seq == j + 1 else _reseq(r, j + 1) for j, r in enumerate(b_records)]
    a, b = folder / "a.jsonl", folder / "b.jsonl"
    _write(a, a_records)
    _write(b, b_records)
    return a, b, edits


def _reseq(record: CallRecord, seq: int) -> CallRecord:
    from dataclasses import replace

    return replace(record, seq=seq)


def _read_all(path: Path) -> int:
    with read_capture(path) as reader:
        return sum(1 for _ in reader)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 calls instead of 100,000")
    parser.add_argument("--calls", type=int, help="calls in capture A")
    args = parser.parse_args()
    n = args.calls or (10_000 if args.quick else 100_000)
    with tempfile.TemporaryDirectory(prefix="rpcspy-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        # Built in a child process, so that this one's peak memory is the diff's, not the
        # builder's lists of records.
        with ProcessPoolExecutor(max_workers=1) as pool:
            a, b, edits = pool.submit(_build, n, folder).result()
        build = time.perf_counter() - t0
        size = (a.stat().st_size + b.stat().st_size) / 1e6
        print(
            f"diff benchmark: A {n} calls, B with {dict(edits)}; {size:.0f} MB on disk "
            f"(built in {build:.1f} s)"
        )

        t0 = time.perf_counter()
        read = _read_all(a) + _read_all(b)
        baseline = time.perf_counter() - t0
        print(
            f"  read both captures once (baseline)  {baseline:7.2f} s  "
            f"{read / baseline:9.0f} calls/s   1.00x"
        )

        verdicts: Counter[str] = Counter()
        for label, parallel in (("one process", False), ("two processes", True)):
            t0 = time.perf_counter()
            results, _ = diff_capture_files(a, b, parallel=parallel)
            elapsed = time.perf_counter() - t0
            verdicts = Counter(r.verdict for r in results)
            print(
                f"  rpcspy diff A B, {label:14}     {elapsed:7.2f} s  {read / elapsed:9.0f} "
                f"calls/s   {elapsed / baseline:4.2f}x the baseline time"
            )
        print(f"  verdicts: {dict(sorted(verdicts.items()))}")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        scale = 1 if sys.platform == "darwin" else 1024
        print(f"  peak resident memory of this process: {rss * scale / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
