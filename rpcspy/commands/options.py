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

__all__ = [
    "EXIT_CODES",
    "LISTEN_HELP",
    "add_listen_options",
    "add_report_options",
    "add_rule_options",
    "listen_address",
    "parse_listen",
]

EXIT_CODES = (
    "exit codes: 0 nothing differs beyond ignore rules and noise, 1 something differs or failed,\n"
    "            2 bad usage, 3 unreadable capture, 4 no differences but corrupt capture lines\n"
    "            were skipped"
)


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
