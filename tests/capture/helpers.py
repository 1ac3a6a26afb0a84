"""Small builders shared by the capture tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from rpcspy.capture import CaptureWriter
from rpcspy.capture.record import CallRecord
from rpcspy.xmlrpc.messages import MethodCall, MethodResponse
from rpcspy.xmlrpc.values import I4, Int


def make_record(**changes: Any) -> CallRecord:
    """A plausible record of ``add(1, 2) -> 3``, with any fields changed."""
    base = CallRecord(
        id="0" * 32,
        seq=3,
        started=1_700_000_000.125,
        ended=1_700_000_000.25,
        client=("127.0.0.1", 50123),
        server=("127.0.0.1", 8000),
        scheme="http",
        host="127.0.0.1",
        port=8000,
        path="/RPC2",
        status=200,
        request_headers=(("Host", "127.0.0.1:8000"), ("Content-Type", "text/xml")),
        response_headers=(("Content-Type", "text/xml"),),
        request_body=b"<methodCall><methodName>add</methodName></methodCall>",
        response_body=b"<methodResponse/>",
        request_content_encoding=None,
        response_content_encoding=None,
        call=MethodCall("add", (Int(1), I4(2))),
        response=MethodResponse(Int(3)),
    )
    return dataclasses.replace(base, **changes)


def numbered(n: int, start: int = 0) -> list[CallRecord]:
    """``n`` records with seq ``start``.. and distinct ids."""
    return [make_record(seq=i, id=f"{i:032x}") for i in range(start, start + n)]


def write_capture(path: Path, records: list[CallRecord], **kw: Any) -> Path:
    """A capture file holding ``records``."""
    with CaptureWriter(path, **kw) as w:
        for r in records:
            w.write(r)
    return path
