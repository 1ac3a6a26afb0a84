"""``rpcspy api learn`` and ``rpcspy api check`` through the command line, and the whole road:
introspect the demo server, record a session with it, learn with the introspected file, check
a session that sends a wrong type."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rpcspy.api.model import load, shape_text
from rpcspy.capture import CaptureWriter
from rpcspy.cli import main
from rpcspy.replay.send import Sender, Target
from rpcspy.server import DemoServer, ServerConfig
from rpcspy.xmlrpc.messages import MethodCall
from rpcspy.xmlrpc.values import I4, Array, Double, Int, Nil, String, Struct

REPO = Path(__file__).resolve().parents[2]
CAPTURES = REPO / "captures"

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``rpcspy ARGS`` in this process: (exit code, stdout, stderr)."""
    monkeypatch.setenv("NO_COLOR", "1")

    def go(*args: str | Path) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return go


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoServer]:
    with DemoServer(ServerConfig(port=0, quiet=True)) as server:
        yield server


def record_session(server: DemoServer, path: Path, calls: list[MethodCall]) -> None:
    """Send ``calls`` to the server and record each exchange with the capture writer."""
    writer = CaptureWriter(path, append=False)
    try:
        with Sender(Target.parse(server.url)) as sender:
            for seq, call in enumerate(calls, 1):
                record = sender.send(call, seq=seq)
                assert record.reply is not None, record.error
                writer.write(record)
    finally:
        writer.close()


def _entry(method: str, *params: object) -> Struct:
    return Struct({"methodName": String(method), "params": Array(params)})  # type: ignore[arg-type]


GOOD_SESSION = [
    MethodCall("add", (Int(2), Int(3))),
    MethodCall("add", (Double(1.5), Double(2.0))),
    MethodCall("echo", (String("hi"),)),
    MethodCall("demo.echo", (I4(5),)),
    MethodCall("demo.echo", (Nil(),)),
    MethodCall("demo.fault", (Int(42), String("no"))),
    MethodCall(
        "validator1.easyStructTest", (Struct({"moe": I4(1), "larry": I4(2), "curly": I4(3)}),)
    ),
    MethodCall(
        "system.multicall",
        (Array([_entry("add", Int(1), Int(1)), _entry("echo", String("x"))]),),
    ),
]


def test_introspect_record_learn_check(demo: DemoServer, run: Run, tmp_path: Path) -> None:
    introspected = tmp_path / "api.json"
    code, _, err = run("api", "introspect", demo.url, "-o", introspected)
    assert code == 0, err

    session = tmp_path / "session.jsonl"
    record_session(demo, session, GOOD_SESSION)
    learned = tmp_path / "learned.json"
    code, out, err = run("api", "learn", session, "--api", introspected, "-o", learned)
    assert code == 0, err
    api = load(learned)
    # Introspected facts first: help and signatures; the traffic's added.
    assert [s["kind"] for s in api.sources] == ["introspection", "traffic"]
    assert api.sources[1] == {"kind": "traffic", "capture": str(session), "calls": 8}
    echo = api.methods["demo.echo"]
    assert echo.sources == {"introspection", "traffic"}
    assert echo.help is not None and echo.signatures == []
    assert shape_text(echo.params[0]) == "i4|nil"
    add = api.methods["add"]
    assert add.calls == 3 and add.arity == {2: 3}  # one came inside the multicall
    assert api.methods["demo.fault"].faults == {42: 1}
    easy = api.methods["validator1.easyStructTest"]
    assert shape_text(easy.params[0]) == "struct{curly: i4, larry: i4, moe: i4}"
    # No signature declared: what traffic showed (the server answers the stdlib's <int>).
    assert "demo.echo(i4|nil) -> int|nil" in out

    code, out, err = run("api", "check", session, "--api", learned)
    assert (code, err) == (0, "")
    assert out == "8 calls checked; 0 findings (0 errors, 0 warnings) in 0 of them\n"
    code, out, _ = run("api", "check", session, "--api", learned, "--json")
    assert code == 0
    assert json.loads(out) == {
        "items": [],
        "calls": 8,
        "calls_with_findings": 0,
        "findings": 0,
        "errors": 0,
        "warnings": 0,
    }

    wrong = tmp_path / "wrong.jsonl"
    record_session(
        demo,
        wrong,
        [
            MethodCall("add", (Int(1), Int(2))),
            MethodCall("echo", (I4(5),)),
            MethodCall(
                "validator1.easyStructTest",
                (Struct({"moe": I4(1), "larry": I4(2), "curly": I4(3), "shemp": I4(4)}),),
            ),
            MethodCall("system.multicall", (Array([_entry("echo", Int(9))]),)),
        ],
    )
    code, out, err = run("api", "check", wrong, "--api", learned)
    assert code == 1, err
    assert out.splitlines() == [
        "#2 echo: error api-param-type: params[0] is i4, expected string",
        "#3 validator1.easyStructTest: warning api-unknown-member: params[0].shemp: a member "
        "the API never saw",
        "#4 system.multicall: error api-param-type: params[0][0].params[0] is int, expected string",
        "4 calls checked; 3 findings (2 errors, 1 warning) in 3 of them",
    ]
    code, out, _ = run("api", "check", wrong, "--api", learned, "--json")
    assert code == 1
    report = json.loads(out)
    assert (report["calls"], report["errors"], report["warnings"]) == (4, 2, 1)
    assert report["items"][0] == {
        "capture": str(wrong),
        "seq": 2,
        "method": "echo",
        "where": "request",
        "rule": "api-param-type",
        "severity": "error",
        "path": "params[0]",
        "message": "params[0] is i4, expected string",
    }

    code, out, err = run("lint", wrong, "--api", learned, "--json")
    assert code == 1, err
    (client,) = [p for p in json.loads(out)["peers"] if p["role"] == "client"]
    rules = {r["rule"]: r for r in client["rules"]}
    assert rules["api-param-type"]["calls"] == 2
    assert rules["api-param-type"]["example"]["seq"] == 2
    assert rules["api-unknown-member"]["severity"] == "warning"
    code, out, _ = run("lint", wrong, "--api", learned)
    assert "api-param-type" in out and "e.g. #2 echo at params[0]" in out
    # Without --api, lint sees nothing wrong: these calls are conformant XML-RPC.
    code, out, _ = run("lint", wrong)
    assert code == 0 and "api-" not in out


def test_learn_prints_a_table_or_the_json(run: Run, tmp_path: Path) -> None:
    code, out, err = run("api", "learn", CAPTURES / "faults.jsonl", CAPTURES / "basics.jsonl")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    (add,) = [line for line in lines if line.startswith("add(")]
    assert "faults (" in add and "calls" in add
    code, out, _ = run("api", "learn", CAPTURES / "basics.jsonl", "--json")
    data = json.loads(out)
    assert data["format"] == "rpcspy-api" and data["version"] == 1
    assert data["sources"] == [
        {"kind": "traffic", "capture": str(CAPTURES / "basics.jsonl"), "calls": 20}
    ]
    assert data["methods"]["add"]["sources"] == ["traffic"]


def test_corrupt_lines_are_skipped_with_exit_4(run: Run, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.jsonl"
    text = (CAPTURES / "basics.jsonl").read_bytes().splitlines(keepends=True)
    damaged.write_bytes(b"".join([*text[:3], b'{"type": "call", "seq": \n', *text[3:]]))
    code, out, err = run("api", "learn", damaged, "-o", tmp_path / "a.json")
    assert code == 4
    assert "line 4, column 26: not valid JSON" in err and "1 line skipped" in err
    assert load(tmp_path / "a.json").methods["add"].calls >= 1
    code, out, err = run("api", "check", damaged, "--api", tmp_path / "a.json")
    assert code == 4 and "1 line skipped" in err
    assert out.endswith("20 calls checked; 0 findings (0 errors, 0 warnings) in 0 of them\n")


def test_inputs_that_cannot_be_read(run: Run, tmp_path: Path) -> None:
    code, _, err = run("api", "learn", tmp_path / "nope.jsonl")
    assert code == 3 and "no such capture file" in err
    not_api = tmp_path / "not-api.json"
    not_api.write_text('{"format": "something"}')
    code, _, err = run("api", "check", CAPTURES / "basics.jsonl", "--api", not_api)
    assert code == 3 and "not an rpcspy API file" in err
    code, _, err = run("api", "learn", CAPTURES / "basics.jsonl", "--api", tmp_path / "x.json")
    assert code == 3 and "no such API file" in err
    code, _, err = run("lint", CAPTURES / "basics.jsonl", "--api", tmp_path / "x.json")
    assert code == 3 and "no such API file" in err
    code, _, err = run("api", "learn", CAPTURES / "basics.jsonl", "-o", tmp_path / "no" / "a.json")
    assert code == 3 and "cannot write" in err


def test_several_captures_name_the_capture(run: Run, tmp_path: Path) -> None:
    learned = tmp_path / "learned.json"
    assert run("api", "learn", CAPTURES / "basics.jsonl", "-o", learned)[0] == 0
    copy = tmp_path / "faults.jsonl"
    shutil.copy(CAPTURES / "faults.jsonl", copy)
    code, out, _ = run("api", "check", CAPTURES / "basics.jsonl", copy, "--api", learned)
    assert code == 1
    assert any(line.startswith(f"{copy} #") for line in out.splitlines())
