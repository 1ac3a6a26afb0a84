"""Misbehaviour on demand (demo.*) and the deliberate differences of variant 2."""

from __future__ import annotations

import datetime as dt
import http.client
import platform
import ssl
import threading
import time
import xmlrpc.client

import pytest

from rpcspy.server import DemoServer
from rpcspy.server.faults import FAULT_INVALID_PARAMS, FAULT_METHOD_NOT_FOUND, FAULT_SYSTEM
from rpcspy.server.services import LARGE_MAX_BYTES
from tests.conftest import MakeServer
from tests.server.helpers import connect, wait_until


def fault(call: object, *args: object) -> xmlrpc.client.Fault:
    assert callable(call)
    with pytest.raises(xmlrpc.client.Fault) as info:
        call(*args)
    return info.value


def test_demo_fault_raises_exactly_what_was_asked(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    for code, text in [
        (42, "the answer"),
        (-32000, "custom <xml> & text"),
        (0, ""),
        (2**31 - 1, "max"),
    ]:
        raised = fault(proxy.demo.fault, code, text)
        assert (raised.faultCode, raised.faultString) == (code, text)
    assert fault(proxy.demo.fault, "42", "x").faultCode == FAULT_INVALID_PARAMS
    assert fault(proxy.demo.fault, True, "x").faultCode == FAULT_INVALID_PARAMS
    assert fault(proxy.demo.fault, 1, 2).faultCode == FAULT_INVALID_PARAMS


def test_demo_slow_sleeps_within_bounds(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    started = time.monotonic()
    assert proxy.demo.slow(0.2) == 0.2
    assert time.monotonic() - started >= 0.2
    assert proxy.demo.slow(0) == 0
    over = fault(proxy.demo.slow, 10.5)
    assert over.faultCode == FAULT_INVALID_PARAMS
    assert "between 0 and 10" in over.faultString
    assert fault(proxy.demo.slow, -1).faultCode == FAULT_INVALID_PARAMS
    assert fault(proxy.demo.slow, "1").faultCode == FAULT_INVALID_PARAMS


def test_demo_large_is_exact_and_repeatable(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    assert proxy.demo.large(0) == ""
    first = proxy.demo.large(3_000_000)
    assert len(first) == 3_000_000
    assert first.isascii() and first.isalnum()
    assert first[:10] == "0123456789"
    assert proxy.demo.large(3_000_000) == first
    assert proxy.demo.large(100) == first[:100]
    over = fault(proxy.demo.large, LARGE_MAX_BYTES + 1)
    assert over.faultCode == FAULT_INVALID_PARAMS
    assert fault(proxy.demo.large, -1).faultCode == FAULT_INVALID_PARAMS


def test_demo_random_changes_every_call(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    answers = [proxy.demo.random() for _ in range(3)]
    for answer in answers:
        assert set(answer) == {"random", "time"}
        assert 0 <= answer["random"] < 1
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        assert abs((answer["time"] - now).total_seconds()) < 60
    assert len({a["random"] for a in answers}) == 3


def test_demo_version(shared_server: DemoServer) -> None:
    assert connect(shared_server).demo.version() == "1.0"


def test_demo_crash_drops_the_connection_and_the_server_lives_on(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    with pytest.raises(http.client.RemoteDisconnected):
        proxy.demo.crash()
    assert proxy.echo("still here") == "STILL HERE"


def test_demo_crash_leaves_other_calls_in_flight_alone(server: DemoServer) -> None:
    answers: list[object] = []

    def slow_call() -> None:
        answers.append(connect(server).demo.slow(0.5))

    thread = threading.Thread(target=slow_call)
    thread.start()
    wait_until(lambda: server.connections == 1, what="the slow call to connect")
    with pytest.raises(http.client.RemoteDisconnected):
        connect(server).demo.crash()
    thread.join(5)
    assert answers == [0.5]


def test_demo_crash_inside_a_multicall_drops_it_all(server: DemoServer) -> None:
    multi = xmlrpc.client.MultiCall(connect(server))
    multi.dir.create("before")
    multi.demo.crash()
    multi.dir.create("after")
    with pytest.raises(http.client.RemoteDisconnected):
        multi()
    assert (server.root / "before").is_dir()
    assert not (server.root / "after").exists()  # the server "died" before running it


def test_demo_crash_over_tls(make_server: MakeServer) -> None:
    server = make_server(tls=True)
    context = ssl.create_default_context(cafile=server.cafile)
    proxy = connect(server, context=context)
    with pytest.raises(http.client.RemoteDisconnected):
        proxy.demo.crash()
    assert proxy.echo("tls") == "TLS"


def test_variant_2_changes_exactly_the_documented_results(make_server: MakeServer) -> None:
    one, two = connect(make_server(variant=1)), connect(make_server(variant=2))

    assert (one.demo.version(), two.demo.version()) == ("1.0", "2.0")

    assert one.add(2, 3) == 5 and type(one.add(2, 3)) is int
    assert two.add(2, 3) == 5.0 and type(two.add(2, 3)) is float
    assert two.system.methodSignature("add")[0] == ["double", "int", "int"]

    assert set(two.uname()) == set(one.uname()) | {"python"}
    assert two.uname()["python"] == platform.python_version()

    assert (one.getData(), two.getData()) == ("42", 42)

    # and nothing else: the API changes (below) add and remove methods and nothing more
    assert set(two.system.listMethods()) == set(one.system.listMethods()) - {"mul"} | {
        "demo.features"
    }
    for call in [
        lambda p: p.echo("same"),
        lambda p: p.subtract(5, 3),
        lambda p: p.validator1.countTheEntities("<&>"),
        lambda p: p.demo.large(100),
        lambda p: p.dir(),
        lambda p: p.dir.entries("/"),
        lambda p: p.sample.sumAndDifference(5, 3),
    ]:
        assert call(one) == call(two)


def test_variant_2_changes_the_api_on_purpose(make_server: MakeServer) -> None:
    one, two = connect(make_server(variant=1)), connect(make_server(variant=2))

    # a method removed, and one added
    assert one.mul(5, 2) == 10
    assert fault(two.mul, 5, 2).faultCode == FAULT_METHOD_NOT_FOUND
    assert fault(one.demo.features).faultCode == FAULT_METHOD_NOT_FOUND
    assert two.demo.features() == ["multicall", "nil", "introspection"]
    assert two.system.methodSignature("demo.features") == [["array"]]

    # a required param added
    assert one.dir.entries() == one.dir.entries("/")
    assert fault(two.dir.entries).faultCode == FAULT_INVALID_PARAMS
    assert two.system.methodSignature("dir.entries") == [["array", "string"]]

    # an optional trailing param added
    assert fault(one.demo.large, 5, "ab").faultCode == FAULT_INVALID_PARAMS
    assert two.demo.large(5, "ab") == "ababa"
    assert two.demo.large(5) == one.demo.large(5)
    assert fault(two.demo.large, 5, "").faultCode == FAULT_INVALID_PARAMS
    assert two.system.methodSignature("demo.large") == [
        ["string", "int"],
        ["string", "int", "string"],
    ]

    # a param type widened: two doubles answer doubles
    assert fault(one.sample.sumAndDifference, 1.5, 0.5).faultCode == FAULT_INVALID_PARAMS
    assert two.sample.sumAndDifference(1.5, 0.5) == {"sum": 2.0, "difference": 1.0}
    assert two.system.methodSignature("sample.sumAndDifference") == [
        ["struct", "int", "int"],
        ["struct", "double", "double"],
    ]


def test_stop_wakes_a_slow_call(make_server: MakeServer) -> None:
    server = make_server()
    outcome: list[BaseException | object] = []

    def slow_call() -> None:
        try:
            outcome.append(connect(server).demo.slow(10))
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=slow_call)
    thread.start()
    wait_until(lambda: server.connections == 1, what="the slow call to connect")
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 3
    thread.join(5)
    assert not thread.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], xmlrpc.client.Fault)
    assert outcome[0].faultCode == FAULT_SYSTEM
    assert "shutting down" in outcome[0].faultString
