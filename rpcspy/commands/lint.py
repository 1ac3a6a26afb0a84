"""``rpcspy lint``: a conformance report of captures, per peer (``rpcspy.lint``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rpcspy.commands import HelpFormatter

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``lint`` to the ``rpcspy`` command line."""
    p = sub.add_parser(
        "lint",
        help="report which peers break the XML-RPC spec, and how, in capture files",
        formatter_class=HelpFormatter,
        description=(
            "Read capture files and report, per peer, the XML-RPC rules its messages break:\n"
            "each rule with its severity, how many findings in how many calls, and one example\n"
            "call (its # for `rpcspy show --call`). A client is named by its User-Agent header\n"
            "and host, a server by its Server header and address. The rules are described in\n"
            "docs/conformance.md.\n"
            "\n"
            "A body that could not be decoded at all (malformed XML, a DTD, a value no reading\n"
            "can keep) counts as an error finding of that kind, against the peer that wrote it.\n"
            "\n"
            "Exit status: 0 no error-severity finding (warnings only, or none); 1 some value or\n"
            "body could not be decoded (error findings); 3 a capture could not be read; 4\n"
            "corrupt lines were skipped (the rest was reported).\n"
            "\n"
            "With --api, each call is also checked against an API description (rpcspy api):\n"
            "an unknown method, a wrong arity, a type the API does not allow are findings of\n"
            "the api-* rules (docs/conformance.md), counted against the peer that sent them."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy lint captures/basics.jsonl\n"
            "  rpcspy lint monday.jsonl tuesday.jsonl.gz\n"
            "  rpcspy lint session.jsonl --json | jq '.peers[] | select(.rules != [])'\n"
            "  rpcspy lint session.jsonl --api api.json"
        ),
    )
    p.add_argument("captures", type=Path, nargs="+", metavar="CAPTURE", help="capture file(s)")
    p.add_argument("--json", action="store_true", help="machine-readable output (one JSON object)")
    p.add_argument(
        "--api",
        type=Path,
        metavar="FILE",
        help="also check each call against this API description (rpcspy api learn/introspect)",
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Print the report; returns the exit code (1 when a finding is an error)."""
    import sys
    from collections.abc import Iterator

    import orjson

    from rpcspy.capture import CallRecord, CaptureFormatError, RecordFinding
    from rpcspy.capture.reader import CaptureReader
    from rpcspy.exits import EXIT_FAILURE, EXIT_INPUT, EXIT_OK, EXIT_PARTIAL, CliError
    from rpcspy.inputs import open_capture
    from rpcspy.lint import LintReport, build_report, format_report
    from rpcspy.replay.progress import Progress
    from rpcspy.term import warn

    paths: list[Path] = args.captures
    extra = None
    if args.api is not None:
        from rpcspy.api.check import check_record
        from rpcspy.inputs import load_api

        api = load_api(args.api, "--api")

        def extra(record: CallRecord) -> list[RecordFinding]:
            return check_record(api, record)

    readers = [(path, open_capture(path)) for path in paths]  # every header checked first
    report = LintReport()
    skipped = False
    with Progress("lint", None) as progress:
        for path, reader in readers:
            name = str(path)

            def records(name: str, reader: CaptureReader) -> Iterator[tuple[str, CallRecord]]:
                for record in reader:
                    progress.advance()
                    yield name, record

            try:
                build_report(records(name, reader), report, extra=extra)
            except CaptureFormatError as exc:
                raise CliError(f"{path}: {exc}", EXIT_INPUT) from exc
            except OSError as exc:
                raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_INPUT) from exc
            for problem in reader.problems:
                warn(f"{path}: {problem.message}")
            if reader.problems:
                n = len(reader.problems)
                warn(f"{path}: {n} line{'s' if n != 1 else ''} skipped; the rest is reported")
                skipped = True
    out = sys.stdout
    if args.json:
        out.write(orjson.dumps(report.to_json()).decode() + "\n")
    else:
        for line in format_report(report, several=len(paths) > 1):
            out.write(line + "\n")
    if report.errors:
        return EXIT_FAILURE
    return EXIT_PARTIAL if skipped else EXIT_OK
