"""``rpcspy call`` against the real demo server (``rpcspy serve``: plain, TLS, Basic auth)."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcspy.capture import read_capture
from rpcspy.xmlrpc import I4, Array, Base64, Boolean, Double, Int, Nil, String, Struct
from tests.client.processes import Running, run_rpcspy, serve
from tests.conftest import free_port


@pytest.fixture(scope="module")
def plain() -> Iterator[Running]:
    with serve() as running:
        yield running


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with serve(tls_dir=tmp_path_factory.mktemp("tls")) as running:
        yield running


@pytest.fixture(scope="module")
def guarded() -> Iterator[Running]:
    with serve("--user", "user", "--password", "pass") as running:
        yield running


def call(*args: str) -> tuple[int, str, str]:
    result = run_rpcspy("call", *args)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def test_a_result_is_printed_typed_and_exits_0(plain: Running) -> None:
    code, out, err = call(plain.url, "add", "2", "3")
    assert (code, out, err) == (0, "result: int 5\n", "")


def test_a_fault_is_printed_typed_and_exits_1(plain: Running) -> None:
    code, out, err = call(plain.url + "/RPC2", "demo.fault", "i4:42", "string:no way")
    assert code == 1, err
    assert out == "fault 42: no way\n"
    assert err == ""


def test_typed_arguments_go_on_the_wire_with_their_types(plain: Running, tmp_path: Path) -> None:
    capture = tmp_path / "calls.jsonl"
    struct = '{"name": "bob", "ids": [1, 2.5, null], "ok": true}'
    code, _, err = call(plain.url, "demo.echo", struct, "-w", str(capture))
    assert code == 0, err
    words = ["i4:5", "int:5", "5", "string:5", "double:5", "nil", "base64:aGk=", "hello"]
    for word in words:
        assert call(plain.url, "demo.echo", word, "-w", str(capture))[0] == 0
    records = list(read_capture(capture))
    sent = [r.call.params if r.call is not None else None for r in records]
    ids = Array([Int(1), Double(2.5), Nil()])
    assert sent[0] == (Struct({"name": String("bob"), "ids": ids, "ok": Boolean(True)}),)
    assert sent[1:] == [
        (I4(5),),
        (Int(5),),
        (Int(5),),
        (String("5"),),
        (Double(5.0),),
        (Nil(),),
        (Base64(b"hi"),),
        (String("hello"),),
    ]
    assert all(r.origin == "call" and r.method == "demo.echo" for r in records)
    # Each call appended is numbered after the ones already there, as show's # column counts.
    assert [r.seq for r in records] == list(range(1, len(words) + 2))


def test_the_answer_reads_as_rpcspy_show_prints_it(plain: Running, tmp_path: Path) -> None:
    capture = tmp_path / "one.jsonl"
    arg = '{"a": [1, "x", {"b": null}], "when": "now"}'
    code, out, err = call(plain.url, "demo.echo", arg, "-w", str(capture))
    assert code == 0, err
    shown = run_rpcspy("show", str(capture), "--call", "1").stdout.decode()
    response = shown.split("\nresponse\n", 1)[1].split("\n\n", 1)[0]
    assert out.splitlines() == [line.removeprefix("  ") for line in response.splitlines()]
    assert out.splitlines()[0] == "result: struct (2 members)"
    assert "    [2]: struct (1 member)" in out.splitlines()


def test_json_is_the_call_and_the_typed_answer(plain: Running) -> None:
    code, out, _ = call("--json", plain.url, "add", "i4:2", "3")
    assert code == 0
    data = json.loads(out)
    assert data["call"] == {"method": "add", "params": [{"i4": 2}, {"int": 3}]}
    assert data["result"] == {"int": 5}
    code, out, _ = call("--json", plain.url, "demo.fault", "7", "broken")
    assert code == 1
    fault = json.loads(out)["fault"]
    assert (fault["code"], fault["string"]) == (7, "broken")


def test_raw_is_the_response_body_as_received(plain: Running, tmp_path: Path) -> None:
    capture = tmp_path / "raw.jsonl"
    result = run_rpcspy("call", "--raw", plain.url, "echo", "hi", "-w", str(capture))
    assert result.returncode == 0
    (record,) = read_capture(capture)
    assert record.response is not None
    assert result.stdout == record.response.body
    assert b"<string>HI</string>" in result.stdout


def test_at_file_sends_the_files_bytes_as_base64(plain: Running, tmp_path: Path) -> None:
    data = bytes(range(256)) * 3
    (tmp_path / "blob.bin").write_bytes(data)
    code, out, _ = call("--json", plain.url, "demo.echo", f"@{tmp_path / 'blob.bin'}")
    assert code == 0
    assert json.loads(out)["result"] == {"base64": base64.b64encode(data).decode()}


def test_datetime_and_nil(plain: Running) -> None:
    code, out, _ = call(plain.url, "demo.echo", "datetime:20261201T10:00:00")
    assert (code, out) == (0, "result: dateTime.iso8601 20261201T10:00:00\n")
    code, out, _ = call(plain.url, "demo.echo", "nil")
    assert code == 0
    # As show prints it: nil is an extension, so the finding stands under the value.
    assert out.splitlines()[0] == "result: nil nil"
    assert out.splitlines()[1].startswith("  ! warning nil-extension: <nil/> is an extension")


def test_tls_with_the_servers_cert_and_insecure(secure: Running) -> None:
    assert secure.cafile is not None
    code, out, err = call(secure.url, "add", "1", "2", "--cafile", str(secure.cafile))
    assert (code, out) == (0, "result: int 3\n"), err
    assert call(secure.url, "add", "1", "2", "--ca", str(secure.cafile))[0] == 0
    assert call(secure.url, "add", "1", "2", "--insecure")[:2] == (0, "result: int 3\n")
    code, out, err = call(secure.url, "add", "1", "2")
    assert (code, out) == (3, "")
    assert "TLS certificate not trusted" in err


def test_basic_auth_from_the_url(guarded: Running, tmp_path: Path) -> None:
    capture = tmp_path / "auth.jsonl"
    authed = guarded.url.replace("http://", "http://user:pass@")
    code, out, err = call(authed, "add", "2", "2", "-w", str(capture))
    assert (code, out) == (0, "result: int 4\n"), err
    (record,) = read_capture(capture)
    # The capture keeps no password, and no credentials stay in the URL it records.
    assert dict(record.request.headers)["Authorization"] == "Basic <redacted>"
    assert "pass" not in capture.read_text()
    code, out, err = call(guarded.url, "add", "2", "2")
    assert (code, out) == (3, "")
    assert "HTTP 401" in err
    wrong = guarded.url.replace("http://", "http://user:nope@")
    assert call(wrong, "add", "2", "2")[0] == 3


def test_headers_are_sent(plain: Running, tmp_path: Path) -> None:
    capture = tmp_path / "headers.jsonl"
    code, _, err = call(
        plain.url,
        "add",
        "1",
        "1",
        "-H",
        "X-Trace: abc",
        "--header",
        "User-Agent: me/1",
        "-w",
        str(capture),
    )
    assert code == 0, err
    (record,) = read_capture(capture)
    headers = [(k.lower(), v) for k, v in record.request.headers]
    assert ("x-trace", "abc") in headers
    assert [v for k, v in headers if k == "user-agent"] == ["me/1"]


def test_transport_failures_exit_3_with_the_reason_on_stderr(tmp_path: Path) -> None:
    port = free_port()
    code, out, err = call(f"http://127.0.0.1:{port}", "add", "1", "2")
    assert (code, out) == (3, "")
    assert "connection refused" in err
    # A server that never answers: --timeout.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        code, out, err = call(url, "add", "1", "2", "--timeout", "0.5")
    assert (code, out) == (3, "")
    assert "timed out after 0.5 s" in err


def test_an_answer_that_is_not_xml_rpc_exits_3(plain: Running) -> None:
    # The demo server's / is a plain-text page, not an XML-RPC endpoint.
    code, out, err = call(plain.url + "/nope", "add", "1", "2")
    assert code == 3
    assert out == ""
    assert "HTTP 404" in err or "not XML-RPC" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["http://127.0.0.1:1", "add", "i4:x"], "argument 1 ('i4:x'): i4: 'x' is not an integer"),
        (["http://127.0.0.1:1", "add", "1", "[1,"], "argument 2"),
        (["ftp://127.0.0.1:1", "add"], "http:// or https://"),
        (["http://127.0.0.1:1", "add", "@/no/such/file"], "cannot read /no/such/file"),
        (["http://127.0.0.1:1", "add", "--timeout", "0"], "--timeout"),
        (["http://127.0.0.1:1", "add", "--header", "nocolon"], "'Name: value'"),
        (["http://127.0.0.1:1", "add", "--proxy", "socks5://x:1"], "only http:// proxies"),
        (["http://127.0.0.1:1", "add", "--cafile", "/no/such.pem"], "no such CA file"),
        (["http://127.0.0.1:1", "add", "--insecure", "--ca", __file__], "contradict"),
        (["http://127.0.0.1:1", "add", "i8:99999999999999999999"], "does not fit"),
    ],
)
def test_usage_errors_exit_2_on_stderr(args: list[str], message: str) -> None:
    code, out, err = call(*args)
    assert (code, out) == (2, "")
    assert message in err


def test_a_write_file_that_is_not_a_capture_is_refused_before_calling(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    code, out, err = call("http://127.0.0.1:1", "add", "1", "2", "-w", str(notes))
    assert (code, out) == (3, "")
    assert f"cannot write {notes}" in err
    assert "connection refused" not in err  # nothing was sent
    assert notes.read_text() == "my notes\n"


def test_raw_and_json_are_exclusive() -> None:
    code, _, err = call("--raw", "--json", "http://127.0.0.1:1", "add")
    assert code == 2
    assert "not allowed with" in err


def test_help_shows_the_argument_syntax_and_examples() -> None:
    result = run_rpcspy("call", "--help")
    text = result.stdout.decode()
    assert result.returncode == 0
    for form in ("i4:5", "string:x", "@FILE", "base64:", "datetime:", "nil", "json:", "typed:"):
        assert form in text
    assert "\nexamples:\n  rpcspy call " in text
