"""An ONC RPC connection (TCP) or a client's datagrams (UDP) as call records.

Strategy: over TCP each direction has a ``RecordDecoder`` that cuts the stream into records,
keeping each record's bytes as they crossed the wire (fragment headers included: the half's
body); over UDP a datagram is one message. ``decode_message`` reads a message's header and the
interface types its arguments (``type_call``) or result (``type_reply``); a ``Pairer`` per
caller matches replies with calls by xid (a server's calls, a callback channel, pair with the
client's replies). A call waits, with its request half already built, until its reply comes; then
the two halves become one record (``build_native_record``).

When something has no call to belong to, it is a record of its own with the problem and an
``error`` that says what happened, so no bytes are lost without a word:

- a reply whose xid matches no call waiting (the call came before the capture started, or was
  given up): the reply's half, typed as far as it can be, under an empty request (``body`` b"",
  no ``oncrpc``), with the problem ``unmatched-reply``;
- bytes that are a record but not a message (``decode_message`` refused them: ``truncated``,
  ``over-limit``, ``bad-xdr``): their bytes in the sender's half, undecoded;
- record marking that cannot be followed (a fragment over the limit, such as a length of
  2^31-1): ``bad-record-marking``; that direction's later bytes are dropped undecoded (the proxy
  forwards them all the same), so the record is made at once rather than at the end;
- a stream that ended inside a record (``close``): ``truncated``.

Arguments or results that do not fit their procedure stay one raw value (hex) in a decoded half
with the codec's problem (``unknown-procedure``, ``bad-xdr``, ``truncated``, ``over-limit``).

Memory is bounded: each direction holds at most one record under construction (16 MiB by the
codec's limits), and calls waiting for replies are bounded in number (the ``Pairer``'s) and in
bytes (``max_waiting_bytes``); past either, the oldest is let go as a record without a response.
Nothing here raises: an error of ours becomes an ``internal-error`` problem record.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from rpcspy.capture.record import (
    CallRecord,
    HttpMessage,
    Problem,
    ProblemPlace,
    build_native_record,
)
from rpcspy.oncrpc import (
    DEFAULT_LIMITS,
    Call,
    Interface,
    Limits,
    OncRpcError,
    Pairer,
    RecordDecoder,
    Reply,
    builtin_interface,
    call_to_json,
    decode_message,
    reply_to_json,
    type_call,
    type_reply,
)
from rpcspy.streams.base import (
    CLOSED_BEFORE_REPLY,
    Peer,
    Side,
    internal_error_record,
    problem_record,
    where_of,
)

__all__ = ["MAX_WAITING_BYTES", "OncRpcConversation", "oncrpc_conversation"]

#: Bytes of calls (as on the wire) a conversation keeps while they wait for their replies.
MAX_WAITING_BYTES = 64 * 1024 * 1024
#: Calls a conversation keeps waiting for replies, per caller.
MAX_WAITING_CALLS = 4096

_OTHER: dict[Side, Side] = {"client": "server", "server": "client"}
_SIDES: tuple[Side, Side] = ("client", "server")


@dataclass(slots=True)
class _Waiting:
    """A call waiting for its reply: its request half and what the record needs of it."""

    call: Call
    half: HttpMessage
    started: float
    problems: tuple[Problem, ...]


def _problem(side: Side, exc: OncRpcError) -> Problem:
    return _typed_problem(where_of(side), exc)[0]


def _typed_problem(where: ProblemPlace, exc: OncRpcError | None) -> tuple[Problem, ...]:
    if exc is None:
        return ()
    reason = exc.reason if exc.offset is None else f"{exc.reason} (at byte {exc.offset})"
    return (Problem(where, exc.kind, reason, path=exc.path),)


class OncRpcConversation:
    """One ONC RPC connection or UDP peer pair (see the module's docstring)."""

    protocol = "oncrpc"

    def __init__(
        self,
        *,
        client: Peer | None,
        server: Peer | None,
        transport: str = "tcp",
        interface: Interface | None = None,
        origin: str = "proxy",
        limits: Limits = DEFAULT_LIMITS,
        max_waiting: int = MAX_WAITING_CALLS,
        max_waiting_bytes: int = MAX_WAITING_BYTES,
    ) -> None:
        if transport not in ("tcp", "udp"):
            raise ValueError(f"ONC RPC runs over tcp or udp, not {transport!r}")
        self.transport = transport
        self.client = client
        self.server = server
        self.origin = origin
        self.limits = limits
        self.interface = builtin_interface(interface)
        self.max_waiting_bytes = max_waiting_bytes
        self._decoders: dict[Side, RecordDecoder] = {
            "client": RecordDecoder(limits.max_message),
            "server": RecordDecoder(limits.max_message),
        }
        #: When the first byte of the record each direction is in the middle of came.
        self._record_started: dict[Side, float | None] = {"client": None, "server": None}
        #: Per caller: its calls waiting, paired by xid.
        self._pairers: dict[Side, Pairer] = {
            "client": Pairer(max_waiting),
            "server": Pairer(max_waiting),
        }
        self._waiting: dict[Side, OrderedDict[int, _Waiting]] = {
            "client": OrderedDict(),
            "server": OrderedDict(),
        }
        self._waiting_bytes = 0
        self.closed = False

    # ---- the Conversation interface

    def feed(self, side: Side, data: bytes, at: float) -> list[CallRecord]:
        """Bytes ``side`` sent: a chunk of its stream (TCP) or one datagram (UDP)."""
        if self.closed or not data:
            return []
        try:
            if self.transport == "udp":
                return self._message(side, data, data, at, at)
            return self._stream(side, data, at)
        except Exception as exc:  # a bug of ours must not stop the traffic or the other calls
            return [self._internal_error(side, exc, at)]

    def close(self, at: float) -> list[CallRecord]:
        """The connection ended: a stream cut inside a record, then the calls left waiting."""
        if self.closed:
            return []
        self.closed = True
        out: list[CallRecord] = []
        if self.transport == "tcp":
            for side in _SIDES:
                try:
                    self._decoders[side].close()
                except OncRpcError as exc:
                    out.append(
                        self._problem_record(
                            side,
                            exc,
                            at,
                            f"the {side}'s stream ended inside a record",
                            started=self._record_started[side],
                        )
                    )
                except Exception as exc:
                    out.append(self._internal_error(side, exc, at))
        waiting = [w for side in _SIDES for w in self._waiting[side].values()]
        for side in _SIDES:
            self._waiting[side].clear()
        self._waiting_bytes = 0
        for entry in sorted(waiting, key=lambda w: w.started):
            out.append(self._unanswered(entry, CLOSED_BEFORE_REPLY))
        return out

    # ---- bytes to messages

    def _stream(self, side: Side, data: bytes, at: float) -> list[CallRecord]:
        decoder = self._decoders[side]
        if decoder.broken is not None:
            decoder.feed(data)  # counted and dropped: record boundaries are lost
            return []
        started = self._record_started[side]
        if started is None:
            started = at
        out: list[CallRecord] = []
        try:
            records = decoder.feed_wire(data)
        except OncRpcError:
            records = []
        for message, wire in records:
            out += self._message(side, wire, message, started, at)
            started = at  # the next record began in this chunk
        if decoder.broken is not None:
            self._record_started[side] = None
            out.append(
                self._problem_record(
                    side,
                    decoder.broken,
                    at,
                    f"the {side}'s record marking cannot be followed: its later bytes are "
                    "passed on undecoded",
                )
            )
        else:
            self._record_started[side] = None if decoder.at_boundary else started
        return out

    def _message(
        self, side: Side, wire: bytes, message: bytes, started: float, at: float
    ) -> list[CallRecord]:
        try:
            decoded = decode_message(message, self.limits)
        except OncRpcError as exc:
            return [
                self._problem_record(
                    side,
                    exc,
                    at,
                    f"the {side} sent a {len(message)}-byte message that is not ONC RPC",
                    started=started,
                    body=wire,
                )
            ]
        if isinstance(decoded, Call):
            return self._call(side, decoded, wire, started)
        return [self._reply(side, decoded, wire, started, at)]

    # ---- pairing

    def _call(self, caller: Side, call: Call, wire: bytes, started: float) -> list[CallRecord]:
        typed = type_call(call, self.interface, self.limits)
        half = HttpMessage(body=wire, native=call_to_json(typed))
        out: list[CallRecord] = []
        waiting = self._waiting[caller]
        pushed = self._pairers[caller].call(call)
        if pushed is not None:
            old = waiting.pop(pushed.xid, None)
            if old is not None:
                self._waiting_bytes -= len(old.half.body or b"")
                if pushed.xid == call.xid:
                    why = (
                        f"the {caller} sent another call with xid {call.xid} before the reply "
                        "(a retransmission, or a reused xid); the reply pairs with the later one"
                    )
                else:
                    why = (
                        f"given up: over {self._pairers[caller].max_outstanding} calls were "
                        "waiting for replies"
                    )
                out.append(self._unanswered(old, why))
        entry = _Waiting(call, half, started, _typed_problem("request", typed.problem))
        waiting[call.xid] = entry
        self._waiting_bytes += len(wire)
        while self._waiting_bytes > self.max_waiting_bytes:
            out.append(self._give_up_oldest())
        return out

    def _give_up_oldest(self) -> CallRecord:
        # The oldest waiting call of either caller goes first.
        side = min(
            (s for s in _SIDES if self._waiting[s]),
            key=lambda s: next(iter(self._waiting[s].values())).started,
        )
        xid, entry = self._waiting[side].popitem(last=False)
        self._pairers[side].forget(xid)
        self._waiting_bytes -= len(entry.half.body or b"")
        return self._unanswered(
            entry,
            f"given up: over {self.max_waiting_bytes} bytes of calls were waiting for replies",
        )

    def _reply(
        self, answerer: Side, reply: Reply, wire: bytes, started: float, at: float
    ) -> CallRecord:
        caller = _OTHER[answerer]
        call = self._pairers[caller].reply(reply)
        entry = self._waiting[caller].pop(reply.xid, None) if call is not None else None
        typed = type_reply(reply, call, self.interface, self.limits)
        half = HttpMessage(body=wire, native=reply_to_json(typed))
        problems = _typed_problem("response", typed.problem)
        if entry is not None:
            self._waiting_bytes -= len(entry.half.body or b"")
            return self._record(entry.half, half, entry.started, at, entry.problems + problems)
        unmatched = Problem(
            "response",
            "unmatched-reply",
            f"the {answerer}'s reply with xid {reply.xid} (0x{reply.xid:08x}) answers no call "
            "seen on this connection; the request is empty",
        )
        return self._record(HttpMessage(body=b""), half, started, at, (unmatched, *problems))

    # ---- records

    def _record(
        self,
        request: HttpMessage,
        response: HttpMessage | None,
        started: float,
        ended: float | None,
        problems: tuple[Problem, ...],
        error: str | None = None,
    ) -> CallRecord:
        return build_native_record(
            "oncrpc",
            request,
            response,
            transport=self.transport,
            started=started,
            ended=ended,
            client=self.client,
            server=self.server,
            problems=problems,
            error=error,
            origin=self.origin,
        )

    def _unanswered(self, entry: _Waiting, why: str) -> CallRecord:
        return self._record(entry.half, None, entry.started, None, entry.problems, why)

    def _problem_record(
        self,
        side: Side,
        exc: OncRpcError,
        at: float,
        error: str,
        *,
        started: float | None = None,
        body: bytes = b"",
    ) -> CallRecord:
        return problem_record(
            "oncrpc",
            self.transport,
            side=side,
            problem=_problem(side, exc),
            error=error,
            at=at,
            started=started,
            body=body,
            client=self.client,
            server=self.server,
            origin=self.origin,
        )

    def _internal_error(self, side: Side, exc: Exception, at: float) -> CallRecord:
        return internal_error_record(
            "oncrpc",
            self.transport,
            side=side,
            exc=exc,
            at=at,
            client=self.client,
            server=self.server,
            origin=self.origin,
        )


def oncrpc_conversation(
    *,
    client: Peer | None,
    server: Peer | None,
    transport: str = "tcp",
    interface: Interface | None = None,
    origin: str = "proxy",
) -> OncRpcConversation:
    """A conversation that reads ONC RPC over ``transport`` (``tcp`` or ``udp``), typed by
    ``interface`` (from ``parse_idl``) on top of the built-in portmapper; None: the portmapper
    alone, other programs' arguments and results shown raw with their numbers."""
    return OncRpcConversation(
        client=client, server=server, transport=transport, interface=interface, origin=origin
    )
