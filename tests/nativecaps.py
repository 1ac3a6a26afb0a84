"""Captures of ONC RPC and RPyC calls for the tests of what people see (show, the TUI, filters,
stats, export), made from the bytes of real peers in tests/data/oncrpc and tests/data/rpyc.

The records are built the way the capture keeps them (``build_native_record``: each half's wire
bytes and its codec's JSON) from the codecs themselves: ONC RPC records cut with
``RecordDecoder``, typed by the example's ``.x`` and the built-in portmapper, paired by xid; RPyC
operations from ``rpcspy.rpyc.Session``. The times are made up (the fixtures' order, 10 ms
apart), the bytes are the peers'.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rpcspy.capture import CaptureWriter
from rpcspy.capture.record import CallRecord, HttpMessage, build_native_record
from rpcspy.oncrpc import (
    Call,
    RecordDecoder,
    Reply,
    builtin_interface,
    call_to_json,
    decode_message,
    frame_record,
    parse_idl,
    reply_to_json,
    type_call,
    type_reply,
)
from rpcspy.rpyc import IdPack, Operation, Session

REPO = Path(__file__).resolve().parents[1]
ONC_FIXTURES = REPO / "tests" / "data" / "oncrpc"
RPYC_FIXTURES = REPO / "tests" / "data" / "rpyc"
EXAMPLE_IDL = REPO / "examples" / "rpc_example.x"

CLIENT = ("127.0.0.1", 40001)


def _interface() -> Any:
    return builtin_interface(parse_idl(EXAMPLE_IDL.read_text(), EXAMPLE_IDL.name))


def oncrpc_records(name: str = "example_tcp", start: float = 1_800_000_000.0) -> list[CallRecord]:
    """The calls of an ONC RPC fixture (``example_tcp``, ``example_udp``, ``rpcinfo_p``, ...)
    as records, in the order the calls were sent."""
    data = json.loads((ONC_FIXTURES / f"{name}.json").read_text())
    interface = _interface()
    records: list[CallRecord] = []
    server = ("127.0.0.1", 111 if name.startswith("rpcinfo") else 2049)

    def add(call_bytes: bytes, reply_bytes: bytes | None, transport: str) -> None:
        call = decode_message(call_bytes)
        assert isinstance(call, Call)
        framed = (lambda b: frame_record(b)) if transport == "tcp" else (lambda b: b)
        response = None
        if reply_bytes is not None:
            reply = decode_message(reply_bytes)
            assert isinstance(reply, Reply)
            native_reply = reply_to_json(type_reply(reply, call, interface))
            response = HttpMessage(body=framed(reply_bytes), native=native_reply)
        at = start + len(records) * 0.01
        records.append(
            build_native_record(
                "oncrpc",
                HttpMessage(
                    body=framed(call_bytes), native=call_to_json(type_call(call, interface))
                ),
                response,
                transport=transport,
                started=at,
                ended=None if response is None else at + 0.002,
                client=CLIENT,
                server=server,
                seq=len(records) + 1,
            )
        )

    for conn in data.get("tcp", []):
        calls = RecordDecoder().feed(bytes.fromhex(conn["c2s"]))
        replies: dict[int, bytes] = {}
        for raw in RecordDecoder().feed(bytes.fromhex(conn["s2c"])):
            message = decode_message(raw)
            replies[message.xid] = raw
        for raw in calls:
            add(raw, replies.get(decode_message(raw).xid), "tcp")
    datagrams = data.get("udp", [])
    answers = {
        decode_message(bytes.fromhex(d["hex"])).xid: bytes.fromhex(d["hex"])
        for d in datagrams
        if d["dir"] == "s2c"
    }
    for d in datagrams:
        if d["dir"] == "c2s":
            raw = bytes.fromhex(d["hex"])
            add(raw, answers.get(decode_message(raw).xid), "udp")
    return records


def _refs(data: object) -> Iterator[tuple[str, tuple[object, ...]]]:
    if isinstance(data, dict):
        ref = data.get("ref")
        if isinstance(ref, dict) and isinstance(ref.get("id"), list):
            yield ref["owner"], tuple(ref["id"])
        for value in data.values():
            yield from _refs(value)
    elif isinstance(data, list):
        for value in data:
            yield from _refs(value)


def _netrefs(session: Session, message: object) -> list[dict[str, object]]:
    out = []
    for owner, ident in dict.fromkeys(_refs(message)):
        known = session.netref("client" if owner == "client" else "server", IdPack.from_wire(ident))
        if known is not None:
            out.append(known.to_json())
    return out


def rpyc_halves(
    op: Operation, session: Session | None = None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """An operation's request and reply halves as the capture keeps them (with ``netrefs``, the
    objects each half mentions as the session names them, when given the session)."""
    whole = op.to_json()
    request = {k: whole[k] for k in ("index", "caller", "seq", "handler", "text", "request")}
    if session is not None:
        request["netrefs"] = _netrefs(session, whole["request"])
    if op.outcome == "no-reply":
        return request, None
    reply = {k: whole[k] for k in ("outcome", "result_text", "reply")}
    if session is not None:
        reply["netrefs"] = _netrefs(session, whole["reply"])
    return request, reply


def rpyc_records(name: str = "tutorial") -> list[CallRecord]:
    """The operations of an RPyC fixture session (``tutorial``, ``tour``) as records."""
    session = Session()
    ops: list[tuple[Operation, dict[str, Any], dict[str, Any] | None]] = []
    for line in (RPYC_FIXTURES / f"{name}.chunks.jsonl").read_text().splitlines():
        chunk = json.loads(line)
        out = session.feed(chunk["side"], base64.b64decode(chunk["data"]), chunk["t"])
        ops.extend((o, *rpyc_halves(o, session)) for o in out if isinstance(o, Operation))
    ops.extend((o, *rpyc_halves(o, session)) for o in session.close() if isinstance(o, Operation))
    ops.sort(key=lambda o: o[0].index)
    records = []
    for op, request, reply in ops:
        started = op.started if op.started is not None else 0.0
        records.append(
            build_native_record(
                "rpyc",
                HttpMessage(body=op.request_frame.raw, native=request),
                None
                if reply is None or op.reply_frame is None
                else HttpMessage(body=op.reply_frame.raw, native=reply),
                transport="tcp",
                started=started,
                ended=op.ended,
                client=CLIENT,
                server=("127.0.0.1", 18812),
                seq=len(records) + 1,
            )
        )
    return records


def write_capture(path: Path, records: list[CallRecord]) -> Path:
    """Write ``records`` as a capture file (numbered from 1 in the order given)."""
    with CaptureWriter(path) as writer:
        for seq, record in enumerate(records, 1):
            writer.write(dataclasses.replace(record, seq=seq))
    return path


def native_capture(path: Path) -> Path:
    """A capture of the example's TCP calls, then rpcinfo -p, then the tutorial's RPyC session."""
    return write_capture(path, [*oncrpc_records(), *oncrpc_records("rpcinfo_p"), *rpyc_records()])


def iter_methods(records: list[CallRecord]) -> Iterator[str | None]:
    """The method of each record (for assertions)."""
    return (r.method for r in records)
