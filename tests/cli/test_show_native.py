"""``rpcspy show`` on captures of ONC RPC and RPyC calls (made from real peers' bytes by
tests/nativecaps.py), run as the installed command: the table, one call in full, ``--json``
and ``--filter``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rpcspy.capture import read_capture
from rpcspy.capture.schema import record_to_json
from tests.cli.test_show import run
from tests.nativecaps import native_capture, oncrpc_records, rpyc_records, write_capture


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    return native_capture(tmp_path / "native.jsonl")


def _rows(stdout: str) -> dict[int, str]:
    rows = {}
    for line in stdout.splitlines()[1:-1]:
        head = line[:5].strip()
        if head.isdigit():
            rows.setdefault(int(head), line)
    return rows


def test_the_table_shows_protocol_call_result_and_outcome(capture: Path) -> None:
    done = run("show", str(capture))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == f"{len(lines) - 2} calls"
    echo = next(line for line in lines if ".ECHO(" in line)
    # (the result too when there is room: not at 160 columns for this one)
    assert "oncrpc RPC_EXAMPLE_PROG.RPC_EXAMPLE_VERS.ECHO(string 'hello, rpcspy')" in echo
    assert echo.split()[-5:] == ["ok", "1.0", "ms", "136", "B"]
    add = next(line for line in lines if ".ADD(intpair{a: int 2, b: int 40})" in line)
    assert "-> int 42 " in add
    unavailable = next(line for line in lines if "536871065.1.99(" in line)
    assert " PROC_UNAVAIL " in unavailable
    mismatch = next(line for line in lines if "536871065.7.0(" in line)
    assert "PROG_MISMATCH (supported 1-1)" in mismatch
    getcwd = next(line for line in lines if "modules.os.getcwd()" in line)
    assert "rpyc modules.os.getcwd() -> '/tmp/rpyc-srv-" in getcwd
    close = next(line for line in lines if "rpyc close()" in line)
    assert " no reply " in close


def test_the_table_names_udp(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "udp.jsonl", oncrpc_records("example_udp"))
    done = run("show", str(path))
    assert "oncrpc/udp RPC_EXAMPLE_PROG.RPC_EXAMPLE_VERS.ECHO(" in done.stdout


def test_one_onc_rpc_call_in_full(capture: Path) -> None:
    with read_capture(capture) as reader:
        lookup = next(r for r in reader if r.method and r.method.endswith(".LOOKUP"))
    done = run("show", str(capture), "--call", str(lookup.seq))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "  oncrpc   tcp 127.0.0.1:2049\n" in out and "http" not in out
    for line in (
        "  xid  2584974218 (0x9a13938a)",
        "  program  RPC_EXAMPLE_PROG  536871065 (0x20000099)",
        "  procedure  LOOKUP  3",
        "  credential  AUTH_SYS uid 0 gid 0 gids [] machine 'vm' stamp 1796143255",
        "  verifier  AUTH_NONE",
        "  args  uint 1",
        "  status  SUCCESS",
        "  result  union lookup_result  <int 0>",
        "    found  struct person",
        "      name  string 'Ada Lovelace'",
        "          name  string 'Charles Babbage'",
        "raw request (72 bytes)",
        "  00000000  80 00 00 44 9a 13 93 8a  00 00 00 00 00 00 00 02  |...D............|",
        "raw response (148 bytes)",
        "  00000020  00 00 00 0c 41 64 61 20  4c 6f 76 65 6c 61 63 65  |....Ada Lovelace|",
    ):
        assert line in out.splitlines(), line


def test_a_mismatch_shows_the_supported_range(capture: Path) -> None:
    with read_capture(capture) as reader:
        seq = next(r.seq for r in reader if r.method == "536871065.7.0")
    out = run("show", str(capture), "--call", str(seq)).stdout
    assert "  outcome  PROG_MISMATCH (supported 1-1)" in out
    assert "  supported versions  1 to 1" in out.splitlines()
    assert "  credential  AUTH_NONE" in out.splitlines()


def test_one_rpyc_operation_in_full(capture: Path) -> None:
    with read_capture(capture) as reader:
        seq = next(
            r.seq for r in reader if r.protocol == "rpyc" and r.method == "modules.os.getcwd"
        )
    out = run("show", str(capture), "--call", str(seq)).stdout
    lines = out.splitlines()
    assert "  rpyc     tcp 127.0.0.1:18812" in lines
    assert "operation" in lines and "  handler  getattr" in lines
    assert "  modules.os.getcwd -> <netref builtins.builtin_function_or_method>" in lines
    assert "  obj  <netref modules.os>" in lines
    assert "  name  'getcwd'" in lines
    assert "  value  <netref modules.os.getcwd>" in lines
    assert any(line.startswith("raw request (") for line in lines)


def test_an_rpyc_exception_in_full(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "tour.jsonl", rpyc_records("tour"))
    with read_capture(path) as reader:
        seq = next(r.seq for r in reader if r.method == "modules.os.no_such_function")
    lines = run("show", str(path), "--call", str(seq)).stdout.splitlines()
    assert "  outcome  AttributeError" in lines
    assert "exception" in lines and "  class  AttributeError" in lines


def test_json_is_the_whole_record_with_protocol_in_the_summary(capture: Path) -> None:
    done = run("show", str(capture), "--json")
    with read_capture(capture) as reader:
        records = list(reader)
    objs = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(objs) == len(records)
    for obj, record in zip(objs, records, strict=True):
        summary = obj.pop("summary")
        assert obj == json.loads(json.dumps(record_to_json(record)))
        assert summary["protocol"] == record.protocol and summary["transport"] == "tcp"
        assert summary["method"] == record.method
        assert summary["fault_code"] == record.fault_code
    one = run("show", str(capture), "--call", "1", "--json").stdout
    assert json.loads(one) == json.loads(json.dumps(record_to_json(records[0])))


def test_filter_on_native_calls(capture: Path) -> None:
    done = run("show", str(capture), "--filter", "fault")
    rows = _rows(done.stdout)
    assert done.stdout.splitlines()[-1] == "3 calls"
    outcomes = ("PROC_UNAVAIL", "PROG_MISMATCH", "rpyc next(iter(modules.sys.path))  ")
    assert all(any(o in r for o in outcomes) for r in rows.values())
    assert "StopIteration" in rows[max(rows)]
    done = run("show", str(capture), "--filter", "method:PMAP_PROG.* and ok")
    assert done.stdout.splitlines()[-1] == "2 calls"
    done = run("show", str(capture), "--filter", "Lovelace")
    assert done.stdout.splitlines()[-1] == "1 call" and ".LOOKUP(uint 1)" in done.stdout
