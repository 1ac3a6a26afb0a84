"""Helpers for the api tests: describe a live server by asking it introspection (the real
``rpcspy.api.introspect``), and record real calls as a capture."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from rpcspy.api.model import Api
from rpcspy.capture import CallRecord, CaptureWriter
from rpcspy.replay.send import send_call
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse


def introspect(url: str) -> Api:
    """The API a server declares, as ``rpcspy api introspect`` asks it (``rpcspy.api.introspect``
    over replay's sender)."""
    from rpcspy.api.introspect import introspect as ask

    def send(call: MethodCall) -> MethodResponse | Fault:
        answer = send_call(call, url).response
        assert answer is not None and isinstance(answer.decoded, MethodResponse | Fault)
        return answer.decoded

    return ask(send, url=url).api


def record(path: Path, url: str, calls: list[MethodCall]) -> list[CallRecord]:
    """Send each call to ``url`` and write the exchanges to a capture at ``path``."""
    records = []
    with CaptureWriter(path, append=False) as writer:
        for seq, call in enumerate(calls, 1):
            rec = send_call(call, url, seq=seq)
            writer.write(rec)
            records.append(rec)
    return records


@dataclass
class Cli:
    """What one ``rpcspy`` run left behind."""

    code: int
    stdout: str
    stderr: str


def run_cli(*argv: str, env: dict[str, str] | None = None, timeout: float = 120) -> Cli:
    """Run ``python -m rpcspy ARGV`` (NO_COLOR unless ``env`` says otherwise)."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "rpcspy", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )
    return Cli(done.returncode, done.stdout, done.stderr)
