"""One record of every outcome, built from real bodies by ``build_record``, with the agreed words.

Shared by the summary's own tests (``tests/capture/test_summary.py``) and the test that ``rpcspy
show``, the TUI and the proxy console write the same words for the same record
(``tests/tui/test_wording.py``).
"""

from __future__ import annotations

import xmlrpc.client
from dataclasses import dataclass
from typing import Any

from rpcspy.capture import CallRecord, HttpMessage, build_record

T0 = 1_700_000_000.0
REQUEST_HEADERS = (("Content-Type", "text/xml"),)
RESPONSE_HEADERS = (("Content-Type", "text/xml"),)


def call_body(method: str, *params: Any) -> bytes:
    return xmlrpc.client.dumps(params, method, allow_none=True).encode()


def result_body(value: Any) -> bytes:
    return xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode()


def fault_body(code: int, text: str) -> bytes:
    return xmlrpc.client.dumps(xmlrpc.client.Fault(code, text), methodresponse=True).encode()


@dataclass(frozen=True)
class Case:
    """A record and the words every view must write for it."""

    name: str
    record: CallRecord
    outcome: str
    kind: str
    took: str
    size: str


def _record(
    seq: int,
    request: bytes,
    response: HttpMessage | None,
    *,
    ms: float | None,
    status: int | None = 200,
    error: str | None = None,
) -> CallRecord:
    return build_record(
        HttpMessage(REQUEST_HEADERS, request),
        response,
        started=T0 + seq,
        ended=None if ms is None else T0 + seq + ms / 1000,
        client=("127.0.0.1", 40000 + seq),
        server=("127.0.0.1", 8000),
        host="127.0.0.1",
        port=8000,
        path="/RPC2",
        status=status,
        error=error,
        seq=seq,
        id=f"{seq:032x}",
    )


def _answer(body: bytes) -> HttpMessage:
    return HttpMessage(RESPONSE_HEADERS, body)


def cases() -> list[Case]:
    """ok, fault, multicall with a faulted sub-call, HTTP error, connection error, problem, none."""
    multicall = call_body(
        "system.multicall",
        [{"methodName": "add", "params": [2, 3]}, {"methodName": "div", "params": [1, 0]}],
    )
    multicall_answer = result_body([[5], {"faultCode": 4, "faultString": "division by zero"}])
    broken = b"<?xml version='1.0'?><methodResponse><params><param><value><int>1</int></value>"
    records = [
        ("ok", _record(1, call_body("echo", "hi"), _answer(result_body("HI")), ms=1.3)),
        ("fault", _record(2, call_body("div", 1, 0), _answer(fault_body(4, "boom")), ms=12.4)),
        ("multicall", _record(3, multicall, _answer(multicall_answer), ms=250.0)),
        (
            "http-error",
            _record(
                4,
                call_body("echo", "x"),
                HttpMessage((("Content-Type", "text/plain"),), b"authentication required\n"),
                ms=2.0,
                status=401,
            ),
        ),
        (
            "connection-error",
            _record(5, call_body("add", 2, 3), None, ms=None, status=None, error="refused"),
        ),
        ("problem", _record(6, call_body("demo.crash"), _answer(broken), ms=15_000.0)),
        ("no-response", _record(7, call_body("echo", "y"), None, ms=None, status=None)),
    ]
    expected = {
        "ok": ("ok", "ok", "1.3 ms"),
        "fault": ("fault 4", "fault", "12.4 ms"),
        "multicall": ("ok, 1/2 faulted", "subfault", "250 ms"),
        "http-error": ("http 401", "problem", "2.0 ms"),
        "connection-error": ("error", "error", "-"),
        "problem": ("problem", "problem", "15.0 s"),
        "no-response": ("no response", "pending", "-"),
    }
    out = []
    for name, record in records:
        text, kind, took = expected[name]
        response = 0 if record.response is None else len(record.response.body or b"")
        size = len(record.request.body or b"") + response
        shown = f"{size} B" if size < 1000 else f"{size / 1024:.1f} KB"
        out.append(Case(name, record, text, kind, took, shown))
    return out
