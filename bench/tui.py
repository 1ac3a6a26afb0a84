"""TUI at scale: a million-call capture; first screen, indexing, filters, memory, scrolling.

Generates a realistic capture (small calls to a handful of methods, a few faults, multicalls,
problems, slow calls), opens it in the real app (headless, Textual's test driver) and reports:

- first screen: from launching ``rpcspy tui`` in a real terminal (tmux) until the first row is
  drawn, beside an empty Textual app launched the same way (what Textual alone costs), and,
  headless, from creating the app until the list's first page is painted (and, beside it,
  until the app is idle after that: on a reopen the rest of a big index is read by then);
- indexing: until every call is indexed (baseline: reading the file and parsing every line's JSON),
  on first open (no cached index) and on reopen (the index cached by the first open);
- each filter over all calls through the capture index, and through the UI with the longest stall
  of the event loop meanwhile (the UI must stay responsive);
- resident memory (VmRSS now, VmHWM peak) after indexing and filtering (and the peak of the
  helper processes that index a big file in pieces on first open);
- CPU time per process: the app's own (up to its first screen, and until every call is indexed)
  and the helper processes' (with their number), so that figures taken on a busy machine still
  say what an idle one would do;
- paging through the list.

Each open runs in a fresh process (as a user's would), so a peak of memory belongs to one open
only; the first open (nothing cached) before the reopen (the cached index). The index cache goes
to a fresh temporary directory (``RPCSPY_CACHE_DIR``) for the run. The last lines sum up every
figure issue 8 names.

It reports figures and asserts nothing. ``--quick`` uses 20,000 calls; ``--calls N`` any number;
``--keep PATH`` keeps (or reuses) the generated capture.

    .venv/bin/python bench/tui.py            # 1,000,000 calls
    .venv/bin/python bench/tui.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _generate import ensure  # noqa: E402


def rss_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB."""
    now = peak = 0.0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                now = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return now, peak


def cpu_s() -> tuple[float, float]:
    """(this process, its ended children) CPU seconds so far, user + system."""
    t = os.times()
    return t.user + t.system, t.children_user + t.children_system


def cpu_line(report: dict[str, object], calls: int) -> str:
    """The CPU the first open took, and the wall time it implies on an idle machine."""
    me, kids = report["index_cpu_s"]  # type: ignore[misc]
    total = me + kids
    cores = os.cpu_count() or 1
    before, after = report["load"]  # type: ignore[misc]
    return (
        f"CPU {total:.2f} s (this process {me:.2f} s, helpers {kids:.2f} s) = "
        f"{total / max(calls, 1) * 1e6:.1f} us per call; load average {before:.1f} before, "
        f"{after:.1f} after; on {cores} idle cores about {max(me, total / cores):.2f} s"
    )


FILTERS = [
    "method:user.*",
    "fault",
    "fault:-32601",
    "ok",
    "not ok",
    "latency>200ms",
    "multicall",
    "problem",
    "size>1kb",
    "method:dir.* and latency>200ms",
    "mallory",
    "params[0].name=bob",
    "params[0].id:string",
    "result.admin=true",
    "method:user.get and bob",
    "alice or fault",
]


def baseline(path: Path, limit: int) -> float:
    """Seconds to read the file and parse every line's JSON (what one process must do at least
    when nothing is cached)."""
    t = time.perf_counter()
    with open(path, "rb") as f:
        for i, line in enumerate(f):
            orjson.loads(line)
            if i >= limit:
                break
    return time.perf_counter() - t


async def run_app(path: Path, n: int, *, filters: bool = True) -> dict[str, object]:
    from rpcspy.tui.app import RpcSpyApp
    from rpcspy.tui.screens.calls import CallsScreen

    report: dict[str, object] = {}
    # Baseline: the same app with nothing to read, until its (empty) screen is up.
    t0 = time.perf_counter()
    empty = RpcSpyApp(tz=dt.UTC)
    async with empty.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        report["empty_screen_s"] = time.perf_counter() - t0
    cpu0 = cpu_s()
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    app = RpcSpyApp(capture=path, tz=dt.UTC)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, CallsScreen)
        while not screen.call_list.shown:
            await asyncio.sleep(0.005)
        # The first screen: the list's first page painted (what a person sees first) ...
        painted = asyncio.Event()
        app.call_after_refresh(painted.set)
        await painted.wait()
        report["first_screen_s"] = time.perf_counter() - t0
        report["first_screen_cpu_s"] = cpu_s()[0] - cpu0[0]
        report["rows_at_first_screen"] = app.store.count
        # ... and the app idle after it (on a reopen the rest of a big index is read by then).
        await pilot.pause()
        report["first_idle_s"] = time.perf_counter() - t0
        assert app.indexer is not None
        while not app.indexer.done:
            await asyncio.sleep(0.02)
        await pilot.pause()
        report["indexed_s"] = time.perf_counter() - t0
        cpu1 = cpu_s()
        report["index_cpu_s"] = (cpu1[0] - cpu0[0], cpu1[1] - cpu0[1])
        report["load"] = (load, os.getloadavg()[0])
        report["rows"] = app.store.count
        report["index_source"] = app.indexer.source
        report["helpers"] = len(app.indexer._workers)
        gc.collect()
        report["rss_after_index_mb"] = rss_mb()
        if not filters:
            return report
        # Paging: 50 page-downs, each drawing new rows (records decoded lazily).
        screen.call_list.focus()
        t = time.perf_counter()
        for _ in range(50):
            await pilot.press("down")
        await pilot.pause()
        report["down_ms"] = (time.perf_counter() - t) * 1000 / 50
        t = time.perf_counter()
        for _ in range(50):
            await pilot.press("pagedown")
        await pilot.pause()
        report["page_down_ms"] = (time.perf_counter() - t) * 1000 / 50
        await pilot.press("end")
        await pilot.pause()
        # Filters through the UI, measuring the longest stall of the event loop.
        ui: list[tuple[str, float, int, float]] = []

        async def ticker(gaps: list[float], stop: asyncio.Event) -> None:
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                gaps[0] = max(gaps[0], now - last - 0.01)
                last = now

        for text in (
            "method:user.*",
            "fault",
            "latency>200ms",
            "mallory",
            "params[0].name=bob",
            "",
        ):
            gaps = [0.0]
            stop = asyncio.Event()
            task = asyncio.create_task(ticker(gaps, stop))
            generation = screen._generation
            t = time.perf_counter()
            screen.set_filter(text)
            while screen._generation == generation or screen._full_running:
                await asyncio.sleep(0.005)
            elapsed = time.perf_counter() - t
            stop.set()
            await task
            ui.append((text or "(clear)", elapsed, len(screen.call_list.shown), gaps[0] * 1000))
        report["ui_filters"] = ui
        from rpcspy.filter import filter_rows, parse_filter

        store_filters = []
        for text in FILTERS:
            flt = parse_filter(text)
            t = time.perf_counter()
            shown = filter_rows(app.store, flt)
            store_filters.append((text, time.perf_counter() - t, len(shown)))
        report["store_filters"] = store_filters
        t = time.perf_counter()
        srt = app.store.sort_rows(filter_rows(app.store, parse_filter("")), "duration")
        report["sort_s"] = (time.perf_counter() - t, len(srt))
        gc.collect()
        report["rss_after_filters_mb"] = rss_mb()
    return report


#: The baseline of the terminal measurement: an empty Textual app (one Static), launched the
#: same way, until its text is drawn: what any Textual app costs before its first paint.
EMPTY_APP = (
    "from textual.app import App\n"
    "from textual.widgets import Static\n"
    "class Empty(App):\n"
    "    def compose(self):\n"
    "        yield Static('EMPTY-APP-UP')\n"
    "Empty().run()\n"
)


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its living descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except (OSError, ValueError, IndexError):
        return total
    return total + sum(process_tree_cpu(c) for c in children)


#: Launches of ``rpcspy tui`` in a terminal (each beside one of the empty Textual app).
TERMINAL_ROUNDS = 5


def median(times: list[tuple[float, float]]) -> float:
    """The median wall time of (wall, CPU) pairs."""
    walls = sorted(w for w, _c in times)
    mid = len(walls) // 2
    return walls[mid] if len(walls) % 2 else (walls[mid - 1] + walls[mid]) / 2


def terminal_first_screen(path: Path | None, rounds: int = 3) -> list[tuple[float, float]] | None:
    """(wall, CPU) seconds from launching ``rpcspy tui`` in a real terminal (tmux) until the
    first call row is drawn: what a person waits for, process start and imports included; the
    CPU is the launched process's (its threads and children too) at that moment. With ``path``
    None, the same for an empty Textual app (``EMPTY_APP``). None without tmux."""
    if shutil.which("tmux") is None:
        return None
    if path is None:
        command = f"{sys.executable} -c {shlex.quote(EMPTY_APP)}"
        drawn = re.compile(r"EMPTY-APP-UP")
    else:
        command = f"{ROOT / '.venv' / 'bin' / 'rpcspy'} tui {path}"
        drawn = re.compile(r"^ +1 \d\d:\d\d:\d\d", re.M)
    socket = f"rpcspy-bench-{os.getpid()}"
    times: list[tuple[float, float]] = []
    for _ in range(rounds):
        for _attempt in range(5):
            # A new tmux server now and then dies while starting ("server exited unexpectedly").
            t0 = time.perf_counter()
            started = (
                subprocess.run(
                    ["tmux", "-L", socket, "new-session", "-d", "-x", "120", "-y", "30", command],
                    capture_output=True,
                    stdin=subprocess.DEVNULL,
                ).returncode
                == 0
            )
            if started:
                break
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
            time.sleep(0.2)
        else:
            return times or None
        try:
            pane = subprocess.run(
                ["tmux", "-L", socket, "list-panes", "-F", "#{pane_pid}"],
                capture_output=True,
                text=True,
            ).stdout.split()
            deadline = t0 + 30
            while time.perf_counter() < deadline:
                screen = subprocess.run(
                    ["tmux", "-L", socket, "capture-pane", "-p"], capture_output=True, text=True
                ).stdout
                if drawn.search(screen):
                    wall = time.perf_counter() - t0
                    times.append((wall, process_tree_cpu(int(pane[0])) if pane else 0.0))
                    break
                time.sleep(0.005)
        finally:
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    return times


def run_phase(path: Path, phase: str) -> dict[str, object]:
    """Run one open (``first`` or ``reopen``) in a fresh process; its report."""
    out = subprocess.run(
        [sys.executable, __file__, "--phase", phase, str(path)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    report: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return report


def phase_main(phase: str, path: Path) -> int:
    """The child side of ``run_phase``: one app, its report as JSON on the last line."""
    report = asyncio.run(run_app(path, 0, filters=phase == "reopen"))
    report["peak_rss_mb"] = rss_mb()[1]
    report["helper_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(report))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="20,000 calls")
    ap.add_argument("--calls", type=int, help="number of calls (default 1,000,000)")
    ap.add_argument("--keep", type=Path, help="write the capture here (reused if it exists)")
    ap.add_argument("--phase", choices=("first", "reopen"), help=argparse.SUPPRESS)
    ap.add_argument("capture", nargs="?", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        return phase_main(args.phase, args.capture)
    n = args.calls or (20_000 if args.quick else 1_000_000)
    tmpdir = None
    if args.keep:
        path = args.keep
    else:
        tmpdir = tempfile.TemporaryDirectory(prefix="rpcspy-bench-")
        path = Path(tmpdir.name) / "big.jsonl"
    try:
        ensure(path, n)
        cache = tempfile.TemporaryDirectory(prefix="rpcspy-bench-cache-")
        os.environ["RPCSPY_CACHE_DIR"] = cache.name
        base = baseline(path, n)
        print(f"baseline: read + orjson.loads every line: {base:.2f} s")
        first = run_phase(path, "first")
        me, kids = first["index_cpu_s"]  # type: ignore[misc]
        print(
            f"first open (nothing cached): first screen {first['first_screen_s']:.3f} s, "
            f"indexed {first['rows']:,} calls in {first['indexed_s']:.2f} s "
            f"({first['index_source']}); RSS {first['rss_after_index_mb'][0]:.0f} MB, "  # type: ignore[index]
            f"peak {first['peak_rss_mb']:.0f} MB; helper process peak "
            f"{first['helper_peak_rss_mb']:.0f} MB"
        )
        print(f"  {cpu_line(first, int(first['rows']))}")  # type: ignore[call-overload]
        print(
            f"  first screen: {first['first_screen_s']:.3f} s wall, "
            f"CPU of this process {first['first_screen_cpu_s']:.3f} s"
        )
        # Interleaved with the empty Textual app, so both see the same load.
        terminal: list[tuple[float, float]] = []
        empty_app: list[tuple[float, float]] = []
        for _round in range(TERMINAL_ROUNDS):
            terminal += terminal_first_screen(path, 1) or []
            empty_app += terminal_first_screen(None, 1) or []
        if terminal:
            print(
                f"first screen in a terminal (tmux, launch to first row drawn): "
                f"{min(terminal)[0]:.3f} s best, {median(terminal):.3f} s median, "
                f"{max(terminal)[0]:.3f} s worst of {len(terminal)}; "
                f"CPU {min(c for _w, c in terminal):.2f} s best"
            )
        if empty_app:
            print(
                f"  baseline, an empty Textual app (one Static) the same way: "
                f"{min(empty_app)[0]:.3f} s best, {median(empty_app):.3f} s median, "
                f"{max(empty_app)[0]:.3f} s worst; CPU {min(c for _w, c in empty_app):.2f} s best"
            )
        report = run_phase(path, "reopen")
        rows = report["rows"]
        print(
            f"first screen:          {report['first_screen_s']:.3f} s "
            f"({report['rows_at_first_screen']:,} calls indexed by then; "
            f"baseline, the app with no capture: {report['empty_screen_s']:.3f} s); "
            f"CPU of this process {report['first_screen_cpu_s']:.3f} s; idle after it "
            f"{report['first_idle_s']:.3f} s"
        )
        indexed = float(report["indexed_s"])  # type: ignore[arg-type]
        print(
            f"reopen: indexed {rows:,} calls: {indexed:.2f} s ({report['index_source']}; "
            f"first open {first['indexed_s']:.2f} s, {float(first['indexed_s']) / base:.2f}x "  # type: ignore[arg-type]
            "baseline)"
        )
        now, peak = report["rss_after_index_mb"]  # type: ignore[misc]
        print(f"memory after index:    RSS {now:.0f} MB, peak {peak:.0f} MB")
        print(
            f"page down:             {report['page_down_ms']:.1f} ms per page "
            f"(one row down: {report['down_ms']:.1f} ms, the test driver's cost per key)"
        )
        print("filters over all calls (the store's work, done in a worker thread in the app):")
        for text, elapsed, shown_n in report["store_filters"]:  # type: ignore[attr-defined]
            print(f"  {text:34} {elapsed:6.2f} s  {shown_n:>9,} shown")
        print("filters typed in the UI (time until the list shows the result; longest UI stall):")
        for text, elapsed, shown_n, stall in report["ui_filters"]:  # type: ignore[attr-defined]
            print(f"  {text:34} {elapsed:6.2f} s  {shown_n:>9,} shown   stall {stall:5.0f} ms")
        sort_s, sorted_n = report["sort_s"]  # type: ignore[misc]
        print(f"sort all by duration:  {sort_s:.2f} s ({sorted_n:,} rows)")
        now, peak = report["rss_after_filters_mb"]  # type: ignore[misc]
        print(f"memory after filters:  RSS {now:.0f} MB, peak {peak:.0f} MB")
        r_me, _r_kids = report["index_cpu_s"]  # type: ignore[misc]
        worst = max(report["store_filters"] + report["ui_filters"], key=lambda f: f[1])  # type: ignore[operator]
        print("issue 8 figures (each open in its own process):")
        print(
            f"  first screen (headless, cached index)  {report['first_screen_s']:.3f} s wall, "
            f"{report['first_screen_cpu_s']:.3f} s CPU (idle {report['first_idle_s']:.3f} s); "
            f"first open {first['first_screen_s']:.3f} s wall, "
            f"{first['first_screen_cpu_s']:.3f} s CPU (idle {first['first_idle_s']:.3f} s) "
            "(target <= 0.6 s)"
        )
        if terminal:
            print(
                f"  first screen (terminal, cached index)  {min(terminal)[0]:.3f} s best, "
                f"{median(terminal):.3f} s median of {len(terminal)}, "
                f"{min(c for _w, c in terminal):.2f} s CPU; "
                + (
                    f"an empty Textual app {min(empty_app)[0]:.3f} s best, "
                    f"{median(empty_app):.3f} s median, "
                    f"{min(c for _w, c in empty_app):.2f} s CPU"
                    if empty_app
                    else "no empty-app baseline"
                )
            )
        print(
            f"  full index on first open               {first['indexed_s']:.2f} s wall; CPU "
            f"app {me:.2f} s + {first['helpers']} helpers {kids:.2f} s = {me + kids:.2f} s "
            "(target <= 8 s)"
        )
        print(
            f"  reopen                                 {indexed:.2f} s wall; CPU app "
            f"{r_me:.2f} s (target <= 1 s)"
        )
        print(
            f"  slowest filter                         {worst[1]:.2f} s ({worst[0]}) "
            "(target <= 2 s)"
        )
        print(
            f"  peak RSS                               first open {first['peak_rss_mb']:.0f} MB "
            f"(helpers {first['helper_peak_rss_mb']:.0f} MB each at most), reopen and filters "
            f"{report['peak_rss_mb']:.0f} MB (target <= 300 MB)"
        )
        load = os.getloadavg()
        print(f"  load average now {load[0]:.1f} ({os.cpu_count()} cores)")
        cache.cleanup()
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
