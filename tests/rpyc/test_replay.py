"""The replay plan, driven against a fresh rpyc_classic over a plain socket (the driver here is a
test helper; the plan is sans-IO): recorded netref ids are mapped to the fresh server's."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from rpcspy.rpyc import Frame, FrameDecoder, Request, decode_message, decode_streams
from rpcspy.rpyc.replay import ReplayPlan, StepResult
from tests.rpyc import fixtures
from tests.rpyc.peers import classic_server


def _drive(plan: ReplayPlan, port: int) -> list[StepResult]:
    decoder = FrameDecoder("server")
    frames: list[Frame] = []
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        while (step := plan.next_step()) is not None:
            sock.sendall(step.frame)
            if step.recorded.handler == "close":
                break
            while True:
                while not frames:
                    data = sock.recv(65536)
                    assert data, "the fresh server closed the connection"
                    frames += [e for e in decoder.feed(data) if isinstance(e, Frame)]
                message, _ = decode_message(frames.pop(0).payload, "server")
                if isinstance(message, Request):
                    sock.sendall(plan.refusal(message))
                    continue
                if message.seq == step.request.seq:
                    plan.answer(message)
                    break
    return plan.results


def _replay(name: str, cwd: Path) -> tuple[dict[str, StepResult], list[StepResult]]:
    ops, _, session = decode_streams(fixtures.load(name).chunks)
    with classic_server(cwd) as server:
        results = _drive(ReplayPlan(ops, session.netrefs()), server.port)
    by_text: dict[str, StepResult] = {}
    for result in results:
        by_text.setdefault(result.recorded.text, result)
    return by_text, results


def test_the_tutorial_replays_on_a_fresh_server(tmp_path: Path) -> None:
    by_text, results = _replay("tutorial", tmp_path)
    recorded_cwd = fixtures.load("tutorial").meta["server_cwd"]
    getcwd = by_text["modules.os.getcwd()"]
    assert getcwd.verdict == "differs"
    assert getcwd.detail == f"recorded {recorded_cwd!r}, now {str(tmp_path.resolve())!r}"
    write = by_text["modules.sys.stdout.write('This is a message from the RPC client.\\n')"]
    assert write.verdict == "same"
    items = [r for r in results if r.recorded.text == "next(iter(modules.sys.path))"]
    assert [r.verdict for r in items] == ["same"] * len(items)
    assert items[-1].recorded.result_text == "StopIteration"
    assert {r.verdict for r in results} <= {"same", "differs", "no-reply"}
    assert results[-1].recorded.handler == "close"


def test_what_cannot_be_replayed_says_why(tmp_path: Path) -> None:
    by_text, results = _replay("tour", tmp_path)
    passed = by_text["modules.builtins.list(<client list #1>)"]
    assert passed.verdict == "skipped"
    assert "passes <client list #1> by reference" in passed.detail
    # Everything done with the list the server would have made is gone with it.
    sort = by_text["modules.builtins.list(<client list #1>).sort()"]
    assert sort.verdict == "skipped"
    assert "does not exist on the fresh server" in sort.detail
    assert by_text["modules.os.path.join('a', 'b', 'c')"].verdict == "same"
    assert by_text["root.eval('6 * 7')"].verdict == "same"
    assert by_text["modules.builtins.int('not a number')"].verdict == "same"
    assert by_text["modules.builtins.dict()['answer']"].verdict == "same"
    assert all(r.recorded.caller == "client" for r in results)
    assert sum(r.verdict == "same" for r in results) > 40


def test_a_step_must_be_answered_before_the_next() -> None:
    ops, _, _ = decode_streams(fixtures.load("tutorial").chunks)
    plan = ReplayPlan(ops)
    step = plan.next_step()
    assert step is not None and step.request.seq == 0 and step.recorded.text == "root"
    with pytest.raises(RuntimeError):
        plan.next_step()
