"""Replay judges an answer by its bytes first: identical bytes are the same answer, whatever the
decoder made of them (a peer's non-conformant value, an HTTP error page, a body it refuses).

The peer is a real HTTP server on 127.0.0.1 answering the way real implementations do; the
session is recorded from the real stdlib client (its exchanged bytes, through ``build_record``)
and replayed by the real ``rpcspy replay`` process.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import xmlrpc.client
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from rpcspy.capture import CallRecord, HttpMessage, build_record
from rpcspy.replay import compare
from rpcspy.replay.engine import identical_answers
from tests.replay.support import attempt, client, run_rpcspy, write_capture


def _response(value: str) -> bytes:
    return (
        b"<?xml version='1.0'?>\n<methodResponse><params><param><value>"
        + value.encode()
        + b"</value></param></params></methodResponse>\n"
    )


#: What the peer answers, per method: the deviations real peers send (Ruby and Node: an <i4>
#: above 2^31; XMLRPC::Lite: a string faultCode; a repeated struct member), an HTML error page,
#: a body with a DTD (refused by any decoder, strict or tolerant), and one plain answer.
BIG_I4 = _response(
    "<struct><member><name>n</name><value><i4>1099511627776</i4></value></member></struct>"
)
STRING_FAULT = (
    b"<?xml version='1.0'?>\n<methodResponse><fault><value><struct>"
    b"<member><name>faultCode</name><value><string>Client</string></value></member>"
    b"<member><name>faultString</name><value><string>bad call</string></value></member>"
    b"</struct></value></fault></methodResponse>\n"
)
DUPLICATE = _response(
    "<struct><member><name>a</name><value><int>1</int></value></member>"
    "<member><name>a</name><value><int>2</int></value></member></struct>"
)
ERROR_PAGE = (
    b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>'
    b"<title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1>"
    b"</body></html>\n"
)
WITH_DTD = (
    b'<?xml version="1.0"?>\n<!DOCTYPE methodResponse [<!ENTITY x "y">]>\n'
    b"<methodResponse><params><param><value><string>&x;</string></value></param></params>"
    b"</methodResponse>\n"
)
PLAIN = _response("<int>1</int>")

_METHOD = re.compile(rb"<methodName>([^<]+)</methodName>")


class _PeerHandler(BaseHTTPRequestHandler):
    #: Replacements applied to the answers (a byte changed on the server's side).
    tweaks: ClassVar[dict[bytes, tuple[bytes, bytes]]] = {}
    #: gzip header times: every gzip'd answer differs on the wire, never in content.
    stamp: ClassVar[list[int]] = [1_000_000]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        found = _METHOD.search(body)
        method = found.group(1) if found else b""
        status, ctype, encoding = 200, "text/xml", None
        answer = {
            b"peer.bigInt": BIG_I4,
            b"peer.stringFault": STRING_FAULT,
            b"peer.duplicate": DUPLICATE,
            b"peer.dtd": WITH_DTD,
            b"peer.plain": PLAIN,
            b"peer.gzipped": STRING_FAULT,
        }.get(method, ERROR_PAGE)
        if answer is ERROR_PAGE:
            status, ctype = 500, "text/html"
        if method in self.tweaks:
            old, new = self.tweaks[method]
            answer = answer.replace(old, new)
        if method == b"peer.gzipped":
            self.stamp[0] += 1
            answer = gzip.compress(answer, mtime=self.stamp[0])
            encoding = "gzip"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def _peer() -> Iterator[tuple[str, type[_PeerHandler]]]:
    handler = type("Handler", (_PeerHandler,), {"tweaks": {}, "stamp": [1_000_000]})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/RPC2", handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


_CALLS = (
    "peer.bigInt",
    "peer.stringFault",
    "peer.duplicate",
    "peer.error",
    "peer.dtd",
    "peer.gzipped",
    "peer.plain",
)


def _record_session(url: str, tmp_path: Path) -> tuple[Path, list[CallRecord]]:
    records: list[CallRecord] = []
    proxy = client(url, records)
    for name in _CALLS:
        attempt(lambda name=name: getattr(proxy, name)(7))  # type: ignore[misc]
    assert [r.method for r in records] == list(_CALLS)
    return write_capture(tmp_path / "peer.jsonl", records), records


def _calls(stdout: str) -> dict[str, dict[str, object]]:
    report = json.loads(stdout)
    return {str(c["method"]): c for c in report["calls"]}


def test_replay_against_the_unchanged_peer_is_same_even_where_nothing_decodes(
    tmp_path: Path,
) -> None:
    with _peer() as (url, _):
        path, records = _record_session(url, tmp_path)
        # The recorded answers the decoder refuses (today or for good) and the error page.
        refused = {r.method for r in records if r.reply is None}
        assert {"peer.error", "peer.dtd"} <= refused
        text = run_rpcspy("replay", str(path), "--target", url, "--no-progress")
        report = run_rpcspy("replay", str(path), "--target", url, "--json", "--all")
    assert text.code == 0, text.stdout + text.stderr
    assert text.stdout.splitlines()[-1].startswith("OK 7 calls: 7 same")
    # The report says why a call whose answer did not decode is "same".
    page = (
        "#4 peer.error  same: answer bytes identical to the recorded ones "
        "(HTTP 500 (text/html), not an XML-RPC answer"
    )
    assert any(line.startswith(page) for line in text.stdout.splitlines()), text.stdout
    assert "#5 peer.dtd  same: answer bytes identical to the recorded ones (HTTP 200" in (
        text.stdout
    )
    assert report.code == 0
    calls = _calls(report.stdout)
    assert {c["verdict"] for c in calls.values()} == {"same"}
    for method in sorted(m for m in refused if m is not None):
        message = calls[method]["message"]
        assert isinstance(message, str)
        assert message.startswith("answer bytes identical to the recorded ones ("), method
    for method in set(_CALLS) - refused:
        assert calls[method]["message"] is None, method


def test_a_changed_byte_is_a_difference(tmp_path: Path) -> None:
    with _peer() as (url, handler):
        path, _ = _record_session(url, tmp_path)
        handler.tweaks[b"peer.bigInt"] = (b"1099511627776", b"1099511627777")
        handler.tweaks[b"peer.dtd"] = (b"</string>", b"</string> ")
        done = run_rpcspy("replay", str(path), "--target", url, "--json")
    assert done.code == 1, done.stdout + done.stderr
    calls = _calls(done.stdout)
    assert {m for m, c in calls.items() if c["failing"]} == {"peer.bigInt", "peer.dtd"}
    assert {c["verdict"] for m, c in calls.items() if not c["failing"]} == {"same"}
    assert calls["peer.bigInt"]["verdict"] != "same"
    offset = WITH_DTD.index(b"</string>") + len(b"</string>")
    message = calls["peer.dtd"]["message"]
    assert calls["peer.dtd"]["verdict"] == "error"
    assert isinstance(message, str)
    assert message.endswith(f"; the answer bytes differ from the recorded ones at byte {offset}")


def _exchange(body: bytes, encoding: str | None, status: int = 200) -> CallRecord:
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/xml"),)
    if encoding:
        headers += (("Content-Encoding", encoding),)
    return build_record(
        HttpMessage((("Content-Type", "text/xml"),), xmlrpc.client.dumps((7,), "peer.x").encode()),
        HttpMessage(headers, body),
        started=1.0,
        ended=1.1,
        status=status,
    )


def test_the_bytes_rule_undoes_content_encodings_and_needs_the_same_status() -> None:
    plain = _exchange(STRING_FAULT, None)
    zipped = _exchange(gzip.compress(STRING_FAULT, mtime=1), "gzip")
    rezipped = _exchange(gzip.compress(STRING_FAULT, mtime=2), "gzip")
    assert zipped.response is not None and rezipped.response is not None
    assert zipped.response.body != rezipped.response.body
    # Another encoding, or another gzip header: equal once the encoding is undone.
    assert identical_answers(plain, zipped) and identical_answers(zipped, rezipped)
    outcome = compare(plain, zipped)
    assert outcome.verdict == "same" and not outcome.failing
    # The same bytes under another status are another answer: not identical, so an answer that
    # does not decode (a DTD) is an error, while one that decodes is compared by its values.
    assert not identical_answers(plain, _exchange(STRING_FAULT, None, status=500))
    dtd = _exchange(WITH_DTD, None)
    assert compare(dtd, _exchange(WITH_DTD, None, status=500)).verdict == "error"
    assert compare(dtd, _exchange(WITH_DTD, None)).verdict == "same"
    # A corrupt gzip body is compared as it crossed the wire, and only so.
    broken = _exchange(b"\x1f\x8b not gzip", "gzip")
    assert identical_answers(broken, _exchange(b"\x1f\x8b not gzip", "gzip"))
    assert not identical_answers(broken, _exchange(b"\x1f\x8b not gzip!", "gzip"))
    # No response: nothing to compare.
    dropped = build_record(
        HttpMessage((), xmlrpc.client.dumps((), "peer.x").encode()), None, started=1.0
    )
    assert not identical_answers(dropped, dropped)
