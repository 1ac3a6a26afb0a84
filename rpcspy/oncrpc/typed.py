"""Calls and replies typed by an interface: the procedure's names and its typed arguments or
result, or the raw bytes and the reason when the interface does not describe them.

This is the seam the proxy and capture use: ``type_call`` and ``type_reply`` never raise for
what is on the wire (an unknown program, arguments that do not fit the procedure, bytes after
the arguments); they keep the raw bytes as a ``Raw`` value and put the error in ``problem``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rpcspy.oncrpc.errors import OncRpcError, UnknownProcedure
from rpcspy.oncrpc.idl import Interface, Procedure
from rpcspy.oncrpc.rpc import Call, Reply
from rpcspy.oncrpc.values import Raw, Value, value_to_json
from rpcspy.oncrpc.xdr import DEFAULT_LIMITS, Limits

__all__ = ["TypedCall", "TypedReply", "call_to_json", "reply_to_json", "type_call", "type_reply"]


@dataclass(frozen=True, slots=True)
class Names:
    """The interface's names for a call's numbers (None where it has none)."""

    program: str | None = None
    version: str | None = None
    procedure: str | None = None


@dataclass(frozen=True, slots=True)
class TypedCall:
    """A call with its arguments typed (or one ``Raw`` value, and ``problem`` saying why)."""

    call: Call
    names: Names
    args: tuple[Value, ...]
    procedure: Procedure | None = None
    problem: OncRpcError | None = None

    @property
    def label(self) -> str:
        """``PMAP_PROG.PMAP_VERS.PMAPPROC_DUMP`` or ``prog 12345 v1 proc 2``."""
        return _label(self.call.prog, self.call.vers, self.call.proc, self.names)


@dataclass(frozen=True, slots=True)
class TypedReply:
    """A reply, the call it answers (if paired), and its typed result when it is a SUCCESS."""

    reply: Reply
    call: Call | None
    result: Value | None = None
    problem: OncRpcError | None = None


def _label(prog: int, vers: int, proc: int, names: Names) -> str:
    if names.program and names.version and names.procedure:
        return f"{names.program}.{names.version}.{names.procedure}"
    return f"prog {prog} v{vers} proc {proc}"


def _names(interface: Interface, call: Call) -> Names:
    prog = interface.programs.get(call.prog)
    vers = prog.versions.get(call.vers) if prog else None
    proc = vers.procedures.get(call.proc) if vers else None
    return Names(
        prog.name if prog else None,
        vers.name if vers else None,
        proc.name if proc else None,
    )


def _unknown(interface: Interface, call: Call) -> UnknownProcedure:
    prog = interface.programs.get(call.prog)
    if prog is None:
        what = f"program {call.prog} (0x{call.prog:08x})"
    elif call.vers not in prog.versions:
        what = f"version {call.vers} of {prog.name} (it has {sorted(prog.versions)})"
    else:
        what = f"procedure {call.proc} of {prog.name} version {call.vers}"
    return UnknownProcedure(f"{what} is not in the interface; the bytes are shown raw")


def type_call(call: Call, interface: Interface, limits: Limits = DEFAULT_LIMITS) -> TypedCall:
    """``call`` with its arguments typed by ``interface``."""
    names = _names(interface, call)
    proc = interface.procedure(call.prog, call.vers, call.proc)
    if proc is None:
        return TypedCall(call, names, (Raw(call.args),), None, _unknown(interface, call))
    try:
        args = interface.decode_args(proc, call.data, start=call.args_offset, limits=limits)
    except OncRpcError as exc:
        return TypedCall(call, names, (Raw(call.args),), proc, exc)
    return TypedCall(call, names, args, proc)


def type_reply(
    reply: Reply, call: Call | None, interface: Interface, limits: Limits = DEFAULT_LIMITS
) -> TypedReply:
    """``reply`` with its result typed by the procedure of ``call`` (raw without one)."""
    if reply.status != "SUCCESS":
        return TypedReply(reply, call)
    if call is None:
        return TypedReply(
            reply,
            None,
            Raw(reply.results),
            UnknownProcedure("no call with this xid was seen; result is raw"),
        )
    proc = interface.procedure(call.prog, call.vers, call.proc)
    if proc is None:
        return TypedReply(reply, call, Raw(reply.results), _unknown(interface, call))
    try:
        start = reply.results_offset or 0
        result = interface.decode_result(proc, reply.data, start=start, limits=limits)
    except OncRpcError as exc:
        return TypedReply(reply, call, Raw(reply.results), exc)
    return TypedReply(reply, call, result)


def call_to_json(typed: TypedCall) -> dict[str, object]:
    """The JSON form of a typed call (for capture files)."""
    c = typed.call
    out: dict[str, object] = {
        "xid": c.xid,
        "rpcvers": c.rpcvers,
        "program": c.prog,
        "version": c.vers,
        "procedure": c.proc,
        "program_name": typed.names.program,
        "version_name": typed.names.version,
        "procedure_name": typed.names.procedure,
        "cred": c.cred.to_json(),
        "verf": c.verf.to_json(),
        "args": [value_to_json(v) for v in typed.args],
    }
    if typed.problem is not None:
        out["problem"] = typed.problem.to_dict()
    return out


def reply_to_json(typed: TypedReply) -> dict[str, object]:
    """The JSON form of a typed reply (for capture files)."""
    r = typed.reply
    out: dict[str, object] = {
        "xid": r.xid,
        "accepted": r.accepted,
        "status": r.status,
    }
    if r.verf is not None:
        out["verf"] = r.verf.to_json()
    if r.mismatch is not None:
        out["mismatch"] = {"low": r.mismatch[0], "high": r.mismatch[1]}
    if r.auth_error is not None:
        out["auth_error"] = r.auth_error
    if typed.result is not None:
        out["result"] = value_to_json(typed.result)
    if typed.problem is not None:
        out["problem"] = typed.problem.to_dict()
    return out
