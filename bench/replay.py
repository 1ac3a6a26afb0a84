"""Replay throughput against the demo server, next to a stdlib client doing the same calls.

Starts ``rpcspy serve`` as a subprocess on a free port (so that the server does not share this
process's interpreter lock with the client being measured), records a session of mixed calls,
then in the same run times:

- the baseline: the stdlib ``xmlrpc.client.ServerProxy`` making the same calls one after another;
- ``Replayer`` re-sending the recorded bytes and comparing every answer, at several
  ``--concurrency`` values.

Reports calls per second and the ratio to the baseline; asserts nothing. ``--quick`` for a short
run. The demo server speaks HTTP/1.0 (a new connection per call, for both clients), so rounds are
kept small enough not to run out of ephemeral ports to TIME_WAIT.

    .venv/bin/python bench/replay.py [--quick] [--calls N] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path

from rpcspy.capture import CallRecord, HttpMessage, build_record
from rpcspy.replay import Replayer, ReplayOptions, Target

Call = tuple[str, tuple[object, ...]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    exe = Path(sys.executable).parent / "rpcspy"
    proc = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}/RPC2"
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("the demo server did not start") from None
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the demo server did not start within 20 s")


def _calls(n: int) -> list[Call]:
    mix: list[Callable[[int], Call]] = [
        lambda i: ("echo", (f"message {i}",)),
        lambda i: ("add", (i, i + 1)),
        lambda i: ("demo.echo", ({"id": i, "tags": ["a", "b"], "score": i / 3, "ok": True},)),
        lambda i: ("sample.sumAndDifference", (i, 7)),
        lambda i: ("demo.version", ()),
    ]
    return [mix[i % len(mix)](i) for i in range(n)]


def _record(url: str, calls: list[Call]) -> list[CallRecord]:
    """One exchange per call, sent as the stdlib client would and kept as a record."""
    import http.client
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    records = []
    for seq, (method, params) in enumerate(calls, 1):
        body = xmlrpc.client.dumps(params, method, allow_none=True).encode()
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=30)
        started = time.time()
        headers = {"Content-Type": "text/xml", "User-Agent": "bench"}
        conn.request("POST", parts.path, body, headers)
        resp = conn.getresponse()
        data = resp.read()
        records.append(
            build_record(
                HttpMessage(tuple(headers.items()), body),
                HttpMessage(tuple(resp.getheaders()), data),
                started=started,
                ended=time.time(),
                client=None,
                server=None,
                scheme="http",
                host=parts.hostname or "",
                port=parts.port or 80,
                path=parts.path,
                status=resp.status,
                seq=seq,
            )
        )
        conn.close()
    return records


def _direct(url: str, calls: list[Call]) -> float:
    proxy = xmlrpc.client.ServerProxy(url, allow_none=True)
    start = time.perf_counter()
    for method, params in calls:
        getattr(proxy, method)(*params)
    return time.perf_counter() - start


def _replay(url: str, records: list[CallRecord], concurrency: int) -> tuple[float, int]:
    options = ReplayOptions(target=Target.parse(url), concurrency=concurrency, timeout=30)
    start = time.perf_counter()
    with Replayer(options) as replayer:
        outcomes = list(replayer.replay(records))
    elapsed = time.perf_counter() - start
    differing = sum(1 for o in outcomes if o.verdict != "same")
    return elapsed, differing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--calls", type=int, help="calls per measurement")
    parser.add_argument("--repeat", type=int, default=2, help="best of N runs (default 2)")
    args = parser.parse_args()
    n = args.calls or (200 if args.quick else 1000)
    repeat = 1 if args.quick else args.repeat
    proc, url = _start_server()
    try:
        calls = _calls(n)
        records = _record(url, calls)
        direct = min(_direct(url, calls) for _ in range(repeat))
        print(f"replay benchmark: {n} calls against the demo server ({os.cpu_count()} CPUs)")
        print(f"  stdlib ServerProxy, one by one   {n / direct:8.0f} calls/s   1.00x  (baseline)")
        for concurrency in (1, 2, 4, 8):
            runs = [_replay(url, records, concurrency) for _ in range(repeat)]
            elapsed = min(r[0] for r in runs)
            differing = max(r[1] for r in runs)
            note = f"  ({differing} calls differed!)" if differing else ""
            print(
                f"  rpcspy replay --concurrency {concurrency:<3}  {n / elapsed:8.0f} calls/s"
                f"   {direct / elapsed:4.2f}x{note}"
            )
        print(
            "  (replay sends the recorded bytes, decodes every answer and diffs it with the "
            "recorded one)"
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
