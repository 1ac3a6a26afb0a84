"""The HTTP/1.x reader on its own: bytes in, messages out, gaps told where they are."""

from __future__ import annotations

import gzip

from rpcspy.ingest.http1 import Message, MessageReader

CALL = b"<?xml version='1.0'?><methodCall><methodName>add</methodName></methodCall>"


def request(body: bytes, *extra: bytes) -> bytes:
    head = b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % len(body)
    return head + b"".join(h + b"\r\n" for h in extra) + b"\r\n" + body


def chunked(body: bytes, size: int) -> bytes:
    out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    for i in range(0, len(body), size):
        piece = body[i : i + size]
        out += b"%x;ext=1\r\n%s\r\n" % (len(piece), piece)
    return out + b"0\r\nX-Trailer: yes\r\n\r\n"


def feed_bytewise(reader: MessageReader, data: bytes) -> list[Message]:
    out: list[Message] = []
    for i, byte in enumerate(data):
        out += reader.feed(bytes([byte]), float(i))
    return out


def test_pipelined_requests_in_one_packet_and_split_across_many() -> None:
    wire = request(CALL) + request(CALL + b" ") + request(b"")
    reader = MessageReader(True, max_body=1 << 20)
    messages = reader.feed(wire, 1.0)
    assert [m.body for m in messages] == [CALL, CALL + b" ", b""]
    assert all(m.method == "POST" and m.target == "/RPC2" for m in messages)
    again = feed_bytewise(MessageReader(True, max_body=1 << 20), wire)
    assert [m.body for m in again] == [CALL, CALL + b" ", b""]
    # Times: a message starts with the packet of its first byte, ends with that of its last.
    assert again[0].started == 0.0 and again[0].ended == len(request(CALL)) - 1


def test_chunked_bodies_lose_their_framing_and_keep_their_bytes() -> None:
    body = gzip.compress(CALL * 50)
    wire = chunked(body, 100) + chunked(b"second", 4)
    for messages in (
        MessageReader(False, max_body=1 << 20).feed(wire, 0.0),
        feed_bytewise(MessageReader(False, max_body=1 << 20), wire),
    ):
        assert [m.body for m in messages] == [body, b"second"]
        assert messages[0].header("transfer-encoding") == "chunked"
        assert not messages[0].damaged


def test_a_gap_inside_a_known_length_damages_that_message_only() -> None:
    first = request(CALL)
    reader = MessageReader(True, max_body=1 << 20)
    cut = len(first) - 10
    assert reader.feed(first[:cut], 1.0) == []
    assert reader.gap(5, 2.0) == []
    (damaged,) = reader.feed(first[cut + 5 :], 3.0)
    assert damaged.damaged and [p.kind for p in damaged.problems] == ["gap"]
    assert damaged.problems[0].where == "request"
    (whole,) = reader.feed(request(CALL), 4.0)
    assert whole.body == CALL and not whole.damaged


def test_a_gap_in_a_head_or_past_a_message_loses_the_framing() -> None:
    reader = MessageReader(True, max_body=1 << 20)
    assert reader.feed(request(CALL)[:10], 1.0) == []
    assert reader.gap(100, 2.0) == []
    assert reader.lost
    assert reader.feed(request(CALL), 3.0) == []
    # A gap longer than what is left of a body runs into the next message: framing lost too.
    reader = MessageReader(True, max_body=1 << 20)
    reader.feed(request(CALL)[:-5], 1.0)
    (damaged,) = reader.gap(50, 2.0)
    assert damaged.damaged and "cannot be framed" in damaged.problems[0].reason
    assert reader.lost


def test_a_gap_in_a_chunk_is_skipped_when_its_size_is_known() -> None:
    wire = chunked(b"a" * 100, 60)
    reader = MessageReader(False, max_body=1 << 20)
    at = wire.index(b"aaaa")
    reader.feed(wire[: at + 10], 1.0)
    assert reader.gap(20, 2.0) == []
    (msg,) = reader.feed(wire[at + 30 :], 3.0)
    assert msg.damaged and [p.kind for p in msg.problems] == ["gap"]


def test_answers_without_a_body_and_interim_answers() -> None:
    methods = ["HEAD"]
    reader = MessageReader(
        False, max_body=1 << 20, method_of_next=lambda: methods[0] if methods else None
    )
    (head,) = reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 1.0)
    assert head.body == b""
    methods.clear()
    out = reader.feed(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        2.0,
    )
    assert [m.status for m in out] == [100, 204, 200]
    assert out[2].body == b"ok"


def test_a_body_until_close_and_one_cut_short() -> None:
    reader = MessageReader(False, max_body=1 << 20)
    assert reader.feed(b"HTTP/1.0 200 OK\r\n\r\nall of ", 1.0) == []
    reader.feed(b"it", 2.0)
    (msg,) = reader.close(3.0)
    assert msg.body == b"all of it" and not msg.damaged
    reader = MessageReader(False, max_body=1 << 20)
    reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", 1.0)
    (cut,) = reader.close(2.0, "the capture ended")
    assert cut.damaged and cut.problems[0].kind == "incomplete"
    assert "the capture ended" in cut.problems[0].reason


def test_a_body_over_the_limit_is_counted_not_kept() -> None:
    reader = MessageReader(True, max_body=10)
    (msg,) = reader.feed(request(CALL), 1.0)
    assert msg.damaged and msg.problems[0].kind == "too-large"


def test_what_is_not_http_is_given_up() -> None:
    reader = MessageReader(True, max_body=1 << 20)
    assert reader.feed(b"SSH-2.0-OpenSSH_9.2\r\n\r\n", 1.0) == []
    assert reader.lost


def test_content_length_spellings_frame_the_body_or_lose_the_framing() -> None:
    # The first Content-Length is read as a number (signs and zeros allowed; Unicode digits
    # and numbers of thousands of digits not): its bytes are the body, and the next request
    # follows. What is not a length loses the framing.
    def read(*lengths: bytes) -> list[Message]:
        head = b"POST /RPC2 HTTP/1.1\r\n" + b"".join(b"Content-Length: %s\r\n" % n for n in lengths)
        reader = MessageReader(True, max_body=1 << 20)
        return reader.feed(head + b"\r\nhello" + request(CALL), 1.0)

    for lengths in [(b"5",), (b"005",), (b"+5",), (b" 5 ",), (b"5, 5",), (b"5",) * 2, (b"5", b"x")]:
        first, second = read(*lengths)
        assert first.body == b"hello" and not first.damaged, lengths
        assert second.body == CALL, lengths
    for lengths in [(b"-1",), (b"five",), ("\u0665".encode(),), (b"5" * 5000,), (b"x", b"5")]:
        (lost,) = read(*lengths)
        assert lost.damaged, lengths
        assert [p.kind for p in lost.problems] == ["bad-framing"], lengths
    empty = read(b"0")[0]
    assert empty.body == b"" and not empty.damaged  # "hello" starts the next head
