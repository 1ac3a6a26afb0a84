"""``rpcspy api``: know a server's API (``rpcspy.api``): introspect it, learn it from traffic,
check calls against it, diff two versions of it, write a typed client for it.

One subcommand per tool, each with its own ``_add_NAME(subs)`` and ``_run_NAME(args)`` below.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rpcspy.commands import HelpFormatter

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``api`` and its subcommands to the ``rpcspy`` command line."""
    p = sub.add_parser(
        "api",
        help="describe a server's API: introspect, learn from traffic, check, diff, stub",
        formatter_class=HelpFormatter,
        description=(
            "Describe an XML-RPC API in one JSON file (docs/api-format.md): its methods, their\n"
            "signatures and help, the types seen in traffic, and where each fact came from.\n"
            "\n"
            "  introspect  ask a live server (system.listMethods, methodSignature, methodHelp)\n"
            "  learn       infer the API from capture files\n"
            "  check       report calls whose arity or types disagree with an API file\n"
            "  diff        what changed between two API files (breaking or compatible)\n"
            "  stub        write a typed Python client module for an API file"
        ),
        epilog=(
            "examples:\n"
            "  rpcspy api introspect http://127.0.0.1:8000/RPC2 -o api.json\n"
            "  rpcspy api learn captures/*.jsonl --api api.json -o learned.json\n"
            "  rpcspy api check session.jsonl --api learned.json\n"
            "  rpcspy api diff before.json after.json\n"
            "  rpcspy api stub api.json --python -o client.py"
        ),
    )
    subs = p.add_subparsers(dest="api_command", metavar="SUBCOMMAND", required=True)
    _add_introspect(subs)
    _add_learn(subs)
    _add_check(subs)
    _add_diff(subs)
    _add_stub(subs)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the chosen subcommand; returns its exit code."""
    runner = {
        "introspect": _run_introspect,
        "learn": _run_learn,
        "check": _run_check,
        "diff": _run_diff,
        "stub": _run_stub,
    }[args.api_command]
    return runner(args)


def _output_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="write the API description here (JSON, docs/api-format.md)",
    )


# ---------------------------------------------------------------- introspect


def _add_introspect(subs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subs.add_parser(
        "introspect",
        help="ask a live server for its methods, signatures and help",
        formatter_class=HelpFormatter,
        description="Ask a server system.listMethods, system.methodSignature and\n"
        "system.methodHelp and describe its API.",
    )
    p.add_argument("url", metavar="URL", help="the server, e.g. http://127.0.0.1:8000/RPC2")
    _output_option(p)
    p.set_defaults(func=run)


def _run_introspect(args: argparse.Namespace) -> int:
    raise NotImplementedError("api introspect")


# ---------------------------------------------------------------- learn


def _add_learn(subs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subs.add_parser(
        "learn",
        help="infer the API from capture files",
        formatter_class=HelpFormatter,
        description="Infer an API description from the calls in capture files.",
    )
    p.add_argument("captures", type=Path, nargs="+", metavar="CAPTURE", help="capture file(s)")
    p.add_argument(
        "--api", type=Path, metavar="FILE", help="merge with this API file (e.g. introspected)"
    )
    _output_option(p)
    p.set_defaults(func=run)


def _run_learn(args: argparse.Namespace) -> int:
    raise NotImplementedError("api learn")


# ---------------------------------------------------------------- check


def _add_check(subs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subs.add_parser(
        "check",
        help="report calls whose arity or types disagree with an API file",
        formatter_class=HelpFormatter,
        description="Check every call in capture files against an API description.",
    )
    p.add_argument("captures", type=Path, nargs="+", metavar="CAPTURE", help="capture file(s)")
    p.add_argument("--api", type=Path, required=True, metavar="FILE", help="the API file")
    p.set_defaults(func=run)


def _run_check(args: argparse.Namespace) -> int:
    raise NotImplementedError("api check")


# ---------------------------------------------------------------- diff


def _add_diff(subs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subs.add_parser(
        "diff",
        help="what changed between two API files (breaking or compatible)",
        formatter_class=HelpFormatter,
        description="Compare two API descriptions; exit 1 when a change is breaking.",
    )
    p.add_argument("old", type=Path, metavar="OLD", help="the API before")
    p.add_argument("new", type=Path, metavar="NEW", help="the API after")
    p.set_defaults(func=run)


def _run_diff(args: argparse.Namespace) -> int:
    raise NotImplementedError("api diff")


# ---------------------------------------------------------------- stub


def _add_stub(subs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subs.add_parser(
        "stub",
        help="write a typed Python client module for an API file",
        formatter_class=HelpFormatter,
        description="Write a Python module with one typed function per method.",
    )
    p.add_argument("api", type=Path, metavar="API", help="the API file")
    p.set_defaults(func=run)


def _run_stub(args: argparse.Namespace) -> int:
    raise NotImplementedError("api stub")
