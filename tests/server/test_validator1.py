"""The UserLand validator1 suite, with the answers its validator expects."""

from __future__ import annotations

import datetime as dt
import random
import xmlrpc.client

import pytest

from rpcspy.server import DemoServer
from rpcspy.server.faults import FAULT_INVALID_PARAMS
from tests.server.helpers import connect


def stooges(rng: random.Random) -> dict[str, int]:
    return {name: rng.randint(-100, 100) for name in ("moe", "larry", "curly")}


def test_array_of_structs_sums_curly(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    array = [{"moe": 1, "larry": 2, "curly": 3}, {"moe": -98, "larry": 23, "curly": -6}]
    assert proxy.validator1.arrayOfStructsTest(array) == -3
    rng = random.Random(7)
    many = [stooges(rng) | {"extra": "ignored"} for _ in range(50)]
    assert proxy.validator1.arrayOfStructsTest(many) == sum(s["curly"] for s in many)
    assert proxy.validator1.arrayOfStructsTest([]) == 0


def test_count_the_entities(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    assert proxy.validator1.countTheEntities('<<<>>&\'\'"""') == {
        "ctLeftAngleBrackets": 3,
        "ctRightAngleBrackets": 2,
        "ctAmpersands": 1,
        "ctApostrophes": 2,
        "ctQuotes": 3,
    }
    assert proxy.validator1.countTheEntities("plain") == dict.fromkeys(
        [
            "ctLeftAngleBrackets",
            "ctRightAngleBrackets",
            "ctAmpersands",
            "ctApostrophes",
            "ctQuotes",
        ],
        0,
    )


def test_easy_struct_and_echo_struct(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    s = {"moe": 17, "larry": 19, "curly": 23}
    assert proxy.validator1.easyStructTest(s) == 59
    nested = {"a": [1, {"b": "c"}], "d": 1.5, "e": True, "f": b"\x00"}
    assert proxy.validator1.echoStructTest(nested) == nested


def test_many_types_come_back_in_order(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    when = dt.datetime(1998, 7, 17, 14, 8, 55)
    answer = proxy.validator1.manyTypesTest(1, True, "s", -12.214, when, b"you can read this")
    assert answer == [1, True, "s", -12.214, when, b"you can read this"]
    assert [type(v) for v in answer] == [int, bool, str, float, dt.datetime, bytes]


def test_moderate_size_array_joins_first_and_last(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    rng = random.Random(3)
    array = [f"item{rng.randint(0, 10**6)}" for _ in range(rng.randint(100, 200))]
    assert proxy.validator1.moderateSizeArrayCheck(array) == array[0] + array[-1]


def test_nested_struct_sums_april_first_2000(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    rng = random.Random(11)
    calendar = {
        str(year): {
            f"{month:02d}": {f"{day:02d}": stooges(rng) for day in range(1, 32)}
            for month in range(1, 13)
        }
        for year in (1999, 2000, 2001)
    }
    day = calendar["2000"]["04"]["01"]
    assert proxy.validator1.nestedStructTest(calendar) == day["moe"] + day["larry"] + day["curly"]


def test_simple_struct_return(shared_server: DemoServer) -> None:
    proxy = connect(shared_server)
    assert proxy.validator1.simpleStructReturnTest(37) == {
        "times10": 370,
        "times100": 3700,
        "times1000": 37000,
    }
    assert proxy.validator1.simpleStructReturnTest(-5) == {
        "times10": -50,
        "times100": -500,
        "times1000": -5000,
    }


@pytest.mark.parametrize(
    ("method", "args", "message"),
    [
        ("arrayOfStructsTest", ([{"moe": 1}],), "[0] has no member 'curly'"),
        ("arrayOfStructsTest", ([1],), "[0] must be a struct, got int"),
        ("countTheEntities", (5,), "the argument must be a string, got int"),
        (
            "easyStructTest",
            ({"moe": 1, "larry": 2, "curly": "3"},),
            "the struct.curly must be an int",
        ),
        ("echoStructTest", ([1],), "the argument must be a struct, got array"),
        ("moderateSizeArrayCheck", ([],), "the array is empty"),
        ("moderateSizeArrayCheck", (["a", 2],), "[1] must be a string, got int"),
        ("nestedStructTest", ({"2000": {"04": {}}},), "has no member '01'"),
        ("simpleStructReturnTest", (1.5,), "the argument must be an int, got double"),
        ("simpleStructReturnTest", (2**30,), "does not fit in a 32-bit int"),
    ],
)
def test_bad_arguments_are_clear_faults(
    shared_server: DemoServer, method: str, args: tuple[object, ...], message: str
) -> None:
    call = getattr(connect(shared_server).validator1, method)
    with pytest.raises(xmlrpc.client.Fault) as info:
        call(*args)
    assert info.value.faultString.startswith(f"validator1.{method}: ")
    assert message in info.value.faultString
    if "fit" not in message:
        assert info.value.faultCode == FAULT_INVALID_PARAMS
