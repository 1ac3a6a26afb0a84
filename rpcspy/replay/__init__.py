"""Replay recorded calls against a server and compare the answers; compare two captures.

The engine is pure functions with thin I/O drivers:

- ``send_call(record_or_body, target, *, auth, tls, timeout)`` sends one call and returns the
  exchange as a ``CallRecord`` (origin ``"replay"``); ``Sender`` does the same over kept-alive
  connections, one per thread;
- ``compare(old, new, rules, noise)`` says how a new answer differs from the recorded one
  (an ``Outcome``: same, changed, new fault, fixed fault, error);
- ``Replayer`` drives a whole replay (selection, skip, concurrency, pace, noise learning);
- ``diff_captures`` compares two captures call by call (``rpcspy.replay.capdiff``).

The names are imported on first use, so that importing the package stays cheap. The report of a
replay or a capture diff is ``rpcspy.replay.report``; the commands are ``rpcspy.commands.replay``
and ``rpcspy.commands.diff``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rpcspy.replay.capdiff import diff_captures
    from rpcspy.replay.engine import (
        Outcome,
        Replayer,
        ReplayOptions,
        compare,
        describe_failure,
        is_skipped,
        parse_speed,
    )
    from rpcspy.replay.send import Auth, Sender, Target, TlsOptions, build_request, send_call

__all__ = [
    "Auth",
    "Outcome",
    "ReplayOptions",
    "Replayer",
    "Sender",
    "Target",
    "TlsOptions",
    "build_request",
    "compare",
    "describe_failure",
    "diff_captures",
    "is_skipped",
    "parse_speed",
    "send_call",
]

_WHERE = {
    "diff_captures": "capdiff",
    "Outcome": "engine",
    "Replayer": "engine",
    "ReplayOptions": "engine",
    "compare": "engine",
    "describe_failure": "engine",
    "is_skipped": "engine",
    "parse_speed": "engine",
    "Auth": "send",
    "Sender": "send",
    "Target": "send",
    "TlsOptions": "send",
    "build_request": "send",
    "send_call": "send",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'rpcspy.replay' has no attribute {name!r}")
    return getattr(importlib.import_module(f"rpcspy.replay.{module}"), name)
