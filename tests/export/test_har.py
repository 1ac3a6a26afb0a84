"""``rpcspy export --to har``: valid HAR 1.2 that mitmproxy reads, and lossless round trips.

The capture comes from the real proxy (``helpers.record_capture``); the HAR made by mitmdump is
the import fixture (``tests/ingest/fixtures``).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest
from mitmproxy import io as mitmio

from rpcspy.capture import read_capture
from rpcspy.export.har import export, har_entry
from rpcspy.xmlrpc import Fault
from tests.export.helpers import (
    BINARY_BODY,
    CALLS,
    LATIN1_BODY,
    MITMDUMP_HAR,
    assert_same_calls,
    import_har,
    mitmdump_reads,
)


def exported(capture: Path, har: Path) -> dict[str, Any]:
    records = list(read_capture(capture))
    done = export(iter(records), har, source=capture)
    assert done.calls == len(records)
    doc: dict[str, Any] = orjson.loads(har.read_bytes())
    return doc


def har_body(holder: dict[str, Any], charset: str = "utf-8") -> bytes:
    """The bytes a HAR body holds (text in its charset, or base64)."""
    if holder.get("encoding") == "base64":
        return base64.b64decode(holder["text"])
    text: str = holder.get("text", "")
    return text.encode(charset)


# ------------------------------------------------------------------ HAR 1.2, field by field

# What the HAR 1.2 spec (http://www.softwareishard.com/blog/har-12-spec/) requires of each
# object, with the types, and what it allows besides. Custom fields start with "_". The one field
# outside the spec is ``postData.encoding``: the spec has ``encoding`` on ``content`` only, and the
# tools that keep binary request bodies write it on ``postData`` the same way.
REQUIRED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "log": {"version": str, "creator": dict, "entries": list},
    "creator": {"name": str, "version": str},
    "entry": {
        "startedDateTime": str,
        "time": (int, float),
        "request": dict,
        "response": dict,
        "cache": dict,
        "timings": dict,
    },
    "request": {
        "method": str,
        "url": str,
        "httpVersion": str,
        "cookies": list,
        "headers": list,
        "queryString": list,
        "headersSize": int,
        "bodySize": int,
    },
    "response": {
        "status": int,
        "statusText": str,
        "httpVersion": str,
        "cookies": list,
        "headers": list,
        "content": dict,
        "redirectURL": str,
        "headersSize": int,
        "bodySize": int,
    },
    "content": {"size": int, "mimeType": str},
    "postData": {"mimeType": str},
    "pair": {"name": str, "value": str},
    "timings": {"send": (int, float), "wait": (int, float), "receive": (int, float)},
}
OPTIONAL: dict[str, set[str]] = {
    "log": {"browser", "pages", "comment"},
    "creator": {"comment"},
    "entry": {"pageref", "serverIPAddress", "connection", "comment"},
    "request": {"postData", "comment"},
    "response": {"comment"},
    "content": {"compression", "text", "encoding", "comment"},
    "postData": {"params", "text", "comment", "encoding"},
    "pair": {"path", "domain", "expires", "httpOnly", "secure", "comment"},
    "timings": {"blocked", "dns", "connect", "ssl", "comment"},
}


def check(kind: str, obj: Any, where: str, errors: list[str]) -> None:
    if not isinstance(obj, dict):
        errors.append(f"{where}: not an object")
        return
    for key, want in REQUIRED[kind].items():
        if key not in obj:
            errors.append(f"{where}.{key}: missing")
        elif not isinstance(obj[key], want) or isinstance(obj[key], bool):
            errors.append(f"{where}.{key}: {type(obj[key]).__name__}")
    for key in obj:
        if key not in REQUIRED[kind] and key not in OPTIONAL[kind] and not key.startswith("_"):
            errors.append(f"{where}.{key}: not a HAR 1.2 field (custom ones start with _)")


def har_errors(doc: Any) -> list[str]:
    """Everything in ``doc`` that breaks HAR 1.2; empty when it is valid."""
    errors: list[str] = []
    if not isinstance(doc, dict) or set(doc) - {"log"} or "log" not in doc:
        return ["the document is an object with one key, log"]
    log = doc["log"]
    check("log", log, "log", errors)
    if errors:
        return errors
    if log["version"] != "1.2":
        errors.append("log.version is not 1.2")
    check("creator", log["creator"], "log.creator", errors)
    for i, entry in enumerate(log["entries"]):
        at = f"entries[{i}]"
        check("entry", entry, at, errors)
        try:
            dt.datetime.fromisoformat(entry["startedDateTime"])
        except (KeyError, ValueError):
            errors.append(f"{at}.startedDateTime: not ISO 8601")
        check("request", entry.get("request"), f"{at}.request", errors)
        check("response", entry.get("response"), f"{at}.response", errors)
        check("timings", entry.get("timings"), f"{at}.timings", errors)
        request, response = entry["request"], entry["response"]
        for name in ("cookies", "headers", "queryString"):
            for j, pair in enumerate(request.get(name, [])):
                check("pair", pair, f"{at}.request.{name}[{j}]", errors)
        for name in ("cookies", "headers"):
            for j, pair in enumerate(response.get(name, [])):
                check("pair", pair, f"{at}.response.{name}[{j}]", errors)
        if "postData" in request:
            post = request["postData"]
            check("postData", post, f"{at}.request.postData", errors)
            if "text" in post and "params" in post:
                errors.append(f"{at}.request.postData: text and params exclude each other")
        check("content", response.get("content"), f"{at}.response.content", errors)
        timings = entry["timings"]
        spent = sum(v for k, v in timings.items() if k != "comment" and v != -1)
        if abs(spent - entry["time"]) > 1e-6:
            errors.append(f"{at}: timings do not add up to time")
        for key in ("send", "wait", "receive"):
            if timings.get(key, 0) < 0:
                errors.append(f"{at}.timings.{key}: negative")
    return errors


def test_the_checker_finds_what_breaks_the_spec(recorded: Path, tmp_path: Path) -> None:
    doc = exported(recorded, tmp_path / "x.har")
    entry = doc["log"]["entries"][0]
    del entry["request"]["httpVersion"]
    entry["response"]["extra"] = 1
    entry["timings"]["wait"] += 5
    assert har_errors(doc) == [
        "entries[0].request.httpVersion: missing",
        "entries[0].response.extra: not a HAR 1.2 field (custom ones start with _)",
        "entries[0]: timings do not add up to time",
    ]


def test_the_export_is_valid_har_1_2(recorded: Path, tmp_path: Path) -> None:
    doc = exported(recorded, tmp_path / "x.har")
    assert har_errors(doc) == []
    log = doc["log"]
    assert log["creator"]["name"] == "rpcspy" and log["creator"]["version"]
    assert len(log["entries"]) == len(CALLS)
    records = list(read_capture(recorded))
    for entry, record in zip(log["entries"], records, strict=True):
        started = dt.datetime.fromisoformat(entry["startedDateTime"]).timestamp()
        assert started == pytest.approx(record.started, abs=1e-6)
        if record.duration_ms is not None:
            assert entry["time"] == pytest.approx(record.duration_ms)
        assert entry["request"]["url"] == f"http://{record.host}:{record.port}{record.path}"
        assert entry["serverIPAddress"] == "127.0.0.1"
        assert record.client is not None and entry["connection"] == str(record.client[1])
        assert entry["_rpcspy"]["id"] == record.id and entry["_rpcspy"]["seq"] == record.seq
        assert [h["name"] for h in entry["request"]["headers"]] == [
            k for k, _ in record.request.headers
        ]


def test_bodies_are_decoded_text_or_base64(recorded: Path, tmp_path: Path) -> None:
    doc = exported(recorded, tmp_path / "x.har")
    records = list(read_capture(recorded))
    entries = doc["log"]["entries"]
    # The gzip answer: decompressed in content.text, sizes say how much it was compressed.
    i = next(i for i, r in enumerate(records) if r.response and r.response.content_encoding)
    zipped = records[i].response
    assert zipped is not None and zipped.body is not None
    content = entries[i]["response"]["content"]
    assert content["text"].encode() == gzip.decompress(zipped.body)
    assert "encoding" not in content
    assert entries[i]["response"]["bodySize"] == len(zipped.body)
    assert content["size"] - content["compression"] == len(zipped.body)
    # The gzip request: decompressed in postData.text.
    j = next(i for i, r in enumerate(records) if r.request.content_encoding == "gzip")
    assert records[j].request.body is not None
    assert entries[j]["request"]["postData"]["text"].encode() == gzip.decompress(
        records[j].request.body
    )
    # ISO-8859-1, declared in the body: text, which that charset gives back byte for byte.
    k = next(i for i, r in enumerate(records) if r.request.body == LATIN1_BODY)
    post = entries[k]["request"]["postData"]
    assert "encoding" not in post and post["text"].encode("iso-8859-1") == LATIN1_BODY
    assert "café crème" in post["text"]
    # Binary: base64.
    b = next(i for i, r in enumerate(records) if r.request.body == BINARY_BODY)
    post = entries[b]["request"]["postData"]
    assert post["encoding"] == "base64" and base64.b64decode(post["text"]) == BINARY_BODY


def test_a_call_without_a_response_is_a_valid_entry(recorded: Path, tmp_path: Path) -> None:
    records = list(read_capture(recorded))
    (crashed,) = [r for r in records if r.response is None]
    assert crashed.error
    entry = har_entry(crashed)
    assert har_errors({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"},
                               "entries": [entry]}}) == []  # fmt: skip
    response = entry["response"]
    assert response["status"] == 0 and response["_error"] == crashed.error
    assert entry["_rpcspy"]["response"] is None


def test_redacted_credentials_stay_redacted(recorded: Path, tmp_path: Path) -> None:
    har = tmp_path / "x.har"
    doc = exported(recorded, har)
    assert b"s3cret-pw" not in har.read_bytes()
    assert b"YWxpY2U6czNjcmV0LXB3" not in har.read_bytes()  # base64 of alice:s3cret-pw
    (entry,) = [e for e in doc["log"]["entries"] if e["_rpcspy"]["redacted"]]
    auth = [h["value"] for h in entry["request"]["headers"] if h["name"] == "Authorization"]
    assert auth == ["Basic <redacted>"]


def test_capture_to_har_to_capture_keeps_every_call(recorded: Path, tmp_path: Path) -> None:
    original = list(read_capture(recorded))
    har = tmp_path / "x.har"
    exported(recorded, har)
    back = import_har(har, tmp_path / "back.jsonl")
    assert_same_calls(original, back)
    # What the capture holds, as recorded: each kind of call the round trip must keep.
    assert [r.method for r in back] == list(CALLS)
    assert isinstance(back[2].reply, Fault) and len(back[3].subcalls) == 2
    assert back[4].response is not None and back[4].response.content_encoding == "gzip"
    assert back[5].request.content_encoding == "gzip" and back[6].redacted
    assert [p.kind for p in back[8].problems] == ["not-xml-rpc"]
    assert [p.kind for p in back[9].problems] == ["too-large"]
    assert back[10].response is None and back[10].error


def test_har_to_capture_to_har_keeps_every_body_byte(tmp_path: Path) -> None:
    # The HAR mitmdump wrote: import it, export the capture, and compare entry by entry.
    first = orjson.loads(MITMDUMP_HAR.read_bytes())["log"]["entries"]
    calls = [e for e in first if e["request"]["method"] == "POST"]  # the GET is not XML-RPC
    records = import_har(MITMDUMP_HAR, tmp_path / "imported.jsonl")
    assert len(records) == len(calls) == 6
    again = tmp_path / "again.har"
    export(iter(records), again, source=tmp_path / "imported.jsonl")
    second = orjson.loads(again.read_bytes())["log"]["entries"]
    assert har_errors({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"},
                               "entries": second}}) == []  # fmt: skip
    assert len(second) == len(calls)
    for a, b in zip(calls, second, strict=True):
        assert har_body(b["request"]["postData"]) == har_body(a["request"]["postData"])
        assert har_body(b["response"]["content"]) == har_body(a["response"]["content"])
        assert b["request"]["headers"] == a["request"]["headers"]
        assert b["response"]["headers"] == a["response"]["headers"]
        assert b["response"]["status"] == a["response"]["status"]
        assert b["request"]["url"] == a["request"]["url"]
        started = dt.datetime.fromisoformat(a["startedDateTime"])
        assert b["startedDateTime"] == started.isoformat(timespec="microseconds")
    # And once more through a capture: the same records.
    assert_same_calls(records, import_har(again, tmp_path / "twice.jsonl"))


def test_mitmproxy_reads_the_har(recorded: Path, tmp_path: Path) -> None:
    har = tmp_path / "x.har"
    exported(recorded, har)
    records = list(read_capture(recorded))
    # mitmdump itself: every entry is a flow.
    lines = mitmdump_reads(har, tmp_path / "confdir")
    assert len(lines) == len(records)
    # mitmproxy's HAR reader, in process: the same answers.
    with open(har, "rb") as f:
        flows = list(mitmio.FlowReader(f).stream())
    assert len(flows) == len(records)
    for flow, record in zip(flows, records, strict=True):
        assert flow.request.path == record.path and flow.request.method == "POST"
        if record.response is None:
            assert flow.response.status_code == 0
            continue
        assert flow.response.status_code == record.status
        if record.response.body:
            assert flow.response.content == gzip_undone(record.response.body)


def gzip_undone(body: bytes) -> bytes:
    return gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body


def test_entries_are_written_as_they_come(recorded: Path, tmp_path: Path) -> None:
    # Streamed: the file holds entries before the last record has been read.
    records = list(read_capture(recorded))
    har = tmp_path / "x.har"
    sizes: list[int] = []

    def slowly() -> Any:
        for _ in range(40):
            yield from records
            sizes.append(har.stat().st_size)

    export(slowly(), har, source=recorded)
    assert sizes[0] < sizes[-1] and sizes[len(sizes) // 2] > 0
    assert len(orjson.loads(har.read_bytes())["log"]["entries"]) == 40 * len(records)
