"""``rpcspy diff``: compare two captures call by call.

The value diff is ``rpcspy.diff``; reading, aligning and pairing the calls of two captures is
``rpcspy.replay.capdiff`` (it shares the report with replay). Both are imported in ``run``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rpcspy.commands.options import EXIT_CODES, add_report_options, add_rule_options

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``diff`` to the ``rpcspy`` command line."""
    p = sub.add_parser(
        "diff",
        help="compare two captures call by call",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Compare two captures call by call. Calls are aligned per method (by their params),\n"
            "so a missing or extra call shifts nothing after it; the report lists missing,\n"
            "extra, reordered and changed calls with their differences, value by value and\n"
            "type by type. Captures are streamed: two captures of 100,000 calls each are fine."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy diff before.jsonl after.jsonl\n"
            "  rpcspy diff prod.jsonl.gz staging.jsonl.gz --ignore '*: result.serverTime' --json\n"
            "  rpcspy diff a.jsonl b.jsonl --only 'method:user.*' --ignore-order \\\n"
            "      --junit diff.xml\n\n" + EXIT_CODES
        ),
    )
    p.add_argument("a", type=Path, metavar="A", help="the reference capture")
    p.add_argument("b", type=Path, metavar="B", help="the capture compared with it")
    add_rule_options(p)
    p.add_argument(
        "--ignore-order",
        action="store_true",
        help="report reordered calls but do not count them as differences",
    )
    add_report_options(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Compare two captures, report; returns the exit code."""
    import sys
    import time

    from rpcspy.capture import CaptureFormatError
    from rpcspy.commands.common import CaptureSource, emit_report, load_cli_rules, parse_only
    from rpcspy.exits import EXIT_INPUT, CliError
    from rpcspy.replay.capdiff import diff_capture_files
    from rpcspy.replay.progress import Progress, progress_enabled
    from rpcspy.replay.report import Report

    rules = load_cli_rules(args.ignore, args.rules, args.tolerance)
    only = parse_only(args.only)
    # Opened once here so that a missing or foreign file is exit code 3 before any work.
    CaptureSource(args.a)
    CaptureSource(args.b)
    show_progress = not args.no_progress and progress_enabled(sys.stderr)
    report = Report("diff", str(args.a), str(args.b))
    started = time.monotonic()
    with Progress("reading", None, enabled=show_progress) as bar:

        def progress(done: int) -> None:
            if done > bar.done:
                bar.advance(done - bar.done)

        try:
            results, problems = diff_capture_files(
                args.a,
                args.b,
                rules=rules,
                only=only.text if only is not None else None,
                ignore_order=args.ignore_order,
                on_progress=progress,
            )
        except CaptureFormatError as exc:
            raise CliError(str(exc), EXIT_INPUT) from None
        except OSError as exc:
            raise CliError(f"cannot read a capture: {exc.strerror or exc}", EXIT_INPUT) from None
    report.results.extend(results)
    report.elapsed = time.monotonic() - started
    report.warnings.extend(problems)
    report.partial = bool(problems)
    return emit_report(report, args)
