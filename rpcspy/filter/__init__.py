"""The call filter language: ``method:dir.* and (fault or latency>200ms)``.

Pure: it imports only ``rpcspy.xmlrpc`` and ``rpcspy.capture``. ``parse_filter(text)`` gives a
``Filter`` whose ``matches(record)`` tells whether a ``CallRecord`` passes; a bad expression raises
``FilterError`` with the column and a reason. ``filter_rows(index, flt)`` runs a filter over a
``rpcspy.capture.CaptureIndex``; it is the one engine (``rpcspy.filter.engine``), which
``matches`` uses too. The language is documented in ``docs/filter.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rpcspy.filter import ast
from rpcspy.filter.ast import Node
from rpcspy.filter.complete import complete, complete_word
from rpcspy.filter.engine import Cancelled, filter_rows, matches
from rpcspy.filter.parser import FilterError, parse_tree

if TYPE_CHECKING:
    from rpcspy.capture import CallRecord

__all__ = [
    "Cancelled",
    "Filter",
    "FilterError",
    "Node",
    "ast",
    "complete",
    "complete_word",
    "filter_rows",
    "parse_filter",
]


@dataclass(frozen=True, slots=True)
class Filter:
    """A parsed filter: the source ``text`` and its syntax ``tree``."""

    text: str
    tree: Node

    def matches(self, record: CallRecord) -> bool:
        """Does ``record`` pass this filter?"""
        return matches(self.tree, record)

    @property
    def is_empty(self) -> bool:
        """True for the empty filter, which every call passes."""
        return isinstance(self.tree, ast.All)


def parse_filter(text: str) -> Filter:
    """Parse a filter expression; raises ``FilterError`` (with ``.column``) when it is not valid."""
    return Filter(text, parse_tree(text))
