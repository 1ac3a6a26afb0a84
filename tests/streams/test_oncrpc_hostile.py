"""Hostile ONC RPC through a conversation: it never raises, holds bounded memory, says what is
wrong in a problem the capture keeps, and the calls around the bad bytes still come out."""

from __future__ import annotations

import struct
from pathlib import Path

from rpcspy.oncrpc import (
    Int,
    builtin_interface,
    encode_call,
    encode_reply,
    frame_record,
    parse_idl,
    value_from_json,
)
from rpcspy.streams import oncrpc_conversation
from tests.streams.helpers import CLIENT, SERVER, example_idl, round_trip

EXAMPLE = 0x20000099
HUGE = struct.pack(">I", 0x80000000 | 0x7FFFFFFF)  # a last fragment of 2^31-1 bytes


def _null(xid: int) -> bytes:
    return frame_record(encode_call(xid, 100000, 2, 0))


def test_a_fragment_of_2_to_the_31_minus_1_is_refused_from_its_header(tmp_path: Path) -> None:
    conversation = oncrpc_conversation(client=CLIENT, server=SERVER)
    # A good call, then the hostile header in the same chunk.
    out = conversation.feed("client", _null(1) + HUGE + b"\x00" * 100, 1.0)
    (broken,) = out
    assert [p.kind for p in broken.problems] == ["bad-record-marking"]
    assert broken.problems[0].where == "request"
    assert "2147483647" in broken.problems[0].reason
    assert broken.error is not None and "passed on undecoded" in broken.error
    # Nothing of it is held, and what follows is counted and dropped, never buffered.
    decoder = conversation._decoders["client"]
    assert decoder.buffered == 0
    for i in range(64):
        assert conversation.feed("client", b"\xff" * 65536, 2.0 + i) == []
    assert decoder.buffered == 0 and decoder.dropped >= 64 * 65536
    # The call before the break still pairs with its reply.
    (answered,) = conversation.feed("server", frame_record(encode_reply(1)), 100.0)
    assert answered.ok and answered.method == "PMAP_PROG.PMAP_VERS.PMAPPROC_NULL"
    assert conversation.close(101.0) == []  # the break was reported once, when it happened
    assert round_trip([broken, answered], tmp_path / "c.jsonl") == [broken, answered]


def test_an_http_request_to_an_onc_rpc_port_is_bad_record_marking() -> None:
    conversation = oncrpc_conversation(client=CLIENT, server=SERVER)
    (record,) = conversation.feed("client", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1.0)
    assert record.problems[0].kind == "bad-record-marking"


def test_a_stream_that_ends_inside_a_fragment_is_truncated() -> None:
    conversation = oncrpc_conversation(client=CLIENT, server=SERVER)
    wire = _null(1)
    assert conversation.feed("client", wire[:-5], 7.0) == []
    (cut,) = conversation.close(9.0)
    assert [p.kind for p in cut.problems] == ["truncated"]
    assert "ended inside a record" in cut.problems[0].reason
    assert cut.started == 7.0 and cut.ended == 9.0 and cut.error is not None
    # The server's stream cut inside its 4-byte header: a response-side problem.
    conversation = oncrpc_conversation(client=CLIENT, server=SERVER)
    assert conversation.feed("client", _null(2), 1.0) == []
    assert conversation.feed("server", b"\x80\x00", 2.0) == []
    cut, waiting = conversation.close(3.0)
    assert (
        cut.problems[0].where == "response" and "2 of the 4 header bytes" in cut.problems[0].reason
    )
    assert waiting.response is None and waiting.error == "connection closed before the reply"


def test_a_record_that_is_not_a_message_keeps_its_bytes() -> None:
    conversation = oncrpc_conversation(client=CLIENT, server=SERVER)
    short = frame_record(b"\x00\x00\x00\x01\x00\x00")  # an xid and half a message type
    (record,) = conversation.feed("client", short, 1.0)
    assert record.request.body == short and record.request.native is None
    assert [p.kind for p in record.problems] == ["truncated"]
    odd = frame_record(struct.pack(">II", 5, 7))  # message type 7
    (record,) = conversation.feed("server", odd, 2.0)
    assert record.response is not None and record.response.body == odd
    assert [(p.where, p.kind) for p in record.problems] == [("response", "bad-xdr")]


def test_a_wrong_program_number_is_shown_raw_with_its_numbers() -> None:
    conversation = oncrpc_conversation(client=CLIENT, server=SERVER, interface=example_idl())
    call = encode_call(4, 0x12345678, 1, 2, b"\x00\x00\x00\x2a")
    assert conversation.feed("client", frame_record(call), 1.0) == []
    (record,) = conversation.feed("server", frame_record(encode_reply(4, "PROG_UNAVAIL")), 2.0)
    assert record.method == f"{0x12345678}.1.2"
    assert record.request.native is not None
    assert record.request.native["args"] == [{"raw": "0000002a"}]
    assert [p.kind for p in record.problems] == ["unknown-procedure"]
    assert "program 305419896 (0x12345678)" in record.problems[0].reason
    assert record.is_fault and record.fault_code == 1


def test_an_xdr_string_longer_than_the_message() -> None:
    conversation = oncrpc_conversation(client=CLIENT, server=SERVER, interface=example_idl())
    args = struct.pack(">I", 0x7FFFFFFF) + b"abcd"
    assert conversation.feed("client", frame_record(encode_call(5, EXAMPLE, 1, 1, args)), 1.0) == []
    (record,) = conversation.close(2.0)
    assert record.method == "RPC_EXAMPLE_PROG.RPC_EXAMPLE_VERS.ECHO"
    assert record.request.native is not None
    assert record.request.native["args"] == [{"raw": args.hex()}]
    (problem,) = record.problems
    assert (problem.where, problem.kind, problem.path) == ("request", "truncated", "args[0]")
    assert "2147483647" in problem.reason


def test_deep_unions_stop_at_the_depth_limit() -> None:
    idl = parse_idl(
        "union chain switch (bool more) { case TRUE: chain *next; case FALSE: void; };\n"
        "program DEEP { version DEEP_V { int DEPTH(chain) = 1; } = 1; } = 0x31000001;",
        "deep.x",
    )
    conversation = oncrpc_conversation(client=CLIENT, server=SERVER, interface=idl)
    args = b"\x00\x00\x00\x01\x00\x00\x00\x01" * 50_000 + b"\x00\x00\x00\x00"
    assert (
        conversation.feed("client", frame_record(encode_call(6, 0x31000001, 1, 1, args)), 1.0) == []
    )
    (record,) = conversation.feed("server", frame_record(encode_reply(6, "SUCCESS", bytes(4))), 2.0)
    assert record.method == "DEEP.DEEP_V.DEPTH"
    assert [(p.where, p.kind) for p in record.problems] == [("request", "over-limit")]
    assert record.request.native is not None and "raw" in record.request.native["args"][0]
    assert record.response is not None and record.response.native is not None
    assert value_from_json(record.response.native["result"]) == Int(0)


def test_garbage_datagrams_are_records_of_their_own() -> None:
    conversation = oncrpc_conversation(client=CLIENT, server=SERVER, transport="udp")
    (record,) = conversation.feed("client", b"\xde\xad", 1.0)
    assert record.request.body == b"\xde\xad" and record.problems[0].kind == "truncated"
    assert record.transport == "udp" and conversation.close(2.0) == []


def test_the_builtin_interface_is_always_there_beside_an_idl() -> None:
    conversation = oncrpc_conversation(client=CLIENT, server=SERVER, interface=example_idl())
    assert conversation.feed("client", _null(1), 1.0) == []
    (record,) = conversation.feed("server", frame_record(encode_reply(1)), 2.0)
    assert record.method == "PMAP_PROG.PMAP_VERS.PMAPPROC_NULL"
    assert conversation.interface.procedure(100000, 2, 0) is not None
    assert builtin_interface().procedure(EXAMPLE, 1, 1) is None
