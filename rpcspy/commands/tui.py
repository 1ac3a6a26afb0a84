"""``rpcspy tui``: browse a capture file in the terminal UI."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``tui`` to the ``rpcspy`` command line."""
    p = sub.add_parser(
        "tui",
        help="browse, filter, inspect, replay and resend the calls of a capture",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Open a capture file (.jsonl or .jsonl.gz) in the terminal UI: a list of calls you\n"
            "can filter as you type (method:dir.* and fault, latency>200ms, params[0].name=bob),\n"
            "sort, and open to see typed params and results, the raw XML and the HTTP headers.\n"
            "From there: copy a call as curl or Python, replay it against a server and see the\n"
            "typed differences, edit it and send it again, save the shown calls as a new capture."
            "\n\n"
            "Large captures open at once and are indexed in the background. With --follow the\n"
            "list grows as the proxy appends to the file. Corrupt lines are skipped and reported;\n"
            "the exit code is then 4. Press ? in the UI for keys, Ctrl+P for commands."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy tui captures/basics.jsonl\n"
            "  rpcspy tui live.jsonl --follow\n"
            "  rpcspy tui big.jsonl.gz --filter 'fault and not method:system.*'\n"
            "  rpcspy tui captures/basics.jsonl --target http://127.0.0.1:9000/RPC2\n"
            "  rpcspy tui captures/basics.jsonl --api api.json\n"
            "filter language: docs/filter.md"
        ),
    )
    p.add_argument("capture", type=Path, help="capture file")
    p.add_argument(
        "-f", "--follow", action="store_true", help="keep reading as the file grows (like tail -f)"
    )
    p.add_argument("--filter", metavar="EXPR", default="", help="start with this filter")
    p.add_argument(
        "--target",
        metavar="URL",
        help="default server for replay and resend "
        "(default: the one each call was recorded against)",
    )
    p.add_argument(
        "--api",
        metavar="FILE",
        type=Path,
        help="an API description (rpcspy api introspect/learn -o FILE): its help and declared "
        "signatures show in the API pane (a), merged with what the calls show",
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Open the TUI; returns the exit code (4 when corrupt lines were skipped)."""
    from rpcspy.tui.startup import hold_gc, release_gc

    # Until the first screen is painted: no garbage collection, and the capture's index is
    # opened in a thread while this one imports Textual (see rpcspy.tui.startup).
    hold_gc()
    try:
        return _run(args)
    finally:
        release_gc()


def _run(args: argparse.Namespace) -> int:
    from rpcspy.exits import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, CliError
    from rpcspy.inputs import check_capture

    path: Path = args.capture
    check_capture(path, allow_empty=True)  # an empty file is fine: --follow waits for records
    if args.filter.strip():  # (the empty filter is good: the filter language loads later)
        from rpcspy.filter import FilterError, parse_filter

        try:
            parse_filter(args.filter)
        except FilterError as exc:
            raise CliError(f"--filter: {exc.message}", EXIT_USAGE) from exc
    if args.target:
        from rpcspy.replay.send import Target

        try:
            Target.parse(args.target)
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from exc

    api = None
    if args.api is not None:
        from rpcspy.inputs import load_api

        api = load_api(args.api, "--api")

    from rpcspy.capture.index import CaptureIndex
    from rpcspy.tui.startup import CaptureOpening

    opening = CaptureOpening(path, CaptureIndex(), follow=args.follow)
    from rpcspy.tui.app import RpcSpyApp

    app = RpcSpyApp(
        opening=opening,
        capture=path,
        follow=args.follow,
        initial_filter=args.filter,
        replay_target=args.target,
        api=api,
        api_label=args.api.name if args.api is not None else None,
    )
    from rpcspy.stopping import StopSignals

    # SIGINT and SIGTERM end the app as q does (the terminal given back), then exit 130 or 143.
    with StopSignals() as signals:
        signals.app = app
        app.run()
    if app.store.problems:
        from rpcspy.term import warn

        for problem in app.store.problems[:20]:
            warn(f"{path}: {problem.message}")
    signals.check()
    return EXIT_PARTIAL if app.store.problems else EXIT_OK
