"""The demo XML-RPC server: every feature the classic tutorials show, plus misbehaviour on demand.

Built on the stdlib ``xmlrpc.server`` only (no mitmproxy, no Textual, not even our codec), so what
rpcspy inspects is what a plain Python service sends. ``DemoServer(ServerConfig(port=0))`` binds a
free port on 127.0.0.1; ``with server:`` serves it from a background thread.

The tutorials' client programs run against it unchanged but for host and port (see
``docs/tutorials.md`` and ``tests/tutorials/``).

``app`` wires the server (paths, auth, TLS, logging, life cycle), ``services`` holds the methods and
documents them (and what ``variant=2`` changes), ``sandbox`` confines the file methods to a
virtual root, ``faults`` lists the fault codes and ``tlscert`` makes the self-signed certificate.
"""

from rpcspy.server.app import MAX_REQUEST_BYTES, REALM, DemoServer, ServerConfig

__all__ = [
    "MAX_REQUEST_BYTES",
    "REALM",
    "DemoServer",
    "ServerConfig",
]
