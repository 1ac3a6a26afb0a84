"""Real records for the TUI and filter tests: real XML bodies (stdlib client), real build_record."""

from __future__ import annotations

import xmlrpc.client
from pathlib import Path

from rpcspy.capture import CallRecord, CaptureWriter, HttpMessage, build_record

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC: fixed so screenshots do not change

REQUEST_HEADERS = (
    ("Host", "127.0.0.1:8000"),
    ("User-Agent", "Python-xmlrpc/3.12"),
    ("Content-Type", "text/xml"),
    ("Accept-Encoding", "gzip"),
)
RESPONSE_HEADERS = (("Server", "rpcspy-demo"), ("Content-Type", "text/xml"))


def exchange(
    seq: int,
    method: str,
    params: tuple[object, ...] = (),
    *,
    result: object = None,
    fault: tuple[int, str] | None = None,
    duration_ms: float = 2.0,
    request_body: bytes | None = None,
    response_body: bytes | None = None,
    no_response: bool = False,
    error: str | None = None,
    origin: str = "proxy",
    client_port: int | None = None,
) -> CallRecord:
    """One exchange, with bodies written by the stdlib (or given raw, to test bad ones)."""
    if request_body is None:
        request_body = xmlrpc.client.dumps(params, method, allow_none=True).encode()
    if response_body is None and not no_response:
        if fault is not None:
            response_body = xmlrpc.client.dumps(
                xmlrpc.client.Fault(*fault), methodresponse=True
            ).encode()
        else:
            response_body = xmlrpc.client.dumps(
                (result,), methodresponse=True, allow_none=True
            ).encode()
    started = T0 + seq
    return build_record(
        HttpMessage(REQUEST_HEADERS, request_body),
        HttpMessage(() if no_response else RESPONSE_HEADERS, response_body),
        started=started,
        ended=None if no_response else started + duration_ms / 1000.0,
        client=("127.0.0.1", client_port or 50000 + seq),
        server=("127.0.0.1", 8000),
        scheme="http",
        host="127.0.0.1",
        port=8000,
        path="/RPC2",
        status=None if no_response else 200,
        error=error,
        origin=origin,
        seq=seq,
        id=f"{seq:032x}",
    )


def sample_records() -> list[CallRecord]:
    """A dozen calls covering every outcome the list shows."""
    multicall = [
        {"methodName": "math.add", "params": [1, 2]},
        {"methodName": "nope.missing", "params": []},
        {"methodName": "user.get", "params": [{"name": "bob"}]},
    ]
    multicall_response = xmlrpc.client.dumps(
        (
            [
                [3],
                {"faultCode": -32601, "faultString": "method not found: nope.missing"},
                [{"name": "bob", "id": 7}],
            ],
        ),
        methodresponse=True,
    ).encode()
    return [
        exchange(1, "system.listMethods", (), result=["dir.list", "math.add", "user.get"]),
        exchange(
            2,
            "dir.list",
            ("/tmp", {"recursive": True, "limit": 10}),
            result=["a.txt", "b.txt"],
            duration_ms=3.5,
        ),
        exchange(
            3,
            "user.get",
            ({"name": "bob", "id": 7},),
            result={"name": "bob", "id": 7, "admin": False},
        ),
        exchange(4, "user.get", ({"name": "alice", "id": "7"},), result={"name": "alice", "id": 8}),
        exchange(5, "nope.missing", (), fault=(-32601, "method not found: nope.missing")),
        exchange(6, "demo.slow", (0.35,), result="done", duration_ms=352.0),
        exchange(
            7, "system.multicall", (multicall,), response_body=multicall_response, duration_ms=4.0
        ),
        exchange(8, "demo.fault", (4,), fault=(4, "Too many parameters")),
        exchange(
            9,
            "demo.crash",
            (),
            response_body=(
                b"<?xml version='1.0'?><methodResponse><params><param><value><int>1</int></value>"
            ),
        ),
        exchange(10, "demo.large", (3,), result=["x" * 20] * 3, duration_ms=12.0),
        exchange(11, "math.add", (2, 3), no_response=True, error="upstream refused the connection"),
        exchange(
            12,
            "dir.read",
            ("/etc/hostname",),
            result=xmlrpc.client.Binary(b"box\n"),
            duration_ms=1.2,
        ),
    ]


def write_capture(path: Path, records: list[CallRecord]) -> Path:
    """A capture file holding ``records``."""
    with CaptureWriter(path, append=False) as writer:
        for record in records:
            writer.write(record)
    return path


#: Filters exercising every construct, for checks that two evaluators agree.
FILTERS = [
    "",
    "method:user.get",
    "method:dir.*",
    "method:*.missing",
    "method:nomatch",
    "fault",
    "fault:-32601",
    "fault:4",
    "ok",
    "not ok",
    "problem",
    "error",
    "multicall",
    "latency>200ms",
    "latency<=2ms",
    "latency!=2ms",
    "size>1kb",
    "size<300",
    "status:200",
    "origin:proxy",
    "origin:resent",
    "client:127.0.0.1",
    "client:*:50003",
    "bob",
    "BOB",
    '"not found"',
    "hostname",
    "-32601",
    "true",
    "params[0].name=bob",
    "params[0].name!=bob",
    "params[0].name~LIC",
    "params[0].id=7",
    "params[0].id:string",
    "params[1]",
    "params[*].recursive=true",
    "result.admin=false",
    "result.id>7",
    "result[1]=b.txt",
    "result",
    "method:user.get and bob",
    "fault or problem",
    "(fault or problem) and not method:demo.*",
    "!ok !fault",
    "bob or latency>200ms",
    "not bob",
    "not (bob or fault)",
]
