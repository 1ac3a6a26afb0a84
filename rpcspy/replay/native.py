"""Replay of ONC RPC and RPyC calls: a sender per transport, beside the HTTP one (``send.py``).

**ONC RPC** (``OncRpcReplayer``): each recorded call's message is sent again as it was but for
its xid, a fresh one (a server that caches replies by xid, as RFC 5531's at-most-once servers
do, must not answer from its cache): record-marked over TCP (one connection, kept while it
works), one datagram over UDP. The bytes sent and received go through ``rpcspy.streams``
(the one path from bytes to records), so the new record is what the proxy would have written;
``engine.compare`` then compares its typed result with the recorded one. A call that gets no
reply within ``timeout`` is an ``error`` ("timed out"); a connection that breaks is opened
again for the next call.

**RPyC** (``replay_rpyc``): best effort, per recorded connection, through
``rpcspy.rpyc.replay.ReplayPlan`` (sans-IO): the client's requests go to a fresh classic server
with the recorded netref ids mapped to the fresh server's; requests the fresh server makes are
refused (the replayer lends nothing). Operations on netrefs that no longer exist, or that pass
client objects, are skipped with the reason. The recorded operations are read back from the
records' frames (``request.body``, ``response.body``) with the codec's ``Session``.

Timeouts bound every wait; stop signals interrupt (``KeyboardInterrupt``) as for HTTP replay.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from rpcspy.capture import CallRecord
from rpcspy.diff import DEFAULT_RULES, Rules
from rpcspy.oncrpc import (
    Call,
    Interface,
    OncRpcError,
    RecordDecoder,
    Reply,
    decode_message,
    frame_record,
)
from rpcspy.replay.engine import Outcome, RecordFilter, compare, is_skipped, protocol_words
from rpcspy.replay.report import CallResult, Verdict

if TYPE_CHECKING:
    from rpcspy.rpyc import Netref, Operation
    from rpcspy.streams.base import Conversation

__all__ = [
    "NativeTarget",
    "OncRpcReplayer",
    "recorded_message",
    "replay_rpyc",
]

_READ: Final = 65536
_UDP_MAX: Final = 65507


@dataclass(frozen=True, slots=True)
class NativeTarget:
    """``tcp://HOST:PORT`` or ``udp://HOST:PORT``: where ONC RPC or RPyC calls are replayed."""

    transport: Literal["tcp", "udp"]
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> NativeTarget:
        """Parse a target; ``ValueError`` with a reason people understand."""
        text = url.strip()
        scheme, sep, rest = text.partition("://")
        if not sep or scheme.lower() not in ("tcp", "udp"):
            raise ValueError(f"target {text!r}: use tcp://HOST:PORT or udp://HOST:PORT")
        rest = rest.rstrip("/")
        host, colon, port_text = rest.rpartition(":")
        host = host.strip("[]")
        if not colon or not host:
            raise ValueError(f"target {text!r}: give the host and the port, tcp://HOST:PORT")
        try:
            port = int(port_text)
        except ValueError:
            raise ValueError(f"target {text!r}: bad port {port_text!r}") from None
        if not 0 < port < 65536:
            raise ValueError(f"target {text!r}: port {port} is not 1-65535")
        transport: Literal["tcp", "udp"] = "udp" if scheme.lower() == "udp" else "tcp"
        return cls(transport, host, port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport}://{host}:{self.port}"


def recorded_message(record: CallRecord) -> bytes | None:
    """The ONC RPC call message a record holds (its record marking undone for TCP), or None
    when its bytes are not one whole call."""
    body = record.request.body
    if not body:
        return None
    if record.transport == "tcp":
        decoder = RecordDecoder()
        try:
            messages = decoder.feed(body)
        except OncRpcError:
            return None
        if len(messages) != 1 or not decoder.at_boundary:
            return None
        body = messages[0]
    try:
        return body if isinstance(decode_message(body), Call) else None
    except OncRpcError:
        return None


class OncRpcReplayer:
    """Re-sends recorded ONC RPC calls to ``target`` with fresh xids and compares the answers."""

    def __init__(
        self,
        target: NativeTarget,
        *,
        interface: Interface | None = None,
        timeout: float = 30.0,
        rules: Rules = DEFAULT_RULES,
        skip: tuple[str, ...] = (),
        only: RecordFilter | None = None,
    ) -> None:
        self.target = target
        self.interface = interface
        self.timeout = timeout
        self.rules = rules
        self.skip = skip
        self.only = only
        self._xid = int.from_bytes(os.urandom(4)) & 0x7FFFFFFF
        self._sock: socket.socket | None = None
        self._conversation: Conversation | None = None

    # ---- connections

    def _open(self) -> socket.socket:
        if self._sock is not None:
            return self._sock
        kind = socket.SOCK_STREAM if self.target.transport == "tcp" else socket.SOCK_DGRAM
        infos = socket.getaddrinfo(self.target.host, self.target.port, type=kind)
        family, _, _, _, address = infos[0]
        sock = socket.socket(family, kind)
        sock.settimeout(self.timeout)
        try:
            sock.connect(address)
        except OSError:
            sock.close()
            raise
        from rpcspy.streams import oncrpc_conversation

        local = sock.getsockname()
        self._sock = sock
        self._conversation = oncrpc_conversation(
            client=(str(local[0]), int(local[1])),
            server=(self.target.host, self.target.port),
            transport=self.target.transport,
            interface=self.interface,
            origin="replay",
        )
        return sock

    def _drop(self, at: float) -> list[CallRecord]:
        """Close the connection; the records its conversation still held (calls unanswered)."""
        sock, conversation = self._sock, self._conversation
        self._sock = self._conversation = None
        if sock is not None:
            sock.close()
        if conversation is None:
            return []
        return conversation.close(at)

    def close(self) -> None:
        """Close the connection."""
        self._drop(time.time())

    def __enter__(self) -> OncRpcReplayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- sending

    def _fresh_xid(self) -> bytes:
        self._xid = (self._xid + 1) & 0xFFFFFFFF
        return self._xid.to_bytes(4, "big")

    def send(self, message: bytes) -> CallRecord:
        """Send one call message with a fresh xid; the new record (with ``error`` when no reply
        came)."""
        message = self._fresh_xid() + message[4:]
        wire = frame_record(message) if self.target.transport == "tcp" else message
        started = time.time()
        try:
            sock = self._open()
        except OSError as exc:
            return self._unsent(wire, started, f"cannot connect: {_reason(exc)}")
        conversation = self._conversation
        assert conversation is not None
        xid = self._xid
        records = conversation.feed("client", wire, started)
        error: str | None = None
        try:
            sock.sendall(wire) if self.target.transport == "tcp" else sock.send(wire)
            deadline = time.monotonic() + self.timeout
            # Other records may come first (a stray reply is a record of its own): wait for ours.
            while not any(_xid_of(r) == xid for r in records):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                sock.settimeout(left)
                data = sock.recv(_READ if self.target.transport == "tcp" else _UDP_MAX + 1)
                if not data and self.target.transport == "tcp":
                    error = "the server closed the connection before the reply"
                    break
                records += conversation.feed("server", data, time.time())
        except TimeoutError:
            error = f"timed out after {self.timeout:g} s"
        except OSError as exc:
            error = _reason(exc)
        if error is not None:
            records += self._drop(time.time())
        mine = [r for r in records if _xid_of(r) == xid]
        if not mine:
            return self._unsent(wire, started, error or "no record of the call")
        record = mine[0]
        if error is not None and record.response is None:
            return dataclasses.replace(record, error=error)
        return record

    def _unsent(self, wire: bytes, started: float, error: str) -> CallRecord:
        """A record for a call that never reached the server, made by a conversation too."""
        from rpcspy.streams import oncrpc_conversation

        conversation = oncrpc_conversation(
            client=None,
            server=(self.target.host, self.target.port),
            transport=self.target.transport,
            interface=self.interface,
            origin="replay",
        )
        records = conversation.feed("client", wire, started) + conversation.close(time.time())
        return dataclasses.replace(records[0], error=error)

    # ---- a whole replay

    def replay_one(self, record: CallRecord) -> Outcome:
        """Re-send one record and compare its answer."""
        if record.protocol != "oncrpc":
            return Outcome(
                "skipped",
                record,
                None,
                message=f"{protocol_words(record.protocol)} call: not sent to {self.target.url}",
            )
        glob = is_skipped(record.method, self.skip)
        if glob is not None:
            return Outcome("skipped", record, None, message=f"not re-sent (--skip {glob!r})")
        message = recorded_message(record)
        if message is None:
            return Outcome(
                "skipped", record, None, message="no whole call message recorded to re-send"
            )
        new = dataclasses.replace(self.send(message), seq=record.seq)
        if _typed_on_one_side(record, new):
            # One side typed by an interface, the other raw (a replay without the proxy's
            # --idl): the results' XDR bytes still say whether the answer is the same.
            old_results, new_results = _results(record), _results(new)
            if old_results is not None and old_results == new_results:
                return Outcome("same", record, new, message=_RAW_SAME)
        return compare(record, new, self.rules)

    def replay(self, records: Iterable[CallRecord]) -> Iterator[Outcome]:
        """Re-send every selected record, in capture order."""
        for record in records:
            if self.only is None or self.only.matches(record):
                yield self.replay_one(record)


def _xid_of(record: CallRecord) -> int | None:
    """The xid of the call a record holds (None for a record of a stray reply)."""
    native = record.request.native
    xid = native.get("xid") if native is not None and record.request.body else None
    return xid if isinstance(xid, int) else None


_RAW_SAME: Final = (
    "the same result bytes; compared as raw XDR (give --idl to type the new answer as the "
    "recorded one was)"
)


def _typed_on_one_side(old: CallRecord, new: CallRecord) -> bool:
    def raw(record: CallRecord) -> bool | None:
        native = record.response.native if record.response is not None else None
        result = native.get("result") if native is not None else None
        return isinstance(result, dict) and "raw" in result if result is not None else None

    a, b = raw(old), raw(new)
    return a is not None and b is not None and a != b


def _results(record: CallRecord) -> bytes | None:
    """The XDR bytes of a SUCCESS reply's result, from the record's reply bytes."""
    if record.response is None or not record.response.body:
        return None
    body = record.response.body
    if record.transport == "tcp":
        decoder = RecordDecoder()
        try:
            messages = decoder.feed(body)
        except OncRpcError:
            return None
        if len(messages) != 1:
            return None
        body = messages[0]
    try:
        reply = decode_message(body)
    except OncRpcError:
        return None
    return reply.results if isinstance(reply, Reply) and reply.status == "SUCCESS" else None


def _reason(exc: OSError) -> str:
    if exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__


# ---------------------------------------------------------------- RPyC


@dataclass
class RpycReplay:
    """What a best-effort RPyC replay gives: a report line per recorded operation and the new
    records (``-w``)."""

    results: list[CallResult] = dataclasses.field(default_factory=list)
    records: list[CallRecord] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)


_RPYC_VERDICTS: Final[dict[str, Verdict]] = {
    "same": "same",
    "differs": "changed",
    "skipped": "skipped",
    "no-reply": "same",
}


def _connections(records: Iterable[CallRecord]) -> list[list[CallRecord]]:
    """The records of each recorded connection (by client address), in capture order."""
    groups: dict[object, list[CallRecord]] = {}
    for record in records:
        if record.protocol == "rpyc":
            groups.setdefault(record.client, []).append(record)
    return list(groups.values())


def _operations(records: list[CallRecord]) -> tuple[list[Operation], list[Netref]]:
    """The recorded operations of one connection, read back from its frames, and its netrefs."""
    from rpcspy.rpyc import Operation, Session

    session = Session()
    ops: list[Operation] = []
    for record in records:
        native = record.request.native or {}
        from_server = native.get("caller") == "server"
        caller: Literal["client", "server"] = "server" if from_server else "client"
        other: Literal["client", "server"] = "client" if from_server else "server"
        if record.request.body:
            ops += [
                e for e in session.feed(caller, record.request.body) if isinstance(e, Operation)
            ]
        if record.response is not None and record.response.body:
            ops += [
                e for e in session.feed(other, record.response.body) if isinstance(e, Operation)
            ]
    ops += [e for e in session.close() if isinstance(e, Operation)]
    return ops, list(session.netrefs())


def replay_rpyc(
    records: Iterable[CallRecord], target: NativeTarget, *, timeout: float = 30.0
) -> RpycReplay:
    """Replay each recorded RPyC connection against a fresh classic server at ``target``."""
    from rpcspy.rpyc import Frame, FrameDecoder, Request
    from rpcspy.rpyc import decode_message as decode_rpyc
    from rpcspy.rpyc.replay import ReplayPlan
    from rpcspy.streams import rpyc_conversation

    out = RpycReplay()
    for group in _connections(records):
        ops, netrefs = _operations(group)
        plan = ReplayPlan(ops, netrefs)
        by_frame = {r.request.body: r for r in group if r.request.body}
        by_index = {op.index: by_frame.get(op.request_frame.raw) for op in ops}
        try:
            sock = socket.create_connection((target.host, target.port), timeout=timeout)
        except OSError as exc:
            out.warnings.append(f"cannot connect to {target.url}: {_reason(exc)}")
            for op in ops:
                out.results.append(
                    CallResult("error", op.text, message=f"cannot connect: {_reason(exc)}")
                )
            continue
        local = sock.getsockname()
        conversation = rpyc_conversation(
            client=(str(local[0]), int(local[1])),
            server=(target.host, target.port),
            origin="replay",
        )
        decoder = FrameDecoder("server")
        frames: list[Frame] = []
        error: str | None = None
        with sock:
            while (step := plan.next_step()) is not None:
                now = time.time()
                out.records += conversation.feed("client", step.frame, now)
                try:
                    sock.sendall(step.frame)
                    if step.recorded.handler == "close":
                        break
                    deadline = time.monotonic() + timeout
                    while True:
                        while not frames:
                            left = deadline - time.monotonic()
                            if left <= 0:
                                raise TimeoutError
                            sock.settimeout(left)
                            data = sock.recv(_READ)
                            if not data:
                                raise ConnectionError("the fresh server closed the connection")
                            out.records += conversation.feed("server", data, time.time())
                            frames += [e for e in decoder.feed(data) if isinstance(e, Frame)]
                        message, _ = decode_rpyc(frames.pop(0).payload, "server")
                        if isinstance(message, Request):
                            refusal = plan.refusal(message)
                            out.records += conversation.feed("client", refusal, time.time())
                            sock.sendall(refusal)
                            continue
                        if message is not None and message.seq == step.request.seq:
                            plan.answer(message)
                            break
                except TimeoutError:
                    error = f"timed out after {timeout:g} s"
                except OSError as exc:
                    error = _reason(exc)
                if error is not None:
                    out.warnings.append(
                        f"{target.url}: {error} at {step.recorded.text}; the rest of the "
                        "connection is not replayed"
                    )
                    break
        out.records += conversation.close(time.time())
        answered = {r.recorded.index for r in plan.results}
        for result in plan.results:
            recorded = by_index.get(result.recorded.index)
            verdict = _RPYC_VERDICTS[result.verdict]
            message_text = result.detail or None
            if result.verdict == "no-reply":
                message_text = f"not answered: {result.detail}" if result.detail else None
            out.results.append(
                CallResult(
                    verdict,
                    result.recorded.text,
                    seq=recorded.seq if recorded is not None else None,
                    id=recorded.id if recorded is not None else None,
                    message=message_text,
                )
            )
        if error is not None:
            for op in ops:
                if op.caller == "client" and op.index not in answered and op.handler != "inspect":
                    out.results.append(CallResult("error", op.text, message=error))
    return out
