"""Reports of ``rpcspy replay`` and ``rpcspy diff``: a result per call, as text, JSON or JUnit.

Pure data and renderers; the commands fill a ``Report`` and pick an output. A result's
``verdict`` says what happened to the call; only some verdicts count as a difference (``FAILING``),
and the exit code is 0 exactly when no result counts.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final, Literal, TextIO

from rpcspy.diff.difference import Difference
from rpcspy.term import Style, printable

__all__ = [
    "FAILING",
    "VERDICTS",
    "CallResult",
    "Report",
    "Verdict",
    "render_text",
    "report_to_json",
    "report_to_junit",
]

Verdict = Literal[
    "same",
    "changed",
    "new-fault",
    "fixed-fault",
    "error",
    "too-large",
    "skipped",
    "missing",
    "extra",
    "reordered",
]
"""What happened to one call.

- ``same``: the answer equals the recorded one: identical bytes (the message says so when the
  decoder could not read them), or equal values beyond ignore rules and noise.
- ``changed``: a different answer (or, in a capture diff, a different call at the same place).
- ``new-fault`` / ``fixed-fault``: a fault where there was a result / a result where there was a
  fault.
- ``error``: no XML-RPC answer at all: refused, timed out, closed, HTML or garbage.
- ``too-large``: the answer was over the replay's size limit (``--max-body``): not read to its
  end, not compared.
- ``skipped``: not re-sent (``--skip``, or not re-encodable).
- ``missing`` / ``extra``: a capture diff found the call only in A / only in B.
- ``reordered``: a capture diff found the call in both, at another place in the order.
"""

VERDICTS: Final[tuple[Verdict, ...]] = (
    "same",
    "changed",
    "new-fault",
    "fixed-fault",
    "error",
    "too-large",
    "skipped",
    "missing",
    "extra",
    "reordered",
)
#: Verdicts that make the run fail (exit code 1).
FAILING: Final[frozenset[Verdict]] = frozenset(
    {"changed", "new-fault", "fixed-fault", "error", "too-large", "missing", "extra", "reordered"}
)

#: Verdicts that are JUnit errors (the call got no answer to compare), not failures.
_ERRORS: Final[frozenset[Verdict]] = frozenset({"error", "too-large"})

_LABEL: Final[dict[Verdict, tuple[str, str]]] = {
    # verdict: (words in the summary, colour)
    "same": ("same", "green"),
    "changed": ("changed", "yellow"),
    "new-fault": ("new fault", "red"),
    "fixed-fault": ("fixed fault", "cyan"),
    "error": ("error", "red"),
    "too-large": ("too large", "red"),
    "skipped": ("skipped", "dim"),
    "missing": ("missing", "red"),
    "extra": ("extra", "yellow"),
    "reordered": ("reordered", "magenta"),
}


@dataclass(frozen=True, slots=True)
class CallResult:
    """The outcome of one call in a report.

    ``seq``/``id`` name the call in the reference capture (A, or the replayed capture), and
    ``new_seq``/``new_id`` its counterpart (B, or the new exchange). ``differences`` are those that
    count, ``noise`` those learned as noise (shown apart, never counted), ``ignored`` how many
    differences ignore rules dropped (replay only: a capture diff settles most pairs by their
    prints and never sees what the rules drop). ``counts`` is False for a verdict the user chose
    not to count (``--ignore-order``).
    """

    verdict: Verdict
    method: str | None
    seq: int | None = None
    id: str | None = None
    new_seq: int | None = None
    new_id: str | None = None
    differences: tuple[Difference, ...] = ()
    noise: tuple[Difference, ...] = ()
    ignored: int = 0
    message: str | None = None
    duration_ms: float | None = None
    counts: bool = True

    @property
    def failing(self) -> bool:
        """Whether this result makes the run fail."""
        return self.counts and self.verdict in FAILING

    @property
    def name(self) -> str:
        """``#12 user.get`` (or ``B#7 user.get`` for a call only in the other capture)."""
        method = self.method if self.method is not None else "(undecodable call)"
        if self.seq is not None:
            return f"#{self.seq} {method}"
        if self.new_seq is not None:
            return f"B#{self.new_seq} {method}"
        return method

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form of the result."""
        return {
            "verdict": self.verdict,
            "method": self.method,
            "seq": self.seq,
            "id": self.id,
            "new_seq": self.new_seq,
            "new_id": self.new_id,
            "failing": self.failing,
            "message": self.message,
            "duration_ms": self.duration_ms,
            "ignored": self.ignored,
            "differences": [d.to_dict() for d in self.differences],
            "noise": [d.to_dict() for d in self.noise],
        }


@dataclass
class Report:
    """Everything a replay or a capture diff found."""

    command: Literal["replay", "diff"]
    #: The reference: the replayed capture, or A.
    source: str
    #: What it was compared with: the target URL, or B.
    other: str
    results: list[CallResult] = field(default_factory=list)
    #: Noise learned per method: value paths whose answers differed between known-good runs.
    noise_paths: dict[str, set[str]] = field(default_factory=dict)
    #: Problems with the inputs that did not stop the run (corrupt capture lines skipped).
    warnings: list[str] = field(default_factory=list)
    #: Whether some input lines were skipped as corrupt (exit code 4 when nothing else fails).
    partial: bool = False
    elapsed: float = 0.0

    def add(self, result: CallResult) -> None:
        """Append one call's result."""
        self.results.append(result)

    @property
    def counts(self) -> Counter[str]:
        """How many results of each verdict."""
        return Counter(r.verdict for r in self.results)

    @property
    def failed(self) -> bool:
        """Whether any result counts as a difference or an error."""
        return any(r.failing for r in self.results)

    def exit_code(self) -> int:
        """0 nothing differs, 1 something differs or failed, 4 clean but lines were skipped."""
        if self.failed:
            return 1
        return 4 if self.partial else 0

    def summary(self) -> str:
        """``12 calls: 9 same, 2 changed, 1 error``: every verdict seen, in a fixed order."""
        counts = self.counts
        total = sum(counts.values())
        parts = [f"{counts[v]} {_LABEL[v][0]}" for v in VERDICTS if counts[v]]
        noun = "call" if total == 1 else "calls"
        return f"{total} {noun}: " + (", ".join(parts) if parts else "nothing compared")


def _result_lines(result: CallResult, style: Style) -> Iterator[str]:
    # Names, messages (a target's status line, its Content-Type, bytes it sent) and values come
    # from captures and peers: escaped (``printable``) before colour is added.
    words, colour = _LABEL[result.verdict]
    head = f"{printable(result.name)}  {style(words, colour, 'bold')}"
    moved = result.verdict in ("missing", "extra", "reordered")
    if moved and result.new_seq is not None and result.seq is not None:
        head += style(f"  (B#{result.new_seq})", "dim")
    if result.message:
        head += f": {printable(result.message)}"
    if not result.counts:
        head += style("  (not counted)", "dim")
    yield head
    for d in result.differences:
        mark = style(" (minor)", "dim") if d.minor else ""
        yield f"    {printable(d.describe())}{mark}"
    for d in result.noise:
        yield style(f"    noise: {printable(d.describe())}", "dim")


def render_text(
    report: Report, out: TextIO, *, quiet: bool = False, show_all: bool = False
) -> None:
    """Write the report for people: each call that is not ``same`` or says why it is, noise,
    then the summary.

    Warnings are not written here: the command prints them on stderr.
    """
    style = Style(out)
    what = "replay of" if report.command == "replay" else "diff of"
    joiner = "against" if report.command == "replay" else "and"
    source, other = printable(report.source), printable(report.other)
    out.write(style(f"{what} {source} {joiner} {other}", "bold") + "\n")
    if not quiet:
        for result in report.results:
            # A ``same`` with a message (settled by identical bytes, say) is worth a line.
            if result.verdict == "same" and not (show_all or result.noise or result.message):
                continue
            for line in _result_lines(result, style):
                out.write(line + "\n")
    if report.noise_paths:
        out.write(style("noise (learned from known-good answers; not counted):", "bold") + "\n")
        for method in sorted(report.noise_paths):
            paths = printable(", ".join(sorted(report.noise_paths[method])))
            out.write(f"    {printable(method)}: {paths}\n")
    verdict = style("FAIL", "red", "bold") if report.failed else style("OK", "green", "bold")
    out.write(f"{verdict} {report.summary()} ({report.elapsed:.2f} s)\n")


def report_to_json(report: Report, *, show_all: bool = False) -> dict[str, object]:
    """The report as JSON-ready data: summary counts, each call that is not ``same`` or has a
    message (all with ``show_all``), the learned noise and the warnings."""
    counts = report.counts
    return {
        "command": report.command,
        "source": report.source,
        "other": report.other,
        "ok": not report.failed,
        "exit_code": report.exit_code(),
        "summary": {v: counts[v] for v in VERDICTS} | {"total": sum(counts.values())},
        "elapsed_s": round(report.elapsed, 6),
        "calls": [
            r.to_dict()
            for r in report.results
            if show_all or r.verdict != "same" or r.noise or r.message
        ],
        "noise": {m: sorted(p) for m, p in sorted(report.noise_paths.items())},
        "warnings": list(report.warnings),
    }


def _junit_text(lines: Iterable[str]) -> str:
    # XML cannot carry control characters or lone surrogates: the same visible escapes as on
    # the terminal.
    return printable("\n".join(lines), multiline=True)


def report_to_junit(report: Report) -> bytes:
    """The report as JUnit XML: one test case per call, failures and errors with the details."""
    counts = report.counts
    suite = ET.Element(
        "testsuite",
        {
            "name": printable(f"rpcspy {report.command} {report.source} {report.other}"),
            "tests": str(len(report.results)),
            "failures": str(
                sum(1 for r in report.results if r.failing and r.verdict not in _ERRORS)
            ),
            "errors": str(sum(1 for r in report.results if r.failing and r.verdict in _ERRORS)),
            "skipped": str(counts["skipped"]),
            "time": f"{report.elapsed:.3f}",
        },
    )
    for result in report.results:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": printable(f"rpcspy.{report.command}.{result.method or 'undecodable'}"),
                "name": printable(result.name),
                "time": f"{(result.duration_ms or 0.0) / 1000:.6f}",
            },
        )
        detail = [d.describe() for d in result.differences]
        noise = [f"noise: {d.describe()}" for d in result.noise]
        words = _LABEL[result.verdict][0]
        message = f"{words}: {printable(result.message)}" if result.message else words
        if result.verdict == "skipped":
            ET.SubElement(case, "skipped", {"message": message})
        elif result.failing and result.verdict in _ERRORS:
            el = ET.SubElement(case, "error", {"message": message, "type": result.verdict})
            el.text = _junit_text(detail + noise) or None
        elif result.failing:
            el = ET.SubElement(case, "failure", {"message": message, "type": result.verdict})
            el.text = _junit_text(detail + noise) or None
        elif noise or result.message or (not result.counts and result.verdict != "same"):
            out = ET.SubElement(case, "system-out")
            out.text = _junit_text([message, *noise])
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return bytes(ET.tostring(suites, encoding="utf-8", xml_declaration=True))
