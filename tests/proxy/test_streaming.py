"""Which bodies the addon makes mitmproxy stream, and how a streamed exchange is recorded.

In mitmproxy's addon test context; ``tests/hostile/test_proxy_large_bodies.py`` drives the same
through a real proxy with 64 MiB bodies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from mitmproxy import http
from mitmproxy.addons import proxyserver
from mitmproxy.flow import Error
from mitmproxy.test import taddons, tflow, tutils

from rpcspy.capture import CallRecord
from rpcspy.proxy import RpcspyRecorder
from rpcspy.proxy.addon import BodyTap
from tests.proxy.test_addon import ECHO_CALL, ECHO_RESPONSE

LIMIT = 1000


def flow(length: int | None, *, method: bytes = b"POST", path: bytes = b"/RPC2") -> http.HTTPFlow:
    """A flow at its request headers: announcing ``length`` bytes, or chunked for None."""
    f = tflow.tflow(req=tutils.treq(method=method, path=path, content=b""), resp=False)
    f.request.headers.pop("content-length", None)
    if length is None:
        f.request.headers["transfer-encoding"] = "chunked"
    else:
        f.request.headers["content-length"] = str(length)
    f.request.headers["content-type"] = "text/xml"
    return f


def with_response(f: http.HTTPFlow, length: int | None) -> http.HTTPFlow:
    f.response = tutils.tresp(content=b"")
    f.response.headers.pop("content-length", None)
    if length is None:
        f.response.headers["transfer-encoding"] = "chunked"
    else:
        f.response.headers["content-length"] = str(length)
    return f


def stream_through(tap: object, body: bytes) -> None:
    """Feed a body through a ``stream`` callable as mitmproxy does; it must pass bytes as is."""
    assert callable(tap)
    passed = b"".join(tap(body[i : i + 7]) for i in range(0, len(body), 7))
    assert passed == body
    assert tap(b"") == b""


def recorded(
    feed: Callable[[RpcspyRecorder], http.HTTPFlow], **options: object
) -> list[CallRecord]:
    """Records of the flow ``feed`` makes with the recorder (its header hooks, then streaming),
    after the recorder's ``response`` hook saw it."""
    seen: list[CallRecord] = []

    async def body() -> None:
        recorder = RpcspyRecorder(on_record=seen.append)
        with taddons.context(proxyserver.Proxyserver(), recorder) as tctx:
            tctx.configure(recorder, rpcspy_max_body=str(LIMIT), rpcspy_log=False, **options)
            f = feed(recorder)
            await recorder.response(f)
            recorder.done()

    asyncio.run(body())
    return seen


def test_only_a_post_that_may_be_recorded_and_announces_more_than_the_limit_is_streamed() -> None:
    # (flow, its request streamed, its response streamed when that announces LIMIT + 1)
    cases: list[tuple[Callable[[], http.HTTPFlow], bool, bool]] = [
        (lambda: flow(LIMIT + 1), True, True),
        (lambda: flow(LIMIT), False, True),
        (lambda: flow(None), False, True),  # chunked: left to stream_large_bodies
        (lambda: flow(LIMIT + 1, method=b"PUT"), False, False),
        (lambda: flow(LIMIT + 1, path=b"/other"), False, False),  # not watched
    ]
    recorder = RpcspyRecorder()
    with taddons.context(recorder) as tctx:
        tctx.configure(recorder, rpcspy_max_body=str(LIMIT), rpcspy_watch=["/RPC2"])
        for make, request_streams, response_streams in cases:
            f = make()
            recorder.requestheaders(f)
            assert isinstance(f.request.stream, BodyTap) is request_streams
            answered = with_response(make(), LIMIT + 1)
            recorder.responseheaders(answered)
            assert answered.response is not None
            assert isinstance(answered.response.stream, BodyTap) is response_streams
            small = with_response(make(), LIMIT)
            recorder.responseheaders(small)
            assert small.response is not None and small.response.stream is False
        recorder.done()


def test_mitmproxys_own_streaming_gets_a_tap_and_another_addons_callable_is_kept() -> None:
    recorder = RpcspyRecorder()
    with taddons.context(recorder) as tctx:
        tctx.configure(recorder, rpcspy_max_body=str(LIMIT))
        mitmproxys = flow(None)
        mitmproxys.request.stream = True  # stream_large_bodies, from the Content-Length
        recorder.requestheaders(mitmproxys)
        assert isinstance(mitmproxys.request.stream, BodyTap)
        theirs = flow(LIMIT + 1)

        def upper(data: bytes) -> bytes:
            return data.upper()

        theirs.request.stream = upper
        recorder.requestheaders(theirs)
        assert theirs.request.stream is upper
        recorder.done()


def test_a_streamed_call_is_recorded_too_large_with_its_size() -> None:
    big = ECHO_CALL.replace(b"hi", b"h" * 5000)

    def feed(recorder: RpcspyRecorder) -> http.HTTPFlow:
        f = flow(len(big), path=b"/upload")  # not an endpoint: its first bytes tell a call
        recorder.requestheaders(f)
        stream_through(f.request.stream, big)
        f.request.data.content = None  # mitmproxy keeps nothing of a streamed body
        f.response = tutils.tresp(content=ECHO_RESPONSE)
        return f

    [record] = recorded(feed)
    assert record.method is None and record.request.body == b""
    assert [(p.where, p.kind) for p in record.problems] == [("request", "too-large")]
    assert f"({len(big)} bytes > {LIMIT}); streamed, not stored" in record.problems[0].reason
    assert record.reply is not None  # the answer decoded as usual


def test_a_streamed_body_that_is_not_a_call_is_not_recorded_off_an_endpoint() -> None:
    upload = b"\x89PNG" + b"\x00" * 5000

    def feed(recorder: RpcspyRecorder) -> http.HTTPFlow:
        f = flow(len(upload), path=b"/upload")
        f.request.headers["content-type"] = "image/png"
        recorder.requestheaders(f)
        stream_through(f.request.stream, upload)
        f.request.data.content = None
        f.response = tutils.tresp(content=ECHO_RESPONSE)
        return f

    assert recorded(feed) == []


def test_a_streamed_answer_is_recorded_too_large_and_the_call_decoded() -> None:
    big = ECHO_RESPONSE.replace(b"HI", b"H" * 5000)

    def feed(recorder: RpcspyRecorder) -> http.HTTPFlow:
        f = with_response(flow(len(ECHO_CALL)), len(big))
        f.request.data.content = ECHO_CALL
        recorder.requestheaders(f)
        recorder.responseheaders(f)
        assert f.response is not None
        stream_through(f.response.stream, big)
        f.response.data.content = None
        return f

    [record] = recorded(feed)
    assert record.method == "echo"
    assert [(p.where, p.kind) for p in record.problems] == [("response", "too-large")]
    assert f"({len(big)} bytes > {LIMIT})" in record.problems[0].reason
    assert record.response is not None and record.response.body == b""


def test_a_chunked_body_mitmproxy_streamed_has_no_size() -> None:
    """Streamed by ``stream_large_bodies`` past the limit (no tap): ``too-large``, size unknown;
    below the limit (a lower ``stream_large_bodies``): ``streamed``."""

    def late(recorder: RpcspyRecorder) -> http.HTTPFlow:
        f = flow(None)
        recorder.requestheaders(f)  # chunked: nothing to go by yet
        assert f.request.stream is False
        f.request.stream = True  # then mitmproxy streams it once it grew past its threshold
        f.request.data.content = None
        f.response = tutils.tresp(content=ECHO_RESPONSE)
        return f

    [over] = recorded(late, stream_large_bodies=str(LIMIT))
    assert [(p.where, p.kind) for p in over.problems] == [("request", "too-large")]
    assert f"more than {LIMIT} bytes" in over.problems[0].reason
    [below] = recorded(late, stream_large_bodies=str(LIMIT // 2))
    assert [(p.where, p.kind) for p in below.problems] == [("request", "streamed")]


def test_a_streamed_call_that_failed_midway_is_recorded_with_its_announced_size() -> None:
    """A server that is down fails a streamed request as soon as its headers are read: the
    record has the error, and the size the request announced."""
    seen: list[CallRecord] = []

    async def body() -> None:
        recorder = RpcspyRecorder(on_record=seen.append)
        with taddons.context(recorder) as tctx:
            tctx.configure(recorder, rpcspy_max_body=str(LIMIT), rpcspy_log=False)
            f = flow(5 * LIMIT)
            recorder.requestheaders(f)
            assert callable(f.request.stream)
            assert f.request.stream(ECHO_CALL[:10]) == ECHO_CALL[:10]
            f.request.data.content = None
            f.error = Error("Connect call failed")
            await recorder.error(f)
            recorder.done()

    asyncio.run(body())
    [record] = seen
    assert record.error == "Connect call failed" and record.response is None
    assert [(p.where, p.kind) for p in record.problems] == [("request", "too-large")]
    assert f"({5 * LIMIT} bytes > {LIMIT})" in record.problems[0].reason
