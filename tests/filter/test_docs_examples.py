"""Every filter shown in docs/filter.md gives the same calls through ``rpcspy show --filter`` (the
real command), through the capture index (the TUI's path) and through a plain record-by-record
reading of the language (tests/filter/reference.py)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rpcspy.capture.index import IndexBuilder
from rpcspy.filter import FilterError, filter_rows, parse_filter
from rpcspy.filter.parser import FLAGS
from tests.conftest import REPO
from tests.filter.reference import matches as reference_matches
from tests.tui.samples import exchange, sample_records, write_capture

RPCSPY = str(Path(sys.executable).with_name("rpcspy"))
DOC = REPO / "docs" / "filter.md"
# Spans in the doc that are syntax, not examples.
_NOT_EXAMPLES = {"*", "[*]", "[N]", ".name", '["odd name"]', "[abc]", "( ... )", "A B"}


def documented_filters() -> list[str]:
    """Every code span and code-block line of docs/filter.md that parses as a filter."""
    text = DOC.read_text()
    found: list[str] = []
    blocks = re.findall(r"```\n(.*?)```", text, flags=re.S)
    for block in blocks[:1]:  # the first block is filters; later ones are errors and Python
        found.extend(line.strip() for line in block.splitlines() if line.strip())
    for span in re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S)):
        span = span.replace("\\|", "|")
        if span in _NOT_EXAMPLES or span.startswith(("rpcspy", "parse_filter", "A ")):
            continue
        try:
            parse_filter(span)
        except FilterError:
            continue
        found.append(span)
    return list(dict.fromkeys(found))


FILTERS = documented_filters()


KINDS = {
    "MethodGlob",
    "FaultTest",
    "OkFlag",
    "ProblemFlag",
    "ErrorFlag",
    "Multicall",
    "Nonconformant",
    "FindingRule",
    "Text",
    "PathTest",
    "Latency",
    "Size",
    "Status",
    "Origin",
    "Protocol",
    "Client",
    "And",
    "Or",
    "Not",
}


def test_the_doc_has_an_example_of_every_predicate() -> None:
    kinds = {type(node).__name__ for f in FILTERS for node in _nodes(parse_filter(f).tree)}
    assert kinds >= KINDS
    assert "params[0].name=bob" in FILTERS and "params[0].id:string" in FILTERS


def _nodes(node: object) -> list[object]:
    out = [node]
    for attr in ("left", "right", "operand"):
        child = getattr(node, attr, None)
        if child is not None:
            out.extend(_nodes(child))
    return out


_WIDE_I4 = (
    b"<?xml version='1.0'?><methodResponse><params><param><value><struct><member>"
    b"<name>total</name><value><i4>1099511627776</i4></value></member></struct></value>"
    b"</param></params></methodResponse>"
)
_STRING_FAULT_CODE = (
    b"<?xml version='1.0'?><methodResponse><fault><value><struct><member><name>faultCode"
    b"</name><value><string>Client</string></value></member><member><name>faultString</name>"
    b"<value><string>no such file</string></value></member></struct></value></fault>"
    b"</methodResponse>"
)


def _records() -> list[object]:
    records = sample_records()
    # A few more, so that each documented example has something to find.
    records.append(exchange(13, "user.get", ({"name": "bob smith", "id": "7"},), result=True))
    records.append(
        exchange(14, "dir.list", ({"items": [{"id": 7}]},), result={"total": 12, "when": "x"})
    )
    records.append(exchange(15, "user.get", ('say "hi"',), result=["a", "txt"]))
    other = exchange(16, "math.add", (7, 2.5), result=9.5, origin="resent")
    records.append(dataclasses.replace(other, client=("10.0.0.3", 4000), status=500))
    records.append(exchange(17, "dir.put", ("x" * 11_000,), result=True))
    # Nonconformant answers, as real peers send them (Ruby's wide <i4>, XMLRPC::Lite's string
    # faultCode): the record builder reads them tolerantly and makes the findings.
    records.append(exchange(18, "user.get", (7,), response_body=_WIDE_I4))
    records.append(exchange(19, "dir.remove", ("x",), response_body=_STRING_FAULT_CODE))
    return records  # type: ignore[return-value]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_capture(tmp_path_factory.mktemp("docs") / "docs.jsonl", _records())  # type: ignore[arg-type]


def _show(capture: Path, text: str) -> list[int]:
    env = {**os.environ, "NO_COLOR": "1"}
    out = subprocess.run(
        [RPCSPY, "show", str(capture), "--filter", text, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    return [json.loads(line)["seq"] for line in out.stdout.splitlines()]


def test_every_documented_filter_agrees_everywhere(capture: Path) -> None:
    records = _records()
    builder = IndexBuilder(capture)
    builder.run()
    index = builder.index
    try:
        expected = {
            text: [r.seq for r in records if reference_matches(parse_filter(text).tree, r)]  # type: ignore[attr-defined]
            for text in FILTERS
        }
        for text in FILTERS:
            flt = parse_filter(text)
            got = [index.seq[row] for row in filter_rows(index, flt)]
            assert got == expected[text], text
            assert [r.seq for r in records if flt.matches(r)] == expected[text], text  # type: ignore[attr-defined]
        # Through the real command: every example but the lone words (plain text searches,
        # like ``ms`` or ``int``, that the doc mentions as units and type names).
        examples = [t for t in FILTERS if not t.isalnum() or t.lower() in FLAGS]
        with ThreadPoolExecutor(4) as pool:
            shown = dict(
                zip(examples, pool.map(lambda t: _show(capture, t), examples), strict=True)
            )
        for text in examples:
            assert shown[text] == expected[text], text
        # The comparisons are not between empty lists: each kind of test finds some calls.
        finding = {
            type(node).__name__
            for text, seqs in expected.items()
            if seqs
            for node in _nodes(parse_filter(text).tree)
        }
        assert finding >= KINDS
    finally:
        builder.close()
