"""Real XML-RPC peers, live, through ``rpcspy proxy``: forwarding, decode, replay, mock and lint.

Each peer that is installed (``scripts/install-peers.sh``) runs as a client (its client script
-> rpcspy proxy -> ``rpcspy serve``) and as a server (a stdlib client -> rpcspy proxy -> its
server script) with the sweep's scenarios, which carry each peer's deviations (big ints, string
fault codes, nil, i8, multicall ...). A peer that is not installed skips with the reason, and
the session ends with one ``INTEROP PEERS MISSING`` line (tests/interop/conftest.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rpcspy.capture.record import CallRecord, HttpMessage
from rpcspy.xmlrpc.errors import CodecError
from rpcspy.xmlrpc.findings import RULES
from rpcspy.xmlrpc.tolerant import read_message
from tests.interop.livepeers import (
    VARIANTS,
    Session,
    demo_server,
    lint_available,
    missing_peers,
    run_session,
)

pytestmark = [pytest.mark.interop, pytest.mark.timeout(600)]

# livepeers put tests/interop/peers on the path
import sweep  # noqa: E402
from deviations import analyze, stdlib_verdict  # noqa: E402

MANIFEST = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "peers" / "manifest.json").read_text()
)

SESSIONS = [(v, "client") for v in VARIANTS] + [
    (v, "server") for v in VARIANTS if "server" in sweep.PEERS[v] or v == "supervisor"
]

#: The quirks each peer is known for (tests/data/peers/README.md): the findings must name them.
KNOWN_QUIRKS: dict[tuple[str, str], set[str]] = {
    ("perl-xmlrpc-lite", "client"): {"int-out-of-range"},
    ("perl-xmlrpc-lite", "server"): {"fault-code-not-int", "int-out-of-range"},
    ("perl-frontier", "client"): {"int-out-of-range"},
    ("perl-frontier", "server"): {"int-out-of-range"},
    ("ruby-xmlrpc-enable", "client"): {"int-out-of-range", "nil-extension"},
    ("ruby-xmlrpc-enable", "server"): {"int-out-of-range", "nil-extension"},
    ("node-xmlrpc", "client"): {"int-out-of-range", "nil-extension"},
    ("node-xmlrpc", "server"): {"int-out-of-range", "nil-extension", "fault-missing-member"},
    ("xmlrpc-c", "client"): {"i8-extension", "nil-extension"},
    ("xmlrpc-c", "server"): {"i8-extension", "nil-extension"},
    ("xmlrpc-c-apache", "client"): {"i8-extension", "nil-extension"},
    ("xmlrpc-c-apache", "server"): {"i8-extension", "nil-extension"},
    ("java-axmlrpc", "client"): {"i8-extension", "nil-extension", "datetime-variant"},
}


class Sessions:
    """Each (variant, role) session runs once, when a test first asks for it."""

    def __init__(self, demo_port: int, workdir: Path) -> None:
        self.demo_port = demo_port
        self.workdir = workdir
        self.done: dict[tuple[str, str], Session | BaseException] = {}

    def get(self, variant: str, role: str) -> Session:
        why = missing_peers().get(VARIANTS[variant])
        if why is not None:
            pytest.skip(f"{VARIANTS[variant]} not installed ({why}): run scripts/install-peers.sh")
        key = (variant, role)
        if key not in self.done:
            try:
                self.done[key] = run_session(variant, role, self.demo_port, self.workdir)
            except Exception as exc:  # every test of the session reports it, once run
                self.done[key] = exc
        got = self.done[key]
        if isinstance(got, BaseException):
            raise AssertionError(f"the {variant} {role} session failed: {got!r}") from got
        return got


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sessions]:
    with demo_server() as port:
        yield Sessions(port, tmp_path_factory.mktemp("interop"))


@pytest.fixture(params=SESSIONS, ids=[f"{v}-{r}" for v, r in SESSIONS])
def session(request: pytest.FixtureRequest, sessions: Sessions) -> Session:
    variant, role = request.param
    return sessions.get(variant, role)


# ------------------------------------------------------------------------------- helpers


def _findings(record: CallRecord) -> list[object]:
    found = list(getattr(record, "findings", ()) or ())
    for half in (record.request, record.response):
        found += list(getattr(half, "findings", ()) or ()) if half is not None else []
    return found


def _rule(finding: Any) -> str:
    return str(finding["rule"] if isinstance(finding, dict) else finding.rule)


def _severity(finding: Any) -> str:
    return str(finding["severity"] if isinstance(finding, dict) else finding.severity)


def _needs_findings() -> None:
    if not hasattr(CallRecord, "findings"):
        pytest.skip("the capture record has no findings yet (issue 9's tolerant record builder)")


def _raw(half: HttpMessage, start: bytes) -> bytes:
    """The HTTP message as deviations.analyze reads it (bodies are recorded de-chunked)."""
    headers = [
        f"{k}: {v}".encode("latin-1") for k, v in half.headers if k.lower() != "transfer-encoding"
    ]
    return b"\r\n".join([start, *headers]) + b"\r\n\r\n" + (half.body or b"")


def _halves(record: CallRecord) -> Iterator[tuple[HttpMessage, bytes]]:
    """Each recorded half with its HTTP start line, as deviations.analyze reads it."""
    yield record.request, b"POST / HTTP/1.1"
    if record.response is not None:
        yield record.response, f"HTTP/1.1 {record.status} X".encode()


def _expected_rules(half: HttpMessage, start: bytes) -> set[str]:
    """The deviations of deviations.py (the manifest's judge) that are finding rules."""
    request = start.startswith(b"POST")
    rules = {d["rule"] for d in analyze(_raw(half, start), request=request)}
    # deviations.py's empty-value is <value/>, an empty string by the spec's default type;
    # the rule empty-value is an empty typed element (<int/>), which no peer sent
    return rules & set(RULES) - {"empty-value"}


def _stdlib_accepts(body: bytes | None) -> bool:
    return body is not None and stdlib_verdict(body)["stdlib"] == "accepts"


# ------------------------------------------------------------------------------- the checks


def test_proxy_forwards_every_answer_unchanged(session: Session) -> None:
    """Through the proxy, each client gets exactly the answers it gets straight from the server."""
    assert session.proxied.keys() == session.direct.keys()
    for label, direct in session.direct.items():
        assert session.proxied[label] == direct, label


def test_every_exchange_is_recorded(session: Session) -> None:
    """As many exchanges as the sweep recorded for this peer and role, each with both halves."""
    roles = {session.role, "tolerance"} if session.role == "server" else {"client"}
    expected = [
        e
        for e in MANIFEST["exchanges"]
        if e["variant"] == session.variant and e["role"] in roles and e["files"]
    ]
    assert len(session.records) == len(expected)
    for record in session.records:
        assert record.request.body, record.id
        assert record.response is not None and record.status is not None, record.id
        assert record.error is None, (record.id, record.error)


def test_tolerant_reading_names_the_peers_deviations(session: Session) -> None:
    """rpcspy.xmlrpc.tolerant reads every recorded body the stdlib accepts, with its findings."""
    seen: set[str] = set()
    for record in session.records:
        for half, start in _halves(record):
            if not half.body:
                continue
            try:
                rules = {f.rule for f in read_message(half.body).findings}
            except CodecError:
                assert not _stdlib_accepts(half.body), (record.method, half.body[:300])
                continue
            seen |= rules
            if _stdlib_accepts(half.body):
                assert _expected_rules(half, start) <= rules, (record.method, rules)
    assert KNOWN_QUIRKS.get((session.variant, session.role), set()) <= seen


def test_accepted_bodies_decode_with_findings(session: Session) -> None:
    """What the stdlib accepts, rpcspy decodes: its call and reply, no bad-value, and findings."""
    _needs_findings()
    seen: set[str] = set()
    for record in session.records:
        kinds = {(p.where, p.kind) for p in record.problems}
        if _stdlib_accepts(record.request.body):
            assert record.call is not None, (record.method, record.problems)
            assert ("request", "bad-value") not in kinds, record.problems
        if record.response is not None and _stdlib_accepts(record.response.body):
            assert record.reply is not None, (record.method, record.problems)
            assert ("response", "bad-value") not in kinds, record.problems
        rules = {_rule(f) for f in _findings(record)}
        for half, start in _halves(record):
            if _stdlib_accepts(half.body):
                assert _expected_rules(half, start) <= rules, (record.method, rules)
        seen |= rules
    assert KNOWN_QUIRKS.get((session.variant, session.role), set()) <= seen


def test_replay_against_the_same_server_passes(session: Session) -> None:
    """``rpcspy replay`` of the capture against the unchanged server it was recorded from."""
    assert session.replay is not None
    out = session.replay.stdout + session.replay.stderr
    assert session.replay.returncode == 0, out


def test_mock_answers_every_recorded_call(session: Session) -> None:
    """The same clients against ``rpcspy mock`` of the capture get the recorded answers."""
    assert session.mocked.keys() == session.proxied.keys()
    for label, recorded in session.proxied.items():
        assert session.mocked[label] == recorded, label


def test_lint_reports_the_peers_quirks(session: Session) -> None:
    """``rpcspy lint`` names every rule the records break, and exits 1 only on errors."""
    _needs_findings()
    if not lint_available():
        pytest.skip("no 'rpcspy lint' command yet (issue 9)")
    assert session.lint is not None and session.lint_json is not None
    findings = [f for r in session.records for f in _findings(r)]
    errors = {_rule(f) for f in findings if _severity(f) == "error"}
    errors |= {p.kind for r in session.records for p in r.problems if p.kind in RULES}
    errors = {e for e in errors if RULES[e].severity == "error"}
    out = session.lint.stdout + session.lint.stderr
    assert session.lint.returncode == (1 if errors else 0), out
    for rule in {_rule(f) for f in findings} | KNOWN_QUIRKS.get(
        (session.variant, session.role), set()
    ):
        assert rule in out, (rule, out)
        assert rule in session.lint_json.stdout, rule
