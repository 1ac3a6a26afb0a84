"""A collapsible tree of typed XML-RPC values: every line shows its wire type.

Conformance findings are marked beside the value they concern: the node gets ``! rule`` in the
colour of the finding's severity (yellow warning, red error) and, as its first child, one line per
finding with its sentence. Where a finding goes is ``rpcspy.capture.findings_view``'s rule (the
deepest value whose path holds the finding's path; the message's head otherwise), as in
``rpcspy show`` and the contentview; a container holding a finding further down shows a ``!``
so that a collapsed one can be found.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from rpcspy.capture import RecordFinding
from rpcspy.capture.findings_view import holders, member_path, place_findings
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.render import format_scalar, plural
from rpcspy.xmlrpc.values import Array, Struct, Value

__all__ = ["ValueTree", "finding_line", "value_label"]

#: Children added per expansion of a huge array or struct; the rest behind a "more" node.
_PAGE = 500
#: Levels of another protocol's tree shown open at first (deeper ones open on →).
_OPEN_LEVELS = 6
#: The head of a message in the paths handed to ``place_findings``.
_HEAD = "\0head"
SEVERITY_STYLE = {"warning": "bold yellow", "error": "bold red"}


def finding_line(finding: RecordFinding) -> Text:
    """``! warning int-out-of-range: sentence (line 3)``, coloured by severity."""
    where = f" (line {finding.line})" if finding.line is not None else ""
    return Text.assemble(
        (f"! {finding.severity} {finding.rule}", SEVERITY_STYLE.get(finding.severity, "bold")),
        f": {finding.message}{where}",
        no_wrap=True,
    )


def _mark(label: Text, findings: Sequence[RecordFinding], holds: bool) -> Text:
    if findings:
        worst = "error" if any(f.severity == "error" for f in findings) else "warning"
        label.append("  ")
        label.append(
            "! " + " ".join(dict.fromkeys(f.rule for f in findings)), SEVERITY_STYLE[worst]
        )
    elif holds:
        label.append("  !", "yellow")
    return label


def _paths(value: Value, path: str) -> Iterator[str]:
    """Every value path inside ``value`` (itself first), as the tree names its nodes."""
    stack = [(value, path)]
    while stack:
        v, where = stack.pop()
        yield where
        if isinstance(v, Struct):
            stack.extend((item, member_path(where, k)) for k, item in v.items())
        elif isinstance(v, Array):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(v))


def value_label(name: str | None, value: Value) -> Text:
    """``name  i4  42`` (name bold, type dimmed)."""
    text = Text(no_wrap=True)
    if name is not None:
        text.append(name, "bold")
        text.append("  ")
    text.append(value.label, "italic dim")
    text.append("  ")
    if isinstance(value, Struct):
        text.append(f"{{{plural(len(value), 'member')}}}", "dim")
    elif isinstance(value, Array):
        text.append(f"[{plural(len(value), 'item')}]", "dim")
    else:
        scalar = format_scalar(value)
        if len(scalar) > 400:
            scalar = scalar[:399] + "…"
        text.append(scalar)
    return text


class ValueTree(Tree[object]):
    """Request params and result (or fault) as a tree; containers fill in when expanded.

    Besides ``Tree``'s keys (↑ ↓ PgUp PgDn Home End, Space, Enter, Shift+arrows): → and ←
    open and close a container (or step into it / out to its parent), ``j`` ``k`` ``g`` ``G``
    as in the call list. The help screen and docs/tui.md list them all (a test checks).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right,l", "open_node", "Open", show=False),
        Binding("left,h", "close_node", "Close", show=False),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_home", "First", show=False),
        Binding("G", "scroll_end", "Last", show=False),
    ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        #: Findings by the path of the node they show on, and the paths of the containers
        #: holding one further down (for the message shown now).
        self._at: dict[str, list[RecordFinding]] = {}
        self._holding: set[str] = set()
        #: The value path of each value node (by node id), to name its children's.
        self._node_paths: dict[int, str] = {}

    def show_message(
        self,
        call: MethodCall | None,
        response: MethodResponse | Fault | None,
        *,
        response_note: str | None = None,
        request_findings: Sequence[RecordFinding] = (),
        response_findings: Sequence[RecordFinding] = (),
    ) -> None:
        """Show a call and its response (either may be missing), each finding marked beside
        the value it concerns."""
        self.clear()
        self._at = {}
        self._holding = set()
        self._node_paths = {}
        root = self.root
        root.expand()
        if call is not None:
            self._place(
                [p for i, v in enumerate(call.params) for p in _paths(v, f"params[{i}]")],
                request_findings,
                "request",
            )
            req = root.add(
                self._marked(Text.assemble(("call ", "bold"), (call.method, "bold")), "request"),
                expand=True,
            )
            self._finding_leaves(req, "request")
            if not call.params:
                req.add_leaf(Text("(no params)", "dim"))
            for i, p in enumerate(call.params):
                self._add_value(req, f"params[{i}]", p, expand=True, path=f"params[{i}]")
        else:
            root.add_leaf(Text("request not decoded (see XML and HTTP)", "dim"))
            self._loose_findings(root, request_findings)
        if isinstance(response, Fault):
            self._place(
                [p for k, v in response.value.items() for p in _paths(v, member_path("fault", k))],
                response_findings,
                "fault",
            )
            node = root.add(
                self._marked(
                    Text.assemble(
                        ("fault ", "bold"), (str(response.code), "bold"), f"  {response.string}"
                    ),
                    "fault",
                ),
                expand=True,
            )
            self._finding_leaves(node, "fault")
            for k, v in response.value.items():
                self._add_value(node, k, v, path=member_path("fault", k))
        elif response is not None:
            self._place(list(_paths(response.value, "result")), response_findings, "response")
            node = root.add(self._marked(Text("response", style="bold"), "response"), expand=True)
            self._finding_leaves(node, "response")
            self._add_value(node, "result", response.value, expand=True, path="result")
        else:
            root.add_leaf(Text(response_note or "no response", "dim"))
            self._loose_findings(root, response_findings)

    def show_nodes(self, nodes: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Show a call of another protocol as its codec's view lays it out (``detail`` of
        ``rpcspy.oncrpc.view`` or ``rpcspy.rpyc.view``): labelled lines, each over its own.
        The top lines (call, arguments, reply, result) start open, the values inside too, up
        to a few levels."""
        self.clear()
        self._at = {}
        self._holding = set()
        self._node_paths = {}
        root = self.root
        root.expand()
        for title, children in nodes:
            head = root.add(Text(title, "bold"), expand=True)
            self._add_nodes(head, children, 1)

    def _add_nodes(self, parent: TreeNode[object], nodes: Sequence[Any], depth: int) -> None:
        for text, children in nodes:
            name, gap, rest = str(text).partition("  ")
            label = Text.assemble((name, "bold"), (gap + rest, ""), no_wrap=True)
            if not children:
                parent.add_leaf(label)
                continue
            node = parent.add(label, expand=depth < _OPEN_LEVELS)
            self._add_nodes(node, children, depth + 1)

    def _place(self, paths: list[str], findings: Sequence[RecordFinding], head: str) -> None:
        """Work out where ``findings`` show among a message's value ``paths``."""
        if not findings:
            return
        lines: list[str | None] = [None, *paths]
        placed = place_findings(lines, findings)
        for i, found in placed.items():
            key = _HEAD + head if i == 0 else paths[i - 1]
            self._at.setdefault(key, []).extend(found)
        self._holding |= holders(paths, [f.path for f in findings])
        if any(i != 0 for i in placed):
            self._holding.add(_HEAD + head)

    def _marked(self, label: Text, head: str) -> Text:
        key = _HEAD + head
        return _mark(label, self._at.get(key, ()), key in self._holding)

    def _finding_leaves(self, node: TreeNode[object], head: str) -> None:
        for finding in self._at.get(_HEAD + head, ()):
            node.add_leaf(finding_line(finding), data=("finding", finding))

    def _loose_findings(self, parent: TreeNode[object], findings: Sequence[RecordFinding]) -> None:
        """Findings of a body that did not decode: listed under the root."""
        for finding in findings:
            parent.add_leaf(finding_line(finding), data=("finding", finding))

    def _add_value(
        self,
        parent: TreeNode[object],
        name: str,
        value: Value,
        expand: bool = False,
        path: str | None = None,
    ) -> None:
        found = self._at.get(path, []) if path is not None else []
        label = _mark(value_label(name, value), found, path in self._holding)
        if isinstance(value, Struct | Array) and len(value):
            node = parent.add(label, data=value, allow_expand=True)
            if path is not None:
                self._node_paths[node.id] = path
            if expand and len(value) <= 50:
                self._fill(node)
                node.expand()
        elif found:
            node = parent.add(label, data=value, expand=True)
            for finding in found:
                node.add_leaf(finding_line(finding), data=("finding", finding))
        else:
            parent.add_leaf(label, data=value)

    def _fill(self, node: TreeNode[object], start: int = 0) -> None:
        value = node.data
        path = self._node_paths.get(node.id)
        if isinstance(value, Struct):
            items: list[tuple[str, Value, str | None]] = [
                (k, v, None if path is None else member_path(path, k)) for k, v in value.items()
            ]
        elif isinstance(value, Array):
            items = [
                (f"[{i}]", v, None if path is None else f"{path}[{i}]") for i, v in enumerate(value)
            ]
        else:
            return
        if start == 0 and path is not None:
            for finding in self._at.get(path, ()):
                node.add_leaf(finding_line(finding), data=("finding", finding))
        for name, v, child in items[start : start + _PAGE]:
            self._add_value(node, name, v, path=child)
        if start + _PAGE < len(items):
            node.add_leaf(
                Text(f"… {len(items) - start - _PAGE} more (enter)", "dim"),
                data=("more", start + _PAGE),
            )

    def action_open_node(self) -> None:
        """Expand the container under the cursor; on an open one, go to its first child."""
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and not node.is_expanded:
            node.expand()
        elif node.is_expanded and node.children:
            self.move_cursor(node.children[0])

    def action_close_node(self) -> None:
        """Collapse the container under the cursor; elsewhere, go to the parent."""
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded and node is not self.root:
            node.collapse()
        elif node.parent is not None:
            self.move_cursor(node.parent)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[object]) -> None:
        node = event.node
        if not node.children and isinstance(node.data, Struct | Array):
            self._fill(node)

    def on_tree_node_selected(self, event: Tree.NodeSelected[object]) -> None:
        node = event.node
        data = node.data
        if isinstance(data, tuple) and data and data[0] == "more" and node.parent is not None:
            parent = node.parent
            node.remove()
            self._fill(parent, int(data[1]))
