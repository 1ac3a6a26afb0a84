"""What ``rpcspy replay`` and ``rpcspy diff`` do once their arguments are parsed.

Kept apart from ``command.py`` so that ``rpcspy --help`` does not import the machinery. Shared
argument checks (rules, filter, capture opening) live here too; ``rpcspy mock`` uses them.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson

from rpcspy.capture import CallRecord, CaptureFormatError, CaptureWriter
from rpcspy.capture.reader import CaptureReader
from rpcspy.diff import RuleError, Rules, parse_rules
from rpcspy.exits import EXIT_INPUT, EXIT_INTERRUPTED, EXIT_USAGE, CliError
from rpcspy.filter import Filter, FilterError, parse_filter
from rpcspy.inputs import open_capture
from rpcspy.progress import Progress, progress_enabled
from rpcspy.replay.capdiff import diff_capture_files
from rpcspy.replay.engine import Replayer, ReplayOptions, parse_speed
from rpcspy.replay.send import Auth, Target, TlsOptions
from rpcspy.report import Report, render_text, report_to_json, report_to_junit
from rpcspy.term import warn

__all__ = [
    "CaptureSource",
    "diff_main",
    "load_cli_rules",
    "parse_only",
    "replay_main",
    "skip_globs",
    "split_skip",
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

    def records(self) -> Iterator[CallRecord]:
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
        if self.path.name.endswith(".gz"):
            return None
        try:
            with open(self.path, "rb") as f:
                lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
        except OSError:
            return None
        return max(lines - 1, 0)


def _emit(report: Report, args: argparse.Namespace) -> int:
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
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        render_text(report, sys.stdout, quiet=args.quiet, show_all=args.all)
    sys.stdout.flush()
    return report.exit_code()


def _target(text: str, flag: str) -> Target:
    try:
        return Target.parse(text)
    except ValueError as exc:
        raise CliError(f"{flag}: {exc}", EXIT_USAGE) from None


def _auth(args: argparse.Namespace) -> Auth | None:
    user = args.user or os.environ.get("RPCSPY_USER")
    password = args.password
    if password is None:
        password = os.environ.get("RPCSPY_PASSWORD") or None
    if user and password is None:
        raise CliError("--user needs a password: --password or $RPCSPY_PASSWORD", EXIT_USAGE)
    if args.password is not None and not user:
        raise CliError("--password needs --user (or $RPCSPY_USER)", EXIT_USAGE)
    return Auth(user, password) if user and password is not None else None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def replay_main(args: argparse.Namespace) -> int:
    """``rpcspy replay``: check the arguments, replay, report; returns the exit code."""
    target = _target(args.target, "--target")
    noise_target = _target(args.noise_target, "--noise-target") if args.noise_target else None
    if args.concurrency < 1:
        raise CliError("--concurrency must be at least 1", EXIT_USAGE)
    if not args.timeout > 0:
        raise CliError("--timeout must be more than 0 seconds", EXIT_USAGE)
    try:
        speed = parse_speed(args.speed) if args.speed else None
    except ValueError as exc:
        raise CliError(f"--speed: {exc}", EXIT_USAGE) from None
    auth = _auth(args)
    if args.cafile is not None and not args.cafile.is_file():
        raise CliError(f"no such CA file: {args.cafile}", EXIT_INPUT)
    if args.insecure and args.cafile is not None:
        raise CliError("--insecure and --cafile contradict each other", EXIT_USAGE)
    if (args.cafile or args.insecure) and "https" not in (
        target.scheme,
        noise_target.scheme if noise_target else "",
    ):
        warn("--cafile/--insecure only matter for an https target")
    rules = load_cli_rules(args.ignore, args.rules, args.tolerance)
    only = parse_only(args.only)
    skip = skip_globs(args.skip, args.rules)
    if args.write is not None and _same_file(args.write, args.capture):
        raise CliError(
            "-w would overwrite the capture being replayed; choose another file", EXIT_USAGE
        )
    source = CaptureSource(args.capture)
    options = ReplayOptions(
        target=target,
        auth=auth,
        tls=TlsOptions(cafile=args.cafile, insecure=args.insecure),
        timeout=args.timeout,
        reencode=args.reencode,
        concurrency=args.concurrency,
        speed=speed,
        only=only,
        skip=skip,
        rules=rules,
        noise_target=noise_target if noise_target else (target if args.learn_noise else None),
    )
    show_progress = not args.no_progress and progress_enabled(sys.stderr)
    # The total is a cheap count of lines, so only when every call is replayed.
    total = source.count_hint() if show_progress and only is None else None
    report = Report("replay", str(args.capture), target.url)
    started = time.monotonic()
    interrupted = False
    with Replayer(options) as replayer:
        try:
            if options.noise_target is not None:
                learn_total = total * 2 if total is not None else None
                with Progress("learning noise", learn_total, enabled=show_progress) as bar:
                    replayer.learn(source.records(), on_done=bar.advance)
            _replay_into(replayer, source, report, args.write, total, show_progress)
        except KeyboardInterrupt:
            # What was replayed so far is written already; report it before leaving.
            interrupted = True
    report.elapsed = time.monotonic() - started
    for method in replayer.noise.methods:
        entries = replayer.noise.entries(method)
        report.noise_paths[method] = {e.path or "(whole answer)" for e in entries}
    report.warnings.extend(replayer.warnings)
    report.warnings.extend(source.problems)
    report.partial = bool(source.problems)
    if interrupted:
        report.warnings.append(f"interrupted after {len(report.results)} calls")
    elif not report.results:
        report.warnings.append("no calls to replay" + (" (--only selected none)" if only else ""))
    code = _emit(report, args)
    return EXIT_INTERRUPTED if interrupted else code


def _replay_into(
    replayer: Replayer,
    source: CaptureSource,
    report: Report,
    write: Path | None,
    total: int | None,
    show_progress: bool,
) -> None:
    """Replay every record into the report, writing each new exchange as it comes."""
    writer = CaptureWriter(write, append=False) if write is not None else None
    try:
        seen: Counter[str] = Counter()
        with Progress("replaying", total, enabled=show_progress) as bar:
            for outcome in replayer.replay(source.records()):
                if writer is not None and outcome.new is not None:
                    writer.write(outcome.new)
                report.add(outcome.to_result())
                seen[outcome.verdict] += 1
                bar.advance(suffix=" ".join(f"{v} {n}" for v, n in seen.items()))
    finally:
        if writer is not None:
            writer.close()


def diff_main(args: argparse.Namespace) -> int:
    """``rpcspy diff``: compare two captures, report; returns the exit code."""
    rules = load_cli_rules(args.ignore, args.rules, args.tolerance)
    only = parse_only(args.only)
    # Opened once here so that a missing or foreign file is exit code 3 before any work.
    CaptureSource(args.a)
    CaptureSource(args.b)
    show_progress = not args.no_progress and progress_enabled(sys.stderr)
    report = Report("diff", str(args.a), str(args.b))
    started = time.monotonic()
    with Progress("reading", None, enabled=show_progress) as bar:

        def progress(done: int) -> None:
            if done > bar.done:
                bar.advance(done - bar.done)

        try:
            results, problems = diff_capture_files(
                args.a,
                args.b,
                rules=rules,
                only=only.text if only is not None else None,
                ignore_order=args.ignore_order,
                on_progress=progress,
            )
        except CaptureFormatError as exc:
            raise CliError(str(exc), EXIT_INPUT) from None
        except OSError as exc:
            raise CliError(f"cannot read a capture: {exc.strerror or exc}", EXIT_INPUT) from None
    report.results.extend(results)
    report.elapsed = time.monotonic() - started
    report.warnings.extend(problems)
    report.partial = bool(problems)
    return _emit(report, args)
