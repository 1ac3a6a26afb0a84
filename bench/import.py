"""pcap import rate and memory: ``rpcspy import`` on a large generated pcap.

    .venv/bin/python bench/import.py              # a 100 MB pcap
    .venv/bin/python bench/import.py --size 1024  # 1 GB (the issue's figure)
    .venv/bin/python bench/import.py --quick      # 20 MB

The pcap is written here, packet by packet, from real exchanges: the request and response bodies
(and headers) of every call in the sample captures in ``captures/`` (recorded from the demo server
through the proxy). Calls go over keep-alive TCP connections of 1 to 50 calls (SYN, SYN-ACK, ACK;
each body cut into 1448-byte segments, each answered by an ACK; FIN both ways), with the
Ethernet, IPv4 and TCP headers packed by hand (this is the generator, not the reader under test).

The import runs as a subprocess, ``rpcspy import FILE -w CAPTURE --force --no-progress`` (the
command's own code, called through ``rpcspy.cli.main`` by ``bench/import.py --measure``, which
also notes each process's CPU time and peak RSS), once on a quarter of the file and once on the
whole. Reported for each: wall time; CPU time (user + system) and peak RSS (``VmHWM``) of the
reading process and of the recording worker, each measured by itself; how many records the
reader built itself because the worker was behind; calls/s over the wall, and over CPU:
``calls / max(reader CPU, worker CPU)`` (the rate of the slower process, what two free cores
give when the work is balanced) and ``calls / (total CPU / 2)`` (two cores fully used). The
machine may be shared: the CPU figures do not depend on what else runs, the wall does.

Baselines over the same file in the same run: dpkt's bare iteration over the pcap's packets
(``dpkt.pcap.Reader``, nothing decoded) and the same plus dpkt's decoding of every frame
(Ethernet, IP, TCP objects), and ``tcpdump -nn -q -r FILE`` printing every packet to /dev/null
when tcpdump is installed. Goal: >= 5,000 calls/s on 2 cores, and peak RSS that does not grow
with the file (the same for the quarter and the whole).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rpcspy.capture import read_capture  # noqa: E402

RPCSPY = str(Path(sys.executable).with_name("rpcspy"))
MSS = 1448
_PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
_ETH = b"\x00" * 12 + b"\x08\x00"
SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


def _wire(headers: tuple[tuple[str, str], ...], start: str, body: bytes) -> bytes:
    lines = [start]
    for name, value in headers:
        if name.lower() in ("content-length", "transfer-encoding", "connection"):
            continue
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + body


def sample_exchanges() -> list[tuple[bytes, bytes]]:
    """(request, response) wire bytes of every call with a response in captures/."""
    out = []
    for path in sorted((REPO / "captures").glob("*.jsonl")):
        for record in read_capture(path):
            response = record.response
            if response is None or response.body is None or record.request.body is None:
                continue
            start = f"POST {record.path} HTTP/1.1"
            request = _wire(record.request.headers, start, record.request.body)
            answer = _wire(response.headers, f"HTTP/1.1 {record.status or 200} OK", response.body)
            out.append((request, answer))
    return out


def _checksum_free_ip(src: bytes, dst: bytes, payload_len: int) -> bytes:
    # The checksum is left 0: readers of capture files (dpkt, Wireshark by default) do not check
    # it, and the loopback captures tcpdump writes have offloaded (unfilled) checksums anyway.
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, 0, 0x4000, 64, 6, 0, src, dst)


class PcapWriter:
    def __init__(self, path: Path) -> None:
        self.f = open(path, "wb", buffering=1 << 20)  # noqa: SIM115
        self.f.write(_PCAP_HEADER)
        self.ts = 1_700_000_000.0

    def packet(self, src: tuple[bytes, int], dst: tuple[bytes, int], seq: int, ack: int,
               flags: int, data: bytes = b"") -> None:  # fmt: skip
        tcp = struct.pack("!HHIIBBHHH", src[1], dst[1], seq % (1 << 32), ack % (1 << 32),
                          5 << 4, flags, 65535, 0, 0)  # fmt: skip
        frame = _ETH + _checksum_free_ip(src[0], dst[0], 20 + len(data)) + tcp + data
        self.ts += 0.00001
        sec = int(self.ts)
        self.f.write(struct.pack("<IIII", sec, int((self.ts - sec) * 1e6), len(frame), len(frame)))
        self.f.write(frame)

    def size(self) -> int:
        return self.f.tell()

    def close(self) -> None:
        self.f.close()


def generate(path: Path, megabytes: float, seed: int = 5) -> int:
    """Write a pcap of about ``megabytes`` MB; returns how many calls it holds."""
    rng = random.Random(seed)
    exchanges = sample_exchanges()
    writer = PcapWriter(path)
    server = (bytes([10, 0, 0, 1]), 8000)
    calls = 0
    conn = 0
    limit = megabytes * 1_000_000
    while writer.size() < limit:
        conn += 1
        client = (bytes([10, 1, (conn >> 8) & 255, conn & 255]), 20000 + conn % 40000)
        c_seq, s_seq = rng.getrandbits(32), rng.getrandbits(32)
        writer.packet(client, server, c_seq, 0, SYN)
        writer.packet(server, client, s_seq, c_seq + 1, SYN | ACK)
        c_seq += 1
        s_seq += 1
        writer.packet(client, server, c_seq, s_seq, ACK)
        for _ in range(rng.randint(1, 50)):
            request, response = exchanges[rng.randrange(len(exchanges))]
            for i in range(0, len(request), MSS):
                piece = request[i : i + MSS]
                writer.packet(client, server, c_seq, s_seq, ACK | PSH, piece)
                c_seq += len(piece)
            writer.packet(server, client, s_seq, c_seq, ACK)
            for i in range(0, len(response), MSS):
                piece = response[i : i + MSS]
                writer.packet(server, client, s_seq, c_seq, ACK | PSH, piece)
                s_seq += len(piece)
            writer.packet(client, server, c_seq, s_seq, ACK)
            calls += 1
        writer.packet(client, server, c_seq, s_seq, FIN | ACK)
        writer.packet(server, client, s_seq, c_seq + 1, FIN | ACK)
        writer.packet(client, server, c_seq + 1, s_seq + 1, ACK)
    writer.close()
    return calls


def _hwm_kib() -> int:
    """This process's peak resident set size (VmHWM), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(pcap: Path, out: Path, stats: Path) -> None:
    """``rpcspy import PCAP -w OUT`` in this process, noting what each process used in STATS.

    The recording worker is forked from this process: its CPU time and peak RSS are its own
    (rusage starts afresh in a forked child), noted as its last act.
    """
    from rpcspy.cli import main as rpcspy_main
    from rpcspy.ingest import worker

    work = worker._work
    found: dict[str, object] = {}

    def noted_work(*args: object) -> None:
        try:
            work(*args)  # type: ignore[arg-type]
        finally:
            note = {"cpu": _cpu_self(), "hwm_kib": _hwm_kib()}
            stats.with_suffix(".worker").write_text(json.dumps(note))

    close = worker.RecorderProcess.close

    def noted_close(self: worker.RecorderProcess) -> None:
        found["built_here"] = self.built_here
        close(self)

    worker._work = noted_work  # type: ignore[assignment]
    worker.RecorderProcess.close = noted_close  # type: ignore[method-assign]
    code = rpcspy_main(["import", str(pcap), "-w", str(out), "--force", "--no-progress"])
    note = {"code": code, "cpu": _cpu_self(), "hwm_kib": _hwm_kib(), **found}
    stats.write_text(json.dumps(note))


def run_import(pcap: Path, out: Path) -> dict[str, object]:
    """Wall time, and each process's CPU and peak RSS, of one ``rpcspy import`` subprocess."""
    stats = out.with_suffix(".stats")
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--measure", str(pcap), str(out), str(stats)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"rpcspy import failed ({done.returncode}): {done.stderr[-2000:]}")
    reader = json.loads(stats.read_text())
    worker_path = stats.with_suffix(".worker")
    recorder = json.loads(worker_path.read_text()) if worker_path.exists() else None
    return {"wall": wall, "reader": reader, "worker": recorder, "summary": done.stdout.strip()}


def baselines(pcap: Path, *, decode: bool = True) -> list[tuple[str, float]]:
    """(what, CPU seconds) of reading the same pcap with nothing but dpkt (``decode``: and with
    dpkt's decoding of every frame), and with tcpdump."""
    import dpkt

    out = []
    start = time.process_time()
    with open(pcap, "rb") as f:
        for _ts, _buf in dpkt.pcap.Reader(f):
            pass
    out.append(("dpkt: iterate packets", time.process_time() - start))
    if decode:
        start = time.process_time()
        with open(pcap, "rb") as f:
            ethernet = dpkt.ethernet.Ethernet
            for _ts, buf in dpkt.pcap.Reader(f):
                ethernet(buf)
        out.append(("dpkt: iterate + decode Ethernet/IP/TCP", time.process_time() - start))
    tcpdump = shutil.which("tcpdump")
    if tcpdump is not None:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(
            [tcpdump, "-nn", "-q", "-r", str(pcap)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        out.append(("tcpdump -nn -q -r (prints every packet)", cpu))
    return out


def report(name: str, pcap: Path, calls: int, run: dict[str, object], base: float | None) -> None:
    """Print one run; ``base``: the CPU seconds of dpkt's bare iteration over the same file."""
    reader = run["reader"]
    worker = run["worker"]
    assert isinstance(reader, dict)
    wall = run["wall"]
    assert isinstance(wall, float)
    r_cpu = float(reader["cpu"])
    w_cpu = float(worker["cpu"]) if isinstance(worker, dict) else 0.0
    stage = max(r_cpu, w_cpu)
    total = r_cpu + w_cpu
    size = pcap.stat().st_size / 1e6
    rate = calls / wall
    print(f"{name:8} {size:7.0f} MB  {calls:8d} calls  wall {wall:6.1f} s  {rate:6.0f} calls/s")
    print(
        f"         reader: CPU {r_cpu:6.1f} s, peak RSS {int(reader['hwm_kib']) / 1024:5.0f} MiB, "
        f"built {int(reader.get('built_here', 0))} records itself"
    )
    if isinstance(worker, dict):
        hwm = int(worker["hwm_kib"]) / 1024
        print(f"         worker: CPU {w_cpu:6.1f} s, peak RSS {hwm:5.0f} MiB")
    print(
        f"         calls / max(stage CPU) = {calls / stage:6.0f} calls/s;  "
        f"calls / (total CPU / 2) = {calls / (total / 2):6.0f} calls/s"
    )
    if base is not None:
        print(
            f"         reader CPU = {r_cpu / base:.1f} x, total CPU = {total / base:.1f} x "
            "dpkt's bare iteration over the same file"
        )
    print(f"         rpcspy: {run['summary']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=float, default=100, help="pcap size in MB (default 100)")
    parser.add_argument("--quick", action="store_true", help="a 20 MB pcap")
    parser.add_argument("--keep", type=Path, help="write the pcap here and keep it")
    parser.add_argument("--dir", type=Path, help="where to write the pcaps and captures")
    parser.add_argument(
        "--whole-only",
        action="store_true",
        help="import the whole file only, with the cheap baselines (for a 1 GB run)",
    )
    parser.add_argument("--measure", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    size = 20 if args.quick else args.size
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        big = args.keep or Path(tmp) / "big.pcap"
        small = Path(tmp) / "small.pcap"
        t = time.perf_counter()
        calls = generate(big, size)
        small_calls = 0 if args.whole_only else generate(small, size / 4)
        quarter = "" if args.whole_only else f" and {small.stat().st_size / 1e6:.0f} MB"
        print(
            f"generated {big.stat().st_size / 1e6:.0f} MB ({calls} calls){quarter}"
            + ("" if args.whole_only else f" ({small_calls} calls)")
            + f" in {time.perf_counter() - t:.0f} s"
        )
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{os.cpu_count()} cores, load average {load} (wall times suffer when it is high)")
        found = baselines(big, decode=not args.whole_only)
        for what, cpu in found:
            print(f"baseline (whole file) {what:42} CPU {cpu:6.1f} s")
        base = found[0][1]
        rates = []
        runs = [("quarter", small, small_calls), ("whole", big, calls)]
        for name, pcap, n in runs[1:] if args.whole_only else runs:
            out = Path(tmp) / f"{name}.jsonl"
            run = run_import(pcap, out)
            rates.append(
                report(name, pcap, n, run, base * pcap.stat().st_size / big.stat().st_size)
            )
            out.unlink()
        print("goal: >= 5000 calls/s on 2 cores; peak RSS the same for the quarter and the whole")


if __name__ == "__main__":
    main()
