"""pcap import rate and memory: ``rpcspy import`` on a large generated pcap.

    .venv/bin/python bench/import.py              # a 100 MB pcap
    .venv/bin/python bench/import.py --size 1024  # 1 GB (the issue's figure)
    .venv/bin/python bench/import.py --quick      # 20 MB

The pcap is written here, packet by packet, from real exchanges: the request and response bodies
(and headers) of every call in the sample captures in ``captures/`` (recorded from the demo server
through the proxy). Calls go over keep-alive TCP connections of 1 to 50 calls (SYN, SYN-ACK, ACK;
each body cut into 1448-byte segments, each answered by an ACK; FIN both ways), with the
Ethernet, IPv4 and TCP headers packed by hand (this is the generator, not the reader under test).

The import runs as a subprocess, ``rpcspy import FILE -w CAPTURE --no-progress``, once on the whole
file and once on a quarter of it. Reported: calls/s over wall time and over CPU time (user +
system of the child: the machine may be shared), and the child's peak RSS for both sizes, so a
constant-memory importer shows the same peak for a quarter and for the whole. Goal: >= 5,000
calls/s on 2 cores, and peak RSS that does not grow with the file.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
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


def run_import(pcap: Path, out: Path) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds, peak RSS in KiB, summary line) of one import subprocess."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [RPCSPY, "import", str(pcap), "-w", str(out), "--force", "--no-progress"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"rpcspy import failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: run the small import first.
    return wall, cpu, after.ru_maxrss, done.stdout.strip()


def stage_cpu(pcap: Path, out: Path) -> tuple[int, float, float]:
    """(calls, CPU s reading, CPU s recording) in this process, one stage after the other.

    The command runs the two stages in two processes at once; on two free cores its rate is
    bounded by the slower stage, whatever else the machine is doing while we measure.
    """
    from rpcspy.capture import CaptureWriter
    from rpcspy.ingest import Exchange, ImportCounts, InlineRecorder
    from rpcspy.ingest.pcap import read_pcap

    counts = ImportCounts()
    start = time.process_time()
    exchanges = [x for x in read_pcap(pcap, counts) if isinstance(x, Exchange)]
    reading = time.process_time() - start
    start = time.process_time()
    with CaptureWriter(out, append=False) as writer:
        recorder = InlineRecorder(writer, counts)
        for exchange in exchanges:
            recorder.add(exchange)
    recording = time.process_time() - start
    return counts.calls, reading, recording


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=float, default=100, help="pcap size in MB (default 100)")
    parser.add_argument("--quick", action="store_true", help="a 20 MB pcap")
    parser.add_argument("--keep", type=Path, help="write the pcap here and keep it")
    args = parser.parse_args()
    size = 20 if args.quick else args.size
    with tempfile.TemporaryDirectory() as tmp:
        big = args.keep or Path(tmp) / "big.pcap"
        small = Path(tmp) / "small.pcap"
        t = time.perf_counter()
        calls = generate(big, size)
        small_calls = generate(small, size / 4)
        print(
            f"generated {big.stat().st_size / 1e6:.0f} MB ({calls} calls) and "
            f"{small.stat().st_size / 1e6:.0f} MB ({small_calls} calls) "
            f"in {time.perf_counter() - t:.0f} s"
        )
        for name, pcap, n in (("quarter", small, small_calls), ("whole", big, calls)):
            wall, cpu, rss, summary = run_import(pcap, Path(tmp) / f"{name}.jsonl")
            out = Path(tmp) / f"{name}.jsonl"
            print(
                f"{name:8} {pcap.stat().st_size / 1e6:7.0f} MB  {n:8d} calls  "
                f"wall {wall:6.1f} s  {n / wall:7.0f} calls/s  "
                f"cpu {cpu:6.1f} s  {n / cpu:7.0f} calls/s of CPU  "
                f"peak RSS {rss / 1024:6.0f} MiB  capture {out.stat().st_size / 1e6:.0f} MB"
            )
            print(f"         rpcspy: {summary}")
        n, reading, recording = stage_cpu(small, Path(tmp) / "stages.jsonl")
        print(
            f"stages (quarter, in this process): read {reading:.2f} s CPU "
            f"({n / reading:.0f} calls/s), record {recording:.2f} s CPU ({n / recording:.0f} "
            f"calls/s): on two free cores about {n / max(reading, recording):.0f} calls/s"
        )
        print("goal: >= 5000 calls/s on 2 cores; peak RSS the same for the quarter and the whole")


if __name__ == "__main__":
    main()
