"""decode(encode(x)) == x for every value, request, response and fault the model can hold."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from rpcspy.xmlrpc import (
    Fault,
    MethodCall,
    MethodResponse,
    Value,
    decode_message,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    encode_value,
)
from tests.xmlrpc.strategies import faults, method_calls, method_responses, values

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _same_types(a: object, b: object) -> bool:
    """Typed equality already compares classes; this also walks containers to say where."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same_types(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_types(x, y) for x, y in zip(a, b, strict=True))
    return True


@FAST
@given(values)
def test_value_round_trips_through_a_response(value: Value) -> None:
    decoded = decode_response(encode_response(MethodResponse(value)))
    assert decoded == MethodResponse(value)
    assert isinstance(decoded, MethodResponse)
    assert _same_types(decoded.value, value)


@FAST
@given(method_calls)
def test_request_round_trips(call: MethodCall) -> None:
    body = encode_request(call)
    assert decode_request(body) == call
    assert decode_message(body) == call


@FAST
@given(method_responses)
def test_response_round_trips(response: MethodResponse) -> None:
    assert decode_message(encode_response(response)) == response


@FAST
@given(faults())
def test_fault_round_trips(fault: Fault) -> None:
    decoded = decode_response(encode_response(fault))
    assert decoded == fault
    assert isinstance(decoded, Fault)
    assert list(decoded.value) == list(fault.value)  # member order kept too


@FAST
@given(values)
def test_encode_value_is_a_standalone_fragment(value: Value) -> None:
    fragment = encode_value(value)
    body = f"<methodResponse><params><param>{fragment}</param></params></methodResponse>"
    assert decode_response(body.encode("utf-8")) == MethodResponse(value)


@FAST
@given(values)
def test_encoding_is_deterministic_and_stable(value: Value) -> None:
    body = encode_response(MethodResponse(value))
    assert encode_response(decode_response(body)) == body
