"""Ask a server for its API: ``system.listMethods``, ``system.methodSignature``, ``methodHelp``.

Sans-IO: ``introspect`` is given ``send``, a function that sends one call and returns the decoded
answer (a ``MethodResponse`` or a ``Fault``); the command supplies one over HTTP, tests may
supply one that calls Python functions. Whatever ``send`` raises (the server is down, it answers
HTTP 401 ...) goes through unchanged, for the caller to word.

Strategy: list the methods first; a server that cannot (a fault, or an answer that is not an
array of names) has no introspection: ``NoIntrospection``. Then ask each method's signature and
help in one ``system.multicall`` (batches of ``BATCH`` methods); a fault, or an answer of the
wrong shape, and every later question is asked with plain calls. Each method's answers are read
tolerantly: servers answer ``undef``, nil, a string ("signatures not supported", as Python's
``SimpleXMLRPCServer`` does), an int or a fault for "I do not know"; that leaves the method
without signatures (or help), and the reading goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from rpcspy.api.model import Api, Signature, api_source, declared_shape
from rpcspy.xmlrpc.errors import BadValue
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.multicall import pair_multicall
from rpcspy.xmlrpc.values import Array, String, Struct, Value

__all__ = [
    "BATCH",
    "Introspection",
    "NoIntrospection",
    "Send",
    "introspect",
    "read_help",
    "read_signatures",
]

#: Sends one call, returns its decoded answer; raises for anything that is not an XML-RPC answer.
Send = Callable[[MethodCall], MethodResponse | Fault]

#: Methods asked about per ``system.multicall`` (two calls each).
BATCH: Final = 100


class NoIntrospection(Exception):
    """The server does not list its methods; the message says what it answered."""


@dataclass
class Introspection:
    """What ``introspect`` learned: the description, whether ``system.multicall`` served, and
    notes for people on what the server would not say."""

    api: Api
    multicall: bool = False
    notes: list[str] = field(default_factory=list)


def _describe(answer: MethodResponse | Fault) -> str:
    if isinstance(answer, Fault):
        return f"fault {answer.code}: {answer.string}"
    value = answer.value
    return f"{type(value).__name__} {str(value)[:60]!r}"


def read_signatures(value: Value) -> list[Signature]:
    """The signatures a ``system.methodSignature`` answer declares: an array of arrays of type
    names, result first (``[["int", "int", "int"]]``); a flat array of names is one signature.
    Anything else (``undef``, nil, a string, an int) declares nothing: ``[]``."""
    if not isinstance(value, Array) or not value:
        return []
    rows: Iterable[object] = value
    if all(isinstance(item, String) for item in value):
        rows = [value]
    out: list[Signature] = []
    for row in rows:
        if not isinstance(row, Array) or not row:
            continue
        names = [str(item) if isinstance(item, String) else None for item in row]
        out.append(Signature([declared_shape(n) for n in names[1:]], declared_shape(names[0])))
    return out


def read_help(value: Value) -> str | None:
    """The help a ``system.methodHelp`` answer gives: its text, or None when it is empty or not a
    string."""
    if isinstance(value, String) and str(value).strip():
        return str(value)
    return None


def _entry_call(method: str, name: str) -> Struct:
    return Struct({"methodName": String(method), "params": Array([String(name)])})


def _ask_multicall(send: Send, names: list[str]) -> list[MethodResponse | Fault] | None:
    """Each name's signature and help answers, asked in one ``system.multicall``; None when the
    server will not (a fault, or an answer of another shape)."""
    calls = []
    for name in names:
        calls.append(MethodCall("system.methodSignature", (String(name),)))
        calls.append(MethodCall("system.methodHelp", (String(name),)))
    entries = Array(_entry_call(c.method, str(c.params[0])) for c in calls)
    answer = send(MethodCall("system.multicall", (entries,)))
    if not isinstance(answer, MethodResponse):
        return None
    try:
        return list(pair_multicall(calls, answer, findings=[]))
    except BadValue:
        return None


def introspect(send: Send, *, url: str | None = None, multicall: bool = True) -> Introspection:
    """Describe the server ``send`` talks to; raises ``NoIntrospection`` when it lists no
    methods. ``url`` is noted as the description's source; ``multicall=False`` asks with plain
    calls only."""
    listed = send(MethodCall("system.listMethods", ()))
    if isinstance(listed, Fault) or not isinstance(listed.value, Array):
        raise NoIntrospection(f"system.listMethods answered {_describe(listed)}")
    result = Introspection(Api(sources=[api_source("introspection", url=url)]))
    names: list[str] = []
    for item in listed.value:
        if isinstance(item, String) and str(item) and str(item) not in names:
            names.append(str(item))
        elif not isinstance(item, String):
            result.notes.append(f"system.listMethods listed a {type(item).__name__}; skipped")
    answers: list[MethodResponse | Fault] | None = None
    if multicall and names:
        answers = []
        for start in range(0, len(names), BATCH):
            batch = _ask_multicall(send, names[start : start + BATCH])
            if batch is None:
                answers = None
                break
            answers.extend(batch)
        result.multicall = answers is not None
    if answers is None:
        answers = []
        for name in names:
            answers.append(send(MethodCall("system.methodSignature", (String(name),))))
            answers.append(send(MethodCall("system.methodHelp", (String(name),))))
    unsigned: list[str] = []
    for i, name in enumerate(names):
        method = result.api.method(name)
        method.sources.add("introspection")
        signature, help_answer = answers[2 * i], answers[2 * i + 1]
        if isinstance(signature, MethodResponse):
            method.signatures = read_signatures(signature.value)
        if not method.signatures:
            unsigned.append(name)
        if isinstance(help_answer, MethodResponse):
            method.help = read_help(help_answer.value)
    if unsigned and len(unsigned) == len(names):
        result.notes.append("the server declares no signatures (their types are unknown)")
    elif unsigned:
        result.notes.append(f"{len(unsigned)} of {len(names)} methods declare no signature")
    return result
