"""RPyC conversations fed the real peers' bytes (tests/data/rpyc: the tutorial's client and a
tour of the handlers against rpyc_classic), chunk by chunk as the relay read them: one record per
operation, typed halves, timed from the request frame's first byte to the reply's last, and
written to a capture and read back unchanged; problems with no operation are records of their
own."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from rpcspy.capture import CallRecord
from rpcspy.rpyc import Reply, Request, decode_message, decode_streams, encode_frame, encode_message
from rpcspy.rpyc.framing import HEADER
from rpcspy.rpyc.values import Plain
from rpcspy.streams import CLOSED_BEFORE_REPLY, rpyc_conversation
from tests.rpyc import fixtures
from tests.streams.helpers import CLIENT, chunked, round_trip

SERVER = ("127.0.0.1", 18812)


def _records(name: str, rng: random.Random | None = None) -> list[CallRecord]:
    fixture = fixtures.load(name)
    conversation = rpyc_conversation(client=CLIENT, server=SERVER)
    out: list[CallRecord] = []
    if rng is None:
        for side, data, at in fixture.chunks:
            out += conversation.feed(side, data, at)
    else:
        at = 0.0
        for side, data in chunked(((s, d) for s, d, _ in fixture.chunks), rng, 40):
            at += 1.0
            out += conversation.feed(side, data, at)
    return out + conversation.close(fixture.chunks[-1][2] + 1)


def test_the_tutorial_is_one_record_per_operation_with_typed_halves() -> None:
    fixture = fixtures.load("tutorial")
    ops, problems, _ = decode_streams(fixture.chunks)
    assert problems == []
    records = _records("tutorial")
    assert len(records) == len(ops)
    cwd = fixture.meta["server_cwd"]
    by_text = {r.request.native["text"]: r for r in records if r.request.native}
    getcwd = by_text["modules.os.getcwd()"]
    assert getcwd.protocol == "rpyc" and getcwd.transport == "tcp"
    assert getcwd.method == "modules.os.getcwd" and getcwd.ok
    assert getcwd.request.native is not None and getcwd.response is not None
    assert getcwd.request.native["handler"] == "call"
    assert getcwd.request.native["caller"] == "client"
    assert getcwd.response.native == {
        "outcome": "reply",
        "result_text": repr(cwd),
        "reply": {"reply": {"seq": getcwd.request.native["seq"], "value": {"value": {"str": cwd}}}},
    }
    message = "This is a message from the RPC client.\n"
    write = by_text[f"modules.sys.stdout.write({message!r})"]
    assert write.method == "modules.sys.stdout.write" and write.response is not None
    assert write.response.native is not None
    assert write.response.native["result_text"] == str(len(message))
    # The halves' bodies are the frames exactly; the JSON keeps no raw frame.
    for record, op in zip(records, ops, strict=True):
        assert record.request.body == op.request_frame.raw
        assert record.request.native is not None and "request_frame" not in record.request.native
        assert record.request.native["index"] == op.index
        if op.reply_frame is not None:
            assert record.response is not None and record.response.body == op.reply_frame.raw
            assert record.ended == op.reply_frame.at
        message_back = decode_message(record.request.body[HEADER.size : -1], "client")[0]
        assert isinstance(message_back, Request) and message_back.seq == op.seq
    # The stop of the loop over sys.path is an exception: the call's fault.
    stop = [r for r in records if r.response and r.response.native["outcome"] == "exception"]
    assert [r.native_fault.text for r in stop if r.native_fault] == ["StopIteration"]
    assert all(r.is_fault and r.fault_code is None for r in stop)


def test_close_is_never_answered_and_is_no_error() -> None:
    records = _records("tutorial")
    last = records[-1]
    assert last.request.native is not None and last.request.native["text"] == "close()"
    assert last.response is None and last.error is None
    assert all(r.response is not None for r in records[:-1])


def test_callbacks_and_exceptions_of_the_tour() -> None:
    records = _records("tour")
    callers = {r.request.native["caller"] for r in records if r.request.native}
    assert callers == {"client", "server"}
    faults = [r for r in records if r.is_fault]
    texts = [r.native_fault.text for r in faults if r.native_fault]
    assert any("AttributeError" in t for t in texts)
    assert any("ValueError" in t for t in texts)
    assert not [r for r in records if r.problems]


def test_chunks_of_any_size_give_the_same_records() -> None:
    whole = _records("tutorial")
    for seed in range(2):
        pieces = _records("tutorial", random.Random(seed))
        assert [(r.request, r.response) for r in pieces] == [(r.request, r.response) for r in whole]


def test_a_request_split_over_chunks_starts_at_its_first_byte() -> None:
    conversation = rpyc_conversation(client=CLIENT, server=SERVER)
    request = encode_frame(encode_message(Request(1, 1, Plain(("x",))), "client"))
    assert conversation.feed("client", request[:3], 5.0) == []
    assert conversation.feed("client", request[3:], 6.0) == []
    (left,) = conversation.close(9.0)
    assert left.started == 5.0 and left.response is None
    assert left.error == CLOSED_BEFORE_REPLY and left.ended is None


def test_records_round_trip_through_a_capture_file(tmp_path: Path) -> None:
    records = _records("tutorial") + _records("tour")
    back = round_trip(records, tmp_path / "rpyc.jsonl")
    assert back == records
    assert "modules.os.getcwd" in [r.method for r in back]


def test_problems_with_no_operation_are_records_of_their_own() -> None:
    conversation = rpyc_conversation(client=CLIENT, server=SERVER)
    # A reply to no request, a frame whose message is not brine, a header over the limit.
    reply_to_nothing = encode_frame(encode_message(Reply(7, Plain(1)), "server"))
    (unknown,) = conversation.feed("server", reply_to_nothing, 1.0)
    assert unknown.request.body == b"" and unknown.response is not None
    assert [(p.where, p.kind) for p in unknown.problems] == [("response", "unknown-seq")]
    assert unknown.error == "the server's bytes: unknown-seq (warning)"
    (garbage,) = conversation.feed("client", encode_frame(b"\x01\xff\xff"), 2.0)
    assert garbage.problems[0].kind == "bad-brine" and garbage.problems[0].where == "request"
    assert "from the client" in garbage.problems[0].reason
    (huge,) = conversation.feed("client", b"\x7f\xff\xff\xff\x00" + b"\x00" * 1000, 3.0)
    assert huge.problems[0].kind == "frame-too-large"
    assert conversation.session._decoders["client"].buffered == 0
    (cut,) = conversation.close(4.0)
    assert cut.problems[0].kind == "truncated-frame" and cut.ended == 4.0


def test_a_request_given_up_while_the_connection_goes_on_says_why() -> None:
    conversation = rpyc_conversation(client=CLIENT, server=SERVER)
    request = encode_frame(encode_message(Request(4, 1, Plain(("x",))), "client"))
    assert conversation.feed("client", request, 1.0) == []
    (first,) = conversation.feed("client", request, 2.0)  # the same seq again, no reply yet
    assert first.response is None and first.started == 1.0
    assert first.error is not None and first.error.startswith("given up without its reply")
    assert [(p.where, p.kind) for p in first.problems] == [("request", "duplicate-seq")]
    (second,) = conversation.feed(
        "server", encode_frame(encode_message(Reply(4, Plain(1)), "server")), 3.0
    )
    assert second.started == 2.0 and second.ended == 3.0 and second.response is not None


def test_an_internal_error_is_a_problem_record_not_an_exception(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conversation = rpyc_conversation(client=CLIENT, server=SERVER)

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(conversation.session, "feed", broken)
    (record,) = conversation.feed("client", b"\x00\x00\x00\x05\x00hello\n", 2.0)
    assert record.protocol == "rpyc" and record.transport == "tcp"
    assert [p.kind for p in record.problems] == ["internal-error"]
    assert "RuntimeError: a bug" in record.problems[0].reason and record.error is not None
    assert record.request.body == b"" and record.started == 2.0
