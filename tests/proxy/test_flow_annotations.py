"""What mitmproxy shows of a recorded flow: ``rpcspy.ok`` agrees with the filter language's ``ok``,
the call is the flow's comment, calls that are not ok are marked, and the traffic is untouched."""

from __future__ import annotations

import http.client
import signal
import subprocess
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest
from mitmproxy import flowfilter
from mitmproxy import http as mhttp
from mitmproxy import io as mio
from mitmproxy.test import tflow

from rpcspy.capture import CallRecord, read_capture
from rpcspy.capture.summary import call_line, outcome
from rpcspy.filter import parse_filter
from rpcspy.proxy.addon import FLOW_MARKERS, annotate_flow, record_metadata
from rpcspy.server import DemoServer, ServerConfig
from tests.conftest import REPO, free_port
from tests.proxy.helpers import MITMDUMP, ProxyTransport, killing, stop_process, wait_listening
from tests.wording import _answer, _record, call_body, cases, result_body

SCRIPT = REPO / "addons" / "rpcspy_record.py"


def every_outcome() -> dict[str, CallRecord]:
    """A record of every outcome (``tests/wording.py``) plus a multicall whose sub-calls are ok."""
    records = {case.name: case.record for case in cases()}
    body = call_body(
        "system.multicall",
        [{"methodName": "add", "params": [2, 3]}, {"methodName": "echo", "params": ["x"]}],
    )
    records["multicall-ok"] = _record(8, body, _answer(result_body([[5], ["X"]])), ms=3.0)
    return records


@pytest.mark.parametrize("name", sorted(every_outcome()))
def test_the_flow_metadata_ok_is_the_filter_ok(name: str) -> None:
    record = every_outcome()[name]
    ok = parse_filter("ok").matches(record)
    assert parse_filter("not ok").matches(record) is not ok
    metadata = record_metadata(record)
    assert metadata["rpcspy.ok"] is ok
    assert metadata["rpcspy"]["ok"] is ok
    flow = tflow.tflow(resp=True)
    annotate_flow(flow, record)
    # mitmproxy's own filters on the flow say the same: ~meta, and the marker rpcspy sets.
    assert flowfilter.match('~meta "rpcspy.ok: False"', flow) is not ok
    assert flowfilter.match("~marked", flow) is not ok
    assert flow.comment == call_line(record, 100)


def test_the_sub_call_fault_is_not_ok_anywhere() -> None:
    records = every_outcome()
    assert records["multicall"].ok  # the reply itself is a clean response ...
    assert record_metadata(records["multicall"])["rpcspy.ok"] is False  # ... with a fault inside
    assert record_metadata(records["multicall-ok"])["rpcspy.ok"] is True


def test_the_documented_flow_filters_find_what_they_say() -> None:
    doc = (REPO / "docs" / "proxy.md").read_text()
    section = doc.split("### Flow metadata and `~meta`", 1)[1].split("\n### ", 1)[0]
    block = section.split("```\n", 2)[1]
    filters = {line[:45].strip(): line[45:].strip() for line in block.splitlines()}
    flows = {}
    for name, record in every_outcome().items():
        flow = tflow.tflow(resp=True)
        annotate_flow(flow, record)
        flows[name] = flow
    found = {
        expr: sorted(n for n, f in flows.items() if flowfilter.match(expr, f)) for expr in filters
    }
    not_ok = sorted(n for n in flows if n not in ("ok", "multicall-ok"))
    assert found['~meta "rpcspy.ok: False"'] == not_ok
    assert found["~marked"] == not_ok
    assert found['~meta "rpcspy.fault: "'] == ["fault"]
    assert found['~meta "rpcspy.method: system.multicall$"'] == ["multicall", "multicall-ok"]
    assert found['~comment "^add[(]"'] == ["connection-error"]  # tests/wording.py's add(2, 3)


def test_a_marker_the_user_set_is_kept() -> None:
    flow = tflow.tflow(resp=True)
    flow.marked = ":star:"
    annotate_flow(flow, every_outcome()["fault"])
    assert flow.marked == ":star:"


def test_call_lines_read_like_the_summary() -> None:
    records = every_outcome()
    assert call_line(records["ok"]) == 'echo("hi") → "HI"'
    assert call_line(records["fault"]) == "div(1, 0) → fault 4: boom"
    assert call_line(records["multicall"]) == "system.multicall[2] → ok, 1/2 faulted"
    assert call_line(records["multicall-ok"]) == "system.multicall[2] → ok"
    assert call_line(records["http-error"]) == 'echo("x") → http 401'
    assert call_line(records["connection-error"]) == "add(2, 3) → error: refused"
    assert call_line(records["no-response"]) == 'echo("y") → no response'
    assert call_line(records["problem"]).startswith("demo.crash() → problem: response ")
    long = _record(9, call_body("echo", "x" * 500), _answer(result_body("y\n" * 500)), ms=1.0)
    line = call_line(long, 80)
    assert len(line) <= 80 and "\n" not in line and " → " in line


# ---------------------------------------------------------------- a real mitmdump


@pytest.fixture
def auth_demo() -> Iterator[DemoServer]:
    config = ServerConfig(port=0, quiet=True, user="alice", password="wonderland")
    with DemoServer(config) as server:
        yield server


def post_via_proxy(proxy_port: int, url: str, body: bytes) -> bytes:
    """POST exact bytes through the regular proxy; the response body exactly as received."""
    conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=15)
    try:
        conn.request("POST", url, body, {"Content-Type": "text/xml"})
        return conn.getresponse().read()
    finally:
        conn.close()


def post_direct(server: DemoServer, body: bytes) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
    try:
        conn.request("POST", "/RPC2", body, {"Content-Type": "text/xml"})
        return conn.getresponse().read()
    finally:
        conn.close()


def test_mitmdump_comments_and_marks_flows_and_leaves_the_traffic_alone(
    demo: DemoServer, auth_demo: DemoServer, tmp_path: Path, confdir: Path
) -> None:
    capture = tmp_path / "calls.jsonl"
    flows_file = tmp_path / "flows.mitm"
    port = free_port()
    proc = subprocess.Popen(
        [
            MITMDUMP,
            "-s",
            str(SCRIPT),
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            str(port),
            "--set",
            f"confdir={confdir}",
            "--set",
            f"rpcspy_capture={capture}",
            "-w",
            str(flows_file),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    add_body = call_body("add", 2, 3)
    with killing(proc):
        wait_listening(port)
        client = xmlrpc.client.ServerProxy(demo.url, transport=ProxyTransport(port))
        # The exact bytes through the proxy are the server's own.
        through = post_via_proxy(port, demo.url, add_body)
        assert through == post_direct(demo, add_body)
        with pytest.raises(xmlrpc.client.Fault):
            client.demo.fault(4, "Too many parameters")
        faulty = xmlrpc.client.MultiCall(client)
        faulty.add(2, 3)
        faulty.echo("inside")
        faulty.demo.fault(42, "x")
        faulty.uname()
        results = faulty()
        assert (results[0], results[1]) == (5, "INSIDE")
        clean = xmlrpc.client.MultiCall(client)
        clean.add(1, 1)
        clean.echo("y")
        assert tuple(clean()) == (2, "Y")
        anonymous = xmlrpc.client.ServerProxy(auth_demo.url, transport=ProxyTransport(port))
        with pytest.raises(xmlrpc.client.ProtocolError):
            anonymous.echo("x")
        with pytest.raises(xmlrpc.client.ProtocolError):
            client.demo.crash()
        _out, err = stop_process(proc, signal.SIGINT)
    assert proc.returncode == 0, err.decode()[-3000:]

    with open(flows_file, "rb") as f:
        saved = [fl for fl in mio.FlowReader(f).stream() if isinstance(fl, mhttp.HTTPFlow)]
    comments = [fl.comment for fl in saved]
    assert comments[:5] == [
        "add(2, 3) → 5",
        'demo.fault(4, "Too many parameters") → fault 4: Too many parameters',
        "system.multicall[4] → ok, 1/4 faulted",
        "system.multicall[2] → ok",
        'echo("x") → http 401',
    ]
    assert comments[5].startswith("demo.crash() → error: ")
    assert [fl.marked for fl in saved] == ["", ":warning:", ":warning:", "", ":x:", ":x:"]
    not_ok = [flowfilter.match('~meta "rpcspy.ok: False"', fl) for fl in saved]
    assert not_ok == [bool(fl.marked) for fl in saved]

    # The comment is the summary's line for the record the capture holds for that flow.
    records = {r.id: r for r in read_capture(capture)}
    assert len(records) == len(saved) == 6
    for fl in saved:
        record = records[fl.metadata["rpcspy.id"]]
        assert fl.comment == call_line(record, 100)
        assert fl.marked == FLOW_MARKERS.get(outcome(record).kind, "")
        # Untouched traffic: the flow holds the bytes the capture holds, as they crossed.
        assert fl.request.raw_content == record.request.body
        if fl.response is not None and record.response is not None:
            assert fl.response.raw_content == record.response.body
    assert saved[0].request.raw_content == add_body
    assert saved[0].response is not None and saved[0].response.raw_content == through
