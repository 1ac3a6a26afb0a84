"""Real ONC RPC peers for the tests: the rpcgen example server and client (built with make), a
real rpcbind, and two ways to record the bytes they exchange: a byte-recording relay (TCP and
UDP) and tcpdump on the loopback interface (for rpcinfo, which talks to port 111 only).

Fixtures are JSON (tests/data/oncrpc/README.md): TCP connections as the hex of each direction's
stream, UDP as the hex of each datagram in order with its direction.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
FIXTURES = REPO / "tests" / "data" / "oncrpc"


def missing_tools(*tools: str) -> list[str]:
    """The tools of ``tools`` not on PATH (rpcbind and rpcinfo live in /usr/sbin)."""
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    return [t for t in tools if shutil.which(t, path=path) is None]


def tool(name: str) -> str:
    found = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    assert found, name
    return found


def build_examples(out: Path) -> tuple[Path, Path]:
    """Build the rpcgen C server and client of examples/rpc_example.x into ``out``."""
    result = subprocess.run(
        ["make", "-s", "-C", str(EXAMPLES), f"OUT={out}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"building the rpcgen example failed:\n{result.stderr}")
    return out / "rpc_example_server", out / "rpc_example_client"


@contextlib.contextmanager
def example_server(binary: Path, register: bool = False) -> Iterator[int]:
    """Run the C server on a free port of 127.0.0.1 (TCP and UDP); yields the port."""
    args = [str(binary), "0"] + (["register"] if register else [])
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if not line or line[0] != "ready":
            raise RuntimeError(f"the example server did not start: {proc.stderr.read()}")
        yield int(line[1])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_client(binary: Path, port: int, proto: str, *extra: str) -> str:
    result = subprocess.run(
        [str(binary), "127.0.0.1", str(port), proto, *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def rpcbind() -> Iterator[str]:
    """A running rpcbind on port 111: the one already there, or one started for the test
    (``rpcbind -f``) and stopped after. Yields "existing" or "started"; raises RuntimeError
    with rpcbind's words when it cannot start."""
    if _listening(111):
        yield "existing"
        return
    Path("/run/rpcbind").mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [tool("rpcbind"), "-f"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 10
        while not _listening(111):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"rpcbind did not start: {proc.communicate()[1].strip()}")
            time.sleep(0.05)
        yield "started"
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


# ---------------------------------------------------------------- recordings


@dataclass
class Recording:
    """What crossed the wire: TCP connections (client->server and server->client streams) and
    UDP datagrams (direction, bytes), with how they were made."""

    made_by: str
    tcp: list[tuple[bytes, bytes]] = field(default_factory=list)
    udp: list[tuple[str, bytes]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "made_by": self.made_by,
            "tcp": [{"c2s": c.hex(), "s2c": s.hex()} for c, s in self.tcp],
            "udp": [{"dir": d, "hex": b.hex()} for d, b in self.udp],
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Recording:
        tcp = data.get("tcp") or []
        udp = data.get("udp") or []
        assert isinstance(tcp, list) and isinstance(udp, list)
        return cls(
            str(data["made_by"]),
            [(bytes.fromhex(c["c2s"]), bytes.fromhex(c["s2c"])) for c in tcp],
            [(d["dir"], bytes.fromhex(d["hex"])) for d in udp],
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Recording:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


class TcpRelay:
    """Listens on a free port of 127.0.0.1, relays each connection to ``upstream`` byte for
    byte, and records both directions."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.connections: list[tuple[bytearray, bytearray]] = []
        self.threads: list[threading.Thread] = []
        self.accepter = threading.Thread(target=self._accept, daemon=True)
        self.accepter.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
            streams = (bytearray(), bytearray())
            self.connections.append(streams)
            for src, dst, buf in ((client, upstream, streams[0]), (upstream, client, streams[1])):
                t = threading.Thread(target=self._pump, args=(src, dst, buf), daemon=True)
                t.start()
                self.threads.append(t)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, buf: bytearray) -> None:
        try:
            while data := src.recv(65536):
                buf += data
                dst.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> list[tuple[bytes, bytes]]:
        self.server.close()
        for t in self.threads:
            t.join(timeout=5)
        return [(bytes(c), bytes(s)) for c, s in self.connections]


class UdpRelay:
    """A UDP port that forwards each datagram to ``upstream`` and the answers back, recording
    every datagram with its direction."""

    def __init__(self, upstream: int) -> None:
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.port = int(self.front.getsockname()[1])
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.connect(("127.0.0.1", upstream))
        self.datagrams: list[tuple[str, bytes]] = []
        self.client: tuple[str, int] | None = None
        self.running = True
        self.threads = [
            threading.Thread(target=self._forward, daemon=True),
            threading.Thread(target=self._backward, daemon=True),
        ]
        for t in self.threads:
            t.start()

    def _forward(self) -> None:
        self.front.settimeout(0.2)
        while self.running:
            try:
                data, self.client = self.front.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.datagrams.append(("c2s", data))
            self.back.send(data)

    def _backward(self) -> None:
        self.back.settimeout(0.2)
        while self.running:
            try:
                data = self.back.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.datagrams.append(("s2c", data))
            if self.client is not None:
                self.front.sendto(data, self.client)

    def close(self) -> list[tuple[str, bytes]]:
        self.running = False
        for t in self.threads:
            t.join(timeout=5)
        self.front.close()
        self.back.close()
        return list(self.datagrams)


def _tcp_port(port: int) -> list[str]:
    return ["tcp", "port", str(port)]


#: The call that ends a tcpdump recording: a NULL call with this xid and no credentials.
MARKER = bytes.fromhex("80000028") + bytes.fromhex("6d61726b0000000000000002")


def _mark_the_end(port: int, pcap: Path) -> None:
    """Make one last NULL call to ``port`` and wait until tcpdump has written it: tcpdump runs
    behind the traffic (a second or more here) and SIGINT drops what it has not written yet;
    with ``-U`` it writes packet by packet, so once the marker is in the file, all before is."""
    call = MARKER + bytes.fromhex("000186a00000000200000000") + bytes(16)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(call)
        s.recv(65536)
    deadline = time.monotonic() + 30
    while MARKER not in pcap.read_bytes():
        if time.monotonic() > deadline:
            raise RuntimeError("tcpdump did not write the last packets within 30 s")
        time.sleep(0.1)
    time.sleep(0.3)


@contextlib.contextmanager
def tcpdump_lo(port: int) -> Iterator[list[tuple[bytes, bytes]]]:
    """Capture TCP on the loopback interface to and from ``port`` while the block runs; the
    yielded list is filled, after the block, with each connection's two streams."""
    import dpkt

    connections: list[tuple[bytes, bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        pcap = Path(tmp) / "lo.pcap"
        proc = subprocess.Popen(
            [tool("tcpdump"), "-i", "lo", "-U", "-Z", "root", "-w", str(pcap), *_tcp_port(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        line = proc.stderr.readline()
        if "listening" not in line:
            proc.kill()
            raise RuntimeError(f"tcpdump did not start: {line}{proc.stderr.read()}")
        try:
            yield connections
            _mark_the_end(port, pcap)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)
        flows: dict[tuple[int, int], dict[int, bytes]] = {}
        order: list[int] = []
        with pcap.open("rb") as f:
            for _, frame in dpkt.pcap.Reader(f):
                eth = dpkt.ethernet.Ethernet(frame)
                ip = eth.data
                if not isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6):
                    continue
                tcp = ip.data
                if not isinstance(tcp, dpkt.tcp.TCP):
                    continue
                client = tcp.sport if tcp.dport == port else tcp.dport
                if client not in order:
                    order.append(client)
                key = (client, 0 if tcp.dport == port else 1)
                if tcp.data:
                    flows.setdefault(key, {})[tcp.seq] = bytes(tcp.data)
        for client in order:
            if flows.get((client, 0), {}) and MARKER in b"".join(flows[(client, 0)].values()):
                continue
            streams = []
            for side in (0, 1):
                segments = flows.get((client, side), {})
                streams.append(b"".join(segments[s] for s in sorted(segments)))
            if streams[0] or streams[1]:
                connections.append((streams[0], streams[1]))
