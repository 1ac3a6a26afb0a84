"""The ``rpcspy`` command: one entry point, one subcommand per tool.

Subcommands import their machinery lazily so that ``rpcspy --help`` and ``rpcspy show`` stay quick.

Exit codes (stable, for scripts):
  0  success
  1  the work ran but found a failure (a demo step went wrong, a server could not start)
  2  bad command line
  3  an input could not be read (missing or unreadable capture, unsupported format version)
  4  a capture was read but some lines were corrupt and skipped (the good records were used)
  130 interrupted (Ctrl-C)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rpcspy import __version__
from rpcspy.exits import (
    EXIT_FAILURE,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
)
from rpcspy.mock.command import add_parser as add_mock_parser
from rpcspy.proxy.command import add_parser as add_proxy_parser
from rpcspy.replay.command import add_parser as add_replay_parsers
from rpcspy.tui.command import add_parser as add_tui_parser


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


# ---------------------------------------------------------------- serve


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="run the demo XML-RPC server",
        formatter_class=_Formatter,
        description=(
            "Run the demo XML-RPC server: introspection, multicall, Basic auth, TLS, dotted and\n"
            "arbitrary method names, prefix dispatch, allow_none, the validator1 suite and\n"
            "misbehaviour on demand (demo.fault, demo.slow, demo.large, demo.random, demo.crash).\n"
            "It serves the same methods on /RPC2 and /."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy serve --port 8000\n"
            "  rpcspy serve --user alice --password secret --tls\n"
            '  python3 -c "import xmlrpc.client as x; '
            "print(x.ServerProxy('http://127.0.0.1:8000/RPC2').system.listMethods())\""
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    p.add_argument(
        "--port", type=int, default=8000, help="port to bind, 0 for any (default: %(default)s)"
    )
    p.add_argument(
        "--root", type=Path, help="sandbox directory for dir.* (default: a fresh temp dir)"
    )
    p.add_argument("--user", help="require HTTP Basic auth with this user name")
    p.add_argument(
        "--password",
        help="password for --user (default: $RPCSPY_PASSWORD); prefer the variable, "
        "the command line is visible to other users",
    )
    p.add_argument(
        "--tls", action="store_true", help="serve HTTPS (self-signed cert unless --cert)"
    )
    p.add_argument("--cert", type=Path, help="PEM certificate for --tls")
    p.add_argument("--key", type=Path, help="PEM private key for --tls (default: in --cert)")
    p.add_argument(
        "--variant",
        type=int,
        choices=(1, 2),
        default=1,
        help="2 changes a few results on purpose, to try replay and diff (default: 1)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="do not log each request")
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    import ssl

    from rpcspy.server import DemoServer, ServerConfig

    password = args.password or os.environ.get("RPCSPY_PASSWORD")
    if args.user and not password:
        raise CliError("--user needs a password: --password or $RPCSPY_PASSWORD", EXIT_USAGE)
    if (args.cert or args.key) and not args.tls:
        raise CliError("--cert/--key only make sense with --tls", EXIT_USAGE)
    for f in (args.cert, args.key):
        if f is not None and not f.is_file():
            raise CliError(f"no such file: {f}", EXIT_INPUT)
    if args.root is not None and not args.root.is_dir():
        raise CliError(f"--root is not a directory: {args.root}", EXIT_INPUT)
    config = ServerConfig(
        host=args.host,
        port=args.port,
        root=args.root,
        user=args.user,
        password=password,
        tls=args.tls,
        certfile=args.cert,
        keyfile=args.key,
        variant=args.variant,
        quiet=args.quiet,
    )
    try:
        server = DemoServer(config)
    except ssl.SSLError as exc:
        raise CliError(
            f"cannot use the TLS certificate or key: {exc.reason or exc}", EXIT_INPUT
        ) from exc
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    with server:
        print(f"rpcspy demo server on {server.url} (and {server.base_url}/)", file=sys.stderr)
        if server.cafile:
            print(f"  self-signed certificate: {server.cafile}", file=sys.stderr)
        if args.user:
            print(f"  Basic auth: user {args.user!r}", file=sys.stderr)
        print("  Ctrl-C to stop", file=sys.stderr)
        server.serve_forever()
    return EXIT_OK


# ---------------------------------------------------------------- show


def _add_show(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "show",
        help="list the calls in a capture file, or show one in full",
        formatter_class=_Formatter,
        description=(
            "List the calls in a capture file (.jsonl or .jsonl.gz) as a table, or show one call\n"
            "in full with --call. Corrupt lines are reported on stderr and skipped; the exit code\n"
            "is then 4 so scripts can tell."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy show captures/basics.jsonl\n"
            "  rpcspy show captures/basics.jsonl --call 3\n"
            "  rpcspy show captures/faults.jsonl --json | jq -r '.method'\n"
            "  rpcspy show big.jsonl --filter 'method:user.* and params[0].id:string'\n"
            "filter language: docs/filter.md"
        ),
    )
    p.add_argument("capture", type=Path, help="capture file")
    p.add_argument(
        "--call", metavar="ID", help="show one call in full: its number (#) or id prefix"
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
    p.set_defaults(func=_cmd_show)


def _cmd_show(args: argparse.Namespace) -> int:
    from rpcspy.show import show_call, show_table

    if args.raw and not args.call:
        raise CliError("--raw goes with --call", EXIT_USAGE)
    if args.call:
        return show_call(args.capture, args.call, as_json=args.json, raw=args.raw)
    return show_table(args.capture, as_json=args.json, filter_text=args.filter)


# ---------------------------------------------------------------- demo


def _add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="start the demo server and run a scripted client through every feature",
        formatter_class=_Formatter,
        description=(
            "Start demo servers (plain, Basic auth, TLS) on free ports of 127.0.0.1 and run a\n"
            "scripted stdlib client through every feature, each scenario through a recording\n"
            "proxy, printing each call and whether it behaved as expected. Each scenario's calls\n"
            "are written to DIR/<scenario>.jsonl. On a terminal, the demo then opens the TUI\n"
            "with the scripted client running live through the proxy (q quits).\n"
            "Exit code 0 when every step behaved as expected, 1 otherwise."
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
        help="write the captures here, one per scenario (default: a new temp dir)",
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
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from rpcspy.demo import SCENARIOS, run_demo

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
    ok = run_demo(names, quiet=args.quiet, out_dir=args.out, direct=args.direct, tui=tui)
    return EXIT_OK if ok else EXIT_FAILURE


# ---------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, for ``main`` and for documentation tests."""
    parser = argparse.ArgumentParser(
        prog="rpcspy",
        formatter_class=_Formatter,
        description=(
            "rpcspy: see every XML-RPC call between a client and a server.\n\n"
            "A typed, lossless decoder for XML-RPC, capture files you can read with jq, and a\n"
            "demo server with every feature the classic tutorials show."
        ),
        epilog=(
            "exit codes: 0 ok, 1 failure, 2 bad usage, 3 unreadable input,\n"
            "            4 capture read with corrupt lines skipped, 130 interrupted\n"
            "colour: only on a terminal; set NO_COLOR=1 to turn it off\n\n"
            "run 'rpcspy COMMAND --help' for each command's options"
        ),
    )
    parser.add_argument("--version", action="version", version=f"rpcspy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_demo(sub)
    _add_serve(sub)
    add_proxy_parser(sub)
    _add_show(sub)
    add_tui_parser(sub)
    add_replay_parsers(sub)  # replay and diff
    add_mock_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    from rpcspy.term import error

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except CliError as exc:
        error(str(exc))
        return exc.code
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `rpcspy show big.jsonl | head`: the reader went away; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())
