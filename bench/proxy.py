"""Throughput and added latency of the rpcspy proxy against bare mitmdump, in one run.

    .venv/bin/python bench/proxy.py            # full run
    .venv/bin/python bench/proxy.py --quick    # short run

Starts the demo server, then, in alternating rounds with the same client load (several concurrent
stdlib ``xmlrpc.client`` clients calling ``echo``):

- direct: clients -> demo server (the latency baseline),
- mitmdump: clients -> ``mitmdump --mode reverse:...`` (no addon) -> demo server,
- rpcspy: clients -> ``run_proxy`` (recording every call to a capture file) -> demo server,
- addon: clients -> ``mitmdump -s addons/rpcspy_record.py`` (recording) -> demo server, which
  isolates the addon's own cost inside an otherwise identical mitmdump.

Every process is a subprocess started the same way. Reports calls/s per setup, the rpcspy/mitmdump
throughput ratio (goal: >= 0.95), the addon/mitmdump ratio and p50/p99 latency added over direct.
The stdlib client opens a new connection per call (no keep-alive with the demo server), so each
round is bounded to keep ephemeral ports and TIME_WAIT in check.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: mitmproxy's configuration directory (its CA) for both proxies: a temp dir made by main(), so
#: the benchmark leaves ~/.mitmproxy alone.
CONFDIR = Path(tempfile.gettempdir()) / "rpcspy-bench-confdir"
PYTHON = sys.executable
MITMDUMP = str(Path(sys.executable).with_name("mitmdump"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Wait until ``proc`` accepts connections on ``port`` (fail if it exits first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise SystemExit(f"process exited early ({proc.returncode}): {err[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listening on {port} after {timeout} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_server(port: int) -> subprocess.Popen[bytes]:
    """The demo server in its own process."""
    code = (
        "from rpcspy.server import DemoServer, ServerConfig\n"
        f"DemoServer(ServerConfig(port={port}, quiet=True)).serve_forever()\n"
    )
    proc = subprocess.Popen(
        [PYTHON, "-c", code], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    wait_listening(port, proc)
    return proc


def start_mitmdump(
    port: int, upstream: int, capture: Path | None = None
) -> subprocess.Popen[bytes]:
    """mitmdump, reverse mode, quiet; bare, or with the rpcspy addon recording to ``capture``."""
    addon = []
    if capture is not None:
        addon = [
            "-s",
            str(REPO / "addons" / "rpcspy_record.py"),
            "--set",
            f"rpcspy_capture={capture}",
            "--set",
            "rpcspy_log=false",
        ]
    proc = subprocess.Popen(
        [
            MITMDUMP,
            *addon,
            "--mode",
            f"reverse:http://127.0.0.1:{upstream}",
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            str(port),
            "--quiet",
            "--set",
            f"confdir={CONFDIR}",
            # the same connection strategy as rpcspy's runner, so only recording differs
            "--set",
            "connection_strategy=lazy",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wait_listening(port, proc)
    return proc


def start_rpcspy(port: int, upstream: int, capture: Path) -> subprocess.Popen[bytes]:
    """rpcspy's runner (``run_proxy``), reverse mode, recording to ``capture``, quiet."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from rpcspy.proxy import ProxyConfig, run_proxy\n"
        f"sys.exit(run_proxy(ProxyConfig(target='http://127.0.0.1:{upstream}', "
        f"listen_port={port}, capture=Path({str(capture)!r}), confdir=Path({str(CONFDIR)!r}), "
        "quiet=True)))\n"
    )
    proc = subprocess.Popen(
        [PYTHON, "-c", code], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    wait_listening(port, proc)
    return proc


@dataclass
class Result:
    calls: int
    seconds: float
    latencies: list[float]  # seconds per call
    errors: int
    cpu: float | None = None  # the proxy process's CPU seconds during the run

    @property
    def cpu_per_call(self) -> float | None:
        return self.cpu / self.calls if self.cpu is not None and self.calls else None

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


def load(port: int, clients: int, calls_per_client: int) -> Result:
    """``clients`` threads each making ``calls_per_client`` echo calls; wall time and latencies."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    barrier = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2")
        mine = latencies[i]
        barrier.wait()
        for n in range(calls_per_client):
            t0 = time.perf_counter()
            try:
                proxy.echo(f"c{i}-n{n}")
            except Exception:
                errors[i] += 1
                continue
            mine.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    flat = [x for per in latencies for x in per]
    return Result(len(flat), elapsed, flat, sum(errors))


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process, all threads (Linux /proc); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of values, nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def count_records(capture: Path) -> int:
    """Records in a capture file (via the capture reader)."""
    from rpcspy.capture import read_capture

    return sum(1 for _ in read_capture(capture))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--rounds", type=int, help="rounds per setup (default 6, quick 3)")
    parser.add_argument(
        "--calls", type=int, help="calls per client per round (default 150, quick 50)"
    )
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 6)
    per_client = args.calls or (50 if args.quick else 150)
    clients = args.clients

    global CONFDIR
    CONFDIR = Path(tempfile.mkdtemp(prefix="rpcspy-bench-confdir-"))
    server_port = free_port()
    try:
        server = start_server(server_port)
    except BaseException:
        shutil.rmtree(CONFDIR, ignore_errors=True)
        raise
    tmp = tempfile.TemporaryDirectory(prefix="rpcspy-bench-")
    results: dict[str, list[Result]] = {"direct": [], "mitmdump": [], "rpcspy": [], "addon": []}
    recorded = 0
    expected = 0
    try:
        # Warm-up: first connections, imports, the server's first calls.
        load(server_port, 2, 20)

        def direct() -> Result:
            return load(server_port, clients, per_client)

        def via(start: Callable[[int], subprocess.Popen[bytes]]) -> Result:
            port = free_port()
            proc = start(port)
            try:
                load(port, 2, 10)  # warm-up through the proxy
                before = cpu_seconds(proc.pid)
                result = load(port, clients, per_client)
                after = cpu_seconds(proc.pid)
                if before is not None and after is not None:
                    # CPU per call is what recording costs, whatever else the machine is doing.
                    result.cpu = after - before
                return result
            finally:
                stop(proc)

        for r in range(rounds):
            results["direct"].append(direct())
            spy_capture = Path(tmp.name) / f"rpcspy{r}.jsonl"
            addon_capture = Path(tmp.name) / f"addon{r}.jsonl"
            starters: dict[str, Callable[[int], subprocess.Popen[bytes]]] = {
                "mitmdump": lambda p: start_mitmdump(p, server_port),
                "rpcspy": lambda p, c=spy_capture: start_rpcspy(p, server_port, c),
                "addon": lambda p, c=addon_capture: start_mitmdump(p, server_port, c),
            }
            captures = {"rpcspy": spy_capture, "addon": addon_capture}
            # Rotate which proxy goes first, so drift in the machine's load hits all alike.
            order = list(starters)
            order = order[r % 3 :] + order[: r % 3]
            for name in order:
                res = via(starters[name])
                results[name].append(res)
                if name in captures:
                    recorded += count_records(captures[name])
                    expected += res.calls + res.errors + 2 * 10
            print(
                f"round {r + 1}/{rounds}: "
                + "  ".join(f"{k} {v[-1].rate:6.0f}/s" for k, v in results.items()),
                file=sys.stderr,
            )
    finally:
        stop(server)
        tmp.cleanup()
        shutil.rmtree(CONFDIR, ignore_errors=True)

    def summary(name: str) -> tuple[float, float, float, int]:
        rs = results[name]
        rate = statistics.median(r.rate for r in rs)
        lat = [x for r in rs for x in r.latencies]
        return rate, percentile(lat, 50), percentile(lat, 99), sum(r.errors for r in rs)

    def cpu_ms(name: str) -> float | None:
        rs = results[name]
        cpus = [r.cpu for r in rs if r.cpu is not None]
        calls = sum(r.calls for r in rs if r.cpu is not None)
        return 1000.0 * sum(cpus) / calls if cpus and calls else None

    rows = {
        "direct": "direct to server",
        "mitmdump": "bare mitmdump",
        "rpcspy": "rpcspy proxy (recording)",
        "addon": "mitmdump + rpcspy addon",
    }
    stats = {name: summary(name) for name in rows}
    ms = 1000.0
    _, d50, d99, _ = stats["direct"]
    print(
        f"proxy benchmark: {clients} clients x {per_client} echo calls per round, {rounds} rounds, "
        f"{os.cpu_count()} CPUs (median calls/s over rounds; latency over all calls)"
    )
    for name, label in rows.items():
        rate, p50, p99, errs = stats[name]
        added = (
            ""
            if name == "direct"
            else (f"   added p50 +{(p50 - d50) * ms:6.2f} ms  p99 +{(p99 - d99) * ms:6.2f} ms")
        )
        cpu = cpu_ms(name)
        per_call = f"   proxy CPU {cpu:5.2f} ms/call" if cpu is not None else ""
        print(
            f"  {label:26} {rate:7.0f} calls/s   p50 {p50 * ms:7.2f} ms  p99 {p99 * ms:7.2f} ms"
            f"{added}{per_call}   errors {errs}"
        )
    mitm = stats["mitmdump"][0]
    ratio = stats["rpcspy"][0] / mitm if mitm else float("nan")
    addon_ratio = stats["addon"][0] / mitm if mitm else float("nan")
    print(f"  records written: {recorded} of {expected} calls through rpcspy and the addon")
    print(f"  addon's own cost: mitmdump+addon / bare mitmdump throughput = {addon_ratio:.3f}")
    cpu_bare, cpu_addon, cpu_spy = cpu_ms("mitmdump"), cpu_ms("addon"), cpu_ms("rpcspy")
    if cpu_bare and cpu_addon and cpu_spy:
        print(
            f"  proxy CPU per call: rpcspy/mitmdump = {cpu_spy / cpu_bare:.3f}; "
            f"the addon adds {cpu_addon - cpu_bare:+.2f} ms/call "
            f"({(cpu_addon / cpu_bare - 1) * 100:+.1f}%) to mitmdump"
        )
    verdict = "ok" if ratio >= 0.95 else "BELOW GOAL"
    print(f"  ratio rpcspy/mitmdump throughput: {ratio:.3f} (goal >= 0.95: {verdict})")
    errors = sum(stats[name][3] for name in rows)
    return 0 if recorded == expected and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
