"""What the import tests share: importing a file the way the command does, and comparing calls."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

from rpcspy.capture import CallRecord, HttpMessage, read_capture
from rpcspy.capture.writer import CaptureWriter
from rpcspy.ingest import ImportCounts, InlineRecorder, import_exchanges
from rpcspy.ingest.har import read_har
from rpcspy.ingest.pcap import read_pcap

FIXTURES = Path(__file__).parent / "fixtures"


def import_file(path: Path, out: Path, **kwargs: Any) -> tuple[list[CallRecord], ImportCounts]:
    """Import ``path`` (pcap or HAR) into the capture ``out`` and read the records back."""
    counts = ImportCounts()
    items = read_har(path) if path.suffix == ".har" else read_pcap(path, counts, **kwargs)
    with CaptureWriter(out, append=False) as writer:
        import_exchanges(items, InlineRecorder(writer, counts), counts)
    return list(read_capture(out)), counts


def expected_calls(path: Path) -> list[dict[str, Any]]:
    """What the client sent and received (``make_fixtures``): method, request and response."""
    out = []
    for item in json.loads(path.read_text()):
        out.append(
            {
                "method": item["method"],
                "request": base64.b64decode(item["request"]),
                "response": base64.b64decode(item["response"]),
            }
        )
    return out


def plain_body(half: HttpMessage) -> bytes:
    """The body with its content encoding undone (a HAR keeps bodies decoded)."""
    assert half.body is not None
    encoding = (half.content_encoding or half.header("content-encoding") or "").lower()
    if encoding == "gzip" and half.body[:2] == b"\x1f\x8b":
        return gzip.decompress(half.body)
    return half.body


def same_call(imported: CallRecord, recorded: CallRecord, *, decoded_bodies: bool = False) -> None:
    """The two records hold the same call: method, params, result or fault, status, bodies."""
    assert imported.origin == "import"
    assert imported.method == recorded.method
    assert imported.call == recorded.call
    assert imported.reply == recorded.reply
    assert imported.status == recorded.status
    assert imported.subcalls == recorded.subcalls
    assert imported.problems == recorded.problems
    assert imported.response is not None and recorded.response is not None
    if decoded_bodies:
        assert plain_body(imported.request) == plain_body(recorded.request)
        assert plain_body(imported.response) == plain_body(recorded.response)
    else:
        assert imported.request.body == recorded.request.body
        assert imported.response.body == recorded.response.body
        assert imported.request.content_encoding == recorded.request.content_encoding
        assert imported.response.content_encoding == recorded.response.content_encoding
