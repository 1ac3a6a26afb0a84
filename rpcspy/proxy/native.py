"""ONC RPC and RPyC through mitmproxy: its reverse TCP and UDP modes, one conversation per flow.

mitmproxy relays a TCP connection (``reverse:tcp://host:port``) or a client's UDP datagrams
(``reverse:udp://host:port``) as a ``TCPFlow``/``UDPFlow`` and calls the ``tcp_message`` or
``udp_message`` hook with each chunk it read (``flow.messages[-1]``: ``from_client``,
``content``, ``timestamp``) before it sends the chunk on. ``Conversations`` keeps one
``rpcspy.streams`` conversation per flow and feeds it every chunk in the order they crossed;
the records that come out go to the recorder's one writing path (``RpcspyRecorder``), like an
HTTP exchange's. Nothing here sets ``message.content``: the bytes go on exactly as they came.

mitmproxy keeps every message of a flow in ``flow.messages`` while the connection lives; once a
chunk is fed, only the last ``KEEP_MESSAGES`` stay there (what mitmweb would show), so a
long-lived connection does not grow memory without bound.

``RawLayers`` makes the reverse TCP and UDP modes relay raw bytes whatever the client sends first:
mitmproxy's own choice would start TLS interception when a stream's first bytes look like a TLS
record, which would change what reaches the server.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from mitmproxy import flow as mflow
from mitmproxy import tcp, udp
from mitmproxy.proxy import layer, layers
from mitmproxy.proxy.layers import modes
from mitmproxy.proxy.mode_specs import ReverseMode

from rpcspy.capture import CallRecord
from rpcspy.capture.record import HttpMessage, build_native_record
from rpcspy.oncrpc import Interface
from rpcspy.streams import Conversation, Side, oncrpc_conversation, rpyc_conversation

__all__ = ["KEEP_MESSAGES", "NATIVE_PROTOCOLS", "Conversations", "RawLayers"]

#: The protocols the proxy reads in its TCP and UDP modes, with the transports each runs on.
NATIVE_PROTOCOLS: dict[str, tuple[str, ...]] = {"oncrpc": ("tcp", "udp"), "rpyc": ("tcp",)}

#: Messages of a TCP or UDP flow kept in ``flow.messages`` once fed.
KEEP_MESSAGES = 64

RawFlow = tcp.TCPFlow | udp.UDPFlow


def _address(addr: Any) -> tuple[str, int] | None:
    if not addr:
        return None
    try:
        return (str(addr[0]), int(addr[1]))
    except (TypeError, ValueError, IndexError):
        return None


class Conversations:
    """The conversation of each live TCP or UDP flow, for one protocol."""

    def __init__(self) -> None:
        #: ``oncrpc``, ``rpyc``, or None: TCP and UDP flows are not read.
        self.protocol: str | None = None
        #: The ONC RPC interface beside the built-in portmapper (``--idl``).
        self.interface: Interface | None = None
        self._live: dict[str, Conversation] = {}

    def __len__(self) -> int:
        return len(self._live)

    def _conversation(self, flow: RawFlow) -> Conversation | None:
        found = self._live.get(flow.id)
        if found is not None or self.protocol is None:
            return found
        transport = "udp" if isinstance(flow, udp.UDPFlow) else "tcp"
        if transport not in NATIVE_PROTOCOLS.get(self.protocol, ()):
            return None
        client = _address(flow.client_conn.peername)
        server = _address(flow.server_conn.peername or flow.server_conn.address)
        conversation: Conversation
        if self.protocol == "oncrpc":
            conversation = oncrpc_conversation(
                client=client, server=server, transport=transport, interface=self.interface
            )
        else:
            conversation = rpyc_conversation(client=client, server=server)
        self._live[flow.id] = conversation
        return conversation

    def message(self, flow: RawFlow) -> list[CallRecord]:
        """Feed the flow's latest message; the records it completes."""
        if not flow.messages:
            return []
        conversation = self._conversation(flow)
        if conversation is None:
            return []
        message = flow.messages[-1]
        side: Side = "client" if message.from_client else "server"
        records = conversation.feed(side, message.content, message.timestamp)
        if len(flow.messages) > KEEP_MESSAGES:
            del flow.messages[:-KEEP_MESSAGES]
        return records

    def end(self, flow: RawFlow) -> list[CallRecord]:
        """The flow ended (or failed): what its conversation still held."""
        conversation = self._live.pop(flow.id, None)
        error = flow.error
        if conversation is None:
            return self._failed(flow) if error is not None else []
        return conversation.close(error.timestamp if error is not None else time.time())

    def _failed(self, flow: RawFlow) -> list[CallRecord]:
        """A flow that failed before any of its bytes were read (the upstream refused or could
        not be reached): one record saying so, with what the client sent, if anything."""
        assert flow.error is not None
        protocol = self.protocol
        transport = "udp" if isinstance(flow, udp.UDPFlow) else "tcp"
        if protocol is None or transport not in NATIVE_PROTOCOLS.get(protocol, ()):
            return []
        sent = b"".join(m.content for m in flow.messages if m.from_client)
        started = flow.messages[0].timestamp if flow.messages else flow.error.timestamp
        return [
            build_native_record(
                protocol,
                HttpMessage(body=sent),
                None,
                transport=transport,
                started=started,
                client=_address(flow.client_conn.peername),
                server=_address(flow.server_conn.peername or flow.server_conn.address),
                error=f"no connection to the server: {flow.error.msg}",
            )
        ]

    def close_all(self) -> list[CallRecord]:
        """The proxy stops: every conversation still open ends now."""
        out: list[CallRecord] = []
        now = time.time()
        for conversation in self._live.values():
            out += conversation.close(now)
        self._live.clear()
        return out


def is_raw_flow(flow: mflow.Flow) -> bool:
    """A TCP or UDP flow (not HTTP)."""
    return isinstance(flow, tcp.TCPFlow | udp.UDPFlow)


class RawLayers:
    """mitmproxy addon: in reverse ``tcp://`` and ``udp://`` modes, relay raw bytes at once.

    Loaded before mitmproxy's ``NextLayer`` (which leaves a layer another addon set alone).
    """

    def __init__(self, wanted: Callable[[], bool] = lambda: True) -> None:
        self._wanted = wanted

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        if nextlayer.layer is not None or not self._wanted():
            return
        context = nextlayer.context
        spec = context.client.proxy_mode
        if not isinstance(spec, ReverseMode) or spec.scheme not in ("tcp", "udp"):
            return
        if not context.layers or not isinstance(context.layers[-1], modes.ReverseProxy):
            return
        if context.client.transport_protocol == "udp":
            nextlayer.layer = layers.UDPLayer(context)
        else:
            nextlayer.layer = layers.TCPLayer(context)
