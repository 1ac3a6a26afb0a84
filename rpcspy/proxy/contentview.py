"""The ``XML-RPC`` contentview: mitmproxy's console, mitmweb and mitmdump show calls decoded, typed.

A call renders as a one-line signature and then one line per value with its wire type::

    echo(string "hello", i4 42)

    call echo
      params[0]: string "hello"
      params[1]: i4 42

A ``system.multicall`` lists its sub-calls, and its response pairs each result with its call.
Bodies are read tolerantly (``rpcspy.xmlrpc.tolerant``): what a peer sends beyond the spec is
shown decoded, each deviation marked under the value it concerns (``! warning rule``; the placing
is ``rpcspy.capture.findings_view``'s, as in ``rpcspy show`` and the TUI) and listed after the view
as a finding, with its value path and sentence.
"""

from __future__ import annotations

from collections.abc import Iterator

from mitmproxy import contentviews, http
from mitmproxy.contentviews import Contentview, Metadata, SyntaxHighlight

from rpcspy.capture.findings_view import place_findings, tree_lines
from rpcspy.proxy.detect import sniff_body
from rpcspy.xmlrpc import (
    Array,
    CodecError,
    Fault,
    MethodCall,
    MethodResponse,
    Struct,
    Value,
    expand_multicall,
    is_multicall,
    pair_multicall,
)
from rpcspy.xmlrpc.findings import Finding
from rpcspy.xmlrpc.render import format_message_tree, format_short, format_typed, plural
from rpcspy.xmlrpc.tolerant import read_message, read_request

__all__ = [
    "XmlRpcContentview",
    "register_contentview",
    "render_findings",
    "render_message",
]

#: Above the generic XML/HTML view (1 for an XML content type, 0.4 for XML-looking data).
PRIORITY = 2.0
_ARG_LIMIT = 40


def _typed_short(value: Value) -> str:
    if isinstance(value, Struct | Array):
        return f"{value.label} {format_short(value, _ARG_LIMIT)}"
    return format_typed(value)


def format_signature(call: MethodCall) -> str:
    """``echo(string "hello", i4 42)``: the call on one line, each argument with its type."""
    return f"{call.method}({', '.join(_typed_short(p) for p in call.params)})"


def _format_result(result: MethodResponse | Fault | None) -> str:
    if result is None:
        return "(no result)"
    if isinstance(result, Fault):
        return f"fault {result.code}: {result.string}"
    return _typed_short(result.value)


def _tree(
    message: MethodCall | MethodResponse | Fault, findings: tuple[Finding, ...]
) -> Iterator[str]:
    """The typed tree, a ``! severity rule`` mark under the value each finding concerns."""
    if not findings:
        yield from format_message_tree(message)
        return
    lines = list(tree_lines(message))
    placed = place_findings([path for path, _ in lines], findings)
    for i, (_, text) in enumerate(lines):
        yield text
        pad = " " * (len(text) - len(text.lstrip(" ")) + 2)
        for f in placed.get(i, ()):
            yield f"{pad}! {f.severity} {f.rule}"


def render_message(
    message: MethodCall | MethodResponse | Fault,
    request: MethodCall | None = None,
    findings: tuple[Finding, ...] = (),
) -> Iterator[str]:
    """The contentview's text, line by line. ``request`` pairs a multicall response with its
    calls; each of ``findings`` is marked under the value it concerns."""
    if isinstance(message, MethodCall):
        yield format_signature(message)
        yield ""
        yield from _tree(message, findings)
        if is_multicall(message):
            try:
                calls = expand_multicall(message)
            except CodecError as exc:
                yield ""
                yield f"multicall: {exc.message}"
            else:
                yield ""
                yield f"multicall: {plural(len(calls), 'call')}"
                for i, call in enumerate(calls):
                    yield f"  [{i}] {format_signature(call)}"
        return
    yield f"-> {_format_result(message)}"
    yield ""
    yield from _tree(message, findings)
    if request is not None and isinstance(message, MethodResponse) and is_multicall(request):
        try:
            calls = expand_multicall(request)
            results = pair_multicall(calls, message)
        except CodecError as exc:
            yield ""
            yield f"multicall: {exc.message}"
            return
        yield ""
        yield f"multicall: {plural(len(calls), 'result')}"
        for i, (call, result) in enumerate(zip(calls, results, strict=True)):
            yield f"  [{i}] {format_signature(call)} -> {_format_result(result)}"


def render_findings(findings: tuple[Finding, ...]) -> Iterator[str]:
    """The findings of a body, one line each: ``! warning rule at path: sentence (line N)``."""
    if not findings:
        return
    yield ""
    yield f"conformance findings ({len(findings)}):"
    for f in findings:
        at = f" at {f.path}" if f.path else ""
        line = f" (line {f.line})" if f.line is not None else ""
        yield f"  ! {f.severity} {f.rule}{at}: {f.message}{line}"


def _request_call(metadata: Metadata) -> MethodCall | None:
    """The call a response answers, when the flow is at hand and its request decodes."""
    flow = metadata.flow
    if not isinstance(flow, http.HTTPFlow) or metadata.http_message is not flow.response:
        return None
    try:
        body = flow.request.get_content(strict=False)
        if body is None:
            return None
        return read_request(body).message
    except (CodecError, ValueError):
        return None


class XmlRpcContentview(Contentview):
    """Shows ``methodCall`` / ``methodResponse`` bodies decoded, with every value's type."""

    @property
    def name(self) -> str:
        return "XML-RPC"

    @property
    def syntax_highlight(self) -> SyntaxHighlight:
        return "none"

    def prettify(self, data: bytes, metadata: Metadata) -> str:
        """Decode and render; raises ValueError (mitmproxy then falls back to raw) when invalid."""
        try:
            message, findings = read_message(data)
        except CodecError as exc:
            raise ValueError(f"not valid XML-RPC: {exc.message}") from exc
        lines = [
            *render_message(message, _request_call(metadata), findings),
            *render_findings(findings),
        ]
        return "\n".join(lines) + "\n"

    def render_priority(self, data: bytes, metadata: Metadata) -> float:
        """Above the XML view for a body whose root is ``methodCall``/``methodResponse``."""
        return PRIORITY if sniff_body(data) is not None else -1.0


xmlrpc_view = XmlRpcContentview()


def register_contentview() -> None:
    """Add the XML-RPC contentview to mitmproxy's registry (once; later calls do nothing)."""
    if xmlrpc_view.name.lower() not in contentviews.registry:
        contentviews.add(xmlrpc_view)
