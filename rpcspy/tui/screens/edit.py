"""Edit a call (method name, typed params) and send it; the sent call joins the list as resent.

The editor also composes a new call from nothing (``record`` None, the ``n`` key): the method
name then completes from the target's ``system.listMethods``, fetched in a worker thread; a
server without introspection simply gives no completion. A new call may start pre-filled
(``call``: the API pane's method with params of its signature's types).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.suggester import SuggestFromList
from textual.timer import Timer
from textual.widgets import Input, Label, OptionList, Static, Tree
from textual.widgets.option_list import Option
from textual.widgets.tree import TreeNode

from rpcspy.capture.index import CaptureIndex
from rpcspy.tui.editing import (
    EDIT_TYPES,
    PathKey,
    clone,
    convert,
    edit_text,
    get_at,
    parse_scalar,
    remove_at,
    rename_member,
    set_at,
)
from rpcspy.tui.screens.prompt import TextPrompt
from rpcspy.tui.screens.replay import TargetChosen, default_target, side_text
from rpcspy.tui.widgets.filter_bar import FilterInput
from rpcspy.tui.widgets.key_bar import KeyBar
from rpcspy.tui.widgets.title_bar import TitleBar
from rpcspy.tui.widgets.value_tree import value_label
from rpcspy.xmlrpc.messages import MethodCall, MethodResponse
from rpcspy.xmlrpc.values import ALL_TYPES, Array, String, Struct, Value

if TYPE_CHECKING:
    from rpcspy.capture.record import CallRecord

__all__ = ["EditScreen", "MethodInput", "TypePicker", "list_methods"]

#: How many method names the status line shows while the name is typed.
_SHOWN_MATCHES = 6


def list_methods(target: str) -> list[str] | None:
    """The method names ``system.listMethods`` of ``target`` returns; None when it has none.

    Any failure (no server, a fault, an answer that is not a list of strings) is None: the
    caller then offers no completion and says nothing.
    """
    from rpcspy.replay.send import send_call

    try:
        record = send_call(MethodCall("system.listMethods", ()), target, timeout=5.0)
    except ValueError:
        return None
    reply = record.reply
    if record.error or not isinstance(reply, MethodResponse):
        return None
    value = reply.value
    if not isinstance(value, Array) or not all(isinstance(v, str) for v in value):
        return None
    return sorted({str.__str__(v) for v in value if isinstance(v, str)})


class ValuePrompt(TextPrompt):
    """Text for a scalar of a given type, checked as it is submitted."""

    #: Spaces at the ends of a string value matter.
    strip = False

    def __init__(self, title: str, tag: str, value: str, like: Value | None = None) -> None:
        super().__init__(title, value)
        self.tag = tag
        #: The value being edited (a wide i4/int keeps its class: ``parse_scalar``).
        self.like = like

    def validate(self, value: str) -> str | None:
        try:
            parse_scalar(self.tag, value, like=self.like)
        except ValueError as exc:
            return str(exc)
        return None


class TypePicker(ModalScreen[str | None]):
    """Choose a wire type."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: str) -> None:
        super().__init__(classes="prompt")
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box"):
            yield Label("Change the type to", id="prompt-title")
            options = [
                Option(ALL_TYPES[tag].label if tag else "string (untyped)", id=tag or "untyped")
                for tag in EDIT_TYPES
            ]
            yield OptionList(*options, id="type-list")

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        ol.styles.height = 14
        key = self.current or "untyped"
        for i, tag in enumerate(EDIT_TYPES):
            if (tag or "untyped") == key:
                ol.highlighted = i
        ol.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        oid = event.option.id or ""
        self.dismiss("" if oid == "untyped" else oid)

    def action_cancel(self) -> None:
        self.dismiss(None)


class MethodInput(FilterInput):
    """The method name; Tab accepts the completion shown (names from ``system.listMethods``)."""


class ParamsTree(Tree[PathKey]):
    """The params as an editable tree; each node's data is its path from the params array."""


class EditScreen(Screen[None]):
    """Method name on top, params tree on the left, the response on the right."""

    #: ``on_mount`` chooses: the params tree, or the method name of a new call.
    AUTO_FOCUS = ""

    class Sent(Message):
        """A call was sent: the app adds it to the list and hands it back with ``show_sent``."""

        def __init__(self, editor: EditScreen, record: CallRecord) -> None:
            super().__init__()
            self.editor = editor
            self.record = record

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+s", "send", "Send", priority=True),
        Binding("enter", "edit_value", "Edit value", show=False),
        Binding("v", "edit_value", "Value"),
        Binding("t", "change_type", "Type"),
        Binding("a", "add", "Add"),
        Binding("n", "rename", "Rename", show=False),
        Binding("d,delete", "delete", "Delete"),
    ]

    def __init__(
        self,
        store: CaptureIndex,
        record: CallRecord | None,
        *,
        target: str | None = None,
        call: MethodCall | None = None,
    ) -> None:
        """Edit ``record``'s call, or a new call when ``record`` is None: empty, or pre-filled
        with ``call`` (its method and a copy of its params).

        ``target`` is the session's chosen server (``--target``, or the last one sent to);
        without it, the server the call was recorded against.
        """
        super().__init__(id="edit")
        assert record is None or record.call is not None
        assert record is None or call is None
        self.store = store
        self.record = record
        if record is not None:
            call = record.call
        self.params: Array = Array(clone(p) for p in call.params) if call is not None else Array()
        self.method = call.method if call is not None else ""
        #: The target as given by the app (the session's choice), None when it had none.
        self.given_target = target
        self.default = default_target(record) if record is not None else ""
        self.target = target or self.default
        self.sending = False
        self.sent: list[CallRecord] = []
        #: Method names of the target's ``system.listMethods`` (empty: none known).
        self.methods: list[str] = []
        self._methods_of: str | None = None
        self._target_timer: Timer | None = None

    @property
    def is_new(self) -> bool:
        """Is this a call composed from nothing (no recorded call behind it)?"""
        return self.record is None

    def compose(self) -> ComposeResult:
        yield TitleBar()
        # One full-width line each: long method names and URLs show whole at 80 columns.
        with Horizontal(id="edit-method-row", classes="edit-row"):
            yield Label("method ", id="edit-method-label")
            yield MethodInput(
                self.method,
                placeholder="method name" + (" (Tab completes)" if self.is_new else ""),
                id="edit-method",
                select_on_focus=False,
                compact=True,
            )
        with Horizontal(id="edit-target-row", classes="edit-row"):
            yield Label("target ", id="edit-target-label")
            yield Input(
                self.target,
                placeholder="http://host:port[/path]",
                id="edit-target",
                compact=True,
            )
        with Horizontal(id="edit-main"):
            yield ParamsTree("params", id="edit-tree")
            with VerticalScroll(id="edit-response"):
                yield Static(Text("Ctrl+S sends the call", "dim"), id="edit-result")
        yield Static("", id="edit-status")
        yield KeyBar()

    def on_mount(self) -> None:
        self.rebuild()
        if self.is_new and self.method:
            self.title = "new call"
            self.query_one(ParamsTree).focus()
            self._status(
                f"{len(self.params)} param{'s' if len(self.params) != 1 else ''} of the "
                "method's types · v: value · t: type · a: add · d: delete · ctrl+s: send"
            )
        elif self.is_new:
            self.title = "new call"
            self.query_one("#edit-method", Input).focus()
            self._status(
                "type the method name (Tab completes) · Enter: to the params · "
                "a: add a param · ctrl+s: send"
            )
        else:
            self.query_one(ParamsTree).focus()
            self._status("v: value · t: type · a: add · n: rename · d: delete · ctrl+s: send")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # The names are asked for when the method field is first used (at once for a new call).
        if event.widget.id == "edit-method":
            self._fetch_methods(self.query_one("#edit-target", Input).value)

    # ------------------------------------------------------------ method names

    def _fetch_methods(self, target: str) -> None:
        """Ask ``target`` for its method names (once per target), in a worker thread."""
        target = target.strip()
        if not target or target == self._methods_of:
            return
        self._methods_of = target
        self._list_methods(target)

    @work(thread=True, exclusive=True, group="list-methods", exit_on_error=False)
    def _list_methods(self, target: str) -> None:
        names = list_methods(target)
        self.app.call_from_thread(self._got_methods, target, names or [])

    def _got_methods(self, target: str, names: list[str]) -> None:
        if target != self._methods_of:
            return  # the target changed meanwhile: its own answer follows
        self.methods = names
        method = self.query_one("#edit-method", Input)
        method.suggester = SuggestFromList(names, case_sensitive=False) if names else None
        if names and method.has_focus:
            self._show_matches(method.value)

    def _show_matches(self, typed: str) -> None:
        low = typed.lower()
        matches = [m for m in self.methods if m.lower().startswith(low)]
        if not matches:
            self._status(Text(f"no method of {len(self.methods)} starts with {typed!r}", "dim"))
            return
        shown = " · ".join(matches[:_SHOWN_MATCHES])
        more = f" (+{len(matches) - _SHOWN_MATCHES})" if len(matches) > _SHOWN_MATCHES else ""
        self._status(f"{shown}{more}   Tab completes")

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "edit-method":
            if self.methods:
                self._show_matches(event.value)
        elif event.input.id == "edit-target" and event.value != self.target:
            # Ask the new target for its methods once the typing pauses.
            if self._target_timer is not None:
                self._target_timer.stop()
            value = event.value
            self._target_timer = self.set_timer(0.6, lambda: self._fetch_methods(value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "edit-method":
            self.query_one(ParamsTree).focus()
        elif event.input.id == "edit-target":
            self._fetch_methods(event.value)
            self.query_one(ParamsTree).focus()

    def _status(self, text: str | Text) -> None:
        self.query_one("#edit-status", Static).update(text)

    # ------------------------------------------------------------ tree

    def rebuild(self, select: PathKey | None = None) -> None:
        """Redraw the tree from ``self.params``, expanded, with ``select`` under the cursor."""
        tree = self.query_one(ParamsTree)
        tree.clear()
        tree.root.data = ()
        tree.root.set_label(Text(f"params ({len(self.params)})", "bold"))
        wanted: list[TreeNode[PathKey]] = []

        def add(parent: TreeNode[PathKey], name: str, path: PathKey) -> None:
            value = get_at(self.params, path)
            if isinstance(value, Struct | Array):
                node = parent.add(value_label(name, value), data=path, expand=True)
                keys: list[int | str] = (
                    list(value.keys()) if isinstance(value, Struct) else list(range(len(value)))
                )
                for k in keys:
                    add(node, k if isinstance(k, str) else f"[{k}]", (*path, k))
            else:
                node = parent.add_leaf(value_label(name, value), data=path)
            if path == select:
                wanted.append(node)

        for i in range(len(self.params)):
            add(tree.root, f"params[{i}]", (i,))
        tree.root.expand()
        if wanted:
            self.call_after_refresh(tree.move_cursor, wanted[0])

    def _cursor_path(self) -> PathKey | None:
        node = self.query_one(ParamsTree).cursor_node
        return None if node is None else node.data

    def action_edit_value(self) -> None:
        path = self._cursor_path()
        if not path:
            self.action_add()
            return
        value = get_at(self.params, path)
        if isinstance(value, Struct | Array):
            self.notify(
                f"a {value.label} has no value of its own: a adds to it, t changes its type"
            )
            return
        tag = value.tag

        def done(text: str | None) -> None:
            if text is not None:
                set_at(self.params, path, parse_scalar(tag, text, like=value))
                self.rebuild(path)

        self.app.push_screen(
            ValuePrompt(f"{value.label} value", tag, edit_text(value), like=value), done
        )

    def action_change_type(self) -> None:
        path = self._cursor_path()
        if not path:
            return
        value = get_at(self.params, path)

        def done(tag: str | None) -> None:
            if tag is not None:
                set_at(self.params, path, convert(value, tag))
                self.rebuild(path)

        self.app.push_screen(TypePicker(value.tag), done)

    def action_add(self) -> None:
        path = self._cursor_path() or ()
        target = get_at(self.params, path) if path else self.params
        if not isinstance(target, Struct | Array):
            # On a scalar: add next to it, in its container.
            path = path[:-1]
            target = get_at(self.params, path) if path else self.params
        if isinstance(target, Array):
            target.append(String(""))
            self.rebuild((*path, len(target) - 1))
            return
        assert isinstance(target, Struct)

        def done(name: str | None) -> None:
            if name is None:
                return
            if name in target:
                self.notify(f"the struct already has a member {name!r}", severity="error")
                return
            target[name] = String("")
            self.rebuild((*path, name))

        self.app.push_screen(TextPrompt("name of the new struct member"), done)

    def action_rename(self) -> None:
        path = self._cursor_path()
        if not path or not isinstance(path[-1], str):
            self.notify("only struct members have names", severity="warning")
            return

        def done(name: str | None) -> None:
            if name is None:
                return
            try:
                rename_member(self.params, path, name)
            except ValueError as exc:
                self.notify(str(exc), severity="error")
                return
            self.rebuild((*path[:-1], name))

        self.app.push_screen(TextPrompt("new member name", str(path[-1])), done)

    def action_delete(self) -> None:
        path = self._cursor_path()
        if not path:
            return
        remove_at(self.params, path)
        parent = path[:-1]
        self.rebuild(parent or None)

    # ------------------------------------------------------------ sending

    def action_send(self) -> None:
        if self.sending:
            self.notify("still sending", severity="warning")
            return
        from rpcspy.replay.send import Target

        method = self.query_one("#edit-method", Input).value.strip()
        if not method:
            self._status(Text("the method name is empty", "bold red"))
            return
        target_text = self.query_one("#edit-target", Input).value
        if not target_text.strip():
            self._status(Text("enter the server's URL: http://host:port/RPC2", "bold red"))
            self.query_one("#edit-target", Input).focus()
            return
        try:
            target = Target.parse(target_text)
        except ValueError as exc:
            self._status(Text(str(exc), "bold red"))
            return
        if target.path is None:
            path = (self.record.path if self.record is not None else None) or "/RPC2"
            target = Target(target.scheme, target.host, target.port, path)
        if self.given_target is not None or target_text.strip() != self.default:
            # The user chose this server: it stays the target of the session.
            self.post_message(TargetChosen(target_text.strip()))
        call = MethodCall(method, tuple(clone(p) for p in self.params))
        self.sending = True
        self._status(f"sending {method} to {target.url}…")
        self._send(call, target)

    @work(thread=True, exclusive=True, group="resend", exit_on_error=False)
    def _send(self, call: MethodCall, target: object) -> None:
        from rpcspy.replay.send import send_call

        record = send_call(call, target, timeout=15.0)  # type: ignore[arg-type]
        self.app.call_from_thread(self._sent, record)

    def _sent(self, record: CallRecord) -> None:
        self.post_message(self.Sent(self, record))

    def show_sent(self, resent: CallRecord) -> None:
        """Show the answer to a sent call, as the list now holds it (marked resent)."""
        self.sending = False
        self.sent.append(resent)
        self.query_one("#edit-result", Static).update(side_text(resent, []))
        if resent.error:
            self._status(Text(f"no response: {resent.error}", "bold red"))
        else:
            label = side_text(resent, []).plain.splitlines()[0]
            self._status(f"sent as #{resent.seq} (in the list, marked ↻): {label}")
