"""``system.multicall``: one call carrying many, and one response carrying their results.

The call's single param is an array of ``{methodName, params}`` structs; the response's value is
an array holding, per call and in order, either a one-element array ``[result]`` or a fault struct.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from rpcspy.xmlrpc._fault import fault_from_struct, is_fault_string
from rpcspy.xmlrpc._paths import member_segment
from rpcspy.xmlrpc.errors import BadValue
from rpcspy.xmlrpc.findings import Finding
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.values import Array, Struct

__all__ = ["MULTICALL", "expand_multicall", "is_multicall", "pair_multicall"]

#: The method name of a multicall.
MULTICALL: Final = "system.multicall"
_ENTRY_MEMBERS: Final = frozenset({"methodName", "params"})


def is_multicall(call: MethodCall) -> bool:
    """True for a ``system.multicall`` call."""
    return call.method == MULTICALL


def expand_multicall(
    call: MethodCall, *, findings: list[Finding] | None = None
) -> tuple[MethodCall, ...]:
    """The calls inside a ``system.multicall``, in order.

    Raises ``BadValue`` naming the bad entry (``params[0][2].methodName``) when the params are not
    one array of ``{methodName: string, params: array}`` structs. With a ``findings`` list, an
    entry's members besides those two are ignored and noted (``multicall-extra-member``).
    """
    if not is_multicall(call):
        raise BadValue(f"not a {MULTICALL} call: {call.method!r}", path="methodName")
    if len(call.params) != 1:
        raise BadValue(
            f"{MULTICALL} takes one param (an array of calls), not {len(call.params)}",
            path="params",
        )
    entries = call.params[0]
    if not isinstance(entries, Array):
        raise BadValue(
            f"the {MULTICALL} param must be an array of calls, not {type(entries).label}",
            path="params[0]",
        )
    calls: list[MethodCall] = []
    for i, entry in enumerate(entries):
        path = f"params[0][{i}]"
        if not isinstance(entry, Struct):
            raise BadValue(
                f"call #{i} must be a struct with methodName and params, not {type(entry).label}",
                path=path,
            )
        extra = sorted(set(entry) - _ENTRY_MEMBERS)
        if extra:
            if findings is None:
                raise BadValue(f"call #{i} has an unexpected member {extra[0]!r}", path=path)
            findings.extend(
                Finding.make(
                    "multicall-extra-member",
                    f"call #{i} has an unexpected member {name!r}; ignored",
                    path=path + member_segment(name),
                )
                for name in extra
            )
        name = entry.get("methodName")
        params = entry.get("params")
        if name is None:
            raise BadValue(f"call #{i} has no methodName", path=path)
        if not is_fault_string(name):
            raise BadValue(
                f"call #{i}: methodName must be a string, not {type(name).label}",
                path=path + ".methodName",
            )
        if not str(name).strip(" \t\r\n"):
            raise BadValue(f"call #{i} has an empty methodName", path=path + ".methodName")
        if params is None:
            raise BadValue(f"call #{i} ({str(name)!r}) has no params", path=path)
        if not isinstance(params, Array):
            raise BadValue(
                f"call #{i} ({str(name)!r}): params must be an array, not {type(params).label}",
                path=path + ".params",
            )
        calls.append(MethodCall(str(name), tuple(params)))
    return tuple(calls)


def pair_multicall(
    calls: Sequence[MethodCall],
    response: MethodResponse,
    *,
    findings: list[Finding] | None = None,
) -> tuple[MethodResponse | Fault, ...]:
    """Each call's result from a ``system.multicall`` response, in the order of ``calls``.

    An entry ``[value]`` becomes a ``MethodResponse``, a fault struct a ``Fault``. Raises
    ``BadValue`` naming the index when the counts differ or an entry is neither. With a
    ``findings`` list, fault structs are read tolerantly (see ``fault_from_struct``).
    """
    results = response.value
    if not isinstance(results, Array):
        raise BadValue(
            f"a {MULTICALL} result must be an array, not {type(results).label}", path="result"
        )
    if len(results) != len(calls):
        raise BadValue(
            f"{len(calls)} calls but {len(results)} results in the {MULTICALL} response",
            path="result",
        )
    paired: list[MethodResponse | Fault] = []
    for i, entry in enumerate(results):
        path = f"result[{i}]"
        if isinstance(entry, Array):
            if len(entry) != 1:
                raise BadValue(
                    f"result #{i} must be a one-element array [value], not {len(entry)} elements",
                    path=path,
                )
            paired.append(MethodResponse(entry[0]))
        elif isinstance(entry, Struct):
            paired.append(fault_from_struct(entry, path=path, findings=findings))
        else:
            raise BadValue(
                f"result #{i} must be [value] or a fault struct, not {type(entry).label}",
                path=path,
            )
    return tuple(paired)
