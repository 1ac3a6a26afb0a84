"""The contentview counts in agreeing words: ``array (1 item)``, ``struct (1 member)``."""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Iterator

import pytest
from mitmproxy import contentviews
from mitmproxy.test import taddons

from rpcspy.proxy.contentview import register_contentview
from rpcspy.xmlrpc.render import format_scalar, format_typed, plural
from rpcspy.xmlrpc.values import Array, Int, Struct
from tests.proxy.test_contentview import make_flow


@pytest.fixture(autouse=True)
def mitm_context() -> Iterator[None]:
    register_contentview()
    with taddons.context():
        yield


def test_plural_agrees_with_the_count() -> None:
    assert plural(0, "item") == "0 items"
    assert plural(1, "item") == "1 item"
    assert plural(2, "member") == "2 members"
    assert format_scalar(Array([Int(1)])) == "[1 item]"
    assert format_typed(Struct({"a": Int(1)})) == "struct {1 member}"
    assert format_scalar(Array([Int(1), Int(2)])) == "[2 items]"


def test_one_item_one_member_one_call_in_the_contentview() -> None:
    single = xmlrpc.client.dumps(([1], {"only": "x"}), "echo").encode()
    pair = xmlrpc.client.dumps(([1, 2], {"a": 1, "b": 2}), "echo").encode()
    answer = xmlrpc.client.dumps(([7],), methodresponse=True).encode()
    f = make_flow(single, answer)
    lines = contentviews.prettify_message(f.request, f).text.splitlines()
    assert "  params[0]: array (1 item)" in lines
    assert "  params[1]: struct (1 member)" in lines
    assert f.response is not None
    lines = contentviews.prettify_message(f.response, f).text.splitlines()
    assert "result: array (1 item)" in lines
    f = make_flow(pair)
    lines = contentviews.prettify_message(f.request, f).text.splitlines()
    assert "  params[0]: array (2 items)" in lines
    assert "  params[1]: struct (2 members)" in lines

    multicall = xmlrpc.client.dumps(
        ([{"methodName": "echo", "params": ["a"]}],), "system.multicall"
    ).encode()
    results = xmlrpc.client.dumps(([["A"]],), methodresponse=True).encode()
    f = make_flow(multicall, results)
    text = contentviews.prettify_message(f.request, f).text
    assert "multicall: 1 call\n" in text and "1 calls" not in text
    assert f.response is not None
    text = contentviews.prettify_message(f.response, f).text
    assert "multicall: 1 result\n" in text and "1 results" not in text
