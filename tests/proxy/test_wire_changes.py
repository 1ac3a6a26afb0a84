"""What reverse mode changes on the wire, and what it never does (docs/proxy.md, "What reaches
the server").

Raw sockets on both sides of a real proxy: the client sends exact bytes, the upstream keeps
exactly what arrived. mitmproxy rewrites ``Host``, answers ``Expect: 100-continue`` itself, and
re-frames chunked bodies (one chunk, extensions dropped); it keeps the request line, every other
header (order, case, hop-by-hop ones) and every body byte.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rpcspy.proxy import ProxyConfig
from tests.hostile.streams import StreamUpstream
from tests.hostile.wire import CannedServer
from tests.proxy.helpers import ThreadedProxy

CALL = (
    b"<?xml version='1.0'?><methodCall><methodName>echo</methodName><params><param>"
    b"<value><string>hi</string></value></param></params></methodCall>"
)
ANSWER = (
    b"<?xml version='1.0'?>\n<methodResponse><params><param><value><string>ok</string>"
    b"</value></param></params></methodResponse>\n"
)


@contextmanager
def reverse_proxy(target: str, confdir: Path) -> Iterator[ThreadedProxy]:
    config = ProxyConfig(target=target, listen_port=0, confdir=confdir, quiet=True)
    with ThreadedProxy(config) as proxy:
        yield proxy


def exchange(port: int, raw: bytes, timeout: float = 10) -> bytes:
    """Send ``raw`` on a new connection and read until the proxy closes it (or ``timeout``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except TimeoutError:
            pass
    return data


def head_lines(head: bytes) -> list[bytes]:
    return head.split(b"\r\n")


def test_host_is_rewritten_in_place_and_everything_else_arrives_as_sent(confdir: Path) -> None:
    head = (
        b"POST /RPC2?x=1 HTTP/1.1\r\nHost: client.example:4321\r\nx-MiXeD-Case: 1\r\n"
        b"Content-Type: text/xml\r\nContent-Length: %d\r\nConnection: keep-alive\r\n"
        b"Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n" % len(CALL)
    )
    with StreamUpstream() as upstream, reverse_proxy(upstream.url, confdir) as proxy:
        answer = exchange(proxy.port, head + b"\r\n" + CALL, timeout=3)
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        [got] = upstream.received
    sent = head_lines(head.rstrip(b"\r\n"))
    seen = head_lines(got.head)
    assert seen[1] == f"Host: 127.0.0.1:{upstream.port}".encode()
    # Request line, order, case and hop-by-hop headers: as sent. The body: every byte.
    assert seen[:1] + seen[2:] == sent[:1] + sent[2:]
    assert got.wire == CALL


def test_a_missing_host_is_added_last(confdir: Path) -> None:
    head = b"POST /RPC2 HTTP/1.1\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n" % len(CALL)
    with StreamUpstream() as upstream, reverse_proxy(upstream.url, confdir) as proxy:
        exchange(proxy.port, head + b"Connection: close\r\n\r\n" + CALL)
        [got] = upstream.received
    assert head_lines(got.head) == [
        b"POST /RPC2 HTTP/1.1",
        b"Content-Type: text/xml",
        b"Content-Length: %d" % len(CALL),
        b"Connection: close",
        f"Host: 127.0.0.1:{upstream.port}".encode(),
    ]
    assert got.wire == CALL


def test_a_chunked_request_stays_chunked_in_one_chunk_with_every_byte(confdir: Path) -> None:
    chunks = (
        b"32;name=value\r\n" + CALL[:50] + b"\r\n"
        b"%x\r\n" % (len(CALL) - 50) + CALL[50:] + b"\r\n0\r\n\r\n"
    )
    head = (
        b"POST /RPC2 HTTP/1.1\r\nHost: client.example\r\nContent-Type: text/xml\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    with StreamUpstream() as upstream, reverse_proxy(upstream.url, confdir) as proxy:
        answer = exchange(proxy.port, head + chunks)
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        [got] = upstream.received
        [record] = proxy.wait_records(1)
    # No Content-Length is added: the framing stays chunked, but in mitmproxy's chunks.
    assert got.chunked and got.header("Content-Length") == []
    assert got.header("Transfer-Encoding") == ["chunked"]
    assert got.wire == b"%x\r\n" % len(CALL) + CALL + b"\r\n0\r\n\r\n"
    assert record.request.body == CALL and record.method == "echo"


def test_expect_100_continue_is_answered_by_the_proxy_and_not_forwarded(confdir: Path) -> None:
    head = (
        b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nExpect: 100-continue\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(CALL)
    )
    with StreamUpstream() as upstream, reverse_proxy(upstream.url, confdir) as proxy:
        answer = exchange(proxy.port, head + CALL)
        [got] = upstream.received
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert got.header("Expect") == []
    assert got.wire == CALL


def test_a_chunked_answer_reaches_the_client_in_one_chunk_with_every_byte(confdir: Path) -> None:
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nX-Odd-Case: 1\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    chunks = b"1e;ext=1\r\n" + ANSWER[:30] + b"\r\n%x\r\n" % (len(ANSWER) - 30)
    chunks += ANSWER[30:] + b"\r\n0\r\n\r\n"
    request = (
        b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(CALL)
    )
    with CannedServer(head + chunks) as upstream, reverse_proxy(upstream.url, confdir) as proxy:
        answer = exchange(proxy.port, request + CALL)
    assert answer == head + b"%x\r\n" % len(ANSWER) + ANSWER + b"\r\n0\r\n\r\n"


def test_an_answer_with_trailers_becomes_a_502(confdir: Path) -> None:
    """mitmproxy does not implement HTTP/1 trailers: the client gets a 502, not the answer."""
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n%x\r\n" % len(ANSWER) + ANSWER + b"\r\n0\r\nX-T: 1\r\n\r\n"
    )
    request = (
        b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(CALL)
    )
    with CannedServer(answer) as upstream, reverse_proxy(upstream.url, confdir) as proxy:
        got = exchange(proxy.port, request + CALL)
    assert got.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")


def test_a_request_with_trailers_is_not_forwarded(confdir: Path) -> None:
    """mitmproxy does not implement HTTP/1 trailers: such a request never reaches the server,
    and the client is left without an answer."""
    request = (
        b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"%x\r\n" % len(CALL) + CALL + b"\r\n0\r\nX-T: 1\r\n\r\n"
    )
    with StreamUpstream() as upstream, reverse_proxy(upstream.url, confdir) as proxy:
        got = exchange(proxy.port, request, timeout=3)
        assert upstream.received == []
    assert got == b""


def test_reverse_mode_passes_an_absolute_target_as_sent(confdir: Path) -> None:
    request = (
        b"POST http://client.example/RPC2 HTTP/1.1\r\nHost: client.example\r\n"
        b"Content-Type: text/xml\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(CALL)
    )
    with StreamUpstream() as upstream, reverse_proxy(upstream.url, confdir) as proxy:
        exchange(proxy.port, request + CALL)
        [got] = upstream.received
    assert head_lines(got.head)[0] == b"POST http://client.example/RPC2 HTTP/1.1"
    assert got.wire == CALL


def test_regular_mode_sends_origin_form_and_answers_expect_itself(confdir: Path) -> None:
    config = ProxyConfig(mode="regular", listen_port=0, confdir=confdir, quiet=True)
    with StreamUpstream() as upstream, ThreadedProxy(config) as proxy:
        request = (
            f"POST {upstream.url}/RPC2 HTTP/1.1\r\nHost: 127.0.0.1:{upstream.port}\r\n".encode()
            + b"Content-Type: text/xml\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(CALL)
        )
        answer = exchange(proxy.port, request + CALL)
        [got] = upstream.received
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert head_lines(got.head) == [
        b"POST /RPC2 HTTP/1.1",
        f"Host: 127.0.0.1:{upstream.port}".encode(),
        b"Content-Type: text/xml",
        b"Content-Length: %d" % len(CALL),
        b"Connection: close",
    ]
    assert got.wire == CALL
