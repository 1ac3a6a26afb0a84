"""Small builders shared by the capture tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from rpcspy.capture import CaptureWriter
from rpcspy.capture.record import CallRecord, HttpMessage
from rpcspy.xmlrpc.messages import MethodCall, MethodResponse
from rpcspy.xmlrpc.values import I4, Int

#: Changes to one half of a record: an ``HttpMessage`` to use as it is, or its fields to change.
HalfChanges = HttpMessage | Mapping[str, Any]

_KEEP: Any = object()


def _half(base: HttpMessage, changes: HalfChanges) -> HttpMessage:
    if isinstance(changes, HttpMessage):
        return changes
    return dataclasses.replace(base, **changes)


def make_record(
    *, request: HalfChanges = _KEEP, response: HalfChanges | None = _KEEP, **changes: Any
) -> CallRecord:
    """A plausible record of ``add(1, 2) -> 3``, with any fields changed.

    ``request`` and ``response`` change the halves (a mapping of ``HttpMessage`` fields, or a
    whole ``HttpMessage``; ``response=None`` for no response); other keywords are record fields.
    """
    base_request = HttpMessage(
        headers=(("Host", "127.0.0.1:8000"), ("Content-Type", "text/xml")),
        body=b"<methodCall><methodName>add</methodName></methodCall>",
        decoded=MethodCall("add", (Int(1), I4(2))),
    )
    base_response = HttpMessage(
        headers=(("Content-Type", "text/xml"),),
        body=b"<methodResponse/>",
        decoded=MethodResponse(Int(3)),
    )
    base = CallRecord(
        id="0" * 32,
        seq=3,
        started=1_700_000_000.125,
        ended=1_700_000_000.25,
        client=("127.0.0.1", 50123),
        server=("127.0.0.1", 8000),
        scheme="http",
        host="127.0.0.1",
        port=8000,
        path="/RPC2",
        status=200,
        request=base_request if request is _KEEP else _half(base_request, request),
        response=(
            base_response
            if response is _KEEP
            else None
            if response is None
            else _half(base_response, response)
        ),
    )
    return dataclasses.replace(base, **changes)


def numbered(n: int, start: int = 0) -> list[CallRecord]:
    """``n`` records with seq ``start``.. and distinct ids."""
    return [make_record(seq=i, id=f"{i:032x}") for i in range(start, start + n)]


def write_capture(path: Path, records: list[CallRecord], **kw: Any) -> Path:
    """A capture file holding ``records``."""
    with CaptureWriter(path, **kw) as w:
        for r in records:
            w.write(r)
    return path


def index_in_small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the index builder hand even a small capture to helper processes, in pieces of
    16 KB after a 4 KB head."""
    from rpcspy.capture import index as index_module

    monkeypatch.setattr(index_module, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(index_module, "_HEAD_BYTES", 4096)
    monkeypatch.setattr(index_module, "_PIECE_BYTES", 16_384)
