"""The demo server's methods, introspection and multicall, through the stdlib client."""

from __future__ import annotations

import datetime as dt
import gzip
import http.client
import os
import platform
import xmlrpc.client

import pytest

from rpcspy.server import DemoServer
from rpcspy.server.faults import (
    FAULT_INVALID_PARAMS,
    FAULT_METHOD_NOT_FOUND,
    FAULT_OUT_OF_RANGE,
)
from tests.server.helpers import connect, raw_post

EXPECTED_METHODS = {
    "add",
    "currentTime.getCurrentTime",
    "demo.crash",
    "demo.echo",
    "demo.fault",
    "demo.large",
    "demo.random",
    "demo.slow",
    "demo.version",
    "dir",
    "dir.create",
    "dir.entries",
    "dir.list",
    "dir.remove",
    "divide",
    "echo",
    "getData",
    "list",
    "list_contents",
    "mul",
    "multiply",
    "multiply args",
    "pow",
    "prefix.public",
    "sample.sumAndDifference",
    "subtract",
    "system.listMethods",
    "system.methodHelp",
    "system.methodSignature",
    "system.multicall",
    "uname",
    "validator1.arrayOfStructsTest",
    "validator1.countTheEntities",
    "validator1.easyStructTest",
    "validator1.echoStructTest",
    "validator1.manyTypesTest",
    "validator1.moderateSizeArrayCheck",
    "validator1.nestedStructTest",
    "validator1.simpleStructReturnTest",
}
XMLRPC_TYPES = {
    "int",
    "double",
    "string",
    "boolean",
    "dateTime.iso8601",
    "base64",
    "struct",
    "array",
    "nil",
}
PREFIX_REFUSAL = "<class 'Exception'>:method \"{}\" is not supported"


def fault_of(call: object) -> xmlrpc.client.Fault:
    """The fault a zero-argument callable raises."""
    assert callable(call)
    with pytest.raises(xmlrpc.client.Fault) as info:
        call()
    return info.value


# ------------------------------------------------------------------ introspection and paths


def test_list_methods_is_sorted_complete_and_hides_private(shared_server: DemoServer) -> None:
    methods = connect(shared_server).system.listMethods()
    assert methods == sorted(methods)
    assert set(methods) == EXPECTED_METHODS
    assert "prefix.private" not in methods


@pytest.mark.parametrize("path", ["/RPC2", "/"])
def test_both_paths_serve_the_same_dispatcher(shared_server: DemoServer, path: str) -> None:
    proxy = connect(shared_server, path)
    assert proxy.echo("path") == "PATH"
    assert set(proxy.system.listMethods()) == EXPECTED_METHODS


def test_other_paths_are_404(shared_server: DemoServer) -> None:
    with pytest.raises(xmlrpc.client.ProtocolError) as info:
        connect(shared_server, "/RPC3").echo("x")
    assert info.value.errcode == 404


def test_get_is_not_supported(shared_server: DemoServer) -> None:
    status, _, _ = raw_post(shared_server, b"", method="GET")
    assert status == 501


def test_method_help_is_the_documentation(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    assert "upper-cased" in proxy.system.methodHelp("echo")
    assert "countTheEntities" in proxy.system.methodHelp("validator1.countTheEntities")
    assert proxy.system.methodHelp("prefix.public").startswith("prefix.public()")
    assert proxy.system.methodHelp("list") == (
        "list(dir_name) => [<filenames>]\n\n"
        "Returns a list containing the contents of\nthe named directory."
    )
    assert "multicall" in proxy.system.methodHelp("system.multicall")
    for name in ("nope", "prefix.private"):
        fault = fault_of(lambda name=name: proxy.system.methodHelp(name))
        assert fault.faultCode == FAULT_METHOD_NOT_FOUND
        assert repr(name) in fault.faultString


def test_method_signature_gives_real_signatures(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    assert proxy.system.methodSignature("echo") == [["string", "string"]]
    assert proxy.system.methodSignature("add")[0] == ["int", "int", "int"]
    assert proxy.system.methodSignature("dir") == [["array"], ["array", "string"]]
    assert proxy.system.methodSignature("validator1.manyTypesTest") == [
        ["array", "int", "boolean", "string", "double", "dateTime.iso8601", "base64"]
    ]
    assert proxy.system.methodSignature("system.methodSignature") == [["array", "string"]]
    assert proxy.system.methodSignature("prefix.public") == [["string"]]
    assert proxy.system.methodSignature("pow") == "undef"
    assert proxy.system.methodSignature("demo.echo") == "undef"
    for name in ("nope", "prefix.private"):
        fault = fault_of(lambda name=name: proxy.system.methodSignature(name))
        assert fault.faultCode == FAULT_METHOD_NOT_FOUND


def test_every_listed_method_has_help_and_a_well_formed_signature(
    shared_server: DemoServer,
) -> None:
    proxy = connect(shared_server)
    multi = xmlrpc.client.MultiCall(proxy)
    names = proxy.system.listMethods()
    for name in names:
        multi.system.methodHelp(name)
        multi.system.methodSignature(name)
    answers = list(multi())
    for name, help_text, signature in zip(names, answers[::2], answers[1::2], strict=True):
        assert help_text.strip(), name
        if signature != "undef":
            assert signature, name
            for types in signature:
                assert set(types) <= XMLRPC_TYPES, (name, types)


# ------------------------------------------------------------------ basics


def test_uname_is_os_uname_with_its_five_fields_in_order(shared_server: DemoServer) -> None:
    answer = connect(shared_server).uname()
    system = os.uname()
    assert list(answer.items()) == [
        ("sysname", system.sysname),
        ("nodename", system.nodename),
        ("release", system.release),
        ("version", system.version),
        ("machine", system.machine),
    ]
    assert answer["sysname"] == platform.system()


def test_echo_upper_cases_and_refuses_non_strings(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    assert proxy.echo("hello <world> & co") == "HELLO <WORLD> & CO"
    assert proxy.echo("straße") == "STRASSE"
    assert proxy.echo("") == ""
    fault = fault_of(lambda: proxy.echo(42))
    assert fault.faultCode == FAULT_INVALID_PARAMS
    assert fault.faultString == "echo: the argument must be a string, got int"


def test_add_keeps_ints_ints_and_checks_the_range(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    result = proxy.add(2, 3)
    assert result == 5 and type(result) is int
    assert proxy.add(1.5, 2.25) == 3.75
    assert proxy.add(1, 0.5) == 1.5
    assert proxy.add(-(2**31), 0) == -(2**31)
    assert fault_of(lambda: proxy.add(2**31 - 1, 1)).faultCode == FAULT_OUT_OF_RANGE
    assert fault_of(lambda: proxy.add(1e308, 1e308)).faultCode == FAULT_OUT_OF_RANGE
    bad = fault_of(lambda: proxy.add(True, 1))
    assert bad.faultCode == FAULT_INVALID_PARAMS
    assert "got boolean" in bad.faultString
    assert fault_of(lambda: proxy.add("1", 2)).faultCode == FAULT_INVALID_PARAMS


def test_wrong_number_of_arguments_is_invalid_params(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    missing = fault_of(lambda: proxy.add(1))
    assert missing.faultCode == FAULT_INVALID_PARAMS
    assert missing.faultString.startswith("add: ")
    assert fault_of(lambda: proxy.echo("a", "b")).faultCode == FAULT_INVALID_PARAMS
    assert fault_of(lambda: proxy.prefix.public(1)).faultCode == FAULT_INVALID_PARAMS


def test_unknown_methods_are_not_found(shared_server: DemoServer) -> None:
    fault = fault_of(lambda: connect(shared_server).no.such.method())
    assert fault.faultCode == FAULT_METHOD_NOT_FOUND
    assert fault.faultString == 'method "no.such.method" is not supported'


def test_python_docs_examples(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    assert proxy.pow(2, 3) == 8
    assert proxy.pow(2, -1) == 0.5
    assert proxy.add(2, 3) == 5
    assert proxy.mul(5, 2) == 10
    assert proxy.subtract(7, 3) == 4
    assert proxy.multiply(7, 3) == 21
    assert proxy.divide(7, 3) == 2
    assert proxy.getData() == "42"
    now = proxy.currentTime.getCurrentTime()
    assert isinstance(now, dt.datetime)
    assert abs((now - dt.datetime.now()).total_seconds()) < 60


def test_divide_by_zero_is_the_stdlib_generic_fault(shared_server: DemoServer) -> None:
    fault = fault_of(lambda: connect(shared_server).divide(1, 0))
    assert fault.faultCode == 1
    assert fault.faultString.startswith("<class 'ZeroDivisionError'>:")


def test_pow_refuses_what_it_cannot_send(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    assert fault_of(lambda: proxy.pow(10, 100)).faultCode == FAULT_OUT_OF_RANGE
    assert fault_of(lambda: proxy.pow(10, 10**9)).faultCode == FAULT_OUT_OF_RANGE
    assert fault_of(lambda: proxy.pow(10.0, 400)).faultCode == FAULT_OUT_OF_RANGE
    assert fault_of(lambda: proxy.pow(-8, 0.5)).faultCode == FAULT_INVALID_PARAMS
    assert fault_of(lambda: proxy.pow(0, -1)).faultCode == FAULT_INVALID_PARAMS


def test_xmlrpc_howto_sum_and_difference(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    assert proxy.sample.sumAndDifference(5, 3) == {"sum": 8, "difference": 2}
    assert fault_of(lambda: proxy.sample.sumAndDifference(5, 0.5)).faultCode == FAULT_INVALID_PARAMS


def test_a_method_name_with_a_space(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    multiply_args = getattr(proxy, "multiply args")
    assert multiply_args(2, 3, 4) == 24
    assert multiply_args() == 1
    assert multiply_args(1.5, 2) == 3.0
    assert fault_of(lambda: multiply_args(2, "x")).faultString == (
        "multiply args: argument 2 must be an int or a double, got string"
    )
    assert fault_of(lambda: multiply_args(2**16, 2**16)).faultCode == FAULT_OUT_OF_RANGE


def test_prefix_dispatch_exposes_public_only(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    assert proxy.prefix.public() == "This is public"
    # Refused as the tutorial's _dispatch refuses: an Exception, which the stdlib sends as fault 1.
    for name in ("prefix.private", "prefix._dispatch", "prefix._listMethods", "prefix.nothing"):
        fault = fault_of(lambda name=name: getattr(proxy, name)())
        assert (fault.faultCode, fault.faultString) == (1, PREFIX_REFUSAL.format(name))
    for name in ("public", "private"):  # the service's own names without the prefix
        fault = fault_of(lambda name=name: getattr(proxy, name)())
        assert (fault.faultCode, fault.faultString) == (1, PREFIX_REFUSAL.format(name))


# ------------------------------------------------------------------ types on the wire


def test_allow_none_sends_nil(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    assert proxy.demo.echo(None) is None
    assert proxy.demo.echo({"a": None, "b": [None, 1]}) == {"a": None, "b": [None, 1]}
    body = xmlrpc.client.dumps((None,), "demo.echo", allow_none=True).encode()
    status, _, answer = raw_post(shared_server, body)
    assert status == 200
    assert b"<nil/>" in answer


def test_builtin_types_pass_base64_and_datetime(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    data = bytes(range(256))
    when = dt.datetime(2001, 2, 3, 4, 5, 6)
    assert proxy.demo.echo(data) == data
    assert proxy.demo.echo(when) == when
    assert proxy.demo.echo([1, 2.5, "s", True, {"k": [data]}]) == [1, 2.5, "s", True, {"k": [data]}]


def test_large_answers_are_gzipped_when_the_client_accepts(shared_server: DemoServer) -> None:
    body = xmlrpc.client.dumps((10_000,), "demo.large").encode()
    status, headers, answer = raw_post(shared_server, body, headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    (text,), _ = xmlrpc.client.loads(gzip.decompress(answer))
    assert len(text) == 10_000
    status, headers, answer = raw_post(shared_server, body)
    assert "Content-Encoding" not in headers
    assert xmlrpc.client.loads(answer)[0][0] == text


def test_gzipped_requests_are_accepted(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    proxy("transport").encode_threshold = 0  # the stdlib client then gzips every request
    assert proxy.echo("squeezed" * 100) == "SQUEEZED" * 100


def test_malformed_xml_is_the_stdlib_fault(shared_server: DemoServer) -> None:
    status, _, answer = raw_post(shared_server, b"<methodCall><methodName>echo")
    assert status == 200
    with pytest.raises(xmlrpc.client.Fault) as info:
        xmlrpc.client.loads(answer)
    assert info.value.faultCode == 1


def test_request_body_limits(shared_server: DemoServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", shared_server.port, timeout=10)
    try:
        conn.putrequest("POST", "/RPC2")
        conn.putheader("Content-Length", str(64 * 1024 * 1024 + 1))
        conn.endheaders()
        assert conn.getresponse().status == 413
    finally:
        conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", shared_server.port, timeout=10)
    try:
        conn.putrequest("POST", "/RPC2")
        conn.endheaders()
        assert conn.getresponse().status == 411
    finally:
        conn.close()
    status, _, _ = raw_post(shared_server, b"", headers={"Content-Length": "1_0"})
    assert status == 400


# ------------------------------------------------------------------ multicall


def test_multicall_runs_each_call(shared_server: DemoServer) -> None:
    multi = xmlrpc.client.MultiCall(connect(shared_server))
    multi.add(7, 3)
    multi.subtract(7, 3)
    multi.multiply(7, 3)
    multi.divide(7, 3)
    multi.echo("x")
    assert list(multi()) == [10, 4, 21, 2, "X"]


def test_a_fault_inside_a_multicall_stays_in_its_slot(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    multi = xmlrpc.client.MultiCall(proxy)
    multi.echo("before")
    multi.demo.fault(42, "the answer")
    multi.prefix.private()
    multi.echo("after")
    results = multi()
    assert results[0] == "BEFORE"
    with pytest.raises(xmlrpc.client.Fault) as info:
        results[1]
    assert (info.value.faultCode, info.value.faultString) == (42, "the answer")
    with pytest.raises(xmlrpc.client.Fault) as info:
        results[2]
    assert info.value.faultCode == 1
    assert info.value.faultString == PREFIX_REFUSAL.format("prefix.private")
    assert results[3] == "AFTER"
    # The raw answer: values wrapped in one-element arrays, faults as structs.
    raw = proxy.system.multicall(
        [{"methodName": "add", "params": [1, 2]}, {"methodName": "echo", "params": [1]}]
    )
    assert raw[0] == [3]
    assert raw[1]["faultCode"] == FAULT_INVALID_PARAMS
    assert raw[1]["faultString"].startswith("echo: ")
