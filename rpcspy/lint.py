"""The conformance report of ``rpcspy lint``: which peer breaks which XML-RPC rule, how often.

Pure: it reads records (``rpcspy.capture.CallRecord``) and their ``findings``, and builds a
``LintReport`` to print or dump as JSON; no I/O. A peer is one side of the exchanges: a client
(its ``User-Agent`` request header and its host) writes requests, a server (its ``Server``
response header and the address called) writes responses. A finding in a request counts against
the client, one in a response against the server; a multicall finding against whichever wrote
the part it points into (``params`` the client, ``result`` the server).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from rpcspy.capture.record import FINDING_PLACES, CallRecord, RecordFinding
from rpcspy.term import printable
from rpcspy.xmlrpc.findings import RULES, Severity

__all__ = [
    "Example",
    "LintReport",
    "PeerReport",
    "Role",
    "RuleCount",
    "build_report",
    "format_report",
    "peer_of",
]

Role = Literal["client", "server"]

#: Shown for a peer that sent no identifying header.
NO_AGENT = "(no User-Agent)"
NO_SERVER = "(no Server header)"


@dataclass(slots=True)
class Example:
    """One call where a rule was broken: enough to find it with ``rpcspy show --call``."""

    capture: str
    seq: int
    method: str | None
    where: str
    path: str | None
    message: str


@dataclass(slots=True)
class RuleCount:
    """One rule a peer breaks: how many findings, in how many calls, and the first example."""

    rule: str
    severity: Severity
    findings: int
    calls: int
    example: Example


@dataclass(slots=True)
class PeerReport:
    """One peer: who it is, how many calls it took part in, and the rules it breaks."""

    role: Role
    agent: str
    address: str
    calls: int = 0
    nonconformant_calls: int = 0
    rules: dict[str, RuleCount] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``client Perl XMLRPC::Lite @ 127.0.0.1``."""
        return f"{self.role} {self.agent} @ {self.address}"

    @property
    def errors(self) -> int:
        """Findings of error severity (a value kept undecoded)."""
        return sum(r.findings for r in self.rules.values() if r.severity == "error")

    def sorted_rules(self) -> list[RuleCount]:
        """Errors first, then the most frequent rules."""
        return sorted(self.rules.values(), key=lambda r: (r.severity != "error", -r.calls, r.rule))


@dataclass(slots=True)
class LintReport:
    """The whole report: every peer seen, and totals."""

    peers: dict[tuple[Role, str, str], PeerReport] = field(default_factory=dict)
    calls: int = 0
    nonconformant_calls: int = 0
    findings: int = 0
    errors: int = 0

    @property
    def warnings(self) -> int:
        """Findings of warning severity (decoded, meaning kept)."""
        return self.findings - self.errors

    def sorted_peers(self) -> list[PeerReport]:
        """Peers that break rules first (most errors, then most nonconformant calls), then the
        rest, clients before servers."""
        return sorted(
            self.peers.values(),
            key=lambda p: (-p.errors, -p.nonconformant_calls, p.role, p.agent, p.address),
        )

    def to_json(self) -> dict[str, object]:
        """The report as ``rpcspy lint --json`` prints it."""
        return {
            "calls": self.calls,
            "nonconformant_calls": self.nonconformant_calls,
            "findings": self.findings,
            "errors": self.errors,
            "warnings": self.warnings,
            "peers": [
                {
                    "role": p.role,
                    "agent": p.agent,
                    "address": p.address,
                    "calls": p.calls,
                    "nonconformant_calls": p.nonconformant_calls,
                    "rules": [
                        {
                            "rule": r.rule,
                            "severity": r.severity,
                            "findings": r.findings,
                            "calls": r.calls,
                            "example": {
                                "capture": r.example.capture,
                                "seq": r.example.seq,
                                "method": r.example.method,
                                "where": r.example.where,
                                "path": r.example.path,
                                "message": r.example.message,
                            },
                        }
                        for r in p.sorted_rules()
                    ],
                }
                for p in self.sorted_peers()
            ],
        }


def peer_of(record: CallRecord, role: Role) -> tuple[str, str]:
    """``(agent, address)`` of the record's client or server."""
    if role == "client":
        agent = record.request.header("user-agent") or NO_AGENT
        address = record.client[0] if record.client is not None else "-"
        return agent, address
    response = record.response
    server = response.header("server") if response is not None else None
    return server or NO_SERVER, f"{record.host}:{record.port}"


def _role_of(finding: RecordFinding) -> Role:
    if finding.where == "request":
        return "client"
    if finding.where == "response":
        return "server"
    # A multicall entry: params[0][i] is in the call, result[i] in the answer.
    return "server" if (finding.path or "").startswith("result") else "client"


def _severity(finding: RecordFinding) -> Severity:
    known = RULES.get(finding.rule)
    return known.severity if known is not None else finding.severity


def _undecodable(record: CallRecord) -> Iterator[RecordFinding]:
    """A body that could not be decoded at all is the worst breach of the spec: each such problem
    (its kind is a rule: ``malformed-xml``, ``unsafe-xml``, ``bad-value``) counts as an error."""
    for p in record.problems:
        if p.where in FINDING_PLACES and p.kind in RULES:
            yield RecordFinding(p.where, p.kind, "error", p.reason, p.line, p.column, p.path)


def build_report(
    records: Iterable[tuple[str, CallRecord]],
    report: LintReport | None = None,
    *,
    extra: Callable[[CallRecord], Iterable[RecordFinding]] | None = None,
) -> LintReport:
    """Add ``(capture name, record)`` pairs to ``report`` (a new one if None) and return it.

    ``extra`` gives more findings of a record, counted like its own (``rpcspy lint --api``
    passes those of an API check, ``rpcspy.api.check.check_record``)."""
    if report is None:
        report = LintReport()
    for capture, record in records:
        report.calls += 1
        peers: dict[Role, PeerReport] = {}
        roles: tuple[Role, ...] = ("client", "server") if record.response else ("client",)
        for role in roles:
            agent, address = peer_of(record, role)
            peer = report.peers.get((role, agent, address))
            if peer is None:
                peer = report.peers[(role, agent, address)] = PeerReport(role, agent, address)
            peer.calls += 1
            peers[role] = peer
        findings = (*record.findings, *_undecodable(record))
        if extra is not None:
            findings = (*findings, *extra(record))
        if not findings:
            continue
        report.nonconformant_calls += 1
        counted: set[tuple[Role, str]] = set()
        for finding in findings:
            role = _role_of(finding)
            peer = peers.get(role)
            if peer is None:  # a response-side finding without a response: cannot happen
                continue
            report.findings += 1
            severity = _severity(finding)
            if severity == "error":
                report.errors += 1
            rule = peer.rules.get(finding.rule)
            if rule is None:
                example = Example(
                    capture, record.seq, record.method, finding.where, finding.path, finding.message
                )
                rule = peer.rules[finding.rule] = RuleCount(finding.rule, severity, 0, 0, example)
            rule.findings += 1
            if (role, finding.rule) not in counted:
                rule.calls += 1
                counted.add((role, finding.rule))
        for role in {role for role, _ in counted}:
            peers[role].nonconformant_calls += 1
    return report


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def format_report(report: LintReport, *, several: bool = False) -> list[str]:
    """The report in lines for people; ``several``: name the capture in each example."""
    lines: list[str] = []
    for peer in report.sorted_peers():
        head = f"{peer.name}: {_plural(peer.calls, 'call')}"
        if not peer.rules:
            lines.append(f"{head}, conformant")
            continue
        lines.append(f"{head}, {peer.nonconformant_calls} breaking the spec")
        for rule in peer.sorted_rules():
            ex = rule.example
            where = f"{ex.capture} " if several else ""
            at = f" at {ex.path}" if ex.path else f" in the {ex.where}"
            lines.append(
                f"  {rule.severity:7} {rule.rule:26} {_plural(rule.findings, 'finding'):>12} "
                f"in {_plural(rule.calls, 'call')}"
            )
            lines.append(f"          e.g. {where}#{ex.seq} {ex.method or '(no method)'}{at}")
    lines.append(
        f"{_plural(report.calls, 'call')}, {_plural(len(report.peers), 'peer')}; "
        f"{_plural(report.findings, 'finding')} ({_plural(report.errors, 'error')}, "
        f"{_plural(report.warnings, 'warning')}) in {report.nonconformant_calls} of them"
    )
    # Peer names (User-Agent) and method names come from the wire: escaped for the terminal.
    return [printable(line) for line in lines]
