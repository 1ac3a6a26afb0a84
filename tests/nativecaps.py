"""Captures of ONC RPC and RPyC calls for the tests of what people see (show, the TUI, filters,
stats, export), made from the bytes of real peers in tests/data/oncrpc and tests/data/rpyc.

The records are made the way the proxy makes them: the recorded bytes fed to
``rpcspy.streams`` conversations (ONC RPC typed by the example's ``.x`` over the built-in
portmapper; RPyC at the chunks' recorded times). The ONC RPC times are made up (1 ms a piece),
the bytes are the peers'.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path
from typing import Any

from rpcspy.capture import CaptureWriter
from rpcspy.capture.record import CallRecord
from rpcspy.oncrpc import parse_idl
from rpcspy.streams import Conversation, Side, oncrpc_conversation, rpyc_conversation
from tests.oncrpc.peers import Recording
from tests.streams.helpers import udp_pieces, wire_order

REPO = Path(__file__).resolve().parents[1]
ONC_FIXTURES = REPO / "tests" / "data" / "oncrpc"
RPYC_FIXTURES = REPO / "tests" / "data" / "rpyc"
EXAMPLE_IDL = REPO / "examples" / "rpc_example.x"

CLIENT = ("127.0.0.1", 40001)


def _interface() -> Any:
    return parse_idl(EXAMPLE_IDL.read_text(), EXAMPLE_IDL.name)


def _feed(conversation: Conversation, pieces: list[tuple[Side, bytes]], at: float) -> list[Any]:
    out: list[CallRecord] = []
    for side, data in pieces:
        out += conversation.feed(side, data, at)
        at += 0.001
    return out + conversation.close(at)


def oncrpc_records(name: str = "example_tcp", start: float = 1_800_000_000.0) -> list[CallRecord]:
    """The calls of an ONC RPC fixture (``example_tcp``, ``example_udp``, ``rpcinfo_p``, ...)
    as ``rpcspy.streams`` makes them, fed each record (or datagram) 1 ms apart from ``start``,
    numbered in order."""
    recording = Recording.from_json(json.loads((ONC_FIXTURES / f"{name}.json").read_text()))
    server = ("127.0.0.1", 111 if name.startswith("rpcinfo") else 2049)
    records: list[CallRecord] = []
    at = start
    for c2s, s2c in recording.tcp:
        conversation = oncrpc_conversation(
            client=CLIENT, server=server, transport="tcp", interface=_interface()
        )
        records += _feed(conversation, wire_order(c2s, s2c), at)
        at += 1.0
    if recording.udp:
        conversation = oncrpc_conversation(
            client=CLIENT, server=server, transport="udp", interface=_interface()
        )
        records += _feed(conversation, udp_pieces(recording), at)
    return [dataclasses.replace(r, seq=i) for i, r in enumerate(records, 1)]


def rpyc_records(name: str = "tutorial") -> list[CallRecord]:
    """The operations of an RPyC fixture session (``tutorial``, ``tour``) as ``rpcspy.streams``
    makes them, fed the recorded chunks at their recorded times, numbered in order."""
    conversation = rpyc_conversation(client=CLIENT, server=("127.0.0.1", 18812))
    records: list[CallRecord] = []
    at = 0.0
    for line in (RPYC_FIXTURES / f"{name}.chunks.jsonl").read_text().splitlines():
        chunk = json.loads(line)
        at = chunk["t"]
        records += conversation.feed(chunk["side"], base64.b64decode(chunk["data"]), at)
    records += conversation.close(at + 0.001)
    return [dataclasses.replace(r, seq=i) for i, r in enumerate(records, 1)]


def write_capture(path: Path, records: list[CallRecord]) -> Path:
    """Write ``records`` as a capture file (numbered from 1 in the order given)."""
    with CaptureWriter(path) as writer:
        for seq, record in enumerate(records, 1):
            writer.write(dataclasses.replace(record, seq=seq))
    return path


def native_capture(path: Path) -> Path:
    """A capture of the example's TCP calls, then rpcinfo -p, then the tutorial's RPyC session."""
    return write_capture(path, [*oncrpc_records(), *oncrpc_records("rpcinfo_p"), *rpyc_records()])
