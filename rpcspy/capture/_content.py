"""Undo an HTTP Content-Encoding (gzip, deflate) with a bound on the output, for decoding bodies.

A small body can inflate to gigabytes; every step stops one byte past ``max_bytes`` so a bomb costs
at most that much memory.
"""

from __future__ import annotations

import zlib
from typing import Final

__all__ = ["ContentEncodingError", "decode_content", "encoding_tokens"]

_GZIP_MAGIC: Final = b"\x1f\x8b"
_IDENTITY: Final = frozenset({"", "identity"})


class ContentEncodingError(Exception):
    """The body cannot be decoded: unknown encoding, corrupt or truncated data, or too large."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def encoding_tokens(header: str | None) -> list[str]:
    """The codings named by a Content-Encoding value, in the order they were applied."""
    if not header:
        return []
    tokens = [t.strip().lower() for t in header.split(",")]
    return [t for t in tokens if t not in _IDENTITY]


def _size(n: int) -> str:
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    return f"{n} bytes"


def _inflate_one(
    data: bytes, wbits: int, budget: int, name: str, max_bytes: int
) -> tuple[bytes, bytes]:
    """One zlib/gzip/raw stream: (output, bytes left after the stream)."""
    d = zlib.decompressobj(wbits)
    try:
        out = d.decompress(data, budget + 1)
    except zlib.error as exc:
        raise ContentEncodingError(f"{name} data is corrupt: {exc}") from None
    if len(out) > budget:
        raise ContentEncodingError(
            f"{name} body inflates to more than {_size(max_bytes)} (the size limit); not decoded"
        )
    if not d.eof:
        raise ContentEncodingError(f"{name} data ends early (truncated body)")
    return out, d.unused_data


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    rest = data
    while True:
        out, rest = _inflate_one(rest, 16 + zlib.MAX_WBITS, max_bytes - total, "gzip", max_bytes)
        parts.append(out)
        total += len(out)
        # Several members are one body (RFC 1952); zero padding after the last is common.
        if rest.startswith(_GZIP_MAGIC):
            continue
        if rest.strip(b"\x00"):
            raise ContentEncodingError(
                f"gzip data is followed by {len(rest)} bytes that are not gzip"
            )
        return b"".join(parts)


def _inflate(data: bytes, max_bytes: int) -> bytes:
    # "deflate" is meant to be zlib-wrapped (RFC 9110), but some servers send raw deflate.
    try:
        out, rest = _inflate_one(data, zlib.MAX_WBITS, max_bytes, "deflate", max_bytes)
    except ContentEncodingError as zlib_error:
        try:
            out, rest = _inflate_one(data, -zlib.MAX_WBITS, max_bytes, "deflate", max_bytes)
        except ContentEncodingError:
            raise zlib_error from None
    if rest:
        raise ContentEncodingError(f"deflate data is followed by {len(rest)} stray bytes")
    return out


def decode_content(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    """The body with its content codings undone, last applied first; ``ContentEncodingError``.

    Identity (or no encoding) returns the body unchanged. Output over ``max_bytes`` is refused.
    """
    for token in reversed(encoding_tokens(encoding)):
        if token in ("gzip", "x-gzip"):
            body = _gunzip(body, max_bytes)
        elif token == "deflate":
            body = _inflate(body, max_bytes)
        else:
            raise ContentEncodingError(
                f"unsupported content-encoding {token!r} (rpcspy decodes gzip and deflate)"
            )
    return body
