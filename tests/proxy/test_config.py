"""Config helpers for the CLI: listen addresses, sizes, targets and modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from rpcspy.commands.options import parse_listen
from rpcspy.proxy import ProxyConfig, ProxyError, ca_cert_path, parse_size
from rpcspy.proxy.runner import mode_spec


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        (":9000", ("127.0.0.1", 9000)),
        ("9000", ("127.0.0.1", 9000)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
        ("[::1]:8080", ("::1", 8080)),
        ("localhost:1", ("localhost", 1)),
    ],
)
def test_parse_listen(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["", "host:", "host:port", "1:70000", "[::1]8080", "-1"])
def test_parse_listen_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_listen(text)


def test_parse_size() -> None:
    assert parse_size("16m") == 16 * 1024 * 1024
    assert parse_size("512k") == 512 * 1024
    assert parse_size("1G") == 1024**3
    assert parse_size("100") == 100
    with pytest.raises(ValueError):
        parse_size("lots")


@pytest.mark.parametrize(
    ("target", "spec"),
    [
        ("http://127.0.0.1:8000", "reverse:http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/RPC2", "reverse:http://127.0.0.1:8000"),
        ("https://example.com/xmlrpc.php?x=1", "reverse:https://example.com"),
        ("127.0.0.1:8000", "reverse:http://127.0.0.1:8000"),
        ("http://[::1]:8000/", "reverse:http://[::1]:8000"),
    ],
)
def test_reverse_targets(target: str, spec: str) -> None:
    assert mode_spec(ProxyConfig(target=target)) == spec


@pytest.mark.parametrize("target", ["ftp://x", "http://", "http://h:port", "http://h:99999"])
def test_bad_targets(target: str) -> None:
    with pytest.raises(ProxyError):
        mode_spec(ProxyConfig(target=target))


def test_modes() -> None:
    assert mode_spec(ProxyConfig(mode="regular")) == "regular"
    with pytest.raises(ProxyError):
        mode_spec(ProxyConfig(mode="regular", target="http://h"))
    with pytest.raises(ProxyError):
        mode_spec(ProxyConfig())


def test_ca_cert_path() -> None:
    assert ca_cert_path(Path("/x")) == Path("/x/mitmproxy-ca-cert.pem")
    assert ca_cert_path().name == "mitmproxy-ca-cert.pem"
    assert ca_cert_path().parent == Path("~/.mitmproxy").expanduser()
