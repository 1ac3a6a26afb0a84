"""The real ONC RPC peers the tools' tests drive (serve, replay, mock): the rpcgen C client and
server built once per module, rpcbind when it can run, skipping loudly where a peer is missing.

The peers themselves (building, running, recording) are ``tests.oncrpc.peers``.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.oncrpc.peers import build_examples, missing_tools, rpcbind

EXAMPLE_X = Path(__file__).resolve().parents[2] / "examples" / "rpc_example.x"


def need(*tools: str) -> None:
    """Skip, loudly, when a peer is not installed."""
    missing = missing_tools(*tools)
    if missing:
        pytest.skip(f"ONC RPC PEERS MISSING: {', '.join(missing)} (run scripts/install-peers.sh)")


def build_c_peers(out: Path) -> tuple[Path, Path]:
    """The rpcgen example's C server and client, built into ``out`` (skips without the tools)."""
    need("make", "cc", "rpcgen")
    if not Path("/usr/include/tirpc/rpc/rpc.h").exists():
        pytest.skip("ONC RPC PEERS MISSING: libtirpc-dev (run scripts/install-peers.sh)")
    return build_examples(out)


@contextlib.contextmanager
def running_rpcbind() -> Iterator[str]:
    """A running rpcbind (the one there, or one started); skips loudly when it cannot run."""
    need("rpcbind", "rpcinfo")
    try:
        with rpcbind() as how:
            yield how
    except RuntimeError as exc:
        pytest.skip(f"RPCBIND CANNOT START HERE, portmapper test skipped: {exc}")


def rpcinfo_p() -> str:
    """What ``rpcinfo -p 127.0.0.1`` lists."""
    from tests.oncrpc.peers import tool

    return subprocess.run(
        [tool("rpcinfo"), "-p", "127.0.0.1"], capture_output=True, text=True, timeout=30
    ).stdout
