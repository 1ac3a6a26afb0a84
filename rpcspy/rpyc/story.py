"""A session told as a short story: the operations a person wrote, not every request rpyc sent.

``story`` folds the operations of a session (in request order) into lines:

- bookkeeping is left out: ``INSPECT`` (rpyc asking a class's methods to build a netref class)
  and ``DEL`` (a netref garbage collected) that succeeded;
- an attribute fetched only to be called next reads as the call:
  ``modules.os.getcwd() -> '/srv'`` rather than ``modules.os.getcwd`` then the call;
- an iteration reads as one loop: ``iter(x)`` and every ``next`` on that iterator (or
  ``BUFFITER`` batch) up to ``StopIteration`` become ``for item in x -> [...] (6 items)``.

Everything else is one line per operation, as ``Operation.render`` writes it. Requests the
server made (calling back into objects the client passed it) start with ``(server)``.
"""

from __future__ import annotations

from rpcspy.rpyc.messages import Reply
from rpcspy.rpyc.session import Operation
from rpcspy.rpyc.values import Boxed, BoxedTuple, Plain, Ref, render_value

__all__ = ["story"]

_BOOKKEEPING = frozenset({"inspect", "del"})


def _target(op: Operation) -> Ref | None:
    args = op.request.arguments()
    return args[0] if args and isinstance(args[0], Ref) else None


def _result(op: Operation) -> Boxed | None:
    return op.reply.value if isinstance(op.reply, Reply) else None


def _method(op: Operation) -> object:
    args = op.request.arguments()
    if op.handler == "callattr" and len(args) > 1 and isinstance(args[1], Plain):
        return args[1].value
    return None


def _is_next_on(op: Operation, iterator: Ref) -> bool:
    if _target(op) != iterator:
        return False
    return op.handler == "buffiter" or _method(op) in ("__next__", "next")


def _loop(ops: list[Operation], start: int, used: set[int], limit: int) -> str | None:
    """The loop line for the ``iter(x)`` at ``ops[start]``, marking the ops it folds."""
    first = ops[start]
    iterator = _result(first)
    if not isinstance(iterator, Ref):
        return None
    items: list[str] = []
    folded: list[int] = []
    finished = False
    for i in range(start + 1, len(ops)):
        op = ops[i]
        if i in used or not _is_next_on(op, iterator):
            continue
        folded.append(i)
        if op.outcome == "exception" and op.result_text == "StopIteration":
            finished = True
            break
        if op.outcome != "reply":
            break
        value = _result(op)
        if op.handler == "buffiter":
            batch = _batch(value)
            if not batch:
                finished = True
                break
            items += batch
        else:
            items.append(op.result_text or "?")
    if not folded:
        return None
    used.update(folded)
    iterable = first.text[len("iter(") : -1] if first.text.startswith("iter(") else first.text
    shown = ", ".join(items)
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    end = "" if finished else ", unfinished"
    count = f"{len(items)} item" + ("" if len(items) == 1 else "s")
    return f"for item in {iterable} -> [{shown}] ({count}{end})"


def _batch(value: Boxed | None) -> list[str]:
    if isinstance(value, Plain) and type(value.value) is tuple:
        return [render_value(v) for v in value.value]
    if isinstance(value, BoxedTuple):
        return [
            render_value(item.value) if isinstance(item, Plain) else "<netref>"
            for item in value.items
        ]
    return []


def _by(op: Operation, line: str) -> str:
    """Lines of requests the server made (callbacks into the client) say so."""
    return f"(server) {line}" if op.caller == "server" else line


def story(operations: list[Operation], *, limit: int = 400) -> list[str]:
    """The session's operations as the lines a person would write (see the module's text)."""
    ops = [
        op
        for op in sorted(operations, key=lambda o: o.index)
        if not (op.handler in _BOOKKEEPING and op.outcome == "reply")
    ]
    used: set[int] = set()
    lines: list[str] = []
    for i, op in enumerate(ops):
        if i in used:
            continue
        if op.handler == "getattr" and op.outcome == "reply":
            result = _result(op)
            later = next((j for j in range(i + 1, len(ops)) if j not in used), None)
            if (
                isinstance(result, Ref)
                and later is not None
                and ops[later].caller == op.caller
                and ops[later].handler == "call"
                and _target(ops[later]) == result
            ):
                continue  # the call's line says it
        if _method(op) == "__iter__" and op.outcome == "reply":
            line = _loop(ops, i, used, limit)
            if line is not None:
                lines.append(_by(op, line))
                continue
        lines.append(_by(op, op.render()))
    return lines
