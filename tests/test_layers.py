"""The import graph of rpcspy: no circle between modules, and every import points down the layers.

Every module's imports are read with ``ast``: those at the top, those inside functions (the lazy
ones that keep ``rpcspy --help`` quick) and those under ``TYPE_CHECKING``. The layers, lowest
first (docs/architecture.md draws them):

    xmlrpc | oncrpc | rpyc                  the sans-IO codecs; they import nothing of ours
    capture | diff                          records and capture files | the pure value diff
    streams                                 a connection's bytes to call records (ONC RPC,
                                            RPyC over TCP and UDP)
    filter | api | ingest | export          the filter language; API descriptions; importers;
                                            exporters
    query                                   the relational view of captures (DuckDB, Parquet)
    proxy | tui | replay | mock | server    the tools; they do not import one another
    live | demo | show | inputs             glue above the tools
    commands                                one module per subcommand, registered in cli.py
    cli                                     the entry point

``term`` (terminal colour), ``stopping`` (stop signals), ``exits`` (exit codes) and the package
itself (``__version__``) are leaves any layer may use, though only the command side may use
``exits``. A failure lists every offending import with its file and line.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import rpcspy
import rpcspy.cli

PACKAGE = Path(rpcspy.__file__).parent
ADDONS = PACKAGE.parent / "addons"

#: Imports from one tool to another that the design keeps, each with its reason. Keep it short:
#: an entry here is a dependency between tools that a newcomer has to learn.
ALLOWED_BETWEEN_TOOLS: dict[tuple[str, str], str] = {
    ("rpcspy.tui", "rpcspy.replay.send"): (
        "the TUI replays a call and resends an edited one with replay's sender (Target, Sender, "
        "send_call); the sender is I/O around rpcspy.capture and rpcspy.xmlrpc only"
    ),
    ("rpcspy.tui", "rpcspy.replay.native"): (
        "the TUI replays ONC RPC calls with replay's ONC RPC replayer (NativeTarget, "
        "OncRpcReplayer: fresh xids over TCP or UDP), as it replays XML-RPC with the sender"
    ),
    ("rpcspy.mock", "rpcspy.server.oncrpc"): (
        "the ONC RPC mock is served over the example server's TCP and UDP transport "
        "(OncRpcServer, given the playback as its responder): one ONC RPC server loop"
    ),
    ("rpcspy.mock", "rpcspy.server.limits"): (
        "the mock serves HTTP under the same bounds as the demo server (connections, bytes in "
        "flight, idle time): one Admission for both; the module imports only the stdlib"
    ),
}

TOOLS = ("rpcspy.proxy", "rpcspy.tui", "rpcspy.replay", "rpcspy.mock", "rpcspy.server")
#: Above the tools and below the commands: the tools never import these.
GLUE = ("rpcspy.live", "rpcspy.demo", "rpcspy.show", "rpcspy.inputs")
#: Helpers of the command modules, not commands themselves.
COMMAND_HELPERS = ("rpcspy.commands.common", "rpcspy.commands.lifecycle", "rpcspy.commands.options")


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``line`` (``lazy``: inside a function)."""

    source: str
    target: str
    line: int
    lazy: bool

    def __str__(self) -> str:
        where = "inside a function" if self.lazy else "at the top"
        return f"{self.source} -> {self.target}  ({_path(self.source)}:{self.line}, {where})"


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _path(module: str) -> str:
    path = MODULES.get(module)
    return str(path.relative_to(PACKAGE.parent)) if path else module


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _resolve(name: str) -> str | None:
    """The module of ours that ``name`` (a module or a name in one) is, or None."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imported_names(module: str, tree: ast.Module) -> Iterator[tuple[str, int, bool]]:
    """``(dotted name, line, lazy)`` for every import in the module, however deep."""
    is_package = MODULES[module].name == "__init__.py"

    def visit(node: ast.AST, lazy: bool) -> Iterator[tuple[str, int, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, lazy
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = module.split(".") if is_package else module.split(".")[:-1]
                    base = base[: len(base) - child.level + 1]
                    stem = ".".join([*base, child.module] if child.module else base)
                else:
                    stem = child.module or ""
                for alias in child.names:
                    # ``from rpcspy.tui import messages`` imports the module rpcspy.tui.messages.
                    yield f"{stem}.{alias.name}", child.lineno, lazy
            else:
                inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                yield from visit(child, inner)

    yield from visit(tree, False)


def _read_graph() -> tuple[list[Edge], dict[str, set[str]]]:
    """Our edges, and for each module the third-party top-level packages it imports."""
    edges: set[Edge] = set()
    external: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for name, line, lazy in _imported_names(module, tree):
            if name.split(".")[0] != "rpcspy":
                external.setdefault(module, set()).add(name.split(".")[0])
                continue
            target = _resolve(name)
            if target is not None and target != module:
                edges.add(Edge(module, target, line, lazy))
    # The cli imports each command by name, from its one list.
    for name in rpcspy.cli.COMMANDS:
        edges.add(Edge("rpcspy.cli", rpcspy.cli.command_module(name), 0, True))
    return sorted(edges, key=lambda e: (e.source, e.target, e.line)), external


EDGES, EXTERNAL = _read_graph()


def _report(rule: str, offending: list[Edge]) -> str:
    lines = [f"{rule}; {len(offending)} import(s) break it:"]
    lines += [f"  {edge}" for edge in offending]
    return "\n".join(lines)


def _circles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    graph: dict[str, list[str]] = {m: [] for m in MODULES}
    for edge in EDGES:
        graph[edge.source].append(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    circles: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = graph[node]
            if i < len(targets):
                work.append((node, i + 1))
                nxt = targets[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return circles


def test_the_graph_is_read() -> None:
    # A guard for the guard: the reader sees top-level, lazy and package-relative imports.
    pairs = {(e.source, e.target, e.lazy) for e in EDGES}
    assert ("rpcspy.tui.app", "rpcspy.tui.screens.calls", False) in pairs
    assert ("rpcspy.commands.proxy", "rpcspy.live", True) in pairs
    assert ("rpcspy.capture.schema", "rpcspy", False) in pairs
    assert "textual" in EXTERNAL["rpcspy.tui.app"]


def test_no_import_circles() -> None:
    circles = _circles()
    message = []
    for circle in circles:
        members = set(circle)
        inside = [e for e in EDGES if e.source in members and e.target in members]
        message.append(_report(f"modules in a circle: {', '.join(circle)}", inside))
    assert not circles, "\n\n".join(message)


def _only(source_prefix: str, allowed: tuple[str, ...], rule: str) -> None:
    offending = [
        e
        for e in EDGES
        if _within(e.source, source_prefix)
        and not _within(e.target, source_prefix)
        and e.target != "rpcspy"  # the package itself: __version__ only
        and not any(_within(e.target, a) for a in allowed)
    ]
    assert not offending, _report(rule, offending)


def test_xmlrpc_imports_nothing_of_ours() -> None:
    _only("rpcspy.xmlrpc", (), "rpcspy.xmlrpc is the sans-IO core and imports nothing of rpcspy")


def test_other_protocol_codecs_import_nothing_of_ours() -> None:
    # ONC RPC and RPyC are sans-IO codecs beside rpcspy.xmlrpc, at the bottom of the layers.
    for codec in ("rpcspy.oncrpc", "rpcspy.rpyc"):
        _only(codec, (), f"{codec} is a sans-IO codec and imports nothing of rpcspy")


def test_term_stopping_exits_and_the_package_itself_are_leaves() -> None:
    assert not [e for e in EDGES if e.source == "rpcspy"], "rpcspy/__init__.py imports nothing"
    _only("rpcspy.term", (), "rpcspy.term imports nothing of rpcspy")
    _only("rpcspy.stopping", (), "rpcspy.stopping imports nothing of rpcspy")
    _only("rpcspy.exits", (), "rpcspy.exits imports nothing of rpcspy")


def test_capture_imports_only_xmlrpc() -> None:
    _only(
        "rpcspy.capture",
        ("rpcspy.xmlrpc", "rpcspy.oncrpc"),
        "rpcspy.capture imports only the codecs rpcspy.xmlrpc and rpcspy.oncrpc (its RFC numbers)",
    )


def test_streams_import_only_the_codecs_and_capture() -> None:
    # A connection's bytes to call records: the proxy's TCP and UDP modes and importers feed it.
    _only(
        "rpcspy.streams",
        ("rpcspy.oncrpc", "rpcspy.rpyc", "rpcspy.capture", "rpcspy.xmlrpc"),
        "rpcspy.streams imports only rpcspy.oncrpc, rpcspy.rpyc, rpcspy.capture and rpcspy.xmlrpc",
    )


def test_diff_imports_only_xmlrpc() -> None:
    _only(
        "rpcspy.diff",
        ("rpcspy.xmlrpc", "rpcspy.oncrpc"),
        "rpcspy.diff is pure and imports only the codecs rpcspy.xmlrpc and rpcspy.oncrpc",
    )


def test_ingest_imports_only_xmlrpc_and_capture() -> None:
    # The importers sit beside the filter, under the tools: rpcspy.proxy.flowfile (which alone
    # may read mitmproxy's flow files) hands its flows to the same Exchange and record path.
    _only(
        "rpcspy.ingest",
        ("rpcspy.xmlrpc", "rpcspy.capture"),
        "rpcspy.ingest imports only rpcspy.xmlrpc and rpcspy.capture",
    )


def test_export_imports_only_xmlrpc_and_capture() -> None:
    # The exporters that need mitmproxy (mitm) or DuckDB (parquet) live in rpcspy.proxy and
    # rpcspy.query; rpcspy.export names them by string and never imports them.
    _only(
        "rpcspy.export",
        ("rpcspy.xmlrpc", "rpcspy.capture"),
        "rpcspy.export imports only rpcspy.xmlrpc and rpcspy.capture",
    )


def test_query_imports_only_xmlrpc_capture_and_export() -> None:
    # The relational view of captures (DuckDB): it reads captures through rpcspy.capture alone,
    # and its Parquet exporter gives rpcspy.export's answer (Exported).
    _only(
        "rpcspy.query",
        ("rpcspy.xmlrpc", "rpcspy.capture", "rpcspy.filter", "rpcspy.export", "rpcspy.term"),
        "rpcspy.query imports only rpcspy.xmlrpc, rpcspy.capture, rpcspy.filter, rpcspy.export "
        "and the leaf rpcspy.term",
    )


def test_only_the_query_package_imports_duckdb() -> None:
    offending = [
        f"{module} imports duckdb ({_path(module)})"
        for module, packages in EXTERNAL.items()
        if "duckdb" in packages and not _within(module, "rpcspy.query")
    ]
    assert not offending, "\n".join(offending)


def test_filter_imports_only_xmlrpc_and_capture() -> None:
    _only(
        "rpcspy.filter",
        ("rpcspy.xmlrpc", "rpcspy.capture"),
        "rpcspy.filter imports only rpcspy.xmlrpc and rpcspy.capture",
    )


def test_api_imports_only_xmlrpc_capture_and_the_client() -> None:
    _only(
        "rpcspy.api",
        ("rpcspy.xmlrpc", "rpcspy.capture", "rpcspy.client"),
        "rpcspy.api imports only rpcspy.xmlrpc, rpcspy.capture and rpcspy.client",
    )


def test_tools_do_not_import_each_other_nor_anything_above_them() -> None:
    offending: list[Edge] = []
    for edge in EDGES:
        tool = next((t for t in TOOLS if _within(edge.source, t)), None)
        if tool is None or _within(edge.target, tool):
            continue
        above = ("rpcspy.cli", "rpcspy.commands", "rpcspy.exits", *GLUE)
        other_tool = next((t for t in TOOLS if _within(edge.target, t)), None)
        if any(_within(edge.target, a) for a in above) or (
            other_tool is not None
            and not any(
                _within(edge.source, s) and _within(edge.target, t)
                for s, t in ALLOWED_BETWEEN_TOOLS
            )
        ):
            offending.append(edge)
    assert not offending, _report(
        "proxy, tui, replay, mock and server import neither one another (but for "
        "ALLOWED_BETWEEN_TOOLS) nor cli, commands, exits, live, demo, show or inputs",
        offending,
    )


def test_every_allowed_edge_between_tools_is_still_used() -> None:
    for source, target in ALLOWED_BETWEEN_TOOLS:
        assert any(_within(e.source, source) and _within(e.target, target) for e in EDGES), (
            f"{source} -> {target} is allowed but no longer used: take it off the list"
        )


def test_only_the_proxy_imports_mitmproxy_and_only_the_tui_imports_textual() -> None:
    owners = {"mitmproxy": "rpcspy.proxy", "textual": "rpcspy.tui"}
    offending = [
        f"{module} imports {package} ({_path(module)})"
        for module, packages in EXTERNAL.items()
        for package, owner in owners.items()
        if package in packages and not _within(module, owner)
    ]
    assert not offending, "\n".join(offending)
    for script in ADDONS.glob("*.py"):
        tree = ast.parse(script.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rpcspy"):
                assert _within(node.module or "", "rpcspy.proxy"), f"{script}: {node.module}"


def test_screens_and_widgets_do_not_import_the_app() -> None:
    offending = [
        e
        for e in EDGES
        if (_within(e.source, "rpcspy.tui.screens") or _within(e.source, "rpcspy.tui.widgets"))
        and e.target == "rpcspy.tui.app"
    ]
    assert not offending, _report(
        "screens post messages to the app; they do not import it", offending
    )


def test_nothing_imports_the_cli_and_only_the_cli_imports_commands() -> None:
    # ``python -m rpcspy`` is the same entry point as the ``rpcspy`` script.
    offending = [e for e in EDGES if e.target == "rpcspy.cli" and e.source != "rpcspy.__main__"]
    assert not offending, _report("nothing but python -m rpcspy imports rpcspy.cli", offending)
    offending = [
        e
        for e in EDGES
        if _within(e.target, "rpcspy.commands")
        and e.target != "rpcspy.commands"
        and e.source != "rpcspy.cli"
        and not (_within(e.source, "rpcspy.commands") and e.target in COMMAND_HELPERS)
    ]
    assert not offending, _report(
        "a command module is imported by rpcspy.cli alone (commands share only "
        + ", ".join(COMMAND_HELPERS)
        + ")",
        offending,
    )


def test_the_cli_imports_commands_only_lazily() -> None:
    offending = [
        e
        for e in EDGES
        if e.source == "rpcspy.cli"
        and _within(e.target, "rpcspy.commands")
        and e.target != "rpcspy.commands"
        and not e.lazy
    ]
    assert not offending, _report("rpcspy.cli imports command modules lazily", offending)


def test_one_list_registers_every_command_module() -> None:
    on_disk = {m for m in MODULES if m.startswith("rpcspy.commands.") and m not in COMMAND_HELPERS}
    registered = {rpcspy.cli.command_module(name) for name in rpcspy.cli.COMMANDS}
    assert registered == on_disk
    assert len(rpcspy.cli.COMMANDS) == len(on_disk)


def test_a_command_named_like_a_keyword_lives_in_a_module_with_an_underscore() -> None:
    # ``import`` is a Python keyword: its module is ``import_`` (PEP 8), the command ``import``.
    assert rpcspy.cli.command_module("import") == "rpcspy.commands.import_"
    assert rpcspy.cli.command_module("show") == "rpcspy.commands.show"


@pytest.mark.parametrize("name", rpcspy.cli.COMMANDS)
def test_every_command_has_the_same_shape(name: str) -> None:
    import argparse

    module = importlib.import_module(rpcspy.cli.command_module(name))
    assert module.__all__ == ["add_parser", "run"]
    parser = argparse.ArgumentParser(prog="rpcspy")
    sub = parser.add_subparsers(dest="command")
    added = module.add_parser(sub)
    assert isinstance(added, argparse.ArgumentParser)
    assert added.prog == f"rpcspy {name}"
    assert added.get_default("func") is module.run
