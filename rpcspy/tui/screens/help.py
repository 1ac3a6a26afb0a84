"""Keys and the filter language at a glance."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Markdown

from rpcspy.tui.widgets.key_bar import KeyBar
from rpcspy.tui.widgets.title_bar import TitleBar

__all__ = ["HELP_TEXT", "HelpScreen", "key_name"]

#: How the help and docs/tui.md write a key Textual names otherwise.
_KEY_NAMES = {
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "home": "Home",
    "end": "End",
    "escape": "Esc",
    "enter": "Enter",
    "space": "Space",
    "tab": "Tab",
    "question_mark": "?",
    "slash": "/",
    "f1": "F1",
}


def key_name(key: str) -> str:
    """A Textual key as the help writes it: ``shift+up`` is ``Shift+↑``, ``pageup`` ``PgUp``."""
    *mods, last = key.split("+")
    return "".join(f"{m.capitalize()}+" for m in mods) + _KEY_NAMES.get(last, last)


HELP_TEXT = """\
# rpcspy

## Call list

| key | does |
| --- | --- |
| `↑` `↓` `PgUp` `PgDn` `Home` `End` (or `j` `k` `g` `G`) | move |
| `Enter`, double click | open the call |
| `Space` `→` / `←`, click on `▸` | expand / collapse a multicall |
| `/` or `f` | type a filter (`Tab` completes, `Enter` back to the list) |
| `Esc` | back to the list; in the list, clear the filter |
| `o` / `O`, click a column title | sort by the next column / reverse |
| `s` | stats per method |
| `a` | the API: methods, signatures, calls, fault rate (below) |
| `r` / `R` | replay the selected call / every shown call |
| `e` | edit the call and send it |
| `n` | a new call: method (completed from the server), params, send |
| `c` / `y` | copy the call as curl / as Python |
| `w` | save the shown calls as a capture file |
| `p` | the capture's problem rows: lines skipped as not a call, in the reader's words |
| `F` | follow new calls (on by default) |
| `Ctrl+P` | command palette |
| `q` | quit |

## Call view

| key | does |
| --- | --- |
| `1` `2` `3` | the tree, XML or HTTP tab (its content takes the keys) |
| `Tab` / `Shift+Tab` | move the focus (tab bar, content) |
| `c` / `y` | copy the call as curl / as Python (and save it to a file) |
| `C` / `Y` | save the call as a curl / Python script |
| `r` | replay the call |
| `e` | edit the call and send it |
| `?` or `F1` | this help |
| `Esc` or `q` | back to the list |

In the tree:

| key | does |
| --- | --- |
| `↑` `↓` `PgUp` `PgDn` `Home` `End` (or `j` `k` `g` `G`) | move |
| `Space` | open / close a struct or array |
| `→` / `←` (or `l` / `h`) | open / close (or step in / out to the parent) |
| `Enter` | open / close; on `… more`, show the next items |
| `Shift+Space` | open / close the node and its siblings |
| `Shift+↑` / `Shift+↓` | previous / next sibling |
| `Shift+←` / `Shift+→` | parent / the parent's next sibling |
| `Ctrl+PgUp` / `Ctrl+PgDn` | scroll sideways |

In the XML and HTTP tabs `↑` `↓` `PgUp` `PgDn` `Home` `End` scroll.

## API pane

Every method the loaded calls show (all of them: the filter does not apply) and the `--api`
file declares: calls, fault rate and commonest fault code, sources (`intro`spection, `traffic`,
`both`), signature; the selected method in full below (help, declared signatures, learned
params with struct members always / sometimes, arities, result, fault codes).

| key | does |
| --- | --- |
| `↑` `↓` `PgUp` `PgDn` | choose a method |
| `n` or `Enter` | a new call of the method, params pre-filled with its types |
| `?` or `F1` | this help |
| `Esc`, `q` or `a` | back to the list |

## Filter language

| filter | matches |
| --- | --- |
| `method:dir.*` | method name (shell glob, case-sensitive) |
| `fault` / `fault:-32601` | any fault / that fault code (sub-calls too) |
| `ok` | a result, no fault, no problem |
| `problem` / `error` | decode problem or connection error / connection error |
| `multicall` | system.multicall calls |
| `bob`, `"two words"` | text anywhere in method, params, result |
| `params[0].name=bob` | a param path; `=` `!=` `~` (contains) `>` `>=` `<` `<=` |
| `params[0]:i4`, `result.items[*].id` | wire type at a path; `*` any item; a path alone: exists |
| `result.total>10` | the result, by path |
| `latency>200ms` | duration (`us` `ms` `s` `m`) |
| `size>10kb` | request + response bytes |
| `status:500`, `origin:resent`, `client:10.0.0.*` | HTTP status, origin, client |
| `a and b`, `a b`, `a or b`, `not a`, `!a`, `( … )` | combine |

See docs/filter.md for the whole language.
"""


class HelpScreen(Screen[None]):
    """Static help."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "app.pop_screen", "Back")
    ]

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with VerticalScroll(id="help-scroll"):
            yield Markdown(HELP_TEXT)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
