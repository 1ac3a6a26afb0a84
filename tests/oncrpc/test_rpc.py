"""RFC 5531 messages: calls and every kind of reply, the credential flavors, TCP record marking
fed in chunks of every size, and pairing replies with calls by xid."""

from __future__ import annotations

import ast
import struct
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import rpcspy.oncrpc
from rpcspy.oncrpc import (
    Auth,
    AuthDh,
    AuthSys,
    Call,
    GssCred,
    Pairer,
    RecordDecoder,
    Reply,
    auth_sys,
    decode_message,
    encode_call,
    encode_reply,
    frame_record,
)
from rpcspy.oncrpc.errors import BadRecord, BadXdr, Truncated
from rpcspy.oncrpc.rpc import ACCEPT_STATS, AUTH_STATS


def test_a_call_header_round_trips() -> None:
    cred = auth_sys(1000, 100, (4, 24, 27), "host.example", stamp=77)
    wire = encode_call(0xDEADBEEF, 100003, 3, 1, b"\x00\x00\x00\x08", cred=cred)
    call = decode_message(wire)
    assert isinstance(call, Call)
    assert (call.xid, call.rpcvers, call.prog, call.vers, call.proc) == (
        0xDEADBEEF, 2, 100003, 3, 1
    )  # fmt: skip
    assert call.cred.detail == AuthSys(77, "host.example", 1000, 100, (4, 24, 27))
    assert call.cred.describe() == (
        "AUTH_SYS uid=1000 gid=100 gids=[4, 24, 27] machine='host.example' stamp=77"
    )
    assert call.verf.flavor_name == "AUTH_NONE"
    assert call.args == b"\x00\x00\x00\x08"


@pytest.mark.parametrize("status", list(ACCEPT_STATS.values()))
def test_every_accepted_reply(status: str) -> None:
    wire = encode_reply(9, status, b"\x00\x00\x00\x01", mismatch=(2, 4))
    reply = decode_message(wire)
    assert isinstance(reply, Reply)
    assert reply.accepted and reply.status == status and reply.xid == 9
    assert reply.verf is not None and reply.verf.flavor == 0
    assert reply.mismatch == ((2, 4) if status == "PROG_MISMATCH" else None)
    assert reply.results == (b"\x00\x00\x00\x01" if status == "SUCCESS" else b"")


def test_denied_replies_say_the_range_or_the_auth_reason() -> None:
    mismatch = decode_message(encode_reply(1, "RPC_MISMATCH", mismatch=(2, 2)))
    assert isinstance(mismatch, Reply)
    assert not mismatch.accepted and mismatch.status == "RPC_MISMATCH"
    assert mismatch.mismatch == (2, 2)
    for code, name in AUTH_STATS.items():
        if code == 0:
            continue
        denied = decode_message(encode_reply(2, "AUTH_ERROR", auth_error=name))
        assert isinstance(denied, Reply)
        assert denied.status == "AUTH_ERROR" and denied.auth_error == name


def _opaque(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data + b"\0" * ((-len(data)) & 3)


def test_auth_dh_is_shown_by_its_netname_or_nickname() -> None:
    full = struct.pack(">I", 0) + _opaque(b"unix.1000@example.com") + bytes(8) + bytes(4)
    call = decode_message(encode_call(1, 100005, 1, 1, cred=Auth(3, full)))
    assert isinstance(call, Call)
    assert call.cred.detail == AuthDh("fullname", netname="unix.1000@example.com")
    assert call.cred.describe() == "AUTH_DH netname='unix.1000@example.com'"
    nick = decode_message(encode_call(2, 100005, 1, 1, cred=Auth(3, struct.pack(">II", 1, 42))))
    assert isinstance(nick, Call) and nick.cred.describe() == "AUTH_DH nickname=42"


def test_rpcsec_gss_shows_procedure_sequence_service_and_handle() -> None:
    body = struct.pack(">IIII", 1, 0, 17, 2) + _opaque(b"\x01\x02\x03")
    call = decode_message(encode_call(1, 100003, 4, 1, cred=Auth(6, body), verf=Auth(6, b"m")))
    assert isinstance(call, Call)
    assert call.cred.detail == GssCred(1, "DATA", 17, "integrity", b"\x01\x02\x03")
    assert call.cred.to_json()["gss"] == {
        "version": 1, "proc": "DATA", "seq_num": 17, "service": "integrity", "handle": "010203",
    }  # fmt: skip
    assert call.verf.flavor_name == "RPCSEC_GSS" and call.verf.body == b"m"


def test_auth_short_and_unknown_flavors_keep_their_bytes() -> None:
    call = decode_message(encode_call(1, 1, 1, 1, cred=Auth(2, b"tokn"), verf=Auth(99, b"x")))
    assert isinstance(call, Call)
    assert call.cred.describe() == "AUTH_SHORT 746f6b6e"
    assert call.verf.describe() == "flavor 99 78"


def test_a_credential_body_that_does_not_read_keeps_its_bytes_and_says_why() -> None:
    call = decode_message(encode_call(1, 1, 1, 1, cred=Auth(1, b"\0\0\0\1")))
    assert isinstance(call, Call)
    assert call.cred.detail is None and call.cred.body == b"\0\0\0\1"
    assert (
        call.cred.problem == "the length of the machine name needs 4 bytes but 0 are left (byte 4)"
    )


def test_a_credential_longer_than_400_bytes_is_refused() -> None:
    wire = struct.pack(">IIIIIIII", 1, 0, 2, 1, 1, 1, 1, 401) + bytes(404)
    with pytest.raises(Exception, match="over its declared maximum 400"):
        decode_message(wire)


def test_a_message_that_is_neither_call_nor_reply() -> None:
    with pytest.raises(BadXdr, match="message type 7 is neither CALL"):
        decode_message(struct.pack(">II", 1, 7))
    with pytest.raises(BadXdr, match="accept status 9"):
        decode_message(struct.pack(">IIIIII", 1, 1, 0, 0, 0, 9))
    with pytest.raises(BadXdr, match="4 bytes follow a PROC_UNAVAIL reply"):
        decode_message(encode_reply(1, "PROC_UNAVAIL") + bytes(4))


# ---------------------------------------------------------------- record marking


def test_a_record_of_several_fragments() -> None:
    message = bytes(range(256)) * 4
    framed = frame_record(message, max_fragment=100)
    assert framed[:4] == struct.pack(">I", 100)  # not the last fragment
    assert framed[-28:-24] == struct.pack(">I", 0x80000000 | 24)  # the last one: 1024 = 10*100+24
    decoder = RecordDecoder()
    assert decoder.feed(framed) == [message]
    assert decoder.at_boundary and decoder.buffered == 0


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=5), st.integers(1, 97), st.data())
def test_records_come_out_whatever_the_chunking(
    messages: list[bytes], fragment: int, data: st.DataObject
) -> None:
    stream = b"".join(frame_record(m, fragment) for m in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    decoder = RecordDecoder()
    out: list[bytes] = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out += decoder.feed(stream[a:b])
        assert decoder.buffered <= max(len(m) for m in messages) + 4
    assert out == messages
    decoder.close()


def test_a_fragment_over_the_limit_is_refused_from_its_header() -> None:
    decoder = RecordDecoder(max_record=1 << 20)
    with pytest.raises(BadRecord) as caught:
        decoder.feed(struct.pack(">I", 0xFFFFFFFF) + b"only a little")
    assert caught.value.reason == (
        "a fragment of 2147483647 bytes would make a record of 2147483647 bytes, "
        "over the limit of 1048576"
    )
    assert decoder.buffered == 0  # nothing kept
    assert decoder.feed(b"more bytes") == []
    assert decoder.dropped == len(b"only a little") + len(b"more bytes")


def test_fragments_adding_up_over_the_limit_are_refused() -> None:
    decoder = RecordDecoder(max_record=100)
    assert decoder.feed(struct.pack(">I", 60) + bytes(60)) == []
    with pytest.raises(BadRecord, match="would make a record of 120 bytes"):
        decoder.feed(struct.pack(">I", 0x80000000 | 60))


def test_records_before_a_broken_fragment_are_kept() -> None:
    good = frame_record(b"abcd")
    decoder = RecordDecoder(max_record=10)
    assert decoder.feed(good + struct.pack(">I", 0x80000000 | 11)) == [b"abcd"]
    assert decoder.broken is not None and decoder.broken.kind == "bad-record-marking"


@pytest.mark.parametrize(
    ("stream", "words"),
    [
        (b"\x80\x00", "2 of the 4 header bytes"),
        (struct.pack(">I", 0x80000010) + bytes(5), "5 of 16 fragment bytes"),
    ],
)
def test_a_stream_ending_inside_a_record_is_truncated(stream: bytes, words: str) -> None:
    decoder = RecordDecoder()
    assert decoder.feed(stream) == []
    with pytest.raises(Truncated, match=words):
        decoder.close()


# ---------------------------------------------------------------- pairing


def _call(xid: int) -> Call:
    message = decode_message(encode_call(xid, 100000, 2, 0))
    assert isinstance(message, Call)
    return message


def _reply(xid: int) -> Reply:
    message = decode_message(encode_reply(xid))
    assert isinstance(message, Reply)
    return message


def test_replies_pair_with_their_calls_by_xid_in_any_order() -> None:
    pairer = Pairer()
    for xid in (1, 2, 3):
        assert pairer.call(_call(xid)) is None
    assert pairer.reply(_reply(2)) == _call(2)
    assert pairer.reply(_reply(1)) == _call(1)
    assert pairer.reply(_reply(1)) is None and pairer.unmatched == 1
    assert pairer.outstanding == 1


def test_waiting_calls_are_bounded() -> None:
    pairer = Pairer(max_outstanding=3)
    for xid in range(10):
        pairer.call(_call(xid))
    assert pairer.outstanding == 3 and pairer.evicted == 7
    assert pairer.reply(_reply(0)) is None
    assert pairer.reply(_reply(9)) is not None
    pairer.call(_call(8))
    assert pairer.replaced == 1


# ---------------------------------------------------------------- the package's own rule


def test_the_codec_imports_only_the_standard_library_and_itself() -> None:
    package = Path(rpcspy.oncrpc.__file__).parent
    outside = []
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if not (name.startswith("rpcspy.oncrpc") or top in sys.stdlib_module_names):
                    outside.append(f"{path.name}: {name}")
    assert not outside, outside
