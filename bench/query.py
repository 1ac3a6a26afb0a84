"""SQL over a million calls: ``rpcspy query`` (per-method p95) cold and warm, and
``rpcspy export --to parquet``, against baselines measured in the same run.

Generates (or reuses, ``--keep PATH``) a capture (bench/_generate.py: 1,000,000 calls, ~1.4 GB)
and, with the cache in a fresh temporary directory, runs the real commands and reports each one's
wall time and CPU time (the command and every process it started and waited for: the index's
helpers, the forked line readers; DuckDB's threads count in CPU):

- ``rpcspy query`` of the per-method p95 (docs/query.md): with nothing cached (the capture
  index is built first), with the index cached but no tables yet (*cold*), and again (*warm*);
- a query that needs the capture lines' columns (call ids) the first time;
- ``rpcspy export --to parquet`` of the whole capture, its tables cached and not, and the size
  of the export against the JSONL;
- baselines on the same capture: DuckDB's own ``read_json`` over the JSONL (what one would do
  without rpcspy), and a pure-Python p95 over the cached index's columns (rpcspy.capture).

The answers of all of them are compared. It asserts nothing else. The machine may be shared:
wall times then wait for other programs, CPU times do not.

    .venv/bin/python bench/query.py                    # 1,000,000 calls
    .venv/bin/python bench/query.py --keep /tmp/big.jsonl
    .venv/bin/python bench/query.py --quick            # 20,000 calls
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _generate import ensure  # noqa: E402

RPCSPY = [sys.executable, "-m", "rpcspy"]
P95 = (
    "SELECT method, count(*) AS calls, quantile_cont(duration_ms, 0.95) AS p95_ms "
    "FROM calls GROUP BY method ORDER BY method"
)
IDS = "SELECT count(DISTINCT id) AS ids FROM calls"


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a command; its wall time, its CPU time (with its children), its stdout."""
    cpu = _children_cpu()
    t = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t
    if done.returncode not in (0, 4):
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return wall, _children_cpu() - cpu, done.stdout


def report(label: str, wall: float, cpu: float, extra: str = "") -> None:
    print(f"  {label:<58} {wall:7.2f} s wall  {cpu:7.2f} s CPU{extra}")


def p95_rows(text: str) -> dict[str, tuple[int, float]]:
    """``method,calls,p95`` CSV lines (header first) to a dict."""
    out = {}
    for line in text.strip().splitlines()[1:]:
        method, calls, p95 = line.rsplit(",", 2)
        out[method] = (int(calls), float(p95))
    return out


def python_p95(capture: Path, env: dict[str, str]) -> str:
    """The baseline in pure Python over the cached index's columns (linear interpolation)."""
    code = f"""
import math, sys
sys.path.insert(0, {str(ROOT)!r})
from rpcspy.capture import open_index
index, builder = open_index({str(capture)!r})
by = {{}}
counts = {{}}
names = index.methods.names
for m, d in zip(index.method, index.duration):
    counts[m] = counts.get(m, 0) + 1
    if d == d:
        by.setdefault(m, []).append(d)
print("method,calls,p95_ms")
for m in sorted(counts, key=lambda m: names[m]):
    ds = sorted(by.get(m, []))
    x = 0.95 * (len(ds) - 1)
    lo = math.floor(x)
    hi = min(lo + 1, len(ds) - 1)
    print(f"{{names[m]}},{{counts[m]}},{{ds[lo] + (ds[hi] - ds[lo]) * (x - lo)!r}}")
builder.close()
"""
    return code


def duckdb_read_json(capture: Path) -> str:
    """The baseline DuckDB alone: read_json over the JSONL (the header line read and dropped)."""
    return f"""
import duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
rows = con.execute('''
    SELECT method, count(*), quantile_cont((ended - started) * 1000.0, 0.95)
    FROM read_json({str(capture)!r}, format = 'newline_delimited',
                   columns = {{type: 'VARCHAR', method: 'VARCHAR', started: 'DOUBLE',
                              ended: 'DOUBLE'}},
                   maximum_object_size = 1073741824)
    WHERE type = 'call' GROUP BY method ORDER BY method''').fetchall()
print("method,calls,p95_ms")
for method, calls, p95 in rows:
    print(f"{{method}},{{calls}},{{p95!r}}")
"""


def same(a: dict[str, tuple[int, float]], b: dict[str, tuple[int, float]]) -> bool:
    return a.keys() == b.keys() and all(
        a[k][0] == b[k][0] and math.isclose(a[k][1], b[k][1], rel_tol=1e-9) for k in a
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="20,000 calls")
    ap.add_argument("--keep", type=Path, help="generate the capture here once, reuse it after")
    args = ap.parse_args()
    calls = 20_000 if args.quick else args.calls
    work = Path(tempfile.mkdtemp(prefix="rpcspy-bench-query-"))
    try:
        capture = args.keep or work / "big.jsonl"
        ensure(capture, calls)
        cache = work / "cache"
        env = {**os.environ, "RPCSPY_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
        size = capture.stat().st_size
        print(
            f"capture: {capture} ({size / 1e6:.0f} MB); {os.cpu_count()} cores, "
            f"load average {os.getloadavg()[0]:.1f} (other programs share them)"
        )
        query = [*RPCSPY, "query", "--csv", str(capture), P95]
        print("rpcspy query, per-method p95:")
        wall, cpu, out = timed(query, env)
        report("nothing cached (index built, then the tables)", wall, cpu)
        answer = p95_rows(out)
        for label in ("warm (second query)", "warm (third query)"):
            wall, cpu, out = timed(query, env)
            report(label, wall, cpu)
            assert p95_rows(out) == answer
        shutil.rmtree(cache / "query")
        wall, cpu, out = timed(query, env)
        report("cold: index cached, no tables yet", wall, cpu)
        wall, cpu, out = timed(query, env)
        report("warm again", wall, cpu)
        wall, cpu, out = timed([*RPCSPY, "query", "--csv", str(capture), IDS], env)
        report("first query naming a column of the lines (call ids)", wall, cpu)
        wall, cpu, out = timed([*RPCSPY, "query", "--csv", str(capture), IDS], env)
        report("the same, warm", wall, cpu, f"  ({out.split()[-1]} ids)")

        print("baselines, same capture:")
        wall, cpu, out = timed([sys.executable, "-c", duckdb_read_json(capture)], env)
        report("DuckDB read_json over the JSONL", wall, cpu)
        agrees = same(p95_rows(out), answer)
        print(f"    same answer as rpcspy query: {agrees}")
        wall, cpu, out = timed([sys.executable, "-c", python_p95(capture, env)], env)
        report("pure Python over the cached index's columns", wall, cpu)
        print(f"    same answer as rpcspy query: {same(p95_rows(out), answer)}")

        print("rpcspy export --to parquet:")
        for label, fresh in (("tables cached", False), ("no tables cached (index cached)", True)):
            if fresh:
                shutil.rmtree(cache / "query")
            out_dir = work / f"export-{int(fresh)}.parquet"
            wall, cpu, _ = timed(
                [*RPCSPY, "export", str(capture), "--to", "parquet", "-o", str(out_dir)], env
            )
            written = sum(p.stat().st_size for p in out_dir.iterdir())
            report(
                label,
                wall,
                cpu,
                f"  {written / 1e6:.1f} MB = {written / size:.2%} of the JSONL",
            )
        check = [
            sys.executable,
            "-c",
            "import duckdb,sys; print('method,calls,p95_ms'); "
            "[print(f'{m},{n},{p!r}') for m, n, p in duckdb.sql(sys.argv[1]).fetchall()]",
            P95.replace("FROM calls", f"FROM '{out_dir}/calls.parquet'"),
        ]
        wall, cpu, out = timed(check, env)
        report("plain DuckDB, the same SQL on the export", wall, cpu)
        print(f"    same answer as rpcspy query: {same(p95_rows(out), answer)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
