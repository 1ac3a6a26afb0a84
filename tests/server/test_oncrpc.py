"""``rpcspy serve --protocol oncrpc``: the tutorial's example program served over TCP and UDP.

The rpcgen C client (examples/, built here) prints the same lines against it as against the
rpcgen C server, over both transports; with rpcbind running the server registers (``rpcinfo
-p`` lists it and the client finds it by program number) and unregisters on SIGTERM. The
answers are byte for byte those the C server gave in the recorded fixtures.
"""

from __future__ import annotations

import signal
import socket
import struct
import subprocess
from pathlib import Path

import pytest

from rpcspy.oncrpc import RecordDecoder, decode_message, encode_call, frame_record, parse_idl
from rpcspy.server.oncrpc import OncRpcServer, answer, responder
from rpcspy.server.rpc_example import EXAMPLE_PROCEDURES
from tests.cli.servers import Server
from tests.oncrpc.peers import FIXTURES, Recording, example_server, run_client, tool
from tests.oncrpc.tool_peers import EXAMPLE_X, build_c_peers, rpcinfo_p, running_rpcbind

PROG = 0x20000099
INTERFACE = parse_idl(EXAMPLE_X.read_text(encoding="utf-8"), "rpc_example.x")


@pytest.fixture(scope="module")
def c_peers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_c_peers(tmp_path_factory.mktemp("rpc_example"))


def _serve(tmp_path: Path, *extra: str) -> tuple[Server, int]:
    server = Server(
        ["serve", "--protocol", "oncrpc", "--idl", str(EXAMPLE_X), *extra], tmp_path / "ready"
    )
    url = server.wait_ready()
    assert url.startswith("tcp://127.0.0.1:")
    return server, int(url.rsplit(":", 1)[1])


@pytest.mark.parametrize("fixture", ["example_tcp.json", "example_udp.json"])
def test_the_answers_are_the_rpcgen_servers_bytes(fixture: str) -> None:
    recording = Recording.load(FIXTURES / fixture)
    if recording.tcp:
        pairs = [
            (call, reply)
            for c2s, s2c in recording.tcp
            for call, reply in zip(
                RecordDecoder().feed(c2s), RecordDecoder().feed(s2c), strict=True
            )
        ]
    else:
        calls = [b for d, b in recording.udp if d == "c2s"]
        replies = [b for d, b in recording.udp if d == "s2c"]
        pairs = list(zip(calls, replies, strict=True))
    statuses = []
    for call, reply in pairs:
        got = answer(call, INTERFACE, EXAMPLE_PROCEDURES)
        assert got.reply == reply, got.label
        statuses.append(got.status)
    assert statuses.count("SUCCESS") == 9
    assert statuses[-2:] == ["PROC_UNAVAIL", "PROG_MISMATCH"]


def _call(proc: int, args: bytes = b"", *, prog: int = PROG, vers: int = 1, rpcvers: int = 2):
    return decode_message(
        answer(
            encode_call(7, prog, vers, proc, args, rpcvers=rpcvers), INTERFACE, EXAMPLE_PROCEDURES
        ).reply
        or b""
    )


def test_what_a_call_gets_back_when_it_cannot_be_served() -> None:
    assert _call(0).status == "SUCCESS"  # the NULL procedure, always there
    assert _call(2, b"\0\0\0\1").status == "GARBAGE_ARGS"  # an intpair needs 8 bytes
    assert _call(1, prog=PROG + 1).status == "PROG_UNAVAIL"
    mismatch = _call(1, vers=3)
    assert (mismatch.status, mismatch.mismatch) == ("PROG_MISMATCH", (1, 1))
    denied = _call(1, rpcvers=3)
    assert (denied.accepted, denied.status, denied.mismatch) == (False, "RPC_MISMATCH", (2, 2))
    # A reply or bytes that are not a message get no answer at all.
    assert answer(b"\0\0\0\7\0\0\0\1", INTERFACE, EXAMPLE_PROCEDURES).reply is None
    assert answer(b"garbage", INTERFACE, EXAMPLE_PROCEDURES).reply is None


def test_a_procedure_that_fails_is_system_err_and_the_server_goes_on() -> None:
    def broken(args: object) -> object:
        raise RuntimeError("boom")

    errors: list[str] = []
    procedures = {**EXAMPLE_PROCEDURES, "ECHO": broken}
    call = encode_call(9, PROG, 1, 1, struct.pack(">I", 1) + b"x\0\0\0")
    got = answer(call, INTERFACE, procedures, on_error=errors.append)
    assert got.status == "SYSTEM_ERR"
    assert errors == ["RPC_EXAMPLE_PROG.RPC_EXAMPLE_VERS.ECHO: RuntimeError: boom"]


def test_a_broken_record_marking_closes_the_connection_and_others_are_served() -> None:
    respond = responder(INTERFACE, EXAMPLE_PROCEDURES)
    with OncRpcServer(respond, quiet=True, max_record=1024) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as bad:
            bad.sendall(struct.pack(">I", 0x80000000 | 0x7FFFFFFF))  # 2^31-1 bytes announced
            assert bad.recv(100) == b""  # closed, nothing buffered
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as good:
            good.sendall(frame_record(encode_call(5, PROG, 1, 0)))
            reply = RecordDecoder().feed(good.recv(100))
            assert decode_message(reply[0]).status == "SUCCESS"


@pytest.mark.interop
def test_the_rpcgen_client_prints_the_same_against_rpcspy_as_against_the_c_server(
    c_peers: tuple[Path, Path], tmp_path: Path
) -> None:
    c_server, client = c_peers
    with example_server(c_server) as port:
        expected = {proto: run_client(client, port, proto) for proto in ("tcp", "udp")}
    assert "LOOKUP 1 status=0" in expected["tcp"]
    server, port = _serve(tmp_path, "--no-register", "--port", "0")
    try:
        for proto in ("tcp", "udp"):
            assert run_client(client, port, proto) == expected[proto], proto
    finally:
        stopped = server.stop(signal.SIGTERM)
    assert stopped.code == 0, stopped.stderr
    assert "udp RPC_EXAMPLE_PROG.RPC_EXAMPLE_VERS.LOOKUP -> SUCCESS" in stopped.stderr
    assert "tcp 536871065.7.0 -> PROG_MISMATCH" in stopped.stderr


@pytest.mark.interop
def test_registered_with_rpcbind_while_it_runs(c_peers: tuple[Path, Path], tmp_path: Path) -> None:
    _, client = c_peers
    with running_rpcbind():
        if str(PROG) in rpcinfo_p():
            # Left by a server killed before it could unregister (the C server never does):
            # taken back as root over rpcbind's local socket, as an administrator would.
            subprocess.run([tool("rpcinfo"), "-d", str(PROG), "1"], check=True, timeout=30)
        server, port = _serve(tmp_path, "-q")
        try:
            listed = [line.split() for line in rpcinfo_p().splitlines()]
            ours = sorted(row[2] for row in listed if row[:2] == [str(PROG), "1"])
            assert ours == ["tcp", "udp"], listed
            assert all(row[3] == str(port) for row in listed if row[:1] == [str(PROG)])
            # Port 0: the client asks the portmapper, as rpcgen clients do.
            assert "ECHO hello, rpcspy" in run_client(client, 0, "tcp")
            assert "AREA 3 16.000000" in run_client(client, 0, "udp")
        finally:
            stopped = server.stop(signal.SIGTERM)
        assert stopped.code == 0, stopped.stderr
        assert "registered with the portmapper: 2 mappings" in stopped.stderr
        assert "stopped and unregistered (SIGTERM)" in stopped.stderr
        assert str(PROG) not in rpcinfo_p()


def test_usage_errors(tmp_path: Path) -> None:
    from tests.cli.servers import RPCSPY

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([RPCSPY, "serve", *argv], capture_output=True, text=True, timeout=60)

    no_idl = run("--protocol", "oncrpc")
    assert no_idl.returncode == 2 and "needs --idl" in no_idl.stderr
    other = tmp_path / "other.x"
    other.write_text("program P { version V { int F(int) = 1; } = 1; } = 0x20000100;\n")
    unserved = run("--protocol", "oncrpc", "--idl", str(other))
    assert unserved.returncode == 3 and "no procedure this server implements" in unserved.stderr
    assert run("--idl", str(EXAMPLE_X)).returncode == 2
