"""What a person reads of an ONC RPC call, from the JSON a capture keeps of it.

The capture stores a call half as ``call_to_json`` wrote it and a reply half as
``reply_to_json`` did (docs/capture-format.md, "Other protocols"). ``rpcspy show`` and the TUI
show the same things from them, worded here once:

- ``call_text`` / ``answer_text``: one line each, ``PROG.VERS.ECHO(string 'hi')`` and
  ``string 'hi'`` (or the reply's status when it is not SUCCESS);
- ``detail``: the call as a tree of labelled lines (``Node``: a text and its children), the
  header (xid, program/version/procedure with their names, the credential and verifier), the
  typed arguments, the reply's status (a mismatch's range, an auth error's reason) and the
  typed result, each value on its own line with its XDR type.

Values are read back with ``value_from_json`` and written with ``render``; a value that does not
read back is shown as its JSON, never an exception (a capture may come from anywhere).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from rpcspy.oncrpc.errors import BadXdr
from rpcspy.oncrpc.values import (
    Array,
    Optional,
    Raw,
    Struct,
    Union,
    Value,
    render,
    value_from_json,
)

__all__ = [
    "Node",
    "answer_text",
    "auth_text",
    "call_text",
    "detail",
    "method_text",
    "params_text",
    "value_node",
]

#: A line of the tree and the lines under it.
Node = tuple[str, tuple["Node", ...]]

#: Items of one array shown in the tree; the rest are counted.
_ITEMS_SHOWN: Final = 200


def _value(data: object) -> Value | None:
    try:
        return value_from_json(data)
    except (BadXdr, ValueError, TypeError, RecursionError):
        return None


def _json(data: object, limit: int) -> str:
    text = json.dumps(data, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _render(data: object, limit: int) -> str:
    value = _value(data)
    return _json(data, limit) if value is None else render(value, limit)


def method_text(call: Mapping[str, Any]) -> str:
    """``PROG.VERS.PROC`` by the interface's names, else by number (``100000.2.3``): the call's
    method as the capture and the filter's ``method:`` name it."""
    names = [call.get(f"{part}_name") for part in ("program", "version", "procedure")]
    if all(isinstance(n, str) and n for n in names):
        return ".".join(str(n) for n in names)
    return ".".join(str(call.get(part)) for part in ("program", "version", "procedure"))


def call_text(call: Mapping[str, Any] | None, limit: int = 100) -> str:
    """``RPC_EXAMPLE_PROG.RPC_EXAMPLE_VERS.ECHO(string 'hello')``: the method (``method_text``)
    and its arguments."""
    if call is None:
        return "(call not decoded)"
    name = method_text(call)
    args = call.get("args")
    inner = ", ".join(_render(a, limit) for a in args) if isinstance(args, list) else ""
    text = f"{name}({inner})"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def params_text(call: Mapping[str, Any] | None, limit: int = 100) -> str:
    """The arguments alone, on one line: ``intpair{a: int 2, b: int 40}``."""
    if call is None:
        return "(call not decoded)"
    args = call.get("args")
    text = ", ".join(_render(a, limit) for a in args) if isinstance(args, list) else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def answer_text(reply: Mapping[str, Any] | None, limit: int = 60) -> str:
    """A reply on one line: the result of a SUCCESS (``int 42``, ``void``), else its status."""
    if reply is None:
        return "no reply"
    status = reply.get("status")
    if status == "SUCCESS":
        result = reply.get("result")
        return "(result not decoded)" if result is None else _render(result, limit)
    return str(status)


def auth_text(auth: Mapping[str, Any] | None) -> str:
    """A credential or verifier: ``AUTH_SYS uid 0 gid 0 gids [] machine 'vm' stamp 5``."""
    if not isinstance(auth, Mapping):
        return "-"
    name = str(auth.get("name") or f"flavor {auth.get('flavor')}")
    sys = auth.get("sys")
    if isinstance(sys, Mapping):
        return (
            f"{name} uid {sys.get('uid')} gid {sys.get('gid')} gids {sys.get('gids')} "
            f"machine {sys.get('machinename')!r} stamp {sys.get('stamp')}"
        )
    dh = auth.get("dh")
    if isinstance(dh, Mapping):
        if dh.get("namekind") == "fullname":
            return f"{name} netname {dh.get('netname')!r}"
        return f"{name} nickname {dh.get('nickname')}"
    gss = auth.get("gss")
    if isinstance(gss, Mapping):
        return (
            f"{name} v{gss.get('version')} {gss.get('proc')} seq {gss.get('seq_num')} "
            f"service {gss.get('service')} handle {gss.get('handle')}"
        )
    body = auth.get("body")
    text = f"{name} body {body}" if body else name
    problem = auth.get("problem")
    return f"{text} ({problem})" if problem else text


def _number_and_name(number: object, name: object) -> str:
    if isinstance(number, int):
        shown = f"{number} (0x{number:x})" if number > 0xFFFF else str(number)
    else:
        shown = str(number)
    return f"{name}  {shown}" if name else shown


def value_node(name: str | None, value: Value) -> Node:
    """A value as a tree: ``name  struct person`` over its fields, a scalar on one line."""
    head = f"{name}  " if name is not None else ""
    match value:
        case Struct():
            return (
                f"{head}struct {value.type}",
                tuple(value_node(k, v) for k, v in value.fields),
            )
        case Union():
            arm = value.arm or "(void arm)"
            return (
                f"{head}union {value.type}  <{render(value.discriminant, 60)}>",
                (value_node(arm, value.value),),
            )
        case Array():
            items = tuple(value_node(f"[{i}]", v) for i, v in enumerate(value[:_ITEMS_SHOWN]))
            if len(value) > _ITEMS_SHOWN:
                items += ((f"… {len(value) - _ITEMS_SHOWN} more", ()),)
            return f"{head}array [{len(value)}]", items
        case Optional():
            if value.value is None:
                return f"{head}optional  NULL", ()
            return f"{head}optional", (value_node("*", value.value),)
        case Raw():
            return f"{head}raw [{len(value)} bytes, not typed]  {bytes(value[:64]).hex()}", ()
    return f"{head}{render(value, 200)}", ()


def _values(items: Sequence[object], names: Sequence[str]) -> tuple[Node, ...]:
    out: list[Node] = []
    for i, data in enumerate(items):
        name = names[i] if i < len(names) else f"[{i}]"
        value = _value(data)
        if value is None:
            out.append((f"{name}  {_json(data, 200)}", ()))
        else:
            out.append(value_node(name, value))
    return tuple(out)


def _problem(data: object) -> Node | None:
    if isinstance(data, Mapping):
        return (f"problem  {data.get('kind')}: {data.get('reason')}", ())
    return None


def detail(call: Mapping[str, Any] | None, reply: Mapping[str, Any] | None) -> list[Node]:
    """The call, its arguments, the reply and its result, as trees (module docstring)."""
    out: list[Node] = []
    if call is None:
        out.append(("call  (not decoded: the raw bytes are below)", ()))
    else:
        xid = call.get("xid")
        header: list[Node] = [
            (f"xid  {xid} (0x{xid:08x})" if isinstance(xid, int) else f"xid  {xid}", ()),
            (f"rpc version  {call.get('rpcvers')}", ()),
            (f"program  {_number_and_name(call.get('program'), call.get('program_name'))}", ()),
            (f"version  {_number_and_name(call.get('version'), call.get('version_name'))}", ()),
            (
                "procedure  " + _number_and_name(call.get("procedure"), call.get("procedure_name")),
                (),
            ),
            (f"credential  {auth_text(call.get('cred'))}", ()),
            (f"verifier  {auth_text(call.get('verf'))}", ()),
        ]
        problem = _problem(call.get("problem"))
        if problem is not None:
            header.append(problem)
        out.append(("call", tuple(header)))
        args = call.get("args")
        items = args if isinstance(args, list) else []
        names = ["args"] if len(items) == 1 else []
        out.append((f"arguments ({len(items)})", _values(items, names)))
    if reply is None:
        out.append(("reply  (none)", ()))
        return out
    lines: list[Node] = []
    if "xid" in reply:
        xid = reply.get("xid")
        lines.append((f"xid  {xid} (0x{xid:08x})" if isinstance(xid, int) else f"xid  {xid}", ()))
    lines.append((f"accepted  {'yes' if reply.get('accepted') else 'no (denied)'}", ()))
    lines.append((f"status  {reply.get('status')}", ()))
    mismatch = reply.get("mismatch")
    if isinstance(mismatch, Mapping):
        lines.append((f"supported versions  {mismatch.get('low')} to {mismatch.get('high')}", ()))
    if reply.get("auth_error"):
        lines.append((f"auth error  {reply.get('auth_error')}", ()))
    if "verf" in reply:
        lines.append((f"verifier  {auth_text(reply.get('verf'))}", ()))
    problem = _problem(reply.get("problem"))
    if problem is not None:
        lines.append(problem)
    out.append(("reply", tuple(lines)))
    if "result" in reply:
        out.append(("result", _values([reply["result"]], ["result"])))
    return out
