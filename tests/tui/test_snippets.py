"""Copy-as-curl and copy-as-Python: pure functions, checked by running what they produce."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
import xmlrpc.client
from pathlib import Path
from typing import Any

import pytest

from rpcspy.capture import HttpMessage, build_record
from rpcspy.export.script import call_url, decoded_request_body, python_literal, to_curl, to_python
from rpcspy.xmlrpc.values import (
    I4,
    I8,
    Array,
    Base64,
    Boolean,
    DateTime,
    Double,
    ExBigDecimal,
    Int,
    Nil,
    String,
    Struct,
)
from tests.tui.samples import exchange, sample_records


def test_curl_for_a_recorded_call() -> None:
    rec = sample_records()[1]
    text = to_curl(rec)
    assert text.startswith("curl -sS -X POST http://127.0.0.1:8000/RPC2 \\\n")
    assert "  -H 'User-Agent: Python-xmlrpc/3.12' \\\n" in text
    assert "  -H 'Content-Type: text/xml' \\\n" in text
    assert "Host:" not in text and "Accept-Encoding" not in text
    assert "--data-binary '<?xml version='\"'\"'1.0'\"'\"'?>" in text  # shell-quoted single quotes


def test_gzip_request_is_sent_decoded() -> None:
    plain = xmlrpc.client.dumps((1, 2), "math.add").encode()
    rec = build_record(
        HttpMessage((("Content-Encoding", "gzip"),), gzip.compress(plain), "gzip"),
        None,
        started=1.0,
        ended=2.0,
        client=None,
        server=None,
        scheme="https",
        host="example.org",
        port=443,
        path="/RPC2",
        status=200,
    )
    assert decoded_request_body(rec) == plain
    assert call_url(rec) == "https://example.org/RPC2"
    text = to_curl(rec)
    assert "Content-Encoding" not in text and "--insecure" in text and "math.add" in text


def test_python_literals_keep_what_the_stdlib_can_send() -> None:
    assert (
        python_literal(Struct(a=Int(1), b=Array([String("x"), Boolean(True)])))
        == "{'a': 1, 'b': ['x', True]}"
    )
    assert python_literal(Base64(b"hi")) == "xmlrpc.client.Binary(b'hi')"
    assert (
        python_literal(DateTime("20240131T08:09:10"))
        == "xmlrpc.client.DateTime('20240131T08:09:10')"
    )
    assert python_literal(Nil()) == "None"
    assert python_literal(Double(1.5)) == "1.5"
    assert python_literal(ExBigDecimal("1.50")) == "Decimal('1.50')"
    long = Struct({f"key{i}": String("value" * 3) for i in range(8)})
    assert python_literal(long).startswith("{\n    'key0': 'valuevaluevalue',\n")


def test_python_snippet_notes_inexact_types_and_odd_names() -> None:
    body = (
        b"<methodCall><methodName>odd-name.x</methodName><params>"
        b"<param><value><i4>1</i4></value></param><param><value><i8>5</i8></value></param>"
        b"<param><value><nil/></value></param></params></methodCall>"
    )
    rec = exchange(1, "odd-name.x", request_body=body, result=1)
    text = to_python(rec)
    assert "getattr(proxy, 'odd-name.x')(1, 5, None)" in text
    assert "i4 (sent as int)" in text and "i8" in text
    assert "allow_none=True" in text
    undecoded = exchange(2, "x", request_body=b"<methodCall>", result=1)
    with pytest.raises(ValueError, match="not decoded"):
        to_python(undecoded)


def test_python_snippet_runs_against_the_demo_server(demo_server: Any, tmp_path: Path) -> None:
    from rpcspy.replay.send import send_call
    from rpcspy.xmlrpc.messages import MethodCall

    rec = send_call(MethodCall("sample.sumAndDifference", (Int(7), Int(3))), demo_server.url)
    assert rec.reply is not None and rec.error is None
    script = tmp_path / "call.py"
    script.write_text(to_python(rec))
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=20, check=True
    )
    assert out.stdout.strip() == "{'sum': 10, 'difference': 4}"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_snippet_runs_against_the_demo_server(demo_server: Any) -> None:
    from rpcspy.replay.send import send_call
    from rpcspy.xmlrpc.messages import MethodCall

    rec = send_call(MethodCall("sample.sumAndDifference", (I4(7), Int(3))), demo_server.url)
    out = subprocess.run(["sh", "-c", to_curl(rec)], capture_output=True, timeout=20, check=True)
    assert b"<name>sum</name>" in out.stdout and b"10" in out.stdout
    _ = I8


def test_python_snippet_of_values_kept_as_written_and_wide_ints(
    demo_server: Any, tmp_path: Path
) -> None:
    # Decoded tolerantly: <foo> kept as a RawValue, an <i4> over 2^31 as a WideI4.
    body = (
        b"<methodCall><methodName>demo.echo</methodName><params>"
        b"<param><value><foo>bar baz</foo></value></param>"
        b"<param><value><struct><member><name>big</name><value><i4>1099511627776</i4></value>"
        b"</member></struct></value></param></params></methodCall>"
    )
    rec = exchange(1, "demo.echo", request_body=body, result=1)
    assert rec.call is not None and {f.rule for f in rec.findings} >= {"unknown-type-tag"}
    assert python_literal(rec.call.params[0]) == "'bar baz'"
    assert python_literal(rec.call.params[1]) == "{'big': 1099511627776}"
    text = to_python(rec)
    assert "proxy.demo.echo('bar baz', {'big': 1099511627776})" in text
    assert "<foo> kept as written (sent as its text, a string)" in text
    assert "i4 beyond 32 bits (the standard client refuses to send it)" in text
    # Without the wide int the script runs: the raw value goes out as its text.
    only_raw = exchange(
        2,
        "demo.echo",
        request_body=body.split(b"<param><value><struct>")[0] + b"</params></methodCall>",
        result=1,
    )
    script = tmp_path / "raw.py"
    script.write_text(to_python(only_raw).replace("http://127.0.0.1:8000/RPC2", demo_server.url))
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=20, check=True
    )
    assert "bar baz" in out.stdout


def test_bodies_shown_and_copied_are_inflated_within_the_codec_limit() -> None:
    # The detail view and copy-as-curl undo gzip through the capture's one bounded decoder: a
    # small body that would inflate past the limit is shown as recorded, never inflated whole.
    import gzip

    from rpcspy.tui.screens.detail import decode_body
    from rpcspy.xmlrpc.messages import DEFAULT_LIMITS

    bomb = gzip.compress(b"\0" * (DEFAULT_LIMITS.max_bytes + 1024))
    assert len(bomb) < 1024 * 1024
    assert decode_body(bomb, "gzip") == bomb
    assert decode_body(gzip.compress(b"<x/>"), "gzip") == b"<x/>"
    assert decode_body(b"plain", None) == b"plain"
    assert decode_body(b"\x1f\x8b broken", "gzip") == b"\x1f\x8b broken"
    assert decode_body(b"br-bytes", "br") == b"br-bytes"


def test_snippets_never_run_a_header_name_from_a_hostile_capture(tmp_path: Path) -> None:
    # Header names come from the capture: ` and $ are legal in one, a newline is not but a
    # hostile file may hold it. Neither may run when the script is run without its variables.
    import dataclasses

    base = exchange(1, "add", (2, 3), result=5)
    names = ("X-`touch pwned-1`", "X-$(touch pwned-2)", "X-A\ntouch pwned-3")
    request = dataclasses.replace(
        base.request, headers=(*base.request.headers, *((n, "<redacted>") for n in names))
    )
    rec = dataclasses.replace(base, request=request, redacted=True)
    for text in (to_curl(rec), to_python(rec)):
        assert "<redacted>" not in text
    done = subprocess.run(
        ["sh", "-c", to_curl(rec)], cwd=tmp_path, capture_output=True, timeout=20, check=False
    )
    assert done.returncode != 0 and b"not set" in done.stderr
    ran = subprocess.run(
        [sys.executable, "-c", to_python(rec)],
        cwd=tmp_path,
        capture_output=True,
        timeout=20,
        check=False,
    )
    assert ran.returncode != 0 and b"KeyError: 'RPCSPY_HEADER_X__TOUCH_PWNED_1_'" in ran.stderr
    assert not list(tmp_path.iterdir())


def test_write_snippet_makes_a_private_file_and_never_writes_through(tmp_path: Path) -> None:
    import os
    import stat

    from rpcspy.export.script import write_snippet

    elsewhere = tmp_path / "elsewhere.sh"
    elsewhere.write_text("kept\n")
    link = tmp_path / "call.sh"
    link.symlink_to(elsewhere)
    old = os.umask(0)
    try:
        write_snippet(link, "curl ...\n")
    finally:
        os.umask(old)
    assert not link.is_symlink() and link.read_text() == "curl ...\n"
    assert stat.S_IMODE(link.stat().st_mode) == 0o600
    assert elsewhere.read_text() == "kept\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["call.sh", "elsewhere.sh"]
