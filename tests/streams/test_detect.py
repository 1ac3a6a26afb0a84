"""Which protocol a TCP connection speaks, from its client's first bytes: the real peers'."""

from __future__ import annotations

import pytest

from rpcspy.streams import DETECT_BYTES, detect
from tests.oncrpc.peers import FIXTURES, Recording
from tests.rpyc import fixtures


@pytest.mark.parametrize("name", ["rpcinfo_p.json", "rpcinfo_t.json", "example_tcp.json"])
def test_onc_rpc_clients(name: str) -> None:
    for c2s, _ in Recording.load(FIXTURES / name).tcp:
        assert detect(c2s) == "oncrpc"
        assert detect(c2s[:DETECT_BYTES]) == "oncrpc"
        assert detect(c2s[: DETECT_BYTES - 1]) is None


@pytest.mark.parametrize("name", fixtures.NAMES)
def test_rpyc_clients(name: str) -> None:
    stream = fixtures.load(name).stream("client")
    assert detect(stream) == "rpyc"
    assert detect(stream[:DETECT_BYTES]) == "rpyc"


@pytest.mark.parametrize(
    "data",
    [
        b"POST /RPC2 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(32),  # a TLS ClientHello
        bytes(64),
        b"\xff" * 64,
        b"SSH-2.0-OpenSSH_9.2\r\n",
    ],
)
def test_other_streams_are_neither(data: bytes) -> None:
    assert detect(data) is None


def test_the_server_side_of_onc_rpc_is_not_a_client() -> None:
    _, s2c = Recording.load(FIXTURES / "rpcinfo_p.json").tcp[0]
    assert detect(s2c) is None  # a reply (message type 1) does not open a connection
