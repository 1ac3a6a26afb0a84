"""The real ONC RPC peers the tools' tests drive (serve, replay, mock): the rpcgen C client and
server built once per module, rpcbind when it can run, skipping loudly where a peer is missing.

The peers themselves (building, running, recording) are ``tests.oncrpc.peers``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcspy.capture import CallRecord
from rpcspy.oncrpc import Interface, parse_idl
from rpcspy.streams import oncrpc_conversation, rpyc_conversation
from tests.oncrpc.peers import FIXTURES, Recording, build_examples, missing_tools, rpcbind
from tests.streams.helpers import round_trip, wire_order

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


def example_interface() -> Interface:
    return parse_idl(EXAMPLE_X.read_text(encoding="utf-8"), EXAMPLE_X.name)


def capture_of(fixture: str, path: Path, interface: Interface | None = None) -> list[CallRecord]:
    """A capture of a recorded ONC RPC fixture (tests/data/oncrpc), its bytes fed to
    ``rpcspy.streams`` as the proxy feeds them; written to ``path`` and returned as read back."""
    recording = Recording.load(FIXTURES / fixture)
    interface = interface if interface is not None else example_interface()
    records: list[CallRecord] = []
    at = 1000.0
    for n, (c2s, s2c) in enumerate(recording.tcp):
        conversation = oncrpc_conversation(
            client=("127.0.0.1", 40000 + n), server=("127.0.0.1", 9099), interface=interface
        )
        for side, data in wire_order(c2s, s2c):
            records += conversation.feed(side, data, at)
            at += 0.5
        records += conversation.close(at)
    if recording.udp:
        conversation = oncrpc_conversation(
            client=("127.0.0.1", 40000),
            server=("127.0.0.1", 9099),
            transport="udp",
            interface=interface,
        )
        for direction, data in recording.udp:
            records += conversation.feed("client" if direction == "c2s" else "server", data, at)
            at += 0.5
        records += conversation.close(at)
    return round_trip(_numbered(records), path)


def _numbered(records: list[CallRecord]) -> list[CallRecord]:
    """The records numbered 1, 2, ... as the proxy's writer numbers them."""
    return [dataclasses.replace(r, seq=n) for n, r in enumerate(records, 1)]


def rpyc_capture_of(name: str, path: Path) -> list[CallRecord]:
    """A capture of a recorded RPyC session (tests/data/rpyc), through ``rpcspy.streams``."""
    from tests.rpyc import fixtures

    conversation = rpyc_conversation(client=("127.0.0.1", 40000), server=("127.0.0.1", 18812))
    records: list[CallRecord] = []
    at = 0.0
    for side, data, at in fixtures.load(name).chunks:
        records += conversation.feed(side, data, at)
    records += conversation.close(at + 1)
    return round_trip(_numbered(records), path)
