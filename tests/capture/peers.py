"""The real peers' recorded exchanges (tests/data/peers) as call records, and as one capture.

Each exchange of ``manifest.json`` with files becomes one record built by ``build_record`` from
the exact HTTP messages. Addresses are made up but stable: the peer that wrote a side gets an
address of its own variant (a client its own host, a server its own port), so a report can tell
the variants of one library apart; the counterpart (rpcspy's demo server, the stdlib client, the
stub that answered deviant responses) gets a fixed one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rpcspy.capture import CallRecord, CaptureWriter, HttpMessage, build_record
from tests.conftest import DATA

PEERS = DATA / "peers"
MANIFEST: list[dict[str, Any]] = json.loads((PEERS / "manifest.json").read_text())["exchanges"]
EXCHANGES = [e for e in MANIFEST if e.get("files")]
VARIANTS = sorted({e["variant"] for e in EXCHANGES})
#: The counterparts' addresses: the stdlib client, and the servers that answered peer clients.
OTHER_CLIENT = "127.0.0.200"
OTHER_SERVER = 8000
STUB_SERVER = 8001


def client_host(variant: str) -> str:
    return f"127.0.0.{VARIANTS.index(variant) + 1}"


def server_port(variant: str) -> int:
    return 9000 + VARIANTS.index(variant)


@dataclass(frozen=True)
class HttpFile:
    start: bytes
    headers: tuple[tuple[str, str], ...]
    body: bytes


def read_http(path: Path) -> HttpFile:
    """One recorded HTTP message: start line, headers (as written), body (de-chunked)."""
    raw = path.read_bytes()
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, _, body = raw.partition(b"\n\n")
    start, *lines = head.replace(b"\r\n", b"\n").split(b"\n")
    headers = []
    for line in lines:
        name, colon, value = line.partition(b":")
        if colon:
            headers.append((name.strip().decode("latin-1"), value.strip().decode("latin-1")))
    if any(n.lower() == "transfer-encoding" and "chunked" in v.lower() for n, v in headers):
        plain = b""
        while body:
            size_line, _, body = body.partition(b"\r\n")
            n = int(size_line.split(b";")[0] or b"0", 16)
            if n == 0:
                break
            plain, body = plain + body[:n], body[n + 2 :]
        body = plain
    return HttpFile(start, tuple(headers), body)


def exchange_record(entry: dict[str, Any], seq: int) -> CallRecord:
    """The record of one manifest exchange, as the proxy would have built it."""
    request = read_http(PEERS / entry["files"]["request"])
    response = read_http(PEERS / entry["files"]["response"])
    status = int(response.start.split()[1])
    variant, role = entry["variant"], entry["role"]
    peer_is_client = role in ("client", "client-tolerance")
    port = server_port(variant) if not peer_is_client else OTHER_SERVER
    if role == "client-tolerance":
        port = STUB_SERVER
    return build_record(
        HttpMessage(request.headers, request.body),
        HttpMessage(response.headers, response.body),
        started=1_700_000_000.0 + seq,
        ended=1_700_000_000.5 + seq,
        client=(client_host(variant) if peer_is_client else OTHER_CLIENT, 40000 + seq),
        server=("127.0.0.1", port),
        host="127.0.0.1",
        port=port,
        path=request.start.split()[1].decode("latin-1"),
        status=status,
        seq=seq,
    )


def peer_records() -> Iterator[tuple[dict[str, Any], CallRecord]]:
    """Every recorded exchange with its manifest entry, numbered from 1 in manifest order."""
    for seq, entry in enumerate(EXCHANGES, 1):
        yield entry, exchange_record(entry, seq)


def write_peers_capture(path: Path) -> Path:
    """A capture of every recorded exchange (written as the proxy writes one)."""
    with CaptureWriter(path, append=False) as writer:
        for _, record in peer_records():
            writer.write(record)
    return path
