"""Keys and the filter language at a glance."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Markdown

__all__ = ["HELP_TEXT", "HelpScreen"]

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
| `r` / `R` | replay the selected call / every shown call |
| `e` | edit the call and send it |
| `n` | a new call: method (completed from the server), params, send |
| `c` / `y` | copy the call as curl / as Python |
| `w` | save the shown calls as a capture file |
| `F` | follow new calls (on by default) |
| `Ctrl+P` | command palette |
| `q` | quit |

## Call view

`1` `2` `3` switch between tree, XML and HTTP; `c`/`y` copy as curl/Python, `C`/`Y` save them
to a file; `r` replay; `e` edit and resend; `Esc` back.

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
        yield Header(show_clock=False, icon="⇄")
        with VerticalScroll(id="help-scroll"):
            yield Markdown(HELP_TEXT)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
