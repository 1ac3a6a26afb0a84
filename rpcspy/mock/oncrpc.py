"""The playback of ``rpcspy mock`` for ONC RPC: which recorded reply a call gets.

``OncRpcPlaybook(records, interface)`` keeps the ONC RPC calls of a capture with their recorded
replies, keyed by program, version, procedure and typed arguments: the fingerprint of
``rpcspy.diff.native`` over the arguments as ``interface`` types them (the recorded calls are
typed again from their bytes with the same interface as the calls that come in, so both sides
are read alike; without an ``.x`` the arguments are their raw XDR bytes, which XDR makes
canonical). What ignore rules drop is left out. The xid and the credentials are not part of the
key: a client's next run sends other ones.

A call that matches gets the recorded reply's bytes with the caller's xid in place of the
recorded one; calls that match each other get their replies in recorded order, then the last
one again and again (as the XML-RPC mock does). A call that matches nothing gets what a server
without it answers: ``PROG_UNAVAIL`` for a program never recorded, ``PROG_MISMATCH`` (with the
recorded versions' range) for a version never recorded, ``PROC_UNAVAIL`` for a procedure never
recorded, and ``SYSTEM_ERR`` when the procedure was recorded with other arguments, logged with
the closest recorded call and the paths that differ.

``respond`` fits ``rpcspy.server.oncrpc.OncRpcServer``, the TCP and UDP transport it is served
on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rpcspy.capture import CallRecord
from rpcspy.diff import DEFAULT_RULES, Rules, diff_calls
from rpcspy.diff.matcher import compile_rules
from rpcspy.diff.native import native_call, native_call_fingerprint
from rpcspy.oncrpc import (
    Call,
    Interface,
    OncRpcError,
    RecordDecoder,
    Reply,
    builtin_interface,
    call_to_json,
    decode_message,
    encode_reply,
    type_call,
)
from rpcspy.server.oncrpc import Answer

__all__ = ["OncRpcPlaybook"]


def _message(body: bytes | None, transport: str | None) -> bytes | None:
    """The one message a recorded half holds (record marking undone over TCP)."""
    if not body:
        return None
    if transport != "tcp":
        return body
    decoder = RecordDecoder()
    try:
        messages = decoder.feed(body)
    except OncRpcError:
        return None
    return messages[0] if len(messages) == 1 and decoder.at_boundary else None


@dataclass
class _Group:
    """Recorded calls that match each other, and their replies in recorded order."""

    call: dict[str, object]
    label: str
    replies: list[bytes] = field(default_factory=list)
    served: int = 0


class OncRpcPlaybook:
    """The recorded ONC RPC calls of a capture, ready to answer calls that come in."""

    def __init__(
        self,
        records: Iterable[CallRecord],
        interface: Interface | None = None,
        rules: Rules = DEFAULT_RULES,
        *,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.interface = builtin_interface(interface)
        self.rules = rules
        self.log = log
        self._groups: dict[tuple[int, int, int, int], _Group] = {}
        self._procedures: dict[tuple[int, int, int], list[_Group]] = {}
        self._versions: dict[int, set[int]] = {}
        self._lock = threading.Lock()
        self.calls = 0
        self.hits = 0
        self.misses = 0
        #: Records that could not be played back, with why (not ONC RPC, no reply ...).
        self.left_out: list[str] = []
        for record in records:
            self._add(record)

    def _typed(self, call: Call) -> tuple[dict[str, object], str, int]:
        typed = type_call(call, self.interface)
        data = call_to_json(typed)
        names = (typed.names.program, typed.names.version, typed.names.procedure)
        label = ".".join(names) if all(names) else f"{call.prog}.{call.vers}.{call.proc}"  # type: ignore[arg-type]
        compiled = compile_rules(self.rules, label)
        key = native_call_fingerprint("oncrpc", data, compiled)
        assert key is not None
        return data, label, key

    def _add(self, record: CallRecord) -> None:
        where = f"#{record.seq}"
        if record.protocol != "oncrpc":
            self.left_out.append(f"{where}: not an ONC RPC call ({record.protocol})")
            return
        message = _message(record.request.body, record.transport)
        reply = _message(record.response.body if record.response else None, record.transport)
        if message is None or reply is None:
            self.left_out.append(f"{where} {record.method}: no whole call and reply recorded")
            return
        try:
            call, answer = decode_message(message), decode_message(reply)
        except OncRpcError as exc:
            self.left_out.append(f"{where} {record.method}: {exc.reason}")
            return
        if not isinstance(call, Call) or not isinstance(answer, Reply):
            self.left_out.append(f"{where} {record.method}: not a call and its reply")
            return
        data, label, key = self._typed(call)
        group = self._groups.get((call.prog, call.vers, call.proc, key))
        if group is None:
            group = _Group(data, label)
            self._groups[(call.prog, call.vers, call.proc, key)] = group
            self._procedures.setdefault((call.prog, call.vers, call.proc), []).append(group)
        if answer.status not in ("PROG_UNAVAIL", "PROG_MISMATCH"):
            # A version the recorded server served (its mismatches say which it did not).
            self._versions.setdefault(call.prog, set()).add(call.vers)
        group.replies.append(reply)
        self.calls += 1

    @property
    def procedures(self) -> int:
        """How many procedures (program, version, procedure) have recorded calls."""
        return len(self._procedures)

    def respond(self, message: bytes) -> Answer:
        """The answer to one message: the recorded reply with the caller's xid, or why not."""
        try:
            call = decode_message(message)
        except OncRpcError as exc:
            return Answer(None, "-", f"not a call ({exc.reason})")
        if not isinstance(call, Call):
            return Answer(None, "-", "not a call (a reply)")
        data, label, key = self._typed(call)
        xid = call.xid.to_bytes(4, "big")
        group = self._groups.get((call.prog, call.vers, call.proc, key))
        if group is not None:
            with self._lock:
                reply = group.replies[min(group.served, len(group.replies) - 1)]
                group.served += 1
                self.hits += 1
            status = decode_message(reply)
            assert isinstance(status, Reply)
            return Answer(xid + reply[4:], label, f"recorded {status.status}")
        with self._lock:
            self.misses += 1
        versions = self._versions.get(call.prog)
        if versions is None:
            return Answer(encode_reply(call.xid, "PROG_UNAVAIL"), label, "PROG_UNAVAIL (no match)")
        if call.vers not in versions:
            reply = encode_reply(call.xid, "PROG_MISMATCH", mismatch=(min(versions), max(versions)))
            return Answer(reply, label, "PROG_MISMATCH (no match)")
        groups = self._procedures.get((call.prog, call.vers, call.proc))
        if not groups:
            return Answer(encode_reply(call.xid, "PROC_UNAVAIL"), label, "PROC_UNAVAIL (no match)")
        self._explain(label, data, groups)
        return Answer(encode_reply(call.xid, "SYSTEM_ERR"), label, "SYSTEM_ERR (no match)")

    def _explain(self, label: str, data: dict[str, object], groups: list[_Group]) -> None:
        """Log the closest recorded call and where the arguments differ."""
        if self.log is None:
            return
        new = native_call("oncrpc", data, label)
        best: tuple[int, list[str]] | None = None
        for group in groups:
            old = native_call("oncrpc", group.call, label)
            if old is None or new is None:
                continue
            found = diff_calls(old, new, rules=self.rules)
            if best is None or len(found) < best[0]:
                best = (len(found), [d.describe() for d in found[:3]])
        if best is not None:
            self.log(
                f"rpcspy mock: no recorded {label} call with these arguments; the closest "
                f"recorded one differs at: {'; '.join(best[1])}"
            )
