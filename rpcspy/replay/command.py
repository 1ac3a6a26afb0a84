"""``rpcspy replay`` and ``rpcspy diff``: the command lines; the machinery loads in ``run``."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "run_diff", "run_replay"]

_EXIT_CODES = (
    "exit codes: 0 nothing differs beyond ignore rules and noise, 1 something differs or failed,\n"
    "            2 bad usage, 3 unreadable capture, 4 no differences but corrupt capture lines\n"
    "            were skipped"
)


def _add_rule_options(p: argparse.ArgumentParser) -> None:
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


def _add_report_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("reports")
    g.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    g.add_argument("--junit", type=Path, metavar="FILE", help="also write a JUnit XML report")
    g.add_argument(
        "-q", "--quiet", action="store_true", help="print the summary only, not each difference"
    )
    g.add_argument("--all", action="store_true", help="list every call, the unchanged ones too")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``replay`` and ``diff`` to the ``rpcspy`` command line."""
    _add_replay(sub)
    _add_diff(sub)


def _add_replay(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "replay",
        help="re-send the calls of a capture to a server and compare the answers",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Re-send each call recorded in CAPTURE to the server at --target and compare every\n"
            "answer with the recorded one, value by value and type by type.\n\n"
            "By default the exact recorded bytes are sent (body, Content-Type, Content-Encoding),\n"
            "so the server sees what it saw; --reencode sends the decoded call encoded afresh\n"
            "(for captures edited by hand). Credentials are never taken from the capture (it\n"
            "redacts them): pass --user and --password (or $RPCSPY_PASSWORD).\n\n"
            "Values that change on every call (timestamps, random ids) are noise: ignore them\n"
            "with --ignore/--rules, or let --learn-noise find them by asking a known-good\n"
            "server each call twice. Calls that must not be repeated (they change state) are\n"
            "left out with --skip."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy replay session.jsonl --target http://127.0.0.1:8001/RPC2\n"
            "  rpcspy replay session.jsonl --target http://staging:8000/RPC2 --concurrency 8 \\\n"
            "      --skip 'dir.*' --ignore '*: result.serverTime' -w replayed.jsonl\n"
            "  rpcspy replay session.jsonl --target https://host/RPC2 --cafile ca.pem \\\n"
            "      --user alice --speed 1x --learn-noise --junit replay.xml\n\n" + _EXIT_CODES
        ),
    )
    p.add_argument("capture", type=Path, help="capture file (.jsonl or .jsonl.gz)")
    p.add_argument(
        "--target",
        required=True,
        metavar="URL",
        help="server to replay against, e.g. http://127.0.0.1:8000/RPC2 (a URL without a "
        "path keeps each call's recorded path)",
    )
    p.add_argument(
        "-w", "--write", type=Path, metavar="FILE", help="write the new exchanges as a capture"
    )
    g = p.add_argument_group("how calls are sent")
    g.add_argument(
        "--reencode",
        action="store_true",
        help="send the decoded call encoded afresh instead of the recorded bytes",
    )
    g.add_argument(
        "--concurrency",
        type=int,
        default=1,
        metavar="N",
        help="calls in flight at once (default: 1)",
    )
    g.add_argument(
        "--speed",
        metavar="Nx",
        help="keep the recorded pace: 1x as recorded, 2x twice as fast (default: as fast as "
        "possible)",
    )
    g.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="GLOB",
        help="never re-send methods matching this glob ('dir.create', 'dir.*'); repeatable",
    )
    g.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="per call (default: %(default)s)",
    )
    g.add_argument("--user", help="HTTP Basic auth user (default: $RPCSPY_USER)")
    g.add_argument(
        "--password",
        help="password for --user (default: $RPCSPY_PASSWORD); prefer the variable, the command "
        "line is visible to other users",
    )
    g.add_argument("--cafile", type=Path, metavar="PEM", help="trust this CA for an https target")
    g.add_argument(
        "--insecure", action="store_true", help="do not verify the https target's certificate"
    )
    _add_rule_options(p)
    n = p.add_argument_group("noise")
    n.add_argument(
        "--learn-noise",
        action="store_true",
        help="first ask each call twice and treat the paths that differ between the two "
        "answers as noise (reported apart, not counted)",
    )
    n.add_argument(
        "--noise-target",
        metavar="URL",
        help="ask a second known-good server for the noise answers instead of --target "
        "(implies --learn-noise)",
    )
    _add_report_options(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run_replay)


def _add_diff(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "diff",
        help="compare two captures call by call",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Compare two captures call by call. Calls are aligned per method (by their params),\n"
            "so a missing or extra call shifts nothing after it; the report lists missing,\n"
            "extra, reordered and changed calls with their differences, value by value and\n"
            "type by type. Captures are streamed: two captures of 100,000 calls each are fine."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy diff before.jsonl after.jsonl\n"
            "  rpcspy diff prod.jsonl.gz staging.jsonl.gz --ignore '*: result.serverTime' --json\n"
            "  rpcspy diff a.jsonl b.jsonl --only 'method:user.*' --ignore-order \\\n"
            "      --junit diff.xml\n\n" + _EXIT_CODES
        ),
    )
    p.add_argument("a", type=Path, metavar="A", help="the reference capture")
    p.add_argument("b", type=Path, metavar="B", help="the capture compared with it")
    _add_rule_options(p)
    p.add_argument(
        "--ignore-order",
        action="store_true",
        help="report reordered calls but do not count them as differences",
    )
    _add_report_options(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run_diff)


def run_replay(args: argparse.Namespace) -> int:
    """``rpcspy replay``: returns the exit code."""
    from rpcspy.replay.cli_impl import replay_main

    return replay_main(args)


def run_diff(args: argparse.Namespace) -> int:
    """``rpcspy diff``: returns the exit code."""
    from rpcspy.replay.cli_impl import diff_main

    return diff_main(args)
