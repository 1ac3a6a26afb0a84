"""Live ONC RPC peers (interop): rpcinfo against a real rpcbind, captured with tcpdump on the
loopback, and the rpcgen C client calling the C server through a byte-recording relay, TCP and
UDP; what was captured decodes, typed, to what the peers said.

scripts/install-peers.sh installs the peers (rpcbind, rpcsvc-proto, libtirpc-dev, tcpdump).
A missing peer, an rpcbind that cannot start or a kernel that refuses packet capture skips its
test with a loud reason.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcspy.oncrpc import Optional, Struct, UInt, builtin_interface
from tests.oncrpc.peers import (
    Recording,
    TcpRelay,
    UdpRelay,
    build_examples,
    example_server,
    missing_tools,
    rpcbind,
    run_client,
    tcpdump_lo,
    tool,
)
from tests.oncrpc.test_fixtures import (
    EXAMPLE_PROG,
    check_example,
    example_interface,
    exchanges,
    linked,
)

pytestmark = pytest.mark.interop


def _need(*tools: str) -> None:
    missing = missing_tools(*tools)
    if missing:
        pytest.skip(f"ONC RPC PEERS MISSING: {', '.join(missing)} (run scripts/install-peers.sh)")


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    _need("make", "cc", "rpcgen")
    if not Path("/usr/include/tirpc/rpc/rpc.h").exists():
        pytest.skip("ONC RPC PEERS MISSING: libtirpc-dev (run scripts/install-peers.sh)")
    return build_examples(tmp_path_factory.mktemp("rpc_example"))


@pytest.fixture
def running_rpcbind() -> Iterator[str]:
    _need("rpcbind", "rpcinfo")
    try:
        with rpcbind() as how:
            yield how
    except RuntimeError as exc:
        pytest.skip(f"RPCBIND CANNOT START HERE, live rpcinfo test skipped: {exc}")


def test_rpcinfo_against_a_real_rpcbind_decodes_with_no_interface_file(
    peers: tuple[Path, Path], running_rpcbind: str
) -> None:
    _need("tcpdump")
    server, _ = peers
    with example_server(server, register=True) as port:
        try:
            with tcpdump_lo(111) as connections:
                listed = subprocess.run(
                    [tool("rpcinfo"), "-p", "127.0.0.1"],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=True,
                ).stdout
                probed = subprocess.run(
                    [tool("rpcinfo"), "-t", "127.0.0.1", "100000"],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=True,
                ).stdout
        except RuntimeError as exc:
            pytest.skip(f"PACKET CAPTURE NOT PERMITTED HERE, live rpcinfo test skipped: {exc}")
    assert f"{EXAMPLE_PROG}" in listed and "ready and waiting" in probed
    pairs = [
        pair
        for conn in exchanges(Recording("live", tcp=connections), builtin_interface())
        for pair in conn
    ]
    by_label = {call.label: (call, reply) for call, reply in pairs}
    _, dump = by_label["PMAP_PROG.PMAP_VERS.PMAPPROC_DUMP"]
    assert dump.result is not None and dump.problem is None
    rows = set()
    for entry in linked(dump.result, "map", "next"):
        assert isinstance(entry, Struct)
        rows.add((entry["prog"], entry["vers"], entry["prot"], entry["port"]))
    # What rpcinfo printed is what the typed DUMP reply holds.
    for line in listed.splitlines()[1:]:
        prog, vers, proto, line_port = line.split()[:4]
        prot = UInt(6 if proto == "tcp" else 17)
        assert (UInt(int(prog)), UInt(int(vers)), prot, UInt(int(line_port))) in rows
    assert (UInt(EXAMPLE_PROG), UInt(1), UInt(6), UInt(port)) in rows
    mismatch = [r for c, r in pairs if c.call.vers == 0]
    assert mismatch and mismatch[0].reply.status == "PROG_MISMATCH"
    assert mismatch[0].reply.mismatch == (2, 4)
    for vers, name in ((2, "PMAP_VERS.PMAPPROC_NULL"), (3, "RPCBVERS.RPCBPROC_NULL")):
        call, reply = by_label[f"PMAP_PROG.{name}"]
        assert call.call.vers == vers and reply.reply.status == "SUCCESS"
    assert isinstance(dump.result, Optional)


@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_the_rpcgen_c_client_and_server_through_a_recording_relay(
    peers: tuple[Path, Path], proto: str
) -> None:
    server, client = peers
    with example_server(server) as port:
        if proto == "tcp":
            relay = TcpRelay(port)
            printed = run_client(client, relay.port, "tcp")
            recording = Recording("live", tcp=relay.close())
        else:
            udp = UdpRelay(port)
            printed = run_client(client, udp.port, "udp")
            recording = Recording("live", udp=udp.close())
    assert "ECHO hello, rpcspy" in printed and "PROC99 RPC: Procedure unavailable" in printed
    pairs = [pair for conn in exchanges(recording, example_interface()) for pair in conn]
    check_example(pairs, uid=os.getuid())


def test_the_c_peers_own_round_trip_loop(peers: tuple[Path, Path]) -> None:
    # bench/oncrpc.py times this loop; here it only has to run and say what it did.
    server, client = peers
    with example_server(server) as port:
        words = run_client(client, port, "tcp", "200").split()
    assert words[:2] == ["calls", "200"] and float(words[3]) > 0
