"""ONC RPC conversations fed the real peers' bytes (tests/data/oncrpc): rpcinfo against rpcbind
with no interface file, the rpcgen C client and server typed by examples/rpc_example.x, over TCP
(in chunks of any size) and UDP; records paired by xid, timed from the call's first byte to the
reply's last, and written to a capture and read back unchanged."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from rpcspy.capture import CallRecord
from rpcspy.oncrpc import (
    Call,
    String,
    decode_message,
    encode_call,
    encode_reply,
    frame_record,
    value_from_json,
)
from rpcspy.streams import CLOSED_BEFORE_REPLY, oncrpc_conversation
from tests.oncrpc.peers import FIXTURES, Recording
from tests.oncrpc.test_fixtures import EXAMPLE_PROG, expected_example_calls, linked
from tests.streams.helpers import (
    CLIENT,
    SERVER,
    chunked,
    example_idl,
    round_trip,
    run,
    udp_pieces,
    wire_order,
)


def _tcp_records(name: str, *, idl: bool, rng: random.Random | None = None) -> list[CallRecord]:
    out: list[CallRecord] = []
    for c2s, s2c in Recording.load(FIXTURES / name).tcp:
        conversation = oncrpc_conversation(
            client=CLIENT, server=SERVER, interface=example_idl() if idl else None
        )
        pieces = wire_order(c2s, s2c)
        out += run(conversation, chunked(pieces, rng) if rng else pieces)
    return out


def _check_example(records: list[CallRecord], transport: str) -> None:
    expected = expected_example_calls()
    assert len(records) == len(expected) + 2
    for record, (name, args, status, result) in zip(records, expected, strict=False):
        assert record.protocol == "oncrpc" and record.transport == transport
        assert record.method == f"RPC_EXAMPLE_PROG.RPC_EXAMPLE_VERS.{name}"
        assert record.ok and record.problems == () and record.error is None
        assert record.request.native is not None and record.response is not None
        assert record.response.native is not None
        assert [value_from_json(v) for v in record.request.native["args"]] == list(args)
        assert record.response.native["status"] == status
        assert value_from_json(record.response.native["result"]) == result
        assert record.request.native["cred"]["name"] == "AUTH_SYS"
        # The halves' bodies are the messages as on the wire.
        call = decode_message(
            record.request.body[4:] if transport == "tcp" else record.request.body
        )
        assert isinstance(call, Call) and call.xid == record.request.native["xid"]
    proc99, version7 = records[len(expected) :]
    # The interface names the program and version but not procedure 99: numbers, then.
    assert proc99.method == f"{EXAMPLE_PROG}.1.99"
    assert proc99.is_fault and proc99.fault_code == 3  # PROC_UNAVAIL
    assert [p.kind for p in proc99.problems] == ["unknown-procedure"]
    assert version7.method == f"{EXAMPLE_PROG}.7.0"
    assert version7.is_fault and version7.fault_code == 2  # PROG_MISMATCH
    assert version7.native_fault is not None and "1-1" in version7.native_fault.text


def test_the_rpcgen_c_peers_over_tcp_typed_by_the_interface() -> None:
    records = _tcp_records("example_tcp.json", idl=True)
    _check_example(records, "tcp")
    first = records[0]
    assert (first.client, first.server, first.scheme, first.port) == (CLIENT, SERVER, "tcp", 111)
    assert first.origin == "proxy" and first.seq == 0
    # Each record starts with its call's first byte and ends with its reply's last.
    assert (first.started, first.ended) == (1000.0, 1001.0)


def test_chunks_of_any_size_give_the_same_records() -> None:
    whole = _tcp_records("example_tcp.json", idl=True)
    for seed in range(3):
        pieces = _tcp_records("example_tcp.json", idl=True, rng=random.Random(seed))
        _check_example(pieces, "tcp")
        assert [(r.request, r.response) for r in pieces] == [(r.request, r.response) for r in whole]


def test_the_rpcgen_c_peers_over_udp() -> None:
    recording = Recording.load(FIXTURES / "example_udp.json")
    conversation = oncrpc_conversation(
        client=CLIENT, server=SERVER, transport="udp", interface=example_idl()
    )
    records = run(conversation, udp_pieces(recording))
    _check_example(records, "udp")
    assert records[0].request.body == recording.udp[0][1]  # the datagram, exactly
    assert records[0].scheme == "udp"


def test_rpcinfo_decodes_with_no_interface_file() -> None:
    getaddr, dump = _tcp_records("rpcinfo_p.json", idl=False)
    assert getaddr.method == "PMAP_PROG.RPCBVERS4.RPCBPROC_GETADDR" and getaddr.ok
    assert getaddr.response is not None and getaddr.response.native is not None
    assert value_from_json(getaddr.response.native["result"]) == String(b"127.0.0.1.0.111")
    assert dump.method == "PMAP_PROG.PMAP_VERS.PMAPPROC_DUMP" and dump.ok
    assert dump.request.native is not None and dump.request.native["args"] == []
    assert dump.response is not None and dump.response.native is not None
    maps = linked(value_from_json(dump.response.native["result"]), "map", "next")
    rows = {
        (int(m["prog"]), int(m["vers"]), int(m["prot"]))  # type: ignore[index, call-overload]
        for m in maps
    }
    assert {(100000, v, p) for v in (2, 3, 4) for p in (6, 17)} <= rows
    assert {(EXAMPLE_PROG, 1, 6), (EXAMPLE_PROG, 1, 17)} <= rows


def test_rpcinfo_t_pairs_the_version_probe_with_its_mismatch() -> None:
    getaddr, version0, *nulls = _tcp_records("rpcinfo_t.json", idl=False)
    assert getaddr.ok
    assert version0.method == "100000.0.0" and version0.is_fault and version0.fault_code == 2
    assert [r.method for r in nulls] == [
        "PMAP_PROG.PMAP_VERS.PMAPPROC_NULL",
        "PMAP_PROG.RPCBVERS.RPCBPROC_NULL",
        "PMAP_PROG.RPCBVERS4.RPCBPROC_NULL",
    ]
    assert all(r.ok for r in nulls)


def test_records_round_trip_through_a_capture_file(tmp_path: Path) -> None:
    records = _tcp_records("example_tcp.json", idl=True) + _tcp_records("rpcinfo_p.json", idl=False)
    back = round_trip(records, tmp_path / "oncrpc.jsonl")
    assert back == records
    assert [r.method for r in back] == [r.method for r in records]


def test_a_call_split_over_chunks_starts_at_its_first_byte() -> None:
    call = frame_record(encode_call(5, 100000, 2, 0))
    reply = frame_record(encode_reply(5))
    conversation = oncrpc_conversation(client=CLIENT, server=SERVER)
    assert conversation.feed("client", call[:3], 10.0) == []
    assert conversation.feed("client", call[3:], 11.0) == []
    assert conversation.feed("server", reply[:9], 12.0) == []
    (record,) = conversation.feed("server", reply[9:], 13.0)
    assert (record.started, record.ended) == (10.0, 13.0)
    assert record.method == "PMAP_PROG.PMAP_VERS.PMAPPROC_NULL" and record.ok
    # Two calls in one chunk: the second starts in that chunk; a third begins in it too.
    calls = b"".join(frame_record(encode_call(x, 100000, 2, 0)) for x in (6, 7, 8))
    assert conversation.feed("client", calls[:-2], 20.0) == []
    assert conversation.feed("client", calls[-2:], 21.0) == []
    replies = conversation.feed(
        "server", b"".join(frame_record(encode_reply(x)) for x in (8, 6, 7)), 22.0
    )
    got = [(r.request.native["xid"], r.started) for r in replies if r.request.native]
    assert got == [(8, 20.0), (6, 20.0), (7, 20.0)]


def test_a_multi_fragment_record_keeps_its_record_marking() -> None:
    message = encode_call(9, 100000, 2, 0)
    wire = frame_record(message, max_fragment=8)
    conversation = oncrpc_conversation(client=CLIENT, server=SERVER)
    assert conversation.feed("client", wire, 1.0) == []
    (record,) = conversation.feed("server", frame_record(encode_reply(9)), 2.0)
    assert record.request.body == wire and len(wire) > len(message) + 4


def test_calls_still_waiting_at_close_come_out_without_a_response() -> None:
    conversation = oncrpc_conversation(client=CLIENT, server=SERVER)
    for xid in (1, 2):
        assert conversation.feed("client", frame_record(encode_call(xid, 100000, 2, 0)), xid) == []
    (answered,) = conversation.feed("server", frame_record(encode_reply(2)), 3.0)
    assert answered.request.native is not None and answered.request.native["xid"] == 2
    (left,) = conversation.close(4.0)
    assert left.response is None and left.error == CLOSED_BEFORE_REPLY
    assert left.request.native is not None and left.request.native["xid"] == 1
    assert left.started == 1.0 and left.ended is None
    assert conversation.close(5.0) == [] and conversation.feed("client", b"x", 6.0) == []


def test_a_reply_with_no_call_is_a_record_with_an_empty_request() -> None:
    conversation = oncrpc_conversation(client=CLIENT, server=SERVER)
    reply = frame_record(encode_reply(77, "SUCCESS", (5).to_bytes(4, "big")))
    (record,) = conversation.feed("server", reply, 1.0)
    assert record.request.body == b"" and record.request.native is None
    assert record.response is not None and record.response.body == reply
    assert record.response.native is not None and record.response.native["xid"] == 77
    assert record.response.native["result"] == {"raw": "00000005"}
    assert [p.kind for p in record.problems] == ["unmatched-reply", "unknown-procedure"]
    assert record.method is None and not record.ok and record.error is None
    # A non-SUCCESS reply to no call: the same, with the fault read off it.
    (denied,) = conversation.feed("server", frame_record(encode_reply(78, "AUTH_ERROR")), 2.0)
    assert [p.kind for p in denied.problems] == ["unmatched-reply"] and denied.fault_code == 101


def test_a_retransmitted_udp_call_lets_the_first_go_and_pairs_the_second() -> None:
    conversation = oncrpc_conversation(client=CLIENT, server=SERVER, transport="udp")
    call = encode_call(3, 100000, 2, 0)
    assert conversation.feed("client", call, 1.0) == []
    (first,) = conversation.feed("client", call, 2.0)
    assert first.response is None and first.error is not None and "xid 3" in first.error
    (second,) = conversation.feed("server", encode_reply(3), 3.0)
    assert second.ok and second.started == 2.0 and second.ended == 3.0


def test_calls_waiting_are_bounded_in_bytes() -> None:
    conversation = oncrpc_conversation(client=CLIENT, server=SERVER)
    conversation.max_waiting_bytes = 200
    given_up = []
    for xid in range(10):
        given_up += conversation.feed(
            "client", frame_record(encode_call(xid, 100000, 2, 0, bytes(60))), float(xid)
        )
    assert given_up and all(r.response is None and "given up" in (r.error or "") for r in given_up)
    assert conversation._waiting_bytes <= 200
    assert [r.request.native["xid"] for r in given_up] == list(range(len(given_up)))  # type: ignore[index]


def test_a_server_call_pairs_with_the_clients_reply() -> None:
    # A callback channel: the server calls, the client answers, on the same connection.
    conversation = oncrpc_conversation(client=CLIENT, server=SERVER)
    assert conversation.feed("server", frame_record(encode_call(1, 100000, 2, 0)), 1.0) == []
    (record,) = conversation.feed("client", frame_record(encode_reply(1)), 2.0)
    assert record.ok and record.method == "PMAP_PROG.PMAP_VERS.PMAPPROC_NULL"


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_an_internal_error_is_a_problem_record_not_an_exception(
    transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rpcspy.streams.oncrpc as module

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(module, "type_call", broken)
    conversation = oncrpc_conversation(client=CLIENT, server=SERVER, transport=transport)
    call = encode_call(1, 100000, 2, 0)
    (record,) = conversation.feed("client", frame_record(call) if transport == "tcp" else call, 1.0)
    assert [p.kind for p in record.problems] == ["internal-error"]
    assert "RuntimeError: a bug" in record.problems[0].reason and record.error is not None
