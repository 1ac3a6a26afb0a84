"""``rpcspy show``: a capture file as a table of calls, or one call in full."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rpcspy.capture import (
    CallRecord,
    CaptureFormatError,
    Problem,
    RecordFinding,
    record_to_json,
)
from rpcspy.capture.findings_view import place_findings, tree_lines
from rpcspy.capture.hexdump import hexdump
from rpcspy.capture.reader import CaptureReader
from rpcspy.capture.summary import outcome, size_text, sub_outcome, time_text
from rpcspy.exits import EXIT_INPUT, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, CliError
from rpcspy.filter import FilterError, filter_rows, parse_filter
from rpcspy.inputs import open_capture, open_capture_index
from rpcspy.term import Style, json_text, printable, warn
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.render import (
    format_call,
    format_response,
    plural,
)

__all__ = ["call_json", "call_status", "reply_lines", "show_call", "show_table", "summary_json"]

#: Colour of each outcome kind (see ``rpcspy.capture.summary``).
_KIND_COLOUR = {
    "ok": "green",
    "subfault": "yellow",
    "fault": "yellow",
    "problem": "magenta",
    "error": "red",
    "pending": "yellow",
}


def _json_line(obj: dict[str, Any]) -> str:
    """One JSON line for ``--json`` (``term.json_text``: controls and lone surrogates escaped)."""
    return json_text(obj) + "\n"


def _records(reader: CaptureReader, path: Path) -> Iterator[CallRecord]:
    try:
        yield from reader
    except CaptureFormatError as exc:
        raise CliError(f"{path}: {exc}", EXIT_INPUT) from exc
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_INPUT) from exc


def _finish(reader: CaptureReader | Sequence[Problem], path: Path) -> int:
    """Report skipped lines on stderr; the exit code says whether anything was skipped."""
    problems = reader.problems if isinstance(reader, CaptureReader) else reader
    for problem in problems:
        warn(f"{path}: {problem.message}")
    if problems:
        n = len(problems)
        warn(f"{path}: {n} line{'s' if n != 1 else ''} skipped; the other records are shown")
        return EXIT_PARTIAL
    return EXIT_OK


def call_status(record: CallRecord) -> str:
    """A call's outcome in the agreed words (``rpcspy.capture.summary``): ``ok``, ``fault 4`` ..."""
    return outcome(record).text


def _datetime(ts: float) -> dt.datetime | None:
    """The local time of a timestamp; None for one no clock can show (``1e308``, NaN)."""
    try:
        return dt.datetime.fromtimestamp(ts)
    except (OverflowError, ValueError, OSError):
        return None


def _time(ts: float) -> str:
    when = _datetime(ts)
    return f"{ts:.6g}"[:12] if when is None else when.strftime("%H:%M:%S.%f")[:-3]


def _peer(peer: tuple[str, int] | None) -> str:
    # A capture's host is whatever its producer wrote: escaped like any peer text.
    return printable(f"{peer[0]}:{peer[1]}") if peer else "-"


def _native_view(protocol: str) -> Any:
    """The module that words calls of ``protocol`` (``rpcspy.oncrpc.view``, ``rpcspy.rpyc.view``:
    ``call_text``, ``answer_text``, ``detail``)."""
    if protocol == "oncrpc":
        from rpcspy.oncrpc import view as onc_view

        return onc_view
    from rpcspy.rpyc import view as rpyc_view

    return rpyc_view


def _protocol_tag(record: CallRecord) -> str:
    """``oncrpc``, ``oncrpc/udp``, ``rpyc``: the protocol, and the transport when it is UDP."""
    return record.protocol + ("/udp" if record.transport == "udp" else "")


def _native_row(record: CallRecord, width: int) -> str:
    """A call of another protocol in the table: ``oncrpc PROG.VERS.PROC(args) -> result``,
    ``rpyc modules.os.getcwd() -> '/srv'``."""
    view = _native_view(record.protocol)
    tag = _protocol_tag(record)
    text = f"{tag} {view.call_text(record.request.native, max(width - len(tag) - 1, 10))}"
    response = record.response
    if record.ok and response is not None:
        result = " -> " + view.answer_text(response.native, 40)
        if len(text) + len(result) <= width:
            text += result
    return str(text)


def summary_json(record: CallRecord) -> dict[str, Any]:
    """The fields of one table row, for ``--json`` (with ``protocol`` and ``transport`` for a
    call of another protocol than XML-RPC)."""
    out = {
        "seq": record.seq,
        "id": record.id,
        "started": record.started,
        "client": _peer(record.client),
        "url": f"{record.scheme}://{record.host}:{record.port}{record.path}",
        "method": record.method,
        "status": call_status(record),
        "fault_code": record.fault_code,
        "duration_ms": record.duration_ms,
        "request_bytes": record.request.size,
        "response_bytes": None if record.response is None else record.response.size,
        "multicall": len(record.subcalls) if record.is_multicall else None,
        "problems": [p.message for p in record.problems],
        "findings": [f.text for f in record.findings],
        "error": record.error,
    }
    if record.protocol != "xmlrpc":
        out["protocol"] = record.protocol
        out["transport"] = record.transport
    return out


def call_json(record: CallRecord) -> dict[str, Any]:
    """One call for ``--json``: its whole capture record (params and results included, as in
    the capture file) and, under ``summary``, the fields of its table row."""
    return {**record_to_json(record), "summary": summary_json(record)}


def show_table(path: Path, *, as_json: bool = False, filter_text: str | None = None) -> int:
    """Print one row per call (only those passing ``filter_text``); returns the exit code.

    Without a filter the file is streamed; with one it is indexed (``rpcspy.capture.index``,
    cached for the next time) and filtered by the same engine as the TUI's.
    """
    if filter_text is None:
        reader = open_capture(path)
        _print_table(_records(reader, path), as_json=as_json)
        return _finish(reader, path)
    try:
        flt = parse_filter(filter_text)
    except FilterError as exc:
        raise CliError(f"--filter: {exc.message}", EXIT_USAGE) from None
    index, builder = open_capture_index(path)
    try:
        rows = filter_rows(index, flt)
        _print_table(index.records(rows), as_json=as_json)
        return _finish(list(index.problems), path)
    finally:
        builder.close()


def _print_table(records: Iterable[CallRecord], *, as_json: bool) -> None:
    out = sys.stdout
    if as_json:
        for record in records:
            out.write(_json_line(call_json(record)))
        return

    style = Style(out)
    width = shutil.get_terminal_size((120, 24)).columns
    # Fixed columns: # time client status ms size; the call takes what is left.
    fixed = 6 + 13 + 22 + 16 + 9 + 7
    call_width = max(30, width - fixed)
    header = (
        f"{'#':>5} {'time':12} {'client':21} {'call':{call_width}} {'outcome':15} "
        f"{'took':>8} {'size':>6}"
    )
    out.write(style(header, "bold") + "\n")
    count = nonconformant = 0
    for record in records:
        count += 1
        nonconformant += record.nonconformant
        status, kind = outcome(record)
        colour = _KIND_COLOUR[kind]
        if record.protocol != "xmlrpc":
            call_text = _native_row(record, call_width)
        elif record.call is not None:
            call_text = format_call(record.call, limit=call_width)
            if record.is_multicall:
                call_text = f"{record.call.method} [{plural(len(record.subcalls), 'call')}]"
        else:
            call_text = "(undecodable request)"
        reply = record.reply
        if reply is not None and not isinstance(reply, Fault) and record.protocol == "xmlrpc":
            result = " -> " + format_response(reply, limit=40)
            if len(call_text) + len(result) <= call_width:
                call_text += result
        # Names, values and fault strings are the peers': escaped before colour is added.
        call_text, status = printable(call_text), printable(status)
        took, size = time_text(record), size_text(record)
        out.write(
            f"{record.seq:>5}{_mark(record, style)}{_time(record.started):12} "
            f"{_peer(record.client):21} "
            f"{call_text:{call_width}} {style(f'{status:15}', colour)} {took:>8} {size:>6}\n"
        )
        if record.is_multicall:
            for sub in record.subcalls:
                sub_status = printable(sub_outcome(sub.result).text)
                text = "  └ " + printable(format_call(sub.call, limit=call_width - 4))
                out.write(
                    f"{'':5} {'':12} {'':21} {text:{call_width}} {style(sub_status, 'dim')}\n"
                )
    footer = f"{count} call{'s' if count != 1 else ''}"
    if nonconformant:
        footer += (
            f"; ! {nonconformant} with conformance findings (rpcspy show --call N, rpcspy lint)"
        )
    out.write(style(footer, "dim") + "\n")


def _mark(record: CallRecord, style: Style) -> str:
    """``!`` after the call's number when a body breaks the XML-RPC spec, else a space."""
    if not record.findings:
        return " "
    errors = any(f.severity == "error" for f in record.findings)
    return style("!", "red" if errors else "yellow")


def _tree_with_findings(
    message: MethodCall | MethodResponse | Fault, findings: list[RecordFinding], style: Style
) -> Iterator[str]:
    """The message tree, each finding printed under the line of the value it concerns (the
    deepest line whose path holds the finding's path; the first line when none does)."""
    lines = list(tree_lines(message))
    placed = place_findings([path for path, _ in lines], findings)
    for i, (_, raw_text) in enumerate(lines):
        text = printable(raw_text)
        yield text
        pad = " " * (len(text) - len(text.lstrip(" ")) + 2)
        for finding in placed.get(i, ()):
            colour = "red" if finding.severity == "error" else "yellow"
            where = f" (line {finding.line})" if finding.line is not None else ""
            mark = style(f"! {finding.severity} {finding.rule}", colour)
            yield f"{pad}{mark}: {printable(finding.message)}{where}"


#: A whole record id as the proxy makes them (``uuid4().hex``), accepted as ``--call`` as it is.
_FULL_ID = re.compile(r"[0-9a-f]{32}")
_NUMBER = re.compile(r"[0-9]+")


def _findings_by_half(record: CallRecord) -> tuple[list[RecordFinding], list[RecordFinding]]:
    """The findings of the request, and those of the response."""
    # Each finding under the value it concerns: a multicall's in the half its path points into.
    in_request = [
        f
        for f in record.findings
        if f.where == "request" or (f.where == "multicall" and (f.path or "").startswith("params"))
    ]
    return in_request, [f for f in record.findings if f not in in_request]


def reply_lines(record: CallRecord, style: Style) -> Iterator[str]:
    """The decoded answer as ``show --call`` prints it: typed lines (``result: i4 5``,
    ``fault 4: ...``), each finding under its value. Nothing when the answer did not decode."""
    if record.reply is not None:
        yield from _tree_with_findings(record.reply, _findings_by_half(record)[1], style)


def _find(path: Path, reader: CaptureReader, key: str) -> CallRecord:
    """The call ``key`` names: its number (the # column), ``id:PREFIX``, or its whole id.

    A number that no call has is an error (never an id prefix by chance), and so is an id
    prefix that matches no call or several.
    """
    text = key.strip().lower()
    if _NUMBER.fullmatch(text):
        number = int(text)
        for record in _records(reader, path):
            if record.seq == number:
                return record
        raise CliError(
            f"no call {key!r} in {path}: no call has that number (the # column); "
            "for an id prefix write id:PREFIX",
            EXIT_INPUT,
        )
    if text.startswith("id:"):
        prefix = text[3:].strip()
    elif _FULL_ID.fullmatch(text):
        prefix = text
    else:
        raise CliError(
            f"--call {key!r}: give a call number (the # column), id:PREFIX or a whole id",
            EXIT_USAGE,
        )
    if not prefix:
        raise CliError("--call id: needs the first characters of a call id", EXIT_USAGE)
    by_id: list[CallRecord] = []
    for record in _records(reader, path):
        if record.id.startswith(prefix):
            by_id.append(record)
            if len(by_id) > 1:
                raise CliError(
                    f"{key!r} matches several call ids in {path}; give more of the id",
                    EXIT_USAGE,
                )
    if by_id:
        return by_id[0]
    raise CliError(f"no call {key!r} in {path}: no call id starts with {prefix!r}", EXIT_INPUT)


def _body_text(body: bytes | None, encoding: str | None) -> str:
    if body is None:
        return "(none)"
    if encoding and encoding.lower() not in ("identity", ""):
        encoding = printable(encoding)
        return f"({len(body)} bytes, content-encoding {encoding}; the decoded form is above)"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    # Raw bytes from the wire: every control character but tab and newline is escaped.
    return printable(text, multiline=True)


def _tree(nodes: Iterable[tuple[str, Any]], depth: int = 1) -> Iterator[str]:
    for text, children in nodes:
        yield "  " * depth + printable(text)
        yield from _tree(children, depth + 1)


def _native_detail(record: CallRecord, style: Style, section: Any) -> None:
    """The rest of ``show --call`` for a call of another protocol: its halves as their codec's
    view words them (header, typed values; rpcspy.oncrpc.view, rpcspy.rpyc.view), problems, and
    the bytes of both halves as a hexdump."""
    out = sys.stdout
    response = record.response
    view = _native_view(record.protocol)
    nodes = view.detail(record.request.native, None if response is None else response.native)
    for title, children in nodes:
        section(printable(title))
        for line in _tree(children):
            out.write(line + "\n")
    if record.problems:
        section("problems")
        for problem in record.problems:
            out.write(f"  {style(printable(problem.message), 'magenta')}\n")
    halves = (("request", record.request), ("response", response))
    for name, half in halves:
        body = None if half is None else half.body
        size = "none" if body is None else plural(len(body), "byte")
        section(f"raw {name} ({size})")
        for line in hexdump(body or b""):
            out.write(f"  {line}\n")


def show_call(path: Path, key: str, *, as_json: bool = False, raw: bool = False) -> int:
    """Print one call in full: timing, peers, decoded request and response, problems, headers."""
    reader = open_capture(path)
    record = _find(path, reader, key)
    out = sys.stdout
    if as_json:
        out.write(_json_line(record_to_json(record)))
        return _finish(reader, path)
    style = Style(out)

    def section(title: str) -> None:
        out.write("\n" + style(title, "bold", "cyan") + "\n")

    # Every text below but our own words comes from the capture, and so from peers: escaped
    # (``printable``) before colour is added.
    ident = printable(f"  id {record.id}  origin {record.origin}")
    out.write(style(f"call #{record.seq}", "bold") + ident + "\n")
    when = _datetime(record.started)
    if when is None:
        started = f"{record.started!r} (not a time a clock can show)"
    else:
        started = when.isoformat(sep=" ", timespec="milliseconds")
    out.write(f"  time     {started}  duration {time_text(record)}  size {size_text(record)}\n")
    out.write(f"  client   {_peer(record.client)}  ->  server {_peer(record.server)}\n")
    if record.protocol != "xmlrpc":
        where = printable(f"{record.transport} {record.host}:{record.port}")
        out.write(f"  {record.protocol:8} {where}\n")
    else:
        url = printable(f"{record.scheme}://{record.host}:{record.port}{record.path}")
        status = record.status if record.status is not None else "-"
        out.write(f"  http     POST {url} -> {status}\n")
    out.write(f"  outcome  {printable(call_status(record))}\n")
    if record.error:
        out.write(f"  error    {style(printable(record.error), 'red')}\n")
    if record.protocol != "xmlrpc":
        _native_detail(record, style, section)
        return _finish(reader, path)

    in_request = _findings_by_half(record)[0]
    section("request")
    if record.call is not None:
        for line in _tree_with_findings(record.call, in_request, style):
            out.write(f"  {line}\n")
    else:
        out.write("  (not decoded)\n")
    section("response")
    if record.reply is not None:
        for line in reply_lines(record, style):
            out.write(f"  {line}\n")
    else:
        out.write("  (none)\n")
    if record.is_multicall:
        section(f"multicall ({plural(len(record.subcalls), 'sub-call')})")
        for sub in record.subcalls:
            result = "(no response)" if sub.result is None else format_response(sub.result)
            out.write(f"  [{sub.index}] {printable(f'{format_call(sub.call)} -> {result}')}\n")
    if record.problems:
        section("problems")
        for problem in record.problems:
            out.write(f"  {style(printable(problem.message), 'magenta')}\n")
    section("request headers")
    for name, value in record.request.headers:
        out.write(f"  {printable(name)}: {printable(value)}\n")
    section("response headers")
    for name, value in () if record.response is None else record.response.headers:
        out.write(f"  {printable(name)}: {printable(value)}\n")
    if raw:
        section("raw request body")
        request, response = record.request, record.response
        out.write(_body_text(request.body, request.content_encoding) + "\n")
        section("raw response body")
        body, encoding = (
            (None, None) if response is None else (response.body, response.content_encoding)
        )
        out.write(_body_text(body, encoding) + "\n")
    return _finish(reader, path)
