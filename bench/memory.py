"""Peak memory of rpcspy's processes under hostile input: one function per subject, run by the CLI.

Each subject starts the real command as a subprocess (``python -m rpcspy``, so ``PYTHONPATH``
picks the tree measured), feeds it the hostile input and reads the child's peak RSS from
``os.wait4`` (the kernel's own count for that one process). Every child runs under an address
space cap (``--cap``, 2 GiB by default) so that an unbounded build dies with a ``MemoryError``
instead of taking the machine's memory; a subject that hit the cap says so.

Subjects (``SUBJECTS``; other benchmarks' sections are added the same way):

- ``replay-endless``: ``rpcspy replay`` of 3 calls against a target whose first answer is a
  chunked body that never ends;
- ``replay-huge``: the same with ``Content-Length: 10000000000`` and bytes for as long as read;
- ``serve-big``: ``rpcspy serve`` receiving 4 concurrent 60 MB ``echo`` calls;
- ``mock-big``: ``rpcspy mock`` receiving the same;
- ``mock-idle``: ``rpcspy mock`` with 1,000 idle connections open: its thread count and RSS;
- ``proxy-big``: ``rpcspy proxy --max-body 16m`` (reverse mode, recording) passing one 300 MB
  request to an upstream that hashes it; in the same run, bare ``mitmdump`` streaming with the
  same limit (``--set stream_large_bodies=16m``, the baseline) and bare ``mitmdump`` as it comes
  (bodies held whole) pass the same request;
- ``proxy-concurrent``: the same with 4 concurrent 100 MB requests.

The ``tui`` section (``rpcspy tui`` in a pseudo-terminal, the index build it runs included):

- ``tui-bomb``: a gzip bomb, the capture header then 2 GiB of spaces on one line (2 MiB on
  disk): the time to its ``line-too-long`` problem, and the files left once it quits;
- ``tui-large``: an ordinary capture of ``--tui-calls`` calls (100,000 by default; 1,000,000
  is the issue's size) from ``bench/_generate.py``, until its index is built and saved. Big
  captures are indexed by helper processes as well: their memory is their own, not counted.

Reports peak RSS in MiB per subject; asserts nothing. Timings on a shared machine vary.

    PYTHONPATH=$PWD .venv/bin/python bench/memory.py [SUBJECT ...] [--cap 2g] [--tui-calls N]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rpcspy.capture import CaptureWriter, HttpMessage, build_record  # noqa: E402
from tests.hostile.processes import Measured, peak_rss, run_measured, start_measured  # noqa: E402
from tests.hostile.streams import Body, StreamUpstream, post  # noqa: E402
from tests.hostile.targets import (  # noqa: E402
    HostileTarget,
    answer,
    endless_chunked,
    huge_length,
    idle_connections,
)
from tests.hostile.terminal_app import TuiProcess, write_gzip_bomb  # noqa: E402

MIB = 1024 * 1024
RPCSPY = [sys.executable, "-m", "rpcspy"]


@dataclass
class Result:
    subject: str
    peak_rss: int
    note: str

    def line(self) -> str:
        return f"{self.subject:16} peak RSS {self.peak_rss / MIB:8.1f} MiB  {self.note}"


def _env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(text: str) -> bytes:
    return (
        b"<?xml version='1.0'?>\n<methodCall><methodName>echo</methodName><params><param>"
        + f"<value><string>{text}</string></value>".encode()
        + b"</param></params></methodCall>\n"
    )


def _capture(path: Path, calls: int = 3) -> Path:
    """A capture of ``calls`` echo calls (with answers), as a client recorded them."""
    with CaptureWriter(path, append=False) as writer:
        for seq in range(1, calls + 1):
            body = _call(f"call {seq}")
            writer.write(
                build_record(
                    HttpMessage((("Content-Type", "text/xml"),), body),
                    HttpMessage((("Content-Type", "text/xml"),), b""),
                    started=time.time(),
                    host="127.0.0.1",
                    port=1,
                    path="/RPC2",
                    status=200,
                    seq=seq,
                )
            )
    return path


def _outcome(done: Measured, cap: int) -> str:
    if done.timed_out:
        return f"killed after {done.elapsed:.0f} s (no end in sight)"
    if "MemoryError" in done.stderr or done.peak_rss > cap * 0.8:
        return f"hit the {cap // MIB} MiB address-space cap (exit {done.code})"
    return f"exit {done.code} in {done.elapsed:.1f} s"


def _replay(subject: str, behaviour: Callable[[], object], cap: int) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        capture = _capture(Path(tmp) / "three.jsonl")
        with HostileTarget(behaviour(), answer()) as target:  # type: ignore[arg-type]
            done = run_measured(
                [
                    *RPCSPY,
                    "replay",
                    str(capture),
                    "--target",
                    target.url,
                    "--json",
                    "-q",
                    "--no-progress",
                    "--timeout",
                    "60",
                ],
                timeout=60,
                env=_env(),
                address_space=cap,
            )
    verdicts = ""
    if done.stdout.startswith("{"):
        import json

        calls = json.loads(done.stdout)["calls"]
        verdicts = " " + ", ".join(f"{c['verdict']} ({(c['message'] or '')[:50]})" for c in calls)
    return Result(subject, done.peak_rss, _outcome(done, cap) + verdicts)


def replay_endless(cap: int) -> Result:
    """``rpcspy replay``: the first answer is an endless chunked body."""
    return _replay("replay-endless", endless_chunked, cap)


def replay_huge(cap: int) -> Result:
    """``rpcspy replay``: the first answer announces 10 GB."""
    return _replay("replay-huge", huge_length, cap)


def _wait_listening(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def _post(port: int, body: bytes) -> str:
    """POST one body on a raw socket; the status line of the answer (or the error)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
            sock.sendall(
                b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
            )
            view = memoryview(body)
            for i in range(0, len(body), 1024 * 1024):
                sock.sendall(view[i : i + 1024 * 1024])
            head = b""
            while b"\r\n" not in head:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                head += chunk
            while sock.recv(1024 * 1024):
                pass
            return head.split(b"\r\n", 1)[0].decode(errors="replace") or "closed"
    except OSError as exc:
        return type(exc).__name__


def _big_bodies(subject: str, argv: list[str], port: int, cap: int) -> Result:
    running = start_measured(argv, env=_env(), address_space=cap)
    try:
        _wait_listening(port)
        body = _call("a" * (60 * 1000 * 1000))
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(lambda _: _post(port, body), range(4)))
    finally:
        done = running.finish(timeout=30, interrupt=True)
    seen = ", ".join(f"{statuses.count(s)}x {s}" for s in sorted(set(statuses)))
    return Result(subject, done.peak_rss, f"4 x 60 MB: {seen}; {_outcome(done, cap)}")


def serve_big(cap: int) -> Result:
    """``rpcspy serve``: 4 concurrent 60 MB calls."""
    port = _free_port()
    return _big_bodies("serve-big", [*RPCSPY, "serve", "--port", str(port), "-q"], port, cap)


def mock_big(cap: int) -> Result:
    """``rpcspy mock``: 4 concurrent 60 MB calls."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        capture = _capture(Path(tmp) / "three.jsonl")
        argv = [*RPCSPY, "mock", str(capture), "--port", str(port), "-q"]
        return _big_bodies("mock-big", argv, port, cap)


def _threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def mock_idle(cap: int) -> Result:
    """``rpcspy mock``: 1,000 idle connections; its threads while they are open."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        capture = _capture(Path(tmp) / "three.jsonl")
        argv = [*RPCSPY, "mock", str(capture), "--port", str(port), "-q"]
        running = start_measured(argv, env=_env(), address_space=cap)
        try:
            _wait_listening(port)
            with idle_connections("127.0.0.1", port, 1000):
                time.sleep(2)
                threads = _threads(running.pid)
                rss = peak_rss(running.pid)
        finally:
            done = running.finish(timeout=30, interrupt=True)
    return Result("mock-idle", max(rss, done.peak_rss), f"1,000 idle sockets: {threads} threads")


MITMDUMP = str(Path(sys.executable).with_name("mitmdump"))


def _through(
    argv: list[str], port: int, upstream: StreamUpstream, body: Body, count: int, cap: int
) -> tuple[int, str]:
    """Run a proxy and POST ``count`` copies of ``body`` through it at once: its peak RSS, and
    the answers and how many bodies reached the upstream intact (sha256)."""
    before = len(upstream.received)
    running = start_measured(argv, env=_env(), address_space=cap)
    try:
        _wait_listening(port)
        with concurrent.futures.ThreadPoolExecutor(count) as pool:
            replies = list(pool.map(lambda _: post(port, body, timeout=300), range(count)))
    finally:
        done = running.finish(timeout=60, interrupt=True)
    sha = body.sha256
    intact = sum(
        1 for got in upstream.received[before:] if (got.size, got.sha256) == (body.size, sha)
    )
    statuses = ", ".join(str(r.status) for r in replies)
    return done.peak_rss, f"{statuses}; {intact}/{count} intact; {_outcome(done, cap)}"


def _proxy(subject: str, body: Body, count: int, cap: int) -> Result:
    notes = []
    peak = 0
    with tempfile.TemporaryDirectory() as tmp, StreamUpstream() as upstream:
        runs = {
            "rpcspy proxy": [*RPCSPY, "proxy", upstream.url, "--max-body", "16m", "-q"],
            "mitmdump streaming": [MITMDUMP, "--set", "stream_large_bodies=16m"],
            "mitmdump as it comes": [MITMDUMP],
        }
        for name, argv in runs.items():
            port = _free_port()
            if name == "rpcspy proxy":
                argv += ["--listen", str(port), "-w", f"{tmp}/big.jsonl"]
                argv += ["--confdir", f"{tmp}/confdir"]
            else:
                argv += ["-q", "--mode", f"reverse:{upstream.url}", "--set", f"confdir={tmp}/cd"]
                argv += ["--listen-host", "127.0.0.1", "--listen-port", str(port)]
            rss, outcome = _through(argv, port, upstream, body, count, cap)
            if name == "rpcspy proxy":
                peak = rss
            notes.append(f"\n    {name:22} {rss / MIB:7.1f} MiB  ({outcome})")
    return Result(subject, peak, "".join(notes))


def proxy_big(cap: int) -> Result:
    """``rpcspy proxy`` and bare ``mitmdump``: one 300 MB request."""
    return _proxy("proxy-big", Body(300 * 1000 * 1000), 1, cap)


def proxy_concurrent(cap: int) -> Result:
    """``rpcspy proxy`` and bare ``mitmdump``: 4 concurrent 100 MB requests."""
    return _proxy("proxy-concurrent", Body(100 * 1000 * 1000), 4, cap)


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a running process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _left(directory: Path) -> str:
    files = [p for p in directory.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    return f"{len(files)} files, {size / MIB:.1f} MiB"


def tui_bomb(cap: int) -> Result:
    """``rpcspy tui`` on a gzip bomb of 2 GiB of spaces."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        bomb = write_gzip_bomb(base / "bomb.jsonl.gz", 2 << 30)
        (base / "tmp").mkdir()
        env = {**_env(), "TMPDIR": str(base / "tmp"), "RPCSPY_CACHE_DIR": str(base / "cache")}
        with TuiProcess([*RPCSPY, "tui", str(bomb)], env=env, address_space=cap) as tui:
            try:
                tui.wait_for("bad line skipped", timeout=300)
                took = (
                    f"problem shown after {time.monotonic() - tui.started:.1f} s "
                    f"({_cpu_seconds(tui.pid):.1f} s CPU)"
                )
            except AssertionError:
                took = "no problem shown in 300 s"
            tui.press("q")
            code = tui.finish(timeout=30)
        found = "line-too-long" if "line longer than" in tui.text() else "no line-too-long"
        note = (
            f"{bomb.stat().st_size / MIB:.1f} MiB on disk: {found}, {took}, exit {code}; "
            f"left: tmp {_left(base / 'tmp')}, cache {_left(base / 'cache')}"
        )
        return Result("tui-bomb", tui.peak, note)


def tui_large(cap: int, calls: int = 100_000) -> Result:
    """``rpcspy tui`` on an ordinary capture of ``calls`` calls, until it is indexed."""
    sys.path.insert(0, str(ROOT / "bench"))
    from _generate import ensure

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        capture = base / "large.jsonl"
        ensure(capture, calls)
        env = {**_env(), "RPCSPY_CACHE_DIR": str(base / "cache")}
        with TuiProcess([*RPCSPY, "tui", str(capture)], env=env, address_space=cap) as tui:
            deadline = time.monotonic() + 900
            while not list((base / "cache").rglob("meta.json")):  # saved once indexed
                if time.monotonic() > deadline or tui.proc.poll() is not None:
                    break
                time.sleep(0.1)
            took = time.monotonic() - tui.started
            cpu = _cpu_seconds(tui.pid)
            tui.press("q")
            code = tui.finish(timeout=60)
        size = capture.stat().st_size
        note = (
            f"{calls:,} calls, {size / 1e6:.0f} MB: indexed in {took:.1f} s "
            f"({cpu:.1f} s CPU in this process), exit {code}"
        )
        return Result("tui-large", tui.peak, note)


SUBJECTS: dict[str, Callable[[int], Result]] = {
    "replay-endless": replay_endless,
    "replay-huge": replay_huge,
    "serve-big": serve_big,
    "mock-big": mock_big,
    "mock-idle": mock_idle,
    "proxy-big": proxy_big,
    "proxy-concurrent": proxy_concurrent,
    "tui-bomb": tui_bomb,
    "tui-large": tui_large,
}
#: The sections: a name given on the command line runs all of its subjects.
SECTIONS = {
    name: [subject for subject in SUBJECTS if subject.startswith(name + "-")]
    for name in ("replay", "serve", "mock", "proxy", "tui")
}


def _size(text: str) -> int:
    units = {"k": 1024, "m": MIB, "g": 1024 * MIB}
    t = text.strip().lower()
    return int(t[:-1]) * units[t[-1]] if t[-1:] in units else int(t)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "subjects", nargs="*", choices=[[], *SUBJECTS, *SECTIONS], metavar="SUBJECT"
    )
    parser.add_argument("--cap", type=_size, default="2g", help="address-space cap per process")
    parser.add_argument("--quick", action="store_true", help="accepted for bench/run.sh")
    parser.add_argument(
        "--tui-calls",
        type=int,
        default=100_000,
        help="calls in tui-large's capture (1000000: the issue's size)",
    )
    args = parser.parse_args()
    names = [n for s in args.subjects or list(SUBJECTS) for n in SECTIONS.get(s, [s])]
    print(f"peak RSS per subject (cap {args.cap // MIB} MiB address space; a shared machine)")
    for name in names:
        if name == "tui-large":
            result = tui_large(args.cap, args.tui_calls)
        else:
            result = SUBJECTS[name](args.cap)
        print(result.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
