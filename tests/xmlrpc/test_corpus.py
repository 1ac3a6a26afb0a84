"""The message corpus in tests/data: every valid file decodes (and round-trips), every invalid
file fails with the kind, reason, path and line its manifest entry says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from rpcspy.xmlrpc import (
    CodecError,
    Fault,
    Limits,
    MethodCall,
    MethodResponse,
    decode_message,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    sniff_kind,
)
from tests.conftest import DATA

VALID = sorted((DATA / "valid").glob("*.xml"))
INVALID_DIR = DATA / "invalid"
MANIFEST: dict[str, dict[str, Any]] = json.loads((INVALID_DIR / "manifest.json").read_text())
KINDS = {"malformed-xml", "unsafe-xml", "bad-value"}


def _id(path: Path) -> str:
    return path.name


def test_the_corpus_is_there() -> None:
    assert len(VALID) >= 50
    assert len(MANIFEST) >= 100
    for family in ("supervisord", "odoo", "wordpress", "koji", "validator1", "apache", "encoding"):
        assert any(p.name.startswith(family) for p in VALID), family


def test_every_invalid_file_has_a_manifest_entry_and_back() -> None:
    on_disk = {p.relative_to(INVALID_DIR).as_posix() for p in INVALID_DIR.rglob("*.xml")}
    assert on_disk == set(MANIFEST)
    assert {name.split("/")[0] for name in MANIFEST} == KINDS


@pytest.mark.parametrize("path", VALID, ids=_id)
def test_valid_file_decodes_and_round_trips(path: Path) -> None:
    body = path.read_bytes()
    message = decode_message(body)
    if isinstance(message, MethodCall):
        assert sniff_kind(body) == "call"
        assert decode_request(body) == message
        again = decode_message(encode_request(message))
    else:
        assert sniff_kind(body) == "response"
        assert decode_response(body) == message
        again = decode_message(encode_response(message))
    assert again == message


@pytest.mark.parametrize("name", sorted(MANIFEST), ids=str)
def test_invalid_file_is_refused_as_the_manifest_says(name: str) -> None:
    expected = MANIFEST[name]
    kind = name.split("/")[0]
    body = (INVALID_DIR / name).read_bytes()
    limits = Limits(**expected.get("limits", {}))
    with pytest.raises(CodecError) as info:
        decode_message(body, limits)
    error = info.value
    assert error.kind == kind, error.message
    assert expected["reason"] in error.reason, error.message
    if "path" in expected:
        assert error.path == expected["path"], error.message
    if "line" in expected:
        assert error.line == expected["line"], error.message
    assert "internal decoder error" not in error.reason
    # The specific entry points fail the same way when the root is theirs.
    if b"<methodCall" in body and b"<methodResponse" not in body:
        with pytest.raises(type(error)):
            decode_request(body, limits)


DTD_FILES = sorted(n for n in MANIFEST if "DOCTYPE" in MANIFEST[n]["reason"])


@pytest.mark.parametrize("name", DTD_FILES)
def test_dtds_are_refused_without_parsing(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """DTD refusal happens before libxml2 sees the bytes: nothing can be expanded or fetched."""

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("the parser was reached")

    monkeypatch.setattr(etree, "fromstring", no_parsing)
    with pytest.raises(CodecError) as info:
        decode_message((INVALID_DIR / name).read_bytes())
    assert info.value.kind == "unsafe-xml"


def test_wrong_entry_point_says_what_it_found() -> None:
    response = (DATA / "valid" / "odoo-login-response.xml").read_bytes()
    with pytest.raises(CodecError, match="root element is <methodResponse>, expected <methodCall>"):
        decode_request(response)
    call = (DATA / "valid" / "odoo-login-call.xml").read_bytes()
    with pytest.raises(CodecError, match="expected <methodResponse>"):
        decode_response(call)


def test_faults_in_the_corpus_keep_their_whole_struct() -> None:
    fault = decode_message((DATA / "valid" / "fault-with-i4-and-extra-members.xml").read_bytes())
    assert isinstance(fault, Fault)
    assert (fault.code, fault.string) == (-32601, "Unknown method")
    assert list(fault.value) == ["faultString", "faultCode", "detail"]


def test_multicall_response_in_the_corpus_is_a_response() -> None:
    message = decode_message((DATA / "valid" / "koji-multicall-response.xml").read_bytes())
    assert isinstance(message, MethodResponse)
