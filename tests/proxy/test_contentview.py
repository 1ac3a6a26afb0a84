"""The XML-RPC contentview, through mitmproxy's own contentview API (registry, prettify_message)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest
from mitmproxy import contentviews, http
from mitmproxy.contentviews import Metadata
from mitmproxy.test import taddons, tflow, tutils

from rpcspy.proxy.contentview import XmlRpcContentview, register_contentview

CALL = (
    b"<?xml version='1.0'?>\n<methodCall><methodName>echo</methodName><params>"
    b"<param><value><string>hello</string></value></param>"
    b"<param><value><i4>42</i4></value></param>"
    b"<param><value><struct><member><name>n</name><value><int>1</int></value></member>"
    b"<member><name>ok</name><value><boolean>1</boolean></value></member></struct></value></param>"
    b"</params></methodCall>\n"
)
RESPONSE = (
    b"<?xml version='1.0'?>\n<methodResponse><params><param><value><array><data>"
    b"<value><double>1.5</double></value><value>untyped</value><value><nil/></value>"
    b"</data></array></value></param></params></methodResponse>\n"
)
FAULT = (
    b"<?xml version='1.0'?>\n<methodResponse><fault><value><struct>"
    b"<member><name>faultCode</name><value><int>4</int></value></member>"
    b"<member><name>faultString</name><value><string>Too many parameters.</string></value></member>"
    b"</struct></value></fault></methodResponse>\n"
)


def multicall_body() -> bytes:
    def entry(name: str, arg: str) -> bytes:
        return (
            b"<value><struct><member><name>methodName</name><value><string>"
            + name.encode()
            + b"</string></value></member><member><name>params</name><value><array><data>"
            b"<value><string>" + arg.encode() + b"</string></value></data></array></value></member>"
            b"</struct></value>"
        )

    return (
        b"<?xml version='1.0'?>\n<methodCall><methodName>system.multicall</methodName><params>"
        b"<param><value><array><data>"
        + entry("echo", "a")
        + entry("demo.fault", "x")
        + b"</data></array></value></param></params></methodCall>\n"
    )


MULTI_RESPONSE = (
    b"<?xml version='1.0'?>\n<methodResponse><params><param><value><array><data>"
    b"<value><array><data><value><string>A</string></value></data></array></value>"
    b"<value><struct><member><name>faultCode</name><value><int>7</int></value></member>"
    b"<member><name>faultString</name><value><string>boom</string></value></member></struct></value>"
    b"</data></array></value></param></params></methodResponse>\n"
)


@pytest.fixture(autouse=True)
def mitm_context() -> Iterator[None]:
    # prettify_message reads mitmproxy's options (ctx.options) for its metadata.
    register_contentview()
    with taddons.context():
        yield


def make_flow(
    request_body: bytes,
    response_body: bytes | None = None,
    content_type: str = "text/xml",
    response_type: str = "text/xml",
) -> http.HTTPFlow:
    f = tflow.tflow(
        req=tutils.treq(method=b"POST", path=b"/RPC2", content=request_body),
        resp=tutils.tresp(content=response_body or b"") if response_body is not None else False,
    )
    f.request.headers["content-type"] = content_type
    if f.response is not None:
        f.response.headers["content-type"] = response_type
    return f


def test_registered_under_its_name() -> None:
    assert isinstance(contentviews.registry["xml-rpc"], XmlRpcContentview)
    assert "xml-rpc" in contentviews.registry.available_views()
    register_contentview()  # a second registration is a no-op
    assert sum(1 for name in contentviews.registry if name == "xml-rpc") == 1


@pytest.mark.parametrize("content_type", ["text/xml", "application/xml", "text/html", "text/plain"])
def test_a_call_is_shown_decoded_whatever_the_content_type(content_type: str) -> None:
    f = make_flow(CALL, content_type=content_type)
    result = contentviews.prettify_message(f.request, f)
    assert result.view_name == "XML-RPC"
    lines = result.text.splitlines()
    assert lines[0] == 'echo(string "hello", i4 42, struct {n: 1, ok: true})'
    assert "call echo" in lines
    assert '  params[0]: string "hello"' in lines
    assert "  params[1]: i4 42" in lines
    assert "  params[2]: struct (2 members)" in lines
    assert "    n: int 1" in lines
    assert "    ok: boolean true" in lines


def test_priority_is_above_the_xml_view() -> None:
    view = contentviews.registry["xml-rpc"]
    xml = contentviews.registry["xml/html"]
    meta = Metadata(content_type="text/xml")
    assert view.render_priority(CALL, meta) > xml.render_priority(CALL, meta)
    assert contentviews.registry.get_view(CALL, meta) is view
    assert contentviews.registry.get_view(RESPONSE, meta) is view


def test_other_xml_keeps_the_xml_view() -> None:
    other = b"<?xml version='1.0'?><feed><entry/></feed>"
    f = make_flow(other)
    assert contentviews.prettify_message(f.request, f).view_name == "XML/HTML"
    assert contentviews.registry["xml-rpc"].render_priority(other, Metadata()) < 0
    assert contentviews.registry["xml-rpc"].render_priority(b"", Metadata()) < 0


def test_response_and_fault() -> None:
    f = make_flow(CALL, RESPONSE)
    assert f.response is not None
    result = contentviews.prettify_message(f.response, f)
    assert result.view_name == "XML-RPC"
    lines = result.text.splitlines()
    assert lines[0] == '-> array [1.5, "untyped", nil]'
    assert "result: array (3 items)" in lines
    assert "  [0]: double 1.5" in lines
    assert '  [1]: string (untyped) "untyped"' in lines
    assert "  [2]: nil nil" in lines

    f = make_flow(CALL, FAULT)
    assert f.response is not None
    result = contentviews.prettify_message(f.response, f)
    assert result.text.splitlines()[0] == "-> fault 4: Too many parameters."


def test_gzip_bodies_are_shown_decoded() -> None:
    f = make_flow(CALL)
    f.request.headers["content-encoding"] = "gzip"
    f.request.raw_content = gzip.compress(CALL)
    result = contentviews.prettify_message(f.request, f)
    assert result.view_name == "XML-RPC"
    assert result.text.startswith("echo(")


def test_multicall_request_lists_its_calls_and_the_response_pairs_them() -> None:
    f = make_flow(multicall_body(), MULTI_RESPONSE)
    text = contentviews.prettify_message(f.request, f).text
    assert "multicall: 2 calls" in text
    assert '  [0] echo(string "a")' in text
    assert '  [1] demo.fault(string "x")' in text
    assert f.response is not None
    text = contentviews.prettify_message(f.response, f).text
    assert "multicall: 2 results" in text
    assert '  [0] echo(string "a") -> string "A"' in text
    assert '  [1] demo.fault(string "x") -> fault 7: boom' in text


def test_malformed_body_falls_back_to_raw_with_the_reason() -> None:
    broken = CALL[: len(CALL) // 2]
    f = make_flow(broken)
    result = contentviews.prettify_message(f.request, f)
    assert result.view_name == "Raw"
    assert "failed to parse as XML-RPC" in result.description
    # Chosen explicitly, the view says why it cannot show the body.
    result = contentviews.prettify_message(f.request, f, view_name="XML-RPC")
    assert result.syntax_highlight == "error"
    assert "not valid XML-RPC" in result.text


def test_dtd_is_refused_not_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<methodCall><methodName>&lol2;</methodName></methodCall>"
    )
    f = make_flow(bomb)
    result = contentviews.prettify_message(f.request, f, view_name="XML-RPC")
    assert "not valid XML-RPC" in result.text
    assert "lollol" not in result.text


def test_a_deviant_body_is_shown_decoded_with_its_findings_listed() -> None:
    # XMLRPC::Lite's fault: a string faultCode (fault-code-not-int), read tolerantly.
    fault = (
        b"<?xml version='1.0'?>\n<methodResponse><fault><value><struct>"
        b"<member><name>faultCode</name><value><string>Client</string></value></member>"
        b"<member><name>faultString</name><value><string>no such method</string></value>"
        b"</member></struct></value></fault></methodResponse>\n"
    )
    f = make_flow(CALL, fault)
    assert f.response is not None
    result = contentviews.prettify_message(f.response, f)
    assert result.view_name == "XML-RPC"
    lines = result.text.splitlines()
    assert lines[0] == "-> fault 0: no such method"
    # Marked under the fault it concerns (the tree's fault line, which holds fault.faultCode).
    assert lines[2:4] == ["fault 0: no such method", "  ! warning fault-code-not-int"]
    head = lines.index("conformance findings (1):")
    assert lines[head + 1].startswith("  ! warning fault-code-not-int at fault.faultCode: ")
    assert "'Client'" in lines[head + 1] and lines[head + 1].endswith("(line 2)")
    # A conformant body lists none.
    f = make_flow(CALL, FAULT)
    assert f.response is not None
    assert "conformance findings" not in contentviews.prettify_message(f.response, f).text
