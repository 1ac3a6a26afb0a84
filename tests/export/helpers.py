"""What the export tests share: a capture recorded by the real proxy, and comparing calls.

``record_capture`` runs the rpcspy proxy (reverse mode, ``rpcspy.proxy.background``) in front
of the demo server and makes real calls through it with the stdlib client and raw sockets:
plain calls, a fault, a multicall, a gzip-compressed answer and a gzip-compressed request, Basic
credentials (redacted in the capture), a body in ISO-8859-1 (not UTF-8), a binary body that is
not XML-RPC (recorded because ``/RPC2`` is watched), an answer over ``max_body`` (kept without
its body: a problem the proxy notes), and ``demo.crash`` (no response at all).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import xmlrpc.client
from pathlib import Path

from rpcspy.capture import CallRecord, CaptureWriter, read_capture
from rpcspy.ingest import ImportCounts, InlineRecorder, import_exchanges
from rpcspy.ingest.har import read_har
from rpcspy.proxy import ProxyConfig
from rpcspy.server import DemoServer, ServerConfig
from tests.ingest.helpers import FIXTURES
from tests.proxy.helpers import ThreadedProxy, raw_post

RPCSPY = str(Path(sys.executable).with_name("rpcspy"))
#: The HAR mitmdump wrote (``--set hardump=``) of calls to the demo server: the import fixture.
MITMDUMP_HAR = FIXTURES / "mitm.har"
MITMDUMP = str(Path(sys.executable).with_name("mitmdump"))

#: What the recorded capture holds, in order (the method as the record names it).
CALLS = (
    "echo",
    "add",
    "demo.fault",
    "system.multicall",
    "echo",  # a gzip answer
    "echo",  # a gzip request
    "echo",  # with Basic credentials
    "echo",  # ISO-8859-1
    None,  # binary, not XML-RPC
    "demo.large",  # the answer over max_body
    "demo.crash",  # no response
)
#: The proxy's cut for bodies in the recorded capture: demo.large(MAX_BODY * 2) goes past it.
MAX_BODY = 100_000
LATIN1_BODY = (
    b"<?xml version='1.0' encoding='ISO-8859-1'?>\n<methodCall><methodName>echo</methodName>"
    b"<params><param><value><string>caf\xe9 cr\xe8me</string></value></param></params>"
    b"</methodCall>\n"
)
BINARY_BODY = bytes(range(256)) + b"\x00\xff not XML-RPC \x80"


def _calls(port: int) -> None:
    url = f"http://127.0.0.1:{port}/RPC2"
    c = xmlrpc.client.ServerProxy(url, allow_none=True)
    c.echo("hello")
    c.add(2, 3)
    with contextlib.suppress(xmlrpc.client.Fault):
        c.demo.fault(4, "four")
    multi = xmlrpc.client.MultiCall(c)
    multi.echo("m")
    multi.demo.fault(9, "nine")
    multi()
    c.echo("gzip answer " * 300)  # over 1400 bytes: the demo server gzips its answer
    zipped = xmlrpc.client.Transport()
    zipped.encode_threshold = 0
    xmlrpc.client.ServerProxy(url, transport=zipped).echo("zipped " * 50)
    xmlrpc.client.ServerProxy(f"http://alice:s3cret-pw@127.0.0.1:{port}/RPC2").echo("auth")
    assert raw_post(port, LATIN1_BODY)[0] == 200
    raw_post(port, BINARY_BODY, content_type="application/octet-stream")
    plain = xmlrpc.client.Transport()
    plain.accept_gzip_encoding = False
    xmlrpc.client.ServerProxy(url, transport=plain).demo.large(MAX_BODY * 2)
    with contextlib.suppress(xmlrpc.client.ProtocolError, OSError):
        c.demo.crash()


def record_capture(capture: Path, confdir: Path) -> Path:
    """Record ``CALLS`` through the rpcspy proxy into ``capture``; returns it."""
    with DemoServer(ServerConfig(port=0, quiet=True)) as demo:
        config = ProxyConfig(
            target=demo.base_url,
            listen_port=0,
            capture=capture,
            confdir=confdir,
            quiet=True,
            watch=("/RPC2",),
            max_body=MAX_BODY,
        )
        with ThreadedProxy(config) as proxy:
            _calls(proxy.port)
            proxy.wait_records(len(CALLS))
    return capture


def import_har(har: Path, out: Path) -> list[CallRecord]:
    """``rpcspy import`` of a HAR, the way the command does it; the records written."""
    counts = ImportCounts()
    with CaptureWriter(out, append=False) as writer:
        import_exchanges(read_har(har), InlineRecorder(writer, counts), counts)
    return list(read_capture(out))


def rpcspy(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the ``rpcspy`` command line."""
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([RPCSPY, *args], capture_output=True, text=True, timeout=timeout, env=env)


def mitmdump_reads(path: Path, confdir: Path) -> list[str]:
    """The flows ``mitmdump -nr path`` prints (one request line each); fails if it fails."""
    done = subprocess.run(
        [MITMDUMP, "-nr", str(path), "--set", f"confdir={confdir}", "--set", "flow_detail=1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [line for line in done.stdout.splitlines() if " POST " in line]


#: Fields of a record that an export and import round trip changes by design: an import makes
#: new records (a new id), numbered from 1 in the new capture, marked as imported.
CHANGED_BY_DESIGN = ("id", "seq", "origin")
#: Every other field of a record, compared as it is: the envelope, both halves (headers, bodies
#: byte for byte, content encoding, the decoded call and answer), sub-calls, problems, findings.
KEPT = (
    "started",
    "ended",
    "client",
    "server",
    "scheme",
    "host",
    "port",
    "path",
    "status",
    "request",
    "response",
    "subcalls",
    "problems",
    "error",
    "redacted",
    "findings",
    "protocol",
    "transport",
)


def assert_same_calls(original: list[CallRecord], back: list[CallRecord]) -> None:
    """``back`` (imported from an export of ``original``) holds the same calls, field by field."""
    assert len(back) == len(original)
    fields = set(CallRecord.__dataclass_fields__)
    assert fields == {*KEPT, *CHANGED_BY_DESIGN, "subcalls"}  # a new field must be listed
    for i, (a, b) in enumerate(zip(original, back, strict=True), start=1):
        for name in KEPT:
            assert getattr(b, name) == getattr(a, name), f"record {a.seq}: {name} differs"
        assert (b.origin, b.seq) == ("import", i)
        assert b.id != a.id
