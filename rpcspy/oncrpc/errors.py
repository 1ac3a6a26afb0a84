"""Errors of the ONC RPC codec: each says where (byte offset or line:column, value path) and why.

Four main kinds, so callers can tell a short message from a hostile one from a wrong value from
a bad interface file: ``Truncated`` (the bytes end before the value does), ``OverLimit`` (a length,
count, depth or size over a bound; refused before anything is allocated), ``BadXdr`` (the bytes
are there but wrong: bool 2, an enum value the type does not have, non-zero padding, bytes after
the end) and ``BadIdl`` (an rpcgen ``.x`` text the parser cannot read). ``BadRecord`` is TCP
record marking that cannot be followed, such as a fragment over the limit (kind
``bad-record-marking``, apart from the capture reader's ``bad-record``); ``UnknownProcedure``
says no interface describes a call.
"""

from __future__ import annotations

__all__ = [
    "BadIdl",
    "BadRecord",
    "BadXdr",
    "OncRpcError",
    "OverLimit",
    "Truncated",
    "UnknownProcedure",
]


class OncRpcError(Exception):
    """Base of every error the ONC RPC codec raises. ``kind`` is a stable machine-readable name."""

    kind: str = "oncrpc-error"

    def __init__(
        self,
        reason: str,
        *,
        offset: int | None = None,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.reason = reason
        self.offset = offset
        self.path = path
        self.line = line
        self.column = column
        super().__init__(self.message)

    @property
    def where(self) -> str:
        """``line 3:7`` / ``byte 40`` / ``at args[0].name``, joined, or empty."""
        parts = []
        if self.line is not None:
            parts.append(f"line {self.line}:{self.column or 1}")
        if self.offset is not None:
            parts.append(f"byte {self.offset}")
        if self.path:
            parts.append(f"at {self.path}")
        return ", ".join(parts)

    @property
    def message(self) -> str:
        where = self.where
        return f"{self.reason} ({where})" if where else self.reason

    def __str__(self) -> str:
        return self.message

    def within(self, segment: str) -> OncRpcError:
        """Put ``segment`` in front of the value path (composites add theirs as the error rises);
        returns self, so ``raise exc.within(".name")`` reads well."""
        self.path = segment + (self.path or "")
        return self

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready description (for capture files)."""
        return {
            "kind": self.kind,
            "reason": self.reason,
            "offset": self.offset,
            "path": self.path,
            "line": self.line,
            "column": self.column,
        }

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild,
            (type(self), self.reason, self.offset, self.path, self.line, self.column),
        )


def _rebuild(
    cls: type[OncRpcError],
    reason: str,
    offset: int | None,
    path: str | None,
    line: int | None,
    column: int | None,
) -> OncRpcError:
    return cls(reason, offset=offset, path=path, line=line, column=column)


class Truncated(OncRpcError):
    """The bytes end before the value (or header, or fragment) does."""

    kind = "truncated"


class OverLimit(OncRpcError):
    """A length, count, depth or size is over a bound; nothing was allocated for it."""

    kind = "over-limit"


class BadXdr(OncRpcError):
    """The bytes are present but not a value of the type (bool 2, unknown enum, bad padding...)."""

    kind = "bad-xdr"


class BadIdl(OncRpcError):
    """An rpcgen ``.x`` interface text that cannot be parsed or resolved."""

    kind = "bad-idl"


class BadRecord(OncRpcError):
    """TCP record marking that cannot be followed (a fragment over the limit, a torn stream)."""

    kind = "bad-record-marking"


class UnknownProcedure(OncRpcError):
    """No interface describes the call's program, version or procedure: its bytes stay raw."""

    kind = "unknown-procedure"
