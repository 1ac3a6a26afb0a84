"""The redaction lists: which header and query values a record keeps, and how it says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from rpcspy.capture import CaptureWriter, read_capture
from rpcspy.capture.redact import (
    DEFAULT_HEADERS,
    DEFAULT_QUERY,
    DEFAULT_REDACTION,
    NO_REDACTION,
    REDACTED,
    Redaction,
    redact_header,
    redact_record,
)
from tests.capture.helpers import make_record


@pytest.mark.parametrize(
    "name",
    ["X-Api-Key", "x-auth-token", "PRIVATE-TOKEN", "Api-Key", "X-Csrf-Token", "X-Vault-Token"],
)
def test_token_headers_lose_their_whole_value(name: str) -> None:
    # No scheme word to keep: "abc def" would otherwise keep "abc", a piece of the key.
    assert redact_header(name, "abc def") == REDACTED


def test_authorization_keeps_only_a_word_that_looks_like_a_scheme() -> None:
    assert redact_header("Authorization", "Basic dXNlcjpwYXNz") == f"Basic {REDACTED}"
    assert redact_header("Authorization", "AWS4-HMAC-SHA256 Credential=x") == (
        f"AWS4-HMAC-SHA256 {REDACTED}"
    )
    # A token with a space in it is not a scheme and its first part: it all goes.
    assert redact_header("Authorization", "0123abcd:ef 99") == REDACTED
    assert redact_header("Authorization", "a" * 40 + " b") == REDACTED


def test_url_headers_lose_their_query_values() -> None:
    assert redact_header("Referer", "https://a.example/p?access_token=x&q=1") == (
        f"https://a.example/p?access_token={REDACTED}&q=1"
    )
    assert redact_header("Location", "/next?page=2") == "/next?page=2"
    # Named outright, a URL header loses its whole value.
    whole = Redaction.configured(redact_headers=["Referer"])
    assert redact_header("Referer", "https://a.example/p?q=1", whole) == REDACTED


def test_configured_adds_and_removes_names() -> None:
    redaction = Redaction.configured(
        redact_headers=["X-Custom"],
        keep_headers=["Cookie"],
        redact_query=["Session"],
        keep_query=["key"],
    )
    assert redaction.headers == (DEFAULT_HEADERS | {"x-custom"}) - {"cookie"}
    assert redaction.query == (DEFAULT_QUERY | {"session"}) - {"key"}
    assert Redaction.configured() == DEFAULT_REDACTION
    assert not NO_REDACTION.active and DEFAULT_REDACTION.active
    with pytest.raises(ValueError, match="both redacted and kept: x-a"):
        Redaction.configured(redact_headers=["X-A"], keep_headers=["x-a"])
    with pytest.raises(ValueError, match="not a header name"):
        Redaction.configured(redact_headers=["a b"])
    with pytest.raises(ValueError, match="not a query parameter name"):
        Redaction.configured(keep_query=[""])


def test_a_record_with_a_redacted_path_says_so() -> None:
    record = make_record(path="/RPC2?access_token=abc&page=2")
    redacted = redact_record(record)
    assert redacted.path == f"/RPC2?access_token={REDACTED}&page=2"
    assert redacted.redacted and not record.redacted
    assert redacted.request == record.request  # nothing else changed
    kept = redact_record(record, Redaction.configured(keep_query=["access_token"]))
    assert kept is record
    assert redact_record(record, NO_REDACTION) is record


def test_the_writer_takes_a_redaction(tmp_path: Path) -> None:
    record = make_record(
        path="/RPC2?session=s1&token=t1",
        request={"headers": (("X-Custom", "c1"), ("X-Api-Key", "k1"))},
    )
    redaction = Redaction.configured(
        redact_headers=["X-Custom"], keep_headers=["X-Api-Key"], redact_query=["session"]
    )
    path = tmp_path / "c.jsonl"
    with CaptureWriter(path, redaction=redaction) as writer:
        writer.write(record)
    with CaptureWriter(path, redact=False, redaction=redaction) as writer:
        writer.write(record)
    first, second = read_capture(path)
    assert first.path == f"/RPC2?session={REDACTED}&token={REDACTED}"
    assert dict(first.request.headers) == {"X-Custom": REDACTED, "X-Api-Key": "k1"}
    assert first.redacted
    # redact=False: nothing is redacted, whatever the lists say.
    assert second.path == record.path and not second.redacted


def test_the_format_document_lists_every_default_name() -> None:
    from tests.conftest import REPO

    doc = (REPO / "docs" / "capture-format.md").read_text(encoding="utf-8").lower()
    section = doc[doc.index("## redaction") : doc.index("## versioning")]
    for name in DEFAULT_HEADERS | DEFAULT_QUERY:
        assert f"`{name}`" in section, name
