"""The playback HTTP server of ``rpcspy mock``: a thin socket driver around ``Playbook``.

Any POST path is served (``/RPC2``, ``/``, whatever the capture used). The request body is
decoded like a captured one (content encodings undone, the same codec), the playbook picks the
answer (by the decoded call, or by the exact bytes of a request that does not decode), and the
recorded bytes go back with their Content-Type and Content-Encoding. One log line per call goes
to ``log`` (stderr by default).

What it takes on at once is bounded by ``HttpLimits`` (``rpcspy.server.limits``): connections
(more get 503), request body bytes held at once (a request over the budget gets 503, one over
``max_body`` 413) and idle time (a keep-alive connection idle, or a client stalled mid-request,
for ``idle_timeout`` seconds is closed). A body shorter than its Content-Length is answered 400
and is not a call. A client that leaves mid-request (a reset, a broken pipe) costs one log line,
never a traceback.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TextIO

from rpcspy.capture import HttpMessage, build_record
from rpcspy.mock.playbook import Answer, Playbook
from rpcspy.server.limits import DEFAULT_HTTP_LIMITS, Admission, HttpLimits, refuse_busy
from rpcspy.term import Style, printable
from rpcspy.xmlrpc.messages import MethodCall

__all__ = ["MockServer"]

_DRAIN_CHUNK = 64 * 1024


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive: clients that reuse connections may
    server_version = "rpcspy-mock"

    def setup(self) -> None:
        super().setup()
        # The idle bound: every wait for the client (next request, headers, body) ends after it.
        self.connection.settimeout(self.server.owner.limits.idle_timeout)

    def log_message(self, format: str, *args: object) -> None:
        # One line per call comes from the mock itself; the stdlib's access log would double it.
        return

    def _send(self, answer: Answer) -> None:
        if answer.drop:
            # The recorded server never answered this call: neither does the mock.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        if answer.content_encoding:
            self.send_header("Content-Encoding", answer.content_encoding)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def _plain(self, status: int, text: str, extra: tuple[tuple[str, str], ...] = ()) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._plain(405, "rpcspy mock: XML-RPC calls are POST requests\n", (("Allow", "POST"),))

    def do_POST(self) -> None:
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.isdigit():
            self.close_connection = True
            self._plain(411, "rpcspy mock: a Content-Length is needed\n")
            return
        length = int(length_text)
        owner = self.server.owner
        if length > owner.limits.max_body:
            self.close_connection = True
            self._plain(413, "rpcspy mock: the request is too large\n")
            return
        if not owner.admission.reserve(length):
            # Too many bytes held at once: the body is read and dropped (so the client gets
            # the answer, not a reset), never kept.
            self.close_connection = True
            self._drain(length)
            owner.note("busy: request refused (503), too many body bytes in flight")
            self._plain(503, "rpcspy mock: busy, try again shortly\n", (("Retry-After", "1"),))
            return
        try:
            self._answer(length)
        finally:
            owner.admission.release(length)

    def _drain(self, length: int) -> None:
        with contextlib.suppress(OSError):
            while length > 0:
                got = self.rfile.read(min(length, _DRAIN_CHUNK))
                if not got:
                    return
                length -= len(got)

    def _answer(self, length: int) -> None:
        body = self.rfile.read(length)
        if len(body) < length:
            # The client closed early: what came is not the call it meant to send.
            self.close_connection = True
            self.server.owner.note(
                f"{_peer(self.client_address)} sent {len(body)} of {length} body bytes "
                "and closed: not a call (400)"
            )
            with contextlib.suppress(OSError):
                self._plain(400, "rpcspy mock: the body is shorter than its Content-Length\n")
            return
        now = time.time()
        # Decoded exactly as a captured request is: content encodings, the codec, its limits.
        record = build_record(
            HttpMessage(tuple(self.headers.items()), body),
            None,
            started=now,
            client=self.client_address,
            scheme="http",
            path=self.path,
        )
        call = record.call
        playbook = self.server.owner.playbook
        if call is None:
            # Not a call the codec reads: answered only if a recorded request had these bytes.
            reason = "; ".join(p.message for p in record.problems) or "it does not decode"
            answer = playbook.answer_undecoded(body, record.request.content_encoding, reason)
        else:
            answer = playbook.answer(call)
        self.server.owner.log_answer(answer, call)
        self._send(answer)


def _peer(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
    owner: MockServer

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread per connection, up to the limit; over it, 503 from here and no thread."""
        if not self.owner.admission.enter():
            refuse_busy(request, "rpcspy mock")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.owner.admission.leave()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.owner.admission.leave()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that left (reset, broken pipe, timed out) is one line; a bug a traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            self.owner.note(f"{_peer(client_address)} left mid-request ({type(exc).__name__})")
            return
        super().handle_error(request, client_address)


class MockServer:
    """Serves a playbook on ``host:port`` (0: any free port) in a background thread.

    ``start``/``stop`` or a ``with`` block; ``url`` is ``http://host:port/RPC2``. ``hits`` and
    ``misses`` count the calls answered.
    """

    def __init__(
        self,
        playbook: Playbook,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log: TextIO | None = None,
        quiet: bool = False,
        limits: HttpLimits = DEFAULT_HTTP_LIMITS,
    ) -> None:
        self.playbook = playbook
        self.limits = limits
        self.admission = Admission(limits)
        self.log = log if log is not None else sys.stderr
        self.quiet = quiet
        self.hits = 0
        self.misses = 0
        self._count_lock = threading.Lock()
        self._style = Style(self.log)
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        """The address listened on."""
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        """The port listened on (the real one when 0 was asked)."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port/RPC2`` (any path is served)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/RPC2"

    def log_answer(self, answer: Answer, call: MethodCall | None) -> None:
        """Count the answer and log its line (unless quiet)."""
        with self._count_lock:
            if answer.matched:
                self.hits += 1
            else:
                self.misses += 1
        if self.quiet:
            return
        line = answer.log_line(call)
        word, rest = line.split(" ", 1)
        colour = "green" if answer.matched else "red"
        stamp = time.strftime("%H:%M:%S")
        try:
            self.log.write(f"{stamp} {self._style(word, colour, 'bold')} {printable(rest)}\n")
            self.log.flush()
        except (OSError, ValueError):
            pass

    def note(self, text: str) -> None:
        """One log line about a connection (not a call), unless quiet."""
        if self.quiet:
            return
        try:
            self.log.write(f"{time.strftime('%H:%M:%S')} {text}\n")
            self.log.flush()
        except (OSError, ValueError):
            pass

    def start(self) -> MockServer:
        """Serve in a background thread; returns at once (the socket already listens)."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="rpcspy-mock", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until ``stop`` is called from another or Ctrl-C."""
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
