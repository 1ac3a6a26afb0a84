"""Exit codes the command line promises scripts, and the error that carries one."""

from __future__ import annotations

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_USAGE",
    "CliError",
]

EXIT_OK = 0
#: The work ran but found a failure (a demo step went wrong, a server could not start).
EXIT_FAILURE = 1
#: Bad command line.
EXIT_USAGE = 2
#: An input could not be read (missing or unreadable capture, unsupported format version).
EXIT_INPUT = 3
#: A capture was read but some lines were corrupt and skipped (the good records were used).
EXIT_PARTIAL = 4
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """An error to report on stderr as one clear line, with the exit code to leave with."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code
