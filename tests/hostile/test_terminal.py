"""Bytes from the wire and from capture files never reach the terminal raw (issue 11, item 7),
and impossible values print without a traceback (item 14).

Every test drives the real command (``python -m rpcspy``) or the real proxy, feeds it a hostile
peer or a file of the ``captures/`` corpus, and checks that no ESC, BEL, C1 control or bidi
override reaches stdout or stderr, while the escaped form (``\\x1b]0;pwned``) shows what was there.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcspy.capture import read_capture
from rpcspy.term import printable
from tests.conftest import REPO, free_port
from tests.hostile.wire import CannedServer, http_response
from tests.proxy.helpers import PYTHON, killing, spawn_run_proxy, stop_process, wait_listening

CAPTURES = Path(__file__).parent / "captures"
ESCAPES = CAPTURES / "escape-sequences.jsonl"

#: What must never reach a terminal raw.
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\x00")
TITLE = "\x1b]0;pwned\x07"
ESCAPED_TITLE = "\\x1b]0;pwned\\x07"


def rpcspy(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "rpcspy", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        errors="surrogateescape",
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})},
    )


def assert_clean(*texts: str) -> None:
    for text in texts:
        for char in RAW:
            assert char not in text, f"raw {char!r} reached the terminal: {text[:2000]!r}"
        assert "Traceback" not in text, text


def test_printable_escapes_controls_bidi_and_surrogates_visibly() -> None:
    assert printable(f"a{TITLE}b") == f"a{ESCAPED_TITLE}b"
    assert printable("x\x9b31m\u202ey\ud800") == "x\\x9b31m\\u202ey\\ud800"
    assert printable("tab\there\nline\r") == "tab\\there\\nline\\r"
    assert printable("tab\there\nline", multiline=True) == "tab\there\nline"
    assert printable("héllo 日本 ok") == "héllo 日本 ok"


@pytest.mark.parametrize(
    "args",
    [(), ("--call", "1", "--raw"), ("--call", "2"), ("--json",), ("--filter", "method:evil*")],
    ids=["table", "call-raw", "call-fault", "json", "filter"],
)
def test_show_escapes_a_hostile_capture(args: tuple[str, ...]) -> None:
    out = rpcspy("show", str(ESCAPES), *args)
    assert out.returncode == 0, out.stderr
    assert_clean(out.stdout, out.stderr)
    if args != ("--call", "2"):
        assert ESCAPED_TITLE in out.stdout or "\\u001b]0;pwned\\u0007" in out.stdout


def test_show_call_names_every_hostile_field_escaped() -> None:
    out = rpcspy("show", str(ESCAPES), "--call", "1", "--raw").stdout
    for seen in (
        f"call evil{ESCAPED_TITLE}",  # the method
        f'string "param{ESCAPED_TITLE}',  # a param
        f"X-Evil{ESCAPED_TITLE}",  # a request header name
        f"Server: server{ESCAPED_TITLE}",  # an upstream header
        f"127.0.0.1{ESCAPED_TITLE}",  # the client
        f"/RPC2{ESCAPED_TITLE}",  # the path
        f"body{ESCAPED_TITLE}",  # the raw body
    ):
        assert seen in out, seen
    fault = rpcspy("show", str(ESCAPES), "--call", "2").stdout
    assert f"error    error{ESCAPED_TITLE}" in fault


def test_diff_and_its_junit_escape_a_hostile_capture(tmp_path: Path) -> None:
    junit = tmp_path / "diff.xml"
    base = REPO / "captures" / "basics.jsonl"
    out = rpcspy("diff", str(base), str(ESCAPES), "--junit", str(junit))
    assert out.returncode == 1, out.stderr
    assert_clean(out.stdout, out.stderr)
    assert f"evil{ESCAPED_TITLE}" in out.stdout
    text = junit.read_text()
    ET.fromstring(text)  # well-formed XML: no control characters in it
    assert "\x1b" not in text and ESCAPED_TITLE in text
    as_json = rpcspy("diff", str(base), str(ESCAPES), "--json")
    assert_clean(as_json.stdout, as_json.stderr)


def test_lint_escapes_a_hostile_capture() -> None:
    out = rpcspy("lint", str(ESCAPES))
    assert_clean(out.stdout, out.stderr)


# ---------------------------------------------------------------- the real proxy


@pytest.fixture
def hostile_upstream() -> Iterator[CannedServer]:
    # An upstream whose reason phrase, header and fault string carry terminal sequences.
    body = (
        b"<?xml version='1.0'?><methodResponse><fault><value><struct>"
        b"<member><name>faultCode</name><value><int>4</int></value></member>"
        b"<member><name>faultString</name><value><string>f\x1b]52;c;AAAA\x07</string></value>"
        b"</member></struct></value></fault></methodResponse>"
    )
    response = http_response(
        body,
        reason=b"OK\x1b]0;pwned\x07",
        headers=((b"Content-Type", b"text/xml"), (b"X-Evil", b"v\x1b]0;pwned\x07\x9b2J")),
    )
    with CannedServer(response) as server:
        yield server


def test_proxy_console_and_show_escape_a_hostile_body_and_upstream(
    hostile_upstream: CannedServer, tmp_path: Path
) -> None:
    capture = tmp_path / "hostile.jsonl"
    port = free_port()
    proc = spawn_run_proxy(
        f"target={hostile_upstream.url!r}, listen_port={port}, capture=Path({str(capture)!r}), "
        f"confdir=Path({str(tmp_path / 'confdir')!r})"
    )
    with killing(proc):
        wait_listening(port)
        # A malformed call: the method name carries OSC 0 and OSC 52; XML forbids the bytes,
        # so the tolerant reading takes the name from the broken body.
        body = (
            b"<?xml version='1.0'?><methodCall><methodName>evil\x1b]0;pwned\x07"
            b"\x1b]52;c;cm0gLXJmIH4K\x07</methodName><params></params></methodCall>"
        )
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/RPC2", body, {"Content-Type": "text/xml"})
        answer = conn.getresponse()
        assert answer.status == 200
        # Forwarded untouched: the client gets the upstream's bytes as they were.
        assert answer.getheader("X-Evil") == "v\x1b]0;pwned\x07\x9b2J"
        answer.read()
        conn.close()
        out, err = stop_process(proc, signal.SIGINT)
    stdout = out.decode("utf-8", "surrogateescape")
    stderr = err.decode("utf-8", "surrogateescape")
    assert proc.returncode == 0, stderr
    assert_clean(stdout, stderr)
    [record] = read_capture(capture)
    assert record.method is not None and "\x1b]0;pwned" in record.method  # recorded as sent
    assert "evil\\x1b]0;pwned\\x07" in stdout
    shown = rpcspy("show", str(capture), "--call", "1")
    assert shown.returncode == 0, shown.stderr
    assert_clean(shown.stdout, shown.stderr)
    assert "X-Evil: v\\x1b]0;pwned\\x07" in shown.stdout
    table = rpcspy("show", str(capture))
    assert_clean(table.stdout, table.stderr)


# ---------------------------------------------------------------- replay against hostile targets


@pytest.mark.parametrize(
    "response",
    [
        http_response(b"<x/>", status=500, reason=b"Bad\x1b]0;pwned\x07\x1b]52;c;AAAA\x07"),
        http_response(
            b"<x/>", headers=((b"Content-Type", b"text/\x1b]0;pwned\x07html\x9b2J\xe2\x80\xae"),)
        ),
        b"\x1b]0;pwned\x07\x1b[2J\x9b31m\x00\xff\xfe garbage, not HTTP \x07\x07\r\n\r\n",
    ],
    ids=["status-line", "content-type", "garbage"],
)
def test_replay_report_escapes_a_hostile_target(response: bytes) -> None:
    with CannedServer(response) as target:
        out = rpcspy(
            "replay",
            str(REPO / "captures" / "basics.jsonl"),
            "--target",
            target.url,
            "--no-progress",
            "--timeout",
            "10",
        )
        assert target.requests > 0
    assert out.returncode == 1, out.stderr
    assert_clean(out.stdout, out.stderr)


# ---------------------------------------------------------------- impossible values (item 14)


@pytest.mark.parametrize("args", [(), ("--call", "2"), ("--json",)], ids=["table", "call", "json"])
def test_show_prints_an_impossible_timestamp_without_a_traceback(args: tuple[str, ...]) -> None:
    out = rpcspy("show", str(CAPTURES / "started-1e308.jsonl"), *args)
    assert out.returncode == 0, out.stderr
    assert_clean(out.stdout, out.stderr)
    assert "1e+308" in out.stdout
    if args == ("--call", "2"):
        assert "1e+308 (not a time a clock can show)" in out.stdout


@pytest.mark.parametrize("args", [(), ("--call", "2"), ("--json",)], ids=["table", "call", "json"])
def test_show_prints_lone_surrogates_escaped(args: tuple[str, ...]) -> None:
    out = rpcspy("show", str(CAPTURES / "lone-surrogate.jsonl"), *args)
    assert out.returncode == 0, out.stderr
    assert_clean(out.stdout, out.stderr)
    assert "a\\ud800b" in out.stdout
    assert "\udcff" not in out.stdout  # no undecodable byte was written


@pytest.mark.parametrize("args", [(), ("--json",)], ids=["text", "json"])
def test_diff_of_impossible_timestamps_and_lone_surrogates(args: tuple[str, ...]) -> None:
    out = rpcspy(
        "diff", str(CAPTURES / "started-1e308.jsonl"), str(CAPTURES / "lone-surrogate.jsonl"), *args
    )
    assert out.returncode == 1, out.stderr
    assert_clean(out.stdout, out.stderr)
    assert "a\\ud800b" in out.stdout
