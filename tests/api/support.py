"""Helpers for the api tests: describe a live server by asking it introspection with the stdlib
client (a stand-in for ``rpcspy api introspect``), and record real calls as a capture."""

from __future__ import annotations

import os
import subprocess
import sys
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path

from rpcspy.api.model import Api, Signature, declared_shape
from rpcspy.capture import CallRecord, CaptureWriter
from rpcspy.replay.send import send_call
from rpcspy.xmlrpc.messages import MethodCall


def introspect(url: str) -> Api:
    """The API a server declares: system.listMethods, methodSignature, methodHelp."""
    proxy = xmlrpc.client.ServerProxy(url, allow_none=True, use_builtin_types=True)
    api = Api(sources=[{"kind": "introspection", "url": url}])
    for name in proxy.system.listMethods():
        method = api.method(name)
        method.sources.add("introspection")
        method.help = proxy.system.methodHelp(name) or None
        signatures = proxy.system.methodSignature(name)
        if isinstance(signatures, list):
            for sig in signatures:
                if isinstance(sig, list) and sig:
                    params = [declared_shape(p) for p in sig[1:]]
                    method.signatures.append(Signature(params, declared_shape(sig[0])))
    return api


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
