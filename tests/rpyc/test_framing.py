"""rpyc's channel frames, as its own Channel writes them, cut out of a stream fed in any chunks."""

from __future__ import annotations

import zlib

from hypothesis import given, settings
from hypothesis import strategies as st
from rpyc.core.channel import Channel

from rpcspy.rpyc import Frame, FrameDecoder, Limits, encode_frame
from rpcspy.rpyc.framing import HEADER, decode_payload


class _Sink:
    """The stream rpyc's Channel writes to: it only needs write and MAX_IO_CHUNK."""

    MAX_IO_CHUNK = 64000

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data


def rpyc_frames(payloads: list[bytes]) -> bytes:
    """The bytes rpyc's own Channel.send writes for ``payloads``."""
    sink = _Sink()
    channel = Channel(sink)
    for payload in payloads:
        channel.send(payload)
    return bytes(sink.data)


def _frames(events: list[Frame | object]) -> list[Frame]:
    assert all(isinstance(e, Frame) for e in events), events
    return [e for e in events if isinstance(e, Frame)]


def test_a_small_and_a_compressed_frame_as_rpyc_writes_them() -> None:
    small, large = b"\x01hello", bytes(range(256)) * 40  # over rpyc's 3000-byte threshold
    wire = rpyc_frames([small, large])
    assert encode_frame(small) + encode_frame(large) == wire
    frames = _frames(FrameDecoder("client").feed(wire))
    assert [f.payload for f in frames] == [small, large]
    assert [f.compressed for f in frames] == [False, True]
    assert b"".join(f.raw for f in frames) == wire
    assert frames[1].offset == len(frames[0].raw)
    assert len(frames[1].raw) < len(large)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(max_size=200) | st.binary(min_size=3001, max_size=3300), max_size=6),
    st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=30),
)
def test_any_chunking_gives_the_same_frames(payloads: list[bytes], cuts: list[int]) -> None:
    wire = rpyc_frames(payloads)
    decoder = FrameDecoder("server")
    frames: list[Frame] = []
    pos, i = 0, 0
    while pos < len(wire):
        step = cuts[i % len(cuts)]
        frames += _frames(decoder.feed(wire[pos : pos + step], at=float(pos)))
        pos += step
        i += 1
    assert decoder.close() == []
    assert [f.payload for f in frames] == payloads
    assert b"".join(f.raw for f in frames) == wire
    assert decoder.buffered == 0


def test_a_frame_is_stamped_with_the_time_of_the_chunk_that_completes_it() -> None:
    wire = encode_frame(b"\x02abc")
    decoder = FrameDecoder("server")
    assert decoder.feed(wire[:3], at=1.0) == []
    [frame] = _frames(decoder.feed(wire[3:], at=2.5))
    assert frame.at == 2.5


def test_inflating_stops_at_the_limit() -> None:
    bomb = zlib.compress(b"\0" * 1_000_000)
    limits = Limits(max_payload_bytes=10_000)
    wire = HEADER.pack(len(bomb), 1) + bomb + b"\n" + encode_frame(b"\x01next")
    events = FrameDecoder("client", limits).feed(wire)
    assert [getattr(e, "kind", None) for e in events] == ["payload-too-large", None]
    assert isinstance(events[1], Frame) and events[1].payload == b"\x01next"
    assert len(decode_payload(zlib.compress(b"x" * 10_000), True, 10_000)) == 10_000
