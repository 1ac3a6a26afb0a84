"""``rpcspy mock`` as a real process with real clients: i4/int synonyms, ``--strict-types``, the
exact-bytes fallback for requests that do not decode, and the start-up lines.

The capture is recorded from the real demo server: a client that sends ``<i4>`` (raw bytes sent
by ``send_call``), the stdlib client, a request the decoder refuses, and a call the server drops.
"""

from __future__ import annotations

import gzip
import http.client
import os
import signal
import socket
import subprocess
import time
import xmlrpc.client
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rpcspy.capture import CallRecord, HttpMessage, build_record
from rpcspy.mock.playbook import FAULT_NO_MATCH, FAULT_NOT_XMLRPC
from rpcspy.replay import send_call
from rpcspy.xmlrpc.messages import MethodCall
from tests.conftest import REPO, MakeServer, free_port
from tests.replay.support import attempt, client, rpcspy_command, write_capture

#: ``add(2, 3)`` as a client that writes ``<i4>`` sends it (Ruby, Perl, xmlrpc-c do).
I4_ADD = (
    b'<?xml version="1.0"?>\n<methodCall><methodName>add</methodName><params>'
    b"<param><value><i4>2</i4></value></param><param><value><i4>3</i4></value></param>"
    b"</params></methodCall>\n"
)
#: A request no decoder of ours reads, strict or tolerant (a DTD); the demo server answers it.
WITH_DTD = (
    b'<?xml version="1.0"?>\n<!DOCTYPE methodCall [<!ENTITY who "world">]>\n'
    b"<methodCall><methodName>echo</methodName><params><param><value><string>&who;</string>"
    b"</value></param></params></methodCall>\n"
)
#: A peer's non-conformant value: an <i4> above 2^31 inside a struct.
BIG_I4 = (
    b'<?xml version="1.0"?>\n<methodCall><methodName>demo.echo</methodName><params><param>'
    b"<value><struct><member><name>n</name><value><i4>1099511627776</i4></value></member>"
    b"</struct></value></param></params></methodCall>\n"
)


def _session(url: str, tmp_path: Path) -> tuple[Path, list[CallRecord]]:
    records = [send_call(I4_ADD, url, seq=1)]
    first = records[0].response
    assert first is not None
    attempt(lambda: client(url, records).add(2, 4))  # recorded as #2: int params
    records.append(send_call(WITH_DTD, url, seq=3))
    records.append(send_call(MethodCall("demo.crash"), url, seq=4))
    # A body mitmproxy streamed is not recorded: the proxy records it so (build_record's rule).
    records.append(
        build_record(
            HttpMessage((("Content-Type", "text/xml"),), None),
            HttpMessage((("Content-Type", "text/xml"),), first.body),
            started=time.time(),
            ended=time.time(),
            status=200,
            seq=5,
        )
    )
    assert records[0].call is not None and records[0].call.params[0].tag == "i4"
    assert records[1].seq == 2 and records[1].call is not None
    assert records[1].call.params[0].tag == "int"
    assert records[2].call is None and records[2].response is not None
    assert records[3].response is None and records[3].error
    return write_capture(tmp_path / "types.jsonl", records), records


def _wait_listening(port: int, proc: subprocess.Popen[str], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"rpcspy mock exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port} after {timeout} s")


@contextmanager
def _mock(path: Path, *options: str) -> Iterator[tuple[int, list[str]]]:
    """Run ``rpcspy mock PATH`` on a free port; after the block, the list holds its stderr."""
    port = free_port()
    proc = subprocess.Popen(
        [*rpcspy_command(), "mock", str(path), "--port", str(port), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1"},
    )
    lines: list[str] = []
    try:
        _wait_listening(port, proc)
        yield port, lines
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        lines.extend(err.splitlines())
    assert proc.returncode == 0, err


def _post(port: int, body: bytes, encoding: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "text/xml"}
    if encoding:
        headers["Content-Encoding"] = encoding
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/RPC2", body, headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_i4_capture_answers_an_int_client_and_undecodable_requests_by_their_bytes(
    make_server: MakeServer, tmp_path: Path
) -> None:
    path, records = _session(make_server().url, tmp_path)
    with _mock(path) as (port, lines):
        stdlib = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2")
        # Recorded from the <i4> client (#1), asked by the stdlib client, which sends <int>.
        assert stdlib.add(2, 3) == 5
        assert stdlib.add(2, 4) == 6
        # The request the decoder refused is answered when the same bytes arrive, gzip'd or not.
        answer = records[2].response
        assert answer is not None
        assert _post(port, WITH_DTD) == (200, answer.body)
        assert _post(port, gzip.compress(WITH_DTD), "gzip") == (200, answer.body)
        # Other bytes that do not decode either: the not-XML-RPC fault, saying why.
        status, body = _post(port, WITH_DTD.replace(b"world", b"earth"))
        with pytest.raises(xmlrpc.client.Fault) as info:
            xmlrpc.client.loads(body)
        assert status == 200 and info.value.faultCode == FAULT_NOT_XMLRPC
        assert info.value.faultString.endswith("; and no recorded request has these bytes")
    assert lines[:5] == [
        f"rpcspy mock on http://127.0.0.1:{port}/RPC2 (any path): 4 recorded calls to 3 methods "
        f"from {path}",
        "  1 call matched by exact request bytes (the recorded request did not decode)",
        "  1 call got no answer when recorded: the mock closes the connection, as the server did",
        "  1 call left out: the request body was not recorded (streamed, or over the size "
        "limit), so nothing can match",
        "  Ctrl-C to stop",
    ]
    logged = "\n".join(lines)
    assert " match #1 add(2, 3) -> 5" in logged
    assert " match #3 echo (request did not decode; same bytes as recorded) -> " in logged
    assert lines[-1] == "rpcspy mock: 4 matched, 1 missed"


def test_strict_types_refuses_the_int_client_naming_the_wire_types(
    make_server: MakeServer, tmp_path: Path
) -> None:
    path, _ = _session(make_server().url, tmp_path)
    with _mock(path, "--strict-types") as (port, lines):
        stdlib = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2")
        with pytest.raises(xmlrpc.client.Fault) as info:
            stdlib.add(2, 3)
        # add(2, 4) (#2, int) differs from the call by one value, add(2, 3) (#1, i4) only in
        # wire types: the hint points at #1.
        assert info.value.faultCode == FAULT_NO_MATCH
        assert info.value.faultString == (
            "rpcspy mock: no recorded call matches add(2, 3); closest is #1 add(2, 3), which "
            "differs at params[0]: i4 2 -> int 2; params[1]: i4 3 -> int 3 (only in wire "
            "types: --strict-types tells them apart)"
        )
        assert stdlib.add(2, 4) == 6
    assert lines[1] == "  --strict-types: i4 and int, untyped text and string, are told apart"


def test_a_peer_value_the_decoder_refuses_is_answered_with_the_recorded_bytes(
    make_server: MakeServer, tmp_path: Path
) -> None:
    recorded = send_call(BIG_I4, make_server().url, seq=1)
    assert recorded.response is not None and recorded.response.body
    path = write_capture(tmp_path / "big.jsonl", [recorded])
    with _mock(path, "-q") as (port, _):
        assert _post(port, BIG_I4) == (200, recorded.response.body)
        changed = BIG_I4.replace(b"1099511627776", b"1099511627777")
        assert _post(port, changed)[1] != recorded.response.body
