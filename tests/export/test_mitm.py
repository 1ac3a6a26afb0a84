"""``rpcspy export --to mitm``: mitmproxy flow files written by mitmproxy's own FlowWriter.

The capture comes from the real proxy (``helpers.record_capture``); mitmdump reads the export.
"""

from __future__ import annotations

from pathlib import Path

from mitmproxy import http
from mitmproxy import io as mitmio

from rpcspy.capture import CallRecord, CaptureWriter, read_capture
from rpcspy.ingest import ImportCounts, InlineRecorder, import_exchanges
from rpcspy.proxy.flowfile import export, read_flows
from tests.export.helpers import (
    CALLS,
    MITMDUMP_HAR,
    assert_same_calls,
    import_har,
    mitmdump_reads,
)
from tests.ingest.helpers import FIXTURES


def exported_flows(capture: Path, out: Path) -> list[http.HTTPFlow]:
    records = list(read_capture(capture))
    done = export(iter(records), out, source=capture)
    assert done.calls == len(records)
    with open(out, "rb") as f:
        flows = list(mitmio.FlowReader(f).stream())
    assert all(isinstance(flow, http.HTTPFlow) for flow in flows)
    return flows  # type: ignore[return-value]


def import_flows(path: Path, out: Path, *, skipped: int = 0) -> list[CallRecord]:
    counts = ImportCounts()
    with CaptureWriter(out, append=False) as writer:
        import_exchanges(read_flows(path), InlineRecorder(writer, counts), counts)
    assert counts.skipped == skipped
    return list(read_capture(out))


def test_each_flow_holds_the_record_as_on_the_wire(recorded: Path, tmp_path: Path) -> None:
    records = list(read_capture(recorded))
    flows = exported_flows(recorded, tmp_path / "x.mitm")
    assert len(flows) == len(records) == len(CALLS)
    for flow, record in zip(flows, records, strict=True):
        request = flow.request
        assert request.method == "POST"
        assert (request.scheme, request.host, request.port, request.path) == (
            record.scheme,
            record.host,
            record.port,
            record.path,
        )
        # Headers and bodies exactly as recorded: raw_content is still content-encoded.
        assert [(k.decode(), v.decode()) for k, v in request.headers.fields] == list(
            record.request.headers
        )
        assert request.raw_content == record.request.body
        assert request.timestamp_start == record.started
        assert flow.client_conn.peername == record.client
        assert flow.server_conn.peername == record.server
        if record.response is None:
            assert flow.response is None
            assert flow.error is not None and flow.error.msg == record.error
            assert flow.error.timestamp == record.ended
        else:
            assert flow.response is not None
            assert flow.response.status_code == record.status
            assert flow.response.raw_content == record.response.body
            assert flow.response.timestamp_end == record.ended
        # What the live addon shows on a flow: the call as its comment, the record's metadata.
        assert flow.comment and flow.metadata["rpcspy"]["id"] == record.id
        assert flow.metadata["rpcspy"]["record"]["seq"] == record.seq
    # The gzip answer, still compressed; mitmproxy undoes it when asked for the content.
    zipped = next(f for f in flows if f.response and f.response.headers.get("content-encoding"))
    assert zipped.response is not None and zipped.response.raw_content is not None
    assert zipped.response.raw_content[:2] == b"\x1f\x8b"
    assert b"GZIP ANSWER" in (zipped.response.content or b"")  # the demo echo shouts
    # A call that is not ok is marked, as the live addon marks it.
    fault = flows[CALLS.index("demo.fault")]
    assert fault.marked


def test_capture_to_mitm_to_capture_keeps_every_call(recorded: Path, tmp_path: Path) -> None:
    original = list(read_capture(recorded))
    flows = tmp_path / "x.mitm"
    exported_flows(recorded, flows)
    back = import_flows(flows, tmp_path / "back.jsonl")
    assert_same_calls(original, back)
    assert [r.method for r in back] == list(CALLS)
    assert [p.kind for p in back[9].problems] == ["too-large"]
    assert back[10].response is None and back[10].error


def test_mitmdump_reads_every_flow(recorded: Path, tmp_path: Path) -> None:
    flows = tmp_path / "x.mitm"
    exported_flows(recorded, flows)
    lines = mitmdump_reads(flows, tmp_path / "confdir")
    assert len(lines) == len(CALLS)
    records = list(read_capture(recorded))
    assert all(f"{r.host}:{r.port}{r.path}" in line for r, line in zip(records, lines, strict=True))


def test_a_flow_file_mitmdump_wrote_goes_through_a_capture_unchanged(tmp_path: Path) -> None:
    # mitm.mitm (written by mitmdump -w) -> capture -> .mitm -> capture: the same records.
    first = import_flows(FIXTURES / "mitm.mitm", tmp_path / "first.jsonl", skipped=1)  # a GET
    assert len(first) == 6
    again = tmp_path / "again.mitm"
    export(iter(first), again, source=tmp_path / "first.jsonl")
    assert_same_calls(first, import_flows(again, tmp_path / "second.jsonl"))


def test_a_capture_without_client_addresses_exports_too(tmp_path: Path) -> None:
    # A capture imported from a HAR has no client addresses (HAR keeps none).
    first = import_har(MITMDUMP_HAR, tmp_path / "from-har.jsonl")
    assert len(first) == 6 and all(r.client is None for r in first)
    flows = tmp_path / "x.mitm"
    export(iter(first), flows, source=tmp_path / "from-har.jsonl")
    assert len(mitmdump_reads(flows, tmp_path / "confdir")) == 6
    assert_same_calls(first, import_flows(flows, tmp_path / "back.jsonl"))
