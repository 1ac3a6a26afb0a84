"""Hostile and broken RPyC streams: clear problems, bounded memory, and reading goes on with the
next frame wherever the framing says where it starts."""

from __future__ import annotations

import struct
import tracemalloc
import zlib

import rpyc.core.consts as consts
from hypothesis import given, settings
from hypothesis import strategies as st

from rpcspy.rpyc import (
    BoxedTuple,
    FrameDecoder,
    IdPack,
    Limits,
    Operation,
    Plain,
    Problem,
    Ref,
    Reply,
    Request,
    Session,
    encode_frame,
    encode_message,
)
from rpcspy.rpyc.errors import KINDS, Side
from rpcspy.rpyc.framing import HEADER
from tests.rpyc import fixtures

ROOT = Ref("server", IdPack("rpyc.core.service.SlaveService", 1, 2))


def _request(seq: int, handler: int, *args: object) -> bytes:
    boxed = BoxedTuple(tuple(a if isinstance(a, Ref) else Plain(a) for a in args))
    return encode_frame(encode_message(Request(seq, handler, boxed), "client"))


def _reply(seq: int, value: object) -> bytes:
    box = value if isinstance(value, Ref) else Plain(value)
    return encode_frame(encode_message(Reply(seq, box), "server"))


def _run(*chunks: tuple[Side, bytes], limits: Limits | None = None) -> list[Operation | Problem]:
    session = Session(limits or Limits())
    events: list[Operation | Problem] = []
    for side, data in chunks:
        events += session.feed(side, data)
    return events + session.close()


def _kinds(events: list[Operation | Problem]) -> list[str]:
    return [e.kind for e in events if isinstance(e, Problem)]


def _renders(events: list[Operation | Problem]) -> list[str]:
    return [e.render() for e in events if isinstance(e, Operation)]


def _healthy_pair(seq: int = 5) -> tuple[tuple[Side, bytes], tuple[Side, bytes]]:
    return ("client", _request(seq, consts.HANDLE_GETROOT)), ("server", _reply(seq, ROOT))


def test_every_problem_kind_is_documented() -> None:
    assert all(severity in ("warning", "error") and text for severity, text in KINDS.values())


def test_a_truncated_frame_is_reported_when_the_stream_ends() -> None:
    ok_req, ok_rep = _healthy_pair()
    cut = _request(6, consts.HANDLE_GETROOT)
    events = _run(ok_req, ok_rep, ("client", cut[:-4]))
    assert _renders(events) == ["root -> <netref rpyc.core.service.SlaveService>"]
    [problem] = [e for e in events if isinstance(e, Problem)]
    assert problem.kind == "truncated-frame"
    assert problem.side == "client" and problem.offset == len(ok_req[1])
    assert "of the" in problem.reason
    events = _run(("server", b"\x00\x00"))
    assert _kinds(events) == ["truncated-frame"]
    assert "2 byte(s) of a 5-byte frame header" in str(events[0])


def test_a_declared_length_of_2_31_minus_1_is_refused_without_allocating() -> None:
    decoder = FrameDecoder("client")
    header = HEADER.pack(2**31 - 1, 0)
    tracemalloc.start()
    try:
        events = decoder.feed(header + b"\0" * 1000)
        chunk = b"\0" * 65536
        for _ in range(160):  # 10 MiB of the declared body, counted off, never held
            assert decoder.feed(chunk) == []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [e.kind for e in events if isinstance(e, Problem)] == ["frame-too-large"]
    assert "2147483647" in str(events[0])
    assert decoder.buffered == 0
    assert peak < 1024 * 1024
    [end] = decoder.close()
    assert end.kind == "truncated-frame" and end.offset == 0


def test_after_an_oversized_frame_reading_resumes_at_the_next_header() -> None:
    limits = Limits(max_frame_bytes=100)
    big = encode_frame(b"\x01" + b"x" * 500, compress=False)
    ok_req, ok_rep = _healthy_pair()
    for pieces in ([big + ok_req[1]], [big[:3], big[3:300], big[300:] + ok_req[1]]):
        session = Session(limits)
        events: list[Operation | Problem] = []
        for piece in pieces:
            events += session.feed("client", piece)
        events += session.feed("server", ok_rep[1])
        assert _kinds(events) == ["frame-too-large"]
        assert _renders(events) == ["root -> <netref rpyc.core.service.SlaveService>"]


def test_bad_zlib_loses_that_frame_only() -> None:
    garbage = b"this is not zlib at all"
    bad = HEADER.pack(len(garbage), 1) + garbage + b"\n"
    short = zlib.compress(b"\x01" * 5000)[:-10]
    cut = HEADER.pack(len(short), 1) + short + b"\n"
    ok_req, ok_rep = _healthy_pair()
    events = _run(("client", bad + cut + ok_req[1]), ok_rep)
    assert _kinds(events) == ["bad-zlib", "bad-zlib"]
    assert _renders(events) == ["root -> <netref rpyc.core.service.SlaveService>"]


def test_brine_garbage_is_a_problem_with_its_place_and_the_next_frame_reads() -> None:
    ok_req, ok_rep = _healthy_pair()
    garbage = [
        b"\x01\x07\x07",  # unknown tag
        b"\x01" + b"\x10" * 100_000,  # nested a hundred thousand deep
        b"\x01\x15\xff\xff\xff\xff",  # a tuple of 2^32-1 items
        b"\x01\x11\x50\x17\x00\x00\x13\x88" + b"9" * 5000,  # an int of 5000 digits
        b"\x01\x11\x50\x08\x0b\xff\xfe",  # a str that is not UTF-8
        b"\x01\x0f\xff\xff\xff\xff",  # bytes declaring 4 GiB, past the end
        b"\x01",  # a type byte and nothing
        b"",  # not even that
        b"\x09\x11\x50\x00",  # message type 9
        b"\x01\x50",  # a bare integer, not (seq, payload)
        b"\x01\x11\x50\x11\x53\x11\x59\x02",  # a box with label 9
    ]
    stream = b"".join(encode_frame(g) for g in garbage) + ok_req[1]
    events = _run(("client", stream), ok_rep)
    problems = [e for e in events if isinstance(e, Problem)]
    assert [p.kind for p in problems] == [
        *["bad-brine"] * 5,
        "bad-message",  # brine.load reads the 4 GiB short, as rpyc would; strict mode says so
        "bad-brine",
        "empty-payload",
        "unknown-message-type",
        "bad-message",
        "bad-box",
    ]
    assert all(p.side == "client" and p.offset is not None for p in problems)
    assert "unknown brine tag 0x07" in problems[0].reason
    assert "nested over" in problems[1].reason
    assert _renders(events) == ["root -> <netref rpyc.core.service.SlaveService>"]
    strict = Session(strict=True)
    [problem] = strict.feed("client", encode_frame(garbage[5]))
    assert isinstance(problem, Problem) and problem.kind == "bad-brine"
    assert "declares 4294967295 bytes" in problem.reason
    [trailing] = strict.feed(
        "client", encode_frame(encode_message(Reply(1, ROOT), "server") + b"!")
    )
    assert isinstance(trailing, Problem) and trailing.kind == "brine-trailing-bytes"


def test_an_unknown_handler_is_kept_with_a_problem() -> None:
    events = _run(("client", _request(1, 99, "x")), ("server", _reply(1, None)))
    [op] = [e for e in events if isinstance(e, Operation)]
    assert op.render() == "handler-99('x') -> None"
    assert [p.kind for p in op.problems] == ["unknown-handler"]


def test_wrong_argument_counts_are_flagged_but_read() -> None:
    events = _run(("client", _request(1, consts.HANDLE_GETATTR, ROOT)))
    [op] = [e for e in events if isinstance(e, Operation)]
    assert [p.kind for p in op.problems] == ["bad-arguments", "unknown-netref"]
    assert op.outcome == "no-reply"


def test_replies_to_unknown_seqs_are_problems_and_pairing_goes_on() -> None:
    ok_req, ok_rep = _healthy_pair(seq=3)
    events = _run(("server", _reply(42, "stray")), ok_req, ok_rep)
    assert _kinds(events) == ["unknown-seq"]
    assert "seq 42" in str(events[0])
    assert _renders(events) == ["root -> <netref rpyc.core.service.SlaveService>"]


def test_a_reused_seq_gives_up_the_first_request() -> None:
    first = _request(1, consts.HANDLE_GETROOT)
    events = _run(("client", first + first), ("server", _reply(1, ROOT)))
    ops = [e for e in events if isinstance(e, Operation)]
    assert [op.outcome for op in ops] == ["no-reply", "reply"]
    assert [p.kind for p in ops[0].problems] == ["duplicate-seq"]


def test_requests_in_flight_are_bounded() -> None:
    limits = Limits(max_pending=3)
    stream = b"".join(_request(seq, consts.HANDLE_GETROOT) for seq in range(10))
    session = Session(limits)
    events = session.feed("client", stream)
    assert session.in_flight == 3
    given_up = [e for e in events if isinstance(e, Operation)]
    assert [op.seq for op in given_up] == list(range(7))
    assert all(op.problems[0].kind == "too-many-pending" for op in given_up)


def test_netrefs_and_names_are_bounded() -> None:
    limits = Limits(max_netrefs=5, max_name_chars=20)
    session = Session(limits)
    events: list[Operation | Problem] = []
    events += session.feed("client", _request(0, consts.HANDLE_GETROOT))
    events += session.feed("server", _reply(0, ROOT))
    target = ROOT
    for seq in range(1, 20):
        ref = Ref("server", IdPack("builtins.object", 7, 1000 + seq))
        events += session.feed("client", _request(seq, consts.HANDLE_GETATTR, target, "attr"))
        events += session.feed("server", _reply(seq, ref))
        target = ref
    assert len(session.netrefs()) == 5
    assert all(len(ref.name) <= 20 for ref in session.netrefs())
    assert len([e for e in events if isinstance(e, Operation)]) == 20


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["client", "server"]), st.binary(max_size=64))))
def test_random_bytes_never_raise(chunks: list[tuple[Side, bytes]]) -> None:
    events = _run(*chunks, limits=Limits(max_frame_bytes=1000))
    assert all(isinstance(e, Operation | Problem) for e in events)


_FRAMES = [
    data
    for side in ("client", "server")
    for data in [fixtures.load("tutorial").stream(side)]  # type: ignore[arg-type]
]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([0, 1]),
    st.integers(min_value=0, max_value=7000),
    st.binary(min_size=1, max_size=8),
)
def test_a_real_stream_with_bytes_flipped_never_raises(which: int, at: int, noise: bytes) -> None:
    data = bytearray(_FRAMES[which])
    at %= len(data)
    data[at : at + len(noise)] = noise
    side: Side = "client" if which == 0 else "server"
    events = _run((side, bytes(data)))
    assert all(isinstance(e, Operation | Problem) for e in events)


def test_thread_ids_of_a_bound_session_are_skipped() -> None:
    ids = struct.pack("!QQ", 1, 0)
    request = encode_message(Request(0, consts.HANDLE_GETROOT, Plain(())), "client")
    reply = encode_message(Reply(0, ROOT), "server")
    session = Session(bound_threads=True)
    events = session.feed("client", encode_frame(ids + request))
    events += session.feed("server", encode_frame(ids + reply))
    assert _renders(events) == ["root -> <netref rpyc.core.service.SlaveService>"]


def test_a_message_of_many_tiny_tuples_is_refused_before_brine_builds_it() -> None:
    # Each item ``((),)`` costs brine 2 input bytes and ~56 bytes of memory: 600 KB of them
    # would take ~17 MB. Messages over 256 KiB are counted before brine.load builds them.
    n = 300_000
    value = b"\x11\x50\x11\x51\x15" + struct.pack("!L", n) + b"\x10\x02" * n
    frame = encode_frame(b"\x02" + value, compress=False)
    session = Session(Limits(max_brine_values=200_000))
    tracemalloc.start()
    try:
        events = session.feed("server", frame)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [problem] = events
    assert isinstance(problem, Problem) and problem.kind == "bad-brine"
    assert "more than 200000 values" in problem.reason
    assert peak < 4 * len(frame)
    # Under the bound, the same shape loads (a reply to nothing: only that is wrong with it).
    small = b"\x11\x50\x11\x51\x15" + struct.pack("!L", 1000) + b"\x10\x02" * 1000
    [stray] = session.feed("server", encode_frame(b"\x02" + small))
    assert isinstance(stray, Problem) and stray.kind == "unknown-seq"
