"""HTTP errors and non-XML-RPC bodies through the real proxy, against a small stdlib HTTP server.

The server answers by path: error pages (401, 404, 500 with a DOCTYPE), an empty 502, a fault sent
with status 500, a DTD bomb with status 200, and on ``/RPC2`` and ``/login`` whatever it is sent
is kept and answered. Every exchange is checked byte for byte on both sides of the proxy.
"""

from __future__ import annotations

import http.client
import http.server
import threading
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpcspy.capture import CallRecord, read_capture
from rpcspy.proxy import ProxyConfig
from tests.proxy.helpers import ThreadedProxy

CALL = xmlrpc.client.dumps(("hi",), "echo").encode()
FAULT_500 = xmlrpc.client.dumps(xmlrpc.client.Fault(7, "no such thing"), methodresponse=True)
HTML_500 = (
    b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
    b"<title>500 Internal Server Error</title>\n</head><body>\n<h1>Internal Server Error</h1>\n"
    b"<p>The server encountered an internal error.</p>\n</body></html>\n"
)
HTML_404 = b"<html><head><title>404 Not Found</title></head><body>Not Found</body></html>\n"
BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n'
    b"<methodResponse><params><param><value><string>&b;</string></value></param></params>"
    b"</methodResponse>\n"
)
OK = xmlrpc.client.dumps(("HI",), methodresponse=True).encode()

#: path -> (status, content type, body)
ANSWERS: dict[str, tuple[int, str | None, bytes]] = {
    "/401": (401, "text/plain", b"authentication required\n"),
    "/404": (404, "text/html", HTML_404),
    "/500": (500, "text/html; charset=iso-8859-1", HTML_500),
    "/502": (502, None, b""),
    "/fault500": (500, "text/xml", FAULT_500.encode()),
    "/bomb": (200, "text/xml", BOMB),
    "/RPC2": (200, "text/xml", OK),
    "/": (200, "text/xml", OK),
    "/login": (200, "text/html", b"<html><body>welcome</body></html>"),
}


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    received: list[tuple[str, str, bytes]]


class Handler(http.server.BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, body_in: bytes) -> None:
        self.server.received.append((self.command, self.path, body_in))
        status, content_type, body = ANSWERS.get(self.path, (404, "text/plain", b"no\n"))
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._answer(self.rfile.read(length))

    def do_GET(self) -> None:
        if self.path == "/RPC2":
            # What the stdlib's XML-RPC server says to a browser.
            body = b"Unsupported method ('GET')"
            self.server.received.append(("GET", self.path, b""))
            self.send_response(501)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self._answer(b"")


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server(("127.0.0.1", 0), Handler)
    srv.received = []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)


@pytest.fixture
def proxy(server: Server, tmp_path: Path, confdir: Path) -> Iterator[ThreadedProxy]:
    config = ProxyConfig(
        target=f"http://127.0.0.1:{server.server_address[1]}",
        listen_port=0,
        capture=tmp_path / "c.jsonl",
        confdir=confdir,
        quiet=True,
    )
    with ThreadedProxy(config) as running:
        yield running


def send(
    port: int, path: str, body: bytes, content_type: str = "text/xml", method: str = "POST"
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        headers = {"Content-Type": content_type} if method == "POST" else {}
        conn.request(method, path, body=body if method == "POST" else None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def only(proxy: ThreadedProxy) -> CallRecord:
    (record,) = proxy.wait_records(1)
    stored = list(read_capture(proxy.config.capture))  # type: ignore[arg-type]
    assert [r.id for r in stored] == [record.id]
    return record


def response_kinds(record: CallRecord) -> list[str]:
    return [p.kind for p in record.problems if p.where == "response"]


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/401", 'HTTP 401: the server answered with an error, not XML-RPC (text "authentication'),
        ("/404", "HTTP 404: the server answered with an error, not XML-RPC (an HTML page titled"),
        ("/500", 'an HTML page titled "500 Internal Server Error", sent as text/html'),
        ("/502", "HTTP 502: the server answered with an error, not XML-RPC (an empty body"),
    ],
)
def test_error_pages_are_http_errors(
    path: str, words: str, proxy: ThreadedProxy, server: Server
) -> None:
    status, answer = send(proxy.port, path, CALL)
    expected_status, _, expected_body = ANSWERS[path]
    assert (status, answer) == (expected_status, expected_body)
    assert server.received == [("POST", path, CALL)]
    record = only(proxy)
    assert record.status == expected_status
    assert record.method == "echo" and record.call is not None
    assert record.reply is None
    assert response_kinds(record) == ["http-error"]
    (problem,) = record.problems
    assert words in problem.reason
    assert "decoder: " in problem.reason  # the decoder's own complaint is kept for people
    assert record.response is not None and record.response.body == expected_body


def test_the_doctype_of_an_error_page_is_not_called_unsafe(proxy: ThreadedProxy) -> None:
    send(proxy.port, "/500", CALL)
    (problem,) = only(proxy).problems
    assert problem.kind == "http-error"
    assert problem.reason.startswith("HTTP 500: ")
    assert "DOCTYPE" in problem.reason  # why the decoder refused it, still said


def test_a_fault_sent_with_status_500_is_a_fault(proxy: ThreadedProxy) -> None:
    status, answer = send(proxy.port, "/fault500", CALL)
    assert (status, answer) == (500, FAULT_500.encode())
    record = only(proxy)
    assert record.status == 500
    assert record.fault_code == 7
    assert record.problems == ()


def test_a_dtd_bomb_with_status_200_is_unsafe(proxy: ThreadedProxy) -> None:
    status, answer = send(proxy.port, "/bomb", CALL)
    assert (status, answer) == (200, BOMB)
    record = only(proxy)
    assert response_kinds(record) == ["unsafe-xml"]
    assert record.reply is None


def test_json_to_rpc2_is_recorded_and_forwarded_untouched(
    proxy: ThreadedProxy, server: Server
) -> None:
    body = b'{"jsonrpc": "2.0", "method": "echo", "params": ["hi"], "id": 1}'
    status, answer = send(proxy.port, "/RPC2", body, "application/json")
    assert (status, answer) == (200, OK)
    assert server.received == [("POST", "/RPC2", body)]
    record = only(proxy)
    assert record.request.body == body
    assert record.call is None and record.method is None
    (problem,) = record.problems
    assert (problem.where, problem.kind) == ("request", "not-xml-rpc")
    assert problem.reason.startswith("not an XML-RPC call: JSON-RPC, sent as application/json")
    assert record.reply is not None  # the server's answer still decodes


def test_a_form_posted_to_the_root_of_a_reverse_proxy_is_recorded(
    proxy: ThreadedProxy, server: Server
) -> None:
    form = b"name=alice&debug=1"
    assert send(proxy.port, "/", form, "application/x-www-form-urlencoded") == (200, OK)
    assert server.received == [("POST", "/", form)]
    (problem,) = only(proxy).problems
    assert problem.kind == "not-xml-rpc"
    assert "form data" in problem.reason


def test_get_and_unwatched_posts_pass_unrecorded(proxy: ThreadedProxy, server: Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=15)
    conn.request("GET", "/RPC2")
    got = conn.getresponse()
    assert (got.status, got.read()) == (501, b"Unsupported method ('GET')")
    conn.close()
    form = b"user=alice&password=secret"
    status, answer = send(proxy.port, "/login", form, "application/x-www-form-urlencoded")
    assert (status, answer) == (200, ANSWERS["/login"][2])
    assert server.received == [("GET", "/RPC2", b""), ("POST", "/login", form)]
    # A real call after them is recorded; they were not.
    assert send(proxy.port, "/RPC2", CALL) == (200, OK)
    record = only(proxy)
    assert record.method == "echo" and record.ok
