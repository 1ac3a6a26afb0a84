"""What every tool needs from a call of another protocol than XML-RPC, read off its JSON.

A record of ONC RPC or RPyC keeps each half as its codec wrote it (``HttpMessage.native``, stored
under the protocol's key in the capture line: ``"oncrpc": {...}``, ``"rpyc": {...}``; see
docs/architecture.md, "The protocol seam"). The tools above the capture (the index, filters,
``show``, the TUI, stats) need only a few things of it, whatever the protocol: the call's
**method** as one string and whether the answer is the protocol's **fault**. This module reads
them from the JSON forms the codecs write (``rpcspy.oncrpc.call_to_json`` / ``reply_to_json``,
``rpcspy.rpyc``'s operation halves), without importing the codecs: a capture reads without them.

- ONC RPC: the method is ``PROGRAM.VERSION.PROCEDURE`` by the interface's names
  (``PMAP_PROG.PMAP_VERS.PMAPPROC_GETPORT``) or by number (``100000.2.3``) when an interface does
  not name them; a reply whose status is not ``SUCCESS`` (``PROG_UNAVAIL``, ``GARBAGE_ARGS``,
  ``AUTH_ERROR`` ...) is a fault, coded by its RFC 5531 number (accept_stat for an accepted reply,
  reject_stat + 100 for a denied one, so the two never collide).
- RPyC: the method is the operation as Python, up to its arguments (``modules.os.getcwd`` for
  ``modules.os.getcwd()``); an exception reply is a fault, without a code, worded by the
  exception's text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "PROTOCOLS",
    "TRANSPORTS",
    "NativeFault",
    "fault_of",
    "method_of",
    "params_of",
    "path_form",
    "result_of",
]

#: The RPC systems a record can hold (``CallRecord.protocol``), the default first.
PROTOCOLS: Final = ("xmlrpc", "oncrpc", "rpyc")
#: The transports of a record's ``transport`` (None is HTTP).
TRANSPORTS: Final = ("tcp", "udp")


@dataclass(frozen=True, slots=True)
class NativeFault:
    """A protocol's error answer: its code when the protocol numbers it, and words for people."""

    code: int | None
    text: str


def method_of(protocol: str, request: Mapping[str, Any] | None) -> str | None:
    """The method name of a call of ``protocol`` from its request half's JSON; None if unknown."""
    if request is None:
        return None
    if protocol == "oncrpc":
        names = (
            request.get("program_name"),
            request.get("version_name"),
            request.get("procedure_name"),
        )
        if all(type(n) is str and n for n in names):
            return ".".join(names)  # type: ignore[arg-type]
        numbers = (request.get("program"), request.get("version"), request.get("procedure"))
        if all(type(n) is int for n in numbers):
            return ".".join(map(str, numbers))
        return None
    if protocol == "rpyc":
        text = request.get("text")
        if type(text) is not str or not text:
            handler = request.get("handler")
            return handler if type(handler) is str and handler else None
        cut = text.find("(")
        return (text[:cut] if cut > 0 else text).strip() or None
    return None


def fault_of(protocol: str, response: Mapping[str, Any] | None) -> NativeFault | None:
    """The fault a response half of ``protocol`` carries, from its JSON; None for a good answer
    (or a half that was not decoded: the record's problems say why)."""
    if response is None:
        return None
    if protocol == "oncrpc":
        status = response.get("status")
        if type(status) is not str or status == "SUCCESS":
            return None
        # The RFC's numbers are the codec's (imported here: only ONC RPC records need them).
        from rpcspy.oncrpc.rpc import status_code

        code = status_code(status, response.get("accepted") is not False)
        words = status
        mismatch = response.get("mismatch")
        if isinstance(mismatch, Mapping):
            words += f" (supported {mismatch.get('low')}-{mismatch.get('high')})"
        why = response.get("auth_error")
        if type(why) is str and why:
            words += f" ({why})"
        return NativeFault(code, words)
    if protocol == "rpyc":
        if response.get("outcome") != "exception":
            return None
        text = response.get("result_text")
        return NativeFault(None, text if type(text) is str and text else "exception")
    return None


# -- the form the filter's paths walk (``params[0].name``, ``result.found.age>30``)


def path_form(value: Any) -> Any:
    """An XDR value's JSON (``rpcspy.oncrpc.value_to_json``) in the form the filter language's
    paths walk, as XML-RPC's: a struct as ``{"struct": {field: value}}``, a union as a struct of
    its one arm (``result.found.name``; the value itself for an arm without a name), an optional
    as its value (``{"nil": None}`` when absent), an array as it is; a scalar keeps its XDR
    type's key (``{"uint": 5}``: ``params[0]:uint`` tests it)."""
    if not isinstance(value, Mapping) or len(value) != 1:
        return value
    ((key, payload),) = value.items()
    if key == "struct" and isinstance(payload, Mapping):
        fields = payload.get("fields")
        if isinstance(fields, Mapping):
            return {"struct": {str(k): path_form(v) for k, v in fields.items()}}
    elif key == "union" and isinstance(payload, Mapping):
        arm = payload.get("arm")
        inner = path_form(payload.get("value"))
        return {"struct": {arm: inner}} if isinstance(arm, str) and arm else inner
    elif key == "optional":
        return {"nil": None} if payload is None else path_form(payload)
    elif key == "array" and isinstance(payload, list):
        return {"array": [path_form(v) for v in payload]}
    return value


def params_of(protocol: str, request: Mapping[str, Any] | None) -> list[Any] | None:
    """A call's params in ``path_form``: ONC RPC's arguments; None for RPyC (its boxes and
    netrefs have no path syntax) or a request not decoded."""
    if protocol != "oncrpc" or request is None:
        return None
    args = request.get("args")
    return [path_form(a) for a in args] if isinstance(args, list) else None


def result_of(protocol: str, response: Mapping[str, Any] | None) -> Any:
    """A call's result in ``path_form``: an ONC RPC SUCCESS's; None otherwise."""
    if protocol != "oncrpc" or response is None or "result" not in response:
        return None
    return path_form(response["result"])
