"""mitmproxy flow files (``mitmdump -w``, mitmproxy's "save") read as exchanges to import.

mitmproxy's own reader (``mitmproxy.io.FlowReader``) reads the file, migrating old versions as
mitmproxy does; each HTTP flow becomes an ``rpcspy.ingest.Exchange`` from the same parts of the
flow the live addon records (``addon._half``: headers and ``raw_content`` exactly as on the wire;
``addon.flow_facts``: timing, peers, URL and status), so an imported flow gives the record the
proxy would have written. Flows of other kinds (TCP, UDP, DNS) and HTTP flows that are not
XML-RPC are skipped.

``export`` (``rpcspy export --to mitm``) goes the other way: each record becomes an HTTP flow,
written with mitmproxy's own ``FlowWriter``, so mitmproxy, mitmweb and ``mitmdump -nr`` open it.
The flow holds the two halves exactly as recorded (headers, raw bodies still content-encoded),
the times (request start, response end), both peers, the error of a call without an answer, and
the annotations the live addon puts on a flow (``annotate_flow``: metadata, the call as the
comment, a marker when it is not ok). ``flow.metadata["rpcspy"]["record"]`` carries the same
``_rpcspy`` object an HAR export does (``rpcspy.export.har.record_facts``): reading the file back
applies it (``rpcspy.ingest.har.with_record_facts``), so capture -> .mitm -> capture keeps every
call, problems and undecoded halves included.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

from mitmproxy import connection, exceptions, flow, http, io

from rpcspy.capture import CallRecord, HttpMessage
from rpcspy.export import Exported
from rpcspy.export.har import record_facts
from rpcspy.ingest import Exchange, Skipped, is_xmlrpc_exchange
from rpcspy.ingest.har import with_record_facts
from rpcspy.proxy.addon import _half, annotate_flow, flow_facts

__all__ = ["FlowFileError", "export", "flow_exchange", "read_flows", "record_flow"]


class FlowFileError(Exception):
    """mitmproxy's reader refused the file (not a flow file, or a version it cannot read)."""


def flow_exchange(flow: http.HTTPFlow) -> Exchange | Skipped:
    """The exchange of one HTTP flow, or ``Skipped`` when it is not XML-RPC."""
    request = flow.request
    response = flow.response
    req = _half(request)
    resp = _half(response) if response is not None else None
    error = flow.error.msg if flow.error is not None else None
    exchange = Exchange(
        method=request.method, request=req, response=resp, error=error, **flow_facts(flow)
    )
    facts = _exported_facts(flow)
    if facts is not None:
        try:
            return with_record_facts(exchange, facts)
        except (TypeError, ValueError, KeyError, binascii.Error):
            pass  # not what rpcspy wrote: read the flow as any other
    if not is_xmlrpc_exchange(request.method, req, resp):
        return Skipped()
    return exchange


def _exported_facts(flow: http.HTTPFlow) -> dict[str, Any] | None:
    """The ``_rpcspy`` object of a flow ``rpcspy export --to mitm`` wrote, else None."""
    info = flow.metadata.get("rpcspy")
    facts = info.get("record") if isinstance(info, dict) else None
    return facts if isinstance(facts, dict) else None


def read_flows(
    path: Path, *, on_bytes: Callable[[int], None] | None = None
) -> Iterator[Exchange | Skipped]:
    """Every flow of a mitmproxy flow file, streamed: an ``Exchange`` per XML-RPC flow.

    ``on_bytes(bytes_read)`` reports progress after each flow.
    """
    with open(path, "rb") as f:
        try:
            for flow in io.FlowReader(f).stream():
                if isinstance(flow, http.HTTPFlow):
                    yield flow_exchange(flow)
                else:
                    yield Skipped("flow")
                if on_bytes is not None:
                    on_bytes(f.tell())
        except exceptions.FlowReadException as exc:
            raise FlowFileError(str(exc) or "not a mitmproxy flow file") from exc


_UNKNOWN = ("0.0.0.0", 0)


def _raw(text: str) -> bytes:
    # The inverse of the addon's reading of header bytes: UTF-8, lone surrogates kept as bytes.
    return text.encode("utf-8", "surrogateescape")


def _fields(half: HttpMessage) -> http.Headers:
    return http.Headers([(_raw(name), _raw(value)) for name, value in half.headers])


def _reason(status: int) -> bytes:
    # A record keeps the status code, not the phrase the server sent with it.
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


def record_flow(record: CallRecord) -> http.HTTPFlow:
    """The mitmproxy flow of a record: its halves as recorded, times, peers, error, annotations."""
    started = record.started
    ended = record.ended if record.ended is not None else started
    client = connection.Client(
        # mitmproxy requires a client address; "0.0.0.0:0" where the record has none (a HAR
        # import), which ``metadata["rpcspy"]["record"]`` tells rpcspy.
        peername=record.client or _UNKNOWN,
        sockname=_UNKNOWN,
        timestamp_start=started,
    )
    server = connection.Server(
        address=(record.host, record.port), peername=record.server, timestamp_start=started
    )
    f = http.HTTPFlow(client, server)
    host = record.host
    authority = f"[{host}]:{record.port}" if ":" in host else f"{host}:{record.port}"
    f.request = http.Request(
        host=host,
        port=record.port,
        method=b"POST",
        scheme=(record.scheme or "http").encode(),
        authority=b"",
        path=_raw(record.path),
        http_version=b"HTTP/1.1",
        headers=_fields(record.request),
        content=record.request.body,
        trailers=None,
        timestamp_start=started,
        timestamp_end=started,
    )
    if not f.request.headers.get("host"):
        f.request.authority = authority
    response = record.response
    if response is not None:
        f.response = http.Response(
            http_version=b"HTTP/1.1",
            status_code=record.status or 0,
            reason=_reason(record.status or 0),
            headers=_fields(response),
            content=response.body,
            trailers=None,
            timestamp_start=ended,
            timestamp_end=ended,
        )
    if record.error is not None:
        f.error = flow.Error(record.error, ended)
    annotate_flow(f, record)
    f.metadata["rpcspy"]["record"] = record_facts(record)
    return f


def export(records: Iterable[CallRecord], out: Path, *, source: Path) -> Exported:
    """Write ``records`` to ``out`` as a mitmproxy flow file, one HTTP flow per call."""
    count = 0
    with open(out, "wb") as f:
        writer = io.FlowWriter(f)  # type: ignore[no-untyped-call]
        for record in records:
            writer.add(record_flow(record))
            count += 1
    return Exported(count)
