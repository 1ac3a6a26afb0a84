"""The proxy and replay build a record the same way: the same bytes give the same record.

The proxy makes the two halves from the mitmproxy flow and ``build_record`` decodes them; replay
makes them from what ``http.client`` saw and the same ``build_record`` decodes them. Calls go
through the proxy to the demo server, then replay sends each recorded request to the same server:
where the bytes on the wire are the same, everything decoded from them is the same too.
"""

from __future__ import annotations

import contextlib
import xmlrpc.client

from rpcspy.capture import CallRecord, HttpMessage
from rpcspy.replay.send import Sender, Target
from rpcspy.server import DemoServer
from tests.proxy.helpers import ThreadedProxy


def _decoded(half: HttpMessage | None) -> tuple[object, ...] | None:
    if half is None:
        return None
    return (half.body, half.content_encoding, half.decoded)


def _what_the_bytes_say(record: CallRecord) -> tuple[object, ...]:
    return (
        _decoded(record.request),
        _decoded(record.response),
        record.status,
        record.method,
        record.subcalls,
        record.problems,
        record.error,
    )


def test_proxy_and_replay_records_agree_on_the_same_bytes(
    proxy: ThreadedProxy, demo: DemoServer
) -> None:
    c = xmlrpc.client.ServerProxy(proxy.url + "/RPC2", allow_none=True)
    assert c.echo("hello") == "HELLO"
    with contextlib.suppress(xmlrpc.client.Fault):
        c.demo.fault(42, "boom")
    multi = xmlrpc.client.MultiCall(c)
    multi.echo("a")
    multi.demo.fault(7, "inside")
    multi.add(2, 3)
    multi()
    assert len(c.demo.large(5000)) == 5000  # answered with gzip
    recorded = proxy.wait_records(4)
    assert recorded[3].response is not None and recorded[3].response.content_encoding == "gzip"

    with Sender(Target.parse(demo.url)) as sender:
        replayed = [sender.send(r, seq=r.seq) for r in recorded]
    for old, new in zip(recorded, replayed, strict=True):
        assert (old.origin, new.origin) == ("proxy", "replay")
        assert _what_the_bytes_say(new) == _what_the_bytes_say(old), old.method
        assert (new.call, new.reply, new.ok) == (old.call, old.reply, old.ok)
