"""What ``rpcspy replay``, ``diff`` and ``mock`` share once their arguments are parsed.

Rules from ``--rules``/``--ignore``/``--tolerance`` (and replay's ``skip`` list), the ``--only``
filter, a capture read more than once, and a report printed: every way these can fail becomes one
``CliError``. Imported by the commands' ``run`` only, so ``rpcspy --help`` does not load it.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rpcspy.capture import CallRecord, CaptureFormatError
from rpcspy.capture.reader import CaptureReader, count_records_hint
from rpcspy.diff import RuleError, Rules, parse_rules
from rpcspy.exits import EXIT_INPUT, EXIT_USAGE, CliError
from rpcspy.filter import Filter, FilterError, parse_filter
from rpcspy.inputs import open_capture
from rpcspy.replay.report import Report, render_text, report_to_json, report_to_junit
from rpcspy.term import json_text, warn

if TYPE_CHECKING:
    from rpcspy.replay.send import Auth, Target

__all__ = [
    "CaptureSource",
    "auth_from_args",
    "emit_report",
    "load_cli_rules",
    "parse_only",
    "skip_globs",
    "split_skip",
    "target_from_url",
]


_SKIP_KEY = re.compile(r"\s*skip\s*=")


def split_skip(text: str, source: str | None = None) -> tuple[tuple[str, ...], str]:
    """A rules file's top-level ``skip = ["dir.*", ...]`` list, and the text without it.

    The diff engine's rule parser knows ``ignore`` and ``tolerance`` only; the methods replay must
    not re-send live in the same file, so they are taken out here and the rest goes to
    ``parse_rules`` with its line numbers unchanged (the key's lines become blank).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return (), text  # the rule parser reports the syntax error with its line
    if "skip" not in data:
        return (), text
    skip = data["skip"]
    if not isinstance(skip, list) or not all(isinstance(g, str) and g.strip() for g in skip):
        raise RuleError(
            'must be a list of method globs: skip = ["dir.create", "user.*"]',
            key="skip",
            source=source,
        )
    expected = {k: v for k, v in data.items() if k != "skip"}
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.lstrip().startswith("["):
            break  # the tables begin; top-level keys are all above
        if not _SKIP_KEY.match(line):
            continue
        for j in range(i, len(lines)):
            candidate = "".join(lines[:i] + ["\n"] * (j - i + 1) + lines[j + 1 :])
            try:
                if tomllib.loads(candidate) == expected:
                    return tuple(g.strip() for g in skip), candidate
            except tomllib.TOMLDecodeError:
                continue
        break
    raise RuleError(
        "write skip as one top-level key, above any [table]: skip = [...]",
        key="skip",
        source=source,
    )


def _read_rules_file(path: Path) -> tuple[Rules, tuple[str, ...]]:
    if not path.is_file():
        raise CliError(f"no such rules file: {path}", EXIT_INPUT)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read rules file {path}: {exc}", EXIT_INPUT) from None
    try:
        skip, rest = split_skip(text, str(path))
        return parse_rules(rest, source=str(path)), skip
    except RuleError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def load_cli_rules(
    ignore: Sequence[str], rules_file: Path | None, tolerance: Sequence[str] = ()
) -> Rules:
    """Rules from ``--rules FILE``, then ``--ignore``/``--tolerance`` flags (flags win ties)."""
    rules = _read_rules_file(rules_file)[0] if rules_file is not None else Rules()
    try:
        flags = Rules.from_flags(ignore, tolerance)
    except RuleError as exc:
        raise CliError(f"--ignore/--tolerance: {exc}", EXIT_USAGE) from None
    return rules.merged(flags)


def skip_globs(flags: Sequence[str], rules_file: Path | None) -> tuple[str, ...]:
    """The rules file's ``skip`` globs, then the ``--skip`` flags."""
    from_file = _read_rules_file(rules_file)[1] if rules_file is not None else ()
    return from_file + tuple(g.strip() for g in flags if g.strip())


def parse_only(text: str | None) -> Filter | None:
    """The ``--only`` filter, or None; a bad expression is a usage error naming the column."""
    if text is None or not text.strip():
        return None
    try:
        return parse_filter(text)
    except FilterError as exc:
        raise CliError(f"--only: {exc.message}", EXIT_USAGE) from None


class CaptureSource:
    """A capture file that can be read more than once; the first reading's skipped lines are
    kept as warnings."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []
        self._readings = 0
        # Open once now so that a missing or foreign file fails before any work starts.
        self._open().close()

    def _open(self) -> CaptureReader:
        return open_capture(self.path)

    def records(self) -> Generator[CallRecord, None, None]:
        """One more reading of the records."""
        reader = self._open()
        self._readings += 1
        first = self._readings == 1
        try:
            yield from reader
        except CaptureFormatError as exc:
            raise CliError(f"{self.path}: {exc}", EXIT_INPUT) from None
        except OSError as exc:
            raise CliError(f"cannot read {self.path}: {exc.strerror or exc}", EXIT_INPUT) from None
        finally:
            reader.close()
            if first:
                self.problems.extend(f"{self.path}: {p.message} (skipped)" for p in reader.problems)

    def count_hint(self) -> int | None:
        """How many records the file holds, counted cheaply (plain files only), for a progress
        bar's total; None when unknown."""
        return count_records_hint(self.path)


def emit_report(report: Report, args: argparse.Namespace) -> int:
    """Print the report (text or JSON), write JUnit when asked; returns the exit code."""
    for warning in report.warnings:
        warn(warning)
    if args.junit is not None:
        try:
            args.junit.write_bytes(report_to_junit(report))
        except OSError as exc:
            reason = exc.strerror or exc
            raise CliError(f"cannot write {args.junit}: {reason}", EXIT_INPUT) from None
    if args.json:
        data = report_to_json(report, show_all=args.all)
        sys.stdout.write(json_text(data, indent=True) + "\n")
    else:
        render_text(report, sys.stdout, quiet=args.quiet, show_all=args.all)
    sys.stdout.flush()
    return report.exit_code()


def target_from_url(text: str, flag: str) -> Target:
    """The server a URL option names; a usage error naming ``flag`` when it is not one."""
    from rpcspy.replay.send import Target

    try:
        return Target.parse(text)
    except ValueError as exc:
        raise CliError(f"{flag}: {exc}", EXIT_USAGE) from None


def auth_from_args(args: argparse.Namespace) -> Auth | None:
    """HTTP Basic credentials from ``--user``/``--password`` (or ``$RPCSPY_USER`` and
    ``$RPCSPY_PASSWORD``); None without a user."""
    import os

    from rpcspy.replay.send import Auth

    user = args.user or os.environ.get("RPCSPY_USER")
    password = args.password
    if password is None:
        password = os.environ.get("RPCSPY_PASSWORD") or None
    if user and password is None:
        raise CliError("--user needs a password: --password or $RPCSPY_PASSWORD", EXIT_USAGE)
    if args.password is not None and not user:
        raise CliError("--password needs --user (or $RPCSPY_USER)", EXIT_USAGE)
    return Auth(user, password) if user and password is not None else None
