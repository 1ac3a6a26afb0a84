"""The proxy's conversations per TCP or UDP flow, driven with mitmproxy's own test flows: every
message fed once, in order, its content never changed, a flow's messages bounded, the calls left
waiting recorded when the flow ends or the proxy stops."""

from __future__ import annotations

from mitmproxy import tcp, udp
from mitmproxy.test import tflow

from rpcspy.oncrpc import encode_call, encode_reply, frame_record
from rpcspy.proxy.native import KEEP_MESSAGES, Conversations


def _feed(conversations: Conversations, flow: tcp.TCPFlow | udp.UDPFlow, msg: object) -> list:
    flow.messages.append(msg)  # type: ignore[arg-type]
    return conversations.message(flow)


def test_a_tcp_flow_is_one_conversation_and_its_bytes_are_left_alone() -> None:
    conversations = Conversations()
    conversations.protocol = "oncrpc"
    flow = tflow.ttcpflow(messages=[])
    call, reply = frame_record(encode_call(1, 100000, 2, 0)), frame_record(encode_reply(1))
    assert _feed(conversations, flow, tcp.TCPMessage(True, call[:5], 1.0)) == []
    assert _feed(conversations, flow, tcp.TCPMessage(True, call[5:], 2.0)) == []
    (record,) = _feed(conversations, flow, tcp.TCPMessage(False, reply, 3.0))
    assert record.method == "PMAP_PROG.PMAP_VERS.PMAPPROC_NULL"
    assert (record.started, record.ended, record.transport) == (1.0, 3.0, "tcp")
    assert [m.content for m in flow.messages] == [call[:5], call[5:], reply]
    assert len(conversations) == 1
    # A call left waiting comes out when the flow ends.
    _feed(conversations, flow, tcp.TCPMessage(True, call, 4.0))
    (waiting,) = conversations.end(flow)
    assert waiting.response is None and waiting.error == "connection closed before the reply"
    assert len(conversations) == 0 and conversations.end(flow) == []


def test_a_flows_messages_are_bounded() -> None:
    conversations = Conversations()
    conversations.protocol = "oncrpc"
    flow = tflow.tudpflow(messages=[])
    for xid in range(KEEP_MESSAGES * 3):
        _feed(conversations, flow, udp.UDPMessage(True, encode_call(xid, 100000, 2, 0), xid))
    assert len(flow.messages) == KEEP_MESSAGES
    records = conversations.close_all()
    assert len(records) == KEEP_MESSAGES * 3 and all(r.transport == "udp" for r in records)


def test_nothing_is_read_without_a_protocol_or_over_a_transport_it_does_not_use() -> None:
    conversations = Conversations()
    flow = tflow.ttcpflow(messages=[])
    assert _feed(conversations, flow, tcp.TCPMessage(True, b"\xff" * 8, 1.0)) == []
    conversations.protocol = "rpyc"
    datagrams = tflow.tudpflow(messages=[])
    assert _feed(conversations, datagrams, udp.UDPMessage(True, b"\xff" * 8, 1.0)) == []
    assert len(conversations) == 0
    (garbage,) = _feed(conversations, flow, tcp.TCPMessage(True, b"\x7f\xff\xff\xff\x00", 2.0))
    assert garbage.protocol == "rpyc" and garbage.problems[0].kind == "frame-too-large"
