"""What goes wrong on an RPyC stream: errors the core raises and the problems a reader reports.

The core functions (``decode_payload``, ``load_brine``, ``decode_message``) raise an ``RpycError``
naming the kind, the reason and where (byte offset in the stream or in the payload). The stream
and session readers never raise on bad input: they turn each error into a ``Problem`` (a frozen,
JSON-able value) and go on with the next frame where the framing allows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["KINDS", "Problem", "RpycError", "Severity", "Side"]

Side = Literal["client", "server"]
"""Which peer sent the bytes: the one that opened the connection, or the one that accepted it."""

Severity = Literal["warning", "error"]

#: Every problem kind, with its severity and what it means. ``warning``: rpyc itself would carry
#: on the same way (and so does the reader); ``error``: the frame or message could not be read.
KINDS: Final[dict[str, tuple[Severity, str]]] = {
    "frame-too-large": (
        "error",
        "a frame header declares more bytes than the limit; they are skipped, not buffered",
    ),
    "truncated-frame": ("error", "the stream ended inside a frame"),
    "bad-compression-flag": (
        "warning",
        "the header's compression flag is neither 0 nor 1 (rpyc reads any non-zero as zlib)",
    ),
    "bad-flusher": (
        "warning",
        "the byte after a frame's payload is not the newline rpyc writes (rpyc drops it unread)",
    ),
    "bad-zlib": ("error", "a compressed frame's payload is not a zlib stream"),
    "payload-too-large": ("error", "a payload decompresses to more bytes than the limit"),
    "empty-payload": ("error", "a frame carries no message type byte"),
    "bad-brine": ("error", "the message is not a brine value rpyc's brine.load accepts"),
    "brine-trailing-bytes": ("warning", "bytes after the brine value (rpyc ignores them)"),
    "unknown-message-type": ("error", "the message type is not request, reply or exception"),
    "bad-message": ("error", "the brine value is not the (seq, payload) shape rpyc sends"),
    "bad-box": ("error", "a boxed value has an unknown label or a malformed netref id"),
    "unknown-handler": ("warning", "a request names a handler rpyc does not have"),
    "bad-arguments": ("warning", "a request's arguments do not fit its handler"),
    "unknown-seq": ("warning", "a reply or exception answers no request in flight"),
    "duplicate-seq": ("warning", "a request reuses the seq of a request still in flight"),
    "too-many-pending": (
        "error",
        "more requests in flight than the limit; the oldest is given up without its reply",
    ),
    "unknown-netref": ("warning", "a request names a netref never seen on this connection"),
}


class RpycError(Exception):
    """An RPyC frame or message that cannot be read. ``kind`` is a key of ``KINDS``."""

    def __init__(self, kind: str, reason: str, *, offset: int | None = None) -> None:
        self.kind = kind
        self.reason = reason
        self.offset = offset
        where = f" (at byte {offset})" if offset is not None else ""
        super().__init__(f"{kind}: {reason}{where}")

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (self.kind, self.reason, self.offset))

    def problem(self, side: Side | None, *, offset: int | None = None) -> Problem:
        """This error as a ``Problem`` of the stream ``side`` sent, at a stream ``offset``."""
        return Problem(self.kind, self.reason, side, offset if offset is not None else self.offset)


def _rebuild(kind: str, reason: str, offset: int | None) -> RpycError:
    return RpycError(kind, reason, offset=offset)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong on a stream: its kind, in words, which side sent it, where."""

    kind: str
    reason: str
    side: Side | None = None
    #: Byte offset in that side's stream (of the frame's header), when known.
    offset: int | None = None
    #: The seq of the message it concerns, when known.
    seq: int | None = None

    @property
    def severity(self) -> Severity:
        return KINDS.get(self.kind, ("error", ""))[0]

    def __str__(self) -> str:
        where = [f"from the {self.side}"] if self.side else []
        if self.offset is not None:
            where.append(f"at byte {self.offset}")
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        suffix = f" ({', '.join(where)})" if where else ""
        return f"{self.severity} {self.kind}: {self.reason}{suffix}"

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "reason": self.reason,
            "side": self.side,
            "offset": self.offset,
            "seq": self.seq,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Problem:
        side = data.get("side")
        offset = data.get("offset")
        seq = data.get("seq")
        return cls(
            str(data["kind"]),
            str(data["reason"]),
            "client" if side == "client" else "server" if side == "server" else None,
            offset if isinstance(offset, int) else None,
            seq if isinstance(seq, int) else None,
        )
