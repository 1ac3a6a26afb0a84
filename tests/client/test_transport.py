"""``rpcspy.client``'s transports: the stdlib client through a real ``rpcspy proxy --mode
regular`` to real ``rpcspy serve`` servers, HTTP and HTTPS (the recipe of docs/proxy.md)."""

from __future__ import annotations

import ast
import ssl
import subprocess
import sys
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest

import rpcspy.client
from rpcspy.capture import CallRecord, read_capture
from rpcspy.client import HttpProxy, ProxyTransport, SafeProxyTransport
from tests.client.processes import Running, proxy, serve
from tests.conftest import REPO
from tests.proxy.helpers import RawUpstream, wait_for


@pytest.fixture(scope="module")
def confdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("confdir")


@pytest.fixture(scope="module")
def plain() -> Iterator[Running]:
    with serve() as running:
        yield running


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with serve(tls_dir=tmp_path_factory.mktemp("tls")) as running:
        yield running


@pytest.fixture(scope="module")
def regular(
    secure: Running, confdir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    """``rpcspy proxy --mode regular --upstream-ca`` the HTTPS demo server's own certificate."""
    capture = tmp_path_factory.mktemp("regular") / "calls.jsonl"
    assert secure.cafile is not None
    args = ("--mode", "regular", "--upstream-ca", str(secure.cafile))
    with proxy(*args, confdir=confdir, capture=capture) as running:
        yield running


def records(capture: Path | None, n: int) -> list[CallRecord]:
    """The capture's records once it holds ``n`` (the proxy writes them as calls complete)."""
    assert capture is not None

    def enough() -> list[CallRecord] | None:
        if not capture.exists():
            return None
        found = list(read_capture(capture))
        return found if len(found) >= n else None

    found: list[CallRecord] = wait_for(enough, timeout=30)
    return found


def test_http_server_through_the_proxy(plain: Running, regular: Running) -> None:
    server = xmlrpc.client.ServerProxy(plain.url + "/RPC2", transport=ProxyTransport(regular.url))
    assert server.add(2, 3) == 5
    assert server.echo("via proxy") == "VIA PROXY"
    recorded = [r for r in records(regular.capture, 2) if r.port == plain.port]
    assert [(r.scheme, r.method) for r in recorded[:2]] == [("http", "add"), ("http", "echo")]


def test_https_server_through_the_proxy_with_its_ca(secure: Running, regular: Running) -> None:
    # The recipe of docs/proxy.md: trust mitmproxy's CA (from --confdir), tunnel with CONNECT.
    assert regular.cafile is not None
    context = ssl.create_default_context(cafile=str(regular.cafile))
    transport = SafeProxyTransport(regular.url, context=context)
    server = xmlrpc.client.ServerProxy(secure.url + "/RPC2", transport=transport)
    assert server.multiply(6, 7) == 42
    assert "add" in server.system.listMethods()
    https = [r for r in records(regular.capture, 1) if r.scheme == "https"]
    assert https and https[0].method == "multiply" and https[0].port == secure.port
    assert https[0].error is None and https[0].status == 200


def test_without_the_proxys_ca_the_client_refuses_it(secure: Running, regular: Running) -> None:
    transport = SafeProxyTransport(regular.url, context=ssl.create_default_context())
    server = xmlrpc.client.ServerProxy(secure.url + "/RPC2", transport=transport)
    with pytest.raises(ssl.SSLCertVerificationError):
        server.add(1, 1)


def test_upstream_ca_applies_in_regular_mode(
    secure: Running, confdir: Path, tmp_path: Path
) -> None:
    """Without --upstream-ca the proxy cannot verify the demo server's own certificate: the
    client gets a 502 and the capture records the certificate error."""
    capture = tmp_path / "untrusting.jsonl"
    with proxy("--mode", "regular", confdir=confdir, capture=capture) as untrusting:
        assert untrusting.cafile is not None
        context = ssl.create_default_context(cafile=str(untrusting.cafile))
        transport = SafeProxyTransport(untrusting.url, context=context)
        server = xmlrpc.client.ServerProxy(secure.url + "/RPC2", transport=transport)
        with pytest.raises(xmlrpc.client.ProtocolError) as refused:
            server.add(1, 1)
        assert refused.value.errcode == 502
        (record,) = records(capture, 1)
    assert record.method == "add" and record.scheme == "https"
    assert record.error is not None
    assert "certificate verify failed: self-signed certificate" in record.error.lower()


def test_proxy_credentials_and_the_absolute_url_for_http() -> None:
    with RawUpstream() as fake_proxy:
        transport = ProxyTransport(f"http://me:s%40cret@127.0.0.1:{fake_proxy.port}")
        server = xmlrpc.client.ServerProxy("http://api.example:8000/RPC2", transport=transport)
        with pytest.raises(xmlrpc.client.Fault):
            server.add(1, 2)  # the fake proxy answers a fixed fault
        (request,) = fake_proxy.received
    head = request.split(b"\r\n\r\n", 1)[0].decode()
    assert head.splitlines()[0] == "POST http://api.example:8000/RPC2 HTTP/1.1"
    assert "Host: api.example:8000" in head.splitlines()
    assert "Proxy-Authorization: Basic bWU6c0BjcmV0" in head.splitlines()  # me:s@cret


def test_proxy_credentials_go_with_connect_for_https() -> None:
    with RawUpstream(response_body=b"") as fake_proxy:
        transport = SafeProxyTransport(f"http://me:pw@127.0.0.1:{fake_proxy.port}")
        server = xmlrpc.client.ServerProxy("https://api.example/RPC2", transport=transport)
        with pytest.raises((OSError, xmlrpc.client.ProtocolError)):
            server.add(1, 2)  # the fake proxy does not tunnel
        # (the stdlib client tries a second time on a new connection)
        request = fake_proxy.received[0]
    lines = request.decode().split("\r\n")
    assert lines[0] == "CONNECT api.example:443 HTTP/1.1"
    assert "Proxy-Authorization: Basic bWU6cHc=" in lines


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("http://127.0.0.1:8080", HttpProxy("127.0.0.1", 8080)),
        ("127.0.0.1:3128", HttpProxy("127.0.0.1", 3128)),
        ("http://proxy.local", HttpProxy("proxy.local", 8080)),
        ("http://u:p%3Aq@[::1]:9", HttpProxy("::1", 9, "u", "p:q")),
    ],
)
def test_proxy_urls(url: str, parsed: HttpProxy) -> None:
    assert HttpProxy.parse(url) == parsed
    assert "p:q" not in repr(parsed)


@pytest.mark.parametrize(
    ("url", "reason"),
    [("https://p:1", "only http://"), ("socks5://p:1", "only http://"), ("http://:8080", "host")],
)
def test_bad_proxy_urls(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        HttpProxy.parse(url)


def test_the_client_module_imports_only_the_standard_library() -> None:
    # Any layer may use it: it imports nothing of rpcspy, and neither mitmproxy nor Textual.
    tree = ast.parse(Path(rpcspy.client.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    allowed = {"__future__", "base64", "http.client", "ssl", "urllib.parse", "xmlrpc.client"}
    assert imported - allowed <= {"dataclasses", "typing"}, imported


def _docs_recipe() -> str:
    """The Python block of docs/proxy.md's "Regular mode from Python" section."""
    text = (REPO / "docs" / "proxy.md").read_text(encoding="utf-8")
    section = text.split("### Regular mode from Python (`xmlrpc.client`)", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_documented_recipe_runs_as_written(
    plain: Running, secure: Running, regular: Running
) -> None:
    assert regular.cafile is not None
    program = _docs_recipe()
    for documented, real in [
        ("http://127.0.0.1:8000/RPC2", plain.url + "/RPC2"),
        ("https://127.0.0.1:8443/RPC2", secure.url + "/RPC2"),
        ("http://127.0.0.1:8080", regular.url),
        ("mitm/mitmproxy-ca-cert.pem", str(regular.cafile)),
    ]:
        assert documented in program
        program = program.replace(documented, real)
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first == "5"
    assert secure.cafile is not None
    direct = ssl.create_default_context(cafile=str(secure.cafile))
    methods = xmlrpc.client.ServerProxy(secure.url, context=direct).system.listMethods()
    assert ast.literal_eval(second) == methods
