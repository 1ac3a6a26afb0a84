"""mitmproxy flow files (``mitmdump -w``, mitmproxy's "save") read as exchanges to import.

mitmproxy's own reader (``mitmproxy.io.FlowReader``) reads the file, migrating old versions as
mitmproxy does; each HTTP flow becomes an ``rpcspy.ingest.Exchange`` from the same parts of the
flow the live addon records (``addon._half``: headers and ``raw_content`` exactly as on the wire;
``addon.flow_facts``: timing, peers, URL and status), so an imported flow gives the record the
proxy would have written. Flows of other kinds (TCP, UDP, DNS) and HTTP flows that are not
XML-RPC are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from mitmproxy import exceptions, http, io

from rpcspy.ingest import Exchange, Skipped, is_xmlrpc_exchange
from rpcspy.proxy.addon import _half, flow_facts

__all__ = ["FlowFileError", "flow_exchange", "read_flows"]


class FlowFileError(Exception):
    """mitmproxy's reader refused the file (not a flow file, or a version it cannot read)."""


def flow_exchange(flow: http.HTTPFlow) -> Exchange | Skipped:
    """The exchange of one HTTP flow, or ``Skipped`` when it is not XML-RPC."""
    request = flow.request
    response = flow.response
    req = _half(request)
    resp = _half(response) if response is not None else None
    if not is_xmlrpc_exchange(request.method, req, resp):
        return Skipped()
    error = flow.error.msg if flow.error is not None else None
    return Exchange(
        method=request.method, request=req, response=resp, error=error, **flow_facts(flow)
    )


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
