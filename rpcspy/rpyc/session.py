"""A connection read as the remote-object operations it performs.

Strategy: a ``Session`` holds one ``FrameDecoder`` per direction and is fed each direction's bytes
in the order they crossed the wire. Every request is kept until the reply or exception with its
seq comes back from the other side (requests from each side have their own seqs), and then
becomes an ``Operation``: the request, its outcome, both frames' raw bytes and a text that says
what it did, such as ``modules.os.getcwd() -> '/srv'``.

Netrefs are followed per connection: each object (its owner side and id pack) gets the name of
the expression that first produced it, built from the root (``GETROOT``) by the getattr chain
and the calls made on it. rpyc's classic idiom ``conn.modules.os`` is a call of the root's
``getmodule`` and is named ``modules.os``. ``__iter__`` / ``__next__`` calls read as ``iter(x)``
and ``next(iter(x))``, and what ``INSPECT`` (the methods of a class) and ``REPR`` / ``STR`` say
about an object is kept with it. ``DEL`` counts references down so a netref the owner has let go
is marked released (a replay cannot reach it by id any more).

Nothing here raises on bad bytes: problems come out beside the operations, with the side and byte
offset, and reading goes on with the next frame. Memory is bounded by ``Limits``: frames, requests
in flight, netrefs remembered and the length of names.
"""

from __future__ import annotations

import base64
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Final, Literal

from rpcspy.rpyc.errors import Problem, RpycError, Side
from rpcspy.rpyc.framing import DEFAULT_LIMITS, Frame, FrameDecoder, Limits
from rpcspy.rpyc.messages import (
    ExceptionReply,
    Reply,
    Request,
    decode_message,
    message_from_json,
    message_to_json,
)
from rpcspy.rpyc.values import (
    Boxed,
    BoxedTuple,
    IdPack,
    Plain,
    Ref,
    other_side,
    render_value,
)

__all__ = [
    "Netref",
    "Operation",
    "Outcome",
    "RawFrame",
    "Session",
    "decode_streams",
]

Outcome = Literal["reply", "exception", "no-reply"]

#: ``CALLATTR`` of these reads as Python writes it: ``iter(x)``, ``len(x)``, ``x[k]``.
_UNARY: Final[dict[str, str]] = {
    "__iter__": "iter({})",
    "__next__": "next({})",
    "next": "next({})",
    "__len__": "len({})",
    "__bool__": "bool({})",
    "__repr__": "repr({})",
    "__str__": "str({})",
    "__hash__": "hash({})",
    "__int__": "int({})",
    "__float__": "float({})",
    "__abs__": "abs({})",
    "__neg__": "-{}",
    "__pos__": "+{}",
    "__invert__": "~{}",
    "__reversed__": "reversed({})",
    "__length_hint__": "length_hint({})",
}
_BINARY: Final[dict[str, str]] = {
    "__add__": "+",
    "__sub__": "-",
    "__mul__": "*",
    "__truediv__": "/",
    "__floordiv__": "//",
    "__mod__": "%",
    "__pow__": "**",
    "__and__": "&",
    "__or__": "|",
    "__xor__": "^",
    "__lshift__": "<<",
    "__rshift__": ">>",
    "__eq__": "==",
    "__ne__": "!=",
    "__lt__": "<",
    "__le__": "<=",
    "__gt__": ">",
    "__ge__": ">=",
    "__iadd__": "+=",
    "__isub__": "-=",
}


@dataclass(frozen=True, slots=True)
class RawFrame:
    """A frame's wire bytes and where and when they went: what a capture keeps."""

    side: Side
    offset: int
    raw: bytes
    #: When its last byte came (the chunk that completed it).
    at: float | None = None
    #: When its first byte came (``at`` when one chunk held the whole frame).
    started: float | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "side": self.side,
            "offset": self.offset,
            "at": self.at,
            "started": self.started,
            "raw": base64.b64encode(self.raw).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> RawFrame:
        at, offset, raw = data.get("at"), data.get("offset"), data.get("raw")
        started = data.get("started")
        if not isinstance(offset, int) or not isinstance(raw, str):
            raise ValueError(f"not a JSON frame: {data!r:.80}")
        return cls(
            "client" if data.get("side") == "client" else "server",
            offset,
            base64.b64decode(raw, validate=True),
            float(at) if isinstance(at, int | float) else None,
            float(started) if isinstance(started, int | float) else None,
        )


@dataclass(frozen=True, slots=True)
class Operation:
    """One request and its outcome, as a reader sees it."""

    #: Order of the request among all requests of the connection, from 0.
    index: int
    #: Who sent the request (and so whose seq it is).
    caller: Side
    request: Request
    request_frame: RawFrame
    #: What the request does, in Python: ``modules.os.getcwd()``.
    text: str
    outcome: Outcome
    reply: Reply | ExceptionReply | None = None
    reply_frame: RawFrame | None = None
    #: The result as read: ``'/srv'``, ``<netref os>``, ``StopIteration``; None without a reply.
    result_text: str | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def seq(self) -> int:
        return self.request.seq

    @property
    def handler(self) -> str:
        return self.request.handler_name

    @property
    def started(self) -> float | None:
        return self.request_frame.at

    @property
    def ended(self) -> float | None:
        return self.reply_frame.at if self.reply_frame else None

    @property
    def duration_ms(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return (self.ended - self.started) * 1000.0

    def render(self) -> str:
        """``modules.os.getcwd() -> '/srv'``; ``x !! KeyError('a')``; ``close() (no reply)``."""
        if self.outcome == "reply":
            return f"{self.text} -> {self.result_text}"
        if self.outcome == "exception":
            return f"{self.text} !! {self.result_text}"
        return f"{self.text} (no reply)"

    def __str__(self) -> str:
        return self.render()

    def request_json(self) -> dict[str, object]:
        """The request half as a capture keeps it (``request.rpyc``): what was asked, without
        the raw frame, which is the half's body."""
        return {
            "index": self.index,
            "caller": self.caller,
            "seq": self.seq,
            "handler": self.handler,
            "text": self.text,
            "request": message_to_json(self.request),
        }

    def reply_json(self) -> dict[str, object] | None:
        """The reply half as a capture keeps it (``response.rpyc``): the outcome, the result as
        read and the reply or exception message; None when no reply came."""
        if self.reply is None:
            return None
        return {
            "outcome": self.outcome,
            "result_text": self.result_text,
            "reply": message_to_json(self.reply),
        }

    def to_json(self) -> dict[str, object]:
        """A JSON-ready form, raw frames included; ``from_json`` reads it back."""
        return {
            "index": self.index,
            "caller": self.caller,
            "seq": self.seq,
            "handler": self.handler,
            "text": self.text,
            "outcome": self.outcome,
            "result_text": self.result_text,
            "request": message_to_json(self.request),
            "request_frame": self.request_frame.to_json(),
            "reply": message_to_json(self.reply) if self.reply else None,
            "reply_frame": self.reply_frame.to_json() if self.reply_frame else None,
            "problems": [p.to_json() for p in self.problems],
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Operation:
        def obj(key: str) -> dict[str, object]:
            value = data.get(key)
            if not isinstance(value, dict):
                raise ValueError(f"{key}: not an object")
            return value

        request = message_from_json(obj("request"))
        reply = message_from_json(obj("reply")) if data.get("reply") is not None else None
        if not isinstance(request, Request) or isinstance(reply, Request):
            raise ValueError("an operation is a request and its reply")
        outcome = data.get("outcome")
        if outcome not in ("reply", "exception", "no-reply"):
            raise ValueError(f"bad outcome {outcome!r}")
        problems = data.get("problems")
        index = data.get("index")
        return cls(
            index=index if isinstance(index, int) else 0,
            caller="client" if data.get("caller") == "client" else "server",
            request=request,
            request_frame=RawFrame.from_json(obj("request_frame")),
            text=str(data.get("text")),
            outcome=outcome,
            reply=reply,
            reply_frame=(
                RawFrame.from_json(obj("reply_frame")) if data.get("reply_frame") else None
            ),
            result_text=(None if data.get("result_text") is None else str(data["result_text"])),
            problems=tuple(Problem.from_json(p) for p in (problems or []) if isinstance(p, dict))
            if isinstance(problems, list)
            else (),
        )


@dataclass(frozen=True, slots=True)
class Netref:
    """What the session knows of one remote object."""

    owner: Side
    id: IdPack
    #: The expression that first produced it: ``modules.sys.stdout``.
    name: str
    #: What ``REPR`` (or ``STR``) of it returned, when asked.
    repr: str | None
    #: Its class's methods, when ``INSPECT`` was asked about it.
    methods: tuple[str, ...] | None
    #: References the other side holds (counted up as the owner sends it, down by ``DEL``).
    refcount: int
    #: The owner was told to let it go (``DEL`` brought its count to 0).
    released: bool

    @property
    def class_name(self) -> str:
        return self.id.name

    def to_json(self) -> dict[str, object]:
        return {
            "owner": self.owner,
            "id": [self.id.name, self.id.class_id, self.id.instance_id],
            "name": self.name,
            "repr": self.repr,
            "methods": list(self.methods) if self.methods is not None else None,
            "refcount": self.refcount,
            "released": self.released,
        }


@dataclass(slots=True)
class _NetrefState:
    name: str
    repr: str | None = None
    refcount: int = 0
    released: bool = False
    #: ``next`` calls seen on it, when it is an iterator: names its items.
    items: int = 0


@dataclass(slots=True)
class _Pending:
    index: int
    request: Request
    frame: RawFrame
    text: str
    problems: list[Problem] = field(default_factory=list)


class Session:
    """One RPyC connection, fed both directions' bytes in wire order."""

    def __init__(
        self,
        limits: Limits = DEFAULT_LIMITS,
        *,
        bound_threads: bool = False,
        strict: bool = False,
    ) -> None:
        self.limits = limits
        self.bound_threads = bound_threads
        self.strict = strict
        self._decoders: dict[Side, FrameDecoder] = {
            "client": FrameDecoder("client", limits),
            "server": FrameDecoder("server", limits),
        }
        #: Requests in flight, per caller, by seq (oldest first).
        self._pending: dict[Side, OrderedDict[int, _Pending]] = {
            "client": OrderedDict(),
            "server": OrderedDict(),
        }
        self._netrefs: dict[tuple[Side, IdPack], _NetrefState] = {}
        #: Methods of classes, from INSPECT: (owner, class name, class id).
        self._methods: dict[tuple[Side, str, int], tuple[str, ...]] = {}
        self._unnamed: dict[Side, int] = {"client": 0, "server": 0}
        self._requests = 0
        self.closed = False

    # ---- feeding

    def feed(self, side: Side, data: bytes, at: float | None = None) -> list[Operation | Problem]:
        """Take bytes ``side`` sent; return the operations they complete and the problems."""
        out: list[Operation | Problem] = []
        for event in self._decoders[side].feed(data, at):
            if isinstance(event, Problem):
                out.append(event)
            else:
                out.extend(self._frame(event))
        return out

    def end(self, side: Side) -> list[Problem]:
        """``side`` closed its stream: a problem if it stopped inside a frame."""
        return list(self._decoders[side].close())

    def close(self) -> list[Operation | Problem]:
        """The connection is over: both streams end, and requests still in flight come out as
        operations without a reply (``CLOSE`` always does: the peer closes instead)."""
        out: list[Operation | Problem] = []
        for side in ("client", "server"):
            out.extend(self.end(side))
        pending = [p for queue in self._pending.values() for p in queue.values()]
        for queue in self._pending.values():
            queue.clear()
        for entry in sorted(pending, key=lambda p: p.index):
            out.append(self._unanswered(entry))
        self.closed = True
        return out

    @property
    def in_flight(self) -> int:
        return sum(len(p) for p in self._pending.values())

    def netrefs(self) -> list[Netref]:
        """Every netref seen, in the order first seen."""
        return [self._snapshot(owner, ident) for (owner, ident) in self._netrefs]

    def netref(self, owner: Side, ident: IdPack) -> Netref | None:
        return self._snapshot(owner, ident) if (owner, ident) in self._netrefs else None

    def _snapshot(self, owner: Side, ident: IdPack) -> Netref:
        state = self._netrefs[(owner, ident)]
        methods = self._methods.get((owner, ident.name, ident.class_id))
        return Netref(owner, ident, state.name, state.repr, methods, state.refcount, state.released)

    # ---- frames and messages

    def _frame(self, frame: Frame) -> list[Operation | Problem]:
        try:
            message, problems = decode_message(
                frame.payload,
                frame.side,
                bound_threads=self.bound_threads,
                strict=self.strict,
                max_values=self.limits.max_brine_values,
            )
        except RpycError as exc:
            # Offsets inside the payload mean little once inflated: point at the frame.
            return [Problem(exc.kind, exc.reason, frame.side, frame.offset)]
        raw = RawFrame(frame.side, frame.offset, frame.raw, frame.at, frame.started)
        out: list[Operation | Problem] = []
        if isinstance(message, Request):
            out += self._request(message, raw, problems)
        else:
            out += self._answer(message, raw, problems)
        return out

    def _request(
        self, request: Request, raw: RawFrame, problems: list[Problem]
    ) -> list[Operation | Problem]:
        caller = raw.side
        out: list[Operation | Problem] = []
        self._count_refs(request.args, caller)
        entry = _Pending(self._requests, request, raw, "", problems)
        self._requests += 1
        entry.text = self._text(request, caller, entry.problems)
        pending = self._pending[caller]
        if request.seq in pending:
            old = pending.pop(request.seq)
            old.problems.append(
                Problem(
                    "duplicate-seq",
                    f"seq {request.seq} sent again before its reply",
                    caller,
                    raw.offset,
                    request.seq,
                )
            )
            out.append(self._unanswered(old))
        pending[request.seq] = entry
        if len(pending) > self.limits.max_pending:
            _, oldest = pending.popitem(last=False)
            oldest.problems.append(
                Problem(
                    "too-many-pending",
                    f"over {self.limits.max_pending} requests in flight",
                    caller,
                    oldest.frame.offset,
                    oldest.request.seq,
                )
            )
            out.append(self._unanswered(oldest))
        return out

    def _answer(
        self, message: Reply | ExceptionReply, raw: RawFrame, problems: list[Problem]
    ) -> list[Operation | Problem]:
        answerer = raw.side
        caller = other_side(answerer)
        entry = self._pending[caller].pop(message.seq, None)
        if entry is None:
            if isinstance(message, Reply):
                self._count_refs(message.value, answerer)
            return [
                *problems,
                Problem(
                    "unknown-seq",
                    f"a {'reply' if isinstance(message, Reply) else 'exception'} to seq "
                    f"{message.seq}, which the {caller} has no request in flight for",
                    answerer,
                    raw.offset,
                    message.seq,
                ),
            ]
        entry.problems.extend(problems)
        if isinstance(message, Reply):
            # Name first: the reply is where a result's netref comes from.
            self._learn(entry, message.value, caller)
            self._count_refs(message.value, answerer)
            result = self._render(message.value, entry.problems)
            if entry.request.handler_name == "inspect" and isinstance(message.value, Plain):
                methods = message.value.value
                if type(methods) is tuple:
                    result = f"{len(methods)} methods"
            outcome: Outcome = "reply"
        else:
            error = message.error
            if error.name == "StopIteration" and not error.args:
                result = "StopIteration"
            else:
                args = ", ".join(render_value(a, self.limits.max_value_chars) for a in error.args)
                result = f"{error.qualname}({args})"
            outcome = "exception"
        return [
            Operation(
                entry.index,
                caller,
                entry.request,
                entry.frame,
                entry.text,
                outcome,
                message,
                raw,
                result,
                tuple(entry.problems),
            )
        ]

    def _unanswered(self, entry: _Pending) -> Operation:
        caller = entry.frame.side
        return Operation(
            entry.index,
            caller,
            entry.request,
            entry.frame,
            entry.text,
            "no-reply",
            problems=tuple(entry.problems),
        )

    # ---- netrefs

    def _state(self, ref: Ref) -> _NetrefState | None:
        return self._netrefs.get((ref.owner, ref.id))

    def _remember(self, ref: Ref, name: str) -> _NetrefState | None:
        state = self._netrefs.get((ref.owner, ref.id))
        if state is None:
            if len(self._netrefs) >= self.limits.max_netrefs:
                return None
            limit = self.limits.max_name_chars
            if len(name) > limit:
                name = name[: limit - 1] + "…"
            state = self._netrefs[(ref.owner, ref.id)] = _NetrefState(name)
        return state

    def _count_refs(self, box: Boxed, sender: Side) -> None:
        """The owner sending its object hands the receiver one more reference to it."""
        if isinstance(box, Ref):
            if box.owner == sender:
                state = self._state(box) or self._remember(box, self._anonymous(box))
                if state is not None:
                    state.refcount += 1
                    state.released = False
        elif isinstance(box, BoxedTuple):
            for item in box.items:
                self._count_refs(item, sender)

    def _anonymous(self, ref: Ref) -> str:
        self._unnamed[ref.owner] += 1
        short = ref.id.name.rpartition(".")[2] or "object"
        return f"<{ref.owner} {short} #{self._unnamed[ref.owner]}>"

    def _name(self, box: Boxed, problems: list[Problem]) -> str:
        """How an argument reads: a netref by its name, a value as Python writes it."""
        if isinstance(box, Ref):
            state = self._state(box)
            if state is None:
                problems.append(
                    Problem(
                        "unknown-netref",
                        f"{box.id} on the {box.owner}, never seen on this connection",
                        other_side(box.owner),
                    )
                )
                state = self._remember(box, self._anonymous(box))
            return state.name if state else f"<{box.owner} {box.id}>"
        if isinstance(box, BoxedTuple):
            items = [self._name(item, problems) for item in box.items]
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        return render_value(box.value, self.limits.max_value_chars)

    def _render(self, box: Boxed, problems: list[Problem]) -> str:
        """How a result reads: a netref as ``<netref class>`` (its repr when known)."""
        if isinstance(box, Ref):
            state = self._state(box)
            if state is not None and state.repr is not None:
                return f"<netref {render_value(state.repr, self.limits.max_value_chars)}>"
            return f"<netref {box.id.name}>"
        if isinstance(box, BoxedTuple):
            items = [self._render(item, problems) for item in box.items]
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        return render_value(box.value, self.limits.max_value_chars)

    def _args_text(self, args: Boxed, kwargs: Boxed | None, problems: list[Problem]) -> str:
        parts: list[str] = []
        positional = _items(args)
        parts += (
            [self._name(a, problems) for a in positional]
            if positional is not None
            else [f"*{self._name(args, problems)}"]
        )
        if kwargs is not None:
            pairs = _items(kwargs)
            for pair in pairs or ():
                kv = _items(pair)
                if kv is not None and len(kv) == 2 and isinstance(kv[0], Plain):
                    parts.append(f"{kv[0].value}={self._name(kv[1], problems)}")
                else:
                    parts.append(f"**{self._name(pair, problems)}")
        return ", ".join(parts)

    def _text(self, request: Request, caller: Side, problems: list[Problem]) -> str:
        """What the request does, in Python, with netrefs by name."""
        args = request.arguments()
        name = request.handler_name

        def arg(i: int) -> str:
            return self._name(args[i], problems) if i < len(args) else "?"

        def raw(i: int) -> object:
            box = args[i] if i < len(args) else None
            return box.value if isinstance(box, Plain) else None

        match name:
            case "getroot":
                return "root"
            case "close":
                return "close()"
            case "ping":
                return f"ping({arg(0)})"
            case "getattr":
                return _attr(arg(0), raw(1))
            case "delattr":
                return f"del {_attr(arg(0), raw(1))}"
            case "setattr":
                return f"{_attr(arg(0), raw(1))} = {arg(2)}"
            case "call":
                target = args[0] if args else None
                module = self._module_name(target, args[1] if len(args) > 1 else None)
                if module is not None:
                    return module
                kwargs = args[2] if len(args) > 2 else None
                return (
                    f"{arg(0)}({self._args_text(args[1], kwargs, problems)})"
                    if len(args) > 1
                    else f"{arg(0)}()"
                )
            case "callattr":
                method = raw(1)
                kwargs = args[3] if len(args) > 3 else None
                call_args = self._args_text(args[2], kwargs, problems) if len(args) > 2 else ""
                if isinstance(method, str) and not call_args and method in _UNARY:
                    return _UNARY[method].format(arg(0))
                if (
                    isinstance(method, str)
                    and method in _BINARY
                    and len(_items(args[2]) or ()) == 1
                ):
                    return f"{arg(0)} {_BINARY[method]} {call_args}"
                if method == "__getitem__" and call_args:
                    return f"{arg(0)}[{call_args}]"
                if method == "__contains__" and call_args:
                    return f"{call_args} in {arg(0)}"
                return f"{_attr(arg(0), method)}({call_args})"
            case "repr" | "str" | "hash" | "dir":
                return f"{name}({arg(0)})"
            case "cmp":
                op = raw(2) if len(args) > 2 else "__cmp__"
                symbol = _BINARY.get(op) if isinstance(op, str) else None
                return f"{arg(0)} {symbol} {arg(1)}" if symbol else f"cmp({arg(0)}, {arg(1)})"
            case "pickle":
                return f"pickle({arg(0)}, protocol={arg(1)})"
            case "del":
                count = raw(1) if len(args) > 1 else 1
                if args and isinstance(args[0], Ref) and isinstance(count, int):
                    self._release(args[0], count)
                return f"del {arg(0)}" + (f" (x{count})" if count != 1 else "")
            case "inspect":
                return f"inspect({self._id_text(raw(0), other_side(caller))})"
            case "buffiter":
                return f"islice({arg(0)}, {arg(1)})"
            case "oldslicing":
                return f"{arg(0)}[{_slice_text(raw(3))}:{_slice_text(raw(4))}]"
            case "ctxexit":
                return f"{arg(0)}.__exit__({arg(1)})"
            case "instancecheck":
                return f"isinstance({self._id_text(raw(1), other_side(caller))}, {arg(0)})"
        return f"{name}({', '.join(arg(i) for i in range(len(args)))})"

    def _id_text(self, value: object, owner: Side) -> str:
        try:
            ident = IdPack.from_wire(value)
        except RpycError:
            return render_value(value, self.limits.max_value_chars)
        state = self._netrefs.get((owner, ident))
        return state.name if state else str(ident)

    def _module_name(self, target: Boxed | None, args: Boxed | None) -> str | None:
        """``root.getmodule('os')``, the classic ``conn.modules.os``, reads ``modules.os``."""
        if not isinstance(target, Ref) or args is None:
            return None
        state = self._state(target)
        positional = _items(args)
        if state is None or state.name != "root.getmodule" or not positional:
            return None
        if len(positional) != 1 or not isinstance(positional[0], Plain):
            return None
        module = positional[0].value
        if type(module) is tuple and all(type(part) is str for part in module):
            module = ".".join(module)
        if type(module) is not str:
            return None
        return f"modules.{module}" if module.isidentifier() else f"modules[{module!r}]"

    def _release(self, ref: Ref, count: int) -> None:
        state = self._state(ref)
        if state is not None:
            state.refcount -= count
            if state.refcount <= 0:
                state.refcount = 0
                state.released = True

    def _learn(self, entry: _Pending, value: Boxed, caller: Side) -> None:
        """Name the netrefs a reply brings by the expression of the request; keep what REPR,
        STR and INSPECT said."""
        request = entry.request
        name = request.handler_name
        args = request.arguments()
        target = self._state(args[0]) if args and isinstance(args[0], Ref) else None
        if (
            target is not None
            and isinstance(value, Plain)
            and (name == "repr" or (name == "str" and target.repr is None))
        ):
            target.repr = str(value.value)
        if name == "inspect" and args and isinstance(args[0], Plain):
            try:
                ident = IdPack.from_wire(args[0].value)
            except RpycError:
                ident = None
            if ident is not None and isinstance(value, Plain) and type(value.value) is tuple:
                methods = tuple(str(m[0]) for m in value.value if type(m) is tuple and len(m) == 2)
                self._methods[(other_side(caller), ident.name, ident.class_id)] = methods
        expression = entry.text
        if name == "callattr" and len(args) > 1 and isinstance(args[1], Plain):
            method = args[1].value
            if method in ("__next__", "next") and target is not None:
                expression = f"{target.name} item {target.items}"
                target.items += 1
        elif name == "buffiter" and target is not None:
            self._name_results(value, f"{target.name} item", start=target.items)
            target.items += len(_items(value) or ())
            return
        self._name_results(value, expression)

    def _name_results(self, value: Boxed, expression: str, start: int | None = None) -> None:
        if isinstance(value, Ref):
            self._remember(value, expression)
        elif isinstance(value, BoxedTuple):
            for i, item in enumerate(value.items):
                label = f"{expression} {start + i}" if start is not None else f"{expression}[{i}]"
                self._name_results(item, label)


def _items(box: Boxed) -> tuple[Boxed, ...] | None:
    """The items of a boxed tuple (by value or boxed item by item), or None."""
    if isinstance(box, BoxedTuple):
        return box.items
    if isinstance(box, Plain) and type(box.value) is tuple:
        return tuple(Plain(v) for v in box.value)
    return None


def _attr(target: str, name: object) -> str:
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    if isinstance(name, str) and name.isidentifier():
        return f"{target}.{name}"
    return f"getattr({target}, {name!r})"


def _slice_text(value: object) -> str:
    return "" if value is None else repr(value)


def decode_streams(
    chunks: list[tuple[Side, bytes]] | list[tuple[Side, bytes, float]],
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[list[Operation], list[Problem], Session]:
    """Read a whole recorded connection: its chunks in wire order (side, bytes[, time])."""
    session = Session(limits)
    events: list[Operation | Problem] = []
    for chunk in chunks:
        at = chunk[2] if len(chunk) == 3 else None
        events += session.feed(chunk[0], chunk[1], at)
    events += session.close()
    operations = sorted((e for e in events if isinstance(e, Operation)), key=lambda o: o.index)
    problems = [e for e in events if isinstance(e, Problem)]
    return operations, problems, session
