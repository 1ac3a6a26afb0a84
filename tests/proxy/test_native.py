"""ONC RPC and RPyC through the proxy's reverse TCP and UDP modes, with real peers on 127.0.0.1:
the rpcgen C client and server (typed by examples/rpc_example.x), rpcinfo against rpcbind (no
.x), the tutorial's RPyC client against rpyc_classic, and hostile bytes. The peers get exactly the
bytes they sent each other; the capture holds each call typed.

The ONC RPC peers come from scripts/install-peers.sh (rpcbind, rpcsvc-proto, libtirpc-dev); a
missing one skips its test with a loud reason. rpyc is a dependency of rpcspy.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rpcspy.capture import CallRecord, read_capture
from rpcspy.oncrpc import encode_call, frame_record, value_from_json
from rpcspy.proxy import ProxyConfig
from tests.oncrpc.peers import (
    EXAMPLES,
    TcpRelay,
    UdpRelay,
    build_examples,
    example_server,
    missing_tools,
    rpcbind,
    run_client,
    tool,
)
from tests.oncrpc.test_fixtures import EXAMPLE_PROG, expected_example_calls, linked
from tests.proxy.helpers import ThreadedProxy, killing, stop_process, wait_for
from tests.rpyc.peers import CLIENTS, classic_server, peer_env, server_truth

IDL = EXAMPLES / "rpc_example.x"


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


def _proxy(target: str, capture: Path, confdir: Path, **extra: object) -> ThreadedProxy:
    config = ProxyConfig(
        target=target, listen_port=0, capture=capture, confdir=confdir, quiet=True, **extra
    )  # type: ignore[arg-type]
    return ThreadedProxy(config)


def _example_methods(records: list[CallRecord]) -> list[str | None]:
    return [r.method for r in records]


def _check_example(records: list[CallRecord], transport: str) -> None:
    expected = expected_example_calls()
    assert _example_methods(records[: len(expected)]) == [
        f"RPC_EXAMPLE_PROG.RPC_EXAMPLE_VERS.{name}" for name, *_ in expected
    ]
    for record, (_, args, status, result) in zip(records, expected, strict=False):
        assert record.protocol == "oncrpc" and record.transport == transport
        assert record.problems == () and record.error is None
        assert record.request.native is not None and record.response is not None
        assert record.response.native is not None
        assert [value_from_json(v) for v in record.request.native["args"]] == list(args)
        assert record.response.native["status"] == status
        assert value_from_json(record.response.native["result"]) == result
    proc99, version7 = records[len(expected) :]
    assert proc99.method == f"{EXAMPLE_PROG}.1.99" and proc99.fault_code == 3
    assert version7.method == f"{EXAMPLE_PROG}.7.0" and version7.fault_code == 2


@pytest.mark.interop
@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_the_rpcgen_c_peers_through_the_proxy_typed_by_the_interface(
    transport: str, peers: tuple[Path, Path], tmp_path: Path, confdir: Path
) -> None:
    server, client = peers
    capture = tmp_path / "onc.jsonl"
    with example_server(server) as port:
        direct = run_client(client, port, transport)
        relay = TcpRelay(port) if transport == "tcp" else UdpRelay(port)
        try:
            target = f"{transport}://127.0.0.1:{relay.port}"
            with _proxy(target, capture, confdir, protocol="oncrpc", idl=IDL) as proxy:
                through = run_client(client, proxy.port, transport)
                expected = len(expected_example_calls()) + 2
                records = proxy.wait_records(expected)
        finally:
            recorded = relay.close()
    assert through == direct  # the client saw the same answers
    _check_example(records, transport)
    # What reached the server is what the client sent, byte for byte: the halves' bodies.
    if transport == "tcp":
        sent = b"".join(c2s for c2s, _ in recorded)  # type: ignore[misc]
        got = b"".join(s2c for _, s2c in recorded)  # type: ignore[misc]
    else:
        sent = b"".join(b for d, b in recorded if d == "c2s")  # type: ignore[misc]
        got = b"".join(b for d, b in recorded if d == "s2c")  # type: ignore[misc]
    assert sent == b"".join(r.request.body or b"" for r in records)
    assert got == b"".join(r.response.body or b"" for r in records if r.response)
    back = list(read_capture(capture))
    assert [(r.method, r.seq) for r in back] == [
        (r.method, i) for i, r in enumerate(records, start=1)
    ]


@pytest.mark.interop
def test_rpcinfo_through_the_proxy_decodes_with_no_interface_file(
    tmp_path: Path, confdir: Path
) -> None:
    # tirpc's rpcinfo ignores -n PORT for -t (it asks rpcbind on port 111), and -p always uses
    # port 111: the honest way through a proxy on another port is a universal address,
    # ``rpcinfo -a 127.0.0.1.HI.LO -T tcp 100000``, which probes the versions (a call to
    # version 0, answered PROG_MISMATCH 2-4) then pings versions 2 to 4 over one connection.
    _need("rpcbind", "rpcinfo")
    try:
        with rpcbind():
            for transport in ("tcp", "udp"):
                capture = tmp_path / f"rpcinfo-{transport}.jsonl"
                with _proxy(
                    f"{transport}://127.0.0.1:111", capture, confdir, protocol="oncrpc"
                ) as proxy:
                    port = proxy.port
                    address = f"127.0.0.1.{port >> 8}.{port & 255}"
                    done = subprocess.run(
                        [tool("rpcinfo"), "-a", address, "-T", transport, "100000"],
                        capture_output=True,
                        text=True,
                        timeout=30,
                        check=True,
                    )
                    records = proxy.wait_records(4)
                assert done.stdout.splitlines() == [
                    f"program 100000 version {v} ready and waiting" for v in (2, 3, 4)
                ]
                probe, *nulls = records
                assert probe.method == "100000.0.0" and probe.fault_code == 2
                assert probe.native_fault is not None and "2-4" in probe.native_fault.text
                assert [r.method for r in nulls] == [
                    "PMAP_PROG.PMAP_VERS.PMAPPROC_NULL",
                    "PMAP_PROG.RPCBVERS.RPCBPROC_NULL",
                    "PMAP_PROG.RPCBVERS4.RPCBPROC_NULL",
                ]
                assert all(r.ok and r.transport == transport for r in nulls)
    except RuntimeError as exc:
        pytest.skip(f"RPCBIND CANNOT START HERE, rpcinfo through the proxy skipped: {exc}")


# ``rpcinfo -p HOST`` asks port 111 and nothing else, and rpcbind holds port 111 of every address
# (its TCP socket binds the wildcard address, even with -h). So the proxy takes port 111 in a
# network namespace of its own, where rpcinfo runs too, and rpcbind runs in a second namespace
# (with its own /run), reached over a veth pair: nothing outside the test is touched.
_NAMESPACES = """\
set -e
ip link set lo up
unshare --net --mount sh -c 'mount -t tmpfs tmpfs /run; mkdir -p /run/rpcbind; \
ip link set lo up; for i in $(seq 100); do ip link show vb >/dev/null 2>&1 && break; \
sleep 0.1; done; ip addr add 10.99.0.2/24 dev vb; ip link set vb up; exec "$0" -f' "$RPCBIND" &
RPCBIND_PID=$!
trap 'kill $RPCBIND_PID 2>/dev/null || true' EXIT
sleep 0.3
ip link add va type veth peer name vb netns $RPCBIND_PID
ip addr add 10.99.0.1/24 dev va
ip link set va up
"$PYTHON" -m rpcspy proxy --protocol oncrpc --target tcp://10.99.0.2:111 \
    --listen 127.0.0.1:111 -w "$CAPTURE" --ready-file "$READY" -q &
PROXY_PID=$!
for i in $(seq 300); do [ -s "$READY" ] && break; sleep 0.1; done
"$RPCINFO" -p 127.0.0.1
sleep 0.5
kill $PROXY_PID
wait $PROXY_PID
"""


@pytest.mark.interop
def test_rpcinfo_p_through_the_proxy_on_port_111(tmp_path: Path) -> None:
    _need("rpcbind", "rpcinfo", "unshare", "ip")
    if os.geteuid() != 0:
        pytest.skip("NOT ROOT: rpcinfo -p through the proxy needs port 111 in a network namespace")
    capture, ready = tmp_path / "rpcinfo-p.jsonl", tmp_path / "proxy.url"
    script = tmp_path / "namespaces.sh"
    script.write_text(_NAMESPACES)
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        RPCBIND=tool("rpcbind"),
        RPCINFO=tool("rpcinfo"),
        CAPTURE=str(capture),
        READY=str(ready),
    )
    done = subprocess.run(
        [tool("unshare"), "--net", "--mount", "sh", str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode and not ready.exists():
        pytest.skip(f"NETWORK NAMESPACES NOT AVAILABLE HERE, rpcinfo -p skipped: {done.stderr}")
    assert done.returncode == 0, done.stderr
    assert "100000    2   tcp    111  portmapper" in done.stdout
    getaddr, dump = read_capture(capture)
    assert getaddr.method == "PMAP_PROG.RPCBVERS4.RPCBPROC_GETADDR" and getaddr.ok
    assert dump.method == "PMAP_PROG.PMAP_VERS.PMAPPROC_DUMP" and dump.ok
    assert dump.server == ("10.99.0.2", 111) and dump.transport == "tcp"
    assert dump.response is not None and dump.response.native is not None
    maps = linked(value_from_json(dump.response.native["result"]), "map", "next")
    listed = {
        (int(m["prog"]), int(m["vers"]), int(m["prot"]), int(m["port"]))  # type: ignore[index, call-overload]
        for m in maps
    }
    assert listed == {(100000, v, p, 111) for v in (2, 3, 4) for p in (6, 17)}


@pytest.mark.interop
def test_hostile_bytes_reach_the_server_unchanged_and_the_proxy_stays_up(
    peers: tuple[Path, Path], tmp_path: Path, confdir: Path
) -> None:
    server, client = peers
    capture = tmp_path / "hostile.jsonl"
    garbage = [
        # A fragment of 2^31-1 bytes announced, then some of it.
        b"\xff\xff\xff\xff" + b"A" * 5000,
        # A TLS ClientHello's first bytes: relayed raw, never intercepted.
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(64),
        # A good call whose arguments are a string longer than the message, then a cut record.
        frame_record(encode_call(9, EXAMPLE_PROG, 1, 1, b"\x7f\xff\xff\xff"))
        + b"\x80\x00\x01\x00abc",
    ]
    with example_server(server) as port:
        relay = TcpRelay(port)
        try:
            with _proxy(
                f"tcp://127.0.0.1:{relay.port}", capture, confdir, protocol="oncrpc", idl=IDL
            ) as proxy:
                for data in garbage:
                    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
                        sock.sendall(data)
                        sock.shutdown(socket.SHUT_WR)
                        sock.settimeout(10)
                        while sock.recv(65536):
                            pass
                # Still up: the C client's calls go through and are typed.
                run_client(client, proxy.port, "tcp")
                records = proxy.wait_records(4 + len(expected_example_calls()) + 2)
        finally:
            recorded = relay.close()
    # Each connection reached the server byte for byte.
    assert [c2s for c2s, _ in recorded[: len(garbage)]] == garbage
    huge, tls, echo, cut = records[:4]
    for record, size in ((huge, 2147483647), (tls, 0x16030100)):
        assert [p.kind for p in record.problems] == ["bad-record-marking"]
        assert f"a fragment of {size} bytes" in record.problems[0].reason
        assert record.error is not None and "passed on undecoded" in record.error
    # The call decoded as far as its header; its argument is kept raw, with why.
    assert echo.method == "RPC_EXAMPLE_PROG.RPC_EXAMPLE_VERS.ECHO"
    assert [(p.kind, p.path) for p in echo.problems] == [("truncated", "args[0]")]
    assert echo.response is not None and echo.response.native is not None
    assert echo.response.native["status"] == "GARBAGE_ARGS"  # the C server's own verdict
    assert [p.kind for p in cut.problems] == ["truncated"]
    assert "3 of 256 fragment bytes" in cut.problems[0].reason


def test_the_tutorials_rpyc_client_through_rpcspy_proxy(tmp_path: Path) -> None:
    capture = tmp_path / "rpyc.jsonl"
    ready = tmp_path / "proxy.url"
    server_dir = tmp_path / "srv"
    server_dir.mkdir()
    with classic_server(server_dir) as server:
        direct = subprocess.run(
            [sys.executable, str(CLIENTS / "tutorial_client.py")],
            env=peer_env(RPYC_PORT=str(server.port)),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "rpcspy", "proxy", "--protocol", "rpyc"),
                *("--target", f"tcp://127.0.0.1:{server.port}", "--listen", "127.0.0.1:0"),
                *("-w", str(capture), "--ready-file", str(ready)),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        with killing(proc):
            url = wait_for(lambda: ready.exists() and ready.read_text().strip(), 30)
            assert url.startswith("tcp://127.0.0.1:")
            port = int(url.rsplit(":", 1)[1])
            through = subprocess.run(
                [sys.executable, str(CLIENTS / "tutorial_client.py")],
                env=peer_env(RPYC_PORT=str(port)),
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            # The proxy has the whole session once the client's connection is closed.
            time.sleep(0.5)
            out, err = stop_process(proc)
        truth = server_truth(server.port)
    assert proc.returncode == 0, err.decode()
    assert through.stdout == direct.stdout  # the client's output is the same as direct
    records = list(read_capture(capture))
    assert b"calls recorded" in err
    cwd = truth["cwd"]
    by_text = {r.request.native["text"]: r for r in records if r.request.native}
    getcwd = by_text["modules.os.getcwd()"]
    assert getcwd.method == "modules.os.getcwd" and getcwd.protocol == "rpyc"
    assert getcwd.response is not None and getcwd.response.native is not None
    assert getcwd.response.native["result_text"] == repr(cwd)
    write = by_text["modules.sys.stdout.write('This is a message from the RPC client.\\n')"]
    assert write.response is not None and write.response.native["result_text"] == "39"
    items = [
        r for r in records if r.request.native and r.request.native["text"].startswith("next(")
    ]
    assert [r.response.native["result_text"] for r in items[:-1] if r.response] == [
        repr(p)
        for p in truth["sys_path"]  # type: ignore[union-attr]
    ]
    assert items[-1].is_fault
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    assert records[-1].request.native["text"] == "close()"  # type: ignore[index]
    assert b"modules.os.getcwd" in out


def test_a_proxy_for_rpyc_refuses_an_http_target_and_an_idl(tmp_path: Path) -> None:
    for args, words in (
        (["--protocol", "rpyc", "http://127.0.0.1:1"], "needs a TARGET tcp://HOST:PORT"),
        (["--protocol", "rpyc", "udp://127.0.0.1:1"], "tcp://HOST:PORT"),
        (["--protocol", "rpyc", "tcp://127.0.0.1:1", "--idl", str(IDL)], "--protocol oncrpc"),
        (["http://127.0.0.1:1", "--idl", str(IDL)], "--protocol oncrpc"),
        (["--protocol", "oncrpc", "tcp://127.0.0.1:1", "--mode", "regular"], "reverse mode"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "rpcspy", "proxy", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, (args, done.stderr)
        assert words in done.stderr, (args, done.stderr)
    bad = tmp_path / "bad.x"
    bad.write_text("program P { version V { int F(nosuchtype) = 1; } = 1; } = 5;\n")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "rpcspy", "proxy", "--protocol", "oncrpc"),
            *("tcp://127.0.0.1:1", "--idl", str(bad)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3 and "bad.x" in done.stderr and "nosuchtype" in done.stderr


def test_proxy_help_explains_the_new_options() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rpcspy", "proxy", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    text = done.stdout
    for words in ("--protocol {xmlrpc,oncrpc,rpyc}", "--idl FILE.x", "tcp://HOST:PORT"):
        assert words in text
    assert "rpcspy proxy --protocol rpyc --target tcp://127.0.0.1:18812" in text
    assert "--protocol oncrpc --target udp://" in text


def test_a_server_that_cannot_be_reached_is_recorded_as_such(tmp_path: Path, confdir: Path) -> None:
    # Nothing listens on the target: mitmproxy cannot connect, closes the client, and reads
    # none of its bytes. The capture still says what happened, as it does for HTTP.
    from tests.conftest import free_port

    capture = tmp_path / "dead.jsonl"
    dead = free_port()
    with _proxy(f"tcp://127.0.0.1:{dead}", capture, confdir, protocol="oncrpc") as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
            sock.settimeout(10)
            try:
                sock.sendall(frame_record(encode_call(5, 100000, 2, 0)))
                assert sock.recv(100) == b""  # closed, no answer
            except ConnectionResetError:
                pass
        (record,) = proxy.wait_records(1)
    assert (record.protocol, record.transport, record.port) == ("oncrpc", "tcp", dead)
    assert record.response is None and record.ended is None and not record.ok
    assert record.error is not None and record.error.startswith("no connection to the server")
    assert "111" in record.error or "refused" in record.error.lower()
    (written,) = list(read_capture(capture))
    assert written.error == record.error
