"""``rpcspy export``: a capture's calls as HAR, a mitmproxy flow file, Parquet, or a script."""

from __future__ import annotations

import argparse
from pathlib import Path

from rpcspy.commands import HelpFormatter

__all__ = ["add_parser", "run"]

FORMATS = ("har", "mitm", "parquet", "curl", "python")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``export`` to the ``rpcspy`` command line."""
    p = sub.add_parser(
        "export",
        help="write a capture's calls as HAR, a mitmproxy flow file, Parquet, curl or Python",
        formatter_class=HelpFormatter,
        description=(
            "Write the calls of a capture (or those passing --filter) in another tool's format:\n"
            "\n"
            "  har       HAR 1.2, for browsers' HAR viewers, Burp, Charles, mitmproxy; every\n"
            "            body byte kept (base64 where it is not text)\n"
            "  mitm      a mitmproxy flow file (mitmproxy -r, mitmweb, mitmdump -nr)\n"
            "  parquet   a directory of Parquet tables (calls, subcalls, findings) for DuckDB,\n"
            "            Spark, Trino, pandas: the same tables 'rpcspy query' queries\n"
            "  curl      a shell script that sends each call again with curl\n"
            "  python    a Python script that sends each call again (stdlib only)\n"
            "\n"
            "Redacted credentials stay redacted: scripts read them from environment variables\n"
            "they name at the top. The export is written under a temporary name and moved into\n"
            "place when complete. See docs/import-export.md.\n"
            "\n"
            "Exit status: 0 written; 2 bad usage (OUT exists: --force); 3 the capture could not\n"
            "be read; 4 written, but corrupt capture lines were skipped."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy export session.jsonl --to har               # session.har beside it\n"
            "  rpcspy export session.jsonl --to mitm -o session.mitm && mitmproxy -r session.mitm\n"
            "  rpcspy export big.jsonl.gz --to parquet -o big.parquet\n"
            "  rpcspy export session.jsonl --to curl --filter 'method:supervisor.*' -o again.sh\n"
            "  rpcspy export session.jsonl --to python -o - | python3 -"
        ),
    )
    p.add_argument("capture", type=Path, metavar="CAPTURE", help="capture file to export")
    p.add_argument("--to", required=True, choices=FORMATS, help="the format to write")
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="where to write (default: CAPTURE's name with the format's suffix; - for stdout, "
        "for every format but parquet)",
    )
    p.add_argument("--filter", metavar="EXPR", help="export only the calls passing EXPR")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)
    return p


def _default_output(capture: Path, suffix: str) -> Path:
    name = capture.name
    for ending in (".gz", ".jsonl", ".json"):
        name = name.removesuffix(ending)
    return capture.with_name(name + suffix)


def run(args: argparse.Namespace) -> int:
    """Export the calls; returns the exit code."""
    import importlib
    import os
    import shutil
    import sys
    import tempfile

    from rpcspy.exits import EXIT_INPUT, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, CliError
    from rpcspy.export import (
        EXPORTERS,
        HTTP_ONLY,
        SUFFIXES,
        Exporter,
        ExportError,
        HttpCalls,
        IndexedRecords,
    )
    from rpcspy.filter import FilterError, filter_rows, parse_filter
    from rpcspy.inputs import open_capture_index
    from rpcspy.replay.progress import Progress
    from rpcspy.term import warn

    capture: Path = args.capture
    fmt: str = args.to
    to_stdout = args.output == "-"
    if to_stdout and fmt == "parquet":
        raise CliError("parquet is a directory of tables: give -o DIR, not -o -", EXIT_USAGE)
    out = _default_output(capture, SUFFIXES[fmt]) if args.output is None else Path(args.output)
    if to_stdout:
        out = Path(f"export{SUFFIXES[fmt]}")  # the temporary file's name
    else:
        if out.resolve() == capture.resolve():
            raise CliError(f"{out} is the capture itself", EXIT_USAGE)
        if out.is_dir() and not out.is_symlink() and fmt != "parquet":
            raise CliError(f"{out} is a directory: give the file to write", EXIT_USAGE)
        if (out.exists() or out.is_symlink()) and not args.force:
            raise CliError(f"{out} exists: --force to replace it", EXIT_USAGE)
    flt = None
    if args.filter is not None:
        try:
            flt = parse_filter(args.filter)
        except FilterError as exc:
            raise CliError(f"--filter: {exc.message}", EXIT_USAGE) from None

    module, _, name = EXPORTERS[fmt].partition(":")
    exporter: Exporter = getattr(importlib.import_module(module), name)
    http: HttpCalls | None = None  # (the calls of a format that holds HTTP exchanges only)
    index, builder = open_capture_index(capture, progress=not args.no_progress)
    # Beside OUT, so that the rename into place stays on one file system; for stdout, anywhere.
    where = None if to_stdout else out.parent
    try:
        temp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=where))
    except OSError as exc:
        builder.close()
        raise CliError(f"cannot write {out}: {exc.strerror or exc}", EXIT_INPUT) from None
    try:
        rows = filter_rows(index, flt) if flt is not None else range(index.count)
        enabled = False if args.no_progress else None
        with Progress(f"export {fmt}", max(len(rows), 1), enabled=enabled) as progress:
            target = temp / out.name
            try:
                records = IndexedRecords(index, rows, progress.advance)
                http = HttpCalls(records) if fmt in HTTP_ONLY else None
                done = exporter(records if http is None else http, target, source=capture)
            except ExportError as exc:
                raise CliError(f"cannot export {capture} as {fmt}: {exc}", EXIT_INPUT) from None
            except OSError as exc:
                raise CliError(f"cannot write {out}: {exc.strerror or exc}", EXIT_INPUT) from None
        if to_stdout:
            with target.open("rb") as src:
                shutil.copyfileobj(src, sys.stdout.buffer)
            sys.stdout.flush()
        else:
            try:
                if out.is_dir() and not out.is_symlink():
                    shutil.rmtree(out)  # a Parquet export replaced with --force
                elif target.is_dir() and (out.exists() or out.is_symlink()):
                    out.unlink()  # a directory cannot be renamed over a file
                os.replace(target, out)
            except OSError as exc:
                raise CliError(f"cannot write {out}: {exc.strerror or exc}", EXIT_INPUT) from None
        problems = list(index.problems)
    finally:
        builder.close()
        shutil.rmtree(temp, ignore_errors=True)
    for problem in problems:
        warn(f"{capture}: {problem.message}")
    for note in [] if http is None else http.notes(HTTP_ONLY[fmt]):
        warn(note)
    where_to = "stdout" if to_stdout else str(out)
    detail = f", {done.detail}" if done.detail else ""
    print(
        f"{done.calls} call{'s' if done.calls != 1 else ''} exported to {where_to}{detail}",
        file=sys.stderr if to_stdout else sys.stdout,
    )
    return EXIT_PARTIAL if problems else EXIT_OK
