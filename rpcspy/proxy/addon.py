"""The rpcspy mitmproxy addon: records every XML-RPC exchange that passes through the proxy.

What counts: a ``POST`` whose body sniffs as a call, or any ``POST`` to a watched endpoint (a
conventional XML-RPC path, a path named by ``rpcspy_watch``, ``/`` in reverse mode, or an XML
Content-Type), whose body may then be anything: the record says it is not XML-RPC.

It never touches traffic: it only reads ``raw_content`` (the bytes exactly as on the wire).
A body over ``rpcspy_max_body`` is not going to be decoded, so it is not held either: when its
Content-Length says so, the ``requestheaders``/``responseheaders`` hooks make mitmproxy stream it
(``BodyTap`` passes each chunk on unchanged, counting the bytes and keeping the first
``SNIFF_BYTES`` for the sniff), and the record says ``too-large`` with the size forwarded. A
chunked body without a length is streamed by mitmproxy itself once it grows past its global
``stream_large_bodies`` (``rpcspy proxy`` sets it to the same limit); its size is not counted.
Deciding whether an exchange is XML-RPC is a bounded sniff in the event loop. A small exchange is
then recorded on the spot; anything large or compressed is handed to one background thread
(``RecordWorker``) so that decoding it never blocks the event loop, and the result comes back to
the loop to fill ``flow.metadata`` and call ``on_record``.

What mitmproxy shows of a recorded flow (``annotate_flow``): its metadata (``rpcspy.ok`` is the
filter language's ``ok``: ``rpcspy.capture.summary`` decides both), the call on one line as the
flow's comment (``add(2, 3) → 5``), and a marker on every call that is not ok (``:warning:`` for a
fault or a faulted sub-call, ``:x:`` for an HTTP error, a decode problem, a connection error or no
reply). None of it touches the request or the response.

Options (``--set name=value`` in mitmdump/mitmproxy/mitmweb):

- ``rpcspy_capture``: capture file to append records to (``.jsonl`` or ``.jsonl.gz``); none by
  default.
- ``rpcspy_watch``: globs on host, path, ``host:port`` or ``host/path`` (repeatable); all by
  default. Globs with a ``/`` also name watched endpoints.
- ``rpcspy_redact``: redact credentials (Authorization, Cookie, ...) in the capture; on by default.
- ``rpcspy_redact_headers`` / ``rpcspy_keep_headers``: header names to redact besides the
  default list (``rpcspy.capture.redact.DEFAULT_HEADERS``), and default ones to keep as sent.
- ``rpcspy_redact_query`` / ``rpcspy_keep_query``: the same for query parameter names.
- ``rpcspy_max_body``: bodies over this size are recorded as ``too-large``, not decoded, and
  streamed when their Content-Length says so (k/m/g suffixes); 16m.
- ``rpcspy_log``: log one line per call to mitmproxy's event log; on by default.
- ``rpcspy_protocol``: ``xmlrpc`` (HTTP flows; the default), or ``oncrpc`` / ``rpyc``: read the
  TCP and UDP flows of mitmproxy's reverse ``tcp://`` / ``udp://`` modes as that protocol, one
  conversation per flow (``rpcspy.proxy.native``), each call a record.
- ``rpcspy_idl``: an rpcgen ``.x`` file that types ONC RPC calls (the portmapper is built in).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Optional

from mitmproxy import ctx, exceptions, http, tcp, udp
from mitmproxy.addonmanager import Loader
from mitmproxy.net.http.http1 import expected_http_body_size
from mitmproxy.proxy.mode_specs import ReverseMode
from mitmproxy.utils import human

from rpcspy.capture import CallRecord, CaptureWriter, HttpMessage, build_record
from rpcspy.capture.redact import DEFAULT_REDACTION, Redaction
from rpcspy.capture.summary import OutcomeKind, call_line, faulted_subcalls, outcome
from rpcspy.oncrpc import BadIdl, parse_idl
from rpcspy.proxy.console import format_call_line
from rpcspy.proxy.contentview import register_contentview
from rpcspy.proxy.detect import (
    SNIFF_BYTES,
    looks_like_xml,
    sniff_body,
    watch_matches,
    watched_endpoint,
)
from rpcspy.proxy.native import NATIVE_PROTOCOLS, Conversations
from rpcspy.proxy.worker import DEFAULT_MAX_BODY, Job, RecordWorker

__all__ = ["FLOW_MARKERS", "BodyTap", "RpcspyRecorder", "annotate_flow", "record_metadata"]

logger = logging.getLogger(__name__)

#: How long a response waits for its record when mitmproxy streams flows to a file (``-w``), so the
#: saved flow carries the rpcspy metadata. Past this the flow goes on and the metadata comes later.
SAVE_WAIT_SECONDS = 5.0

#: Exchanges up to this many body bytes (uncompressed) are recorded in the event loop when the
#: worker is idle: at most about a millisecond of decoding, and cheaper than a thread hand-over.
#: Anything larger, compressed, or arriving while the worker is busy goes to the worker thread.
INLINE_BYTES = 8 * 1024

OnRecord = Callable[[CallRecord], None]

#: The mitmproxy marker set on a flow whose call is not ok, by outcome kind (``rpcspy.capture.
#: summary``); ok calls are left unmarked.
FLOW_MARKERS: dict[OutcomeKind, str] = {
    "fault": ":warning:",
    "subfault": ":warning:",
    "problem": ":x:",
    "error": ":x:",
    "pending": ":x:",
}

#: How long a flow comment may be: mitmweb and the console show it in the flow list.
COMMENT_CHARS = 100


def _address(addr: Any) -> tuple[str, int] | None:
    if not addr:
        return None
    try:
        return (str(addr[0]), int(addr[1]))
    except (TypeError, ValueError, IndexError):
        return None


def _text(raw: bytes) -> str:
    # Header bytes as text: UTF-8 when they are, else Latin-1, which keeps every byte.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _header_pairs(headers: http.Headers) -> tuple[tuple[str, str], ...]:
    return tuple((_text(name), _text(value)) for name, value in headers.fields)


def _options_error(message: str) -> exceptions.OptionsError:
    return exceptions.OptionsError(message)  # type: ignore[no-untyped-call]


def flow_facts(flow: http.HTTPFlow) -> dict[str, Any]:
    """What a record says of a flow besides its two halves: timing, peers, URL, status (the
    keywords ``build_record`` and ``rpcspy.ingest.Exchange`` share). The live addon and the
    flow-file importer both take them from here."""
    request = flow.request
    response = flow.response
    if response is not None:
        ended = response.timestamp_end
    elif flow.error is not None:
        ended = flow.error.timestamp
    else:
        ended = None
    return {
        "started": request.timestamp_start,
        "ended": ended,
        "client": _address(flow.client_conn.peername),
        "server": _address(flow.server_conn.peername or flow.server_conn.address),
        "scheme": request.scheme,
        "host": request.host,
        "port": request.port,
        "path": request.path,
        "status": response.status_code if response is not None else None,
    }


def _half(message: http.Message) -> HttpMessage:
    """One half of the exchange exactly as on the wire (``raw_content``: still content-encoded)."""
    return HttpMessage(
        headers=_header_pairs(message.headers),
        body=message.raw_content,
        content_encoding=message.headers.get("content-encoding"),
    )


def _prebuilt(
    record: CallRecord, _request: HttpMessage, _response: HttpMessage | None
) -> CallRecord:
    """A job's ``build`` for a record a conversation made already (TCP and UDP flows)."""
    return record


def _small(job: Job) -> bool:
    """Cheap enough to record in the event loop: small, and not compressed (no bomb inside)."""
    if job.request.content_encoding or (job.response and job.response.content_encoding):
        return False
    return job.size <= INLINE_BYTES


class BodyTap:
    """A streamed body's ``stream`` callable: passes every chunk on unchanged, counts the bytes
    and keeps the first ``SNIFF_BYTES`` (enough to tell a call from anything else).

    ``announced`` is the Content-Length, if any: the body's size even when the exchange failed
    before all of it passed.
    """

    __slots__ = ("announced", "head", "size")

    def __init__(self, announced: int | None = None) -> None:
        self.announced = announced
        self.size = 0
        self.head = b""

    @property
    def body_size(self) -> int:
        """The body's size: what passed, or what was announced when more was."""
        return max(self.size, self.announced or 0)

    def __call__(self, data: bytes) -> bytes:
        self.size += len(data)
        room = SNIFF_BYTES - len(self.head)
        if room > 0 and data:
            self.head += data[:room]
        return data


def _announced(request: http.Request, response: http.Response | None = None) -> int | None:
    """The body size the headers announce (None: chunked or read to the end, or invalid)."""
    try:
        size = expected_http_body_size(request, response)
    except ValueError:
        return None
    return size if size is not None and size >= 0 else None


def _seen(message: http.Message, tap: BodyTap | None) -> bytes | None:
    """What the sniff can look at: the whole body, or a streamed body's first bytes."""
    if message.raw_content is not None:
        return message.raw_content
    return tap.head if tap is not None else None


def _is_xmlrpc(
    request: http.Request,
    response: http.Response | None,
    taps: dict[str, BodyTap],
) -> bool:
    """Whether an exchange is XML-RPC: its body is a call, judged by a bounded sniff."""
    request_encoding = request.headers.get("content-encoding")
    request_body = _seen(request, taps.get("request"))
    if sniff_body(request_body, request_encoding) == "call":
        return True
    # An XML body that is not a well-formed call (wrong root, broken prolog) still counts when
    # the server answered in XML-RPC: that server took it for a call. Binary or JSON does not.
    # A request streamed before anything of it was seen counts on the answer alone.
    if response is None:
        return False
    response_body = _seen(response, taps.get("response"))
    unseen = request.raw_content is None and request_body is None
    return (unseen or looks_like_xml(request_body, request_encoding)) and sniff_body(
        response_body, response.headers.get("content-encoding")
    ) == "response"


def _to_watched_endpoint(flow: http.HTTPFlow, watch: Sequence[str]) -> bool:
    """Whether the flow's POST goes to a watched endpoint (see ``detect.watched_endpoint``)."""
    request = flow.request
    return watched_endpoint(
        watch,
        request.host,
        request.port,
        request.path,
        request.headers.get("content-type"),
        reverse=isinstance(flow.client_conn.proxy_mode, ReverseMode),
    )


def record_metadata(record: CallRecord) -> dict[str, Any]:
    """The ``flow.metadata`` entries for a record: ``rpcspy`` (a dict) plus flat ``rpcspy.*`` keys.

    The flat keys are what mitmproxy's ``~meta`` filter sees as ``key: value`` lines, e.g.
    ``~meta "rpcspy.method: echo$"`` or ``~meta "rpcspy.fault: "``.
    """
    fault_code = record.fault_code
    faults_inside = faulted_subcalls(record)
    # The filter language's ``ok``: a result, and no fault anywhere, problem or error.
    ok = outcome(record).kind == "ok"
    info: dict[str, Any] = {
        "id": record.id,
        "seq": record.seq,
        "method": record.method,
        "ok": ok,
        "fault_code": fault_code,
        "multicall": len(record.subcalls) if record.is_multicall else None,
        "faults_inside": faults_inside if record.is_multicall else None,
        "problems": [p.message for p in record.problems],
        "error": record.error,
        "duration_ms": record.duration_ms,
    }
    flat: dict[str, Any] = {
        "rpcspy": info,
        "rpcspy.id": record.id,
        "rpcspy.method": record.method or "",
        "rpcspy.ok": ok,
    }
    if fault_code is not None:
        flat["rpcspy.fault"] = fault_code
    if record.is_multicall:
        flat["rpcspy.multicall"] = len(record.subcalls)
        flat["rpcspy.faults_inside"] = faults_inside
    if record.problems:
        flat["rpcspy.problems"] = "; ".join(p.message for p in record.problems)
    if record.error is not None:
        flat["rpcspy.error"] = record.error
    return flat


def annotate_flow(flow: http.HTTPFlow, record: CallRecord) -> None:
    """Show the record on the flow in mitmproxy: metadata, the call as the flow's comment, and a
    marker when the call is not ok (a marker the user set already is kept)."""
    flow.metadata.update(record_metadata(record))
    flow.comment = call_line(record, COMMENT_CHARS)
    marker = FLOW_MARKERS.get(outcome(record).kind)
    if marker is not None and not flow.marked:
        flow.marked = marker


class RpcspyRecorder:
    """mitmproxy addon recording XML-RPC calls to a capture file and into ``flow.metadata``.

    ``on_record`` is called in the event loop's thread with each finished ``CallRecord``.
    """

    def __init__(self, on_record: OnRecord | None = None) -> None:
        self.on_record = on_record
        self.worker = RecordWorker(self._from_worker)
        self._seq = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._results: deque[tuple[Job, CallRecord]] = deque()
        self._results_lock = threading.Lock()
        self._flush_scheduled = False
        self._recorded: weakref.WeakSet[http.HTTPFlow] = weakref.WeakSet()
        # The taps on the bodies of flows this addon made mitmproxy stream, by half.
        self._taps: weakref.WeakKeyDictionary[http.HTTPFlow, dict[str, BodyTap]] = (
            weakref.WeakKeyDictionary()
        )
        self._waiters: dict[int, asyncio.Future[CallRecord]] = {}
        self._watch: tuple[str, ...] = ()
        self._max_body = DEFAULT_MAX_BODY
        self._log_calls = True
        self._save_streaming = False
        self._sink_spec: tuple[str, bool, Redaction] | None = None
        #: What is redacted in the capture (the ``rpcspy_redact*`` options).
        self.redaction = DEFAULT_REDACTION
        #: The conversations of TCP and UDP flows (``rpcspy_protocol`` oncrpc or rpyc).
        self.conversations = Conversations()
        self._idl: str | None = None

    # ------------------------------------------------------------------ lifecycle

    def load(self, loader: Loader) -> None:
        """Declare rpcspy's options and register the XML-RPC contentview."""
        loader.add_option(
            "rpcspy_capture",
            Optional[str],  # type: ignore[arg-type]  # noqa: UP045 - mitmproxy's option typespec
            None,
            "rpcspy: append a record of each XML-RPC call to this capture file "
            "(.jsonl, or .jsonl.gz for gzip).",
        )
        loader.add_option(
            "rpcspy_watch",
            Sequence[str],
            [],
            "rpcspy: only record exchanges whose host, path, host:port or host/path matches one "
            "of these globs (e.g. /RPC2, *.example.com, api.example.com/xmlrpc*). "
            "Default: all. A glob with a '/' also makes the paths it matches watched endpoints, "
            "where any POST is recorded, XML-RPC or not.",
        )
        loader.add_option(
            "rpcspy_redact",
            bool,
            True,
            "rpcspy: redact secret header values and query parameters in the capture "
            "(Authorization, Cookie, X-Api-Key, ?access_token= ... see rpcspy_redact_headers).",
        )
        for name, what, default in (
            ("headers", "header", "Authorization, Cookie, Set-Cookie, X-Api-Key, Private-Token"),
            ("query", "query parameter", "access_token, token, api_key, key, password"),
        ):
            loader.add_option(
                f"rpcspy_redact_{name}",
                Sequence[str],
                [],
                f"rpcspy: {what} names whose values are redacted in the capture, besides the "
                f"default ones ({default} ...; see docs/capture-format.md).",
            )
            loader.add_option(
                f"rpcspy_keep_{name}",
                Sequence[str],
                [],
                f"rpcspy: default {what} names whose values are kept as sent.",
            )
        loader.add_option(
            "rpcspy_max_body",
            str,
            "16m",
            "rpcspy: record but do not decode bodies larger than this (k/m/g suffixes); "
            "one whose Content-Length is larger is streamed (forwarded as it arrives, not "
            "held). Set stream_large_bodies to the same size to stream chunked bodies too.",
        )
        loader.add_option(
            "rpcspy_log",
            bool,
            True,
            "rpcspy: log one line per XML-RPC call to mitmproxy's event log.",
        )
        loader.add_option(
            "rpcspy_protocol",
            str,
            "xmlrpc",
            "rpcspy: the protocol to record: xmlrpc (HTTP flows), or oncrpc or rpyc, read from "
            "the TCP (and, for oncrpc, UDP) flows of --mode reverse:tcp://HOST:PORT or "
            "reverse:udp://HOST:PORT.",
            choices=["xmlrpc", *NATIVE_PROTOCOLS],
        )
        loader.add_option(
            "rpcspy_idl",
            Optional[str],  # type: ignore[arg-type]  # noqa: UP045 - mitmproxy's option typespec
            None,
            "rpcspy: an rpcgen .x interface file that types ONC RPC calls (the portmapper, "
            "program 100000, is built in).",
        )
        register_contentview()

    def configure(self, updated: set[str]) -> None:
        """Apply option changes; opens (or switches) the capture file."""
        if "save_stream_file" in updated:
            self._save_streaming = bool(getattr(ctx.options, "save_stream_file", None))
        if not any(name.startswith("rpcspy_") for name in updated):
            return
        options = ctx.options
        try:
            max_body = human.parse_size(options.rpcspy_max_body)
        except ValueError as exc:
            raise _options_error(
                f"rpcspy_max_body: not a size: {options.rpcspy_max_body!r}"
            ) from exc
        if max_body is None or max_body < 0:
            raise _options_error("rpcspy_max_body must be a size of 0 or more")
        self._max_body = max_body
        self._watch = tuple(g for g in options.rpcspy_watch if g.strip())
        self._log_calls = bool(options.rpcspy_log)
        self._configure_protocol(options.rpcspy_protocol, options.rpcspy_idl or None)
        try:
            self.redaction = Redaction.configured(
                redact_headers=options.rpcspy_redact_headers,
                keep_headers=options.rpcspy_keep_headers,
                redact_query=options.rpcspy_redact_query,
                keep_query=options.rpcspy_keep_query,
            )
        except ValueError as exc:
            raise _options_error(f"rpcspy redaction: {exc}") from exc
        capture = options.rpcspy_capture or None
        spec = (capture, bool(options.rpcspy_redact), self.redaction) if capture else None
        if spec != self._sink_spec:
            writer = None
            if spec is not None:
                try:
                    writer = CaptureWriter(
                        Path(spec[0]).expanduser(), redact=spec[1], redaction=spec[2]
                    )
                except Exception as exc:
                    raise _options_error(f"rpcspy_capture: cannot write {spec[0]}: {exc}") from exc
                # Appending to a capture: its calls go on from its last number, so no two
                # records in one file share a seq.
                self._seq = writer.last_seq
            self.worker.set_sink(writer)
            self._sink_spec = spec

    def _configure_protocol(self, protocol: str, idl: str | None) -> None:
        conversations = self.conversations
        if idl != self._idl:
            interface = None
            if idl is not None:
                path = Path(idl).expanduser()
                try:
                    interface = parse_idl(path.read_text(encoding="utf-8"), path.name)
                except (OSError, UnicodeDecodeError) as exc:
                    raise _options_error(f"rpcspy_idl: cannot read {idl}: {exc}") from exc
                except BadIdl as exc:
                    raise _options_error(f"rpcspy_idl: {path.name}: {exc}") from exc
            conversations.interface = interface
            self._idl = idl
        conversations.protocol = protocol if protocol in NATIVE_PROTOCOLS else None

    def running(self) -> None:
        """Remember the event loop that results are handed back to."""
        self._loop = asyncio.get_running_loop()

    def done(self) -> None:
        """Write every queued record and close the capture (also on script reload)."""
        # Connections still open end here: their calls waiting for replies are recorded too.
        for record in self.conversations.close_all():
            self.worker.submit(self._native_job(None, record))
        self.worker.stop()
        self._sink_spec = None
        self._flush()

    # ------------------------------------------------------------------ flow hooks

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        """Stream a request body that will not be decoded instead of holding it."""
        if self._candidate(flow):
            self._tap(flow, "request", flow.request, _announced(flow.request))

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        """Stream a response body that will not be decoded instead of holding it."""
        response = flow.response
        if response is not None and self._candidate(flow):
            self._tap(flow, "response", response, _announced(flow.request, response))

    async def response(self, flow: http.HTTPFlow) -> None:
        """Queue a completed XML-RPC exchange for recording."""
        await self._submit(flow, None)

    async def error(self, flow: http.HTTPFlow) -> None:
        """Queue an exchange that failed (dead upstream, timeout, reset) with its error."""
        message = flow.error.msg if flow.error is not None else "error"
        await self._submit(flow, message)

    # TCP and UDP flows (ONC RPC, RPyC): their bytes are read, never changed.

    async def tcp_message(self, flow: tcp.TCPFlow) -> None:
        """Feed a chunk of a TCP connection to its conversation; record the calls it ends."""
        await self._submit_native(flow, self.conversations.message(flow))

    async def tcp_end(self, flow: tcp.TCPFlow) -> None:
        """A TCP connection closed: record what its conversation still held."""
        await self._submit_native(flow, self.conversations.end(flow))

    async def tcp_error(self, flow: tcp.TCPFlow) -> None:
        """A TCP connection failed (reset, upstream unreachable): as ``tcp_end``."""
        await self._submit_native(flow, self.conversations.end(flow))

    async def udp_message(self, flow: udp.UDPFlow) -> None:
        """Feed a datagram to its conversation; record the calls it ends."""
        await self._submit_native(flow, self.conversations.message(flow))

    async def udp_end(self, flow: udp.UDPFlow) -> None:
        """mitmproxy let a UDP client go (idle): record what its conversation still held."""
        await self._submit_native(flow, self.conversations.end(flow))

    async def udp_error(self, flow: udp.UDPFlow) -> None:
        """A UDP flow failed: as ``udp_end``."""
        await self._submit_native(flow, self.conversations.end(flow))

    # ------------------------------------------------------------------ internals

    def _candidate(self, flow: http.HTTPFlow) -> bool:
        """Whether the flow may be recorded (judged before any body is seen)."""
        request = flow.request
        return request.method == "POST" and watch_matches(
            self._watch, request.host, request.port, request.path
        )

    def _tap(
        self, flow: http.HTTPFlow, half: str, message: http.Message, announced: int | None
    ) -> None:
        # mitmproxy has set ``stream = True`` already when its own ``stream_large_bodies`` is
        # passed; a callable set by another addon is left alone (it may change the body).
        if callable(message.stream):
            return
        if message.stream or (announced is not None and announced > self._max_body):
            tap = BodyTap(announced)
            message.stream = tap
            self._taps.setdefault(flow, {})[half] = tap

    def _streamed(
        self, flow: http.HTTPFlow, taps: dict[str, BodyTap]
    ) -> dict[Literal["request", "response"], int | None]:
        """The halves streamed past us, with the bytes forwarded when counted."""
        passed: dict[Literal["request", "response"], int | None] = {}
        halves: tuple[tuple[Literal["request", "response"], http.Message | None], ...] = (
            ("request", flow.request),
            ("response", flow.response),
        )
        for half, message in halves:
            if message is None or message.raw_content is not None:
                continue
            tap = taps.get(half)
            if tap is not None:
                passed[half] = tap.body_size
            elif message.stream is True and self._streams_past_max_body():
                # Streamed by mitmproxy once it grew past stream_large_bodies (a chunked
                # body): over the limit, size not counted.
                passed[half] = None
        return passed

    def _streams_past_max_body(self) -> bool:
        """Whether mitmproxy's own ``stream_large_bodies`` streams only bodies over the limit."""
        try:
            threshold = human.parse_size(getattr(ctx.options, "stream_large_bodies", None))
        except (ValueError, AttributeError):
            return False
        return threshold is not None and threshold >= self._max_body

    def _job(self, flow: http.HTTPFlow, error: str | None) -> Job | None:
        """The two halves of the flow and how to build its record, or None when it is not ours."""
        request = flow.request
        if flow in self._recorded or not self._candidate(flow):
            return None
        response = flow.response
        # A POST to a watched endpoint is recorded whatever its body (the builder names a body
        # that is not XML-RPC); elsewhere only what sniffs as XML-RPC is.
        taps = self._taps.get(flow, {})
        if not _to_watched_endpoint(flow, self._watch) and not _is_xmlrpc(request, response, taps):
            return None
        self._recorded.add(flow)
        self._seq += 1
        build = functools.partial(
            build_record,
            **flow_facts(flow),
            error=error,
            seq=self._seq,
            max_body=self._max_body,
            streamed=self._streamed(flow, taps),
        )
        return Job(
            seq=self._seq,
            request=_half(request),
            response=_half(response) if response is not None else None,
            build=build,
            token=flow,
        )

    def _native_job(self, flow: tcp.TCPFlow | udp.UDPFlow | None, record: CallRecord) -> Job:
        """A record a conversation made, numbered, as a job for the one writing path."""
        self._seq += 1
        record = dataclasses.replace(record, seq=self._seq)
        return Job(
            seq=self._seq,
            request=record.request,
            response=record.response,
            build=functools.partial(_prebuilt, record),
            token=flow,
        )

    async def _submit_native(
        self, flow: tcp.TCPFlow | udp.UDPFlow, records: list[CallRecord]
    ) -> None:
        for record in records:
            await self._record(self._native_job(flow, record), flow, wait_for_save=False)

    async def _submit(self, flow: http.HTTPFlow, error: str | None) -> None:
        job = self._job(flow, error)
        if job is None:
            return
        await self._record(job, flow, wait_for_save=self._save_streaming)

    async def _record(
        self, job: Job, flow: http.HTTPFlow | tcp.TCPFlow | udp.UDPFlow, *, wait_for_save: bool
    ) -> None:
        """Write the job's record (here when small and the worker is idle, else on the worker's
        thread), then hand it on: the one path for every record, whatever the protocol."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        if _small(job):
            done, record = self.worker.record_now(job)
            if done:
                # Records the worker finished but the loop has not handed on yet come first.
                self._flush()
                if record is not None:
                    self._finish(job, record)
                return
        waiter: asyncio.Future[CallRecord] | None = None
        if wait_for_save:
            waiter = loop.create_future()
            self._waiters[job.seq] = waiter
        if not self.worker.submit_nowait(job):
            # The worker is behind: hold this flow (not the event loop) until there is room.
            await asyncio.to_thread(self.worker.submit, job)
        if waiter is not None:
            try:
                await asyncio.wait_for(asyncio.shield(waiter), SAVE_WAIT_SECONDS)
            except TimeoutError:
                logger.warning(
                    "rpcspy: record for %s not ready in time for the saved flow", flow.id
                )
            finally:
                self._waiters.pop(job.seq, None)

    def _from_worker(self, job: Job, record: CallRecord) -> None:
        # Worker thread. Batch the hand-over so a burst costs one loop wake-up, not one per record.
        with self._results_lock:
            self._results.append((job, record))
            if self._flush_scheduled:
                return
            self._flush_scheduled = True
        loop = self._loop
        try:
            if loop is None or loop.is_closed():
                raise RuntimeError("no event loop")
            loop.call_soon_threadsafe(self._flush)
        except RuntimeError:
            # The loop is gone (shutdown): done() flushes what is left.
            with self._results_lock:
                self._flush_scheduled = False

    def _flush(self) -> None:
        with self._results_lock:
            batch = list(self._results)
            self._results.clear()
            self._flush_scheduled = False
        for job, record in batch:
            self._finish(job, record)

    def _finish(self, job: Job, record: CallRecord) -> None:
        flow = job.token
        if isinstance(flow, http.HTTPFlow):
            annotate_flow(flow, record)
            self._refresh_view(flow)
        waiter = self._waiters.pop(job.seq, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(record)
        if self._log_calls:
            logger.info("rpcspy: %s", format_call_line(record))
        if self.on_record is not None:
            try:
                self.on_record(record)
            except Exception:
                logger.exception("rpcspy: on_record callback failed")

    @staticmethod
    def _refresh_view(flow: http.HTTPFlow) -> None:
        # mitmproxy (console) and mitmweb show flows through the view addon: tell it the flow
        # changed, so a ~meta view filter and the flow details pick up the new metadata.
        try:
            view = ctx.master.addons.get("view")  # type: ignore[no-untyped-call]
        except AttributeError:
            return
        if view is not None:
            view.update([flow])
