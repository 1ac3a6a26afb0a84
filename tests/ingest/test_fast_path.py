"""The pcap import's fast paths read what the slow ones read.

The import reads plain frames (IPv4 or IPv6 with TCP right after a known link header) with
``struct`` and everything else with dpkt; these tests hold the two readings side by side on the
fixtures written by tcpdump and on frames crafted for the cases the fast path hands to dpkt.
HTTP heads that are UTF-8 as a whole are decoded in one go, others part by part: both readings
are held side by side too.
"""

from __future__ import annotations

import struct
from pathlib import Path

import dpkt
import pytest

from rpcspy.ingest import http1
from rpcspy.ingest.http1 import _fields, _fields_by_part
from rpcspy.ingest.pcap import Segment, _fast_of, _packets, _segment_of
from tests.ingest.helpers import FIXTURES

CLIENT4, SERVER4 = bytes([10, 0, 0, 2]), bytes([10, 0, 0, 1])
CLIENT6, SERVER6 = bytes(15) + b"\x02", bytes(15) + b"\x01"
MACS = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02"
PAYLOAD = b"POST /RPC2 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"

EN10MB, SLL, SLL2, NULL, RAW = 1, 113, 276, 0, 101


def tcp(data: bytes = PAYLOAD, opts: bytes = b"", flags: int = 0x18) -> dpkt.tcp.TCP:
    segment = dpkt.tcp.TCP(sport=40000, dport=8000, seq=1000, ack=2000, flags=flags, data=data)
    segment.opts = opts
    segment.off = 5 + len(opts) // 4
    return segment


def ip4(segment: dpkt.Packet, *, opts: bytes = b"", p: int = 6, off: int = 0) -> bytes:
    packet = dpkt.ip.IP(src=CLIENT4, dst=SERVER4, p=p, data=segment)
    packet.opts = opts
    packet.hl = 5 + len(opts) // 4
    packet.offset = off & 0x1FFF
    packet.mf = (off >> 13) & 1
    packet.len = 20 + len(opts) + len(bytes(segment))
    return bytes(packet)


def ip6(segment: dpkt.Packet, *, nxt: int = 6, ext: bytes = b"") -> bytes:
    body = ext + bytes(segment)
    head = struct.pack("!IHBB", 0x60000000, len(body), nxt, 64)
    return head + CLIENT6 + SERVER6 + body


def ethernet(kind: int, payload: bytes) -> bytes:
    return MACS + struct.pack("!H", kind) + payload


def sll(kind: int, payload: bytes) -> bytes:
    return struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 8, kind) + payload


def sll2(kind: int, payload: bytes) -> bytes:
    return struct.pack("!HHiHBB8s", kind, 0, 1, 1, 0, 6, b"\x02" * 8) + payload


def loopback(family: int, payload: bytes, order: str = "<") -> bytes:
    return struct.pack(f"{order}I", family) + payload


PLAIN4 = ip4(tcp())
PLAIN6 = ip6(tcp())
NO_LENGTH4 = PLAIN4[:2] + b"\0\0" + PLAIN4[4:]  # length 0: a segmentation offload
SHORT_LENGTH4 = PLAIN4[:2] + b"\x00\x1e" + PLAIN4[4:]  # 30 bytes: the TCP header cut
BAD_OFFSET4 = PLAIN4[:32] + b"\x30" + PLAIN4[33:]  # TCP data offset 3 words
SYN4 = ip4(tcp(b"", flags=0x02))
IP_OPTIONS4 = ip4(tcp(), opts=b"\x01\x01\x01\x00")
TCP_OPTIONS4 = ip4(tcp(opts=b"\x02\x04\x05\xb4\x01\x01\x04\x02"))
HOP_BY_HOP6 = ip6(tcp(), nxt=0, ext=b"\x06\x00" + bytes(6))
UDP4 = ip4(dpkt.udp.UDP(sport=53, dport=53, data=b"x"), p=17)

#: (name, link type, frame, whether the fast path reads it itself).
FRAMES: list[tuple[str, int, bytes, bool]] = [
    ("ethernet ipv4", EN10MB, ethernet(0x0800, PLAIN4), True),
    ("ethernet ipv4, trailer padding", EN10MB, ethernet(0x0800, PLAIN4) + bytes(30), True),
    ("ethernet ipv4, length 0 (offload)", EN10MB, ethernet(0x0800, NO_LENGTH4), True),
    ("ethernet ipv4 SYN no data", EN10MB, ethernet(0x0800, SYN4), True),
    ("ethernet ipv4 options", EN10MB, ethernet(0x0800, IP_OPTIONS4), True),
    ("ethernet tcp options", EN10MB, ethernet(0x0800, TCP_OPTIONS4), True),
    ("ethernet ipv6", EN10MB, ethernet(0x86DD, PLAIN6), True),
    ("ethernet ipv6 hop-by-hop", EN10MB, ethernet(0x86DD, HOP_BY_HOP6), False),
    ("ethernet vlan", EN10MB, MACS + b"\x81\x00\x00\x05\x08\x00" + PLAIN4, False),
    ("ethernet qinq", EN10MB, MACS + b"\x88\xa8\x00\x05\x81\x00\x00\x06\x08\x00" + PLAIN4, False),
    ("ethernet arp", EN10MB, ethernet(0x0806, bytes(28)), False),
    ("ethernet ipv4 udp", EN10MB, ethernet(0x0800, UDP4), False),
    ("ethernet ipv4 first fragment", EN10MB, ethernet(0x0800, ip4(tcp(), off=0x2000)), False),
    ("ethernet ipv4 later fragment", EN10MB, ethernet(0x0800, ip4(tcp(), off=0x0010)), False),
    ("ethernet ipv4 short tcp", EN10MB, ethernet(0x0800, PLAIN4[:30]), False),
    ("ethernet ipv4 length too short", EN10MB, ethernet(0x0800, SHORT_LENGTH4), False),
    ("ethernet ipv4 bad tcp offset", EN10MB, ethernet(0x0800, BAD_OFFSET4), False),
    ("ethernet version 6 as 0800", EN10MB, ethernet(0x0800, b"\x65" + PLAIN4[1:]), False),
    ("linux cooked ipv4", SLL, sll(0x0800, PLAIN4), True),
    ("linux cooked ipv6", SLL, sll(0x86DD, PLAIN6), True),
    ("linux cooked other", SLL, sll(0x0806, bytes(28)), False),
    ("linux cooked v2 ipv4", SLL2, sll2(0x0800, PLAIN4), True),
    ("linux cooked v2 ipv6", SLL2, sll2(0x86DD, PLAIN6), True),
    ("loopback ipv4 little-endian", NULL, loopback(2, PLAIN4), True),
    ("loopback ipv4 big-endian", NULL, loopback(2, PLAIN4, ">"), True),
    ("loopback ipv6 (30)", NULL, loopback(30, PLAIN6), True),
    ("loopback ipv6 (24) big-endian", NULL, loopback(24, PLAIN6, ">"), True),
    ("raw ipv4", RAW, PLAIN4, True),
    ("raw ipv6", RAW, PLAIN6, True),
    ("raw other", RAW, b"\x10" + bytes(40), False),
    ("raw, the platform's DLT_RAW", 12, PLAIN4, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("link", "frame", "fast"), [f[1:] for f in FRAMES], ids=[f[0] for f in FRAMES]
)
def test_a_crafted_frame_reads_the_same_by_either_path(link: int, frame: bytes, fast: bool) -> None:
    by_dpkt = _segment_of(link)(frame)
    by_struct = _fast_of(link)(frame)
    if fast:
        assert by_struct is not None  # the plain case is read without dpkt's objects
        assert by_struct == by_dpkt
    else:
        assert by_struct is None  # left to dpkt, whatever dpkt makes of it
    if by_dpkt is not None and by_dpkt[5]:
        assert by_dpkt[5] == PAYLOAD


def test_the_fast_path_reads_the_payload_the_ip_length_says() -> None:
    segment = _fast_of(EN10MB)(ethernet(0x0800, PLAIN4) + b"\xff" * 20)
    assert segment is not None
    assert segment == ((CLIENT4, 40000), (SERVER4, 8000), 0x18, 1000, 2000, PAYLOAD)


def _write(path: Path, link: int, frames: list[bytes]) -> None:
    with open(path, "wb") as f:
        writer = dpkt.pcap.Writer(f, snaplen=65535, linktype=link)
        for i, frame in enumerate(frames):
            writer.writepkt(frame, ts=1_700_000_000 + i / 1000)


def _both(
    path: Path,
) -> tuple[list[tuple[float, Segment | None]], list[tuple[float, Segment | None]]]:
    with open(path, "rb") as f:
        fast = list(_packets(f))
    with open(path, "rb") as f:
        slow = list(_packets(f, fast=False))
    return fast, slow


@pytest.mark.parametrize("name", ["lo.pcap", "lossy.pcap"])
def test_every_fixture_packet_reads_the_same_by_either_path(name: str) -> None:
    fast, slow = _both(FIXTURES / name)
    assert len(fast) > 100
    assert fast == slow
    # And tcpdump's loopback frames are all the plain case: none needed dpkt.
    with open(FIXTURES / name, "rb") as f:
        quick = _fast_of(dpkt.pcap.Reader(f).datalink())
        with open(FIXTURES / name, "rb") as g:
            frames = [buf for _ts, buf in dpkt.pcap.Reader(g)]
    assert all(quick(buf) is not None for buf in frames)


@pytest.mark.parametrize("link", [EN10MB, SLL, SLL2, NULL, RAW])
def test_a_file_of_mixed_frames_reads_the_same_by_either_path(tmp_path: Path, link: int) -> None:
    frames = [frame for _name, kind, frame, _fast in FRAMES if kind == link]
    path = tmp_path / "mixed.pcap"
    _write(path, link, frames * 3)
    fast, slow = _both(path)
    assert len(fast) == 3 * len(frames)
    assert fast == slow
    assert any(segment is not None for _ts, segment in fast)


def test_a_frame_dpkt_cannot_read_ends_the_file_on_either_path(tmp_path: Path) -> None:
    # A frame cut inside its IP header: dpkt stops there (a file cut short), the fast path too.
    path = tmp_path / "cut.pcap"
    _write(path, EN10MB, [ethernet(0x0800, PLAIN4), ethernet(0x0800, PLAIN4[:10]), PLAIN4])
    fast, slow = _both(path)
    assert fast == slow
    assert len(fast) == 1


HEADS = [
    b"",
    b"Host: a\r\nContent-Length: 12",
    b"Host:a\r\n  Content-Length :  12  \r\nX: \t\x0bv\x0c ",
    b"content-length: 1\r\nContent-Length: 2\r\nTransfer-Encoding: gzip, chunked",
    b"no colon here\r\n\r\n: empty name\r\nX-Empty:",
    b"X-Lone: a\rb\nc\r\nX-Colon: a:b:c",
    "X-Name: Zoë, 東京\r\nX-Nel: \u0085v\u0085\r\nX-Nbsp: \u00a0v\u00a0".encode(),
    "Transfer-Encoding: chunked\r\nTransfer\u2010Encoding: x".encode(),
    "Content-Length: \u0661\u0662".encode(),  # Arabic-Indic digits: not a length
    b"X-Latin1: caf\xe9\r\nContent-Length: 3",  # not UTF-8: read part by part
    b"X-Bad: \xff\xfe\r\nX-Good: \xc3\xa9",
]


@pytest.mark.parametrize("block", HEADS)
def test_a_head_reads_the_same_decoded_at_once_or_part_by_part(block: bytes) -> None:
    assert _fields(block) == _fields_by_part(block)
    assert _fields(block) == _fields_by_part(block)  # its lines read before: from the memo


def test_the_memo_of_header_lines_stays_small(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}
    monkeypatch.setattr(http1, "_SEEN", seen)
    long = "X-Long: " + "v" * http1._SEEN_LENGTH
    block = f"Host: a\r\n{long}\r\nnot a field\r\nContent-Length: 12".encode()
    want = _fields_by_part(block)
    assert _fields(block) == want
    assert set(seen) == {"Host: a", "not a field", "Content-Length: 12"}  # not the long line
    assert _fields(block) == want
    for n in range(http1._SEEN_LINES + 10):
        line = f"X-N: {n}".encode()
        assert _fields(line) == _fields_by_part(line)
        assert len(seen) <= http1._SEEN_LINES


def test_a_closed_connection_is_forgotten_at_its_last_ack() -> None:
    # Memory holds the connections open at one moment: the ACK that follows both FINs must not
    # start a connection of its own (it would be held for IDLE_SECONDS of capture time).
    from rpcspy.ingest import ImportCounts
    from rpcspy.ingest.pcap import _Reassembler

    client, server = (CLIENT4, 40000), (SERVER4, 8000)
    request = b"POST /RPC2 HTTP/1.1\r\nContent-Length: 13\r\n\r\n<methodCall/>"
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n<methodResponse/>"
    c, s = 1000, 5000
    packets: list[Segment] = [
        (client, server, 0x02, c, 0, b""),
        (server, client, 0x12, s, c + 1, b""),
        (client, server, 0x10, c + 1, s + 1, b""),
        (client, server, 0x18, c + 1, s + 1, request),
        (server, client, 0x18, s + 1, c + 1 + len(request), answer),
        (client, server, 0x11, c + 1 + len(request), s + 1 + len(answer), b""),
        (server, client, 0x11, s + 1 + len(answer), c + 2 + len(request), b""),
        (client, server, 0x10, c + 2 + len(request), s + 2 + len(answer), b""),
    ]
    state = _Reassembler((), 1 << 20, ImportCounts())
    for i, segment in enumerate(packets):
        state.packet(float(i), segment)
    assert len(state.out) == 1
    assert state.conns == {}
    # A lone ACK or FIN of a connection never seen starts nothing either; data or a SYN does.
    state.packet(9.0, (client, server, 0x10, 7, 7, b""))
    state.packet(9.0, (client, server, 0x11, 7, 7, b""))
    assert state.conns == {}
    state.packet(10.0, (client, server, 0x18, 7, 7, request))
    assert len(state.conns) == 1


def _classic(order: str, records: list[tuple[int, int, bytes]], magic: int = 0xA1B2C3D4) -> bytes:
    """A classic pcap file in byte order ``order``: (seconds, fraction, frame) per record."""
    out = struct.pack(f"{order}IHHiIII", magic, 2, 4, 0, 0, 65535, EN10MB)
    for sec, frac, frame in records:
        out += struct.pack(f"{order}IIII", sec, frac, len(frame), len(frame)) + frame
    return out


RECORDS = [
    (1_700_000_000 + i, 999_999 - i * 7919 % 999_999, ethernet(0x0800, PLAIN4)[: 60 + i * 13])
    for i in range(40)
] + [(1_700_000_100, 5, b""), (1_700_000_101, 6, bytes(3000))]


def _by_dpkt(data: bytes) -> list[tuple[float, bytes]]:
    import io

    out = []
    try:
        for ts, buf in dpkt.pcap.Reader(io.BytesIO(data)):
            out.append((float(ts), buf))
    except dpkt.NeedData:
        pass
    return out


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("chunk", [64, 1 << 20])
@pytest.mark.parametrize("cut", [None, 24 + 16 + 60 + 5, 24 + 7, -1, -3000, -3010])
def test_pcap_records_read_as_dpkt_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, order: str, chunk: int, cut: int | None
) -> None:
    # Times and frames, in either byte order, whatever the chunk the file is read by; a file cut
    # short (in a record header, in a frame) ends where dpkt's reader ends it.
    from rpcspy.ingest import pcap

    monkeypatch.setattr(pcap, "_CHUNK", chunk)
    data = _classic(order, RECORDS)[:cut]
    path = tmp_path / "records.pcap"
    path.write_bytes(data)
    with open(path, "rb") as f:
        header = pcap._RECORD_HEADERS[f.read(4)]
        f.seek(24)
        mine = list(pcap._records(f, header))
    expected = _by_dpkt(data)
    assert len(expected) >= (1 if cut == 24 + 16 + 60 + 5 else 0)
    assert mine == expected
    if cut is None:
        assert len(mine) == len(RECORDS)
    fast, slow = _both(path)
    assert fast == slow
    # (An empty frame is one dpkt cannot read: the packets end there on both paths.)
    assert [ts for ts, _segment in fast] == [ts for ts, _buf in expected[: len(fast)]]
    assert len(fast) == min(len(expected), 40)


def test_a_nanosecond_pcap_is_read_by_dpkt_on_either_path(tmp_path: Path) -> None:
    from rpcspy.ingest import pcap

    path = tmp_path / "nano.pcap"
    path.write_bytes(_classic("<", RECORDS, magic=0xA1B23C4D))
    assert path.read_bytes()[:4] not in pcap._RECORD_HEADERS
    fast, slow = _both(path)
    assert fast == slow
    assert len(fast) == 40  # up to the empty frame, as above
    assert fast[0][0] == pytest.approx(RECORDS[0][0] + RECORDS[0][1] / 1e9)
