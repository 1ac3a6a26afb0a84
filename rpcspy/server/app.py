"""The demo server: the stdlib ``xmlrpc.server`` with threads, Basic auth, TLS and a one-line log.

``DemoServer(ServerConfig(...))`` binds at construction (so a busy port is an ``OSError`` right
away), serves from a background thread after ``start()`` (or ``with server:``), and ``stop()``
shuts everything down: the listening socket, calls in flight (``demo.slow`` wakes up and answers
fault -32400), the sandbox temp directory and the generated certificate. ``serve_forever()``
(for the command line) blocks until ``stop()``, Ctrl-C or SIGTERM, and cleans up the same way.

Wire behaviour, on purpose close to a plain ``SimpleXMLRPCServer``:

- ``POST /RPC2`` and ``POST /`` reach the same dispatcher; any other path is 404, any other HTTP
  method 501. Responses are HTTP/1.0 (one call per connection) and gzip-encoded above 1400 bytes
  when the client accepts gzip, both as the stdlib does. Request bodies over 64 MiB are 413.
- What it takes on at once is bounded (``ServerConfig.limits``, ``rpcspy.server.limits``):
  connections over ``max_connections`` are answered 503 without a thread; a request whose body
  would take the bytes held at once over ``max_inflight`` is 503 (its body read and dropped);
  one over ``max_body`` is 413; a client idle or stalled for ``idle_timeout`` seconds is cut. A
  body shorter than its Content-Length is never dispatched.
- ``allow_none`` and ``use_builtin_types`` are on: nil, base64 (bytes) and dateTime (datetime)
  pass through as Python values.
- Unknown methods are fault -32601, a wrong number of arguments -32602 (see ``faults.py``);
  ``prefix.private`` and a bare ``public`` get the prefix tutorial's own refusal, fault 1
  ``<class 'Exception'>:method "..." is not supported``.
  ``system.methodSignature`` gives real signatures (``"undef"`` where types depend on values),
  ``system.methodHelp`` the method's documentation.
- With ``user``/``password`` every request on every path needs HTTP Basic credentials (compared in
  constant time); otherwise 401 with ``WWW-Authenticate: Basic realm="rpcspy demo"``.
- With ``tls`` the socket speaks HTTPS, with ``certfile``/``keyfile`` or a fresh self-signed
  certificate for localhost, 127.0.0.1 and ::1 (and the configured host), whose path is ``cafile``.
  The handshake runs in the connection's own thread, so a client that never completes it cannot
  block the others.

How ``demo.crash`` drops the connection: the stdlib dispatcher turns every exception into a fault
response, so raising cannot abort the request. Instead the method marks the request (a
thread-local flag in the server, set through the ``drop_connection`` hook of ``DemoServices``);
the request handler sees the mark after dispatching, sends nothing and shuts the socket down. The
client reads end-of-file where the status line should be: ``http.client.RemoteDisconnected``.
The stdlib client retries such a call once, so a server log shows ``demo.crash`` twice. Inside a
``system.multicall`` the calls after ``demo.crash`` are not run and the whole multicall is dropped.

Each request is logged to stderr in one line unless ``quiet``::

    14:02:07 127.0.0.1:50412 POST /RPC2 echo -> 200 0.4 ms
    14:02:07 127.0.0.1:50414 POST /RPC2 demo.fault -> 200 (fault 42) 0.3 ms
    14:02:07 127.0.0.1:50416 POST /RPC2 system.multicall[3] -> 200 (1 fault inside) 0.6 ms
    14:02:07 127.0.0.1:50418 POST /RPC2 - -> 401 (unauthorized) 0.1 ms
    14:02:07 127.0.0.1:50420 POST /RPC2 demo.crash -> dropped 0.2 ms
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import inspect
import shutil
import signal
import socket
import socketserver
import ssl
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from xmlrpc.client import Fault, gzip_encode
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

from rpcspy.server.faults import (
    FAULT_INVALID_PARAMS,
    FAULT_METHOD_NOT_FOUND,
    FAULT_SYSTEM,
    fail,
)
from rpcspy.server.limits import DEFAULT_HTTP_LIMITS, Admission, HttpLimits, refuse_busy
from rpcspy.server.sandbox import TUTORIAL_DIRS, Sandbox
from rpcspy.server.services import DemoServices, Method, PrefixService, Signature, call_with_params
from rpcspy.server.tlscert import DEFAULT_HOSTS, generate_self_signed

__all__ = ["MAX_REQUEST_BYTES", "REALM", "DemoServer", "ServerConfig"]

#: Request bodies above this size are refused with 413 (the codec's default limit too).
MAX_REQUEST_BYTES = DEFAULT_HTTP_LIMITS.max_body
#: The Basic auth realm announced in ``WWW-Authenticate``.
REALM = "rpcspy demo"

# A refused request's body is read (up to this size) before answering 401: closing a socket with
# unread data makes the kernel send a reset, and the client would see that instead of the 401.
_DRAIN_LIMIT = 1024 * 1024
# How long stop() lets calls in flight finish before cutting their connections.
_STOP_GRACE_SECONDS = 3.0
_UNSPECIFIED_HOSTS = ("", "0.0.0.0", "::")
_log_lock = threading.Lock()


@dataclass(frozen=True)
class ServerConfig:
    """How to run the demo server; see the module documentation for each feature.

    ``port=0`` picks a free port (read it back from ``DemoServer.port``). ``root`` is the
    directory the file methods are confined to, playing ``/`` (default: a fresh temp dir holding
    an empty ``tmp/``, removed on stop; a given ``root`` is used as it is).
    ``user`` turns on Basic auth and then needs ``password`` (a ``password`` alone is ignored).
    ``keyfile`` defaults to the key inside ``certfile``. ``variant=2`` changes a few results and
    the API on purpose (listed in ``rpcspy.server.services``).
    """

    host: str = "127.0.0.1"
    port: int = 8000
    root: Path | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # kept out of logs and tracebacks
    tls: bool = False
    certfile: Path | None = None
    keyfile: Path | None = None
    variant: int = 1
    quiet: bool = False
    #: Connections, body bytes in flight and idle time (see ``rpcspy.server.limits``).
    limits: HttpLimits = DEFAULT_HTTP_LIMITS

    def __post_init__(self) -> None:
        if self.variant not in (1, 2):
            raise ValueError(f"variant must be 1 or 2, got {self.variant!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {self.port}")
        if self.user is not None:
            if self.password is None:
                raise ValueError("user needs a password")
            if ":" in self.user:
                raise ValueError("a Basic auth user name cannot contain ':'")
        if (self.certfile is not None or self.keyfile is not None) and not self.tls:
            raise ValueError("certfile/keyfile need tls=True")
        if self.keyfile is not None and self.certfile is None:
            raise ValueError("keyfile needs certfile")


class _RequestState(threading.local):
    """Per handler thread: whether ``demo.crash`` asked to drop the current connection."""

    drop: bool = False

    def request_drop(self) -> None:
        """Mark the current request: the handler will close the connection without answering."""
        self.drop = True


def _log(line: str) -> None:
    with _log_lock:
        # sys.stderr looked up per call: tests and the CLI may replace it.
        print(line, file=sys.stderr, flush=True)


def _printable(text: str, limit: int = 80) -> str:
    """Client-chosen text made safe for a one-line log: quoted when odd, cut when long."""
    if text and text.isprintable() and " " not in text and len(text) <= limit:
        return text
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _one_line(text: str, limit: int = 120) -> str:
    """Free text (an error message) as one printable line of at most ``limit`` characters."""
    flat = "".join(c if c.isprintable() else " " for c in text)
    flat = " ".join(flat.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _peer(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host = str(address[0])
        return f"[{host}]:{address[1]}" if ":" in host else f"{host}:{address[1]}"
    return str(address)


class _Server(socketserver.ThreadingMixIn, SimpleXMLRPCServer):
    """``SimpleXMLRPCServer`` with a thread per connection that ``stop()`` can wait for or cut."""

    # Threads are tracked by hand (see process_request) so shutdown can bound its wait; daemon
    # threads keep a stuck client from holding the interpreter open.
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64  # the stdlib's 5 drops connection bursts from concurrent clients
    #: Connections and body bytes in flight (the server's limits replace the default).
    admission = Admission(DEFAULT_HTTP_LIMITS)

    def __init__(
        self,
        address: tuple[str, int],
        *,
        family: socket.AddressFamily,
        credentials: tuple[bytes, bytes] | None,
        quiet: bool,
        tls: ssl.SSLContext | None,
    ) -> None:
        self.address_family = family
        self.credentials = credentials
        self.quiet = quiet
        self.state = _RequestState()
        self.signatures: dict[str, tuple[Signature, ...] | None] = {}
        # Connection threads and their sockets; "busy" ones have received a request line.
        self._handlers: dict[threading.Thread, Any] = {}
        self._busy: set[threading.Thread] = set()
        self._handlers_lock = threading.Lock()
        super().__init__(
            address,
            requestHandler=_Handler,
            logRequests=False,
            allow_none=True,
            use_builtin_types=True,
            bind_and_activate=False,
        )
        try:
            self.server_bind()
            self.server_activate()
            if tls is not None:
                self.socket = tls.wrap_socket(
                    self.socket, server_side=True, do_handshake_on_connect=False
                )
        except BaseException:
            self.server_close()
            raise

    # ------------------------------------------------------------ methods

    def add_method(self, method: Method) -> None:
        """Register one method under its wire name, with its signatures."""
        self.register_function(method.func, method.name)
        self.signatures[method.name] = method.signatures

    def add_system_methods(self) -> None:
        """Introspection and multicall, with real help and signatures."""
        self.add_method(Method("system.listMethods", self.system_listMethods, (("array",),)))
        self.add_method(Method("system.methodHelp", self.method_help, (("string", "string"),)))
        self.add_method(
            Method("system.methodSignature", self.method_signature, (("array", "string"),))
        )
        self.add_method(Method("system.multicall", self.system_multicall, (("array", "array"),)))

    def method_help(self, method_name: object) -> str:
        """system.methodHelp('add') => "Adds two integers together"

        Returns a string containing documentation for the specified method.
        """
        name = self._method_name(method_name, "system.methodHelp")
        func = self.funcs.get(name)
        if func is not None:
            return _doc(func)
        if self.instance is not None and hasattr(self.instance, "_methodHelp"):
            return str(self.instance._methodHelp(name))
        fail(FAULT_METHOD_NOT_FOUND, "system.methodHelp", f"no method {name!r}")

    def method_signature(self, method_name: object) -> list[list[str]] | str:
        """system.methodSignature('add') => [double, int, int]

        Returns a list describing the signature of the method. In the
        above example, the add method takes two integers as arguments
        and returns a double result.

        This server lists every signature of a method, [[return type, parameter types...], ...],
        and answers "undef" when the types depend on the values given.
        """
        name = self._method_name(method_name, "system.methodSignature")
        signatures: tuple[Signature, ...] | None
        if name in self.signatures:
            signatures = self.signatures[name]
        elif self.instance is not None and hasattr(self.instance, "_methodSignature"):
            signatures = self.instance._methodSignature(name)
        else:
            fail(FAULT_METHOD_NOT_FOUND, "system.methodSignature", f"no method {name!r}")
        if signatures is None:
            return "undef"
        return [list(signature) for signature in signatures]

    @staticmethod
    def _method_name(value: object, method: str) -> str:
        if not isinstance(value, str):
            fail(FAULT_INVALID_PARAMS, method, "the method name must be a string")
        return value

    def _dispatch(self, method: str, params: Iterable[Any]) -> Any:
        if self.state.drop:
            # demo.crash ran earlier in this multicall: the server is "dead" for this request.
            raise Fault(FAULT_SYSTEM, f"{method}: not run, the connection is being dropped")
        args = tuple(params)
        func = self.funcs.get(method)
        if func is not None:
            return call_with_params(method, func, args)
        if self.instance is not None and self.instance.claims(method):
            return self.instance._dispatch(method, args)
        raise Fault(FAULT_METHOD_NOT_FOUND, f'method "{method}" is not supported')

    # ------------------------------------------------------------ connections

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection in a thread of its own, remembered for stop(); over the
        connection limit, 503 from here (a plain close under TLS) and no thread."""
        if not self.admission.enter():
            if not isinstance(request, ssl.SSLSocket):
                refuse_busy(request, "rpcspy demo server")
            if not self.quiet:
                most = self.admission.limits.max_connections
                _log(
                    f"{time.strftime('%H:%M:%S')} {_peer(client_address)} connection -> 503 "
                    f"(busy: {most} connections served already)"
                )
            self.shutdown_request(request)
            return
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"rpcspy-demo {_peer(client_address)}",
            daemon=True,
        )
        with self._handlers_lock:
            self._handlers[thread] = request
        try:
            thread.start()
        except BaseException:
            self.admission.leave()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """The stdlib's connection thread, forgotten again when it ends."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.admission.leave()
            with self._handlers_lock:
                self._handlers.pop(threading.current_thread(), None)
                self._busy.discard(threading.current_thread())

    def mark_busy(self) -> None:
        """Called by a handler once its request line arrived: stop() lets it finish."""
        with self._handlers_lock:
            self._busy.add(threading.current_thread())

    @property
    def connections(self) -> int:
        """Connections accepted and not yet closed."""
        with self._handlers_lock:
            return len(self._handlers)

    def finish_requests(self, grace: float) -> None:
        """Cut idle connections, let requests in flight finish for up to ``grace`` seconds, cut
        the rest."""
        with self._handlers_lock:
            idle = [
                request for thread, request in self._handlers.items() if thread not in self._busy
            ]
        # A connection still waiting for its request line has nothing to finish.
        _cut(idle)
        deadline = time.monotonic() + grace
        with self._handlers_lock:
            threads = list(self._handlers)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._handlers_lock:
            left = list(self._handlers.items())
        _cut(request for _, request in left)
        for thread, _ in left:
            thread.join(1.0)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One log line for network and TLS errors; the stdlib's traceback for anything else."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            # A client that went away or refused our certificate: worth a line, not a traceback.
            if not self.quiet:
                _log(
                    f"{time.strftime('%H:%M:%S')} {_peer(client_address)} connection error: "
                    f"{type(exc).__name__}: {exc}"
                )
            return
        super().handle_error(request, client_address)


def _cut(requests: Iterable[Any]) -> None:
    for request in requests:
        if isinstance(request, socket.socket):
            # socket.socket's own shutdown, not SSLSocket's: no TLS goodbye, just the cut.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(request, socket.SHUT_RDWR)


def _doc(func: Any) -> str:
    return inspect.getdoc(func) or ""


class _Handler(SimpleXMLRPCRequestHandler):
    """One connection: authentication, body limits, dispatch, the crash drop and the log line."""

    rpc_paths = ("/", "/RPC2")
    server: _Server

    def setup(self) -> None:
        """The stdlib's, then the idle bound: idle or stalled clients give their thread back."""
        super().setup()
        self.connection.settimeout(self.server.admission.limits.idle_timeout)

    def handle(self) -> None:
        """The TLS handshake first, here in the connection's thread, then the request."""
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()
        super().handle()

    def handle_one_request(self) -> None:
        """The stdlib's request handling, with fresh per-request state and one log line after."""
        self.requestline = ""
        self.command = ""
        self._begin = time.monotonic()
        self._status: int | None = None
        self._method: str | None = None
        self._extra = ""
        self._note = ""
        self._dropped = False
        self.server.state.drop = False
        try:
            super().handle_one_request()
        finally:
            if self.requestline or self._note:
                self._log_outcome()

    def parse_request(self) -> bool:
        """The stdlib's request-line and header parsing, then Basic auth when configured."""
        self.server.mark_busy()
        if not super().parse_request():
            return False
        if self.server.credentials is not None and not self._authorized(self.server.credentials):
            self._drain_body()
            self._extra = "unauthorized"
            self._send_plain(
                HTTPStatus.UNAUTHORIZED,
                "authentication required\n",
                [("WWW-Authenticate", f'Basic realm="{REALM}"')],
            )
            return False
        return True

    def do_POST(self) -> None:
        """Like the stdlib's, plus body limits, the demo.crash drop and fault notes for the log."""
        if not self.is_rpc_path_valid():
            self.report_404()
            return
        length = self._admit()
        if length is None:
            return
        try:
            self._answer(length)
        finally:
            self.server.admission.release(length)

    def _answer(self, length: int) -> None:
        """Read the admitted body, dispatch it and send the answer (or drop the connection)."""
        body = self._read_body(length)
        if body is None:
            return
        data = self.decode_request_content(body)
        if data is None:
            return
        try:
            response: bytes = self.server._marshaled_dispatch(data, self._dispatch, self.path)  # type: ignore[assignment]
        except Exception as exc:
            # The dispatcher turns method errors into faults; only a bug in the server gets here.
            self._extra = f"internal error: {type(exc).__name__}"
            self.send_response(HTTPStatus.INTERNAL_SERVER_ERROR)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.server.state.drop:
            self._drop_connection()
            return
        if not self._extra and b"<fault>" in response[:80]:
            # A result the marshaller refused becomes a fault without passing through _dispatch.
            self._extra = "fault"
        self._send_xml(response)

    def _dispatch(self, method: str, params: tuple[Any, ...]) -> Any:
        """The top-level call: remembered for the log line, then the server's dispatcher."""
        self._method = _printable(method)
        is_multicall = method == "system.multicall"
        if is_multicall and len(params) == 1 and isinstance(params[0], list):
            self._method += f"[{len(params[0])}]"
        try:
            result = self.server._dispatch(method, params)
        except Fault as fault:
            self._extra = f"fault {fault.faultCode}"
            raise
        except Exception:
            self._extra = "fault 1"
            raise
        if is_multicall and isinstance(result, list):
            faults = sum(isinstance(entry, dict) for entry in result)
            if faults:
                self._extra = f"{faults} fault{'s' if faults > 1 else ''} inside"
        return result

    # ------------------------------------------------------------ pieces

    def _authorized(self, expected: tuple[bytes, bytes]) -> bool:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, colon, password = decoded.partition(b":")
        # Both compared every time, so timing tells nothing about which one was wrong.
        user_ok = hmac.compare_digest(user, expected[0])
        password_ok = hmac.compare_digest(password, expected[1])
        return bool(colon) and user_ok and password_ok

    def _content_length(self) -> int | None:
        raw = self.headers.get("Content-Length")
        if raw is None:
            return None
        raw = raw.strip()
        # int() would also take "+5", "1_000" and non-ASCII digits.
        return int(raw) if raw.isascii() and raw.isdigit() else -1

    def _admit(self) -> int | None:
        """The body length, held against the bytes-in-flight budget; None once answered."""
        length = self._content_length()
        if length is None:
            self._send_plain(HTTPStatus.LENGTH_REQUIRED, "Content-Length required\n")
            return None
        if length < 0:
            self._send_plain(HTTPStatus.BAD_REQUEST, "bad Content-Length\n")
            return None
        limit = self.server.admission.limits.max_body
        if length > limit:
            self._send_plain(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"request body over {limit} bytes\n",
            )
            return None
        if not self.server.admission.reserve(length):
            # Read and dropped in small pieces, so the client gets the 503 and not a reset.
            with contextlib.suppress(OSError):
                left = length
                while left > 0:
                    got = self.rfile.read(min(left, 64 * 1024))
                    if not got:
                        break
                    left -= len(got)
            self._extra = "busy: too many body bytes in flight"
            self._send_plain(
                HTTPStatus.SERVICE_UNAVAILABLE, "busy, try again shortly\n", [("Retry-After", "1")]
            )
            return None
        return length

    def _read_body(self, length: int) -> bytes | None:
        data = self.rfile.read(length)
        if len(data) < length:
            self._note = f"client sent {len(data)} of {length} body bytes"
            self.close_connection = True
            return None
        return data

    def _drain_body(self) -> None:
        length = self._content_length()
        if length is not None and 0 < length <= _DRAIN_LIMIT:
            with contextlib.suppress(OSError):
                self.rfile.read(length)

    def _send_plain(
        self, status: HTTPStatus, text: str, headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        body = text.encode("utf-8")
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def _send_xml(self, response: bytes) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/xml")
        threshold = self.encode_threshold
        if (
            threshold is not None
            and len(response) > threshold
            and self.accept_encodings().get("gzip", 0)
        ):
            response = gzip_encode(response)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(response)))
        self.end_headers()
        self.wfile.write(response)

    def _drop_connection(self) -> None:
        self._dropped = True
        self.close_connection = True
        with contextlib.suppress(OSError):
            socket.socket.shutdown(self.connection, socket.SHUT_RDWR)

    # ------------------------------------------------------------ logging

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Remember the status for the log line instead of printing the stdlib's."""
        with contextlib.suppress(ValueError):
            self._status = int(code)

    def log_error(self, format: str, *args: Any) -> None:
        """Remember the error text for the log line."""
        # send_error logs "code %d, message %s" before its status line: keep just the message.
        if format == "code %d, message %s" and len(args) == 2:
            self._note = str(args[1])
        else:
            self._note = format % args

    def log_message(self, format: str, *args: Any) -> None:
        """Replaced by the one line per request of ``_log_outcome``."""

    def _log_outcome(self) -> None:
        if self.server.quiet:
            return
        elapsed_ms = (time.monotonic() - self._begin) * 1000
        status = str(self._status) if self._status is not None else "-"
        if self._dropped:
            status = "dropped"
        detail = self._extra or (self._note if self._status is None or self._status >= 400 else "")
        parts = [
            time.strftime("%H:%M:%S"),
            _peer(self.client_address),
            self.command or "-",
            _printable(self.path) if self.requestline else "-",
            self._method or "-",
            "->",
            status,
        ]
        if detail:
            parts.append(f"({_one_line(detail)})")
        parts.append(f"{elapsed_ms:.1f} ms")
        _log(" ".join(parts))


class DemoServer:
    """The demo XML-RPC server (see the module documentation).

    Binds in the constructor (``OSError`` if the address is taken); ``start()`` serves from a
    background thread; ``stop()`` shuts down and removes the temp files. A context manager:
    ``with DemoServer(config) as server: ...`` starts and stops it.
    """

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config if config is not None else ServerConfig()
        #: The certificate clients should trust when it was generated here, else None.
        self.cafile: Path | None = None
        self._stopping = threading.Event()
        self._loop_done = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        with contextlib.ExitStack() as stack:
            sandbox = Sandbox(self._make_root(stack))
            #: The directory the dir.* methods are confined to.
            self.root = sandbox.root
            tls = self._make_tls_context(stack) if self.config.tls else None
            credentials = None
            if self.config.user is not None and self.config.password is not None:
                credentials = (self.config.user.encode(), self.config.password.encode())
            host = self.config.host
            self._server = _Server(
                (host, self.config.port),
                family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                credentials=credentials,
                quiet=self.config.quiet,
                tls=tls,
            )
            self._server.admission = Admission(self.config.limits)
            stack.callback(self._server.server_close)
            services = DemoServices(
                sandbox,
                variant=self.config.variant,
                stopping=self._stopping,
                drop_connection=self._server.state.request_drop,
            )
            for method in services.methods():
                self._server.add_method(method)
            self._server.register_instance(PrefixService())
            self._server.add_system_methods()
            cleanup = stack.pop_all()
        # Temp files go even when stop() is never called (at garbage collection or exit).
        self._cleanup = weakref.finalize(self, cleanup.close)

    def _make_root(self, stack: contextlib.ExitStack) -> Path:
        if self.config.root is not None:
            return self.config.root
        root = Path(tempfile.mkdtemp(prefix="rpcspy-demo-root-"))
        stack.callback(shutil.rmtree, root, ignore_errors=True)
        for name in TUTORIAL_DIRS:
            (root / name).mkdir()
        return root

    def _make_tls_context(self, stack: contextlib.ExitStack) -> ssl.SSLContext:
        certfile, keyfile = self.config.certfile, self.config.keyfile
        if certfile is None:
            directory = Path(tempfile.mkdtemp(prefix="rpcspy-demo-tls-"))
            stack.callback(shutil.rmtree, directory, ignore_errors=True)
            hosts = list(DEFAULT_HOSTS)
            if self.config.host not in _UNSPECIFIED_HOSTS:
                hosts.append(self.config.host)
            certfile, keyfile = generate_self_signed(directory, hosts)
            self.cafile = certfile
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(certfile, keyfile)
        return context

    # ------------------------------------------------------------ addresses

    @property
    def port(self) -> int:
        """The port listened on (the real one when the config said 0)."""
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        """The address bound, as configured."""
        return self.config.host

    @property
    def scheme(self) -> str:
        """``https`` with TLS, else ``http``."""
        return "https" if self.config.tls else "http"

    @property
    def base_url(self) -> str:
        """``scheme://host:port`` without a path; an any-address bind shows as loopback."""
        host = self.config.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The XML-RPC endpoint, ``base_url + "/RPC2"`` (``base_url + "/"`` serves the same)."""
        return self.base_url + "/RPC2"

    @property
    def connections(self) -> int:
        """Client connections being served right now (accepted, not yet closed)."""
        return self._server.connections

    @property
    def running(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return self._thread is not None and not self._closed

    # ------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Serve from a background thread; the socket already listens, so clients may connect
        now."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this DemoServer was stopped; create a new one")
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._serve, name=f"rpcspy-demo-server :{self.port}", daemon=True
            )
            self._thread.start()

    def _serve(self) -> None:
        try:
            # A short poll keeps stop() quick; the loop is idle otherwise.
            self._server.serve_forever(poll_interval=0.1)
        finally:
            self._loop_done.set()

    def serve_forever(self) -> None:
        """Serve until ``stop()``, SIGTERM (returns) or Ctrl-C (``KeyboardInterrupt`` propagates).

        Stops the server, temp files included, on the way out. SIGTERM is only caught when
        called from the main thread, and the previous handler is put back afterwards.
        """
        self.start()
        terminated = False

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            # Only a flag: Event.set() here could deadlock on the lock the main thread holds.
            nonlocal terminated
            terminated = True

        previous: Any = None
        in_main_thread = threading.current_thread() is threading.main_thread()
        if in_main_thread:
            previous = signal.signal(signal.SIGTERM, on_sigterm)
        try:
            # Waiting in slices lets the main thread see KeyboardInterrupt and the flag.
            while not terminated and not self._loop_done.wait(0.2):
                pass
        finally:
            if in_main_thread:
                signal.signal(signal.SIGTERM, previous)
            self.stop()

    def stop(self) -> None:
        """Stop serving, wake and finish calls in flight, close the socket, remove the temp files.

        Idempotent; returns within a few seconds even with clients that never finish.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        self._stopping.set()
        if thread is not None:
            self._server.shutdown()
            thread.join()
        self._server.finish_requests(_STOP_GRACE_SECONDS)
        self._cleanup()

    def __enter__(self) -> DemoServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else ("stopped" if self._closed else "ready")
        return f"<DemoServer {self.url} {state}>"
