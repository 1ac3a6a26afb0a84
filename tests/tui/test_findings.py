"""Conformance findings in the TUI (Pilot): the list marks nonconformant calls, the detail tree
marks each finding beside the value it concerns, the filter bar completes rule ids."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Input
from textual.widgets.tree import TreeNode

from rpcspy.tui.app import RpcSpyApp
from rpcspy.tui.editing import convert, parse_scalar
from rpcspy.tui.screens.detail import DetailScreen
from rpcspy.tui.screens.edit import EditScreen, ParamsTree, ValuePrompt
from rpcspy.tui.widgets.call_list import CallList
from rpcspy.tui.widgets.filter_bar import FilterBar
from rpcspy.tui.widgets.value_tree import ValueTree
from rpcspy.xmlrpc.values import String, WideI4, WideInt
from tests.tui.conftest import wait_for
from tests.tui.samples import exchange, write_capture

AppFactory = Callable[..., RpcSpyApp]
SIZE = (80, 24)

# Node's xmlrpc client: an <i4> over 2^31 inside a struct param.
WIDE_CALL = (
    b"<?xml version='1.0'?><methodCall><methodName>demo.echo</methodName><params><param>"
    b"<value><struct><member><name>small</name><value><i4>1</i4></value></member>"
    b"<member><name>big</name><value><i4>1099511627776</i4></value></member></struct></value>"
    b"</param></params></methodCall>"
)
# XMLRPC::Lite's fault: a string faultCode.
LITE_FAULT = (
    b"<?xml version='1.0'?><methodResponse><fault><value><struct><member><name>faultCode"
    b"</name><value><string>Client</string></value></member><member><name>faultString</name>"
    b"<value><string>no such method</string></value></member></struct></value></fault>"
    b"</methodResponse>"
)


def _capture(tmp_path: Path) -> Path:
    records = [
        exchange(1, "demo.ping", (), result=True),
        exchange(2, "demo.echo", request_body=WIDE_CALL, result=True),
        exchange(3, "demo.nope", ("x",), response_body=LITE_FAULT),
    ]
    assert [bool(r.findings) for r in records] == [False, True, True]
    return write_capture(tmp_path / "findings.jsonl", records)


def _walk(node: TreeNode[object]) -> list[TreeNode[object]]:
    out = [node]
    for child in node.children:
        out.extend(_walk(child))
    return out


def _node(tree: ValueTree, start: str) -> TreeNode[object]:
    (node,) = [n for n in _walk(tree.root) if str(n.label).startswith(start)]
    return node


@pytest.mark.parametrize("wide", [False, True])
async def test_the_list_marks_nonconformant_calls(
    make_app: AppFactory, tmp_path: Path, wide: bool
) -> None:
    app = make_app(capture=_capture(tmp_path))
    async with app.run_test(size=(120, 30) if wide else SIZE) as pilot:
        screen = app.calls_screen
        await wait_for(pilot, lambda: len(screen.call_list.shown) == 3)
        await pilot.pause()
        call_list = screen.query_one(CallList)
        lines = [call_list.render_line(y) for y in range(3)]
        texts = [line.text for line in lines]
        # The "!" takes the space after the first column, the number, which every width shows
        # (80 columns too): no column moves.
        assert texts[0].split()[0] == "1"
        at = [
            t.index(m) for t, m in zip(texts, ("demo.ping", "demo.echo", "demo.nope"), strict=True)
        ]
        assert len(set(at)) == 1 and len({len(t) for t in texts}) == 1
        bang = texts[1].index("!")
        assert texts[2].index("!") == bang and texts[0][bang] == " "
        # The mark right after the number, as in ``rpcspy show``.
        assert texts[1][:bang].split()[-1] == "2" and texts[2][:bang].split()[-1] == "3"
        # The time makes room for the params on a narrow screen, the number does not.
        assert ("22:13:22.000" in texts[1]) is wide
        # In the warning colour (both findings are warnings).
        warning = call_list.get_component_rich_style("call-list--finding-warning", partial=True)
        (mark,) = [seg for seg in lines[1] if seg.text == "!"]
        assert mark.style is not None and mark.style.color == warning.color is not None


async def test_the_tree_marks_a_finding_beside_its_value(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(capture=_capture(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.calls_screen.call_list.shown) == 3)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        tree = app.screen.query_one(ValueTree)
        big = _node(tree, "big  i4  1099511627776")
        assert str(big.label).endswith("! int-out-of-range")
        (line,) = big.children
        assert str(line.label).startswith("! warning int-out-of-range: 1099511627776 does not fit")
        assert any("yellow" in str(span.style) for span in line.label.spans)  # type: ignore[union-attr]
        # The value beside it is untouched; its struct says a finding is inside.
        assert not str(_node(tree, "small").label).endswith("!")
        assert str(_node(tree, "params[0]").label).endswith("  !")
        assert not _node(tree, "small").children
        await pilot.press("escape")
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: app.screen.record.seq == 3)  # type: ignore[attr-defined]
        tree = app.screen.query_one(ValueTree)
        code = _node(tree, "faultCode  string")
        assert str(code.label).endswith("! fault-code-not-int")
        (line,) = code.children
        assert str(line.label).startswith("! warning fault-code-not-int: faultCode is string")
        assert not str(_node(tree, "faultString").label).endswith("int")
        # A conformant call has no mark at all.
        await pilot.press("escape", "up", "up", "enter")
        await wait_for(pilot, lambda: app.screen.record.seq == 1)  # type: ignore[attr-defined]
        tree = app.screen.query_one(ValueTree)
        assert not [n for n in _walk(tree.root) if "!" in str(n.label)]


async def test_the_filter_bar_completes_rules_and_filters(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(capture=_capture(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.calls_screen
        await wait_for(pilot, lambda: len(screen.call_list.shown) == 3)
        await pilot.press("slash")
        bar = screen.query_one(FilterBar)
        await pilot.press(*"finding:fault-c", "tab")
        assert bar.value == "finding:fault-code-not-int"
        await wait_for(pilot, lambda: list(screen.call_list.shown) == [2])
        bar.input.value = "nonconformant"
        await wait_for(pilot, lambda: list(screen.call_list.shown) == [1, 2])


def test_a_wide_int_keeps_its_class_when_edited() -> None:
    wide = WideI4(1 << 40)
    assert type(parse_scalar("i4", "1099511627777", like=wide)) is WideI4
    assert parse_scalar("i4", "5", like=wide) == WideI4(5)
    assert type(parse_scalar("int", "1099511627777", like=WideInt(1 << 40))) is WideInt
    with pytest.raises(ValueError, match="does not fit in i4"):
        parse_scalar("i4", "1099511627777")  # a plain i4 keeps its range
    # Changing the wire type keeps the number where the wide form of the new type holds it.
    assert convert(wide, "i4") is wide
    assert convert(wide, "int") == WideInt(1 << 40) and type(convert(wide, "int")) is WideInt
    assert convert(wide, "string") == String(str(1 << 40))


async def test_an_out_of_range_value_stays_editable(make_app: AppFactory, tmp_path: Path) -> None:
    app = make_app(capture=_capture(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.calls_screen.call_list.shown) == 3)
        await pilot.press("down", "e")
        await wait_for(pilot, lambda: isinstance(app.screen, EditScreen))
        screen = app.screen
        assert isinstance(screen, EditScreen)
        tree = screen.query_one(ParamsTree)
        (big,) = [n for n in _walk(tree.root) if n.data == (0, "big")]
        tree.move_cursor(big)
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ValuePrompt))
        assert app.screen.query_one(Input).value == "1099511627776"
        app.screen.query_one(Input).value = "1099511627777"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
        value = screen.params[0]["big"]  # type: ignore[index]
        assert type(value) is WideI4 and value == WideI4(1099511627777)
