"""HTTP Basic auth and HTTPS with a generated or a given certificate."""

from __future__ import annotations

import base64
import http.client
import ipaddress
import os
import socket
import ssl
import stat
import time
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from rpcspy.server import REALM, DemoServer, ServerConfig
from rpcspy.server.tlscert import generate_self_signed
from tests.conftest import MakeServer
from tests.server.helpers import connect, raw_post, wait_until

CHALLENGE = f'Basic realm="{REALM}"'


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture(scope="module")
def auth_server() -> Iterator[DemoServer]:
    with DemoServer(ServerConfig(port=0, user="alice", password="s3cret", quiet=True)) as server:
        yield server


# ------------------------------------------------------------------ Basic auth


@pytest.mark.parametrize("path", ["/RPC2", "/"])
def test_right_credentials_are_let_in_on_both_paths(auth_server: DemoServer, path: str) -> None:
    proxy = connect(auth_server, path, user="alice", password="s3cret")
    assert proxy.echo("in") == "IN"
    multi = xmlrpc.client.MultiCall(proxy)
    multi.add(1, 2)
    multi.echo("x")
    assert list(multi()) == [3, "X"]


@pytest.mark.parametrize("path", ["/RPC2", "/"])
@pytest.mark.parametrize(
    ("user", "password"),
    [("alice", "wrong"), ("mallory", "s3cret"), ("alice", ""), ("alice", "s3cret "), (None, None)],
)
def test_wrong_or_missing_credentials_are_401(
    auth_server: DemoServer, path: str, user: str | None, password: str | None
) -> None:
    with pytest.raises(xmlrpc.client.ProtocolError) as info:
        connect(auth_server, path, user=user, password=password).echo("x")
    assert info.value.errcode == 401
    assert info.value.headers["WWW-Authenticate"] == CHALLENGE


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer s3cret",
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"alice").decode(),  # no colon
        "Basic " + base64.b64encode(b"alice:s3cret:extra").decode(),
        "Digest username=alice",
    ],
)
def test_malformed_authorization_is_401(auth_server: DemoServer, authorization: str) -> None:
    body = xmlrpc.client.dumps(("x",), "echo").encode()
    status, headers, _ = raw_post(auth_server, body, headers={"Authorization": authorization})
    assert status == 401
    assert headers["WWW-Authenticate"] == CHALLENGE


def test_the_scheme_word_is_case_insensitive(auth_server: DemoServer) -> None:
    token = basic("alice", "s3cret")["Authorization"].split()[1]
    body = xmlrpc.client.dumps(("x",), "echo").encode()
    status, _, answer = raw_post(auth_server, body, headers={"Authorization": f"bAsIc {token}"})
    assert status == 200
    assert xmlrpc.client.loads(answer)[0] == ("X",)


def test_auth_comes_before_anything_else(auth_server: DemoServer) -> None:
    assert raw_post(auth_server, b"", method="GET")[0] == 401
    assert raw_post(auth_server, b"", path="/elsewhere")[0] == 401
    assert raw_post(auth_server, b"", method="GET", headers=basic("alice", "s3cret"))[0] == 501


def test_a_refused_body_is_read_so_the_client_sees_the_401(auth_server: DemoServer) -> None:
    # Closing with unread data would make the kernel reset the connection under the 401.
    body = xmlrpc.client.dumps(("x" * 500_000,), "echo").encode()
    for _ in range(3):
        assert raw_post(auth_server, body, headers=basic("alice", "nope"))[0] == 401


def test_non_ascii_credentials(make_server: MakeServer) -> None:
    server = make_server(user="zoë", password="pässwörd ✓")
    assert connect(server, user="zoë", password="pässwörd ✓").echo("ok") == "OK"
    with pytest.raises(xmlrpc.client.ProtocolError):
        connect(server, user="zoe", password="pässwörd ✓").echo("ok")


@pytest.mark.parametrize(
    "options",
    [
        {"user": "alice"},
        {"user": "al:ice", "password": "x"},
        {"certfile": Path("cert.pem")},
        {"tls": True, "keyfile": Path("key.pem")},
        {"variant": 3},
        {"port": 70000},
    ],
)
def test_inconsistent_configs_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ServerConfig(**options)  # type: ignore[arg-type]


def test_the_password_stays_out_of_the_config_repr() -> None:
    config = ServerConfig(user="alice", password="s3cret")
    assert "alice" in repr(config)
    assert "s3cret" not in repr(config)


def test_a_password_alone_turns_nothing_on(make_server: MakeServer) -> None:
    # The CLI passes $RPCSPY_PASSWORD even without --user.
    assert connect(make_server(password="unused")).echo("open") == "OPEN"


# ------------------------------------------------------------------ TLS


def test_generated_certificate_verifies_for_localhost_names(make_server: MakeServer) -> None:
    server = make_server(tls=True)
    assert server.url.startswith("https://127.0.0.1:")
    assert server.cafile is not None and server.cafile.is_file()
    context = ssl.create_default_context(cafile=server.cafile)
    # What recent Pythons turn on by default: the certificate must pass strict checks too.
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    assert connect(server, context=context).echo("secure") == "SECURE"
    by_name = xmlrpc.client.ServerProxy(f"https://localhost:{server.port}/", context=context)
    assert by_name.echo("by name") == "BY NAME"


def test_generated_certificate_contents(make_server: MakeServer) -> None:
    server = make_server(tls=True)
    assert server.cafile is not None
    cert = x509.load_pem_x509_certificate(server.cafile.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    key = server.cafile.with_name("key.pem")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


def test_clients_without_the_certificate_are_refused(make_server: MakeServer) -> None:
    server = make_server(tls=True)
    with pytest.raises(ssl.SSLCertVerificationError):
        connect(server, context=ssl.create_default_context()).echo("x")
    # The server is unharmed by the failed handshake.
    assert (
        connect(server, context=ssl.create_default_context(cafile=server.cafile)).echo("y") == "Y"
    )


def test_plain_http_to_the_tls_port_fails(make_server: MakeServer) -> None:
    server = make_server(tls=True)
    plain = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{server.port}/RPC2")
    with pytest.raises((OSError, http.client.HTTPException, xmlrpc.client.ProtocolError)):
        plain.echo("x")


def test_tls_and_auth_together(make_server: MakeServer) -> None:
    server = make_server(tls=True, user="alice", password="s3cret")
    context = ssl.create_default_context(cafile=server.cafile)
    assert connect(server, user="alice", password="s3cret", context=context).echo("both") == "BOTH"
    with pytest.raises(xmlrpc.client.ProtocolError) as info:
        connect(server, context=context).echo("x")
    assert info.value.errcode == 401


def test_a_given_certificate_is_used_and_kept(make_server: MakeServer, tmp_path: Path) -> None:
    certfile, keyfile = generate_self_signed(tmp_path, ["localhost", "127.0.0.1"])
    server = make_server(tls=True, certfile=certfile, keyfile=keyfile)
    assert server.cafile is None  # nothing generated
    context = ssl.create_default_context(cafile=certfile)
    assert connect(server, context=context).echo("mine") == "MINE"
    server.stop()
    assert certfile.is_file() and keyfile.is_file()


def test_cert_and_key_in_one_file(make_server: MakeServer, tmp_path: Path) -> None:
    certfile, keyfile = generate_self_signed(tmp_path, ["127.0.0.1"])
    combined = tmp_path / "both.pem"
    combined.write_bytes(certfile.read_bytes() + keyfile.read_bytes())
    server = make_server(tls=True, certfile=combined)
    assert connect(server, context=ssl.create_default_context(cafile=certfile)).echo("one") == "ONE"


def test_the_generated_certificate_is_removed_on_stop(make_server: MakeServer) -> None:
    server = make_server(tls=True)
    assert server.cafile is not None
    directory = server.cafile.parent
    server.stop()
    assert not directory.exists()


def test_a_stalled_handshake_blocks_nobody(make_server: MakeServer) -> None:
    server = make_server(tls=True)
    context = ssl.create_default_context(cafile=server.cafile)
    with socket.create_connection(("127.0.0.1", server.port)):  # connects, never says hello
        wait_until(lambda: server.connections == 1, what="the stalled client to be accepted")
        assert connect(server, context=context).echo("through") == "THROUGH"
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 2  # the idle connection is cut, not waited for
