"""``rpcspy query``: SQL over captures (DuckDB), on the views ``calls``, ``subcalls`` and
``findings`` (``rpcspy.query``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rpcspy.commands import HelpFormatter

if TYPE_CHECKING:
    from rpcspy.query.engine import Source, TableSet

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``query`` to the ``rpcspy`` command line."""
    p = sub.add_parser(
        "query",
        help="ask captures a question in SQL (DuckDB): calls, subcalls, findings",
        formatter_class=HelpFormatter,
        description=(
            "Run one SQL statement (DuckDB's dialect) over one or more captures, or over\n"
            "directories written by 'rpcspy export --to parquet'. Three views hold them:\n"
            "\n"
            "  calls      one row per call: times, peers, method, outcome, fault, sizes,\n"
            "             params and result as typed JSON ...\n"
            "  subcalls   one row per sub-call of a system.multicall\n"
            "  findings   one row per conformance finding\n"
            "\n"
            "--schema lists every column with its meaning; docs/query.md has them all, useful\n"
            "queries, and how to run the same SQL on a Parquet export in DuckDB, Spark or Trino.\n"
            "A capture's tables are kept in the cache beside its index, so a second query is\n"
            "quick; lines appended to the capture are added at the next query."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy query session.jsonl 'SELECT method, count(*) FROM calls GROUP BY ALL'\n"
            '  rpcspy query big.jsonl "SELECT method, quantile_cont(duration_ms, 0.95) AS p95\n'
            '      FROM calls GROUP BY method ORDER BY p95 DESC LIMIT 10"\n'
            '  rpcspy query a.jsonl b.jsonl.gz "SELECT client_host,\n'
            "      avg((outcome = 'fault')::int) AS fault_rate FROM calls GROUP BY ALL\" --csv\n"
            "  rpcspy query session.parquet 'SELECT rule, count(*) FROM findings GROUP BY rule'\n"
            "  rpcspy query session.jsonl 'SELECT * FROM subcalls' --json | jq .method\n"
            "  rpcspy query --schema\n"
            "\n"
            "exit codes: 0 ok; 2 bad usage or an SQL error (one line on stderr); 3 a capture\n"
            "            cannot be read; 4 corrupt capture lines were skipped (the rest was\n"
            "            queried)"
        ),
    )
    p.add_argument(
        "args",
        nargs="*",
        metavar="CAPTURE|DIR... SQL",
        help="capture files (.jsonl, .jsonl.gz) or Parquet export directories, then the SQL",
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="one JSON object per row (JSON lines)")
    fmt.add_argument("--csv", action="store_true", help="CSV with a header line")
    p.add_argument(
        "--schema", action="store_true", help="list the views' columns and what they mean"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="table the captures in a temporary directory (the cache is neither read nor kept)",
    )
    p.set_defaults(func=run)
    return p


def _print_schema() -> None:
    import sys

    from rpcspy.query import TABLES
    from rpcspy.term import Style

    style = Style(sys.stdout)
    for name, columns in TABLES.items():
        print(style(name, "bold"))
        width = max(len(c.name) for c in columns)
        type_width = max(len(c.type) for c in columns)
        for c in columns:
            print(f"  {c.name.ljust(width)}  {c.type.ljust(type_width)}  {c.meaning}")
        print()


def _open_capture(path: Path, progress: bool, cache: bool) -> tuple[Any, Any]:
    """The index of ``path`` (built with a progress bar when it is not cached), its builder."""
    from rpcspy.inputs import check_capture, open_capture_index

    check_capture(path)
    return open_capture_index(path, cache=cache, progress=progress)


def _sources(paths: list[Path], lines: bool, progress: bool, cache: bool) -> list[Source]:
    from rpcspy.exits import EXIT_INPUT, CliError
    from rpcspy.query.engine import Source, capture_stat, preload, quick_tables, table_capture

    sources: list[Source] = []
    #: A capture named twice is tabled once (its entry's lock is this program's already).
    done: dict[Path, TableSet] = {}
    try:
        for path in paths:
            key = path.resolve()
            if key in done:
                sources.append(Source(path.name, done[key]))
                continue
            if path.is_dir():
                if not (path / "calls.parquet").is_file():
                    raise CliError(
                        f"{path} is a directory without calls.parquet (not a Parquet export of "
                        "rpcspy export --to parquet)",
                        EXIT_INPUT,
                    )
                sources.append(Source(path.name, export_dir=path))
                continue
            quick = quick_tables(path, lines=lines) if cache and path.is_file() else None
            if quick is not None:
                sources.append(Source(path.name, quick))
                done[key] = quick
                continue
            from rpcspy.replay.progress import Progress

            try:
                stat = capture_stat(path)
            except OSError:
                stat = None  # (the index says what is wrong with it)
            preload()  # (while the index is built)
            index, builder = _open_capture(path, progress, cache)
            try:
                with Progress(
                    f"tables {path.name}", index.count, enabled=None if progress else False
                ) as bar:
                    tables = table_capture(
                        path, index, lines=lines, cache=cache, stat=stat, on_rows=bar.advance
                    )
                sources.append(Source(path.name, tables))
                done[key] = tables
            finally:
                builder.close()
    except BaseException:
        for s in sources:
            if s.tables is not None:
                s.tables.close()
        raise
    return sources


def _close(sources: list[Source]) -> None:
    for s in sources:
        if s.tables is not None:
            s.tables.close()


def run(args: argparse.Namespace) -> int:
    """Run the SQL and print its rows; returns the exit code."""
    import sys

    from rpcspy.exits import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, CliError

    if args.schema:
        _print_schema()
        return EXIT_OK
    if len(args.args) < 2:
        raise CliError("give one or more captures (or Parquet exports), then the SQL", EXIT_USAGE)
    *names, sql = args.args
    paths = [Path(n) for n in names]

    from rpcspy.query.engine import QueryError, execute, names_lines, needs_lines, open_views
    from rpcspy.query.output import write_csv, write_json, write_table
    from rpcspy.term import warn

    progress = not args.no_progress
    cache = not args.no_cache
    lines = needs_lines(sql)
    sources = _sources(paths, lines, progress, cache)
    try:
        con = open_views(sources)
        try:
            try:
                columns, rows = execute(con, sql)
            except QueryError as exc:
                if lines or not exc.unbound or not names_lines(exc.message):
                    raise
                # A name the quick look at the SQL did not see may be a column of the lines.
                con.close()
                _close(sources)
                sources = _sources(paths, True, progress, cache)
                con = open_views(sources)
                columns, rows = execute(con, sql)
            if columns is not None:
                write = write_json if args.json else write_csv if args.csv else write_table
                write(columns, rows, sys.stdout)
                sys.stdout.flush()
        except QueryError as exc:
            raise CliError(f"SQL: {exc.message}", EXIT_USAGE) from None
        finally:
            con.close()
    finally:
        _close(sources)
    problems = [(s.name, p) for s in sources for p in s.problems]
    for name, problem in problems:
        warn(f"{name}: {problem}")
    return EXIT_PARTIAL if problems else EXIT_OK
