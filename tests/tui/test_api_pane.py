"""The API pane (``a``): methods learned from the loaded calls, merged with an ``--api`` file;
``n`` opens the editor on a new call pre-filled with the signature's types.

The capture is real: bodies written by ``xmlrpc.client``, posted to the real demo server, the
exchanges built with ``build_record`` and written by ``CaptureWriter``. The API file comes from
the same server's introspection (``system.methodSignature``/``methodHelp``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.client
import subprocess
import sys
import threading
import time
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from textual.binding import Binding
from textual.widgets import DataTable, Input

from rpcspy.api.learn import learn_lines, learn_records
from rpcspy.api.model import (
    Api,
    Method,
    Shape,
    Signature,
    declared_shape,
    load,
    save,
    shape_of,
)
from rpcspy.capture import CaptureWriter, HttpMessage, build_record
from rpcspy.capture.index import CaptureIndex
from rpcspy.capture.reader import read_capture
from rpcspy.live import LiveProxyApp
from rpcspy.proxy.runner import ProxyConfig
from rpcspy.tui.apiview import (
    ApiLearner,
    example_params,
    example_value,
    fault_text,
    learned_signature,
)
from rpcspy.tui.app import RpcSpyApp, make_live_app
from rpcspy.tui.screens.api import ApiScreen
from rpcspy.tui.screens.edit import EditScreen, ParamsTree
from rpcspy.tui.screens.help import HELP_TEXT, HelpScreen, key_name
from rpcspy.tui.screenshot import screen_text
from rpcspy.xmlrpc.messages import Fault, MethodResponse
from rpcspy.xmlrpc.values import (
    I4,
    Array,
    Base64,
    Boolean,
    DateTime,
    Double,
    Int,
    Nil,
    String,
    Struct,
)
from tests.conftest import REPO
from tests.tui.conftest import wait_for

AppFactory = Callable[..., RpcSpyApp]
DOCS = REPO / "docs" / "tui.md"

#: (method, params) as a Python client sends them: faults, a multicall, a struct whose
#: ``email`` is there only sometimes.
CALLS: list[tuple[str, tuple[Any, ...]]] = [
    ("add", (2, 3)),
    ("add", (5, 7)),
    ("add", ("two", 3)),  # a fault: not a number
    ("validator1.echoStructTest", ({"name": "bob", "email": "bob@example.com"},)),
    ("validator1.echoStructTest", ({"name": "alice"},)),
    ("demo.fault", (4, "too many parameters")),
    ("demo.fault", (4, "again")),
    (
        "system.multicall",
        (
            [
                {"methodName": "add", "params": [1, 2]},
                {"methodName": "demo.fault", "params": [7, "inside"]},
                {"methodName": "validator1.echoStructTest", "params": [{"name": "carol"}]},
            ],
        ),
    ),
    ("dir.list", ()),
]


def exchange(port: int, seq: int, method: str, params: tuple[Any, ...]) -> Any:
    """Post ``xmlrpc.client``'s body for the call to the demo server; the exchange's record."""
    body = xmlrpc.client.dumps(params, method, allow_none=True).encode()
    headers = {"Content-Type": "text/xml", "User-Agent": "Python-xmlrpc/3.12"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    started = time.time()
    try:
        conn.request("POST", "/RPC2", body, headers)
        client = conn.sock.getsockname()
        response = conn.getresponse()
        answer = response.read()
    finally:
        conn.close()
    return build_record(
        HttpMessage(tuple(headers.items()), body),
        HttpMessage(tuple(response.getheaders()), answer),
        started=started,
        ended=time.time(),
        client=client[:2],
        server=("127.0.0.1", port),
        host="127.0.0.1",
        port=port,
        path="/RPC2",
        status=response.status,
        seq=seq,
    )


def record_capture(path: Path, port: int) -> Path:
    with CaptureWriter(path, append=False) as writer:
        for seq, (method, params) in enumerate(CALLS, 1):
            writer.write(exchange(port, seq, method, params))
    return path


def introspect(url: str, methods: list[str]) -> Api:
    """The server's own word on ``methods`` (help, signatures), as an API description."""
    proxy = xmlrpc.client.ServerProxy(url)
    api = Api(sources=[{"kind": "introspection", "url": url}])
    for name in methods:
        method = api.method(name)
        method.sources.add("introspection")
        method.help = proxy.system.methodHelp(name)
        signatures = proxy.system.methodSignature(name)
        if isinstance(signatures, list):
            for sig in signatures:
                method.signatures.append(
                    Signature([declared_shape(t) for t in sig[1:]], declared_shape(sig[0]))
                )
    return api


@pytest.fixture
def capture(tmp_path: Path, demo_server: Any) -> Path:
    return record_capture(tmp_path / "api.jsonl", demo_server.port)


@pytest.fixture
def api_file(tmp_path: Path, demo_server: Any) -> Path:
    path = tmp_path / "api.json"
    save(introspect(demo_server.url, ["add", "validator1.echoStructTest", "subtract"]), path)
    return path


def read_records(path: Path) -> list[Any]:
    with read_capture(path) as reader:
        return list(reader)


def learned(capture: Path) -> Api:
    return learn_records(read_records(capture))


def table_rows(screen: ApiScreen) -> dict[str, list[str]]:
    table = screen.query_one(DataTable)
    return {name: [str(cell) for cell in table.get_row(name)] for name in screen.names}


async def open_pane(pilot: Any, app: RpcSpyApp, calls: int) -> ApiScreen:
    await wait_for(pilot, lambda: app.indexer is not None and app.indexer.done)
    await wait_for(pilot, lambda: len(app.calls_screen.call_list.shown) == calls)
    await pilot.press("a")
    await wait_for(pilot, lambda: isinstance(app.screen, ApiScreen))
    screen = app.screen
    assert isinstance(screen, ApiScreen)
    await wait_for(pilot, lambda: not screen.learning and bool(screen.names))
    return screen


async def select(pilot: Any, screen: ApiScreen, name: str) -> None:
    table = screen.query_one(DataTable)
    table.move_cursor(row=screen.names.index(name))
    await wait_for(pilot, lambda: screen.current_method == name)
    await pilot.pause()


def detail(screen: ApiScreen) -> str:
    return str(screen.query_one("#api-detail-text").render())


# ---------------------------------------------------------------- the table


async def test_pane_lists_every_method_with_the_counts_learn_records_gives(
    make_app: AppFactory, capture: Path
) -> None:
    expected = learned(capture)
    app = make_app(capture=capture)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_pane(pilot, app, len(CALLS))
        rows = table_rows(screen)
        assert screen.names == sorted(expected.methods)
        assert {"add", "demo.fault", "validator1.echoStructTest", "system.multicall"} <= set(rows)
        for name, method in expected.methods.items():
            _name, calls, faults, sources, signature = rows[name]
            assert int(calls) == method.calls
            assert faults == fault_text(method)
            assert sources == "traffic"
            assert signature == learned_signature(method)
        # What those figures are: sub-calls of the multicall count as calls of their methods.
        assert rows["add"][1:3] == ["4", "25% -32602"]
        assert expected.methods["add"].calls == 4 and expected.methods["add"].fault_count == 1
        assert rows["demo.fault"][1:3] == ["3", "100% 4"]
        assert rows["validator1.echoStructTest"][1:3] == ["3", "0%"]
        # Learned signatures: params -> result; the struct's sometimes-member has its "?".
        assert rows["validator1.echoStructTest"][4] == (
            "(struct{email?: string, name: string}) -> struct{email?: string, name: string}"
        )
        assert rows["dir.list"][4] == "() -> array[string]"
        assert rows["demo.fault"][4] == "(int, string) -> ?"  # never answered without a fault
        # The title says what the API covers.
        title = str(screen.query_one("#api-title").render())
        assert len(expected.methods) == 5
        assert title == f"5 methods · all {len(CALLS)} calls (unfiltered)"


async def test_detail_shows_help_signatures_and_learned_shapes_from_an_api_file(
    make_app: AppFactory, capture: Path, api_file: Path
) -> None:
    api = load(api_file)
    app = make_app(capture=capture, api=api, api_label=api_file.name)
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await open_pane(pilot, app, len(CALLS))
        rows = table_rows(screen)
        # Declared signatures first, both sources; a declared method not called is listed too.
        assert rows["add"][3] == "both"
        assert rows["add"][4] == (
            "(int, int) -> int; (double, double) -> double; (int, double) -> double; "
            "(double, int) -> double"
        )
        assert rows["subtract"][1] == "0" and rows["subtract"][3] == "intro"
        assert rows["demo.fault"][3] == "traffic"
        assert str(screen.query_one("#api-title").render()) == (
            f"6 methods · all {len(CALLS)} calls (unfiltered) + {api_file.name}"
        )

        await select(pilot, screen, "add")
        text = detail(screen)
        assert api.methods["add"].help is not None
        assert api.methods["add"].help.strip().splitlines()[0] in text
        assert "(int, int) -> int" in text and "(double, double) -> double" in text
        assert "learned from 4 calls (4 answered, 1 fault)" in text
        assert "arity: 2 params (4 calls)" in text
        assert "params[0]: int|string" in text
        assert "result: int  3 seen" in text

        await select(pilot, screen, "validator1.echoStructTest")
        text = detail(screen)
        lines = [line.strip() for line in text.splitlines()]
        assert "params[0]: struct{email?: string, name: string}  3 seen" in lines
        assert "name: string  3 seen  always" in lines
        assert "email: string  1 seen  sometimes (1 of 3)" in lines

        await select(pilot, screen, "demo.fault")
        text = detail(screen)
        assert "no declared signature" in text
        assert "faults: 4 (2), 7 (1)" in text


# ---------------------------------------------------------------- a new call from the pane


async def test_n_opens_a_prefilled_call_and_sends_it_to_the_demo_server(
    make_app: AppFactory, capture: Path, api_file: Path, demo_server: Any
) -> None:
    app = make_app(capture=capture, api=load(api_file), api_label=api_file.name)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_pane(pilot, app, len(CALLS))
        # The declared signature: a struct; its members from the calls, only the always-present.
        await select(pilot, screen, "validator1.echoStructTest")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, EditScreen))
        editor = app.screen
        assert isinstance(editor, EditScreen) and editor.is_new
        assert editor.query_one("#edit-method", Input).value == "validator1.echoStructTest"
        assert list(editor.params) == [Struct({"name": String("")})]
        assert type(editor.params[0]["name"]) is String
        assert app.focused is editor.query_one(ParamsTree)
        # The target is chosen as for any new call: the selected call's server.
        assert editor.query_one("#edit-target", Input).value == (
            f"http://127.0.0.1:{demo_server.port}"
        )
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(editor.sent) == 1, timeout=20)
        sent = editor.sent[0]
        assert sent.method == "validator1.echoStructTest" and sent.origin == "resent"
        assert sent.reply == MethodResponse(Struct({"name": String("")}))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiScreen))
        # The sent call is learned too.
        await wait_for(pilot, lambda: table_rows(screen)["validator1.echoStructTest"][1] == "4")

        # Enter does the same; the declared (int, int) of add.
        await select(pilot, screen, "add")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EditScreen))
        editor = app.screen
        assert isinstance(editor, EditScreen)
        assert list(editor.params) == [Int(0), Int(0)]
        assert all(type(p) is Int for p in editor.params)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(editor.sent) == 1, timeout=20)
        assert editor.sent[0].reply == MethodResponse(Int(0))


async def test_without_a_declared_signature_the_learned_types_are_used(
    make_app: AppFactory, capture: Path, demo_server: Any
) -> None:
    app = make_app(capture=capture)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_pane(pilot, app, len(CALLS))
        await select(pilot, screen, "demo.fault")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, EditScreen))
        editor = app.screen
        assert isinstance(editor, EditScreen)
        # Learned: (int, string) from xmlrpc.client's bodies.
        assert list(editor.params) == [Int(0), String("")]
        assert [type(p) for p in editor.params] == [Int, String]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(editor.sent) == 1, timeout=20)
        reply = editor.sent[0].reply
        # demo.fault(code, string) answers with that fault: the server took both params.
        assert isinstance(reply, Fault) and (reply.code, reply.string) == (0, "")


# ---------------------------------------------------------------- live and big


async def test_live_proxy_with_an_api_file_learns_calls_as_they_pass(
    tmp_path: Path, demo_server: Any, api_file: Path
) -> None:
    go_on = threading.Event()
    answers: list[object] = []

    def client(url: str) -> None:
        proxy = xmlrpc.client.ServerProxy(f"{url}/RPC2")
        answers.append(proxy.add(2, 3))
        go_on.wait(30)
        answers.append(proxy.add(1, 1))
        answers.append(proxy.validator1.echoStructTest({"name": "bob"}))

    config = ProxyConfig(
        target=f"http://127.0.0.1:{demo_server.port}",
        listen_port=0,
        confdir=tmp_path / "mitmproxy",
    )
    app = LiveProxyApp(config, client=client, api=load(api_file), api_label=api_file.name)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.store.count == 1, timeout=30)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiScreen))
        screen = app.screen
        assert isinstance(screen, ApiScreen)
        await wait_for(pilot, lambda: bool(screen.names) and not screen.learning)
        rows = table_rows(screen)
        assert rows["add"][1:4] == ["1", "0%", "both"]
        assert rows["validator1.echoStructTest"][1:4] == ["0", "", "intro"]
        go_on.set()
        await wait_for(pilot, lambda: table_rows(screen)["add"][1] == "2", timeout=30)
        await wait_for(
            pilot,
            lambda: table_rows(screen)["validator1.echoStructTest"][1:4] == ["1", "0%", "both"],
            timeout=30,
        )
        assert answers == [5, 2, {"name": "bob"}]
        await app.stop_proxy()


async def test_live_calls_are_learned_as_they_arrive(tmp_path: Path, demo_server: Any) -> None:
    app = make_live_app(title="live")
    records = list(read_records(record_capture(tmp_path / "live.jsonl", demo_server.port)))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.add_record(records[0])
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiScreen))
        screen = app.screen
        assert isinstance(screen, ApiScreen)
        await wait_for(pilot, lambda: table_rows(screen).get("add", ["", ""])[1] == "1")
        for record in records[1:]:
            app.add_record(record)
        expected = learn_records(records)
        await wait_for(
            pilot,
            lambda: (
                {n: int(r[1]) for n, r in table_rows(screen).items()}
                == {n: m.calls for n, m in expected.methods.items()}
            ),
        )
        # Closed and opened again: only new calls are learned, nothing twice.
        await pilot.press("escape")
        app.add_record(records[0])
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiScreen))
        screen = app.screen
        assert isinstance(screen, ApiScreen)
        await wait_for(pilot, lambda: table_rows(screen).get("add", ["", ""])[1] == "5")


async def test_a_big_capture_is_learned_in_a_worker_the_ui_answering(
    make_app: AppFactory, tmp_path: Path, demo_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rpcspy.tui import apiview

    one = read_records(record_capture(tmp_path / "one.jsonl", demo_server.port))
    big = tmp_path / "big.jsonl"
    copies = 40
    with CaptureWriter(big, append=False) as writer:
        for i in range(copies):
            for j, record in enumerate(one):
                seq = i * len(one) + j + 1
                writer.write(dataclasses.replace(record, seq=seq, id=f"{seq:032x}"))
    total = copies * len(one)
    # Hold the learning worker in its second batch, to look at the pane meanwhile.
    monkeypatch.setattr(apiview, "BATCH", 20)
    hold, held = threading.Event(), threading.Event()
    batches = [0]

    def slow_learn(items: Any, api: Any = None) -> Api:
        batches[0] += 1
        if batches[0] == 2:
            held.set()
            hold.wait(30)
        return learn_lines(items, api)

    monkeypatch.setattr(apiview, "learn_lines", slow_learn)
    app = make_app(capture=big)
    async with app.run_test(size=(100, 30)) as pilot:
        try:
            await wait_for(pilot, lambda: app.indexer is not None and app.indexer.done)
            await pilot.press("a")
            await wait_for(pilot, lambda: isinstance(app.screen, ApiScreen))
            screen = app.screen
            assert isinstance(screen, ApiScreen)
            await wait_for(pilot, held.is_set)
            await wait_for(pilot, lambda: "learning…" in title(screen))
            assert screen.learning and title(screen).endswith(f"learning… 5% of {total:,}")
            assert learner_of(app).upto == 20
            # The UI answers while the worker learns: Esc goes back to the list.
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is app.calls_screen)
        finally:
            hold.set()
        learner = learner_of(app)
        # The worker stops between two batches once its pane is gone: whole batches only.
        await wait_for(pilot, lambda: learner.upto == 40)
        await pilot.pause(0.5)
        assert learner.upto == 40 and learner.behind
        # Opened again, the pane learns the rest, and says the same as learn_records.
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiScreen))
        screen = app.screen
        assert isinstance(screen, ApiScreen)
        await wait_for(pilot, lambda: learner.upto == total and not screen.learning, timeout=30)
        expected = learn_records(one * copies)
        rows = table_rows(screen)
        assert {n: int(r[1]) for n, r in rows.items()} == {
            n: m.calls for n, m in expected.methods.items()
        }
        assert {n: r[2] for n, r in rows.items()} == {
            n: fault_text(m) for n, m in expected.methods.items()
        }
        assert title(screen) == f"5 methods · all {total:,} calls (unfiltered)"


def learner_of(app: RpcSpyApp) -> ApiLearner:
    assert app.api_learner is not None
    return app.api_learner


def title(screen: ApiScreen) -> str:
    return str(screen.query_one("#api-title").render())


def test_learner_learns_in_batches_and_stops_when_cancelled(
    tmp_path: Path, demo_server: Any
) -> None:
    from rpcspy.tui import apiview

    records = list(read_records(record_capture(tmp_path / "c.jsonl", demo_server.port)))
    store = CaptureIndex()
    for record in records * 3:
        store.add_record(record)
    learner = ApiLearner(store)
    seen: list[tuple[int, int]] = []
    old, apiview.BATCH = apiview.BATCH, 4  # type: ignore[misc]
    try:
        stops = iter([False, True])
        assert (
            learner.learn(cancelled=lambda: next(stops), progress=lambda d, t: seen.append((d, t)))
            is False
        )
        assert learner.upto == 4 and seen == [(4, len(records) * 3)]
        assert learner.learn() is True
    finally:
        apiview.BATCH = old  # type: ignore[misc]
    assert learner.upto == store.count and not learner.behind
    expected = learn_records(records * 3)
    got = learner.merged(None)
    assert {n: (m.calls, m.faults, m.arity) for n, m in got.methods.items()} == {
        n: (m.calls, m.faults, m.arity) for n, m in expected.methods.items()
    }


# ---------------------------------------------------------------- pre-filled values


def test_example_values_per_type() -> None:
    before = dt.datetime.now().replace(microsecond=0)
    assert example_value(declared_shape("int")) == Int(0)
    assert (
        example_value(shape_of({"i4": 5})) == I4(0)
        and type(example_value(shape_of({"i4": 5}))) is I4
    )
    assert example_value(declared_shape("string")) == String("")
    assert example_value(declared_shape("boolean")) == Boolean(False)
    assert example_value(declared_shape("double")) == Double(0.0)
    assert example_value(declared_shape("base64")) == Base64(b"")
    assert isinstance(example_value(declared_shape("nil")), Nil)
    assert example_value(declared_shape("array")) == Array()
    assert example_value(declared_shape("undef")) == String("")
    when = example_value(declared_shape("dateTime.iso8601"))
    assert isinstance(when, DateTime) and when.parsed is not None
    assert before <= when.parsed <= dt.datetime.now()
    # A union: its first type, nil only when nothing else.
    union = shape_of({"nil": None}).merge(shape_of({"i4": 1}))
    assert type(example_value(union)) is I4
    # A struct: the members always present, filled recursively.
    seen = shape_of({"struct": {"a": {"int": 1}, "in": {"struct": {"x": {"boolean": True}}}}})
    seen.merge(
        shape_of(
            {
                "struct": {
                    "a": {"int": 2},
                    "b": {"string": "s"},
                    "in": {"struct": {"x": {"boolean": False}, "y": {"int": 1}}},
                }
            }
        )
    )
    assert example_value(seen) == Struct({"a": Int(0), "in": Struct({"x": Boolean(False)})})


def test_example_params_take_the_commonest_arity() -> None:
    method = Method("m", params=[shape_of({"int": 1}), shape_of({"string": "x"})])
    method.arity = {1: 3, 2: 1}
    assert example_params(method) == (Int(0),)
    method.arity = {1: 1, 2: 1}  # a tie: the fewer params
    assert example_params(method) == (Int(0),)
    method.arity = {2: 2}
    assert example_params(method) == (Int(0), String(""))
    method.signatures = [Signature([declared_shape("boolean")], Shape(any=True))]
    assert example_params(method) == (Boolean(False),)


# ---------------------------------------------------------------- 80x24, help, docs, --api


async def test_pane_at_80x24_keeps_method_counts_and_faults_in_view(
    make_app: AppFactory, capture: Path, api_file: Path
) -> None:
    app = make_app(capture=capture, api=load(api_file), api_label=api_file.name)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_pane(pilot, app, len(CALLS))
        await select(pilot, screen, "validator1.echoStructTest")
        await pilot.pause(0.2)
        lines = screen_text(app)
        assert len(lines) == 24 and all(cell_len(line) <= 80 for line in lines)
        header = next(line for line in lines if line.split()[:2] == ["method", "calls"])
        assert "faults" in header and "from" in header
        row = next(line for line in lines if "validator1.echoStructTest" in line)
        assert "3" in row.split() and "0%" in row.split() and "both" in row.split()
        add = next(line for line in lines if line.strip().startswith("add "))
        assert "25%" in add
        # The detail shows below the table, the method's name and help first.
        at = next(i for i, line in enumerate(lines) if "from introspection, traffic" in line)
        assert lines[at].split()[0] == "validator1.echoStructTest" and at > lines.index(row)
        assert lines[at + 1].strip() == "validator1.echoStructTest(struct) => the same struct."
        footer = lines[-1]
        assert "esc Back" in footer and "n New call" in footer and "? Help" in footer
        # ? opens the help on the pane's keys; Esc comes back to the pane.
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)


def test_help_and_docs_list_the_pane_and_its_keys() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    assert "| `a` | the API" in HELP_TEXT and "| `a` | the API" in docs
    help_pane = HELP_TEXT[HELP_TEXT.index("## API pane") : HELP_TEXT.index("## Filter language")]
    docs_pane = docs[docs.index("## The API pane") : docs.index("## Replay")]
    keys = {"enter"}  # the table's own: a new call, as n
    for binding in ApiScreen.BINDINGS:
        assert isinstance(binding, Binding)
        keys.update(k.strip() for k in binding.key.split(","))
    assert {"n", "escape", "a", "question_mark"} <= keys
    for key in sorted(keys):
        written = f"`{key_name(key)}`"
        assert written in help_pane, f"the help's API pane does not list {written}"
        assert written in docs_pane, f"docs/tui.md's API pane does not list {written}"
    assert "--api" in docs_pane and "unfiltered" in docs_pane


def test_tui_api_option_reports_a_bad_file_and_exits_3(tmp_path: Path, capture: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}', encoding="utf-8")
    for path, words in (
        (bad, "not an rpcspy API file"),
        (tmp_path / "none.json", "no such API file"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "rpcspy", "tui", str(capture), "--api", str(path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 3, done.stderr
        assert words in done.stderr and "--api" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_proxy_api_option_needs_the_tui_and_a_good_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("not json", encoding="utf-8")
    base = [sys.executable, "-m", "rpcspy", "proxy", "http://127.0.0.1:1", "--port", "0"]
    for extra, code, words in (
        (["--api", str(bad)], 2, "--api is for the terminal UI: add --tui"),
        (["--tui", "--api", str(bad)], 3, "--api: "),
    ):
        done = subprocess.run([*base, *extra], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert done.returncode == code, done.stderr
        assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "not JSON" in done.stderr
