"""Value paths in error messages: ``params[0].tags[2]``, ``result["first name"]``, ``fault``.

One syntax, shared by the decoder, the encoder and multicall, so a path reads the same wherever an
error comes from: the message part first (``params[N]``, ``result``, ``fault``, ``methodName``),
then ``[N]`` for an array item and ``.name`` for a struct member, or ``["name"]`` when the member
name is not an identifier.
"""

from __future__ import annotations

import json

__all__ = ["join_path", "member_segment"]


def member_segment(name: str) -> str:
    """The path segment of a struct member: ``.name``, or ``["odd name"]`` when it needs quoting."""
    if name.isidentifier():
        return "." + name
    return "[" + json.dumps(name, ensure_ascii=False) + "]"


def join_path(base: str | None, segments: list[str]) -> str | None:
    """``base`` followed by ``segments`` given innermost first (the order an unwinding error
    sees)."""
    inner = "".join(reversed(segments))
    if base is None:
        return inner.lstrip(".") or None
    return base + inner
