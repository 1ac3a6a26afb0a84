"""Differential tests against the stdlib ``xmlrpc.client``, for every value both understand.

Both directions: bytes the stdlib writes decode with ours to the same meaning as the stdlib reads
them, and bytes we write are read by the stdlib to the same meaning as ours.
"""

from __future__ import annotations

import xmlrpc.client
from typing import Any, cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    to_python,
)
from tests.xmlrpc.strategies import method_names, plain_values, stdlib_values, xml_chars

FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
plain_params = st.lists(plain_values, max_size=4).map(tuple)
# The stdlib writes method names unescaped, so only the spec's name characters survive it.
spec_method_names = st.from_regex(r"[A-Za-z0-9_.:/]{1,30}", fullmatch=True)


def _stdlib_loads(body: bytes) -> tuple[tuple[object, ...], str | None]:
    return xmlrpc.client.loads(body, use_builtin_types=True)


@FAST
@given(plain_params, spec_method_names)
def test_stdlib_requests_decode_to_the_same_meaning(
    params: tuple[object, ...], method: str
) -> None:
    body = xmlrpc.client.dumps(cast(Any, params), method, allow_none=True).encode("utf-8")
    theirs, their_method = _stdlib_loads(body)
    ours = decode_request(body)
    assert ours.method == their_method
    assert tuple(to_python(p) for p in ours.params) == theirs


@FAST
@given(plain_values)
def test_stdlib_responses_decode_to_the_same_meaning(value: object) -> None:
    body = xmlrpc.client.dumps(cast(Any, (value,)), methodresponse=True, allow_none=True).encode()
    (theirs,), _ = _stdlib_loads(body)
    ours = decode_message(body)
    assert isinstance(ours, MethodResponse)
    assert to_python(ours.value) == theirs


@FAST
@given(st.integers(-(2**31), 2**31 - 1), st.text(xml_chars, max_size=30))
def test_stdlib_faults_decode_to_the_same_fault(code: int, string: str) -> None:
    body = xmlrpc.client.dumps(xmlrpc.client.Fault(code, string)).encode("utf-8")
    try:
        _stdlib_loads(body)
    except xmlrpc.client.Fault as theirs:
        ours = decode_response(body)
        assert isinstance(ours, Fault)
        assert (ours.code, ours.string) == (theirs.faultCode, theirs.faultString)
    else:  # pragma: no cover
        raise AssertionError("the stdlib did not raise its Fault")


@FAST
@given(st.lists(stdlib_values, max_size=4).map(tuple), method_names)
def test_our_requests_read_by_the_stdlib_mean_the_same(
    params: tuple[Value, ...], method: str
) -> None:
    body = encode_request(MethodCall(method, params))
    theirs, their_method = _stdlib_loads(body)
    assert their_method == method
    assert theirs == tuple(to_python(p) for p in params)


@FAST
@given(stdlib_values)
def test_our_responses_read_by_the_stdlib_mean_the_same(value: Value) -> None:
    body = encode_response(MethodResponse(value))
    (theirs,), _ = _stdlib_loads(body)
    assert theirs == to_python(value)


@FAST
@given(st.integers(-(2**31), 2**31 - 1), st.text(xml_chars, max_size=30))
def test_our_faults_read_by_the_stdlib_mean_the_same(code: int, string: str) -> None:
    body = encode_response(Fault.make(code, string))
    try:
        _stdlib_loads(body)
    except xmlrpc.client.Fault as theirs:
        assert (theirs.faultCode, theirs.faultString) == (code, string)
    else:  # pragma: no cover
        raise AssertionError("the stdlib did not raise its Fault")
