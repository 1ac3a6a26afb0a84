"""A collapsible tree of typed XML-RPC values: every line shows its wire type."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.render import format_scalar
from rpcspy.xmlrpc.values import Array, Struct, Value

__all__ = ["ValueTree", "value_label"]

#: Children added per expansion of a huge array or struct; the rest behind a "more" node.
_PAGE = 500


def value_label(name: str | None, value: Value) -> Text:
    """``name  i4  42`` (name bold, type dimmed)."""
    text = Text(no_wrap=True)
    if name is not None:
        text.append(name, "bold")
        text.append("  ")
    text.append(value.label, "italic dim")
    text.append("  ")
    if isinstance(value, Struct):
        text.append(f"{{{len(value)} member{'s' if len(value) != 1 else ''}}}", "dim")
    elif isinstance(value, Array):
        text.append(f"[{len(value)} item{'s' if len(value) != 1 else ''}]", "dim")
    else:
        scalar = format_scalar(value)
        if len(scalar) > 400:
            scalar = scalar[:399] + "…"
        text.append(scalar)
    return text


class ValueTree(Tree[object]):
    """Request params and result (or fault) as a tree; containers fill in when expanded."""

    def show_message(
        self,
        call: MethodCall | None,
        response: MethodResponse | Fault | None,
        *,
        response_note: str | None = None,
    ) -> None:
        """Show a call and its response (either may be missing)."""
        self.clear()
        root = self.root
        root.expand()
        if call is not None:
            req = root.add(Text.assemble(("call ", "bold"), (call.method, "bold")), expand=True)
            if not call.params:
                req.add_leaf(Text("(no params)", "dim"))
            for i, p in enumerate(call.params):
                self._add_value(req, f"params[{i}]", p, expand=True)
        else:
            root.add_leaf(Text("request not decoded (see XML and HTTP)", "dim"))
        if isinstance(response, Fault):
            node = root.add(
                Text.assemble(
                    ("fault ", "bold"), (str(response.code), "bold"), f"  {response.string}"
                ),
                expand=True,
            )
            for k, v in response.value.items():
                self._add_value(node, k, v)
        elif response is not None:
            node = root.add(Text("response", style="bold"), expand=True)
            self._add_value(node, "result", response.value, expand=True)
        else:
            root.add_leaf(Text(response_note or "no response", "dim"))

    def _add_value(
        self, parent: TreeNode[object], name: str, value: Value, expand: bool = False
    ) -> None:
        if isinstance(value, Struct | Array) and len(value):
            node = parent.add(value_label(name, value), data=value, allow_expand=True)
            if expand and len(value) <= 50:
                self._fill(node)
                node.expand()
        else:
            parent.add_leaf(value_label(name, value), data=value)

    def _fill(self, node: TreeNode[object], start: int = 0) -> None:
        value = node.data
        if isinstance(value, Struct):
            items: list[tuple[str, Value]] = list(value.items())
        elif isinstance(value, Array):
            items = [(f"[{i}]", v) for i, v in enumerate(value)]
        else:
            return
        for name, v in items[start : start + _PAGE]:
            self._add_value(node, name, v)
        if start + _PAGE < len(items):
            node.add_leaf(
                Text(f"… {len(items) - start - _PAGE} more (enter)", "dim"),
                data=("more", start + _PAGE),
            )

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
