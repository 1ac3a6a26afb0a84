"""The command layer: one module per ``rpcspy`` subcommand, registered in ``rpcspy.cli``.

Each module has the same two functions: ``add_parser(subparsers) -> ArgumentParser`` adds the
subcommand (its options, description and examples) and ``run(args) -> int`` does it and returns
the exit code. A module imports only the standard library at its top and the machinery inside
``run``, so building the whole parser (``rpcspy --help``) stays quick.

This layer is the edge where errors become exit codes: the packages below raise their own errors
(``ProxyError``, ``CaptureFormatError``, ``RuleError``, ...) and a command turns them into a
``rpcspy.exits.CliError``. Nothing below imports a command module; ``common`` holds what
``replay``, ``diff`` and ``mock`` share.
"""

from __future__ import annotations

import argparse

__all__ = ["HelpFormatter"]


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks; option help starts in column 32 at most."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)
