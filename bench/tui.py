"""TUI at scale: a million-call capture; first screen, indexing, filters, memory, scrolling.

Generates a realistic capture (small calls to a handful of methods, a few faults, multicalls,
problems, slow calls), opens it in the real app (headless, Textual's test driver) and reports:

- first screen: from launching ``rpcspy tui`` in a real terminal (tmux) until the first row is
  drawn, and, headless, from creating the app until the list shows calls and the app is idle;
- indexing: until every call is indexed (baseline: reading the file and parsing every line's JSON);
- each filter over all calls through the store, and through the UI with the longest stall of the
  event loop meanwhile (the UI must stay responsive);
- resident memory (VmRSS now, VmHWM peak) after indexing and filtering;
- paging through the list.

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
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rpcspy.capture import CallRecord, HttpMessage, build_record  # noqa: E402
from rpcspy.capture.schema import dumps_line, make_header, record_to_json  # noqa: E402

T0 = 1_700_000_000.0
METHODS = [
    (
        "user.get",
        lambda r: ({"name": r.choice(NAMES), "id": r.randint(1, 9999)},),
        lambda r: {"name": r.choice(NAMES), "id": r.randint(1, 9999), "admin": r.random() < 0.1},
    ),
    (
        "dir.list",
        lambda r: (f"/srv/{r.choice(NAMES)}", {"recursive": False}),
        lambda r: [f"file{i}.txt" for i in range(r.randint(0, 5))],
    ),
    ("math.add", lambda r: (r.randint(0, 100), r.randint(0, 100)), lambda r: r.randint(0, 200)),
    ("system.listMethods", lambda r: (), lambda r: ["dir.list", "math.add", "user.get"]),
    (
        "order.create",
        lambda r: (
            {
                "sku": f"SKU-{r.randint(1, 500)}",
                "qty": r.randint(1, 9),
                "when": xmlrpc.client.DateTime(dt.datetime(2024, 5, 1, 12, 0)),
            },
        ),
        lambda r: {"order": r.randint(1, 10**6), "total": round(r.uniform(1, 500), 2)},
    ),
    ("session.ping", lambda r: (), lambda r: True),
]
NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]


def _exchange(
    seq: int,
    method: str,
    params: tuple[object, ...],
    *,
    result: object = None,
    fault: tuple[int, str] | None = None,
    raw_response: bytes | None = None,
    error: str | None = None,
) -> CallRecord:
    body = xmlrpc.client.dumps(params, method, allow_none=True).encode()
    if raw_response is None and error is None:
        if fault is not None:
            raw_response = xmlrpc.client.dumps(
                xmlrpc.client.Fault(*fault), methodresponse=True
            ).encode()
        else:
            raw_response = xmlrpc.client.dumps(
                (result,), methodresponse=True, allow_none=True
            ).encode()
    return build_record(
        HttpMessage(
            (
                ("Host", "10.0.0.1:8000"),
                ("User-Agent", "Python-xmlrpc/3.12"),
                ("Content-Type", "text/xml"),
                ("Content-Length", str(len(body))),
            ),
            body,
        ),
        HttpMessage(
            () if error else (("Server", "BaseHTTP/0.6 Python/3.12"), ("Content-Type", "text/xml")),
            raw_response,
        ),
        started=T0,
        ended=None if error else T0 + 0.002,
        client=("10.0.0.7", 40000),
        server=("10.0.0.1", 8000),
        scheme="http",
        host="10.0.0.1",
        port=8000,
        path="/RPC2",
        status=None if error else 200,
        error=error,
        seq=seq,
    )


def templates(rng: random.Random) -> list[tuple[dict[str, object], str]]:
    """About 200 distinct exchanges as capture JSON objects, each with its kind."""
    out: list[tuple[dict[str, object], str]] = []
    for i in range(180):
        method, make_params, make_result = METHODS[i % len(METHODS)]
        out.append(
            (record_to_json(_exchange(i, method, make_params(rng), result=make_result(rng))), "ok")
        )
    for code, text in (
        (-32601, "method not found"),
        (4, "Too many parameters"),
        (-32602, "invalid params"),
    ):
        out.append(
            (
                record_to_json(
                    _exchange(0, "user.get", ({"name": "mallory"},), fault=(code, text))
                ),
                "fault",
            )
        )
    calls = [
        {"methodName": "math.add", "params": [1, 2]},
        {"methodName": "user.get", "params": [{"name": "bob"}]},
        {"methodName": "nope", "params": []},
    ]
    response = xmlrpc.client.dumps(
        ([[3], [{"name": "bob", "id": 2}], {"faultCode": -32601, "faultString": "nope"}],),
        methodresponse=True,
    ).encode()
    out.append(
        (
            record_to_json(_exchange(0, "system.multicall", (calls,), raw_response=response)),
            "multicall",
        )
    )
    out.append(
        (
            record_to_json(
                _exchange(
                    0,
                    "user.get",
                    ({"name": "x"},),
                    raw_response=b"<methodResponse><params><param><value><int>1",
                )
            ),
            "problem",
        )
    )
    out.append(
        (
            record_to_json(
                _exchange(0, "math.add", (1, 2), error="upstream refused the connection")
            ),
            "error",
        )
    )
    return out


def generate(path: Path, n: int, seed: int = 1) -> None:
    """Write a capture of ``n`` calls: ~1% faults, ~0.5% multicalls, ~0.1% problems, ~2% slow."""
    rng = random.Random(seed)
    temps = templates(rng)
    by_kind: dict[str, list[dict[str, object]]] = {}
    for obj, kind in temps:
        by_kind.setdefault(kind, []).append(obj)
    ok = by_kind["ok"]
    with open(path, "wb") as out:
        out.write(dumps_line(make_header(created=dt.datetime(2024, 5, 1, tzinfo=dt.UTC))))
        buf: list[bytes] = []
        t = T0
        for seq in range(1, n + 1):
            x = rng.random()
            if x < 0.01:
                obj = rng.choice(by_kind["fault"])
            elif x < 0.015:
                obj = by_kind["multicall"][0]
            elif x < 0.016:
                obj = by_kind["problem"][0]
            elif x < 0.0165:
                obj = by_kind["error"][0]
            else:
                obj = ok[rng.randrange(len(ok))]
            t += rng.expovariate(200.0)
            d = dict(obj)
            d["seq"] = seq
            d["id"] = f"{seq:032x}"
            d["started"] = t
            slow = rng.random() < 0.02
            ms = rng.uniform(200, 900) if slow else rng.lognormvariate(0.7, 0.6)
            if d["ended"] is not None:
                d["ended"] = t + ms / 1000.0
                d["duration_ms"] = ms
            d["client"] = ["10.0.0." + str(7 + seq % 5), 40000 + seq % 20000]
            buf.append(orjson.dumps(d, option=orjson.OPT_APPEND_NEWLINE))
            if len(buf) >= 10_000:
                out.write(b"".join(buf))
                buf.clear()
        out.write(b"".join(buf))


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
    "result.admin=true",
    "method:user.get and bob",
    "alice or fault",
]


def baseline(path: Path, limit: int) -> float:
    """Seconds to read the file and parse every line's JSON (the least any indexer must do)."""
    t = time.perf_counter()
    with open(path, "rb") as f:
        for i, line in enumerate(f):
            orjson.loads(line)
            if i >= limit:
                break
    return time.perf_counter() - t


async def run_app(path: Path, n: int) -> dict[str, object]:
    from rpcspy.tui.app import RpcSpyApp
    from rpcspy.tui.screens.calls import CallsScreen

    report: dict[str, object] = {}
    # Baseline: the same app with nothing to read, until its (empty) screen is up.
    t0 = time.perf_counter()
    empty = RpcSpyApp(tz=dt.UTC)
    async with empty.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        report["empty_screen_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    app = RpcSpyApp(capture=path, tz=dt.UTC)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, CallsScreen)
        while not screen.call_list.shown:
            await asyncio.sleep(0.005)
        await pilot.pause()
        report["first_screen_s"] = time.perf_counter() - t0
        report["rows_at_first_screen"] = app.store.count
        assert app.indexer is not None
        while not app.indexer.done:
            await asyncio.sleep(0.02)
        await pilot.pause()
        report["indexed_s"] = time.perf_counter() - t0
        report["rows"] = app.store.count
        gc.collect()
        report["rss_after_index_mb"] = rss_mb()
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
        from rpcspy.filter import parse_filter

        store_filters = []
        for text in FILTERS:
            flt = parse_filter(text)
            t = time.perf_counter()
            shown = app.store.filter_rows(flt)
            store_filters.append((text, time.perf_counter() - t, len(shown)))
        report["store_filters"] = store_filters
        t = time.perf_counter()
        srt = app.store.sort_rows(app.store.filter_rows(parse_filter("")), "duration")
        report["sort_s"] = (time.perf_counter() - t, len(srt))
        gc.collect()
        report["rss_after_filters_mb"] = rss_mb()
    return report


def terminal_first_screen(path: Path, rounds: int = 3) -> list[float] | None:
    """Seconds from launching ``rpcspy tui`` in a real terminal (tmux) until the first call row
    is drawn: what a person waits for, process start and imports included. None without tmux."""
    if shutil.which("tmux") is None:
        return None
    rpcspy = str(ROOT / ".venv" / "bin" / "rpcspy")
    socket = f"rpcspy-bench-{os.getpid()}"
    row = re.compile(r"^ +1 \d\d:\d\d:\d\d", re.M)
    times: list[float] = []
    for _ in range(rounds):
        for _attempt in range(5):
            # A new tmux server now and then dies while starting ("server exited unexpectedly").
            t0 = time.perf_counter()
            started = (
                subprocess.run(
                    [
                        "tmux",
                        "-L",
                        socket,
                        "new-session",
                        "-d",
                        "-x",
                        "120",
                        "-y",
                        "30",
                        f"{rpcspy} tui {path}",
                    ],
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
            deadline = t0 + 30
            while time.perf_counter() < deadline:
                screen = subprocess.run(
                    ["tmux", "-L", socket, "capture-pane", "-p"], capture_output=True, text=True
                ).stdout
                if row.search(screen):
                    times.append(time.perf_counter() - t0)
                    break
                time.sleep(0.005)
        finally:
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="20,000 calls")
    ap.add_argument("--calls", type=int, help="number of calls (default 1,000,000)")
    ap.add_argument("--keep", type=Path, help="write the capture here (reused if it exists)")
    args = ap.parse_args()
    n = args.calls or (20_000 if args.quick else 1_000_000)
    tmpdir = None
    if args.keep:
        path = args.keep
    else:
        tmpdir = tempfile.TemporaryDirectory(prefix="rpcspy-bench-")
        path = Path(tmpdir.name) / "big.jsonl"
    try:
        if not path.exists():
            t = time.perf_counter()
            generate(path, n)
            print(
                f"generated {n:,} calls in {time.perf_counter() - t:.1f} s: "
                f"{path.stat().st_size / 1e6:.0f} MB ({path.stat().st_size // n} B/call)"
            )
        base = baseline(path, n)
        print(f"baseline: read + orjson.loads every line: {base:.2f} s")
        terminal = terminal_first_screen(path)
        if terminal:
            print(
                f"first screen in a terminal (tmux, launch to first row drawn): "
                f"{min(terminal):.3f} s best, {max(terminal):.3f} s worst of {len(terminal)}"
            )
        report = asyncio.run(run_app(path, n))
        rows = report["rows"]
        print(
            f"first screen:          {report['first_screen_s']:.3f} s "
            f"({report['rows_at_first_screen']:,} calls indexed by then; "
            f"baseline, the app with no capture: {report['empty_screen_s']:.3f} s)"
        )
        indexed = float(report["indexed_s"])  # type: ignore[arg-type]
        print(f"indexed {rows:,} calls: {indexed:.2f} s ({indexed / base:.2f}x baseline)")
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
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
