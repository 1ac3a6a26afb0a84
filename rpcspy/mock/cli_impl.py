"""What ``rpcspy mock`` does once its arguments are parsed."""

from __future__ import annotations

import argparse
import sys

from rpcspy.exits import EXIT_FAILURE, EXIT_OK, CliError
from rpcspy.mock.playbook import Playbook
from rpcspy.mock.server import MockServer
from rpcspy.replay.cli_impl import CaptureSource, load_cli_rules, parse_only
from rpcspy.term import warn

__all__ = ["mock_main"]


def mock_main(args: argparse.Namespace) -> int:
    """Load the capture, serve it until Ctrl-C; returns the exit code."""
    rules = load_cli_rules(args.ignore, args.rules)
    only = parse_only(args.only)
    source = CaptureSource(args.capture)
    records = source.records()
    if only is not None:
        records = (r for r in records if only.matches(r))
    playbook = Playbook(records, rules)
    for problem in source.problems:
        warn(problem)
    if playbook.calls == 0:
        warn(f"{args.capture}: no answered calls to play back; every call will get a fault")
    try:
        server = MockServer(playbook, host=args.host, port=args.port, quiet=args.quiet)
    except OSError as exc:
        raise CliError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", EXIT_FAILURE
        ) from None
    methods = len(playbook.methods)
    print(
        f"rpcspy mock on {server.url} (any path): {playbook.calls} recorded calls to "
        f"{methods} method{'s' if methods != 1 else ''} from {args.capture}",
        file=sys.stderr,
    )
    if playbook.left_out:
        print(f"  {playbook.left_out} calls without an answer are left out", file=sys.stderr)
    print("  Ctrl-C to stop", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print(f"\nrpcspy mock: {server.hits} matched, {server.misses} missed", file=sys.stderr)
    return EXIT_OK
