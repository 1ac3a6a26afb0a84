"""One call in full: typed tree, pretty XML, HTTP headers and timing.

A call of another protocol (ONC RPC, RPyC) shows the tree its codec's view lays out (header,
typed arguments and result; the operation and netrefs) and, in the second tab, its raw bytes
as a hexdump instead of XML."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static, TabbedContent, TabPane, Tabs

from rpcspy.capture._content import ContentEncodingError, decode_content
from rpcspy.capture.hexdump import hexdump
from rpcspy.capture.index import CaptureIndex
from rpcspy.capture.summary import time_text
from rpcspy.export.script import call_url
from rpcspy.tui import messages
from rpcspy.tui.format import format_instant, format_size, native_view, outcome
from rpcspy.tui.widgets.key_bar import KeyBar
from rpcspy.tui.widgets.title_bar import TitleBar
from rpcspy.tui.widgets.value_tree import ValueTree, finding_line
from rpcspy.xmlrpc.messages import DEFAULT_LIMITS, Fault
from rpcspy.xmlrpc.render import plural

if TYPE_CHECKING:
    from rpcspy.capture.record import CallRecord

__all__ = ["DetailScreen", "decode_body", "pretty_xml"]

#: Bodies longer than this are shown cut (highlighting megabytes would stall the UI).
_XML_SHOW_MAX = 200_000
#: The widget that takes the keys when a tab is shown (the tree, or the pane's scroller).
TAB_FOCUS = {"tab-tree": "#value-tree", "tab-xml": "#xml-scroll", "tab-http": "#http-scroll"}


def decode_body(body: bytes | None, encoding: str | None) -> bytes | None:
    """A body without its content-encoding (as recorded when it cannot be undone)."""
    if body is None:
        return None
    try:
        return decode_content(body, encoding, DEFAULT_LIMITS.max_bytes)
    except ContentEncodingError:
        return body


def pretty_xml(body: bytes) -> str:
    """The XML indented for reading; the text as it is when it does not parse."""
    from lxml import etree

    try:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            remove_blank_text=True,
            huge_tree=False,
            load_dtd=False,
        )
        root = etree.fromstring(body, parser)
        return str(etree.tostring(root, pretty_print=True, encoding="unicode"))
    except (etree.XMLSyntaxError, ValueError):
        return body.decode("utf-8", errors="replace")


def xml_text(body: bytes | None, encoding: str | None) -> str:
    """A body as indented XML, cut when huge; empty for no body."""
    if body is None:
        return ""
    plain = decode_body(body, encoding) or b""
    text = pretty_xml(plain[: _XML_SHOW_MAX * 2])
    if len(text) > _XML_SHOW_MAX:
        text = text[:_XML_SHOW_MAX] + f"\n<!-- cut: {len(plain):,} bytes in all -->"
    return text


def hex_text(body: bytes | None) -> str:
    """Raw bytes as a hexdump (``rpcspy.capture.hexdump``); empty for no body."""
    return "" if body is None else "\n".join(hexdump(body))


def where_text(record: CallRecord) -> str:
    """Where the call went: ``http://host:port/path``, or ``oncrpc tcp host:port``."""
    if record.protocol == "xmlrpc":
        return call_url(record)
    return f"{record.protocol} {record.transport} {record.host}:{record.port}"


def _hex_view(title: str, text: str) -> Text:
    if not text:
        return Text(f"{title}: none", "dim")
    return Text(text, no_wrap=True)


def _xml_view(title: str, text: str) -> Text | Syntax:
    if not text:
        return Text(f"{title}: none", "dim")
    return Syntax(text, "xml", theme="ansi_dark", word_wrap=True, background_color="default")


def http_text(record: CallRecord, tz: dt.tzinfo | None = None) -> Text:
    """Timing, peers, status, problems and both header lists, as text."""
    out = Text()

    def head(title: str) -> None:
        out.append(f"\n{title}\n", "bold underline")

    def row(name: str, value: str, style: str = "") -> None:
        out.append(f"  {name:<18}", "dim")
        out.append(f"{value}\n", style)

    label, _kind = outcome(record)
    out.append(f"call #{record.seq}", "bold")
    out.append(f"   id {record.id}   origin {record.origin}\n")
    head("timing")
    row("started", format_instant(record.started, tz))
    if record.ended is not None:
        row("ended", format_instant(record.ended, tz))
    row("duration", time_text(record))
    head("exchange")
    if record.protocol == "xmlrpc":
        row("url", f"POST {call_url(record)}")
        row("status", "-" if record.status is None else str(record.status))
    else:
        row("protocol", f"{record.protocol} over {record.transport}")
    row("outcome", label)
    row("client", "-" if record.client is None else f"{record.client[0]}:{record.client[1]}")
    row("server", "-" if record.server is None else f"{record.server[0]}:{record.server[1]}")
    request, response = record.request, record.response
    req_len = request.size or 0
    resp_len = None if response is None else response.size
    row(
        "request body",
        f"{format_size(req_len)} ({req_len:,} bytes)"
        + (f", {request.content_encoding}" if request.content_encoding else ""),
    )
    row(
        "response body",
        "-"
        if resp_len is None or response is None
        else f"{format_size(resp_len)} ({resp_len:,} bytes)"
        + (f", {response.content_encoding}" if response.content_encoding else ""),
    )
    if record.redacted:
        row("redacted", "secret header or query values were redacted when recorded")
    if record.error:
        head("error")
        out.append(f"  {record.error}\n", "bold red")
    if record.problems:
        head("problems")
        for p in record.problems:
            out.append(f"  {p.message}\n", "bold red")
    head("request headers")
    for k, v in record.request.headers:
        out.append(f"  {k}: ", "bold")
        out.append(f"{v}\n")
    head("response headers")
    response_headers = () if record.response is None else record.response.headers
    if not response_headers:
        out.append("  (none)\n", "dim")
    for k, v in response_headers:
        out.append(f"  {k}: ", "bold")
        out.append(f"{v}\n")
    return out


class DetailScreen(Screen[None]):
    """Everything about one call (or one sub-call of a multicall)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("1", "tab('tab-tree')", "Tree", show=False),
        Binding("2", "tab('tab-xml')", "XML", show=False),
        Binding("3", "tab('tab-http')", "HTTP", show=False),
        Binding("c", "copy('curl')", "Copy curl"),
        Binding("y", "copy('python')", "Copy Python"),
        Binding("C", "save('curl')", "Save curl", show=False),
        Binding("Y", "save('python')", "Save Python", show=False),
        Binding("r", "replay", "Replay"),
        Binding("e", "edit", "Edit+send"),
        Binding("question_mark,f1", "help", "Help"),
    ]

    def __init__(
        self, store: CaptureIndex, row: int, sub: int | None = None, *, tz: dt.tzinfo | None = None
    ) -> None:
        super().__init__(id="detail")
        self.store = store
        self.tz = tz
        self.row = row
        self.sub = sub
        self.record = store.record(row)
        #: The bodies as shown in the XML tab.
        request, response = self.record.request, self.record.response
        #: Another protocol's bytes are shown as a hexdump in the second tab.
        self.native = self.record.protocol != "xmlrpc"
        if self.native:
            self.request_xml = hex_text(request.body)
            self.response_xml = hex_text(None if response is None else response.body)
            return
        self.request_xml = xml_text(request.body, request.content_encoding)
        self.response_xml = (
            xml_text(None, None)
            if response is None
            else xml_text(response.body, response.content_encoding)
        )

    def compose(self) -> ComposeResult:
        rec = self.record
        label, kind = outcome(rec)
        yield TitleBar()
        title = f"#{rec.seq}  {rec.method or '(not decoded)'}"
        if self.sub is not None and self.sub < len(rec.subcalls):
            title += f"  > sub-call {self.sub}: {rec.subcalls[self.sub].call.method}"
        colour = "red" if kind in ("problem", "error") else "yellow" if "fault" in kind else "green"
        summary = Text.assemble(
            (title, "bold"),
            "   ",
            (label, f"bold {colour}"),
            f"   {time_text(rec)}   {where_text(rec)}",
        )
        yield Static(summary, id="detail-summary")
        view = _hex_view if self.native else _xml_view
        with TabbedContent(id="detail-tabs"):
            with TabPane("Tree", id="tab-tree"):
                yield ValueTree("call", id="value-tree")
            with (
                TabPane("Bytes" if self.native else "XML", id="tab-xml"),
                VerticalScroll(id="xml-scroll"),
            ):
                yield Static(Text("request", "bold underline"), classes="xml-title")
                yield Static(view("request", self.request_xml), id="xml-request")
                yield Static(Text("response", "bold underline"), classes="xml-title")
                yield Static(view("response", self.response_xml), id="xml-response")
            with TabPane("HTTP", id="tab-http"), VerticalScroll(id="http-scroll"):
                yield Static(http_text(rec, self.tz), id="http-text")
        yield KeyBar(drop=("command_palette", "edit", "replay", "copy('python')"))

    def on_mount(self) -> None:
        tree = self.query_one(ValueTree)
        rec = self.record
        if self.native:
            response = rec.response
            view = native_view(rec.protocol)
            tree.show_nodes(view.detail(rec.request.native, response and response.native))
        elif self.sub is not None and self.sub < len(rec.subcalls):
            entry = rec.subcalls[self.sub]
            tree.show_message(entry.call, entry.result, response_note="no result for this sub-call")
        else:
            note = "no response: " + rec.error if rec.error else "no response"
            tree.show_message(
                rec.call,
                rec.reply,
                response_note=note,
                request_findings=rec.findings_in("request"),
                response_findings=rec.findings_in("response"),
            )
            if rec.is_multicall:
                node = tree.root.add(
                    Text(plural(len(rec.subcalls), "sub-call"), "bold"), expand=True
                )
                for finding in rec.findings_in("multicall"):
                    node.add_leaf(finding_line(finding), data=("finding", finding))
                for entry in rec.subcalls:
                    child = node.add(
                        Text.assemble((f"[{entry.index}] ", "dim"), (entry.call.method, "bold")),
                        expand=False,
                    )
                    for i, p in enumerate(entry.call.params):
                        tree._add_value(child, f"params[{i}]", p)
                    if isinstance(entry.result, Fault):
                        child.add_leaf(
                            Text(f"fault {entry.result.code}: {entry.result.string}", "yellow")
                        )
                    elif entry.result is not None:
                        tree._add_value(child, "result", entry.result.value)
        tree.focus()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.focus_tab(tab)

    def focus_tab(self, tab: str) -> None:
        """Give the keys to what ``tab`` shows (the tree takes ↑ ↓ Space at once)."""
        selector = TAB_FOCUS.get(tab)
        if selector is not None:
            self.query_one(selector).focus()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # A tab shown by a click or by ``1`` ``2`` ``3`` hides what had the focus: hand it on.
        # Moving along the tab bar itself with ← → keeps the focus there.
        if isinstance(self.focused, Tabs) or event.pane.id is None:
            return
        self.focus_tab(event.pane.id)

    def action_help(self) -> None:
        self.post_message(messages.ShowHelp())

    def action_copy(self, kind: str) -> None:
        self.post_message(messages.CopyCall(self.record, kind))

    def action_save(self, kind: str) -> None:
        self.post_message(messages.SaveCall(self.record, kind))

    def action_replay(self) -> None:
        self.post_message(messages.ReplayCalls([self.row]))

    def action_edit(self) -> None:
        self.post_message(messages.EditCall(self.row))
