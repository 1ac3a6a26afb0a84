"""The ``rpcspy`` command: one entry point, one subcommand per tool.

Every subcommand is one module of ``rpcspy.commands`` with the same two functions:
``add_parser(subparsers) -> ArgumentParser`` and ``run(args) -> int``. ``COMMANDS`` below is the
one list that registers them. A command module imports only ``argparse`` and the like at its top,
and its machinery inside ``run``, so that ``rpcspy --help`` stays quick.

Exit codes (stable, for scripts):
  0  success
  1  the work ran but found a failure (a demo step went wrong, lint found error findings)
  2  bad command line
  3  an input could not be read (missing or unreadable capture, unsupported format version)
  4  a capture was read but some lines were corrupt and skipped (the good records were used)
  130 interrupted (Ctrl-C)
"""

from __future__ import annotations

import argparse
import importlib
import keyword
import os
import sys
from collections.abc import Sequence

from rpcspy import __version__
from rpcspy.commands import HelpFormatter
from rpcspy.exits import EXIT_INTERRUPTED, EXIT_OK, CliError

__all__ = ["COMMANDS", "build_parser", "command_module", "main"]

#: Every subcommand, in the order ``rpcspy --help`` lists them; each is ``rpcspy.commands.NAME``
#: (``NAME_`` for a Python keyword: see ``command_module``).
COMMANDS: tuple[str, ...] = (
    "demo",
    "serve",
    "proxy",
    "import",
    "export",
    "query",
    "call",
    "show",
    "stats",
    "lint",
    "api",
    "tui",
    "replay",
    "diff",
    "mock",
    "wait",
)


def command_module(name: str) -> str:
    """The module of command ``name``: ``rpcspy.commands.NAME``, with a trailing ``_`` when the
    name is a Python keyword (``import`` lives in ``rpcspy.commands.import_``, as PEP 8 says)."""
    return f"rpcspy.commands.{name}_" if keyword.iskeyword(name) else f"rpcspy.commands.{name}"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, for ``main`` and for documentation tests; with ``only`` (a name
    of ``COMMANDS``), the same with that one command registered: what running it needs."""
    parser = argparse.ArgumentParser(
        prog="rpcspy",
        formatter_class=HelpFormatter,
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
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(command_module(name)).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    from rpcspy.term import error

    argv = list(sys.argv[1:] if argv is None else argv)
    # A command named first is the only one whose parser is built (the others' modules and
    # options cost every run some 30 ms); anything else (``--help``, a typo) sees them all.
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
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
