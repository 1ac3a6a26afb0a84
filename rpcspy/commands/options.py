"""Option groups that ``replay`` and ``diff`` share, for building their parsers.

Light on purpose (``argparse`` only): ``rpcspy --help`` builds every parser. What the options
become once parsed (rules, filters, reports) is in ``rpcspy.commands.common``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rpcspy.server.limits import HttpLimits

__all__ = [
    "EXIT_CODES",
    "add_limit_options",
    "add_report_options",
    "add_rule_options",
    "http_limits",
    "size_arg",
]

EXIT_CODES = (
    "exit codes: 0 nothing differs beyond ignore rules and noise, 1 something differs or failed,\n"
    "            2 bad usage, 3 unreadable capture, 4 no differences but corrupt capture lines\n"
    "            were skipped"
)

_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def size_arg(text: str) -> int:
    """A byte size with an optional k/m/g suffix (``64m``), for argparse's ``type=``."""
    t = text.strip().lower().removesuffix("ib").removesuffix("b")
    unit = t[-1:] if t[-1:] in _SIZE_UNITS else ""
    number = t[: len(t) - len(unit)]
    if not number.isdigit():
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 512k, 64m, 1g)")
    return int(number) * _SIZE_UNITS[unit]


def add_limit_options(p: argparse.ArgumentParser) -> None:
    """``--max-connections``, ``--max-inflight``, ``--max-body``, ``--idle-timeout`` of a server."""
    g = p.add_argument_group(
        "limits",
        "what the server takes on at once; past them a client gets 503 (try again) or 413 "
        "(too large), and memory stays bounded",
    )
    g.add_argument(
        "--max-connections",
        type=int,
        default=64,
        metavar="N",
        help="connections served at once; more are answered 503 (default: %(default)s)",
    )
    g.add_argument(
        "--max-inflight",
        type=size_arg,
        default="64m",
        metavar="SIZE",
        help="request body bytes held at once over all connections; a request over it is "
        "answered 503 (default: %(default)s)",
    )
    g.add_argument(
        "--max-body",
        type=size_arg,
        default="64m",
        metavar="SIZE",
        help="largest request body; a larger one is answered 413 (default: %(default)s)",
    )
    g.add_argument(
        "--idle-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="close a connection idle or stalled mid-request this long (default: %(default)s)",
    )


def http_limits(args: argparse.Namespace) -> HttpLimits:
    """The ``HttpLimits`` the ``add_limit_options`` arguments ask for (a usage error if bad)."""
    from rpcspy.exits import EXIT_USAGE, CliError
    from rpcspy.server.limits import HttpLimits

    try:
        return HttpLimits(
            max_connections=args.max_connections,
            max_inflight=args.max_inflight,
            max_body=args.max_body,
            idle_timeout=args.idle_timeout,
        )
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def add_rule_options(p: argparse.ArgumentParser) -> None:
    """``--ignore``, ``--tolerance``, ``--rules`` and ``--only``."""
    g = p.add_argument_group("what counts as a difference")
    g.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="'METHOD: PATH'",
        help="ignore a value path for a method (glob): 'user.get: result.lastLogin', "
        "'*: result[*].etag'; repeatable",
    )
    g.add_argument(
        "--tolerance",
        action="append",
        default=[],
        metavar="'[METHOD: PATH =] X'",
        help="doubles within X count as equal: '1e-9', 'stats.*: result.mean = 1e-6'; repeatable",
    )
    g.add_argument("--rules", type=Path, metavar="FILE", help="ignore and tolerance rules (TOML)")
    g.add_argument(
        "--only", metavar="FILTER", help="only the calls this filter selects (see docs/filter.md)"
    )


def add_report_options(p: argparse.ArgumentParser) -> None:
    """``--json``, ``--junit``, ``--quiet`` and ``--all``."""
    g = p.add_argument_group("reports")
    g.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    g.add_argument("--junit", type=Path, metavar="FILE", help="also write a JUnit XML report")
    g.add_argument(
        "-q", "--quiet", action="store_true", help="print the summary only, not each difference"
    )
    g.add_argument("--all", action="store_true", help="list every call, the unchanged ones too")
