"""The replay plan, driven against a fresh rpyc_classic over a plain socket (the driver here is a
test helper; the plan is sans-IO): recorded netref ids are mapped to the fresh server's."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from rpcspy.rpyc import Frame, FrameDecoder, Request, decode_message, decode_streams
from rpcspy.rpyc.replay import ReplayPlan, StepResult
from tests.rpyc import fixtures
from tests.rpyc.peers import classic_server, server_truth


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


def _replay(
    name: str, cwd: Path
) -> tuple[dict[str, StepResult], list[StepResult], dict[str, object]]:
    """The replay's results (by operation text, and in order), and what the fresh server says of
    itself (its cwd and sys.path, which depend on where the tests run)."""
    ops, _, session = decode_streams(fixtures.load(name).chunks)
    with classic_server(cwd) as server:
        results = _drive(ReplayPlan(ops, session.netrefs()), server.port)
        truth = server_truth(server.port)
    by_text: dict[str, StepResult] = {}
    for result in results:
        by_text.setdefault(result.recorded.text, result)
    return by_text, results, truth


def test_the_tutorial_replays_on_a_fresh_server(tmp_path: Path) -> None:
    by_text, results, fresh = _replay("tutorial", tmp_path)
    meta = fixtures.load("tutorial").meta
    recorded_cwd = meta["server_cwd"]
    getcwd = by_text["modules.os.getcwd()"]
    assert getcwd.verdict == "differs"
    assert getcwd.detail == f"recorded {recorded_cwd!r}, now {str(tmp_path.resolve())!r}"
    write = by_text["modules.sys.stdout.write('This is a message from the RPC client.\\n')"]
    assert write.verdict == "same"
    # sys.path holds the paths of the checkout and its venv: an item replays the same exactly
    # where the fresh server's path has the recorded item at that place.
    items = [r for r in results if r.recorded.text == "next(iter(modules.sys.path))"]
    recorded_path: list[str] = meta["server_sys_path"]
    fresh_path: list[str] = fresh["sys_path"]  # type: ignore[assignment]
    expected = [
        "same" if i < len(fresh_path) and fresh_path[i] == item else "differs"
        for i, item in enumerate(recorded_path)
    ]
    # The recorded StopIteration: the fresh server raises it too unless its path is longer.
    expected.append("same" if len(fresh_path) <= len(recorded_path) else "differs")
    assert [r.verdict for r in items] == expected
    assert items[-1].recorded.result_text == "StopIteration"
    assert {r.verdict for r in results} <= {"same", "differs", "no-reply"}
    assert results[-1].recorded.handler == "close"


def test_what_cannot_be_replayed_says_why(tmp_path: Path) -> None:
    by_text, results, _ = _replay("tour", tmp_path)
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
