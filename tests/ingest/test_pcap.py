"""Importing the pcaps tcpdump wrote (tests/ingest/fixtures): every call as the client saw it."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import dpkt

from rpcspy.capture import CallRecord
from tests.ingest.helpers import FIXTURES, expected_calls, import_file

LO = FIXTURES / "lo.pcap"
LOSSY = FIXTURES / "lossy.pcap"
EXPECTED = FIXTURES / "lo.expected.json"


def _calls(records: list[CallRecord]) -> list[CallRecord]:
    return [r for r in records if r.method is not None]


def test_every_call_is_imported_byte_for_byte_as_the_client_sent_and_received_it(
    tmp_path: Path,
) -> None:
    records, counts = import_file(LO, tmp_path / "lo.jsonl")
    expected = expected_calls(EXPECTED)
    calls = _calls(records)
    assert [r.method for r in calls] == [e["method"] for e in expected]
    for record, sent in zip(calls, expected, strict=True):
        assert record.origin == "import"
        assert record.problems == ()
        assert record.request.body == sent["request"]
        assert record.response is not None
        assert record.response.body == sent["response"]
        assert record.status == 200
        assert record.call is not None and record.reply is not None
    # The GET and the end marker are not XML-RPC; the HTTPS connection is one record.
    assert counts.skipped == 2
    assert counts.calls == len(expected) + 1


def test_keep_alive_pipelining_gzip_and_tls(tmp_path: Path) -> None:
    records, _ = import_file(LO, tmp_path / "lo.jsonl")
    calls = _calls(records)
    # One ServerProxy kept its connection: the first four calls share a client port.
    assert len({r.client for r in calls[:4]}) == 1
    assert calls[3].is_multicall and len(calls[3].subcalls) == 2
    assert calls[2].fault_code == 4
    # gzip both ways: the request was sent compressed, the answer came back compressed.
    zipped = calls[4]
    assert zipped.request.header("content-encoding") == "gzip"
    assert zipped.response is not None and zipped.response.header("content-encoding") == "gzip"
    assert zipped.call is not None and "gzip me" in str(zipped.call.params[0])
    # The large answer came in several segments and was put back together.
    assert calls[5].response is not None and len(calls[5].response.body or b"") > 150_000
    # Two requests written in one go on one connection: each answer pairs with its request.
    piped = calls[7:9]
    assert [r.method for r in piped] == ["echo", "add"]
    assert piped[0].client == piped[1].client
    assert "PIPED ONE" in str(piped[0].reply)
    assert "42" in str(piped[1].reply)
    # The HTTPS connection: one record saying why nothing in it was read.
    tls = [r for r in records if r.method is None]
    assert len(tls) == 1
    assert [p.kind for p in tls[0].problems] == ["encrypted"]
    assert tls[0].problems[0].where == "connection"
    assert "encrypted, not decodable" in tls[0].problems[0].reason


def _tcp_packets(path: Path) -> list[tuple[float, dpkt.tcp.TCP]]:
    with open(path, "rb") as f:
        return [(ts, dpkt.ethernet.Ethernet(buf).data.data) for ts, buf in dpkt.pcap.Reader(f)]


def test_times_come_from_the_packets(tmp_path: Path) -> None:
    records, _ = import_file(LO, tmp_path / "lo.jsonl")
    packets = _tcp_packets(LO)
    for record in _calls(records)[:7]:
        assert record.client is not None and record.response is not None
        port = record.client[1]
        # started: the packet carrying the request's first byte; ended: the answer's last.
        sent = [ts for ts, t in packets if t.sport == port and t.data.startswith(b"POST ")]
        assert record.started in sent
        answers = [ts for ts, t in packets if t.dport == port and t.data]
        assert record.ended in answers
        assert record.ended is not None and record.ended >= record.started


def test_a_lost_segment_is_a_problem_on_its_call_never_a_wrong_body(tmp_path: Path) -> None:
    whole, _ = import_file(LO, tmp_path / "lo.jsonl")
    lossy, counts = import_file(LOSSY, tmp_path / "lossy.jsonl")
    assert counts.damaged == 1
    assert [r.method for r in lossy] == [r.method for r in whole]
    damaged = [r for r in lossy if any(p.kind == "gap" for p in r.problems)]
    assert [r.method for r in damaged] == ["demo.large"]
    (gap,) = damaged[0].problems
    assert gap.where == "response" and "bytes missing" in gap.reason
    assert damaged[0].response is not None and damaged[0].response.body == b""
    assert damaged[0].reply is None
    # Every other call, the one after the gap on the same connection too, is whole.
    for before, after in zip(whole, lossy, strict=True):
        if after is damaged[0]:
            continue
        assert after.request.body == before.request.body
        assert after.reply == before.reply
        assert after.problems == before.problems


def _rewrite(source: Path, target: Path, shuffle: int) -> None:
    """Cut every data segment into pieces of at most 700 bytes, send each piece twice (the
    second time as a retransmission) and shuffle pieces within windows of ``shuffle`` packets."""
    rng = random.Random(13)
    with open(source, "rb") as f:
        reader = dpkt.pcap.Reader(f)
        frames = list(reader)
    out: list[tuple[float, bytes]] = []
    for ts, buf in frames:
        eth = dpkt.ethernet.Ethernet(buf)
        ip = eth.data
        tcp = ip.data
        data = bytes(tcp.data)
        if len(data) <= 700:
            out.append((ts, buf))
            continue
        pieces = []
        for start in range(0, len(data), 700):
            piece = dpkt.tcp.TCP(
                sport=tcp.sport,
                dport=tcp.dport,
                seq=(tcp.seq + start) % (1 << 32),
                ack=tcp.ack,
                flags=tcp.flags,
                win=tcp.win,
                data=data[start : start + 700],
            )
            packet = dpkt.ip.IP(src=ip.src, dst=ip.dst, p=6, data=piece)
            pieces.append(bytes(dpkt.ethernet.Ethernet(src=eth.src, dst=eth.dst, data=packet)))
        pieces += pieces[::3]  # retransmissions
        window = pieces[:]
        for i in range(0, len(window), shuffle):
            chunk = window[i : i + shuffle]
            rng.shuffle(chunk)
            window[i : i + shuffle] = chunk
        out += [(ts, p) for p in window]
    with open(target, "wb") as f:
        writer = dpkt.pcap.Writer(f, snaplen=262144)
        for ts, buf in out:
            writer.writepkt(buf, ts=ts)


def test_out_of_order_and_retransmitted_segments_give_the_same_calls(tmp_path: Path) -> None:
    whole, _ = import_file(LO, tmp_path / "lo.jsonl")
    messy = tmp_path / "messy.pcap"
    _rewrite(LO, messy, shuffle=7)
    again, counts = import_file(messy, tmp_path / "messy.jsonl")
    assert counts.damaged == 0
    assert [r.method for r in again] == [r.method for r in whole]
    for a, b in zip(again, whole, strict=True):
        assert a.request.body == b.request.body
        assert (a.response and a.response.body) == (b.response and b.response.body)
        assert a.reply == b.reply
        assert a.problems == b.problems


def test_port_narrows_to_the_connections_of_that_port(tmp_path: Path) -> None:
    whole, _ = import_file(LO, tmp_path / "lo.jsonl")
    server_port = _calls(whole)[0].port
    narrowed, counts = import_file(LO, tmp_path / "port.jsonl", ports=[server_port])
    assert [r.method for r in narrowed] == [r.method for r in _calls(whole)]
    assert counts.skipped == 2
    nothing, _ = import_file(LO, tmp_path / "none.jsonl", ports=[9])
    assert nothing == []


def test_gzip_bodies_stay_as_on_the_wire(tmp_path: Path) -> None:
    records, _ = import_file(LO, tmp_path / "lo.jsonl")
    zipped = _calls(records)[4]
    assert zipped.response is not None and zipped.response.body is not None
    assert zipped.response.body[:2] == b"\x1f\x8b"
    assert b"GZIP ME" in gzip.decompress(zipped.response.body)


def test_connections_caught_midway_without_their_handshake(tmp_path: Path) -> None:
    # A capture started after the connections opened: no SYN tells client from server.
    whole, _ = import_file(LO, tmp_path / "lo.jsonl")
    late = tmp_path / "late.pcap"
    with open(LO, "rb") as f, open(late, "wb") as g:
        writer = dpkt.pcap.Writer(g, snaplen=262144)
        for ts, buf in dpkt.pcap.Reader(f):
            if not dpkt.ethernet.Ethernet(buf).data.data.flags & dpkt.tcp.TH_SYN:
                writer.writepkt(buf, ts=ts)
    again, counts = import_file(late, tmp_path / "late.jsonl")
    assert counts.damaged == 0
    calls = [r for r in again if r.method is not None]
    assert [r.method for r in calls] == [r.method for r in _calls(whole)]
    for a, b in zip(calls, _calls(whole), strict=True):
        assert (a.client, a.server, a.request.body, a.reply) == (
            b.client,
            b.server,
            b.request.body,
            b.reply,
        )
