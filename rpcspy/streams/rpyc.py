"""An RPyC connection as call records: one record per operation.

Strategy: a ``rpcspy.rpyc.Session`` reads both directions (framing, brine messages, netrefs named
per connection) and gives back operations as their replies come. Each operation is one record:
the request frame is the request half's body and ``Operation.request_json()`` its ``rpyc`` JSON;
the reply or exception frame and ``Operation.reply_json()`` the response half. A callback (a
request the server sends) is a record too; its JSON's ``caller`` says who asked. The record
starts with the request frame's first byte and ends with the reply frame's last.

Requests left without a reply when the connection ends come out without a response and with the
``error`` ``connection closed before the reply``; rpyc's ``close()`` request is the exception, as
it is never answered (the peer closes the connection instead), so it has no error. A request the
session gives up while the connection goes on (its seq reused, too many in flight) has the
problem's words as its error.

A problem with no operation to belong to (a frame over the limit, a frame whose message does not
decode, a reply to no request, a stream cut inside a frame) is a record of its own: an empty
request, the problem in the half of the side that sent the bytes, and an ``error`` naming it.
(Attaching it to the next record would blame a call that did nothing wrong, and a stream that
breaks may never have a next record.) Nothing here raises: an error of ours becomes an
``internal-error`` problem record.
"""

from __future__ import annotations

from rpcspy.capture.record import (
    CallRecord,
    HttpMessage,
    Problem,
    ProblemPlace,
    build_native_record,
)
from rpcspy.rpyc import DEFAULT_LIMITS, BoxedTuple, Limits, Netref, Operation, Ref, Session
from rpcspy.rpyc import Problem as RpycProblem
from rpcspy.streams.base import (
    CLOSED_BEFORE_REPLY,
    Peer,
    Side,
    internal_error_record,
    problem_record,
    where_of,
)

__all__ = ["RpycConversation", "rpyc_conversation"]


def _problem(problem: RpycProblem, caller: Side | None = None) -> Problem:
    """The record's form of a session problem: in the request half when the caller's bytes
    made it (or, outside an operation, the client's), else in the response half."""
    sender: Side = problem.side or "client"
    where: ProblemPlace = where_of(sender)
    if caller is not None:
        where = "request" if sender == caller else "response"
    parts = [f"{problem.severity}"]
    if problem.side is not None:
        parts.append(f"from the {problem.side}")
    if problem.offset is not None:
        parts.append(f"at byte {problem.offset}")
    if problem.seq is not None:
        parts.append(f"seq {problem.seq}")
    return Problem(where, problem.kind, f"{problem.reason} ({', '.join(parts)})")


class RpycConversation:
    """One RPyC (classic mode) connection over TCP (see the module's docstring)."""

    protocol = "rpyc"
    transport = "tcp"

    def __init__(
        self,
        *,
        client: Peer | None,
        server: Peer | None,
        origin: str = "proxy",
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.client = client
        self.server = server
        self.origin = origin
        self.session = Session(limits)
        self.closed = False

    def feed(self, side: Side, data: bytes, at: float) -> list[CallRecord]:
        """Bytes ``side`` sent (any chunk of its stream)."""
        if self.closed or not data:
            return []
        try:
            return self._records(self.session.feed(side, data, at), at, closing=False)
        except Exception as exc:  # a bug of ours must not stop the traffic or the other calls
            return [self._internal_error(side, exc, at)]

    def close(self, at: float) -> list[CallRecord]:
        """The connection ended: a stream cut inside a frame, then requests left unanswered."""
        if self.closed:
            return []
        self.closed = True
        try:
            return self._records(self.session.close(), at, closing=True)
        except Exception as exc:
            return [self._internal_error("client", exc, at)]

    def _records(
        self, events: list[Operation | RpycProblem], at: float, *, closing: bool
    ) -> list[CallRecord]:
        out: list[CallRecord] = []
        for event in events:
            if isinstance(event, Operation):
                out.append(self._operation(event, at, closing))
            else:
                out.append(self._standalone(event, at))
        return out

    def _named(self, half: dict[str, object], message: object) -> dict[str, object]:
        """The half with ``netrefs``: the name the session gives each netref its message holds
        (``{"owner", "id", "name"}``, the name as ``modules.os``), so that views name them."""
        boxes = [getattr(message, "args", None) or getattr(message, "value", None)]
        seen: list[Netref] = []
        while boxes:
            box = boxes.pop()
            if isinstance(box, BoxedTuple):
                boxes.extend(reversed(box.items))
            elif isinstance(box, Ref):
                known = self.session.netref(box.owner, box.id)
                if known is not None and known not in seen:
                    seen.append(known)
        if seen:
            half["netrefs"] = [
                {"owner": n.owner, "id": list(n.id.wire()), "name": n.name} for n in seen
            ]
        return half

    def _operation(self, op: Operation, at: float, closing: bool) -> CallRecord:
        frame = op.request_frame
        started = frame.started if frame.started is not None else frame.at
        request = HttpMessage(body=frame.raw, native=self._named(op.request_json(), op.request))
        response = None
        ended = None
        if op.reply_frame is not None:
            reply = op.reply_json()
            native = None if reply is None else self._named(reply, op.reply)
            response = HttpMessage(body=op.reply_frame.raw, native=native)
            ended = op.reply_frame.at
        error = None
        if op.outcome == "no-reply" and op.handler != "close":
            given_up = [p for p in op.problems if p.kind in ("duplicate-seq", "too-many-pending")]
            if given_up:
                error = f"given up without its reply: {given_up[-1].reason}"
            elif closing:
                error = CLOSED_BEFORE_REPLY
        return build_native_record(
            "rpyc",
            request,
            response,
            transport="tcp",
            started=started if started is not None else at,
            ended=ended,
            client=self.client,
            server=self.server,
            problems=[_problem(p, op.caller) for p in op.problems],
            error=error,
            origin=self.origin,
        )

    def _standalone(self, problem: RpycProblem, at: float) -> CallRecord:
        side: Side = problem.side or "client"
        return problem_record(
            "rpyc",
            "tcp",
            side=side,
            problem=_problem(problem),
            error=f"the {side}'s bytes: {problem.kind} ({problem.severity})",
            at=at,
            client=self.client,
            server=self.server,
            origin=self.origin,
        )

    def _internal_error(self, side: Side, exc: Exception, at: float) -> CallRecord:
        return internal_error_record(
            "rpyc",
            "tcp",
            side=side,
            exc=exc,
            at=at,
            client=self.client,
            server=self.server,
            origin=self.origin,
        )


def rpyc_conversation(
    *, client: Peer | None, server: Peer | None, origin: str = "proxy"
) -> RpycConversation:
    """A conversation that reads an RPyC classic-mode connection."""
    return RpycConversation(client=client, server=server, origin=origin)
