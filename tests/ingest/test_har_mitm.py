"""HAR and ``.mitm`` files mitmdump wrote, imported: the calls the rpcspy proxy recorded.

``mitm.har``, ``mitm.mitm`` and ``mitm.proxy.jsonl`` come from one mitmdump run (reverse mode to
the demo server, with the rpcspy addon loaded): the same calls seen by mitmproxy's HAR export,
its flow file and the proxy's own capture.
"""

from __future__ import annotations

import base64
from pathlib import Path

import orjson

from rpcspy.capture import CaptureWriter, read_capture
from rpcspy.ingest import ImportCounts, InlineRecorder, detect_format, import_exchanges
from rpcspy.proxy.flowfile import read_flows
from tests.ingest.helpers import FIXTURES, import_file, same_call

HAR = FIXTURES / "mitm.har"
FLOWS = FIXTURES / "mitm.mitm"
PROXY = FIXTURES / "mitm.proxy.jsonl"


def test_the_formats_are_told_by_content() -> None:
    assert detect_format(HAR) == "har"
    assert detect_format(FLOWS) == "mitm"
    assert detect_format(FIXTURES / "lo.pcap") == "pcap"
    assert detect_format(PROXY) is None


def test_the_flow_file_gives_the_calls_the_proxy_recorded(tmp_path: Path) -> None:
    recorded = list(read_capture(PROXY))
    counts = ImportCounts()
    out = tmp_path / "flows.jsonl"
    with CaptureWriter(out, append=False) as writer:
        import_exchanges(read_flows(FLOWS), InlineRecorder(writer, counts), counts)
    imported = list(read_capture(out))
    assert len(imported) == len(recorded) == 6
    for a, b in zip(imported, recorded, strict=True):
        same_call(a, b)
        # The flow file keeps what the proxy keeps: peers and times too.
        assert (a.client, a.server, a.host, a.port, a.path) == (
            b.client,
            b.server,
            b.host,
            b.port,
            b.path,
        )
        assert a.started == b.started
    assert counts.skipped == 1  # the GET


def test_the_har_gives_the_calls_the_proxy_recorded(tmp_path: Path) -> None:
    recorded = list(read_capture(PROXY))
    imported, counts = import_file(HAR, tmp_path / "har.jsonl")
    assert len(imported) == len(recorded) == 6
    for a, b in zip(imported, recorded, strict=True):
        # A HAR keeps bodies decoded (its spec): compared with their content encoding undone.
        same_call(a, b, decoded_bodies=True)
        assert (a.server, a.host, a.port, a.path) == (b.server, b.host, b.port, b.path)
        assert a.client is None  # not in a HAR
    assert counts.skipped == 1
    plain = [
        i
        for i, b in enumerate(recorded)
        if b.response and not b.response.content_encoding and not b.request.content_encoding
    ]
    assert len(plain) == 4
    for i in plain:  # where nothing was compressed, the bodies are the bytes on the wire
        assert imported[i].request.body == recorded[i].request.body
        assert imported[i].response is not None and recorded[i].response is not None
        assert imported[i].response.body == recorded[i].response.body
    zipped = [r for r in imported if r.response and r.response.header("content-encoding")]
    assert zipped and all(
        r.response is not None and r.response.content_encoding == "identity" for r in zipped
    )


def test_har_bodies_in_base64_and_a_charset(tmp_path: Path) -> None:
    doc = orjson.loads(HAR.read_bytes())
    entry = doc["log"]["entries"][0]
    body = "<?xml version='1.0' encoding='ISO-8859-1'?>\n<methodCall><methodName>echo</methodName>"
    body += "<params><param><value><string>caf\u00e9</string></value></param></params></methodCall>"
    entry["request"]["postData"]["text"] = body
    entry["request"]["headers"] = [
        h for h in entry["request"]["headers"] if h["name"].lower() != "content-type"
    ] + [{"name": "Content-Type", "value": "text/xml"}]
    answer = entry["response"]["content"]
    raw = answer["text"].encode()
    answer["text"] = base64.b64encode(raw).decode()
    answer["encoding"] = "base64"
    har = tmp_path / "edited.har"
    har.write_bytes(orjson.dumps({"log": {"version": "1.2", "entries": [entry]}}))
    (record,), _ = import_file(har, tmp_path / "edited.jsonl")
    # Encoded back with the charset the body declares: the bytes the client sent.
    assert record.request.body == body.encode("iso-8859-1")
    assert record.call is not None and "caf\u00e9" in str(record.call.params[0])
    assert record.response is not None and record.response.body == raw
