"""Live: rpyc_classic and the tutorial's client, run through two byte-recording relays in a row.

The outer relay's record of each direction must equal the inner one's (every byte forwarded
unchanged), and the decoded session must say what the server itself reports over a direct
connection: its cwd and its sys.path.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rpcspy.rpyc import Plain, Reply, decode_streams, story
from tests.rpyc.peers import CLIENTS, classic_server, peer_env, server_truth
from tests.rpyc.relay import Relay


def test_the_tutorial_client_through_relays_against_rpyc_classic(tmp_path: Path) -> None:
    with (
        classic_server(tmp_path) as server,
        Relay(server.port) as inner,
        Relay(inner.port) as outer,
    ):
        done = subprocess.run(
            [sys.executable, str(CLIENTS / "tutorial_client.py")],
            env=peer_env(RPYC_PORT=str(outer.port)),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        outer.wait_finished()
        inner.wait_finished()
        truth = server_truth(server.port)
    [near] = outer.connections
    [far] = inner.connections
    for side in ("client", "server"):
        assert near.stream(side) == far.stream(side)
        assert near.stream(side)
    cwd, path = truth["cwd"], truth["sys_path"]
    assert cwd == str(tmp_path.resolve())
    assert isinstance(path, list)
    assert f"{cwd}\n" in done.stdout

    chunks = [(c.direction, c.data, c.at) for c in near.chunks]
    ops, problems, _ = decode_streams(chunks)
    assert problems == []
    texts = [op.render() for op in ops]
    assert f"modules.os.getcwd() -> {cwd!r}" in texts
    assert "modules.sys.stdout.write('This is a message from the RPC client.\\n') -> 39" in texts
    items = [op for op in ops if op.text == "next(iter(modules.sys.path))"]
    assert [op.reply.value for op in items if isinstance(op.reply, Reply)] == [
        Plain(p) for p in path
    ]
    assert items[-1].result_text == "StopIteration"
    assert any(line.startswith("for item in modules.sys.path -> [") for line in story(ops))
