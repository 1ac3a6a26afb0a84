"""Every real-peer fixture of tests/data/oncrpc/ decodes, typed, to what the peers exchanged:
rpcinfo against rpcbind (no interface file: the portmapper is built in), and the rpcgen C client
and server of examples/rpc_example.x over TCP and UDP."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from rpcspy.oncrpc import (
    VOID,
    Array,
    Bool,
    Call,
    Double,
    Enum,
    Hyper,
    Int,
    Interface,
    Optional,
    Pairer,
    RecordDecoder,
    Reply,
    String,
    Struct,
    TypedCall,
    TypedReply,
    UInt,
    Union,
    Value,
    builtin_interface,
    call_to_json,
    decode_message,
    parse_idl,
    reply_to_json,
    type_call,
    type_reply,
    value_from_json,
)
from tests.oncrpc.peers import EXAMPLES, FIXTURES, Recording

EXAMPLE_PROG = 0x20000099


def example_interface() -> Interface:
    path = EXAMPLES / "rpc_example.x"
    return builtin_interface(parse_idl(path.read_text(encoding="utf-8"), path.name))


def exchanges(
    recording: Recording, interface: Interface
) -> list[list[tuple[TypedCall, TypedReply]]]:
    """Per TCP connection (or for all UDP datagrams), each call typed with its paired reply."""
    out: list[list[tuple[TypedCall, TypedReply]]] = []

    def pair(messages: list[tuple[str, bytes]]) -> list[tuple[TypedCall, TypedReply]]:
        pairer = Pairer()
        typed: dict[int, TypedCall] = {}
        done: list[tuple[TypedCall, TypedReply]] = []
        for direction, data in messages:
            message = decode_message(data)
            if direction == "c2s":
                assert isinstance(message, Call)
                pairer.call(message)
                typed[message.xid] = type_call(message, interface)
            else:
                assert isinstance(message, Reply)
                call = pairer.reply(message)
                assert call is not None, f"reply {message.xid} answers no call"
                done.append((typed[call.xid], type_reply(message, call, interface)))
        assert pairer.outstanding == 0
        return done

    for c2s, s2c in recording.tcp:
        calls, replies = RecordDecoder(), RecordDecoder()
        sent = [("c2s", m) for m in calls.feed(c2s)]
        got = [("s2c", m) for m in replies.feed(s2c)]
        calls.close()
        replies.close()
        # TCP RPC answers in order here: interleave call, reply, call, reply.
        messages = [m for both in zip(sent, got, strict=True) for m in both]
        out.append(pair(messages))
    if recording.udp:
        out.append(pair(recording.udp))
    return out


def json_round_trip(typed: TypedCall | TypedReply) -> None:
    """The JSON forms are JSON and every value in them reads back equal."""
    if isinstance(typed, TypedCall):
        form = json.loads(json.dumps(call_to_json(typed)))
        assert [value_from_json(v) for v in form["args"]] == list(typed.args)
    else:
        form = json.loads(json.dumps(reply_to_json(typed)))
        if typed.result is not None:
            assert value_from_json(form["result"]) == typed.result


def linked(value: Value, field: str, nxt: str) -> list[Value]:
    """The entries of an XDR linked list (``entry *next``)."""
    items = []
    assert isinstance(value, Optional)
    while value.value is not None:
        assert isinstance(value.value, Struct)
        items.append(value.value[field])
        value = value.value[nxt]
        assert isinstance(value, Optional)
    return items


def test_rpcinfo_p_decodes_without_an_interface_file() -> None:
    (getaddr,), (dump,) = exchanges(
        Recording.load(FIXTURES / "rpcinfo_p.json"), builtin_interface()
    )
    call, reply = getaddr
    assert call.label == "PMAP_PROG.RPCBVERS4.RPCBPROC_GETADDR"
    (rpcb,) = call.args
    assert isinstance(rpcb, Struct) and rpcb.type == "rpcb"
    assert rpcb["r_prog"] == UInt(100000) and rpcb["r_vers"] == UInt(2)
    assert rpcb["r_netid"] == String(b"tcp")
    assert reply.reply.status == "SUCCESS" and reply.result == String(b"127.0.0.1.0.111")

    call, reply = dump
    assert call.label == "PMAP_PROG.PMAP_VERS.PMAPPROC_DUMP"
    assert call.args == () and call.problem is None
    assert call.call.cred.flavor_name == "AUTH_NONE"
    assert reply.result is not None and reply.problem is None
    maps = linked(reply.result, "map", "next")
    rows = {
        (int(m["prog"]), int(m["vers"]), int(m["prot"]))  # type: ignore[index, call-overload]
        for m in maps
    }
    assert {(100000, v, p) for v in (2, 3, 4) for p in (6, 17)} <= rows
    assert {(EXAMPLE_PROG, 1, 6), (EXAMPLE_PROG, 1, 17)} <= rows
    first = maps[0]
    assert isinstance(first, Struct) and first.type == "mapping"
    assert first["port"] == UInt(111)  # the typed value keeps "unsigned int"
    assert first["port"] != Int(111)
    for pair in (getaddr, dump):
        json_round_trip(pair[0])
        json_round_trip(pair[1])


def test_rpcinfo_t_shows_the_version_mismatch_and_the_null_calls() -> None:
    (getaddr,), probes = exchanges(Recording.load(FIXTURES / "rpcinfo_t.json"), builtin_interface())
    assert getaddr[0].label == "PMAP_PROG.RPCBVERS4.RPCBPROC_GETADDR"
    version0, *nulls = probes
    # rpcinfo asks for version 0 to learn the range: not in the interface, shown raw.
    assert version0[0].label == "prog 100000 v0 proc 0"
    assert version0[0].problem is not None and version0[0].problem.kind == "unknown-procedure"
    assert version0[1].reply.status == "PROG_MISMATCH" and version0[1].reply.mismatch == (2, 4)
    assert [c.label for c, _ in nulls] == [
        "PMAP_PROG.PMAP_VERS.PMAPPROC_NULL",
        "PMAP_PROG.RPCBVERS.RPCBPROC_NULL",
        "PMAP_PROG.RPCBVERS4.RPCBPROC_NULL",
    ]
    assert all(r.reply.status == "SUCCESS" and r.result == VOID for _, r in nulls)


def person(name: str, age: int, ident: int, admin: bool, tags: list[str], manager: Value) -> Struct:
    return Struct(
        "person",
        (
            ("name", String(name.encode())),
            ("age", UInt(age)),
            ("id", Hyper(ident)),
            ("admin", Bool(admin)),
            ("tags", Array(String(t.encode()) for t in tags)),
            ("manager", manager),
        ),
    )


CHARLES = person("Charles Babbage", 79, 1791, True, ["engines"], Optional(None))
ADA = person("Ada Lovelace", 36, -1815, False, ["math", "poetry"], Optional(CHARLES))


def shape(kind: str, number: int, arm: str, value: Value) -> Union:
    return Union("shape", Enum("shape_kind", kind, number), arm, value)


def expected_example_calls() -> list[tuple[str, tuple[Value, ...], str, Value | None]]:
    def found(p: Struct) -> Union:
        return Union("lookup_result", Int(0), "found", p)

    rect = Struct("rect", (("width", Double(2.0)), ("height", Double(3.5))))
    return [
        ("ECHO", (String(b"hello, rpcspy"),), "SUCCESS", String(b"hello, rpcspy")),
        ("ADD", (Struct("intpair", (("a", Int(2)), ("b", Int(40)))),), "SUCCESS", Int(42)),
        (
            "ADD",
            (Struct("intpair", (("a", Int(2**31 - 1)), ("b", Int(-(2**31))))),),
            "SUCCESS",
            Int(-1),
        ),
        ("LOOKUP", (UInt(1),), "SUCCESS", found(ADA)),
        ("LOOKUP", (UInt(2),), "SUCCESS", found(CHARLES)),
        (
            "LOOKUP",
            (UInt(99),),
            "SUCCESS",
            Union("lookup_result", Int(404), "error", String(b"no person with id 99")),
        ),
        ("AREA", (shape("CIRCLE", 1, "radius", Double(1.5)),), "SUCCESS", Double(math.pi * 2.25)),
        ("AREA", (shape("RECTANGLE", 2, "sides", rect),), "SUCCESS", Double(7.0)),
        ("AREA", (shape("SQUARE", 3, "side", Double(4.0)),), "SUCCESS", Double(16.0)),
    ]


def check_example(pairs: list[tuple[TypedCall, TypedReply]], uid: int | None = 0) -> None:
    expected = expected_example_calls()
    typed, (proc99, version7) = pairs[: len(expected)], pairs[len(expected) :]
    for (call, reply), (name, args, status, result) in zip(typed, expected, strict=True):
        assert call.label == f"RPC_EXAMPLE_PROG.RPC_EXAMPLE_VERS.{name}"
        assert call.problem is None and reply.problem is None
        assert call.args == args
        assert reply.reply.status == status
        assert reply.result == result
        cred = call.call.cred
        assert cred.flavor_name == "AUTH_SYS" and cred.detail is not None
        if uid is not None:
            assert cred.detail.uid == uid  # type: ignore[union-attr]
        json_round_trip(call)
        json_round_trip(reply)
    assert proc99[0].call.proc == 99 and proc99[0].problem is not None
    assert proc99[1].reply.status == "PROC_UNAVAIL" and proc99[1].result is None
    assert version7[0].label == f"prog {EXAMPLE_PROG} v7 proc 0"
    assert version7[0].call.cred.flavor_name == "AUTH_NONE"
    assert version7[1].reply.status == "PROG_MISMATCH" and version7[1].reply.mismatch == (1, 1)


def test_the_rpcgen_c_peers_over_tcp() -> None:
    connections = exchanges(Recording.load(FIXTURES / "example_tcp.json"), example_interface())
    assert len(connections) == 2  # the version-7 call opens a second connection
    check_example(connections[0] + connections[1])
    cred = connections[0][0][0].call.cred
    assert cred.describe().startswith("AUTH_SYS uid=0 gid=0 gids=[")
    assert cred.to_json()["sys"]["machinename"] == "vm"  # type: ignore[index]


def test_the_rpcgen_c_peers_over_udp() -> None:
    (pairs,) = exchanges(Recording.load(FIXTURES / "example_udp.json"), example_interface())
    check_example(pairs)


def test_without_the_interface_file_the_example_stays_raw_hex_with_its_numbers() -> None:
    connections = exchanges(Recording.load(FIXTURES / "example_tcp.json"), builtin_interface())
    call, reply = connections[0][0]
    assert call.label == f"prog {EXAMPLE_PROG} v1 proc 1"
    assert call.problem is not None and "program 536871065 (0x20000099)" in call.problem.reason
    assert call_to_json(call)["args"] == [{"raw": call.call.args.hex()}]
    assert reply.result is not None and reply_to_json(reply)["result"] == {
        "raw": reply.reply.results.hex()
    }


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_every_fixture_says_how_it_was_made(name: str) -> None:
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    assert f"`{name}`" in readme
    assert Recording.load(Path(FIXTURES / name)).made_by
