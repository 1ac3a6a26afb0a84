"""What the conversations need of the codecs: a record's bytes as on the wire (record marking
included), giving up on a waiting call, and when a frame's first byte came."""

from __future__ import annotations

import random

from rpcspy.oncrpc import Pairer, RecordDecoder, encode_call, frame_record
from rpcspy.oncrpc.rpc import Call, decode_message
from rpcspy.rpyc import Frame, FrameDecoder, encode_frame
from tests.oncrpc.peers import FIXTURES, Recording


def test_feed_wire_gives_each_record_with_its_record_marking() -> None:
    for c2s, s2c in Recording.load(FIXTURES / "example_tcp.json").tcp:
        for stream in (c2s, s2c):
            pairs = RecordDecoder().feed_wire(stream)
            assert b"".join(w for _, w in pairs) == stream
            assert [m for m, _ in pairs] == RecordDecoder().feed(stream)
    message = encode_call(1, 100000, 2, 0, bytes(100))
    wire = frame_record(message, max_fragment=7) + frame_record(message)
    decoder = RecordDecoder()
    rng = random.Random(1)
    got: list[tuple[bytes, bytes]] = []
    pos = 0
    while pos < len(wire):
        n = rng.randint(1, 9)
        got += decoder.feed_wire(wire[pos : pos + n])
        pos += n
    assert got == [
        (message, frame_record(message, max_fragment=7)),
        (message, frame_record(message)),
    ]


def test_pairer_forget() -> None:
    pairer = Pairer()
    call = decode_message(encode_call(5, 100000, 2, 0))
    assert isinstance(call, Call)
    pairer.call(call)
    assert pairer.forget(5) is call and pairer.outstanding == 0 and pairer.forget(5) is None


def test_a_frame_knows_when_its_first_byte_came() -> None:
    one, two = encode_frame(b"\x01abc"), encode_frame(b"\x01defgh")
    decoder = FrameDecoder("client")
    assert decoder.feed(one[:2], 1.0) == []
    frames = decoder.feed(one[2:] + two[:3], 2.0)
    assert [(f.started, f.at) for f in frames if isinstance(f, Frame)] == [(1.0, 2.0)]
    frames = decoder.feed(two[3:] + one, 3.0)
    assert [(f.started, f.at) for f in frames if isinstance(f, Frame)] == [(2.0, 3.0), (3.0, 3.0)]
