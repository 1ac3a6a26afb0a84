"""``rpcspy api learn`` and ``rpcspy api check`` on a million calls: time, CPU and memory.

Generates (or reuses, ``--keep PATH``) the benchmark capture (bench/_generate.py: 1,000,000
calls, ~1.4 GB) and runs the real commands on it, each in a process of its own whose wall time,
CPU time (user + system) and peak resident memory are reported:

- ``rpcspy api learn CAPTURE -o api.json``;
- ``rpcspy api check CAPTURE --api api.json`` (the capture against what it taught: no finding);
- ``rpcspy api check`` against a narrower API, where ``user.get``'s ``id`` member was only ever
  an int: the calls that send it as a string become findings, printed one a line;
- ``api learn`` on a tenth of the calls, to show that memory does not grow with the file.

Baseline, in this process on the first ``--baseline`` calls (20,000): ``learn_records`` over
every record the reader gives (the definition) against ``learn_captures`` (the fast reading).

It reports figures and asserts nothing. ``--quick`` uses 20,000 calls; ``--calls N`` any number.

    .venv/bin/python bench/api.py             # 1,000,000 calls
    .venv/bin/python bench/api.py --quick
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _generate import ensure  # noqa: E402

from rpcspy.api.learn import learn_captures, learn_records  # noqa: E402
from rpcspy.api.model import api_to_json, load, save  # noqa: E402
from rpcspy.capture import read_capture  # noqa: E402

#: Runs rpcspy and, at exit, writes its own peak resident memory (VmHWM: this program's, not
#: the image it was forked from, which ``ru_maxrss`` would count) on the last line of stderr.
_CHILD = """
import atexit, runpy, sys

def peak():
    with open("/proc/self/status") as f:
        for row in f:
            if row.startswith("VmHWM:"):
                print("VmHWM", int(row.split()[1]), file=sys.stderr)

atexit.register(peak)
sys.argv = ["rpcspy", *sys.argv[1:]]
runpy.run_module("rpcspy", run_name="__main__")
"""


def run(*args: str | Path) -> tuple[float, float, float, int, bytes]:
    """``rpcspy ARGS`` in a child process: (wall s, CPU s, peak RSS MB, exit code, stdout)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, *map(str, args)], stdout=out, stderr=err, env=env
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()
    peak_kb = int(tail[-1].split()[1]) if tail and tail[-1].startswith("VmHWM") else 0
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, peak_kb / 1024, proc.returncode, text


def line(label: str, wall: float, cpu: float, rss: float, calls: int, extra: str = "") -> str:
    rate = calls / wall if wall else 0.0
    return (
        f"{label:34} {wall:7.2f} s wall  {cpu:7.2f} s CPU  {rss:6.0f} MB peak RSS  "
        f"{rate:9,.0f} calls/s{extra}"
    )


def head(path: Path, calls: int, into: Path) -> Path:
    """The header and first ``calls`` lines of ``path``."""
    with open(path, "rb") as src, open(into, "wb") as dst:
        for i, data in enumerate(src):
            if i > calls:
                break
            dst.write(data)
    return into


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="20,000 calls")
    ap.add_argument("--calls", type=int, help="number of calls (default 1,000,000)")
    ap.add_argument("--keep", type=Path, help="keep (or reuse) the generated capture here")
    ap.add_argument("--baseline", type=int, default=20_000, help="calls for the baseline ratio")
    args = ap.parse_args()
    n = args.calls or (20_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory(prefix="rpcspy-bench-api-") as tmp_name:
        tmp = Path(tmp_name)
        path = args.keep or tmp / f"bench-{n}.jsonl"
        ensure(path, n)
        size = path.stat().st_size
        load_before = os.getloadavg()[0]
        print(f"capture: {n:,} calls, {size / 1e6:,.0f} MB; {os.cpu_count()} cores, ", end="")
        print(f"load average {load_before:.1f}")

        api_file = tmp / "api.json"
        wall, cpu, rss, code, _ = run("api", "learn", path, "-o", api_file, "--no-progress")
        print(line("rpcspy api learn", wall, cpu, rss, n, f"  (exit {code})"))

        wall, cpu, rss, code, out = run("api", "check", path, "--api", api_file, "--no-progress")
        summary = out.decode().strip().splitlines()[-1]
        print(line("rpcspy api check (same API)", wall, cpu, rss, n, f"  (exit {code})"))
        print(f"  {summary}")

        narrow = load(api_file)
        struct = narrow.methods["user.get"].params[0].struct
        assert struct is not None
        member = struct.members["id"]
        member.shape.scalars = {k: v for k, v in member.shape.scalars.items() if k != "string"}
        narrow_file = tmp / "narrow.json"
        save(narrow, narrow_file)
        wall, cpu, rss, code, out = run("api", "check", path, "--api", narrow_file, "--no-progress")
        lines = out.decode().strip().splitlines()
        print(line("rpcspy api check (narrower API)", wall, cpu, rss, n, f"  (exit {code})"))
        print(f"  {lines[-1]}; e.g. {lines[0] if len(lines) > 1 else '-'}")

        tenth = max(n // 10, 1)
        part = head(path, tenth, tmp / "tenth.jsonl")
        wall, cpu, rss, code, _ = run("api", "learn", part, "-o", tmp / "t.json", "--no-progress")
        print(line(f"rpcspy api learn ({tenth:,} calls)", wall, cpu, rss, tenth))

        few = min(args.baseline, n)
        sample = head(path, few, tmp / "sample.jsonl")
        t = time.perf_counter()
        with read_capture(sample) as reader:
            definition = learn_records(reader)
        slow = time.perf_counter() - t
        t = time.perf_counter()
        fast = learn_captures([sample])
        quick = time.perf_counter() - t
        same = api_to_json(fast) == api_to_json(definition)
        print(
            f"baseline on {few:,} calls: learn_records over the records {slow:.2f} s, "
            f"learn_captures {quick:.2f} s: {slow / max(quick, 1e-9):.1f}x faster; "
            f"same description: {same}"
        )
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
