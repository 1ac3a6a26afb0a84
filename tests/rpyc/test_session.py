"""Recorded sessions of the real peers (rpyc_classic and the tutorial's client) read as the
operations they perform, checked against what the server itself said (tests/data/rpyc)."""

from __future__ import annotations

import json
import random

import rpyc.core.consts as consts

from rpcspy.rpyc import (
    BoxedTuple,
    IdPack,
    Operation,
    Plain,
    Ref,
    Reply,
    Request,
    Session,
    decode_streams,
    encode_frame,
    encode_message,
    story,
)
from rpcspy.rpyc.errors import Side
from rpcspy.rpyc.values import Boxed
from tests.rpyc import fixtures


def _texts(ops: list[Operation]) -> list[str]:
    return [op.render() for op in ops]


def test_the_tutorial_reads_as_what_the_client_wrote() -> None:
    fixture = fixtures.load("tutorial")
    ops, problems, _ = decode_streams(fixture.chunks)
    assert problems == []
    cwd = fixture.meta["server_cwd"]
    path = fixture.meta["server_sys_path"]
    assert isinstance(cwd, str) and isinstance(path, list)
    # What the client printed is what the server said over a separate connection.
    assert fixture.meta["client_stdout"] == (
        f"Remote working directory: \n{cwd}\n \nInstalled modules: \n"
        + "".join(f"{p}\n" for p in path)
    )
    message = "This is a message from the RPC client.\n"
    texts = _texts(ops)
    assert "root -> <netref rpyc.core.service.SlaveService>" in texts
    assert "modules.os -> <netref os>" in texts
    assert f"modules.os.getcwd() -> {cwd!r}" in texts
    assert f"modules.sys.stdout.write({message!r}) -> {len(message)}" in texts
    assert "iter(modules.sys.path) -> <netref builtins.list_iterator>" in texts
    items = [op for op in ops if op.text == "next(iter(modules.sys.path))"]
    assert [op.reply.value for op in items[:-1] if isinstance(op.reply, Reply)] == [
        Plain(p) for p in path
    ]
    assert items[-1].render() == "next(iter(modules.sys.path)) !! StopIteration"
    assert ops[-1].render() == "close() (no reply)"
    assert [op.index for op in ops] == list(range(len(ops)))
    assert all(op.caller == "client" for op in ops)


def test_the_tutorials_story() -> None:
    fixture = fixtures.load("tutorial")
    ops, _, _ = decode_streams(fixture.chunks)
    cwd = fixture.meta["server_cwd"]
    path = fixture.meta["server_sys_path"]
    assert isinstance(path, list)
    lines = story(ops)
    assert lines == [
        "root -> <netref rpyc.core.service.SlaveService>",
        "modules.builtins -> <netref builtins>",
        "modules['importlib.util'] -> <netref importlib.util>",
        "root.eval -> <netref builtins.method>",
        "root.execute -> <netref builtins.method>",
        "root.namespace -> <netref builtins.dict>",
        "modules.os -> <netref os>",
        f"modules.os.getcwd() -> {cwd!r}",
        "modules.sys -> <netref sys>",
        "modules.sys.stdout -> <netref _io.TextIOWrapper>",
        "modules.sys.stdout.write('This is a message from the RPC client.\\n') -> 39",
        "modules.sys.path -> <netref builtins.list>",
        f"for item in modules.sys.path -> [{', '.join(repr(p) for p in path)}] ({len(path)} items)",
        "close() (no reply)",
    ]


def test_netrefs_are_named_classed_and_released() -> None:
    _, _, session = decode_streams(fixtures.load("tutorial").chunks)
    refs = {ref.name: ref for ref in session.netrefs()}
    assert refs["root"].class_name == "rpyc.core.service.SlaveService"
    assert refs["modules.sys.stdout"].class_name == "_io.TextIOWrapper"
    assert "write" in (refs["modules.sys.stdout"].methods or ())
    assert refs["modules.sys.stdout"].released  # the client's netref was collected: DEL
    assert not refs["modules.os"].released
    assert all(ref.owner == "server" for ref in refs.values())
    assert json.loads(json.dumps([ref.to_json() for ref in refs.values()]))


def test_the_tour_of_handlers_matches_what_the_client_saw() -> None:
    fixture = fixtures.load("tour")
    ops, problems, session = decode_streams(fixture.chunks)
    assert problems == []
    seen = dict(line.split(": ", 1) for line in str(fixture.meta["client_stdout"]).splitlines())
    texts = _texts(ops)
    assert f"modules.os.getcwd() -> {seen['getcwd']!r}" in texts
    assert f"modules.os.path.join('a', 'b', 'c') -> {seen['join']!r}" in texts
    assert f"len(modules.sys.path) -> {seen['len']}" in texts
    assert f"modules.sys.path[0] -> {seen['getitem']!r}" in texts
    assert "'nope' in modules.sys.path -> False" in texts
    remote = "modules.builtins.list(<client list #1>)"
    assert f"repr({remote}) -> {seen['repr']!r}" in texts
    assert f"str({remote}) -> {seen['str']!r}" in texts
    assert f"{remote} == {remote} -> True" in texts
    assert "modules.builtins.dict()['answer'] -> 42" in texts
    assert "modules.sys.rpcspy_marker = 'set' -> None" in texts
    assert "del modules.sys.rpcspy_marker -> None" in texts
    assert (
        "modules.os.no_such_function !! "
        "AttributeError(\"module 'os' has no attribute 'no_such_function'\")"
    ) in texts
    assert "root.eval('6 * 7') -> 42" in texts
    assert "islice(iter(modules.builtins.range(5)), 10) -> (0, 1, 2, 3, 4)" in texts
    assert "modules.builtins.open('/dev/null').__exit__(None) -> None" in texts
    assert any(t.startswith("ping('abcdefghijklmnopqrstuvwxyz") for t in texts)
    # The server calls back into the client's objects (the list and the map it was given).
    by_server = [op for op in ops if op.caller == "server"]
    assert "iter(<client list #1>) -> <netref builtins.list_iterator>" in _texts(by_server)
    assert [op.result_text for op in by_server if op.text == "next(iter(<client list #1>))"] == [
        "3",
        "1",
        "2",
        "StopIteration",
    ]
    lines = story(ops)
    assert "(server) for item in <client list #1> -> [3, 1, 2] (3 items)" in lines
    assert "for item in modules.builtins.range(5) -> [0, 1, 2, 3, 4] (5 items)" in lines
    owners = {ref.owner for ref in session.netrefs()}
    assert owners == {"client", "server"}


def _feed_in_pieces(chunks: list[tuple[Side, bytes, float]], seed: int) -> list[str]:
    rng = random.Random(seed)
    session = Session()
    events: list[object] = []
    for side, data, at in chunks:
        pos = 0
        while pos < len(data):
            step = rng.randint(1, 40)
            events += session.feed(side, data[pos : pos + step], at)
            pos += step
    events += session.close()
    ops = sorted((e for e in events if isinstance(e, Operation)), key=lambda o: o.index)
    assert not [e for e in events if not isinstance(e, Operation)]
    return _texts(ops)


def test_the_reading_does_not_depend_on_how_the_bytes_were_chunked() -> None:
    for name in fixtures.NAMES:
        fixture = fixtures.load(name)
        whole, _, _ = decode_streams(fixture.chunks)
        for seed in (1, 2):
            assert _feed_in_pieces(fixture.chunks, seed) == _texts(whole)


def test_operations_keep_their_frames_and_survive_json() -> None:
    fixture = fixtures.load("tour")
    ops, _, _ = decode_streams(fixture.chunks)
    for side in ("client", "server"):
        frames = sorted(
            [op.request_frame for op in ops if op.caller == side]
            + [op.reply_frame for op in ops if op.reply_frame and op.caller != side],
            key=lambda f: f.offset,
        )
        # Every byte each side sent is in exactly one operation's frames.
        assert b"".join(f.raw for f in frames) == fixture.stream(side)
    for op in ops:
        again = Operation.from_json(json.loads(json.dumps(op.to_json())))
        assert again == op
        if op.outcome == "reply":
            assert op.duration_ms is not None and op.duration_ms >= 0


def _op_texts(*exchanges: tuple[Request, object]) -> list[str]:
    """Render requests (each answered with the given plain value or netref) in one session."""
    session = Session()
    out: list[str] = []
    for request, answer in exchanges:
        box = answer if isinstance(answer, Ref) else Plain(answer)
        session.feed("client", encode_frame(encode_message(request, "client")))
        events = session.feed(
            "server", encode_frame(encode_message(Reply(request.seq, box), "server"))
        )
        out += [e.render() for e in events if isinstance(e, Operation)]
    return out


def test_every_handler_reads_as_python() -> None:
    root = Ref("server", IdPack("rpyc.core.service.SlaveService", 1, 2))
    obj = Ref("server", IdPack("builtins.dict", 3, 4))
    func = Ref("server", IdPack("builtins.function", 5, 6))
    other = Ref("server", IdPack("builtins.type", 7, 0))

    def req(seq: int, handler: int, *args: object) -> Request:
        return Request(seq, handler, BoxedTuple(tuple(_box(a) for a in args)))

    texts = _op_texts(
        (req(0, consts.HANDLE_GETROOT), root),
        (req(1, consts.HANDLE_GETATTR, root, "data"), obj),
        (req(2, consts.HANDLE_GETATTR, root, "fn"), func),
        (req(3, consts.HANDLE_GETATTR, root, "not an identifier"), None),
        (req(4, consts.HANDLE_SETATTR, obj, "x", 1), None),
        (req(5, consts.HANDLE_DELATTR, obj, "x"), None),
        (req(6, consts.HANDLE_CALL, func, (1, "a"), (("sep", "-"), ("end", obj))), 2),
        (req(7, consts.HANDLE_CALLATTR, obj, "__setitem__", ("k", 2), ()), None),
        (req(8, consts.HANDLE_CALLATTR, obj, "__getitem__", ("k",), ()), 2),
        (req(9, consts.HANDLE_CALLATTR, obj, "__len__", (), ()), 1),
        (req(10, consts.HANDLE_CALLATTR, obj, "__add__", (3,), ()), 4),
        (req(11, consts.HANDLE_CALLATTR, obj, "get", ("k", None), ()), 2),
        (req(12, consts.HANDLE_CMP, obj, obj, "__lt__"), False),
        (req(13, consts.HANDLE_HASH, obj), 99),
        (req(14, consts.HANDLE_DIR, obj), ("a",)),
        (req(15, consts.HANDLE_REPR, obj), "{'k': 2}"),
        (req(16, consts.HANDLE_STR, obj), "{'k': 2}"),
        (req(17, consts.HANDLE_PICKLE, obj, 4), b"\x80\x04"),
        (req(18, consts.HANDLE_OLDSLICING, obj, "__getitem__", "__getslice__", 1, None, ()), ()),
        (req(19, consts.HANDLE_CTXEXIT, obj, None), None),
        (req(24, consts.HANDLE_GETATTR, root, "Type"), other),
        (req(20, consts.HANDLE_INSTANCECHECK, other, other.id.wire()), True),
        (req(21, consts.HANDLE_INSPECT, obj.id.wire()), (("keys", "doc"), ("get", "doc"))),
        (req(22, consts.HANDLE_PING, "abc"), "abc"),
        (req(23, consts.HANDLE_DEL, obj, 2), None),
    )
    assert texts == [
        "root -> <netref rpyc.core.service.SlaveService>",
        "root.data -> <netref builtins.dict>",
        "root.fn -> <netref builtins.function>",
        "getattr(root, 'not an identifier') -> None",
        "root.data.x = 1 -> None",
        "del root.data.x -> None",
        "root.fn(1, 'a', sep='-', end=root.data) -> 2",
        "root.data.__setitem__('k', 2) -> None",
        "root.data['k'] -> 2",
        "len(root.data) -> 1",
        "root.data + 3 -> 4",
        "root.data.get('k', None) -> 2",
        "root.data < root.data -> False",
        "hash(root.data) -> 99",
        "dir(root.data) -> ('a',)",
        "repr(root.data) -> \"{'k': 2}\"",
        "str(root.data) -> \"{'k': 2}\"",
        "pickle(root.data, protocol=4) -> b'\\x80\\x04'",
        "root.data[1:] -> ()",
        "root.data.__exit__(None) -> None",
        "root.Type -> <netref builtins.type>",
        "isinstance(root.Type, root.Type) -> True",
        "inspect(root.data) -> 2 methods",
        "ping('abc') -> 'abc'",
        "del root.data (x2) -> None",
    ]


def _box(value: object) -> Boxed:
    if isinstance(value, Ref):
        return value
    if isinstance(value, tuple) and any(isinstance(v, Ref | tuple) for v in value):
        return BoxedTuple(tuple(_box(v) for v in value))
    return Plain(value)


def test_async_requests_pair_with_replies_in_any_order() -> None:
    # rpyc.async_ sends an ordinary request and does not wait: its reply may come after the
    # replies to later requests, and pairs by seq alone.
    root = Ref("server", IdPack("rpyc.core.service.SlaveService", 1, 2))
    session = Session()
    session.feed("client", encode_frame(encode_message(Request(0, 3, Plain(())), "client")))
    session.feed("server", encode_frame(encode_message(Reply(0, root), "server")))
    for seq, name in ((1, "slow"), (2, "fast")):
        request = Request(seq, consts.HANDLE_GETATTR, BoxedTuple((root, Plain(name))))
        assert session.feed("client", encode_frame(encode_message(request, "client"))) == []
    events = []
    for seq, value in ((2, "second"), (1, "first")):
        reply = encode_message(Reply(seq, Plain(value)), "server")
        events += session.feed("server", encode_frame(reply))
    assert [e.render() for e in events if isinstance(e, Operation)] == [
        "root.fast -> 'second'",
        "root.slow -> 'first'",
    ]
    assert session.in_flight == 0
