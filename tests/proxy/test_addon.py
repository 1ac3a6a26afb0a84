"""The addon in mitmproxy's addon test context: what it records, metadata, ~meta, saved flows."""

from __future__ import annotations

import asyncio
import gzip
import io
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from mitmproxy import exceptions, flowfilter, http
from mitmproxy import io as mio
from mitmproxy.addons import save
from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.test import taddons, tflow, tutils

from rpcspy.capture import CallRecord, read_capture
from rpcspy.proxy import RpcspyRecorder
from rpcspy.xmlrpc import Fault, String
from tests.proxy.test_contentview import CALL, FAULT, MULTI_RESPONSE, multicall_body

ECHO_CALL = (
    b"<?xml version='1.0'?>\n<methodCall><methodName>echo</methodName><params>"
    b"<param><value><string>hi</string></value></param></params></methodCall>\n"
)
ECHO_RESPONSE = (
    b"<?xml version='1.0'?>\n<methodResponse><params><param><value><string>HI</string>"
    b"</value></param></params></methodResponse>\n"
)


FORM = "application/x-www-form-urlencoded"
TEXT = "text/plain"
API_JSON = {"path": b"/api", "content_type": "application/json"}
API_TEXT = {"path": b"/api", "content_type": "text/plain"}


def xml_flow(
    request_body: bytes,
    response_body: bytes | None,
    *,
    method: bytes = b"POST",
    path: bytes = b"/RPC2",
    status: int = 200,
    content_type: str = "text/xml",
) -> http.HTTPFlow:
    f = tflow.tflow(
        req=tutils.treq(method=method, path=path, content=request_body),
        resp=tutils.tresp(status_code=status, content=response_body)
        if response_body is not None
        else False,
    )
    f.request.headers["content-type"] = content_type
    return f


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(body())


def test_records_a_call_into_the_capture_and_the_flow(tmp_path: Path) -> None:
    capture = tmp_path / "c.jsonl"
    seen: list[CallRecord] = []

    async def body() -> None:
        recorder = RpcspyRecorder(on_record=seen.append)
        with taddons.context(recorder) as tctx:
            tctx.configure(recorder, rpcspy_capture=str(capture), rpcspy_log=False)
            f = xml_flow(ECHO_CALL, ECHO_RESPONSE)
            f.request.headers["authorization"] = "Basic YWxpY2U6c2VjcmV0"
            await recorder.response(f)
            recorder.done()
            assert f.metadata["rpcspy.method"] == "echo"
            assert f.metadata["rpcspy.ok"] is True
            assert f.metadata["rpcspy"]["method"] == "echo"
            assert f.metadata["rpcspy"]["seq"] == 1
            assert "rpcspy.fault" not in f.metadata
            assert flowfilter.match('~meta "rpcspy.method: echo$"', f)
            assert not flowfilter.match('~meta "rpcspy.fault: "', f)

    run(body)
    assert len(seen) == 1
    records = list(read_capture(capture))
    assert len(records) == 1
    record = records[0]
    assert record.id == seen[0].id
    assert record.method == "echo"
    assert record.call is not None and record.call.params == (String("hi"),)
    assert record.reply is not None and not isinstance(record.reply, Fault)
    assert record.reply.value == String("HI")
    assert record.request.body == ECHO_CALL
    assert record.redacted
    assert "YWxpY2U6c2VjcmV0" not in capture.read_text()


def test_fault_multicall_and_problem_metadata() -> None:
    async def body() -> None:
        recorder = RpcspyRecorder()
        with taddons.context(recorder):
            fault = xml_flow(CALL, FAULT)
            multi = xml_flow(multicall_body(), MULTI_RESPONSE)
            broken = xml_flow(CALL[:60], FAULT)
            for f in (fault, multi, broken):
                await recorder.response(f)
            recorder.done()
            assert fault.metadata["rpcspy.fault"] == 4
            assert fault.metadata["rpcspy.ok"] is False
            assert flowfilter.match('~meta "rpcspy.fault: 4"', fault)
            assert multi.metadata["rpcspy.multicall"] == 2
            assert multi.metadata["rpcspy.faults_inside"] == 1
            assert flowfilter.match('~meta "rpcspy.method: system.multicall"', multi)
            assert broken.metadata["rpcspy.method"] == ""
            assert (
                "malformed" in broken.metadata["rpcspy.problems"].lower()
                or broken.metadata["rpcspy"]["problems"]
            )
            assert flowfilter.match('~meta "rpcspy.problems: "', broken)

    run(body)


JSON = "application/json"
BINARY = "application/octet-stream"


@pytest.mark.parametrize(
    "make",
    [
        lambda: xml_flow(ECHO_CALL, ECHO_RESPONSE, method=b"GET"),
        lambda: xml_flow(b'{"jsonrpc": "2.0", "method": "echo"}', b'{"result": 1}', **API_JSON),
        lambda: xml_flow(
            b"<?xml version='1.0'?><feed/>",
            b"<ok/>",
            path=b"/feed",
            content_type="application/atom+xml",
        ),
        lambda: xml_flow(b"garbage", b"<html>500</html>", status=500, **API_TEXT),
        lambda: xml_flow(b'{"jsonrpc": "2.0"}', FAULT, **API_JSON),
        lambda: xml_flow(b"\x00\x01 binary", FAULT, path=b"/upload", content_type=BINARY),
        lambda: xml_flow(b"user=alice&pw=x", b"<html/>", path=b"/login", content_type=FORM),
    ],
    ids=[
        "GET",
        "json",
        "other-xml",
        "garbage-to-non-xmlrpc",
        "json-to-xmlrpc",
        "binary-to-xmlrpc",
        "form",
    ],
)
def test_other_traffic_is_not_recorded(make: Callable[[], http.HTTPFlow], tmp_path: Path) -> None:
    """Off the watched endpoints, only what sniffs as XML-RPC is recorded."""
    capture = tmp_path / "c.jsonl"
    seen: list[CallRecord] = []

    async def body() -> None:
        recorder = RpcspyRecorder(on_record=seen.append)
        with taddons.context(recorder) as tctx:
            tctx.configure(recorder, rpcspy_capture=str(capture))
            f = make()
            before = (f.request.raw_content, f.response.raw_content if f.response else None)
            await recorder.response(f)
            recorder.done()
            assert not any(k.startswith("rpcspy") for k in f.metadata)
            after = (f.request.raw_content, f.response.raw_content if f.response else None)
            assert after == before

    run(body)
    assert seen == []
    assert list(read_capture(capture)) == []


@pytest.mark.parametrize(
    ("make", "looks"),
    [
        (
            lambda: xml_flow(b'{"jsonrpc": "2.0", "id": 1}', b'{"result": 1}', content_type=JSON),
            "JSON-RPC, sent as application/json",
        ),
        (lambda: xml_flow(b"<?xml version='1.0'?><feed/>", b"<ok/>"), "root element is <feed>"),
        (
            lambda: xml_flow(b"garbage", b"<html>500</html>", status=500, content_type=TEXT),
            'text "garbage"',
        ),
        (lambda: xml_flow(b"\x00\x01 binary", FAULT, content_type=BINARY), "binary data"),
        (lambda: xml_flow(b"user=alice&pw=x", b"<html/>", content_type=FORM), "form data"),
        (lambda: xml_flow(b"", FAULT, path=b"/xmlrpc.php", content_type=FORM), "an empty body"),
        (
            lambda: xml_flow(b"{}", FAULT, path=b"/api", content_type="text/xml; charset=utf-8"),
            "JSON, sent as text/xml",
        ),
    ],
    ids=["json", "other-xml", "garbage", "binary", "form", "empty", "xml-type"],
)
def test_watched_endpoints_record_any_post(make: Callable[[], http.HTTPFlow], looks: str) -> None:
    """A POST to /RPC2, /xmlrpc.php or with an XML Content-Type is recorded whatever its body."""
    seen: list[CallRecord] = []
    flow = make()
    before = (flow.request.raw_content, flow.response.raw_content if flow.response else None)

    async def body() -> None:
        recorder = RpcspyRecorder(on_record=seen.append)
        with taddons.context(recorder):
            await recorder.response(flow)
            recorder.done()

    run(body)
    after = (flow.request.raw_content, flow.response.raw_content if flow.response else None)
    assert after == before
    (record,) = seen
    request_problems = [p for p in record.problems if p.where == "request"]
    assert [p.kind for p in request_problems] == ["not-xml-rpc"]
    assert request_problems[0].reason.startswith("not an XML-RPC call: ")
    assert looks in request_problems[0].reason
    assert record.call is None and record.method is None
    assert flow.metadata["rpcspy.method"] == ""
    assert "not-xml-rpc" in flow.metadata["rpcspy.problems"]


def test_an_xml_body_answered_in_xmlrpc_is_recorded() -> None:
    seen: list[CallRecord] = []

    async def body() -> None:
        recorder = RpcspyRecorder(on_record=seen.append)
        with taddons.context(recorder):
            # Not a methodCall root, so not sniffed as a call; the server's fault makes it one.
            await recorder.response(xml_flow(b"<?xml version='1.0'?><methodCal><x/>", FAULT))
            recorder.done()

    run(body)
    assert len(seen) == 1
    assert seen[0].call is None
    assert any(p.where == "request" for p in seen[0].problems)
    assert isinstance(seen[0].reply, Fault)


def test_watch_globs_select_exchanges() -> None:
    seen: list[CallRecord] = []

    async def body() -> None:
        recorder = RpcspyRecorder(on_record=seen.append)
        with taddons.context(recorder) as tctx:
            tctx.configure(recorder, rpcspy_watch=["/RPC2"])
            await recorder.response(xml_flow(ECHO_CALL, ECHO_RESPONSE, path=b"/other"))
            await recorder.response(xml_flow(ECHO_CALL, ECHO_RESPONSE, path=b"/RPC2"))
            recorder.done()

    run(body)
    assert [r.path for r in seen] == ["/RPC2"]


def test_watch_globs_with_a_path_name_endpoints() -> None:
    seen: list[CallRecord] = []

    async def body() -> None:
        recorder = RpcspyRecorder(on_record=seen.append)
        with taddons.context(recorder) as tctx:
            tctx.configure(recorder, rpcspy_watch=["/api/*", "address"])
            # Matched by the path glob: an endpoint, recorded whatever the body.
            await recorder.response(
                xml_flow(b'{"a": 1}', b"{}", path=b"/api/v1", content_type=JSON)
            )
            # Matched by the host glob only (tflow's host is "address"): not an endpoint.
            await recorder.response(xml_flow(b'{"a": 1}', b"{}", path=b"/json", content_type=JSON))
            # A call on that host is recorded as ever.
            await recorder.response(xml_flow(ECHO_CALL, ECHO_RESPONSE, path=b"/json"))
            recorder.done()

    run(body)
    assert [(r.path, r.method) for r in seen] == [("/api/v1", None), ("/json", "echo")]
    # The answer ({} with status 200) is not XML-RPC either: the decoder says so.
    assert [(p.where, p.kind) for p in seen[0].problems] == [
        ("request", "not-xml-rpc"),
        ("response", "malformed-xml"),
    ]


def test_the_root_is_an_endpoint_in_reverse_mode_only() -> None:
    seen: list[CallRecord] = []
    regular = xml_flow(b"a=1", b"<html/>", path=b"/", content_type=FORM)
    reverse = xml_flow(b"a=1", b"<html/>", path=b"/", content_type=FORM)
    reverse.client_conn.proxy_mode = ProxyMode.parse("reverse:http://127.0.0.1:1")
    assert not isinstance(regular.client_conn.proxy_mode, type(reverse.client_conn.proxy_mode))

    async def body() -> None:
        recorder = RpcspyRecorder(on_record=seen.append)
        with taddons.context(recorder):
            await recorder.response(regular)
            await recorder.response(reverse)
            recorder.done()

    run(body)
    assert [r.id for r in seen] == [reverse.metadata["rpcspy.id"]]
    assert "form data" in seen[0].problems[0].reason


def test_bodies_over_the_limit_are_recorded_not_decoded() -> None:
    seen: list[CallRecord] = []

    async def body() -> None:
        recorder = RpcspyRecorder(on_record=seen.append)
        with taddons.context(recorder) as tctx:
            tctx.configure(recorder, rpcspy_max_body="150")
            big = ECHO_RESPONSE.replace(b"HI", b"H" * 500)
            await recorder.response(xml_flow(ECHO_CALL, big))
            await recorder.response(xml_flow(ECHO_CALL.replace(b"hi", b"h" * 500), ECHO_RESPONSE))
            recorder.done()

    run(body)
    big_response, big_request = seen
    assert big_response.call is not None and big_response.method == "echo"
    assert big_response.reply is None
    assert [(p.where, p.kind) for p in big_response.problems] == [("response", "too-large")]
    assert "over the limit" in big_response.problems[0].message
    assert big_request.call is None
    assert [(p.where, p.kind) for p in big_request.problems] == [("request", "too-large")]
    assert big_request.request.body == b""


def test_bad_options_are_refused(tmp_path: Path) -> None:
    async def body() -> None:
        recorder = RpcspyRecorder()
        with taddons.context(recorder) as tctx:
            with pytest.raises(exceptions.OptionsError):
                tctx.configure(recorder, rpcspy_max_body="lots")
            with pytest.raises(exceptions.OptionsError):
                tctx.configure(recorder, rpcspy_capture=str(tmp_path / "no" / "such" / "dir.jsonl"))
            recorder.done()

    run(body)


def test_error_hook_records_the_error_once() -> None:
    seen: list[CallRecord] = []

    async def body() -> None:
        recorder = RpcspyRecorder(on_record=seen.append)
        with taddons.context(recorder):
            f = xml_flow(ECHO_CALL, None)
            f.error = tflow.terr("[Errno 111] Connect call failed ('127.0.0.1', 9)")
            await recorder.error(f)
            # A flow already recorded from its response is not recorded again on a later error.
            g = xml_flow(ECHO_CALL, ECHO_RESPONSE)
            await recorder.response(g)
            g.error = tflow.terr("Client disconnected.")
            await recorder.error(g)
            recorder.done()
            assert f.metadata["rpcspy.error"].startswith("[Errno 111]")

    run(body)
    assert len(seen) == 2
    failed = seen[0]
    assert failed.error is not None and "Connect call failed" in failed.error
    assert failed.reply is None and failed.status is None
    assert failed.method == "echo"
    assert seen[1].error is None


def test_small_calls_are_recorded_at_once_large_ones_on_the_worker() -> None:
    async def body() -> None:
        recorder = RpcspyRecorder()
        with taddons.context(recorder):
            small = xml_flow(ECHO_CALL, ECHO_RESPONSE)
            await recorder.response(small)
            assert small.metadata["rpcspy.method"] == "echo"  # no waiting needed
            big = xml_flow(ECHO_CALL, ECHO_RESPONSE.replace(b"HI", b"H" * 20_000))
            await recorder.response(big)
            recorder.done()  # drains the worker and hands the result back
            assert big.metadata["rpcspy.method"] == "echo"
            assert big.metadata["rpcspy"]["seq"] == 2

    run(body)


def test_metadata_survives_saving_and_loading_flows() -> None:
    async def body() -> None:
        recorder = RpcspyRecorder()
        with taddons.context(recorder):
            f = xml_flow(multicall_body(), MULTI_RESPONSE)
            await recorder.response(f)
            recorder.done()
            buf = io.BytesIO()
            mio.FlowWriter(buf).add(f)
            buf.seek(0)
            (loaded,) = list(mio.FlowReader(buf).stream())
            assert loaded.metadata["rpcspy.multicall"] == 2
            assert loaded.metadata["rpcspy"]["method"] == "system.multicall"
            assert flowfilter.match('~meta "rpcspy.faults_inside: 1"', loaded)

    run(body)


def test_streaming_to_a_file_waits_for_the_metadata(tmp_path: Path) -> None:
    async def body() -> None:
        recorder = RpcspyRecorder()
        saver = save.Save()
        with taddons.context(saver, recorder) as tctx:
            tctx.configure(saver, save_stream_file=str(tmp_path / "flows.mitm"))
            tctx.configure(recorder)
            # Compressed, so it is recorded on the worker thread, not on the spot.
            f = xml_flow(ECHO_CALL, gzip.compress(ECHO_RESPONSE))
            assert f.response is not None
            f.response.headers["content-encoding"] = "gzip"
            await recorder.response(f)
            # Without waiting, the Save addon (later in the chain) would write the flow bare.
            assert f.metadata["rpcspy.method"] == "echo"
            assert f.metadata["rpcspy.ok"] is True
            recorder.done()

    run(body)
