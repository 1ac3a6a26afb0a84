"""stdlib client -> rpcspy proxy (runner) -> demo server, for every demo-server feature."""

from __future__ import annotations

import datetime as dt
import http.client
import socket
import ssl
import xmlrpc.client
from pathlib import Path
from typing import Any

import pytest

from rpcspy.capture import read_capture
from rpcspy.proxy import ProxyConfig, ProxyError, ProxyRunner
from rpcspy.server import DemoServer, ServerConfig
from rpcspy.xmlrpc import (
    I4,
    Array,
    Base64,
    Boolean,
    DateTime,
    Double,
    Fault,
    Int,
    MethodResponse,
    Nil,
    String,
    Struct,
)
from tests.conftest import free_port
from tests.proxy.helpers import ProxyTransport, ThreadedProxy, raw_post


def client(url: str, **kwargs: object) -> xmlrpc.client.ServerProxy:
    return xmlrpc.client.ServerProxy(url, allow_none=True, use_builtin_types=True, **kwargs)  # type: ignore[arg-type]


def test_echo_is_recorded_with_types(proxy: ThreadedProxy, capture: Path) -> None:
    assert client(proxy.url + "/RPC2").echo("hello") == "HELLO"
    (live,) = proxy.wait_records(1)
    assert live.method == "echo"
    assert live.call is not None and live.call.params == (String("hello"),)
    assert isinstance(live.reply, MethodResponse) and live.reply.value == String("HELLO")
    assert live.ok and live.status == 200 and live.error is None
    assert live.path == "/RPC2" and live.scheme == "http"
    assert live.client is not None and live.client[0] == "127.0.0.1"
    assert live.duration_ms is not None and live.duration_ms >= 0
    proxy.stop()
    (stored,) = list(read_capture(capture))
    assert stored.id == live.id
    assert stored.call == live.call and stored.reply == live.reply


def test_values_of_every_type_round_trip(proxy: ThreadedProxy) -> None:
    when = dt.datetime(2024, 1, 2, 3, 4, 5)
    value = {
        "i": 7,
        "yes": True,
        "pi": 3.25,
        "text": "über <&>",
        "when": when,
        "blob": b"\x00\xff",
        "none": None,
        "list": [1, "two", [3.0]],
    }
    assert client(proxy.url + "/RPC2").demo.echo(value) == value
    (record,) = proxy.wait_records(1)
    assert record.call is not None
    (param,) = record.call.params
    assert isinstance(param, Struct)
    assert param["i"] == Int(7)
    assert param["yes"] == Boolean(1)
    assert param["pi"] == Double(3.25)
    assert param["text"] == String("über <&>")
    assert isinstance(param["when"], DateTime)
    assert param["blob"] == Base64(b"\x00\xff")
    assert param["none"] == Nil()
    assert isinstance(param["list"], Array) and len(param["list"]) == 3
    assert isinstance(record.reply, MethodResponse)
    assert isinstance(record.reply.value, Struct)


def test_fault(proxy: ThreadedProxy) -> None:
    with pytest.raises(xmlrpc.client.Fault) as info:
        client(proxy.url + "/RPC2").demo.fault(42, "boom")
    assert info.value.faultCode == 42
    (record,) = proxy.wait_records(1)
    assert isinstance(record.reply, Fault)
    assert record.fault_code == 42 and record.reply.string == "boom"
    assert record.is_fault and not record.ok


def test_multicall_with_a_fault_inside(proxy: ThreadedProxy) -> None:
    multi = xmlrpc.client.MultiCall(client(proxy.url + "/RPC2"))
    multi.echo("a")
    multi.demo.fault(7, "inside")
    multi.add(2, 3)
    results = multi()
    assert results[0] == "A"
    with pytest.raises(xmlrpc.client.Fault):
        results[1]
    assert results[2] == 5
    (record,) = proxy.wait_records(1)
    assert record.is_multicall and record.method == "system.multicall"
    assert [s.call.method for s in record.subcalls] == ["echo", "demo.fault", "add"]
    first, second, third = (s.result for s in record.subcalls)
    assert isinstance(first, MethodResponse) and first.value == String("A")
    assert isinstance(second, Fault) and second.code == 7
    assert isinstance(third, MethodResponse) and third.value == Int(5)


def test_gzip_response_is_decoded(proxy: ThreadedProxy) -> None:
    # The demo server gzips answers over 1400 bytes for clients that accept gzip (stdlib does).
    assert len(client(proxy.url + "/RPC2").demo.large(5000)) == 5000
    (record,) = proxy.wait_records(1)
    assert record.response.content_encoding == "gzip"
    assert isinstance(record.reply, MethodResponse)
    assert isinstance(record.reply.value, String) and len(record.reply.value) == 5000
    assert not record.problems


def test_introspection_and_arbitrary_names(proxy: ThreadedProxy) -> None:
    c = client(proxy.url + "/")
    methods = c.system.listMethods()
    assert "echo" in methods
    assert c.system.methodHelp("echo")
    records = proxy.wait_records(2)
    assert [r.method for r in records] == ["system.listMethods", "system.methodHelp"]
    assert records[0].path == "/"


def test_basic_auth_is_redacted_and_401_recorded(tmp_path: Path, confdir: Path) -> None:
    capture = tmp_path / "auth.jsonl"
    with DemoServer(ServerConfig(port=0, user="alice", password="s3cret-pw", quiet=True)) as server:
        config = ProxyConfig(
            target=server.base_url, listen_port=0, capture=capture, confdir=confdir, quiet=True
        )
        with ThreadedProxy(config) as proxy:
            good = client(f"http://alice:s3cret-pw@127.0.0.1:{proxy.port}/RPC2")
            assert good.echo("in") == "IN"
            bad = client(f"http://alice:wrong@127.0.0.1:{proxy.port}/RPC2")
            with pytest.raises(xmlrpc.client.ProtocolError) as info:
                bad.echo("out")
            assert info.value.errcode == 401
            proxy.wait_records(2)
    text = capture.read_text()
    assert "s3cret-pw" not in text
    assert "YWxpY2U6czNjcmV0LXB3" not in text  # base64 of alice:s3cret-pw
    ok, refused = list(read_capture(capture))
    assert ok.redacted and ok.ok
    auth = [v for k, v in ok.request.headers if k.lower() == "authorization"]
    assert len(auth) == 1 and auth[0].startswith("Basic ") and "YWxp" not in auth[0]
    assert refused.status == 401
    assert refused.method == "echo"
    assert not isinstance(refused.reply, MethodResponse)


def test_tls_upstream_with_the_demo_servers_cafile(tmp_path: Path, confdir: Path) -> None:
    with DemoServer(ServerConfig(port=0, tls=True, quiet=True)) as server:
        assert server.cafile is not None
        config = ProxyConfig(
            target=server.base_url,
            listen_port=0,
            capture=tmp_path / "tls.jsonl",
            upstream_cafile=server.cafile,
            confdir=confdir,
            quiet=True,
        )
        with ThreadedProxy(config) as proxy:
            # plain HTTP on the client side...
            assert client(proxy.url + "/RPC2").echo("tls") == "TLS"
            # ...and HTTPS to the proxy, trusting mitmproxy's CA from the confdir.
            assert proxy.runner is not None
            ca = proxy.runner.ca_cert
            assert ca == confdir / "mitmproxy-ca-cert.pem" and ca.is_file()
            context = ssl.create_default_context(cafile=str(ca))
            secure = client(f"https://127.0.0.1:{proxy.port}/RPC2", context=context)
            assert secure.echo("both") == "BOTH"
            records = proxy.wait_records(2)
    assert all(r.scheme == "https" and r.ok for r in records)
    assert [r.call.params[0] for r in records if r.call] == [String("tls"), String("both")]


def test_tls_upstream_that_is_not_trusted_is_an_error(confdir: Path) -> None:
    with DemoServer(ServerConfig(port=0, tls=True, quiet=True)) as server:
        config = ProxyConfig(target=server.base_url, listen_port=0, confdir=confdir, quiet=True)
        with ThreadedProxy(config) as proxy:
            with pytest.raises(xmlrpc.client.ProtocolError) as info:
                client(proxy.url + "/RPC2").echo("x")
            assert info.value.errcode == 502
            (record,) = proxy.wait_records(1)
    assert record.error is not None and "certificate" in record.error.lower()
    assert record.reply is None and record.method == "echo"


def test_tls_upstream_without_verification(confdir: Path) -> None:
    with DemoServer(ServerConfig(port=0, tls=True, quiet=True)) as server:
        config = ProxyConfig(
            target=server.base_url,
            listen_port=0,
            confdir=confdir,
            quiet=True,
            upstream_verify=False,
        )
        with ThreadedProxy(config) as proxy:
            assert client(proxy.url + "/RPC2").echo("x") == "X"


def test_dead_upstream_is_recorded_with_its_error(capture: Path, confdir: Path) -> None:
    config = ProxyConfig(
        target=f"http://127.0.0.1:{free_port()}",
        listen_port=0,
        capture=capture,
        confdir=confdir,
        quiet=True,
    )
    with ThreadedProxy(config) as proxy:
        with pytest.raises(xmlrpc.client.ProtocolError) as info:
            client(proxy.url + "/RPC2").echo("anyone?")
        assert info.value.errcode == 502
        proxy.wait_records(1)
    (record,) = list(read_capture(capture))
    assert record.error is not None and record.reply is None and record.status is None
    assert record.method == "echo" and not record.ok


def test_a_server_that_drops_the_connection(proxy: ThreadedProxy) -> None:
    with pytest.raises(xmlrpc.client.ProtocolError):
        client(proxy.url + "/RPC2").demo.crash()
    (record,) = proxy.wait_records(1)
    assert record.method == "demo.crash"
    assert record.error is not None and record.reply is None


def test_non_xmlrpc_traffic_passes_and_is_not_recorded(proxy: ThreadedProxy) -> None:
    status, _ = raw_post(
        proxy.port, b'{"jsonrpc": "2.0"}', path="/api", content_type="application/json"
    )
    assert status in (400, 404, 500, 200)  # whatever the server says, passed through

    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    conn.request("GET", "/RPC2")
    assert conn.getresponse().status == 501  # the demo server answers GET with 501
    conn.close()
    assert client(proxy.url + "/RPC2").echo("after") == "AFTER"
    records = proxy.wait_records(1)
    assert [r.method for r in records] == ["echo"]


def test_json_posted_to_the_endpoint_is_recorded_as_not_xmlrpc(proxy: ThreadedProxy) -> None:
    status, _ = raw_post(
        proxy.port, b'{"jsonrpc": "2.0"}', path="/RPC2", content_type="application/json"
    )
    assert status in (400, 500, 200)  # whatever the server says, passed through
    (record,) = proxy.wait_records(1)
    assert record.request.body == b'{"jsonrpc": "2.0"}'
    assert [(p.where, p.kind) for p in record.problems if p.where == "request"] == [
        ("request", "not-xml-rpc")
    ]
    assert "JSON-RPC, sent as application/json" in record.problems[0].reason


def test_regular_mode_http_and_https(tmp_path: Path, confdir: Path) -> None:
    capture = tmp_path / "regular.jsonl"
    with (
        DemoServer(ServerConfig(port=0, quiet=True)) as plain,
        DemoServer(ServerConfig(port=0, tls=True, quiet=True)) as secure,
    ):
        assert secure.cafile is not None
        config = ProxyConfig(
            mode="regular",
            listen_port=0,
            capture=capture,
            confdir=confdir,
            quiet=True,
            upstream_cafile=secure.cafile,
        )
        with ThreadedProxy(config) as proxy:
            via = client(plain.url, transport=ProxyTransport(proxy.port))
            assert via.echo("plain") == "PLAIN"
            assert proxy.runner is not None
            context = ssl.create_default_context(cafile=str(proxy.runner.ca_cert))
            via_tls = client(secure.url, transport=ProxyTransport(proxy.port, context=context))
            assert via_tls.echo("secure") == "SECURE"
            proxy.wait_records(2)
    first, second = list(read_capture(capture))
    assert (first.scheme, first.port, first.method) == ("http", plain.port, "echo")
    assert (second.scheme, second.port, second.method) == ("https", secure.port, "echo")


def test_watch_limits_what_is_recorded(demo: DemoServer, confdir: Path) -> None:
    config = ProxyConfig(
        target=demo.base_url, listen_port=0, confdir=confdir, quiet=True, watch=("/RPC2",)
    )
    with ThreadedProxy(config) as proxy:
        assert client(proxy.url + "/").echo("root") == "ROOT"
        assert client(proxy.url + "/RPC2").echo("rpc2") == "RPC2"
        records = proxy.wait_records(1)
    assert [r.path for r in records] == ["/RPC2"]


def test_bodies_over_max_body(demo: DemoServer, confdir: Path) -> None:
    config = ProxyConfig(
        target=demo.base_url, listen_port=0, confdir=confdir, quiet=True, max_body=1000
    )
    with ThreadedProxy(config) as proxy:
        # gzip on the wire is ~100 bytes; the limit also applies after decompression.
        assert len(client(proxy.url + "/RPC2").demo.large(50_000)) == 50_000
        (record,) = proxy.wait_records(1)
    assert record.method == "demo.large"
    assert record.reply is None
    assert any(p.where == "response" for p in record.problems)


def test_start_errors_are_reported(demo: DemoServer, confdir: Path, tmp_path: Path) -> None:
    import asyncio

    with pytest.raises(ProxyError, match="target"):
        ProxyRunner(ProxyConfig(target=None, confdir=confdir))
    with pytest.raises(ProxyError, match="reverse"):
        ProxyRunner(ProxyConfig(mode="regular", target=demo.base_url, confdir=confdir))
    with pytest.raises(ProxyError):
        ProxyRunner(ProxyConfig(target="ftp://x", confdir=confdir))

    async def start(config: ProxyConfig) -> None:
        runner = ProxyRunner(config)
        await runner.start()
        await runner.stop()

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ProxyError, match=str(port)):
            asyncio.run(start(ProxyConfig(target=demo.base_url, listen_port=port, confdir=confdir)))
    with pytest.raises(ProxyError, match="capture"):
        asyncio.run(
            start(
                ProxyConfig(
                    target=demo.base_url,
                    listen_port=0,
                    confdir=confdir,
                    capture=tmp_path / "missing" / "c.jsonl",
                )
            )
        )


def test_target_path_is_ignored_clients_keep_theirs(demo: DemoServer, confdir: Path) -> None:
    config = ProxyConfig(target=demo.url, listen_port=0, confdir=confdir, quiet=True)
    with ThreadedProxy(config) as proxy:
        assert client(proxy.url + "/RPC2").echo("p") == "P"
        (record,) = proxy.wait_records(1)
    assert record.path == "/RPC2"


def test_i4_from_a_raw_client(proxy: ThreadedProxy) -> None:
    body = (
        b"<?xml version='1.0'?><methodCall><methodName>add</methodName><params>"
        b"<param><value><i4>2</i4></value></param><param><value><i4>40</i4></value></param>"
        b"</params></methodCall>"
    )
    status, answer = raw_post(proxy.port, body)
    assert status == 200 and b"42" in answer
    (record,) = proxy.wait_records(1)
    assert record.call is not None and record.call.params == (I4(2), I4(40))


class _TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        conn = super().make_connection(host)
        conn.timeout = self.timeout
        return conn


def test_a_client_that_gives_up_is_recorded_with_the_error(proxy: ThreadedProxy) -> None:
    impatient = client(proxy.url + "/RPC2", transport=_TimeoutTransport(0.3))
    with pytest.raises(TimeoutError):
        impatient.demo.slow(2)
    (record,) = proxy.wait_records(1, timeout=15)
    assert record.method == "demo.slow"
    assert record.error is not None and record.reply is None
    assert record.duration_ms is not None and record.duration_ms >= 250


def test_regular_mode_serves_the_ca_at_mitm_it(confdir: Path) -> None:
    config = ProxyConfig(mode="regular", listen_port=0, confdir=confdir, quiet=True)
    with ThreadedProxy(config) as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        conn.request("GET", "http://mitm.it/cert/pem")
        response = conn.getresponse()
        body = response.read()
        conn.close()
        assert proxy.runner is not None
        assert response.status == 200
        assert body == proxy.runner.ca_cert.read_bytes()
        assert proxy.snapshot() == []


def test_https_client_to_a_plain_http_upstream(proxy: ThreadedProxy) -> None:
    assert proxy.runner is not None
    context = ssl.create_default_context(cafile=str(proxy.runner.ca_cert))
    secure = client(f"https://127.0.0.1:{proxy.port}/RPC2", context=context)
    assert secure.echo("tls-in") == "TLS-IN"
    # An untrusting client refuses mitmproxy's certificate; nothing is recorded for it.
    with pytest.raises(ssl.SSLError):
        client(f"https://127.0.0.1:{proxy.port}/RPC2", context=ssl.create_default_context()).echo(
            "x"
        )
    (record,) = proxy.wait_records(1)
    assert record.scheme == "http" and record.ok
