"""What a person reads of an RPyC operation, from the JSON a capture keeps of it.

A capture stores an operation's request half (``index``, ``caller``, ``seq``, ``handler``,
``text``, ``request``) and its reply half (``outcome``, ``result_text``, ``reply``) as
``Operation.to_json`` writes them (docs/capture-format.md, "Other protocols"). ``rpcspy show``
and the TUI show the same things from them, worded here once:

- ``call_text`` / ``answer_text``: ``modules.os.getcwd()`` and ``'/srv'`` (or ``!! KeyError``);
- ``detail``: the operation as Python (``modules.os.getcwd() -> '/srv'``), its handler, seq and
  caller, then the boxed arguments and the reply as trees of labelled lines (``Node``), netrefs
  shown by name when the capture names them (a half's ``netrefs``: ``Netref.to_json`` of the
  objects it mentions, or a ``name`` beside a ``ref``), else by class, owner and object id.

Nothing here raises on a capture's JSON: what does not read back is shown as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from rpcspy.rpyc.messages import HANDLERS
from rpcspy.rpyc.values import render_value, value_from_json

__all__ = ["Node", "answer_text", "call_text", "detail", "params_text"]

#: A line of the tree and the lines under it.
Node = tuple[str, tuple["Node", ...]]

_ITEMS_SHOWN: Final = 200


def call_text(request: Mapping[str, Any] | None, limit: int = 100) -> str:
    """The operation as Python: ``modules.os.getcwd()``; its handler when it has no text."""
    if request is None:
        return "(request not decoded)"
    text = request.get("text") or request.get("handler") or "?"
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def params_text(request: Mapping[str, Any] | None, limit: int = 100) -> str:
    """What a list of calls shows beside the method: the whole operation (``call_text``)."""
    return call_text(request, limit)


def answer_text(response: Mapping[str, Any] | None, limit: int = 60) -> str:
    """``'/srv'``, ``<netref os>``, ``!! KeyError('x')``; ``no reply`` without one."""
    if response is None or response.get("outcome") == "no-reply":
        return "no reply"
    text = str(response.get("result_text"))
    if response.get("outcome") == "exception":
        text = "!! " + text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json(data: object, limit: int = 200) -> str:
    text = json.dumps(data, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: Netref names by (owner, class name, class id, object id).
Names = dict[tuple[object, ...], str]


def _names(*halves: Mapping[str, Any] | None) -> Names:
    out: Names = {}
    for half in halves:
        refs = half.get("netrefs") if half is not None else None
        for ref in refs if isinstance(refs, list) else ():
            if isinstance(ref, Mapping) and isinstance(ref.get("id"), list):
                name = ref.get("name")
                if isinstance(name, str) and name:
                    out[(ref.get("owner"), *ref["id"])] = name
    return out


def _ref_text(ref: Mapping[str, Any], names: Names) -> str:
    ident = ref.get("id")
    name = ref.get("name")
    if not name and isinstance(ident, list):
        name = names.get((ref.get("owner"), *ident))
    if isinstance(name, str) and name:
        return f"<netref {name}>"
    if isinstance(ident, list) and len(ident) == 3:
        return f"<netref {ident[0]} of the {ref.get('owner')}, id {ident[2]}>"
    return f"<netref {_json(ref, 80)}>"


def _plain(data: object) -> str:
    try:
        return render_value(value_from_json(data))
    except (ValueError, TypeError, RecursionError):
        return _json(data)


def _box(name: str, box: object, names: Names) -> Node:
    """A boxed value as a tree: a tuple of boxes over its items, a netref by name."""
    if isinstance(box, Mapping) and len(box) == 1:
        if "value" in box:
            return f"{name}  {_plain(box['value'])}", ()
        if "ref" in box and isinstance(box["ref"], Mapping):
            return f"{name}  {_ref_text(box['ref'], names)}", ()
        items = box.get("boxes")
        if isinstance(items, list):
            children = tuple(_box(f"[{i}]", b, names) for i, b in enumerate(items[:_ITEMS_SHOWN]))
            if len(items) > _ITEMS_SHOWN:
                children += ((f"… {len(items) - _ITEMS_SHOWN} more", ()),)
            return f"{name}  tuple [{len(items)}]", children
    return f"{name}  {_json(box)}", ()


def _arguments(message: object, names: Names) -> tuple[Node, ...]:
    body = message.get("request") if isinstance(message, Mapping) else None
    if not isinstance(body, Mapping):
        return ()
    number = body.get("handler")
    handler = HANDLERS.get(number) if isinstance(number, int) else None
    params = handler.params if handler is not None else ()
    args = body.get("args")
    if isinstance(args, Mapping) and isinstance(args.get("boxes"), list):
        items = args["boxes"]
        return tuple(
            _box(params[i] if i < len(params) else f"[{i}]", b, names) for i, b in enumerate(items)
        )
    return (_box("args", args, names),)


def detail(request: Mapping[str, Any] | None, response: Mapping[str, Any] | None) -> list[Node]:
    """The operation, its arguments and its reply, as trees (module docstring)."""
    out: list[Node] = []
    names = _names(request, response)
    if request is None:
        out.append(("request  (not decoded: the raw bytes are below)", ()))
    else:
        text = call_text(request, 200)
        answer = answer_text(response, 200)
        arrow = " " if answer.startswith("!!") else " -> "
        said = f"{text}{arrow}{answer}" if response is not None else f"{text} (no reply)"
        out.append(
            (
                "operation",
                (
                    (said, ()),
                    (f"handler  {request.get('handler')}", ()),
                    (f"seq  {request.get('seq')}", ()),
                    (f"caller  {request.get('caller')}", ()),
                ),
            )
        )
        out.append(("arguments", _arguments(request.get("request"), names)))
    if response is None:
        out.append(("reply  (none)", ()))
        return out
    reply = response.get("reply")
    body = reply.get("reply") if isinstance(reply, Mapping) else None
    exc = reply.get("exception") if isinstance(reply, Mapping) else None
    if isinstance(body, Mapping):
        out.append(("reply", (_box("value", body.get("value"), names),)))
    elif isinstance(exc, Mapping):
        module, name = exc.get("module"), exc.get("name")
        qualname = name if module in ("builtins", "", None) else f"{module}.{name}"
        out.append(
            (
                "exception",
                (
                    (f"class  {qualname}", ()),
                    (f"text  {response.get('result_text')}", ()),
                ),
            )
        )
    else:
        out.append((f"reply  {response.get('outcome')}", ()))
    return out
