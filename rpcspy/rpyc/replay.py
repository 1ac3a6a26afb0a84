"""A best-effort plan for replaying a recorded classic session against a fresh server.

A recorded netref id means nothing to another server, or even to the same server on another
connection: rpyc keeps the objects it lends per connection and names them by ``id()``. So a
replay cannot send the recorded ids; it has to make the fresh server produce the same objects
again and use *their* ids. The plan does that:

1. It walks the client's recorded requests in order (requests the server made, callbacks into
   the client, are not the client's to replay).
2. Each request is rebuilt with a fresh seq, and each netref argument owned by the server is
   mapped to the fresh id *bound* to it. ``INSPECT`` is left out (rpyc asks it only to build a
   netref class; a replayer sending raw messages needs none); ``CLOSE`` is sent last.
3. When the fresh reply comes (``answer``), its netrefs are bound to the recorded reply's, box by
   box at the same places: ``modules.os`` recorded as ``os#7f..a0`` is now ``os#7f..c8``.
4. A request that needs a netref with no binding is skipped, with the reason: the operation
   that produced it failed or was skipped in the replay, or (``DEL``) the fresh server already
   let it go: "netrefs that no longer exist". A request passing a *client* object by reference
   (a callback, a list the server iterates) is skipped too: the replayer has no such object.
5. Each answered step says whether the outcome is the recorded one: equal values, a netref of
   the same class, the same exception; or what differs (``getcwd()`` on another machine).

It is sans-IO: ``next_step`` gives the frame bytes to send, ``answer`` takes the decoded reply
or exception for that step's seq. The driver (``rpcspy replay --protocol rpyc``, next) owns the
socket, and answers any request the fresh server makes with ``refusal``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rpcspy.rpyc._rpyc import HANDLER_NAMES
from rpcspy.rpyc.framing import encode_frame
from rpcspy.rpyc.messages import ExceptionReply, RemoteError, Reply, Request, encode_message
from rpcspy.rpyc.session import Netref, Operation
from rpcspy.rpyc.values import Boxed, BoxedTuple, IdPack, Plain, Ref, render_value

__all__ = ["ReplayPlan", "Step", "StepResult", "Verdict"]

Verdict = Literal["same", "differs", "skipped", "no-reply"]

_HANDLER = {name: number for number, name in HANDLER_NAMES.items()}
#: Handlers whose arguments carry netref ids as plain values (an id pack tuple).
_ID_VALUE_ARGS = {_HANDLER["INSPECT"]: 0, _HANDLER["INSTANCECHECK"]: 1}


class _Unmapped(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Step:
    """One request to send: the recorded operation and its fresh request and frame bytes."""

    recorded: Operation
    request: Request
    frame: bytes


@dataclass(frozen=True, slots=True)
class StepResult:
    """What became of one recorded operation in the replay."""

    recorded: Operation
    verdict: Verdict
    #: Why it was skipped, or what differs; empty when the outcome is the recorded one.
    detail: str = ""
    fresh: Reply | ExceptionReply | None = None

    def __str__(self) -> str:
        text = f"{self.verdict:<8} {self.recorded.text}"
        return f"{text}: {self.detail}" if self.detail else text


@dataclass
class ReplayPlan:
    """The replay of ``operations`` (one recorded connection), driven one step at a time."""

    operations: list[Operation]
    #: The recorded session's netrefs (``Session.netrefs()``), to name them in the results.
    netrefs: list[Netref] = field(default_factory=list)
    #: Recorded server netref id -> the fresh server's id for the same object.
    bindings: dict[IdPack, IdPack] = field(default_factory=dict)
    #: Recorded ids the fresh server was told to let go (by a replayed DEL).
    released: set[IdPack] = field(default_factory=set)
    results: list[StepResult] = field(default_factory=list)
    _queue: list[Operation] = field(default_factory=list)
    _waiting: Step | None = None
    _seq: int = 0
    _names: dict[IdPack, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        mine = sorted(
            (op for op in self.operations if op.caller == "client"), key=lambda o: o.index
        )
        closing = [op for op in mine if op.handler == "close"]
        self._queue = [op for op in mine if op.handler != "close"] + closing[:1]
        for netref in self.netrefs:
            self._names.setdefault(netref.id, netref.name)
        for op in self.operations:
            self._learn_names(op)

    def _learn_names(self, op: Operation) -> None:
        if isinstance(op.reply, Reply):
            for ref in _refs(op.reply.value):
                self._names.setdefault(ref.id, op.text)

    def next_step(self) -> Step | None:
        """The next request to send, or None when the plan is done. Steps that cannot be
        replayed are skipped here (see ``results``). Call ``answer`` before asking again."""
        if self._waiting is not None:
            raise RuntimeError(f"step seq {self._waiting.request.seq} has not been answered")
        while self._queue:
            op = self._queue.pop(0)
            if op.handler == "inspect":
                continue  # bookkeeping of rpyc's netref classes
            try:
                request = self._rebuild(op.request)
            except _Unmapped as missing:
                self.results.append(StepResult(op, "skipped", missing.reason))
                continue
            step = Step(op, request, encode_frame(encode_message(request, "client")))
            self._seq += 1
            if op.handler == "close":
                self.results.append(StepResult(op, "no-reply", "the server closes instead"))
                return step
            self._waiting = step
            return step
        return None

    def answer(self, message: Reply | ExceptionReply) -> StepResult:
        """The fresh server's reply (or exception) to the step in flight: bind its netrefs to
        the recorded ones and say whether the outcome is the recorded one."""
        step = self._waiting
        if step is None or message.seq != step.request.seq:
            raise ValueError(f"no step in flight with seq {message.seq}")
        self._waiting = None
        recorded = step.recorded
        if recorded.handler == "del":
            target = recorded.request.arguments()[0]
            if isinstance(target, Ref):
                self.released.add(target.id)
        if isinstance(message, Reply) and isinstance(recorded.reply, Reply):
            self._bind(recorded.reply.value, message.value)
        result = StepResult(recorded, *_compare(recorded, message), fresh=message)
        self.results.append(result)
        return result

    def refusal(self, request: Request) -> bytes:
        """The frame to answer a request the fresh server makes: the replayer lends nothing."""
        error = RemoteError.from_wire(
            (("builtins", "NotImplementedError"), ("rpcspy replay lends no objects",), (), "")
        )
        return encode_frame(encode_message(ExceptionReply(request.seq, error), "client"))

    # ---- netref ids

    def _bind(self, recorded: Boxed, fresh: Boxed) -> None:
        if isinstance(recorded, Ref) and isinstance(fresh, Ref):
            if recorded.owner == "server" and fresh.owner == "server":
                self.bindings[recorded.id] = fresh.id
                self.released.discard(recorded.id)
        elif isinstance(recorded, BoxedTuple) and isinstance(fresh, BoxedTuple):
            for old, new in zip(recorded.items, fresh.items, strict=False):
                self._bind(old, new)

    def _fresh_id(self, ident: IdPack) -> IdPack:
        name = self._names.get(ident, str(ident))
        if ident in self.released:
            raise _Unmapped(f"netref {name} no longer exists: the replay let it go (DEL)")
        fresh = self.bindings.get(ident)
        if fresh is None:
            raise _Unmapped(
                f"netref {name} does not exist on the fresh server: the operation that made "
                "it was not replayed or failed"
            )
        return fresh

    def _map(self, box: Boxed) -> Boxed:
        if isinstance(box, Ref):
            if box.owner == "client":
                name = self._names.get(box.id, f"a {box.id.name} of the client's")
                raise _Unmapped(f"passes {name} by reference; the replayer has no such object")
            return Ref("server", self._fresh_id(box.id))
        if isinstance(box, BoxedTuple):
            return BoxedTuple(tuple(self._map(item) for item in box.items))
        return box

    def _rebuild(self, request: Request) -> Request:
        args = self._map(request.args)
        where = _ID_VALUE_ARGS.get(request.handler)
        if where is not None and isinstance(args, Plain) and type(args.value) is tuple:
            values = list(args.value)
            if where < len(values):
                try:
                    old = IdPack.from_wire(values[where])
                except Exception:
                    old = None
                if old is not None:
                    values[where] = self._fresh_id(old).wire()
            args = Plain(tuple(values))
        return Request(self._seq, request.handler, args)


def _refs(box: Boxed) -> list[Ref]:
    if isinstance(box, Ref):
        return [box]
    if isinstance(box, BoxedTuple):
        return [ref for item in box.items for ref in _refs(item)]
    return []


def _shape(box: Boxed) -> str:
    """A value as compared across servers: netrefs by class, values as they are."""
    if isinstance(box, Ref):
        return f"<netref {box.id.name}>"
    if isinstance(box, BoxedTuple):
        return "(" + ", ".join(_shape(item) for item in box.items) + ")"
    return "value:" + render_value(box.value, 10_000) + ":" + type(box.value).__name__


def _compare(recorded: Operation, fresh: Reply | ExceptionReply) -> tuple[Verdict, str]:
    old = recorded.reply
    if old is None:
        return "differs", "recorded without a reply; the fresh server answered"
    if isinstance(old, Reply) and isinstance(fresh, Reply):
        if _shape(old.value) == _shape(fresh.value):
            return "same", ""
        return "differs", f"recorded {recorded.result_text}, now {_brief(fresh.value)}"
    if isinstance(old, ExceptionReply) and isinstance(fresh, ExceptionReply):
        if (old.error.qualname, old.error.args) == (fresh.error.qualname, fresh.error.args):
            return "same", ""
        return "differs", f"recorded {old.error.qualname}, now {fresh.error.qualname}"
    now = _brief(fresh.value) if isinstance(fresh, Reply) else fresh.error.qualname
    return "differs", f"recorded {recorded.result_text}, now {now}"


def _brief(box: Boxed) -> str:
    if isinstance(box, Plain):
        return render_value(box.value, 120)
    return _shape(box)
