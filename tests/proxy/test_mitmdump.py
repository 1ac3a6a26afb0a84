"""The same addon loaded by a real ``mitmdump -s addons/rpcspy_record.py``."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import urllib.parse
import urllib.request
import xmlrpc.client
from pathlib import Path
from typing import Any

from mitmproxy import flowfilter
from mitmproxy import io as mio

from rpcspy.capture import read_capture
from rpcspy.server import DemoServer
from rpcspy.xmlrpc import Fault
from tests.conftest import REPO, free_port
from tests.proxy.helpers import (
    MITMDUMP,
    ProxyTransport,
    killing,
    stop_process,
    wait_for,
    wait_listening,
)

SCRIPT = REPO / "addons" / "rpcspy_record.py"


def start_mitmdump(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [MITMDUMP, "-s", str(SCRIPT), "--listen-host", "127.0.0.1", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def test_mitmdump_records_calls_and_saves_metadata(
    demo: DemoServer, tmp_path: Path, confdir: Path
) -> None:
    capture = tmp_path / "dump.jsonl"
    flows = tmp_path / "flows.mitm"
    port = free_port()
    proc = start_mitmdump(
        "--listen-port",
        str(port),
        "--mode",
        f"reverse:{demo.base_url}",
        "--set",
        f"confdir={confdir}",
        "--set",
        f"rpcspy_capture={capture}",
        "--set",
        "connection_strategy=lazy",
        "-w",
        str(flows),
    )
    with killing(proc):
        wait_listening(port)
        c = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2")
        assert c.echo("dump") == "DUMP"
        try:
            c.demo.fault(3, "three")
        except xmlrpc.client.Fault as fault:
            assert fault.faultCode == 3
        multi = xmlrpc.client.MultiCall(c)
        multi.echo("m")
        multi.demo.fault(9, "nine")
        results = multi()
        assert results[0] == "M"
        out, err = stop_process(proc, signal.SIGINT)
    assert proc.returncode == 0, err.decode()[-3000:]
    log = out.decode()
    assert "rpcspy:" in log and "echo" in log and "fault 3: three" in log

    records = list(read_capture(capture))
    assert [r.method for r in records] == ["echo", "demo.fault", "system.multicall"]
    assert records[0].ok
    assert isinstance(records[1].reply, Fault)
    assert records[2].is_multicall and isinstance(records[2].subcalls[1].result, Fault)

    with open(flows, "rb") as f:
        saved = [fl for fl in mio.FlowReader(f).stream()]
    assert len(saved) == 3
    assert [fl.metadata["rpcspy.method"] for fl in saved] == [
        "echo",
        "demo.fault",
        "system.multicall",
    ]
    assert [fl.metadata["rpcspy.id"] for fl in saved] == [r.id for r in records]
    faults = [fl for fl in saved if flowfilter.match('~meta "rpcspy.fault: "', fl)]
    assert [fl.metadata["rpcspy.fault"] for fl in faults] == [3]
    assert saved[2].metadata["rpcspy.faults_inside"] == 1


def test_mitmdump_regular_mode_with_watch(demo: DemoServer, tmp_path: Path, confdir: Path) -> None:
    capture = tmp_path / "regular.jsonl"
    port = free_port()
    proc = start_mitmdump(
        "--listen-port",
        str(port),
        "--set",
        f"confdir={confdir}",
        "--set",
        f"rpcspy_capture={capture}",
        "--set",
        "rpcspy_watch=/RPC2",
        "--set",
        "rpcspy_log=false",
        "-q",
    )
    with killing(proc):
        wait_listening(port)
        via = xmlrpc.client.ServerProxy(demo.url, transport=ProxyTransport(port))
        assert via.echo("watched") == "WATCHED"
        other = xmlrpc.client.ServerProxy(demo.base_url + "/", transport=ProxyTransport(port))
        assert other.echo("ignored") == "IGNORED"
        wait_for(lambda: capture.exists() and capture.stat().st_size > 0)
        out, _err = stop_process(proc, signal.SIGTERM)
    assert b"rpcspy:" not in out
    records = list(read_capture(capture))
    assert [(r.path, r.method) for r in records] == [("/RPC2", "echo")]


def test_mitmweb_loads_the_addon_and_shows_calls_decoded(
    demo: DemoServer, tmp_path: Path, confdir: Path
) -> None:
    capture = tmp_path / "web.jsonl"
    port, web_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            str(Path(MITMDUMP).with_name("mitmweb")),
            "-s",
            str(SCRIPT),
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            str(port),
            "--mode",
            f"reverse:{demo.base_url}",
            "--set",
            f"confdir={confdir}",
            "--set",
            f"rpcspy_capture={capture}",
            "--set",
            "web_open_browser=false",
            "--set",
            f"web_port={web_port}",
            "--set",
            "web_password=rpcspy-test",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def get(path: str) -> object:
        request = urllib.request.Request(
            f"http://127.0.0.1:{web_port}{path}", headers={"Authorization": "Bearer rpcspy-test"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def dump(flow_filter: str) -> list[Any]:
        query = urllib.parse.urlencode({"filter": flow_filter})
        request = urllib.request.Request(
            f"http://127.0.0.1:{web_port}/flows/dump?{query}",
            headers={"Authorization": "Bearer rpcspy-test"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return list(mio.FlowReader(io.BytesIO(answer.read())).stream())

    with killing(proc):
        wait_listening(port)
        wait_listening(web_port)
        multi = xmlrpc.client.MultiCall(xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2"))
        multi.echo("web")
        multi.demo.fault(3, "x")
        assert multi()[0] == "WEB"
        flows = wait_for(lambda: get("/flows"))
        assert isinstance(flows, list)
        flow_id = flows[0]["id"]
        view = get(f"/flows/{flow_id}/response/content/auto.json")
        assert isinstance(view, dict)
        # mitmweb's filters run in the proxy, on the flows' metadata.
        multicalls = dump("~meta 'rpcspy.faults_inside: 1'")

        # The flow list shows the call and marks it: a sub-call faulted.
        def commented() -> list[Any]:
            every = get("/flows")
            assert isinstance(every, list)
            return [f for f in every if f.get("comment")]

        listed = wait_for(commented)
        faults = dump("~meta 'rpcspy.fault: '")
        out, _ = stop_process(proc, signal.SIGTERM)
    assert [f.metadata["rpcspy.method"] for f in multicalls] == ["system.multicall"]
    assert [(f["comment"], f["marked"]) for f in listed] == [
        ("system.multicall[2] → ok, 1/2 faulted", "⚠")  # mitmweb sends the emoji
    ]
    assert faults == []
    assert view["view_name"] == "XML-RPC"
    text = view["text"]
    assert '[0] echo(string "web") -> string "WEB"' in text
    assert '[1] demo.fault(int 3, string "x") -> fault 3: x' in text
    assert [r.method for r in read_capture(capture)] == ["system.multicall"]
    assert b"rpcspy:" in out
