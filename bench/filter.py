"""Filters at scale: the capture index and every filter of docs/filter.md on a million calls.

Generates (or reuses, ``--keep PATH``) a capture (bench/_generate.py: 1,000,000 calls, ~1.4 GB)
and reports, with the index cache in a fresh temporary directory:

- the first index (nothing cached), a reopen (the cached index), and an incremental reopen after
  appending calls; baseline: reading the file and parsing every line's JSON in one process;
- every filter shown in docs/filter.md, and the benchmark's own, over all calls (time, rows);
- ``rpcspy show CAPTURE --filter EXPR --json`` (the real command, the cache warm) for a few
  selective filters: its time and whether it printed the same calls as the index found;
- resident memory: this process's peak, and the peak of the helper processes.

It reports figures and asserts nothing. ``--quick`` uses 20,000 calls; ``--calls N`` any number.

    .venv/bin/python bench/filter.py             # 1,000,000 calls
    .venv/bin/python bench/filter.py --quick
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _generate import ensure, generate  # noqa: E402

from rpcspy.capture import CaptureWriter, read_capture  # noqa: E402
from rpcspy.capture.index import IndexBuilder  # noqa: E402
from rpcspy.filter import FilterError, filter_rows, parse_filter  # noqa: E402

#: The benchmark's own filters, beside the documented ones.
EXTRA = [
    "method:user.*",
    "fault",
    "not ok",
    "mallory",
    "params[0].name=bob",
    "params[0].id:string",
    "params[0].id:int",
    "result.admin=true",
    "method:user.get and bob",
    "alice or fault",
    "params[*].recursive=false",
    "result.total>250",
]
#: Selective filters also run through ``rpcspy show --filter``.
SHOW = ["params[0].id:string", "fault:-32601", "mallory", "result.total>499", "result.admin=true"]


def documented_filters() -> list[str]:
    """Every code span and line of the first code block of docs/filter.md that parses."""
    text = (ROOT / "docs" / "filter.md").read_text()
    found: list[str] = []
    block = re.search(r"```\n(.*?)```", text, flags=re.S)
    if block:
        found.extend(line.strip() for line in block.group(1).splitlines() if line.strip())
    for span in re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S)):
        span = span.replace("\\|", "|")
        if (
            re.search(r"\b[A-Z]+\b", span)  # a placeholder: method:GLOB, A and B, "TEXT"
            or span.startswith((".", "rpcspy", "parse_filter", "["))
            or not re.search(r"[a-z]", span)
            or (" " in span.strip('"') and ":" not in span and "=" not in span)
        ):
            continue
        try:
            parse_filter(span)
        except FilterError:
            continue
        if not span.isalnum() or span in ("fault", "ok", "problem", "error", "multicall"):
            found.append(span)
    return list(dict.fromkeys(found))


def peak_mb() -> tuple[float, float]:
    """(this process, the largest child) peak resident memory in MB."""
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, children


def baseline(path: Path) -> float:
    t = time.perf_counter()
    with open(path, "rb") as f:
        for line in f:
            orjson.loads(line)
    return time.perf_counter() - t


def cpu_s() -> tuple[float, float]:
    """(this process, its ended children) CPU seconds so far, user + system."""
    t = os.times()
    return t.user + t.system, t.children_user + t.children_system


def timed_open(path: Path) -> tuple[IndexBuilder, float, tuple[float, float]]:
    """An index built (or loaded), the wall seconds and (this process, helpers) CPU seconds."""
    me, kids = cpu_s()
    t = time.perf_counter()
    builder = IndexBuilder(path)
    builder.run()
    elapsed = time.perf_counter() - t
    me2, kids2 = cpu_s()
    return builder, elapsed, (me2 - me, kids2 - kids)


def cpu_line(wall: float, cpu: tuple[float, float], calls: int) -> str:
    """Wall and CPU figures, and the wall time the CPU implies on an idle machine."""
    total = cpu[0] + cpu[1]
    cores = os.cpu_count() or 1
    idle = max(cpu[0], total / cores)
    return (
        f"{wall:.2f} s wall at load {os.getloadavg()[0]:.1f}; CPU {total:.2f} s "
        f"(this process {cpu[0]:.2f} s, helpers {cpu[1]:.2f} s) = "
        f"{total / max(calls, 1) * 1e6:.1f} us per call; on {cores} idle cores about {idle:.2f} s"
    )


def show(path: Path, text: str) -> tuple[float, list[int]]:
    rpcspy = str(Path(sys.executable).with_name("rpcspy"))
    t = time.perf_counter()
    out = subprocess.run(
        [rpcspy, "show", str(path), "--filter", text, "--json"],
        capture_output=True,
        check=False,
    )
    elapsed = time.perf_counter() - t
    return elapsed, [orjson.loads(line)["seq"] for line in out.stdout.splitlines()]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="20,000 calls")
    ap.add_argument("--calls", type=int, help="number of calls (default 1,000,000)")
    ap.add_argument("--keep", type=Path, help="write the capture here (reused if it exists)")
    args = ap.parse_args()
    n = args.calls or (20_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory(prefix="rpcspy-bench-") as tmp:
        os.environ["RPCSPY_CACHE_DIR"] = str(Path(tmp) / "cache")
        path = args.keep or Path(tmp) / "big.jsonl"
        ensure(path, n)
        size = path.stat().st_size
        print(f"capture: {path} ({size / 1e6:.0f} MB); {os.cpu_count()} cores")
        print(f"baseline: read + orjson.loads every line, one process: {baseline(path):.2f} s")

        builder, first, cpu = timed_open(path)
        count = builder.index.count
        print(f"first open (nothing cached), {count:,} calls ({builder.source}):")
        print(f"  {cpu_line(first, cpu, count)}")
        builder.close()
        builder, again, cpu = timed_open(path)
        print(f"reopen (cached index): {cpu_line(again, cpu, count)} ({builder.source})")
        builder.close()
        extra = Path(tmp) / "extra.jsonl"
        generate(extra, 10_000, seed=2)
        with read_capture(extra) as reader, CaptureWriter(path) as writer:
            for record in reader:
                writer.write(record)
        builder, grown, _cpu = timed_open(path)
        print(
            f"reopen after 10,000 calls were appended: {grown:.2f} s "
            f"({builder.source}, {builder.index.count:,} calls)"
        )
        index = builder.index

        filters = documented_filters() + [f for f in EXTRA if f not in documented_filters()]
        print(f"filters over all {index.count:,} calls ({len(filters)}: docs/filter.md + own):")
        slowest = ("", 0.0)
        for text in filters:
            flt = parse_filter(text)
            t = time.perf_counter()
            rows = filter_rows(index, flt)
            elapsed = time.perf_counter() - t
            slowest = max(slowest, (text, elapsed), key=lambda x: x[1])
            print(f"  {text:46} {elapsed:6.2f} s  {len(rows):>9,} rows")
        print(f"slowest filter: {slowest[0]!r} {slowest[1]:.2f} s")

        print("rpcspy show --filter EXPR --json (a new process, cached index):")
        for text in SHOW:
            elapsed, seqs = show(path, text)
            want = [index.seq[r] for r in filter_rows(index, parse_filter(text))]
            same = "same calls as the index" if seqs == want else "DIFFERENT calls"
            print(f"  {text:30} {elapsed:6.2f} s  {len(seqs):>9,} calls, {same}")
        builder.close()
        if args.keep:
            os.truncate(path, size)  # a kept capture is left as it was generated
        me, child = peak_mb()
        print(f"peak RSS: this process {me:.0f} MB, largest helper process {child:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
