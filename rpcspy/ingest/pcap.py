"""pcap and pcapng files (tcpdump, Wireshark, dumpcap) to HTTP/1.x exchanges.

Strategy: packets are read one at a time with dpkt (link layers: Ethernet, Linux cooked v1/v2,
BSD loopback, raw IP; IPv4 and IPv6) and never held as a whole file. Each TCP connection keeps
two ``_Stream`` (one per direction) that put segments back in order: a retransmitted segment is
cut to what is new, one that arrives early waits in a small buffer, and bytes that the other side
acknowledged but the capture never saw are a gap, told to the HTTP reader at once (so a lost
segment costs a damaged call, not a stalled connection). Each direction has a
``MessageReader`` (``rpcspy.ingest.http1``); responses pair with requests in order, which is how
HTTP/1.x pipelining works. A connection is flushed and forgotten when both sides closed it (FIN or
RST), when it has been idle for ``IDLE_SECONDS`` of capture time, and at the end of the file, so
memory holds only the connections open at one moment, not the capture.

A connection whose first bytes are a TLS handshake yields one record with an ``encrypted``
problem (recorded though nothing in it can be read); a connection that speaks
neither HTTP nor TLS is counted and ignored.
"""

from __future__ import annotations

import socket
import struct
from collections import deque
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final

import dpkt

from rpcspy.capture import HttpMessage, Problem
from rpcspy.ingest.exchange import Exchange, ImportCounts, Skipped
from rpcspy.ingest.http1 import Message, MessageReader

__all__ = ["IDLE_SECONDS", "PcapError", "read_pcap"]

#: A connection silent for this long (capture time) is flushed: its open messages are cut short.
IDLE_SECONDS: Final = 600.0
#: Bytes of out-of-order segments one direction may hold while it waits for a missing one; past
#: that the missing bytes are taken as lost.
OOO_LIMIT: Final = 4 * 1024 * 1024
#: How often (in packets) idle connections are looked for.
_SWEEP_EVERY: Final = 20_000

_HTTP_METHODS: Final = (
    b"GET ", b"POST ", b"PUT ", b"HEAD ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ",
    b"TRACE ", b"PROPFIND ", b"REPORT ", b"MKCOL ",
)  # fmt: skip
_MOD: Final = 1 << 32
_HALF: Final = 1 << 31
_FIN: Final = dpkt.tcp.TH_FIN
_SYN: Final = dpkt.tcp.TH_SYN
_RST: Final = dpkt.tcp.TH_RST
_ACK: Final = dpkt.tcp.TH_ACK

#: An address as in the packet (4 or 16 bytes) and a port: compared per packet, so kept raw.
Endpoint = tuple[bytes, int]
Peer = tuple[str, int]
#: What the reassembly takes from a TCP packet: source, destination, flags, sequence and
#: acknowledgement numbers, payload.
Segment = tuple[Endpoint, Endpoint, int, int, int, bytes]


def _peer(endpoint: Endpoint) -> Peer:
    address, port = endpoint
    family = socket.AF_INET if len(address) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, address), port


class PcapError(Exception):
    """The file is not a pcap or pcapng we can read, or uses a link type we do not know."""


def _is_tls(data: bytes) -> bool:
    # A TLS record: handshake (22) or alert/appdata after a lost start, version 3.x.
    return len(data) >= 3 and data[0] in (0x14, 0x15, 0x16, 0x17) and data[1] == 3


@dataclass(slots=True)
class _Stream:
    """One direction of a connection, put back in order (offsets count from its first byte)."""

    base: int | None = None
    next: int = 0
    pending: dict[int, tuple[bytes, float]] = field(default_factory=dict)
    pending_bytes: int = 0
    fin: int | None = None

    def offset(self, seq: int) -> int:
        """The stream offset of sequence number ``seq`` (wrapping at 2**32 handled)."""
        assert self.base is not None
        delta = (seq - self.base - self.next) % _MOD
        if delta >= _HALF:
            delta -= _MOD
        return self.next + delta


@dataclass(slots=True)
class _Connection:
    client: Endpoint
    server: Endpoint
    client_peer: Peer
    server_peer: Peer
    first: float
    last: float
    up: _Stream = field(default_factory=_Stream)
    down: _Stream = field(default_factory=_Stream)
    requests: MessageReader | None = None
    responses: MessageReader | None = None
    waiting: deque[Message] = field(default_factory=deque)
    #: "http", "tls", "other" or None while undecided.
    kind: str | None = None
    closed_up: bool = False
    closed_down: bool = False


class _Reassembler:
    """TCP connections in flight, fed packet by packet; finished exchanges come out."""

    def __init__(self, ports: Collection[int], max_body: int, counts: ImportCounts) -> None:
        self.ports = frozenset(ports)
        self.max_body = max_body
        self.counts = counts
        self.conns: dict[tuple[Endpoint, Endpoint], _Connection] = {}
        self.out: list[Exchange | Skipped] = []
        self.packets = 0

    # ------------------------------------------------------------------ packets

    def packet(self, ts: float, segment: Segment) -> None:
        src, dst, flags, seq, ack, data = segment
        if self.ports and src[1] not in self.ports and dst[1] not in self.ports:
            return
        conn = self.conns.get((src, dst))
        up = True
        if conn is None:
            conn = self.conns.get((dst, src))
            up = False
        if conn is None:
            # Only a SYN or a payload starts a connection: the last ACK of one that just
            # closed (or a FIN, a RST, a keep-alive probe of one never seen) would otherwise be
            # a connection of its own that never ends, held until IDLE_SECONDS later.
            if flags & _RST or not (data or flags & _SYN):
                return
            # The side sending a bare SYN is the client; without one (a capture started mid-way)
            # the side sending to the lower (well-known) port is taken as the client, and the
            # first bytes correct it below.
            if flags & _SYN and not flags & _ACK:
                client, server = src, dst
            elif flags & _SYN:
                client, server = dst, src
            else:
                client, server = (src, dst) if dst[1] <= src[1] else (dst, src)
            conn = _Connection(
                client=client,
                server=server,
                client_peer=_peer(client),
                server_peer=_peer(server),
                first=ts,
                last=ts,
            )
            self.conns[(client, server)] = conn
            up = src == client
        conn.last = ts
        if conn.kind is None and data:
            up = self._decide(conn, up, data)
        stream = conn.up if up else conn.down
        other = conn.down if up else conn.up
        if flags & _SYN:
            stream.base = (seq + 1) % _MOD
            stream.next = 0
        if data:
            if stream.base is None:
                stream.base = seq
            self._segment(conn, up, stream.offset(seq), data, ts)
        if flags & _ACK and other.base is not None and conn.kind != "other":
            acked = other.offset(ack)
            if other.fin is not None:
                acked = min(acked, other.fin)
            if acked > other.next:
                self._gap_to(conn, not up, acked, ts)
        if flags & _FIN and stream.base is not None:
            stream.fin = stream.offset(seq) + len(data)
            if stream.next >= stream.fin:
                self._close_side(conn, up, ts, "the connection closed")
        if flags & _RST:
            self._close_side(conn, True, ts, "the connection was reset")
            self._close_side(conn, False, ts, "the connection was reset")
        if conn.closed_up and conn.closed_down:
            self._finish(conn, ts)
        self.packets += 1
        if self.packets % _SWEEP_EVERY == 0:
            self._sweep(ts)

    def _segment(self, conn: _Connection, up: bool, off: int, data: bytes, ts: float) -> None:
        stream = conn.up if up else conn.down
        end = off + len(data)
        if end <= stream.next:
            return  # a retransmission of what was read already
        if off < stream.next:
            data = data[stream.next - off :]
            off = stream.next
        if off > stream.next:
            if off not in stream.pending or len(stream.pending[off][0]) < len(data):
                stream.pending_bytes += len(data)
                stream.pending[off] = (data, ts)
            if stream.pending_bytes > OOO_LIMIT:
                self._gap_to(conn, up, min(stream.pending), ts)
            return
        self._deliver(conn, up, data, ts)
        self._drain(conn, up)

    def _deliver_buffered(self, conn: _Connection, up: bool) -> None:
        """Deliver the buffered segments that now follow on (or overlap) what was delivered."""
        stream = conn.up if up else conn.down
        while stream.pending:
            first = min(stream.pending)
            if first > stream.next:
                return
            data, ts = stream.pending.pop(first)
            stream.pending_bytes -= len(data)
            if first + len(data) > stream.next:
                self._deliver(conn, up, data[stream.next - first :], ts)

    def _drain(self, conn: _Connection, up: bool) -> None:
        self._deliver_buffered(conn, up)
        stream = conn.up if up else conn.down
        if stream.fin is not None and stream.next >= stream.fin:
            self._close_side(conn, up, conn.last, "the connection closed")

    def _gap_to(self, conn: _Connection, up: bool, offset: int, ts: float) -> None:
        """Bytes up to ``offset`` of a direction were never captured: skip them."""
        stream = conn.up if up else conn.down
        # What waits in the buffer below ``offset`` is not missing.
        self._deliver_buffered(conn, up)
        if offset <= stream.next:
            return
        below = [o for o in stream.pending if o < offset]
        stop = min(below) if below else offset
        missing = stop - stream.next
        stream.next = stop
        reader = self._reader(conn, up)
        if reader is not None:
            self._messages(conn, up, reader.gap(missing, ts))
        self._drain(conn, up)

    def _deliver(self, conn: _Connection, up: bool, data: bytes, ts: float) -> None:
        stream = conn.up if up else conn.down
        stream.next += len(data)
        if conn.kind != "http":
            return
        reader = conn.requests if up else conn.responses
        assert reader is not None
        self._messages(conn, up, reader.feed(data, ts))

    def _decide(self, conn: _Connection, up: bool, data: bytes) -> bool:
        """What the connection speaks, from the first bytes either side sent; returns whether
        those bytes go up (client to server) once the sides are known."""
        if data.startswith(_HTTP_METHODS):
            if not up:  # the mid-way guess had the sides the wrong way round
                self._swap(conn)
                up = True
            conn.kind = "http"
        elif data.startswith(b"HTTP/1."):
            if up:
                self._swap(conn)
                up = False
            conn.kind = "http"
        elif _is_tls(data):
            conn.kind = "tls"
        else:
            conn.kind = "other"
            self.counts.other_connections += 1
        if conn.kind == "http":
            conn.requests = MessageReader(True, max_body=self.max_body)
            conn.responses = MessageReader(
                False, max_body=self.max_body, method_of_next=_method_of_next(conn)
            )
        return up

    def _swap(self, conn: _Connection) -> None:
        key = (conn.client, conn.server)
        del self.conns[key]
        conn.client, conn.server = conn.server, conn.client
        conn.client_peer, conn.server_peer = conn.server_peer, conn.client_peer
        conn.up, conn.down = conn.down, conn.up
        self.conns[(conn.client, conn.server)] = conn

    def _reader(self, conn: _Connection, up: bool) -> MessageReader | None:
        return conn.requests if up else conn.responses

    # ------------------------------------------------------------------ messages

    def _messages(self, conn: _Connection, up: bool, messages: list[Message]) -> None:
        for msg in messages:
            if up:
                conn.waiting.append(msg)
                continue
            if 100 <= msg.status < 200 and msg.status != 101:
                continue  # 100 Continue and friends: the real answer follows
            if not conn.waiting:
                continue  # an answer to a request the capture did not see
            self._exchange(conn, conn.waiting.popleft(), msg)
        if not up and conn.responses is not None and conn.responses.lost:
            for request in conn.waiting:
                self._exchange(conn, request, None, "the response was lost in the capture")
            conn.waiting.clear()

    def _exchange(
        self, conn: _Connection, req: Message, resp: Message | None, error: str | None = None
    ) -> None:
        if req.method != "POST":
            self.out.append(Skipped())
            return
        request = HttpMessage(headers=req.headers, body=req.body)
        response = HttpMessage(headers=resp.headers, body=resp.body) if resp is not None else None
        damaged = set()
        problems = list(req.problems)
        if req.damaged:
            damaged.add("request")
        if resp is not None:
            problems += resp.problems
            if resp.damaged:
                damaged.add("response")
        host = req.header("host") or conn.server_peer[0]
        target = req.target
        scheme = "http"
        if "://" in target:  # absolute form, sent to a proxy
            scheme, _, rest = target.partition("://")
            host, _, path = rest.partition("/")
            target = "/" + path
        if host.startswith("["):
            host = host[1:].partition("]")[0]
        elif host.count(":") == 1:
            host = host.partition(":")[0]
        self.out.append(
            Exchange(
                method=req.method,
                request=request,
                response=response,
                started=req.started,
                ended=resp.ended if resp is not None else None,
                client=conn.client_peer,
                server=conn.server_peer,
                scheme=scheme,
                host=host,
                port=conn.server[1],
                path=target or "/",
                status=resp.status if resp is not None else None,
                error=error,
                problems=tuple(problems),
                damaged=frozenset(damaged),
                judged=False,  # the recorder sniffs the bodies (off this process if it can)
            )
        )

    def _close_side(self, conn: _Connection, up: bool, ts: float, why: str) -> None:
        if up:
            if conn.closed_up:
                return
            conn.closed_up = True
        else:
            if conn.closed_down:
                return
            conn.closed_down = True
        reader = self._reader(conn, up)
        if reader is not None:
            self._messages(conn, up, reader.close(ts, why))

    def _finish(self, conn: _Connection, ts: float, why: str = "the connection closed") -> None:
        """Flush what the connection still holds and forget it."""
        self.conns.pop((conn.client, conn.server), None)
        for up in (True, False):
            stream = conn.up if up else conn.down
            while stream.pending:
                self._gap_to(conn, up, min(stream.pending), ts)
        self._close_side(conn, True, ts, why)
        self._close_side(conn, False, ts, why)
        for request in conn.waiting:
            self._exchange(conn, request, None, "no response in the capture")
        conn.waiting.clear()
        if conn.kind == "tls":
            self.out.append(_encrypted(conn))

    def _sweep(self, now: float) -> None:
        for conn in [c for c in self.conns.values() if now - c.last > IDLE_SECONDS]:
            self._finish(conn, conn.last, f"the connection was idle for {IDLE_SECONDS:.0f} s")

    def flush(self) -> None:
        """The end of the capture: every connection still open is finished."""
        for conn in list(self.conns.values()):
            self._finish(conn, conn.last, "the capture ended")


def _method_of_next(conn: _Connection) -> Callable[[], str | None]:
    def method() -> str | None:
        return conn.waiting[0].method if conn.waiting else None

    return method


def _encrypted(conn: _Connection) -> Exchange:
    return Exchange(
        method="",
        request=HttpMessage(),
        response=None,
        started=conn.first,
        ended=conn.last,
        client=conn.client_peer,
        server=conn.server_peer,
        scheme="https",
        host=conn.server_peer[0],
        port=conn.server[1],
        path="",
        problems=(
            Problem(
                "connection",
                "encrypted",
                "TLS connection: encrypted, not decodable (capture the traffic through "
                "rpcspy proxy to see its calls)",
            ),
        ),
        damaged=frozenset({"request"}),
    )


# ---------------------------------------------------------------------- files and link layers
#
# Strategy: dpkt reads the file (pcap, nanosecond pcap, pcapng) and knows every link type; its
# decoding of a frame into Ethernet, IP and TCP objects costs most of a packet's time, though all
# the reassembly needs of it is six fields. So the plain case is read here with ``struct``: a
# frame of a known link type carrying IPv4 (no fragment) or IPv6 (no extension header) right
# after the link header, and a whole TCP header behind that. Every other frame (VLAN tags, other
# EtherTypes, fragments, extension headers, UDP, short or odd headers) goes to dpkt exactly as
# before, so what is read never depends on the path: tests/ingest/test_fast_path.py checks that
# both give the same segments, packet by packet, on the fixtures and on crafted frames.

_IP4: Final = struct.Struct("!BxH2xHxB2x4s4s")  # version+IHL, length, flags+offset, protocol
_IP6: Final = struct.Struct("!4xHBx16s16s")  # payload length, next header
_TCP: Final = struct.Struct("!HHIIH")  # ports, seq, ack, data offset+flags
_TCP_PROTO: Final = 6


def _tcp4(buf: bytes, at: int) -> Segment | None:
    """The TCP segment of a plain IPv4 packet at ``at`` (None: not the plain case)."""
    if len(buf) < at + 40:
        return None
    v_hl, total, fragment, proto, src, dst = _IP4.unpack_from(buf, at)
    hl = (v_hl & 15) << 2
    if v_hl >> 4 != 4 or hl < 20 or proto != _TCP_PROTO or fragment & 0x3FFF:
        return None
    # A length of 0 is a segmentation offload: the packet runs to the end of the frame.
    end = min(at + total, len(buf)) if total else len(buf)
    return _tcp(buf, at + hl, end, src, dst)


def _tcp6(buf: bytes, at: int) -> Segment | None:
    """The TCP segment of an IPv6 packet at ``at`` whose next header is TCP (else None)."""
    if len(buf) < at + 60 or buf[at] >> 4 != 6:
        return None
    payload, nxt, src, dst = _IP6.unpack_from(buf, at)
    if nxt != _TCP_PROTO:
        return None
    start = at + 40
    end = min(start + payload, len(buf)) if payload else len(buf)
    return _tcp(buf, start, end, src, dst)


def _tcp(buf: bytes, start: int, end: int, src: bytes, dst: bytes) -> Segment | None:
    if end - start < 20:
        return None
    sport, dport, seq, ack, off_flags = _TCP.unpack_from(buf, start)
    hl = (off_flags >> 12) << 2
    if hl < 20:
        return None
    return (src, sport), (dst, dport), off_flags & 0x1FF, seq, ack, buf[start + hl : end]


def _by_ethertype(kind: bytes, buf: bytes, at: int) -> Segment | None:
    if kind == b"\x08\x00":
        return _tcp4(buf, at)
    if kind == b"\x86\xdd":
        return _tcp6(buf, at)
    return None


def _fast_ethernet(buf: bytes) -> Segment | None:
    return _by_ethertype(buf[12:14], buf, 14)


def _fast_sll(buf: bytes) -> Segment | None:
    return _by_ethertype(buf[14:16], buf, 16)


def _fast_sll2(buf: bytes) -> Segment | None:
    return _by_ethertype(buf[0:2], buf, 20)


_LOOP4: Final = frozenset({b"\x02\x00\x00\x00", b"\x00\x00\x00\x02"})
_LOOP6: Final = frozenset(
    family for n in (24, 28, 30) for family in (bytes([n, 0, 0, 0]), bytes([0, 0, 0, n]))
)


def _fast_loopback(buf: bytes) -> Segment | None:
    family = buf[0:4]
    if family in _LOOP4:
        return _tcp4(buf, 4)
    if family in _LOOP6:
        return _tcp6(buf, 4)
    return None


def _fast_raw(buf: bytes) -> Segment | None:
    version = buf[0] >> 4 if buf else 0
    if version == 4:
        return _tcp4(buf, 0)
    if version == 6:
        return _tcp6(buf, 0)
    return None


_DLT_LINUX_SLL2: Final = 276
#: Raw IP: LINKTYPE_RAW (101, what files hold), the platforms' DLT_RAW (12, 14), IPv4, IPv6.
_RAW_LINKS: Final = (101, dpkt.pcap.DLT_RAW, 12, 14, 228, 229)


def _fast_of(link: int) -> Callable[[bytes], Segment | None]:
    """The ``struct`` reader of the plain frames of link type ``link`` (None: ask dpkt)."""
    if link == dpkt.pcap.DLT_EN10MB:
        return _fast_ethernet
    if link == dpkt.pcap.DLT_LINUX_SLL:
        return _fast_sll
    if link == _DLT_LINUX_SLL2:
        return _fast_sll2
    if link in (dpkt.pcap.DLT_NULL, dpkt.pcap.DLT_LOOP):
        return _fast_loopback
    if link in _RAW_LINKS:
        return _fast_raw
    return lambda buf: None


def _ip_of(link: int) -> Callable[[bytes], dpkt.Packet | None]:
    """dpkt's reading of a frame of link type ``link`` to its IP packet (None if not IP)."""
    if link == dpkt.pcap.DLT_EN10MB:
        ip4, ip6, ethernet = dpkt.ip.IP, dpkt.ip6.IP6, dpkt.ethernet.Ethernet

        def frame(buf: bytes) -> dpkt.Packet | None:
            # IP right after the 14-byte header skips dpkt's Ethernet object; VLAN tags and the
            # rest go through it.
            kind = buf[12:14]
            if kind == b"\x08\x00":
                return ip4(buf[14:])
            if kind == b"\x86\xdd":
                return ip6(buf[14:])
            return ethernet(buf).data

        return frame
    if link == dpkt.pcap.DLT_LINUX_SLL:
        return lambda buf: dpkt.sll.SLL(buf).data
    if link == _DLT_LINUX_SLL2:
        return lambda buf: dpkt.sll2.SLL2(buf).data
    if link in (dpkt.pcap.DLT_NULL, dpkt.pcap.DLT_LOOP):
        return lambda buf: dpkt.loopback.Loopback(buf).data
    if link in _RAW_LINKS:

        def raw(buf: bytes) -> dpkt.Packet | None:
            version = buf[0] >> 4 if buf else 0
            if version == 4:
                return dpkt.ip.IP(buf)
            if version == 6:
                return dpkt.ip6.IP6(buf)
            return None

        return raw
    raise PcapError(f"link type {link} is not supported (Ethernet, Linux cooked, loopback, raw IP)")


def _segment_of(link: int) -> Callable[[bytes], Segment | None]:
    """dpkt's reading of a frame of link type ``link`` to its TCP segment (None if not TCP)."""
    ip_of = _ip_of(link)
    tcp_type = dpkt.tcp.TCP

    def segment(buf: bytes) -> Segment | None:
        ip = ip_of(buf)
        tcp = getattr(ip, "data", None)
        if not isinstance(tcp, tcp_type):
            return None
        assert ip is not None
        return (ip.src, tcp.sport), (ip.dst, tcp.dport), tcp.flags, tcp.seq, tcp.ack, tcp.data

    return segment


def _reader(f: BinaryIO) -> dpkt.pcap.Reader | dpkt.pcapng.Reader:
    head = f.read(4)
    f.seek(0)
    try:
        pcapng = head == b"\x0a\x0d\x0d\x0a"
        return dpkt.pcapng.Reader(f) if pcapng else dpkt.pcap.Reader(f)
    except (ValueError, dpkt.NeedData, dpkt.UnpackError) as exc:
        raise PcapError(f"not a pcap or pcapng file: {exc}") from exc


#: The record header of a classic pcap file with microsecond times, by the file's first bytes:
#: seconds, microseconds, bytes captured, bytes on the wire.
_RECORD_HEADERS: Final = {
    b"\xa1\xb2\xc3\xd4": struct.Struct(">IIII"),
    b"\xd4\xc3\xb2\xa1": struct.Struct("<IIII"),
}
_CHUNK: Final = 1 << 20


def _records(f: BinaryIO, header: struct.Struct) -> Iterator[tuple[float, bytes]]:
    """Each record of a classic pcap file, read from where dpkt's reader left the file (after
    the file header): what ``dpkt.pcap.Reader`` yields (its time and frame, a frame cut short by
    the end of the file as it is) and stops where it stops (a record header cut short), read a
    megabyte at a time instead of two reads and a dpkt object per packet."""
    unpack = header.unpack_from
    buf = f.read(_CHUNK)
    at = 0
    while True:
        if len(buf) - at < 16:
            buf = buf[at:] + f.read(_CHUNK)
            at = 0
            if len(buf) < 16:
                return  # the end of the file, or a record header cut short
        sec, usec, caplen, _wire = unpack(buf, at)
        at += 16
        end = at + caplen
        if end > len(buf):
            buf = buf[at:] + f.read(max(_CHUNK, caplen - (len(buf) - at)))
            at = 0
            end = caplen
        yield sec + usec / 1e6, buf[at:end]
        at = end


def _packets(f: BinaryIO, *, fast: bool = True) -> Iterator[tuple[float, Segment | None]]:
    """Each packet's time and TCP segment (None: not TCP). ``fast=False`` reads every record
    and frame with dpkt (the tests compare the two)."""
    head = f.read(4)
    f.seek(0)
    reader = _reader(f)
    link = reader.datalink()
    slow = _segment_of(link)
    quick = _fast_of(link) if fast else lambda buf: None
    header = _RECORD_HEADERS.get(head) if fast else None
    records = reader if header is None else _records(f, header)
    try:
        for ts, buf in records:
            yield float(ts), quick(buf) or slow(buf)
    except (dpkt.NeedData, dpkt.UnpackError, ValueError):
        return  # a file cut short (tcpdump killed): what came before it is kept


def read_pcap(
    path: Path,
    counts: ImportCounts,
    *,
    ports: Collection[int] = (),
    max_body: int = 16 * 1024 * 1024,
    on_packet: Callable[[int], None] | None = None,
) -> Iterator[Exchange | Skipped]:
    """Every HTTP/1.x exchange in a pcap or pcapng file, in the order they completed.

    XML-RPC ones come as ``Exchange``, the rest as ``Skipped``. ``ports`` narrows to connections
    with one of these ports on either side. ``on_packet(bytes_read)`` reports progress.
    """
    state = _Reassembler(ports, max_body, counts)
    packet = state.packet
    with open(path, "rb") as f:
        n = 0
        for ts, segment in _packets(f):
            n += 1
            if on_packet is not None and n % 1000 == 0:
                on_packet(f.tell())
            if segment is None:
                continue
            packet(ts, segment)
            if state.out:
                yield from state.out
                state.out.clear()
        state.flush()
        yield from state.out
        state.out.clear()
        if on_packet is not None:
            on_packet(f.tell())
