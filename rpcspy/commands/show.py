"""``rpcspy show``: the calls of a capture as a table, or one in full (``rpcspy.show``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rpcspy.commands import HelpFormatter

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``show`` to the ``rpcspy`` command line."""
    p = sub.add_parser(
        "show",
        help="list the calls in a capture file, or show one in full",
        formatter_class=HelpFormatter,
        description=(
            "List the calls in a capture file (.jsonl or .jsonl.gz) as a table, or show one call\n"
            "in full with --call. Corrupt lines are reported on stderr and skipped; the exit code\n"
            "is then 4 so scripts can tell."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy show captures/basics.jsonl\n"
            "  rpcspy show captures/basics.jsonl --call 3\n"
            "  rpcspy show captures/basics.jsonl --call id:9e47\n"
            "  rpcspy show captures/faults.jsonl --json | jq -r '.method'\n"
            "  rpcspy show big.jsonl --filter 'method:user.* and params[0].id:string'\n"
            "filter language: docs/filter.md\n"
            "\n"
            "exit codes: 0 ok; 2 bad usage (--call neither a number nor id:PREFIX, an id\n"
            "            prefix that matches several calls); 3 the capture cannot be read, or\n"
            "            --call names no call in it; 4 corrupt lines were skipped (the rest\n"
            "            is shown)"
        ),
    )
    p.add_argument("capture", type=Path, help="capture file")
    p.add_argument(
        "--call",
        metavar="N|id:PREFIX",
        help="show one call in full: its number (the # column), id:PREFIX (the call whose id "
        "starts with PREFIX) or its whole id; a number no call has is an error",
    )
    p.add_argument(
        "--filter",
        metavar="EXPR",
        help="only the calls that pass this filter (the TUI's language: docs/filter.md)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="machine-readable output: one JSON object per call, the whole record (JSON lines)",
    )
    p.add_argument("--raw", action="store_true", help="with --call: also print the raw XML bodies")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Print the table or the call; returns the exit code (4 when corrupt lines were skipped)."""
    from rpcspy.exits import EXIT_USAGE, CliError
    from rpcspy.show import show_call, show_table

    if args.raw and not args.call:
        raise CliError("--raw goes with --call", EXIT_USAGE)
    if args.call:
        return show_call(args.capture, args.call, as_json=args.json, raw=args.raw)
    return show_table(args.capture, as_json=args.json, filter_text=args.filter)
