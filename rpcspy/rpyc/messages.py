"""RPyC messages: one type byte, then the brine value ``(seq, payload)``.

``Connection._send`` writes ``I1(msg) + brine.dump((seq, payload))`` (after 16 bytes of thread
ids when both peers run with ``bind_threads``). A request's payload is ``(handler, boxed args)``;
a reply's is the boxed result; an exception's is vinegar's dump of it: ``EXC_STOP_ITERATION`` (the
integer 1) for ``StopIteration``, else ``((module, class name), args, attrs, traceback text)``.
rpyc has no separate async message: an async request is a request whose reply the caller does
not wait for (``DEL``, ``ping``); ``CLOSE`` gets none, the peer just closes.

Strategy: ``decode_message`` raises ``RpycError`` when a message cannot be read at all and
returns ``(message, problems)`` when it can, with what is odd about it (an unknown handler, the
wrong number of arguments) as problems, the way rpyc itself would still take it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from rpcspy.rpyc._brine import DEFAULT_MAX_VALUES, load_brine
from rpcspy.rpyc._rpyc import (
    EXC_STOP_ITERATION,
    HANDLER_NAMES,
    MSG_EXCEPTION,
    MSG_REPLY,
    MSG_REQUEST,
    brine_dump,
)
from rpcspy.rpyc.errors import Problem, RpycError, Side
from rpcspy.rpyc.values import (
    Boxed,
    BoxedTuple,
    Plain,
    box_from_json,
    box_to_json,
    box_to_wire,
    unbox,
    value_from_json,
    value_to_json,
)

__all__ = [
    "HANDLERS",
    "ExceptionReply",
    "Handler",
    "Message",
    "RemoteError",
    "Reply",
    "Request",
    "decode_message",
    "encode_message",
    "message_from_json",
    "message_to_json",
]

_THREADS: Final = struct.Struct("!QQ")


@dataclass(frozen=True, slots=True)
class Handler:
    """A request handler: its number and name as in ``rpyc.core.consts``, its parameters (those
    after ``optional`` of them may be left out, as rpyc's handler signatures allow)."""

    number: int
    name: str
    params: tuple[str, ...]
    required: int

    def __str__(self) -> str:
        return self.name.lower()


def _handlers() -> dict[int, Handler]:
    # The parameters of Connection._handle_<name> in rpyc/core/protocol.py.
    signatures: dict[str, tuple[tuple[str, ...], int]] = {
        "PING": (("data",), 1),
        "CLOSE": ((), 0),
        "GETROOT": ((), 0),
        "GETATTR": (("obj", "name"), 2),
        "DELATTR": (("obj", "name"), 2),
        "SETATTR": (("obj", "name", "value"), 3),
        "CALL": (("obj", "args", "kwargs"), 2),
        "CALLATTR": (("obj", "name", "args", "kwargs"), 3),
        "REPR": (("obj",), 1),
        "STR": (("obj",), 1),
        "CMP": (("obj", "other", "op"), 2),
        "HASH": (("obj",), 1),
        "DIR": (("obj",), 1),
        "PICKLE": (("obj", "proto"), 2),
        "DEL": (("obj", "count"), 1),
        "INSPECT": (("id_pack",), 1),
        "BUFFITER": (("obj", "count"), 2),
        "OLDSLICING": (("obj", "attempt", "fallback", "start", "stop", "args"), 6),
        "CTXEXIT": (("obj", "exc"), 2),
        "INSTANCECHECK": (("obj", "other_id_pack"), 2),
    }
    out: dict[int, Handler] = {}
    for number, name in HANDLER_NAMES.items():
        params, required = signatures.get(name, ((), 0))
        out[number] = Handler(number, name, params, required)
    return out


#: Every handler rpyc has, by number (from the installed ``rpyc.core.consts``).
HANDLERS: Final[dict[int, Handler]] = _handlers()


@dataclass(frozen=True, slots=True)
class Request:
    """``MSG_REQUEST``: run ``handler`` on the receiver with ``args`` (the box as sent)."""

    seq: int
    handler: int
    args: Boxed

    @property
    def handler_name(self) -> str:
        known = HANDLERS.get(self.handler)
        return known.name.lower() if known else f"handler-{self.handler}"

    def arguments(self) -> tuple[Boxed, ...]:
        """The arguments one by one: rpyc boxes the whole tuple (by value when it can)."""
        if isinstance(self.args, BoxedTuple):
            return self.args.items
        if isinstance(self.args, Plain) and type(self.args.value) is tuple:
            return tuple(Plain(v) for v in self.args.value)
        return (self.args,)


@dataclass(frozen=True, slots=True)
class Reply:
    """``MSG_REPLY``: the boxed result of request ``seq``."""

    seq: int
    value: Boxed


@dataclass(frozen=True, slots=True)
class RemoteError:
    """An exception as vinegar dumps it. ``wire`` keeps the brine value as it came."""

    module: str
    name: str
    args: tuple[object, ...]
    attrs: tuple[tuple[str, object], ...]
    traceback: str
    wire: object

    @property
    def qualname(self) -> str:
        return self.name if self.module in ("builtins", "") else f"{self.module}.{self.name}"

    @classmethod
    def from_wire(cls, wire: object) -> RemoteError:
        if type(wire) is int and wire == EXC_STOP_ITERATION:
            return cls("builtins", "StopIteration", (), (), "", wire)
        if type(wire) is str:  # string exceptions, long deprecated
            return cls("", wire, (), (), "", wire)
        if (
            type(wire) is tuple
            and len(wire) == 4
            and type(wire[0]) is tuple
            and len(wire[0]) == 2
            and all(type(part) is str for part in wire[0])
            and type(wire[1]) is tuple
            and type(wire[2]) is tuple
            and all(type(a) is tuple and len(a) == 2 and type(a[0]) is str for a in wire[2])
            and type(wire[3]) is str
        ):
            (module, name), args, attrs, text = wire
            return cls(module, name, args, attrs, text, wire)
        raise RpycError("bad-message", f"not an exception vinegar writes: {wire!r:.80}")


@dataclass(frozen=True, slots=True)
class ExceptionReply:
    """``MSG_EXCEPTION``: request ``seq`` raised ``error``."""

    seq: int
    error: RemoteError


Message = Request | Reply | ExceptionReply


def decode_message(
    payload: bytes,
    sender: Side,
    *,
    bound_threads: bool = False,
    strict: bool = False,
    max_values: int = DEFAULT_MAX_VALUES,
) -> tuple[Message, list[Problem]]:
    """The message in a frame's payload, and what is odd about it.

    ``bound_threads``: the peers run with rpyc's ``bind_threads``, so 16 bytes of thread ids come
    first (they are skipped). ``strict``: also refuse bytes after the brine value.
    ``max_values``: the most values one message may hold (large messages are counted). Raises
    ``RpycError`` (offset within the payload) when the message cannot be read."""
    start = _THREADS.size if bound_threads else 0
    if len(payload) <= start:
        raise RpycError("empty-payload", f"{len(payload)} byte(s): no message", offset=0)
    kind = payload[start]
    if kind not in (MSG_REQUEST, MSG_REPLY, MSG_EXCEPTION):
        raise RpycError("unknown-message-type", f"message type {kind}", offset=start)
    try:
        value = load_brine(payload[start + 1 :], strict=strict, max_values=max_values)
    except RpycError as exc:
        raise RpycError(exc.kind, exc.reason, offset=start + 1 + (exc.offset or 0)) from None
    if type(value) is not tuple or len(value) != 2 or type(value[0]) is not int:
        raise RpycError("bad-message", f"not (seq, payload): {value!r:.80}", offset=start + 1)
    seq, body = value
    problems: list[Problem] = []
    message: Message
    if kind == MSG_REQUEST:
        if type(body) is not tuple or len(body) != 2 or type(body[0]) is not int:
            raise RpycError("bad-message", f"a request is (handler, args), not {body!r:.80}")
        message = Request(seq, body[0], unbox(body[1], sender))
        problems += _check_request(message, sender)
    elif kind == MSG_REPLY:
        message = Reply(seq, unbox(body, sender))
    else:
        message = ExceptionReply(seq, RemoteError.from_wire(body))
    return message, problems


def _check_request(request: Request, sender: Side) -> list[Problem]:
    handler = HANDLERS.get(request.handler)
    if handler is None:
        return [Problem("unknown-handler", f"handler {request.handler}", sender, seq=request.seq)]
    args = request.args
    if isinstance(args, BoxedTuple):
        n = len(args.items)
    elif isinstance(args, Plain) and type(args.value) is tuple:
        n = len(args.value)
    else:
        return [Problem("bad-arguments", "the arguments are not a tuple", sender, seq=request.seq)]
    if handler.required <= n <= len(handler.params):
        return []
    wanted = (
        str(handler.required)
        if handler.required == len(handler.params)
        else f"{handler.required} to {len(handler.params)}"
    )
    return [
        Problem(
            "bad-arguments",
            f"{handler.name.lower()} takes {wanted} argument(s), got {n}",
            sender,
            seq=request.seq,
        )
    ]


def encode_message(message: Message, sender: Side) -> bytes:
    """The payload bytes ``sender`` writes for ``message`` (the inverse of ``decode_message``)."""
    if isinstance(message, Request):
        body: object = (message.handler, box_to_wire(message.args, sender))
        kind = MSG_REQUEST
    elif isinstance(message, Reply):
        body = box_to_wire(message.value, sender)
        kind = MSG_REPLY
    else:
        body = message.error.wire
        kind = MSG_EXCEPTION
    return bytes([kind]) + brine_dump((message.seq, body))


def message_to_json(message: Message) -> dict[str, object]:
    """A JSON-ready form: ``{"request": {...}}``, ``{"reply": {...}}`` or ``{"exception": ...}``."""
    if isinstance(message, Request):
        return {
            "request": {
                "seq": message.seq,
                "handler": message.handler,
                "name": message.handler_name,
                "args": box_to_json(message.args),
            }
        }
    if isinstance(message, Reply):
        return {"reply": {"seq": message.seq, "value": box_to_json(message.value)}}
    error = message.error
    return {
        "exception": {
            "seq": message.seq,
            "module": error.module,
            "name": error.name,
            "wire": value_to_json(error.wire),
        }
    }


def message_from_json(data: dict[str, object]) -> Message:
    """The inverse of ``message_to_json``; ``ValueError`` on what it did not write."""
    if len(data) != 1:
        raise ValueError("a JSON message has one key")
    ((kind, body),) = data.items()
    if not isinstance(body, dict) or not isinstance(body.get("seq"), int):
        raise ValueError(f"not a JSON message: {data!r:.80}")
    seq = int(body["seq"])
    if kind == "request" and isinstance(body.get("handler"), int):
        return Request(seq, int(body["handler"]), box_from_json(body["args"]))
    if kind == "reply":
        return Reply(seq, box_from_json(body["value"]))
    if kind == "exception":
        try:
            return ExceptionReply(seq, RemoteError.from_wire(value_from_json(body["wire"])))
        except RpycError as exc:
            raise ValueError(exc.reason) from None
    raise ValueError(f"not a JSON message: {data!r:.80}")
