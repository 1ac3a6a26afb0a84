"""``rpcspy mock`` of an ONC RPC capture: the rpcgen C client, run against the mock over TCP and
UDP, prints what it printed against the real server; calls that were not recorded get the
answers a server without them gives, and the closest recorded call is logged."""

from __future__ import annotations

import dataclasses
import signal
import socket
import struct
from pathlib import Path

import pytest

from rpcspy.capture import HttpMessage, read_capture
from rpcspy.diff import Rules
from rpcspy.mock.oncrpc import OncRpcPlaybook
from rpcspy.oncrpc import RecordDecoder, decode_message, encode_call, frame_record
from tests.cli.servers import Server
from tests.oncrpc.peers import example_server, run_client
from tests.oncrpc.tool_peers import EXAMPLE_X, build_c_peers, capture_of, example_interface

PROG = 0x20000099


@pytest.fixture(scope="module")
def c_peers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_c_peers(tmp_path_factory.mktemp("rpc_example"))


def _mock(tmp_path: Path, capture: Path, *extra: str) -> tuple[Server, int]:
    server = Server(["mock", str(capture), "--port", "0", *extra], tmp_path / "ready")
    url = server.wait_ready()
    assert url.startswith("tcp://127.0.0.1:")
    return server, int(url.rsplit(":", 1)[1])


@pytest.mark.interop
@pytest.mark.parametrize("fixture", ["example_tcp.json", "example_udp.json"])
def test_the_rpcgen_client_gets_the_recorded_answers_over_both_transports(
    fixture: str, c_peers: tuple[Path, Path], tmp_path: Path
) -> None:
    c_server, client = c_peers
    with example_server(c_server) as port:
        expected = {proto: run_client(client, port, proto) for proto in ("tcp", "udp")}
    capture = tmp_path / "calls.jsonl"
    capture_of(fixture, capture)
    mock, port = _mock(tmp_path, capture, "--idl", str(EXAMPLE_X))
    try:
        for proto in ("tcp", "udp"):
            assert run_client(client, port, proto) == expected[proto], proto
    finally:
        stopped = mock.stop(signal.SIGTERM)
    assert stopped.code == 0, stopped.stderr
    assert "11 recorded ONC RPC calls to 6 procedures" in stopped.stderr
    assert "rpcspy mock: 22 matched, 0 missed" in stopped.stderr


def _ask(port: int, call: bytes) -> object:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(frame_record(call))
        decoder = RecordDecoder()
        while not (records := decoder.feed(s.recv(65536))):
            pass
    return decode_message(records[0])


def test_what_a_call_with_no_recorded_match_gets(tmp_path: Path) -> None:
    capture = tmp_path / "calls.jsonl"
    capture_of("example_tcp.json", capture)
    mock, port = _mock(tmp_path, capture, "--idl", str(EXAMPLE_X))
    try:
        again = _ask(port, encode_call(77, PROG, 1, 2, struct.pack(">ii", 2, 40)))
        other_args = _ask(port, encode_call(78, PROG, 1, 2, struct.pack(">ii", 2, 41)))
        other_proc = _ask(port, encode_call(79, PROG, 1, 5))
        other_vers = _ask(port, encode_call(80, PROG, 2, 1))
        other_prog = _ask(port, encode_call(81, PROG + 1, 1, 1))
    finally:
        stopped = mock.stop(signal.SIGTERM)
    assert (again.xid, again.status) == (77, "SUCCESS")  # type: ignore[attr-defined]
    assert again.results == struct.pack(">i", 42)  # type: ignore[attr-defined]
    assert (other_args.xid, other_args.status) == (78, "SYSTEM_ERR")  # type: ignore[attr-defined]
    assert other_proc.status == "PROC_UNAVAIL"  # type: ignore[attr-defined]
    assert other_vers.status == "PROG_MISMATCH"  # type: ignore[attr-defined]
    assert other_vers.mismatch == (1, 1)  # type: ignore[attr-defined]
    assert other_prog.status == "PROG_UNAVAIL"  # type: ignore[attr-defined]
    assert "the closest recorded one differs at: params[0].b: int 40 -> int 41" in stopped.stderr
    assert "rpcspy mock: 1 matched, 4 missed" in stopped.stderr


def test_repeated_calls_get_the_recorded_replies_in_order_then_the_last(tmp_path: Path) -> None:
    records = capture_of("example_udp.json", tmp_path / "calls.jsonl")
    # The same ECHO recorded twice, answered differently the second time.
    echo = records[0]
    assert echo.response is not None and echo.response.body is not None
    changed = echo.response.body.replace(b"hello, rpcspy", b"hello, mocked")
    second = dataclasses.replace(echo, response=HttpMessage(body=changed))
    playbook = OncRpcPlaybook([echo, second, *records[1:]], example_interface())
    call = encode_call(5, PROG, 1, 1, struct.pack(">I", 13) + b"hello, rpcspy\0\0\0")
    answers = [decode_message(playbook.respond(call).reply or b"") for _ in range(3)]
    texts = [a.results[4:17] for a in answers]  # type: ignore[union-attr]
    assert texts == [b"hello, rpcspy", b"hello, mocked", b"hello, mocked"]
    assert all(a.xid == 5 for a in answers)
    assert playbook.calls == 12 and playbook.hits == 3


def test_ignore_rules_leave_an_argument_path_out_of_matching(tmp_path: Path) -> None:
    capture = tmp_path / "calls.jsonl"
    records = capture_of("example_tcp.json", capture)
    assert list(read_capture(capture))
    playbook = OncRpcPlaybook(records, example_interface())
    loose = OncRpcPlaybook(
        records,
        example_interface(),
        Rules.from_flags(["RPC_EXAMPLE_PROG.RPC_EXAMPLE_VERS.ADD: params[0].b"]),
    )
    call = encode_call(6, PROG, 1, 2, struct.pack(">ii", 2, 1000))
    assert decode_message(playbook.respond(call).reply or b"").status == "SYSTEM_ERR"  # type: ignore[union-attr]
    answered = decode_message(loose.respond(call).reply or b"")
    assert answered.status == "SUCCESS" and answered.results == struct.pack(">i", 42)  # type: ignore[union-attr]


def test_hostile_bytes_get_no_answer_and_cost_nothing(tmp_path: Path) -> None:
    capture = tmp_path / "calls.jsonl"
    capture_of("example_udp.json", capture)
    mock, port = _mock(tmp_path, capture, "-q")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(0.5)
            udp.sendto(b"\xff" * 3, ("127.0.0.1", port))  # not even an xid
            udp.sendto(struct.pack(">II", 9, 1), ("127.0.0.1", port))  # a reply, not a call
            with pytest.raises(TimeoutError):
                udp.recv(100)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as tcp:
            tcp.sendall(struct.pack(">I", 0xFFFFFFFF))  # a last fragment of 2^31-1 bytes
            assert tcp.recv(100) == b""  # refused at its header, nothing buffered
        with socket.create_connection(("127.0.0.1", port), timeout=10) as tcp:
            tcp.sendall(struct.pack(">I", 0x80000010) + b"cut")  # truncated, then closed
            tcp.shutdown(socket.SHUT_WR)
            assert tcp.recv(100) == b""
        # Still serving: the recorded ECHO is answered (raw XDR key: no --idl here).
        echo = encode_call(3, PROG, 1, 1, struct.pack(">I", 13) + b"hello, rpcspy\0\0\0")
        assert _ask(port, echo).status == "SUCCESS"  # type: ignore[attr-defined]
    finally:
        stopped = mock.stop(signal.SIGTERM)
    assert stopped.code == 0
    assert "rpcspy mock: 1 matched, 0 missed" in stopped.stderr
