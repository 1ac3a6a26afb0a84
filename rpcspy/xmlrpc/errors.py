"""Errors of the codec: each says where (line, column, value path) and why, in words a person
understands. Three kinds, so callers can tell a broken message from a hostile one from a wrong
value."""

from __future__ import annotations

__all__ = ["BadValue", "CodecError", "MalformedXml", "UnsafeXml"]


class CodecError(Exception):
    """Base of every error the codec raises. ``kind`` is a stable machine-readable name."""

    kind: str = "codec-error"

    def __init__(
        self,
        reason: str,
        *,
        line: int | None = None,
        column: int | None = None,
        path: str | None = None,
    ) -> None:
        self.reason = reason
        self.line = line
        self.column = column
        self.path = path
        super().__init__(self.message)

    @property
    def where(self) -> str:
        """``line 3, column 7`` / ``at params[0].name`` / both, or empty."""
        parts = []
        if self.line is not None:
            parts.append(f"line {self.line}" + (f", column {self.column}" if self.column else ""))
        if self.path:
            parts.append(f"at {self.path}")
        return ", ".join(parts)

    @property
    def message(self) -> str:
        where = self.where
        return f"{self.reason} ({where})" if where else self.reason

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready description (used in capture files)."""
        return {
            "kind": self.kind,
            "reason": self.reason,
            "line": self.line,
            "column": self.column,
            "path": self.path,
        }

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.reason, self.line, self.column, self.path))


def _rebuild(
    cls: type[CodecError], reason: str, line: int | None, column: int | None, path: str | None
) -> CodecError:
    return cls(reason, line=line, column=column, path=path)


class MalformedXml(CodecError):
    """The bytes are not well-formed XML, or not an XML-RPC message (wrong or missing elements)."""

    kind = "malformed-xml"


class UnsafeXml(CodecError):
    """The message is refused before or while parsing: DTD, entities, too deep, too large."""

    kind = "unsafe-xml"


class BadValue(CodecError):
    """Well-formed XML-RPC whose value is wrong: ``<i4>`` overflow, boolean 2, bad base64 ..."""

    kind = "bad-value"
