"""``rpcspy mock``: the command line. The server is imported in ``run``."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``mock`` to the ``rpcspy`` command line."""
    p = sub.add_parser(
        "mock",
        help="serve the answers recorded in a capture (a playback XML-RPC server)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Serve the answers recorded in CAPTURE: a call is answered with the recorded answer\n"
            "to the same method with the same params (decoded values: struct member order and\n"
            "whitespace do not matter; --ignore paths are left out). Repeated identical calls\n"
            "get the recorded answers in recorded order, then the last one again. A call with\n"
            "no recorded match gets an XML-RPC fault that names the closest recorded call and\n"
            "the paths that differed. Every match and miss is logged on stderr, one line each.\n\n"
            "Answers are the recorded bytes (with their Content-Type and Content-Encoding) when\n"
            "the capture has them. The mock can itself be recorded through 'rpcspy proxy'."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy mock session.jsonl --port 8001\n"
            "  rpcspy mock session.jsonl --port 8001 --ignore '*: params[0].requestId'\n"
            '  python3 -c "import xmlrpc.client as x; '
            "print(x.ServerProxy('http://127.0.0.1:8001/RPC2').system.listMethods())\"\n\n"
            "exit codes: 0 stopped cleanly, 1 could not listen, 2 bad usage, 3 unreadable capture"
        ),
    )
    p.add_argument("capture", type=Path, help="capture file (.jsonl or .jsonl.gz)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    p.add_argument(
        "--port", type=int, default=8000, help="port to bind, 0 for any (default: %(default)s)"
    )
    p.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="'METHOD: PATH'",
        help="leave a param path out of matching: 'user.get: params[0].requestId'; repeatable",
    )
    p.add_argument("--rules", type=Path, metavar="FILE", help="ignore rules from a file")
    p.add_argument("--only", metavar="FILTER", help="serve only the calls this filter selects")
    p.add_argument("-q", "--quiet", action="store_true", help="do not log each call")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """``rpcspy mock``: serves until interrupted; returns the exit code."""
    from rpcspy.mock.cli_impl import mock_main

    return mock_main(args)
