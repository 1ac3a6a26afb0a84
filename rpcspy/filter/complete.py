"""Completion for the filter bar: what the word being typed could become."""

from __future__ import annotations

from collections.abc import Iterable

from rpcspy.filter.parser import FIELDS, FLAGS, MEASURES, TYPE_NAMES
from rpcspy.xmlrpc.findings import RULES

__all__ = ["KEYWORDS", "complete", "complete_word"]

#: Everything a word can start as, in the order offered.
KEYWORDS: tuple[str, ...] = (
    *FLAGS,
    *(f"{f}:" for f in FIELDS),
    "latency>",
    "size>",
    "params[",
    "result",
    "and",
    "or",
    "not",
)
_ORIGINS = ("proxy", "replay", "resent", "import")
_PROTOCOLS = ("xmlrpc", "oncrpc", "rpyc")


def complete_word(word: str, methods: Iterable[str] = (), clients: Iterable[str] = ()) -> list[str]:
    """Completions of one word (``meth`` -> ``method:``, ``method:sys`` -> ``method:system.*``,
    ``finding:fa`` -> ``finding:fault-code-not-int`` ...: the rule ids of ``RULES``)."""
    if not word:
        return []
    low = word.lower()
    head, colon, value = word.partition(":")
    if colon and head.lower() == "method":
        out: list[str] = []
        names = sorted(set(methods))
        for name in names:
            if name.startswith(value) and name != value:
                out.append(f"{head}:{name}")
        # Offer the namespace glob (``system.*``) before the names inside it.
        prefixes = sorted(
            {
                n[: n.index(".", len(value)) + 1] + "*"
                for n in names
                if n.startswith(value) and "." in n[len(value) :]
            }
        )
        return [f"{head}:{p}" for p in prefixes if p != value] + out
    if colon and head.lower() == "origin":
        return [f"{head}:{o}" for o in _ORIGINS if o.startswith(value.lower()) and o != value]
    if colon and head.lower() == "protocol":
        return [f"{head}:{o}" for o in _PROTOCOLS if o.startswith(value.lower()) and o != value]
    if colon and head.lower() == "finding":
        return [f"{head}:{r}" for r in sorted(RULES) if r.startswith(value) and r != value]
    if colon and head.lower() == "client":
        return [f"{head}:{c}" for c in sorted(set(clients)) if c.startswith(value) and c != value]
    if colon and head.lower().startswith(("params", "result")):
        return [f"{head}:{t}" for t in TYPE_NAMES if t.startswith(value) and t != value]
    if colon:
        return []
    out = [k for k in KEYWORDS if k.startswith(low) and k != low]
    out += [m for m in MEASURES if m.startswith(low) and m != low and f"{m}>" not in out]
    return out


def complete(text: str, methods: Iterable[str] = (), clients: Iterable[str] = ()) -> list[str]:
    """Whole-input completions: ``text`` with its last word completed, best first."""
    if not text or text[-1].isspace() or text[-1] in "()":
        return []
    cut = max(text.rfind(c) for c in " \t()!") + 1
    prefix, word = text[:cut], text[cut:]
    return [prefix + w for w in complete_word(word, methods, clients)]
