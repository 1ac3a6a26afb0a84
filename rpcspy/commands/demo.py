"""``rpcspy demo``: demo servers, the recording proxy and a scripted client (``rpcspy.demo``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rpcspy.commands import HelpFormatter

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``demo`` to the ``rpcspy`` command line."""
    p = sub.add_parser(
        "demo",
        help="start the demo server and run a scripted client through every feature",
        formatter_class=HelpFormatter,
        description=(
            "Start demo servers (plain, Basic auth, TLS) on free ports of 127.0.0.1 and run a\n"
            "scripted stdlib client through every feature, each scenario through a recording\n"
            "proxy, printing each call and whether it behaved as expected. Each scenario's calls\n"
            "are written to DIR/<scenario>.jsonl (--out DIR; without it, to a temp dir that is\n"
            "removed on exit, like everything else the demo creates). On a terminal, the demo\n"
            "then opens the TUI with the scripted client running live through a proxy to a demo\n"
            "server of its own (a fresh sandbox, so the calls go as they did above; q quits).\n"
            "Exit code 0 when every step behaved as expected, 1 otherwise (130 on Ctrl-C, 143 on\n"
            "SIGTERM)."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy demo\n"
            "  rpcspy demo --scenario basics --scenario faults --out captures/\n"
            "  rpcspy demo --no-tui -q          # the smoke test alone: the summary and failures\n"
            "  rpcspy demo --list"
        ),
    )
    p.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="run only this scenario (repeatable); see --list",
    )
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write the captures here and keep them, one per scenario "
        "(default: a temp dir, removed on exit)",
    )
    p.add_argument(
        "--direct", action="store_true", help="talk to the servers directly: no proxy, no captures"
    )
    p.add_argument(
        "--no-tui",
        action="store_true",
        help="do not end in the terminal UI (it opens only on a terminal anyway)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print only the summary and failures")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the scenarios (and the live TUI on a terminal); returns the exit code."""
    import sys

    from rpcspy.demo import SCENARIOS, run_demo
    from rpcspy.exits import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, CliError

    if args.list:
        for name, scenario in SCENARIOS.items():
            print(f"{name:12} {scenario.title}")
        return EXIT_OK
    names = args.scenario or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise CliError(
            f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}", EXIT_USAGE
        )
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise CliError(f"--out is not a directory: {args.out}", EXIT_USAGE)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    tui = interactive and not (args.no_tui or args.direct or args.quiet)
    if not tui:
        ok = run_demo(names, quiet=args.quiet, out_dir=args.out, direct=args.direct)
        return EXIT_OK if ok else EXIT_FAILURE
    from rpcspy.proxy import ProxyError  # loaded only when the demo ends in the live TUI

    try:
        ok = run_demo(names, quiet=args.quiet, out_dir=args.out, direct=args.direct, tui=True)
    except ProxyError as exc:  # the live TUI's proxy could not start
        raise CliError(str(exc), EXIT_FAILURE) from exc
    return EXIT_OK if ok else EXIT_FAILURE
