"""Builders for the stream tests: the real peers' recordings fed to conversations the way the
proxy feeds them, chunk by chunk in wire order."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from pathlib import Path

from rpcspy.capture import CallRecord, CaptureWriter, read_capture
from rpcspy.oncrpc import Interface, RecordDecoder, builtin_interface, parse_idl
from rpcspy.streams import Conversation, Side
from tests.oncrpc.peers import EXAMPLES, Recording

CLIENT = ("127.0.0.1", 40000)
SERVER = ("127.0.0.1", 111)


def example_idl() -> Interface:
    path = EXAMPLES / "rpc_example.x"
    return parse_idl(path.read_text(encoding="utf-8"), path.name)


def portmap() -> Interface:
    return builtin_interface()


def wire_order(c2s: bytes, s2c: bytes) -> list[tuple[Side, bytes]]:
    """A recorded TCP connection's records in the order they crossed (each call, then its reply:
    these peers answer before the next call), record marking included."""
    calls = [w for _, w in RecordDecoder().feed_wire(c2s)]
    replies = [w for _, w in RecordDecoder().feed_wire(s2c)]
    out: list[tuple[Side, bytes]] = []
    for i in range(max(len(calls), len(replies))):
        if i < len(calls):
            out.append(("client", calls[i]))
        if i < len(replies):
            out.append(("server", replies[i]))
    return out


def chunked(
    pieces: Iterable[tuple[Side, bytes]], rng: random.Random, most: int = 7
) -> Iterator[tuple[Side, bytes]]:
    """The same bytes in chunks of 1 to ``most`` bytes, each direction's order kept."""
    for side, data in pieces:
        pos = 0
        while pos < len(data):
            n = rng.randint(1, most)
            yield side, data[pos : pos + n]
            pos += n


def run(
    conversation: Conversation, pieces: Iterable[tuple[Side, bytes]], start: float = 1000.0
) -> list[CallRecord]:
    """Feed every piece at times 1 s apart from ``start``, then close one second later."""
    out: list[CallRecord] = []
    at = start
    for side, data in pieces:
        out += conversation.feed(side, data, at)
        at += 1.0
    return out + conversation.close(at)


def udp_pieces(recording: Recording) -> list[tuple[Side, bytes]]:
    return [("client" if d == "c2s" else "server", b) for d, b in recording.udp]


def round_trip(records: list[CallRecord], path: Path) -> list[CallRecord]:
    """The records written to a capture file and read back."""
    with CaptureWriter(path) as writer:
        for record in records:
            writer.write(record)
    return list(read_capture(path))
