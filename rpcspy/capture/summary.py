"""The words for a call at a glance: its outcome, how long it took, how big it was.

One wording, used by ``rpcspy show`` (table, ``--json`` status, one call in full), the TUI (call
list, detail header, detail screen) and the proxy's console line, so a call reads the same
wherever it is seen. Pure: no Textual, no mitmproxy, no terminal styles (callers colour by
``Outcome.kind``).

Outcome, first rule that applies:

====================================  ======================  ==========
the call                              text                    kind
====================================  ======================  ==========
connection error (``record.error``)   ``error``               error
the reply is a fault                  ``fault 4``             fault
a response that is not XML-RPC,       ``http 401``            problem
with a status other than 2xx
anything else with problems           ``problem``             problem
no reply (none seen, or none read)    ``no response``         pending
multicall with faulted sub-calls      ``ok, 1/3 faulted``     subfault
a result                              ``ok``                  ok
====================================  ======================  ==========

A call of another protocol (ONC RPC, RPyC: ``record.protocol``) has no HTTP status and no
multicall; its outcome, first rule that applies: ``error``; its fault, in that protocol's words
(kind fault): the ONC RPC reply status, ``PROC_UNAVAIL``, ``PROG_MISMATCH (supported 2-4)``,
``AUTH_ERROR (AUTH_TOOWEAK)``, or the RPyC exception's class, ``KeyError`` (its text is the
detail); ``problem``; ``no reply`` (pending); ``ok``.

A sub-call of a multicall reads ``ok``, ``fault 4`` or ``no response`` (``sub_outcome``).
Details (the fault string, the error message, the problems) are not part of the outcome; a view
that has room shows them after it (the console line writes ``fault 4: division by zero``).

Time is the duration from request start to response end: ``0.8 ms``, ``12.3 ms`` below 100 ms,
``1234 ms`` below 10 s, then ``12.5 s``, ``250 s``; ``-`` when there was no response. At most
seven characters.

The call at a glance, on one line (``call_line``), for a flow list that shows nothing else:
``add(2, 3) → 5``, ``demo.fault(4, "x") → fault 4: x``, ``system.multicall[3] → ok, 1/3 faulted``,
``echo("hi") → http 401``: the call, then its result when it is ``ok`` or else the outcome above
with its detail. The proxy puts it in mitmproxy's flow comment.

Size is the call's total bytes on the wire, request body plus response body as they crossed
the wire (still content-encoded; for ONC RPC and RPyC the record or frame bytes), in one
number: ``278 B``, ``1.2 KB``, ``12 KB``, ``3.4 MB``
(1024-based, at most six characters). One number sorts and fits a column; the split per body is
in ``rpcspy show --json`` (``request_bytes``, ``response_bytes``) and the detail views, which
write each body's size with ``format_size`` too.
"""

from __future__ import annotations

from typing import Final, Literal, NamedTuple

from rpcspy.capture.record import CallRecord
from rpcspy.xmlrpc.messages import Fault, MethodResponse
from rpcspy.xmlrpc.render import format_call, format_short

__all__ = [
    "NO_REPLY",
    "NO_TIME",
    "Outcome",
    "OutcomeKind",
    "call_line",
    "call_size",
    "faulted_subcalls",
    "format_duration",
    "format_size",
    "outcome",
    "outcome_detail",
    "size_text",
    "sub_outcome",
    "time_text",
]

#: How a call ended, for colour and filters: ``ok``, ``subfault``, ``fault``, ``problem``,
#: ``error``, ``pending`` (no response).
OutcomeKind = Literal["ok", "subfault", "fault", "problem", "error", "pending"]

#: The time or size of a call that has none.
NO_TIME: Final = "-"


class Outcome(NamedTuple):
    """A call's outcome in words (``text``) and its kind (``label, kind = outcome(record)``)."""

    text: str
    kind: OutcomeKind


def faulted_subcalls(record: CallRecord) -> int:
    """How many sub-calls of a multicall came back as faults."""
    return sum(1 for s in record.subcalls if isinstance(s.result, Fault))


def _exception_class(record: CallRecord) -> str | None:
    """The class of an RPyC exception reply, as the reply names it (``KeyError``)."""
    response = record.response
    native = None if response is None else response.native
    reply = None if native is None else native.get("reply")
    exc = reply.get("exception") if isinstance(reply, dict) else None
    name = exc.get("name") if isinstance(exc, dict) else None
    if not isinstance(name, str) or not name:
        return None
    module = exc.get("module") if isinstance(exc, dict) else None
    return name if module in (None, "", "builtins") else f"{module}.{name}"


def _native_outcome(record: CallRecord) -> Outcome:
    fault = record.native_fault
    if fault is not None:
        if record.protocol == "rpyc":
            return Outcome(_exception_class(record) or "exception", "fault")
        return Outcome(fault.text, "fault")
    if record.problems:
        return Outcome("problem", "problem")
    if record.response is None or record.response.native is None:
        return Outcome(NO_REPLY, "pending")
    return Outcome("ok", "ok")


#: The outcome of a call of another protocol that got no reply.
NO_REPLY: Final = "no reply"


def outcome(record: CallRecord) -> Outcome:
    """The call's outcome: ``ok``, ``fault 4``, ``http 401``, ``error`` ... (module docstring)."""
    if record.error is not None:
        return Outcome("error", "error")
    if record.protocol != "xmlrpc":
        return _native_outcome(record)
    reply = record.reply
    if isinstance(reply, Fault):
        return Outcome(f"fault {reply.code}", "fault")
    status = record.status
    if (
        reply is None
        and record.response is not None
        and status is not None
        and not 200 <= status < 300
    ):
        return Outcome(f"http {status}", "problem")
    if record.problems:
        return Outcome("problem", "problem")
    if reply is None:
        return Outcome("no response", "pending")
    faults = faulted_subcalls(record)
    if faults:
        return Outcome(f"ok, {faults}/{len(record.subcalls)} faulted", "subfault")
    return Outcome("ok", "ok")


def sub_outcome(result: MethodResponse | Fault | None) -> Outcome:
    """The outcome of one multicall sub-call: ``ok``, ``fault 4`` or ``no response``."""
    if result is None:
        return Outcome("no response", "pending")
    if isinstance(result, Fault):
        return Outcome(f"fault {result.code}", "fault")
    return Outcome("ok", "ok")


def outcome_detail(record: CallRecord) -> str | None:
    """What a roomy view writes after the outcome: the error message or the fault string."""
    if record.error is not None:
        return record.error
    if record.protocol == "rpyc":
        fault = record.native_fault
        return None if fault is None else fault.text
    reply = record.reply
    if isinstance(reply, Fault):
        return reply.string
    return None


def format_duration(ms: float | None) -> str:
    """``0.8 ms``, ``12.3 ms``, ``1234 ms``, ``12.5 s``, ``250 s``; ``-`` when unknown."""
    if ms is None:
        return NO_TIME
    if ms < 100:
        return f"{ms:.1f} ms"
    if ms < 10_000:
        return f"{ms:.0f} ms"
    if ms < 100_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 1000:.0f} s"


def time_text(record: CallRecord) -> str:
    """How long the call took, in the agreed wording (``format_duration``)."""
    return format_duration(record.duration_ms)


def format_size(n: int) -> str:
    """``512 B``, ``1.2 KB``, ``12 KB``, ``3.4 MB``, ``1.1 GB`` (1024-based, at most 6 chars)."""
    if n < 1000:
        return f"{n} B"
    for unit, scale in (("KB", 1 << 10), ("MB", 1 << 20)):
        if n < 1000 * scale:
            value = n / scale
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return f"{n / (1 << 30):.1f} GB"


def call_size(record: CallRecord) -> int:
    """Bytes of both bodies on the wire (a response not recorded counts as none)."""
    response = record.response
    request_size = record.request.size or 0
    return request_size + (0 if response is None else response.size or 0)


def size_text(record: CallRecord) -> str:
    """The call's size in the agreed wording: both bodies' bytes on the wire, ``278 B``."""
    return format_size(call_size(record))


#: The most ``call_line`` gives to what happened; the call itself gets the rest.
_LINE_TAIL = 48


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())  # one line, whatever the fault string or error held
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def call_line(record: CallRecord, limit: int = 100) -> str:
    """The call and what happened, on one line of at most ``limit`` characters (module docstring):
    ``add(2, 3) → 5``, ``demo.fault(4, "x") → fault 4: x``, ``system.multicall[3] → ok, 1/3
    faulted``."""
    text, kind = outcome(record)
    reply = record.reply
    native = record.protocol != "xmlrpc"
    if kind == "ok" and isinstance(reply, MethodResponse) and not record.is_multicall:
        tail = format_short(reply.value, _LINE_TAIL)
    elif kind == "ok" and native and record.response is not None:
        # An RPyC reply's result as the codec read it; an ONC RPC result needs its codec's
        # renderer (rpcspy.oncrpc.view), which the capture does not import: "ok".
        result = (record.response.native or {}).get("result_text")
        tail = _cut(result if isinstance(result, str) else text, _LINE_TAIL)
    else:
        detail = outcome_detail(record)
        if detail is None and kind == "problem" and record.problems and text == "problem":
            detail = record.problems[0].message
        if detail and native and detail.startswith(text):
            text = ""  # an RPyC exception's text starts with its class: once is enough
        tail = _cut(f"{text}: {detail}" if detail and text else detail or text, _LINE_TAIL)
    room = max(limit - len(tail) - 3, 12)
    call = record.call
    request_text = (record.request.native or {}).get("text") if native else None
    if isinstance(request_text, str) and request_text:
        head = request_text  # RPyC: the operation as Python, modules.os.getcwd()
    elif call is None:
        head = record.method or "?"
    elif record.is_multicall:
        head = f"{call.method}[{len(record.subcalls)}]"
    else:
        head = format_call(call, room)
    return _cut(f"{_cut(head, room)} → {tail}", limit)
