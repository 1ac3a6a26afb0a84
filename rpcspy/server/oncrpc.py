"""An ONC RPC server (RFC 5531) over TCP and UDP on one port, with the portmapper in mind.

``OncRpcServer(responder(interface, procedures), ...)`` serves the programs of an ``rpcgen``
interface (``rpcspy.oncrpc.parse_idl``) whose procedures ``procedures`` implements, by name: TCP
with record marking (a thread per connection) and UDP datagrams on the same port of the same
address. The transport does not care how messages are answered: ``rpcspy mock`` gives it its
playback instead. It binds at construction (a busy port is an ``OSError`` at once), serves after
``start()`` (or ``with server:``) and ``stop()`` closes everything.

What a call gets back, as an rpcgen server answers it (``answer`` is that decision, pure but
for the procedure it runs):

- an RPC version other than 2: ``RPC_MISMATCH`` 2-2 (denied);
- a program the interface does not define: ``PROG_UNAVAIL``; a version it does not define:
  ``PROG_MISMATCH`` with the lowest and highest versions served;
- procedure 0 of a served version: the NULL procedure (void in, void out), always there;
- a procedure the version does not define, or one ``procedures`` does not implement:
  ``PROC_UNAVAIL``;
- arguments that do not decode as the procedure's types: ``GARBAGE_ARGS``;
- a procedure that raises, or a result that does not encode: ``SYSTEM_ERR`` (logged);
- else ``SUCCESS`` with the encoded result.

Bytes that are not a call (a reply, garbage) get no answer; a TCP stream whose record marking
breaks is closed. Records are bounded (``max_record``), as are connections (``max_connections``:
past it a new connection is closed at once) and an idle connection's life (``idle_timeout``).

``Portmapper`` registers the served versions with the local portmapper (rpcbind) with
``PMAPPROC_SET`` (version 2, over UDP to 127.0.0.1:111), one mapping per transport, and
``PMAPPROC_UNSET`` takes them back; with no portmapper running it says so and the server serves
anyway (clients then give the port themselves).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, TextIO

from rpcspy.oncrpc import (
    Call,
    Interface,
    Limits,
    OncRpcError,
    RecordDecoder,
    Value,
    decode_message,
    encode_call,
    encode_reply,
    frame_record,
)
from rpcspy.oncrpc.portmap import PORTMAP_PROGRAM

__all__ = [
    "PMAP_PORT",
    "Answer",
    "OncRpcServer",
    "Portmapper",
    "Procedure",
    "Responder",
    "answer",
    "responder",
]

#: A procedure's implementation: the decoded arguments in, the result (anything the result's
#: XDR type encodes: a typed value, or plain ints, strings, dicts, lists) out.
Procedure = Callable[[tuple[Value, ...]], object]

PMAP_PORT: Final = 111
_PMAP_VERS: Final = 2
_PMAPPROC_SET: Final = 1
_PMAPPROC_UNSET: Final = 2
_IPPROTO: Final = {"tcp": 6, "udp": 17}
_RPC_VERSION: Final = 2
_UDP_MAX: Final = 65507


@dataclass(frozen=True, slots=True)
class Answer:
    """What ``answer`` made of a message: the reply's bytes (None: no reply at all) and a few
    words for the log."""

    reply: bytes | None
    label: str
    status: str


def _label(interface: Interface, call: Call) -> str:
    prog = interface.programs.get(call.prog)
    vers = prog.versions.get(call.vers) if prog else None
    proc = vers.procedures.get(call.proc) if vers else None
    if prog and vers and proc:
        return f"{prog.name}.{vers.name}.{proc.name}"
    if prog and vers and call.proc == 0:
        return f"{prog.name}.{vers.name}.NULL"
    return f"{call.prog}.{call.vers}.{call.proc}"


def answer(
    message: bytes,
    interface: Interface,
    procedures: Mapping[str, Procedure],
    *,
    limits: Limits | None = None,
    on_error: Callable[[str], None] | None = None,
) -> Answer:
    """The reply to one message (a TCP record or a UDP datagram), as an rpcgen server gives it."""
    try:
        message_limits = {} if limits is None else {"limits": limits}
        msg = decode_message(message, **message_limits)
    except OncRpcError as exc:
        return Answer(None, "-", f"not a call ({exc.reason})")
    if not isinstance(msg, Call):
        return Answer(None, "-", "not a call (a reply)")
    label = _label(interface, msg)

    def reply(status: str, results: bytes = b"", **kw: object) -> Answer:
        data = encode_reply(msg.xid, status, results, **kw)  # type: ignore[arg-type]
        return Answer(data, label, status)

    if msg.rpcvers != _RPC_VERSION:
        return reply("RPC_MISMATCH", mismatch=(_RPC_VERSION, _RPC_VERSION))
    prog = interface.programs.get(msg.prog)
    if prog is None:
        return reply("PROG_UNAVAIL")
    vers = prog.versions.get(msg.vers)
    if vers is None:
        served = sorted(prog.versions)
        return reply("PROG_MISMATCH", mismatch=(served[0], served[-1]))
    proc = vers.procedures.get(msg.proc)
    if proc is None:
        if msg.proc == 0:
            return reply("SUCCESS") if not msg.args else reply("GARBAGE_ARGS")
        return reply("PROC_UNAVAIL")
    run = procedures.get(proc.name)
    if run is None:
        return reply("PROC_UNAVAIL")
    try:
        decode_limits = {} if limits is None else {"limits": limits}
        args = interface.decode_args(proc, msg.data, start=msg.args_offset, **decode_limits)
    except OncRpcError:
        return reply("GARBAGE_ARGS")
    try:
        result = interface.encode_result(proc, run(args))
    except Exception as exc:  # the procedure's bug is the caller's SYSTEM_ERR, not our crash
        if on_error is not None:
            on_error(f"{label}: {type(exc).__name__}: {exc}")
        return reply("SYSTEM_ERR")
    return reply("SUCCESS", result)


#: What a server does with one message (a TCP record or a UDP datagram) from a peer: the
#: answer to send, if any. ``answer`` (bound to an interface and its procedures) is one;
#: ``rpcspy mock``'s playback is another.
Responder = Callable[[bytes], Answer]


def responder(
    interface: Interface,
    procedures: Mapping[str, Procedure],
    *,
    limits: Limits | None = None,
    on_error: Callable[[str], None] | None = None,
) -> Responder:
    """``answer`` for ``interface``'s programs and these procedures, as a ``Responder``."""

    def respond(message: bytes) -> Answer:
        return answer(message, interface, procedures, limits=limits, on_error=on_error)

    return respond


class OncRpcServer:
    """Serves ONC RPC over TCP and UDP on one port of ``host``, each message answered by
    ``respond`` (see ``responder``)."""

    def __init__(
        self,
        respond: Responder,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        quiet: bool = False,
        log: TextIO | None = None,
        max_record: int = 16 * 1024 * 1024,
        max_connections: int = 64,
        idle_timeout: float = 120.0,
    ) -> None:
        self.respond = respond
        self.quiet = quiet
        self.log = log if log is not None else sys.stderr
        self.max_record = max_record
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.tcp, self.udp = _bind_both(host, port)
        self.host = host
        self.port = int(self.tcp.getsockname()[1])
        self.calls = 0
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    @property
    def address(self) -> str:
        """``HOST:PORT`` as a person types it (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def start(self) -> OncRpcServer:
        """Serve from background threads."""
        for target in (self._accept, self._serve_udp):
            t = threading.Thread(target=target, name=f"rpcspy-oncrpc-{target.__name__}")
            t.daemon = True
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        """Stop serving: close the sockets and every connection, wait for the threads."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        for s in (self.tcp, self.udp):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        with self._lock:
            connections = list(self._connections)
        for c in connections:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self) -> OncRpcServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ serving

    def _answer(self, message: bytes, peer: tuple[str, int], transport: str) -> bytes | None:
        started = time.perf_counter()
        try:
            result = self.respond(message)
        except Exception as exc:  # a responder's bug costs this message, not the server
            self.error(f"answering a {transport} message: {type(exc).__name__}: {exc}")
            return None
        with self._lock:
            self.calls += 1
        if not self.quiet:
            ms = (time.perf_counter() - started) * 1000
            stamp = time.strftime("%H:%M:%S")
            self._write(
                f"{stamp} {peer[0]}:{peer[1]} {transport} {result.label} -> {result.status} "
                f"{ms:.1f} ms"
            )
        return result.reply

    def error(self, text: str) -> None:
        """Log an error (a procedure that raised), quiet or not."""
        self._write(f"error in {text}")

    def _write(self, line: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.log.write(line + "\n")
            self.log.flush()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, peer = self.tcp.accept()
            except OSError:
                return
            with self._lock:
                full = len(self._connections) >= self.max_connections
                if not full:
                    self._connections.add(conn)
            if full:
                conn.close()
                continue
            t = threading.Thread(target=self._serve_tcp, args=(conn, peer), daemon=True)
            t.start()

    def _serve_tcp(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        decoder = RecordDecoder(self.max_record)
        conn.settimeout(self.idle_timeout)
        try:
            while not self._stopping.is_set():
                data = conn.recv(65536)
                if not data:
                    return
                try:
                    records = decoder.feed(data)
                except OncRpcError:
                    return  # record boundaries are lost: nothing more can be read
                for record in records:
                    reply = self._answer(record, (peer[0], peer[1]), "tcp")
                    if reply is not None:
                        conn.sendall(frame_record(reply))
                if decoder.broken is not None:
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()

    def _serve_udp(self) -> None:
        while not self._stopping.is_set():
            try:
                data, peer = self.udp.recvfrom(_UDP_MAX + 1)
            except OSError:
                return
            if peer is None or self._stopping.is_set():
                return  # shut down: recvfrom gives no peer then
            reply = self._answer(data, (peer[0], peer[1]), "udp")
            if reply is not None and len(reply) <= _UDP_MAX:
                with contextlib.suppress(OSError):
                    self.udp.sendto(reply, peer)


def _bind_both(host: str, port: int) -> tuple[socket.socket, socket.socket]:
    """A listening TCP socket and a UDP socket bound to the same port (a free one for 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    tries = 20 if port == 0 else 1
    for attempt in range(tries):
        tcp = socket.socket(family, socket.SOCK_STREAM)
        try:
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tcp.bind((host, port))
            tcp.listen(16)
            bound = int(tcp.getsockname()[1])
            udp = socket.socket(family, socket.SOCK_DGRAM)
            try:
                udp.bind((host, bound))
            except OSError:
                udp.close()
                raise
        except OSError:
            tcp.close()
            if attempt + 1 == tries:
                raise
            continue
        return tcp, udp
    raise OSError("no port free for both TCP and UDP")  # pragma: no cover


class Portmapper:
    """The local portmapper (rpcbind), spoken to in version 2 over UDP."""

    def __init__(self, host: str = "127.0.0.1", port: int = PMAP_PORT, timeout: float = 2.0):
        self.host = host
        self.port = port
        self.timeout = timeout
        self._xid = int.from_bytes(os.urandom(4)) & 0x7FFFFFFF

    def _call(self, proc: int, prog: int, vers: int, transport: str, port: int) -> bool:
        """Send SET or UNSET; True when the portmapper said TRUE. ``OSError`` (refused, timed
        out) when no portmapper answered."""
        self._xid = (self._xid + 1) & 0xFFFFFFFF
        args = struct.pack(">IIII", prog, vers, _IPPROTO[transport], port)
        request = encode_call(self._xid, PORTMAP_PROGRAM, _PMAP_VERS, proc, args)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(self.timeout)
            s.connect((self.host, self.port))
            s.send(request)
            deadline = time.monotonic() + self.timeout
            while True:
                s.settimeout(max(deadline - time.monotonic(), 0.001))
                data = s.recv(_UDP_MAX)
                try:
                    reply = decode_message(data)
                except OncRpcError:
                    continue
                if reply.xid != self._xid or isinstance(reply, Call):
                    continue
                if reply.status != "SUCCESS":
                    raise OSError(f"the portmapper answered {reply.status}")
                return reply.results == b"\0\0\0\1"

    def register(self, prog: int, vers: int, transport: str, port: int) -> bool:
        """``PMAPPROC_SET``: True when it took the mapping (False: one is there already)."""
        return self._call(_PMAPPROC_SET, prog, vers, transport, port)

    def unregister(self, prog: int, vers: int, transport: str = "tcp") -> bool:
        """``PMAPPROC_UNSET``: version 2 ignores the transport and the port and takes back
        every mapping of the version. True when some were taken back."""
        return self._call(_PMAPPROC_UNSET, prog, vers, transport, 0)
