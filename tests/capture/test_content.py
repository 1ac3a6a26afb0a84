"""Undoing Content-Encoding: gzip, deflate (zlib and raw), stacks of codings, and their failures."""

from __future__ import annotations

import gzip
import zlib

import pytest

from rpcspy.capture._content import ContentEncodingError, decode_content, encoding_tokens

BODY = b"<?xml version='1.0'?><methodCall><methodName>x</methodName></methodCall>" * 3


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        (BODY, None),
        (BODY, ""),
        (BODY, "identity"),
        (gzip.compress(BODY), "gzip"),
        (gzip.compress(BODY), "x-gzip"),
        (gzip.compress(BODY), " GZIP "),
        (zlib.compress(BODY), "deflate"),
        (raw_deflate(BODY), "deflate"),
        (gzip.compress(zlib.compress(BODY)), "deflate, gzip"),
        (gzip.compress(BODY[:50]) + gzip.compress(BODY[50:]), "gzip"),
        (gzip.compress(BODY) + b"\x00" * 4, "gzip"),
    ],
    ids=[
        "none",
        "empty",
        "identity",
        "gzip",
        "x-gzip",
        "case",
        "zlib",
        "raw-deflate",
        "stacked",
        "two-members",
        "zero-padding",
    ],
)
def test_decodes(encoded: bytes, encoding: str | None) -> None:
    assert decode_content(encoded, encoding, 1 << 20) == BODY


@pytest.mark.parametrize(
    ("encoded", "encoding", "message"),
    [
        (BODY, "br", "unsupported content-encoding 'br'"),
        (BODY, "gzip", "gzip data is corrupt"),
        (gzip.compress(BODY)[:-12], "gzip", "gzip data ends early"),
        (b"", "gzip", "gzip data ends early"),
        (gzip.compress(BODY) + b"junk", "gzip", "followed by 4 bytes that are not gzip"),
        (b"\x78\x9c\xff\xff", "deflate", "deflate data is corrupt"),
        (zlib.compress(BODY) + b"xx", "deflate", "followed by 2 stray bytes"),
    ],
    ids=[
        "unknown",
        "not-gzip",
        "truncated",
        "empty",
        "trailing",
        "bad-deflate",
        "deflate-trailing",
    ],
)
def test_failures_are_content_encoding_errors(encoded: bytes, encoding: str, message: str) -> None:
    with pytest.raises(ContentEncodingError, match=message):
        decode_content(encoded, encoding, 1 << 20)


def test_a_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"\x00" * (50 << 20))  # 50 MiB of zeros in ~50 KB
    assert len(bomb) < 100_000
    with pytest.raises(ContentEncodingError, match="more than 1 MiB"):
        decode_content(bomb, "gzip", 1 << 20)
    with pytest.raises(ContentEncodingError, match="more than 1 MiB"):
        decode_content(zlib.compress(b"\x00" * (50 << 20)), "deflate", 1 << 20)
    # The limit counts across gzip members.
    two = gzip.compress(b"a" * 600_000) + gzip.compress(b"b" * 600_000)
    with pytest.raises(ContentEncodingError, match="more than"):
        decode_content(two, "gzip", 1 << 20)
    assert len(decode_content(two, "gzip", 1_200_000)) == 1_200_000


def test_tokens() -> None:
    assert encoding_tokens(None) == []
    assert encoding_tokens("identity") == []
    assert encoding_tokens("deflate, Gzip") == ["deflate", "gzip"]
