"""Messages and boxes: decoded with rpyc's own brine, encoded back to the same bytes."""

from __future__ import annotations

import json

import pytest
import rpyc.core.consts as consts
from hypothesis import given, settings
from rpyc.core import brine

from rpcspy.rpyc import (
    HANDLERS,
    BoxedTuple,
    ExceptionReply,
    FrameDecoder,
    IdPack,
    Plain,
    Ref,
    Reply,
    Request,
    RpycError,
    decode_message,
    encode_message,
)
from rpcspy.rpyc.framing import Frame
from rpcspy.rpyc.messages import Message, message_from_json, message_to_json
from rpcspy.rpyc.values import (
    box_from_json,
    box_to_json,
    box_to_wire,
    unbox,
    value_from_json,
    value_to_json,
)
from tests.rpyc import fixtures
from tests.rpyc.strategies import boxes, brine_values, messages


def _all_frames() -> list[Frame]:
    out: list[Frame] = []
    for name in fixtures.NAMES:
        fixture = fixtures.load(name)
        for side in ("client", "server"):
            events = FrameDecoder(side).feed(fixture.stream(side))
            out += [e for e in events if isinstance(e, Frame)]
    return out


FRAMES = _all_frames()


def test_the_handler_table_is_rpycs() -> None:
    names = {n: v for n, v in vars(consts).items() if n.startswith("HANDLE_")}
    assert {h.number: f"HANDLE_{h.name}" for h in HANDLERS.values()} == {
        v: n for n, v in names.items()
    }
    assert HANDLERS[consts.HANDLE_GETATTR].params == ("obj", "name")
    assert str(HANDLERS[consts.HANDLE_CALLATTR]) == "callattr"


def test_every_recorded_frame_decodes_and_encodes_back_to_its_bytes() -> None:
    assert len(FRAMES) > 200
    kinds = set()
    for frame in FRAMES:
        message, problems = decode_message(frame.payload, frame.side, strict=True)
        assert problems == [], (frame, problems)
        kinds.add(type(message).__name__)
        assert encode_message(message, frame.side) == frame.payload
    assert kinds == {"Request", "Reply", "ExceptionReply"}
    assert any(f.compressed for f in FRAMES)


def test_the_tutorials_getcwd_reads_as_rpyc_sent_it() -> None:
    fixture = fixtures.load("tutorial")
    frames = [
        e for e in FrameDecoder("server").feed(fixture.stream("server")) if isinstance(e, Frame)
    ]
    replies = [decode_message(f.payload, "server")[0] for f in frames]
    cwd = fixture.meta["server_cwd"]
    [getcwd] = [m for m in replies if isinstance(m, Reply) and m.value == Plain(cwd)]
    assert isinstance(getcwd.value, Plain)
    stop = [m for m in replies if isinstance(m, ExceptionReply)]
    assert [m.error.name for m in stop] == ["StopIteration"]


def test_refs_say_whose_object_they_are_whatever_the_label() -> None:
    pack = ("builtins.list", 11, 22)
    sent_by_server = unbox((consts.LABEL_REMOTE_REF, pack), "server")
    sent_by_client = unbox((consts.LABEL_LOCAL_REF, pack), "client")
    assert sent_by_server == sent_by_client == Ref("server", IdPack("builtins.list", 11, 22))
    assert box_to_wire(sent_by_server, "client") == (consts.LABEL_LOCAL_REF, pack)
    assert box_to_wire(sent_by_server, "server") == (consts.LABEL_REMOTE_REF, pack)


def test_arguments_boxed_by_value_or_item_by_item_read_the_same() -> None:
    ref = Ref("server", IdPack("os", 1, 2))
    by_value = Request(1, consts.HANDLE_GETATTR, Plain(("a", 1)))
    assert by_value.arguments() == (Plain("a"), Plain(1))
    boxed = Request(2, consts.HANDLE_GETATTR, BoxedTuple((ref, Plain("getcwd"))))
    assert boxed.arguments() == (ref, Plain("getcwd"))
    assert boxed.handler_name == "getattr"
    assert Request(3, 99, Plain(())).handler_name == "handler-99"


def test_plain_values_compare_typed() -> None:
    assert Plain(1) != Plain(True)
    assert Plain("a") != Plain(b"a")
    assert Plain((1, "x")) == Plain((1, "x"))
    assert Plain(1.0) != Plain(1)
    assert len({Plain(1), Plain(True), Plain(1)}) == 2


@settings(max_examples=300, deadline=None)
@given(brine_values)
def test_brine_values_survive_json(value: object) -> None:
    text = json.dumps(value_to_json(value))
    again = value_from_json(json.loads(text))
    assert Plain(again) == Plain(value)
    assert brine.dump(again) == brine.dump(value) or type(value) is frozenset or _has_set(value)


def _has_set(value: object) -> bool:
    if isinstance(value, frozenset):
        return True
    if isinstance(value, tuple):
        return any(_has_set(v) for v in value)
    if isinstance(value, slice):
        return any(_has_set(v) for v in (value.start, value.stop, value.step))
    return False


@settings(max_examples=300, deadline=None)
@given(boxes)
def test_boxes_survive_json_and_the_wire(box: object) -> None:
    assert box_from_json(json.loads(json.dumps(box_to_json(box)))) == box  # type: ignore[arg-type]
    for sender in ("client", "server"):
        assert unbox(box_to_wire(box, sender), sender) == box  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(messages)
def test_messages_survive_the_wire_and_json(message: Message) -> None:
    as_json = json.dumps(message_to_json(message))
    # A frozenset's items come out in hash order, which a second dump may not repeat.
    has_set = '"frozenset"' in as_json
    for sender in ("client", "server"):
        payload = encode_message(message, sender)
        again, problems = decode_message(payload, sender, strict=True)
        assert again == message
        # Generated requests carry any number of arguments: only their count can be odd.
        assert {p.kind for p in problems} <= {"bad-arguments"}
        assert has_set or encode_message(again, sender) == payload
    assert message_from_json(json.loads(as_json)) == message


def test_thread_bound_messages_skip_their_thread_ids() -> None:
    payload = encode_message(Request(7, consts.HANDLE_GETROOT, Plain(())), "client")
    bound = brine.I8I8.pack(1234, 0) + payload
    message, _ = decode_message(bound, "client", bound_threads=True)
    assert message == Request(7, consts.HANDLE_GETROOT, Plain(()))
    with pytest.raises(RpycError) as caught:
        decode_message(bound, "client")
    assert caught.value.kind in ("unknown-message-type", "bad-brine", "bad-message")
