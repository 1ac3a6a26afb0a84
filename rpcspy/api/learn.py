"""Learn an API from traffic: per method, the types seen at each param position, the arities,
the result's shape and the fault codes.

``learn_records`` is the definition: every call of every record (a ``system.multicall`` and each
of its sub-calls) adds to its method. Faster readers of whole capture files must give the same
description as this function given the same records.
"""

from __future__ import annotations

from collections.abc import Iterable

from rpcspy.api.model import Api, Method, value_shape
from rpcspy.capture.record import CallRecord
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse

__all__ = ["learn_call", "learn_records"]


def learn_call(api: Api, call: MethodCall, answer: MethodResponse | Fault | None) -> Method:
    """Add one call (and its answer, when there is one) to ``api``; returns its method."""
    method = api.method(call.method)
    method.sources.add("traffic")
    method.calls += 1
    arity = len(call.params)
    method.arity[arity] = method.arity.get(arity, 0) + 1
    for i, param in enumerate(call.params):
        shape = value_shape(param)
        if i < len(method.params):
            method.params[i].merge(shape)
        else:
            method.params.append(shape)
    if isinstance(answer, MethodResponse):
        method.answered += 1
        shape = value_shape(answer.value)
        if method.result is None:
            method.result = shape
        else:
            method.result.merge(shape)
    elif isinstance(answer, Fault):
        method.answered += 1
        method.faults[answer.code] = method.faults.get(answer.code, 0) + 1
    return method


def learn_records(records: Iterable[CallRecord], api: Api | None = None) -> Api:
    """The API the calls in ``records`` show, added to ``api`` (a new one when None)."""
    api = Api() if api is None else api
    for record in records:
        call = record.request.decoded
        if not isinstance(call, MethodCall):
            continue
        answer = record.response.decoded if record.response is not None else None
        if isinstance(answer, MethodCall):
            answer = None
        learn_call(api, call, answer)
        for sub in record.subcalls:
            learn_call(api, sub.call, sub.result)
    return api
