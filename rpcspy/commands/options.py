"""Option groups that commands share, for building their parsers.

``replay`` and ``diff`` share rule and report options; ``serve``, ``mock`` and ``proxy`` share
where they listen (``--listen`` or ``--host``/``--port``) and ``--ready-file``. Light on purpose
(``argparse`` only): ``rpcspy --help`` builds every parser. What the options become once parsed
is in ``rpcspy.commands.common`` (rules, filters, reports), ``listen_address`` below (the address)
and ``rpcspy.commands.lifecycle`` (readiness, signals).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rpcspy.server.limits import HttpLimits

__all__ = [
    "EXIT_CODES",
    "LISTEN_HELP",
    "add_limit_options",
    "add_listen_options",
    "add_report_options",
    "add_rule_options",
    "http_limits",
    "listen_address",
    "parse_listen",
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


# ---------------------------------------------------------------- where a server listens

#: For each server command's epilog: the two spellings of the address, and how to wait for it.
LISTEN_HELP = (
    "address: --listen HOST:PORT (or PORT, or [IPv6]:PORT), or --host HOST and --port PORT;\n"
    "         not both spellings at once. Port 0 picks a free port.\n"
    "ready:   the 'on http://...' line is printed once the socket accepts connections;\n"
    "         --ready-file PATH also writes the URL there then (atomically; removed on exit),\n"
    "         and 'rpcspy wait --file PATH' waits for it in a script"
)


def parse_listen(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT``, ``PORT`` or ``[IPv6]:PORT`` to (host, port); raises ValueError."""
    value = text.strip()
    host, port_text = default_host, value
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or not value[end + 1 :].startswith(":"):
            raise ValueError(f"not HOST:PORT: {text!r}")
        host, port_text = value[1:end], value[end + 2 :]
    elif ":" in value:
        head, _, port_text = value.rpartition(":")
        host = head or default_host
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"not a port (0-65535): {port_text!r} in {text!r}")
    return host, int(port_text)


def _port(text: str) -> int:
    if not text.strip().isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"not a port (0-65535): {text!r}")
    return int(text)


def add_listen_options(
    p: argparse.ArgumentParser, *, default_port: int, default_host: str = "127.0.0.1"
) -> None:
    """``--listen``, ``--host``, ``--port`` (two spellings of one address) and ``--ready-file``.

    Every server command (``serve``, ``mock``, ``proxy``) takes both spellings; ``listen_address``
    turns them into one (host, port) once parsed.
    """
    g = p.add_argument_group("where it listens")
    g.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help=f"address to listen on, or just PORT (default: {default_host}:{default_port}; "
        "port 0 picks a free one)",
    )
    g.add_argument("--host", help=f"address to bind (default: {default_host})")
    g.add_argument("--port", type=_port, help=f"port to bind, 0 for any (default: {default_port})")
    g.add_argument(
        "--ready-file",
        type=Path,
        metavar="PATH",
        help="once listening, write the URL to PATH (atomically); removed on exit",
    )
    p.set_defaults(listen_default=(default_host, default_port))


def listen_address(args: argparse.Namespace) -> tuple[str, int]:
    """The (host, port) from ``--listen`` or ``--host``/``--port``; raises ``CliError`` (usage)
    when both spellings are given or ``--listen`` does not parse."""
    from rpcspy.exits import EXIT_USAGE, CliError

    default_host, default_port = args.listen_default
    if args.listen is not None:
        if args.host is not None or args.port is not None:
            raise CliError(
                "give the address once: --listen HOST:PORT, or --host and --port", EXIT_USAGE
            )
        try:
            return parse_listen(args.listen, default_host)
        except ValueError as exc:
            raise CliError(f"--listen: {exc}", EXIT_USAGE) from None
    host = args.host if args.host is not None else default_host
    return host, args.port if args.port is not None else default_port
