"""``rpcspy call`` through a real ``rpcspy proxy``: reverse mode (the proxy is the URL) and
regular mode (``--proxy``, CONNECT for https), both proxy and call recording the exchange."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcspy.capture import CallRecord, read_capture
from tests.client.processes import Running, proxy, run_rpcspy, serve
from tests.proxy.helpers import wait_for


@pytest.fixture(scope="module")
def confdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("confdir")


@pytest.fixture(scope="module")
def plain() -> Iterator[Running]:
    with serve() as running:
        yield running


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with serve("--user", "user", "--password", "pass", tls_dir=tmp_path_factory.mktemp("tls")) as s:
        yield s


def recorded(capture: Path | None, n: int) -> list[CallRecord]:
    assert capture is not None

    def enough() -> list[CallRecord] | None:
        found = list(read_capture(capture)) if capture.exists() else []
        return found if len(found) >= n else None

    found: list[CallRecord] = wait_for(enough, timeout=30)
    return found


def call(*args: str) -> tuple[int, str, str]:
    result = run_rpcspy("call", *args)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def test_through_a_reverse_proxy(plain: Running, confdir: Path, tmp_path: Path) -> None:
    capture = tmp_path / "reverse.jsonl"
    with proxy(plain.url, confdir=confdir, capture=capture) as reverse:
        code, out, err = call(reverse.url + "/RPC2", "add", "i4:20", "22")
        assert (code, out) == (0, "result: int 42\n"), err
        code, out, _ = call(reverse.url + "/RPC2", "demo.fault", "3", "bad")
        assert (code, out) == (1, "fault 3: bad\n")
        first, second = recorded(reverse.capture, 2)
    assert first.call is not None and first.call.method == "add"
    assert [p.label for p in first.call.params] == ["i4", "int"]
    assert second.fault_code == 3


def test_through_a_regular_proxy_http_and_https(
    plain: Running, secure: Running, confdir: Path, tmp_path: Path
) -> None:
    capture, mine = tmp_path / "regular.jsonl", tmp_path / "mine.jsonl"
    assert secure.cafile is not None
    args = ("--mode", "regular", "--upstream-ca", str(secure.cafile))
    with proxy(*args, confdir=confdir, capture=capture) as regular:
        assert regular.cafile is not None
        via = ("--proxy", regular.url, "-w", str(mine))
        code, out, err = call(*via, plain.url, "echo", "plain")
        assert (code, out) == (0, 'result: string "PLAIN"\n'), err
        # https: a CONNECT tunnel, TLS with mitmproxy's certificate (trust its CA), Basic auth
        # from the URL inside the tunnel.
        authed = secure.url.replace("https://", "https://user:pass@")
        tls = ("--cafile", str(regular.cafile))
        code, out, err = call(*via, *tls, "--json", authed, "add", "2", "i4:3")
        assert code == 0, err
        assert json.loads(out)["result"] == {"int": 5}
        # Without the proxy's CA the client refuses mitmproxy's certificate.
        code, out, err = call(*via, authed, "add", "2", "3")
        assert (code, out) == (3, "")
        assert "TLS certificate not trusted" in err
        through = recorded(regular.capture, 2)
    assert [(r.scheme, r.port, r.method) for r in through] == [
        ("http", plain.port, "echo"),
        ("https", secure.port, "add"),
    ]
    ours = list(read_capture(mine))
    assert [(r.scheme, r.host, r.port, r.origin) for r in ours] == [
        ("http", "127.0.0.1", plain.port, "call"),
        ("https", "127.0.0.1", secure.port, "call"),
        ("https", "127.0.0.1", secure.port, "call"),
    ]
    assert ours[2].error is not None
    assert "pass" not in mine.read_text() and "pass" not in capture.read_text()


def test_proxy_refusing_to_connect_is_a_transport_error(plain: Running) -> None:
    from tests.conftest import free_port

    code, out, err = call("--proxy", f"127.0.0.1:{free_port()}", plain.url, "add", "1", "2")
    assert (code, out) == (3, "")
    assert "connection refused" in err
