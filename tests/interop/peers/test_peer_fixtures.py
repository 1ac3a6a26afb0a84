"""The recorded peer fixtures are whole, byte-exact and described truly by manifest.json.

These need only Python: the peers themselves are exercised by sweep.py, which
made the fixtures (see tests/data/peers/README.md).
"""

from __future__ import annotations

import io
import json
import sys
import threading
import xmlrpc.client
import xmlrpc.server
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from deviations import analyze, split_http, stdlib_verdict  # noqa: E402
from record_relay import Relay, read_message  # noqa: E402

DATA = HERE.parents[2] / "tests" / "data" / "peers"
MANIFEST = json.loads((DATA / "manifest.json").read_text())
RECORDED = [e for e in MANIFEST["exchanges"] if e["files"]]


def _id(e: dict) -> str:
    return e["files"]["request"].removesuffix(".request.http")


def test_manifest_covers_every_fixture_file() -> None:
    listed = {f for e in RECORDED for f in e["files"].values()}
    on_disk = {str(p.relative_to(DATA)) for p in DATA.rglob("*.http")}
    assert listed == on_disk


@pytest.mark.parametrize("entry", RECORDED, ids=_id)
def test_fixture_is_one_whole_http_message(entry: dict) -> None:
    for side, response in (("request", False), ("response", True)):
        raw = (DATA / entry["files"][side]).read_bytes()
        stream = io.BytesIO(raw)
        message, _ = read_message(stream, response=response)
        assert message == raw, f"{side}: framing leaves {len(raw) - len(message)} bytes"


@pytest.mark.parametrize("entry", RECORDED, ids=_id)
def test_manifest_findings_match_the_bytes(entry: dict) -> None:
    for side in ("request", "response"):
        raw = (DATA / entry["files"][side]).read_bytes()
        auto = [d for d in entry[side]["deviations"] if d.get("by") != "hand"]
        assert analyze(raw, request=side == "request") == auto
        verdict = stdlib_verdict(split_http(raw)[2])
        # the message text may differ between Python versions;
        # accept/raise and the error type may not
        assert verdict["stdlib"].split(":", 1)[0] == entry[side]["stdlib"].split(":", 1)[0]


def test_relay_records_exact_bytes() -> None:
    server = xmlrpc.server.SimpleXMLRPCServer(("127.0.0.1", 0), logRequests=False)
    server.register_function(lambda a, b: a + b, "add")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    relay = Relay("127.0.0.1", server.server_address[1]).start()
    try:
        proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{relay.port}/RPC2")
        assert proxy.add(2, 3) == 5
        [(request, response)] = relay.take()
    finally:
        relay.stop()
        server.shutdown()
        server.server_close()
    assert request.startswith(b"POST /RPC2 HTTP/1.1\r\n")
    assert xmlrpc.client.loads(split_http(request)[2]) == ((2, 3), "add")
    assert response.startswith(b"HTTP/1.0 200 OK\r\n")
    assert xmlrpc.client.loads(split_http(response)[2]) == ((5,), None)
