"""Tokens in headers and query strings are kept out of the capture, by a list the user can change
(issue 11, item 12).

``rpcspy proxy`` used to store ``X-Api-Key``, ``X-Auth-Token``, ``Private-Token`` and
``?access_token=`` in the clear. Now a default list redacts them, ``--redact-header`` /
``--redact-query`` add names and ``--keep-header`` / ``--keep-query`` take default ones out. Each
test runs the real ``rpcspy proxy`` in front of a raw upstream that keeps the bytes it received:
the capture holds ``<redacted>`` and says so, while the upstream gets every byte the client sent.
"""

from __future__ import annotations

import signal
import subprocess
import xmlrpc.client
from pathlib import Path

import pytest

from rpcspy.capture import read_capture
from rpcspy.capture.record import CallRecord
from rpcspy.capture.redact import DEFAULT_HEADERS, DEFAULT_QUERY, REDACTED, redact_path
from tests.cli.servers import RPCSPY, server
from tests.conftest import REPO, free_port
from tests.proxy.helpers import (
    MITMDUMP,
    RawUpstream,
    killing,
    raw_post,
    stop_process,
    wait_listening,
)

CALL = xmlrpc.client.dumps((2, 3), "add").encode()
PATH = "/RPC2?access_token=AT-5ecret&page=2;Key=K-5ecret&session=S-5ecret"
HEADERS = (
    ("X-Api-Key", "XA-5ecret"),
    ("X-Auth-Token", "XT-5ecret"),
    ("Private-Token", "PT-5ecret"),
    ("X-Custom", "XC-5ecret"),
    ("Referer", "http://app.example/page?token=RT-5ecret&tab=1"),
    ("X-Request-Id", "req-42"),
)
SECRETS = ("AT-5ecret", "K-5ecret", "XA-5ecret", "XT-5ecret", "PT-5ecret", "RT-5ecret")


def _record_through_proxy(tmp_path: Path, *options: str) -> tuple[CallRecord, bytes, bytes]:
    """One call through ``rpcspy proxy OPTIONS``: its record, the capture's bytes, and the
    request exactly as the upstream received it."""
    capture = tmp_path / "calls.jsonl"
    extra = b"".join(f"{name}: {value}\r\n".encode() for name, value in HEADERS)
    with RawUpstream() as upstream:
        argv = ["proxy", upstream.url, "--port", "0", "-w", str(capture), "-q", *options]
        with server(argv, tmp_path / "ready", ignore_int=False) as proxy:
            port = int(proxy.wait_ready().rsplit(":", 1)[1])
            status, _body = raw_post(port, CALL, path=PATH, extra_headers=extra)
            assert status == 200
            stopped = proxy.stop(signal.SIGINT)
        assert stopped.code == 0, stopped.stderr
        [received] = upstream.received
    [record] = read_capture(capture)
    return record, capture.read_bytes(), received


def _forwarded_as_sent(received: bytes) -> None:
    """Every secret reached the upstream as the client sent it, and the body byte for byte."""
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == f"POST {PATH} HTTP/1.1".encode()
    for name, value in HEADERS:
        assert f"{name}: {value}".encode() in lines
    assert body == CALL


def test_common_tokens_are_redacted_by_default(tmp_path: Path) -> None:
    record, data, received = _record_through_proxy(tmp_path)
    _forwarded_as_sent(received)
    for secret in SECRETS:
        assert secret.encode() not in data
    assert record.redacted  # the record says it is not what was on the wire
    assert record.path == (f"/RPC2?access_token={REDACTED}&page=2;Key={REDACTED}&session=S-5ecret")
    headers = dict(record.request.headers)
    for name in ("X-Api-Key", "X-Auth-Token", "Private-Token"):
        assert headers[name] == REDACTED
    assert headers["Referer"] == f"http://app.example/page?token={REDACTED}&tab=1"
    # Not on any list: kept as sent.
    assert headers["X-Custom"] == "XC-5ecret"
    assert headers["X-Request-Id"] == "req-42"
    assert record.call is not None and record.call.method == "add"  # decoded as ever


def test_names_are_added_and_defaults_taken_out(tmp_path: Path) -> None:
    record, data, received = _record_through_proxy(
        tmp_path,
        "--redact-header",
        "x-custom",
        "--redact-query",
        "SESSION",
        "--keep-header",
        "X-Api-Key",
        "--keep-query",
        "access_token",
    )
    _forwarded_as_sent(received)
    headers = dict(record.request.headers)
    assert headers["X-Custom"] == REDACTED
    assert headers["X-Api-Key"] == "XA-5ecret"  # kept, as asked
    assert headers["X-Auth-Token"] == REDACTED  # the other defaults still hold
    assert record.path == f"/RPC2?access_token=AT-5ecret&page=2;Key={REDACTED}&session={REDACTED}"
    assert b"XC-5ecret" not in data and b"S-5ecret" not in data
    assert record.redacted


def test_no_redact_keeps_everything_and_says_so(tmp_path: Path) -> None:
    record, data, received = _record_through_proxy(tmp_path, "--no-redact")
    _forwarded_as_sent(received)
    assert not record.redacted
    assert record.path == PATH
    assert dict(record.request.headers)["X-Api-Key"] == "XA-5ecret"
    assert b"PT-5ecret" in data


def test_the_mitmdump_addon_takes_the_same_lists(tmp_path: Path) -> None:
    capture = tmp_path / "dump.jsonl"
    extra = b"".join(f"{name}: {value}\r\n".encode() for name, value in HEADERS)
    port = free_port()
    with RawUpstream() as upstream:
        options = {
            "confdir": tmp_path / "confdir",
            "rpcspy_capture": capture,
            "connection_strategy": "lazy",
            "rpcspy_redact_headers": "X-Custom",
            "rpcspy_keep_query": "access_token",
        }
        argv = [MITMDUMP, "-q", "-s", str(REPO / "addons" / "rpcspy_record.py")]
        argv += ["--listen-host", "127.0.0.1", "--listen-port", str(port)]
        argv += ["--mode", f"reverse:{upstream.url}"]
        for name, value in options.items():
            argv += ["--set", f"{name}={value}"]
        proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        with killing(proc):
            wait_listening(port)
            assert raw_post(port, CALL, path=PATH, extra_headers=extra)[0] == 200
            _out, err = stop_process(proc, signal.SIGINT)
        assert proc.returncode == 0, err.decode()[-2000:]
        [received] = upstream.received
    _forwarded_as_sent(received)
    [record] = read_capture(capture)
    headers = dict(record.request.headers)
    assert headers["X-Custom"] == REDACTED and headers["X-Api-Key"] == REDACTED
    assert record.path == f"/RPC2?access_token=AT-5ecret&page=2;Key={REDACTED}&session=S-5ecret"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--redact-header", "X-A", "--keep-header", "x-a"], "both redacted and kept: x-a"),
        (["--redact-query", "tok", "--keep-query", "TOK"], "both redacted and kept: tok"),
        (["--redact-header", "X A"], "not a header name: 'X A'"),
        (["--redact-query", "a=b"], "not a query parameter name: 'a=b'"),
        (["--no-redact", "--keep-header", "Cookie"], "--no-redact redacts nothing"),
    ],
)
def test_contradictions_are_usage_errors(options: list[str], message: str) -> None:
    done = subprocess.run(
        [RPCSPY, "proxy", "http://127.0.0.1:9", "--port", "0", *options],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_help_names_every_default() -> None:
    done = subprocess.run(
        [RPCSPY, "proxy", "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    text = done.stdout.lower()
    section = text[text.index("redaction:") : text.index("exit codes:")]
    for name in DEFAULT_HEADERS | DEFAULT_QUERY:
        assert name in section.replace("\n", " "), name
    for option in ("--redact-header", "--keep-header", "--redact-query", "--keep-query"):
        assert option in text


@pytest.mark.parametrize(
    ("path", "stored"),
    [
        ("/RPC2", "/RPC2"),
        ("/RPC2?page=2", "/RPC2?page=2"),
        ("/x?token=", "/x?token="),  # no value, nothing to hide
        ("/x?token", "/x?token"),
        ("/x?access%5Ftoken=a&b=1", f"/x?access%5Ftoken={REDACTED}&b=1"),
        ("/x?API_KEY=a", f"/x?API_KEY={REDACTED}"),
        ("/x?a=1&&token=t#frag", f"/x?a=1&&token={REDACTED}#frag"),
        ("/x?token=a=b&sig=c", f"/x?token={REDACTED}&sig={REDACTED}"),
        ("/p/token=a?b=1", "/p/token=a?b=1"),  # a path segment is not a query
    ],
)
def test_query_redaction_keeps_everything_but_the_values(path: str, stored: str) -> None:
    assert redact_path(path) == stored
