"""``rpcspy stats``: per-method figures of a capture (``rpcspy.capture.stats``) as a table and a
bar chart of the slowest methods, or as JSON."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rpcspy.commands import HelpFormatter

if TYPE_CHECKING:
    from rpcspy.capture.stats import CaptureStats, MethodStats

__all__ = ["add_parser", "run"]

#: How many methods the bar chart shows when --top does not say.
CHART_TOP = 10
#: Columns given up, in this order, when the table is wider than the terminal.
_GIVE_UP = ("min", "mean", "problems", "p99", "response", "request", "errors")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``stats`` to the ``rpcspy`` command line."""
    p = sub.add_parser(
        "stats",
        help="per-method call counts, fault rates, latency percentiles and sizes of a capture",
        formatter_class=HelpFormatter,
        description=(
            "Per method of a capture (or of the calls passing --filter): calls, faults, fault\n"
            "rate, errors, problems, latency min/p50/p95/p99/max/mean and mean request and\n"
            "response sizes, as a table, then a bar chart of the slowest methods by p95.\n"
            "Latency is over the calls that have a response; percentiles interpolate linearly\n"
            "(DuckDB's quantile_cont, numpy's 'linear'), so 'rpcspy query' gives the same\n"
            "numbers. A multicall counts as one call of system.multicall. See docs/stats.md.\n"
            "\n"
            "--json prints one object: every figure of every method (and the latency\n"
            'histogram\'s bins) under "methods", the whole capture under "total".'
        ),
        epilog=(
            "examples:\n"
            "  rpcspy stats captures/basics.jsonl\n"
            "  rpcspy stats big.jsonl --sort p95 --top 5\n"
            "  rpcspy stats big.jsonl --filter 'method:user.* and not error'\n"
            "  rpcspy stats big.jsonl --json | jq '.methods[] | {method, p95: .latency_ms.p95}'\n"
            "filter language: docs/filter.md\n"
            "\n"
            "exit codes: 0 ok; 2 bad usage (a filter that does not parse); 3 the capture cannot\n"
            "            be read; 4 corrupt lines were skipped (the other calls are counted)"
        ),
    )
    p.add_argument("capture", type=Path, metavar="CAPTURE", help="capture file")
    p.add_argument(
        "--filter",
        metavar="EXPR",
        help="only the calls that pass this filter (the TUI's language: docs/filter.md)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object with every figure")
    p.add_argument(
        "--sort",
        choices=("count", "p95", "faults", "method"),
        default="count",
        help="order of the methods: most calls (default), slowest p95, most faults, by name",
    )
    p.add_argument(
        "--top",
        type=_positive,
        metavar="N",
        help=f"only the first N methods (table and JSON); the chart shows {CHART_TOP} unless given",
    )
    p.set_defaults(func=run)
    return p


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return n


def run(args: argparse.Namespace) -> int:
    """Print the figures; returns the exit code (4 when corrupt lines were skipped)."""
    import sys

    from rpcspy.capture.stats import compute_stats, sort_stats
    from rpcspy.exits import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, CliError
    from rpcspy.filter import FilterError, filter_rows, parse_filter
    from rpcspy.inputs import open_capture_index
    from rpcspy.term import warn

    flt = None
    if args.filter is not None:
        try:
            flt = parse_filter(args.filter)
        except FilterError as exc:
            raise CliError(f"--filter: {exc.message}", EXIT_USAGE) from None
    index, builder = open_capture_index(args.capture)
    try:
        rows = None if flt is None else filter_rows(index, flt)
        stats = compute_stats(index, rows)
        problems = list(index.problems)
    finally:
        builder.close()
    methods = sort_stats(stats.methods, args.sort)[: args.top]
    if args.json:
        _print_json(sys.stdout, args, stats, methods)
    else:
        _print_table(sys.stdout, stats, methods, filtered=flt is not None)
        _print_chart(sys.stdout, stats, args.top or CHART_TOP)
    for problem in problems:
        warn(f"{args.capture}: {problem.message}")
    if problems:
        n = len(problems)
        lines = f"{n} line{'s' if n != 1 else ''}"
        warn(f"{args.capture}: {lines} skipped; the other calls are counted")
        return EXIT_PARTIAL
    return EXIT_OK


def _print_json(
    out: TextIO, args: argparse.Namespace, stats: CaptureStats, methods: list[MethodStats]
) -> None:
    from rpcspy.term import json_text

    obj = {
        "capture": str(args.capture),
        "filter": args.filter,
        "calls": stats.calls,
        "methods": [s.to_json() for s in methods],
        "total": stats.total.to_json(),
    }
    out.write(json_text(obj) + "\n")


def _print_table(
    out: TextIO, stats: CaptureStats, methods: list[MethodStats], *, filtered: bool
) -> None:
    import shutil

    from rpcspy.capture.stats import TABLE, table_cells
    from rpcspy.term import Style, printable

    style = Style(out)
    if not stats.calls:
        out.write(("no call passes the filter" if filtered else "no calls") + "\n")
        return
    rows = [table_cells(s) for s in [*methods, stats.total]]
    for cells in rows:
        cells["method"] = printable(cells["method"])
    widths = {key: max(len(title), *(len(c[key]) for c in rows)) for key, title in TABLE}
    keys = [key for key, _title in TABLE]
    room = shutil.get_terminal_size((200, 24)).columns
    for key in _GIVE_UP:
        if sum(widths[k] for k in keys) + 2 * (len(keys) - 1) <= room:
            break
        keys.remove(key)
    titles = dict(TABLE)

    def line(cells: dict[str, str]) -> str:
        return "  ".join(
            f"{cells[k]:<{widths[k]}}" if k == "method" else f"{cells[k]:>{widths[k]}}"
            for k in keys
        ).rstrip()

    out.write(style(line(titles), "bold") + "\n")
    for cells in rows[:-1]:
        out.write(line(cells) + "\n")
    out.write(style(line(rows[-1]), "bold") + "\n")
    shown = "" if len(methods) == len(stats.methods) else f" ({len(methods)} shown)"
    out.write(
        style(
            f"{stats.calls:,} call{'s' if stats.calls != 1 else ''}, "
            f"{len(stats.methods)} method{'s' if len(stats.methods) != 1 else ''}{shown}; "
            f"latency over the {stats.total.answered:,} with a response "
            "(linear percentiles)",
            "dim",
        )
        + "\n"
    )


def _blocks(out: TextIO) -> bool:
    """Can ``out`` write block characters? (Not on an ASCII or Latin-1 terminal.)"""
    from rpcspy.capture.stats import BLOCKS

    try:
        BLOCKS.encode(getattr(out, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _print_chart(out: TextIO, stats: CaptureStats, top: int) -> None:
    import shutil

    from rpcspy.capture.stats import bar, sort_stats
    from rpcspy.capture.summary import format_duration
    from rpcspy.term import Style, printable

    slow = [s for s in sort_stats(stats.methods, "p95") if s.p95_ms is not None][:top]
    if not slow:
        return
    style = Style(out)
    blocks = _blocks(out)
    names = [printable(s.method) for s in slow]
    values = [format_duration(s.p95_ms) for s in slow]
    name_w = min(max(map(len, names)), 40)
    value_w = max(map(len, values))
    room = shutil.get_terminal_size((100, 24)).columns
    width = max(10, room - name_w - value_w - 3)
    highest = max(s.p95_ms or 0.0 for s in slow)
    out.write("\n" + style(f"slowest methods by p95 (top {len(slow)})", "bold") + "\n")
    for s, name, value in zip(slow, names, values, strict=True):
        if len(name) > name_w:
            name = name[: name_w - 1] + ("…" if blocks else "~")
        drawn = bar(s.p95_ms or 0.0, highest, width, blocks=blocks)
        out.write(f"{name:<{name_w}} {value:>{value_w}} {style(drawn, 'cyan')}\n")
