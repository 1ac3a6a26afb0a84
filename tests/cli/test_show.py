"""``rpcspy show`` on real capture files, run as the installed command."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import xmlrpc.client
from pathlib import Path

import pytest

from rpcspy.capture import CaptureWriter, HttpMessage, build_record

RPCSPY = str(Path(sys.executable).with_name("rpcspy"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "160"}
    return subprocess.run([RPCSPY, *args], capture_output=True, text=True, timeout=60, env=env)


def exchange(seq: int, request: bytes, response: bytes | None, **extra: object) -> object:
    # Fixed ids: a random one could start with the digits of a call number a test asks for.
    extra.setdefault("id", f"{seq:x}" + "e" * 31)
    return build_record(
        HttpMessage(
            [("Content-Type", "text/xml"), ("Authorization", "Basic YWxpY2U6cHc=")], request
        ),
        HttpMessage([("Content-Type", "text/xml")], response),
        started=1_763_900_000.0 + seq,
        ended=1_763_900_000.0 + seq + 0.0125,
        client=("127.0.0.1", 40000 + seq),
        server=("127.0.0.1", 8000),
        scheme="http",
        host="127.0.0.1",
        port=8000,
        path="/RPC2",
        status=200 if response is not None else None,
        seq=seq,
        **extra,  # type: ignore[arg-type]
    )


def call(method: str, *params: object) -> bytes:
    return xmlrpc.client.dumps(params, method, allow_none=True).encode()


def result(value: object) -> bytes:
    return xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode()


def fault(code: int, text: str) -> bytes:
    return xmlrpc.client.dumps(xmlrpc.client.Fault(code, text), methodresponse=True).encode()


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    path = tmp_path / "session.jsonl"
    multicall = call(
        "system.multicall",
        [
            {"methodName": "add", "params": [2, 3]},
            {"methodName": "demo.fault", "params": [42, "inside"]},
        ],
    )
    multicall_answer = result([[5], {"faultCode": 42, "faultString": "inside"}])
    with CaptureWriter(path) as writer:
        writer.write(exchange(1, call("echo", "hello"), result("HELLO")))
        writer.write(
            exchange(
                2, call("demo.fault", 4, "Too many parameters"), fault(4, "Too many parameters")
            )
        )
        writer.write(exchange(3, multicall, multicall_answer))
        writer.write(
            exchange(
                4,
                b"<methodCall><methodName>x</methodName><params><param><value><i4>99999999999</i4></value></param></params></methodCall>",
                result(1),
                strict=True,  # decoded strictly, the out-of-range i4 is a problem
            )
        )
        writer.write(exchange(5, call("demo.crash"), None, error="upstream closed the connection"))
    return path


def test_table_lists_every_call_with_its_outcome(capture: Path) -> None:
    out = run("show", str(capture))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:4] == ["#", "time", "client", "call"]
    rows = {
        int(line.split()[0]): line
        for line in lines[1:-1]
        if line.split() and line.split()[0].isdigit()
    }
    assert 'echo("hello") -> "HELLO"' in rows[1] and " ok " in rows[1]
    assert "fault 4" in rows[2]
    assert "system.multicall [2 calls]" in rows[3] and " ok, 1/2 faulted " in rows[3]
    assert "problem" in rows[4]
    assert "error" in rows[5]
    assert "└ add(2, 3)" in out.stdout
    assert '└ demo.fault(42, "inside")' in out.stdout
    assert lines[-1] == "5 calls"


def test_json_is_one_whole_call_per_line_with_its_summary(capture: Path) -> None:
    out = run("show", str(capture), "--json")
    assert out.returncode == 0
    calls = [json.loads(line) for line in out.stdout.splitlines()]
    # The whole record, as in the capture file: params and results included.
    assert calls[0]["request"]["call"] == {"method": "echo", "params": [{"string": "hello"}]}
    assert calls[0]["response"]["result"] == {"string": "HELLO"}
    assert calls[1]["response"]["fault"]["code"] == 4
    assert [s["index"] for s in calls[2]["subcalls"]] == [0, 1]
    assert [c["seq"] for c in calls] == [1, 2, 3, 4, 5]
    rows = [c["summary"] for c in calls]
    assert [r["method"] for r in rows] == [
        "echo",
        "demo.fault",
        "system.multicall",
        "x",
        "demo.crash",
    ]
    # The agreed wording (rpcspy.capture.summary): a multicall with a faulted sub-call says so.
    assert [r["status"] for r in rows] == ["ok", "fault 4", "ok, 1/2 faulted", "problem", "error"]
    assert rows[1]["fault_code"] == 4
    assert rows[2]["multicall"] == 2
    assert rows[0]["duration_ms"] == pytest.approx(12.5, abs=1e-3)
    assert "i4" in rows[3]["problems"][0] and rows[3]["problems"][0]


def test_call_detail_shows_types_problems_and_redacted_headers(capture: Path) -> None:
    out = run("show", str(capture), "--call", "1", "--raw")
    assert out.returncode == 0
    assert 'params[0]: string "hello"' in out.stdout
    assert 'result: string "HELLO"' in out.stdout
    assert "Authorization: Basic <redacted>" in out.stdout
    assert "YWxpY2U6cHc=" not in out.stdout
    assert "<methodName>echo</methodName>" in out.stdout
    problem = run("show", str(capture), "--call", "4")
    assert "problems" in problem.stdout
    assert "99999999999" in problem.stdout


def test_call_detail_as_json_is_the_record(capture: Path) -> None:
    out = run("show", str(capture), "--call", "3", "--json")
    record = json.loads(out.stdout)
    assert record["seq"] == 3
    assert record["request"]["call"]["method"] == "system.multicall"
    assert record["request"]["headers"][1] == ["Authorization", "Basic <redacted>"]


def test_unknown_call_is_an_input_error(capture: Path) -> None:
    out = run("show", str(capture), "--call", "99")
    assert out.returncode == 3
    assert "no call '99'" in out.stderr


def test_corrupt_lines_are_reported_skipped_and_exit_4(capture: Path) -> None:
    lines = capture.read_bytes().splitlines(keepends=True)
    lines.insert(2, b"{not json\n")
    torn = lines[-1][: len(lines[-1]) // 2]
    capture.write_bytes(b"".join(lines[:-1]) + torn)
    out = run("show", str(capture), "--json")
    assert out.returncode == 4
    assert [json.loads(x)["seq"] for x in out.stdout.splitlines()] == [1, 2, 3, 4]
    assert "line 3" in out.stderr
    assert "2 lines skipped" in out.stderr


def test_gzip_capture(tmp_path: Path, capture: Path) -> None:
    gz = tmp_path / "session.jsonl.gz"
    gz.write_bytes(gzip.compress(capture.read_bytes()))
    out = run("show", str(gz), "--json")
    assert out.returncode == 0
    assert len(out.stdout.splitlines()) == 5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such capture file"),
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not"),
        (b'{"type": "header", "format": "rpcspy-capture", "version": "9.0"}\n', "version"),
    ],
)
def test_unreadable_inputs_exit_3_with_a_clear_message(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    if content is not None:
        path.write_bytes(content)
    out = run("show", str(path))
    assert out.returncode == 3
    assert message in out.stderr.lower()
    assert out.stderr.startswith("rpcspy: error: ")


def test_output_to_a_closed_pipe_is_not_an_error(capture: Path) -> None:
    big = capture.parent / "big.jsonl"
    with CaptureWriter(big) as writer:
        for i in range(3000):
            writer.write(exchange(i, call("echo", f"n{i}"), result(f"N{i}")))
    proc = subprocess.run(
        f"{RPCSPY} show {big} | head -n 3", shell=True, capture_output=True, text=True, timeout=60
    )
    assert len(proc.stdout.splitlines()) == 3
    assert "Traceback" not in proc.stderr


def test_call_by_id_prefix(capture: Path) -> None:
    rows = [json.loads(x) for x in run("show", str(capture), "--json").stdout.splitlines()]
    target = rows[1]["id"]
    out = run("show", str(capture), "--call", "id:" + target[:12], "--json")
    assert json.loads(out.stdout)["id"] == target
    # A whole id is taken as it is.
    out = run("show", str(capture), "--call", target, "--json")
    assert json.loads(out.stdout)["id"] == target


def test_a_number_no_call_has_is_an_error_not_an_id_prefix(capture: Path) -> None:
    # Call 2's id starts with "2": "--call 29" once fell back to it as an id prefix.
    rows = [json.loads(x) for x in run("show", str(capture), "--json").stdout.splitlines()]
    assert rows[1]["id"].startswith("2e")
    out = run("show", str(capture), "--call", "2e")
    assert out.returncode == 2
    assert out.stdout == ""
    assert "give a call number (the # column), id:PREFIX or a whole id" in out.stderr
    for number in ("9", "29", "0"):
        out = run("show", str(capture), "--call", number)
        assert out.returncode == 3, number
        assert out.stdout == ""
        assert f"no call '{number}'" in out.stderr
        assert "no call has that number" in out.stderr
    out = run("show", str(capture), "--call", "id:2e")
    assert out.returncode == 0
    assert "call #2 " in out.stdout


def test_an_id_prefix_that_matches_none_or_several_is_an_error(capture: Path) -> None:
    none = run("show", str(capture), "--call", "id:ffff")
    assert none.returncode == 3
    assert "no call id starts with 'ffff'" in none.stderr
    several = run("show", str(capture), "--call", "id:")
    assert several.returncode == 2
    assert "needs the first characters of a call id" in several.stderr


def test_show_help_names_the_call_forms_and_exit_codes() -> None:
    out = run("show", "--help")
    assert "--call N|id:PREFIX" in out.stdout
    assert "--call id:9e47" in out.stdout
    assert "--call names no call in it" in out.stdout and "exit codes" in out.stdout
