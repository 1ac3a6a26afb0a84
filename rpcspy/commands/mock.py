"""``rpcspy mock``: serve the answers of a capture (``rpcspy.mock``), imported in ``run``."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rpcspy.commands.options import (
    LISTEN_HELP,
    add_limit_options,
    add_listen_options,
    http_limits,
)

if TYPE_CHECKING:
    from rpcspy.capture import CallRecord
    from rpcspy.commands.common import CaptureSource
    from rpcspy.diff import Rules
    from rpcspy.filter import Filter

__all__ = ["add_parser", "run"]


#: For ``rpcspy mock --help``: ONC RPC captures.
ONCRPC_HELP = (
    "ONC RPC: a capture of ONC RPC calls (or --protocol oncrpc) is served over TCP (record\n"
    "marking) and UDP on one port. A call is answered with the recorded reply (its xid set\n"
    "to the caller's) to the same program, version, procedure and arguments, typed by --idl\n"
    "(else compared as raw XDR bytes); --ignore paths are left out. A call with no match gets\n"
    "PROG_UNAVAIL, PROG_MISMATCH or PROC_UNAVAIL as a server without it would, or SYSTEM_ERR\n"
    "when only its arguments differ (the closest recorded call is logged). --ready-file gets\n"
    "tcp://HOST:PORT."
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``mock`` to the ``rpcspy`` command line."""
    p = sub.add_parser(
        "mock",
        help="serve the answers recorded in a capture (a playback XML-RPC server)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Serve the answers recorded in CAPTURE: a call is answered with the recorded answer\n"
            "to the same method with the same params (decoded values: struct member order and\n"
            "whitespace do not matter, nor i4/int or untyped/string, synonyms by the spec, unless\n"
            "--strict-types; --ignore paths are left out). A recorded request that did not\n"
            "decode is answered when the same request bytes arrive. Repeated identical calls\n"
            "get the recorded answers in recorded order, then the last one again. A call with\n"
            "no recorded match gets an XML-RPC fault that names the closest recorded call and\n"
            "the paths that differed. Every match and miss is logged on stderr, one line each.\n\n"
            "Answers are the recorded bytes (with their Content-Type and Content-Encoding) when\n"
            "the capture has them. The mock can itself be recorded through 'rpcspy proxy'."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy mock session.jsonl --port 8001\n"
            "  rpcspy mock session.jsonl --port 8001 --ignore '*: params[0].requestId'\n"
            '  python3 -c "import xmlrpc.client as x; '
            "print(x.ServerProxy('http://127.0.0.1:8001/RPC2').system.listMethods())\"\n"
            "  rpcspy mock session.jsonl --listen 0 --ready-file mock.url &\n"
            "  rpcspy wait --file mock.url          # prints the URL once it answers\n"
            "  rpcspy mock oncrpc.jsonl --idl examples/rpc_example.x --port 9099\n"
            "  rpcspy mock mixed.jsonl --protocol oncrpc --listen 0 --ready-file mock.url\n"
            "  build/rpc_example_client 127.0.0.1 9099 udp    # the rpcgen client, answered\n\n"
            + ONCRPC_HELP
            + "\n\n"
            + LISTEN_HELP
            + "\n\nexit codes: 0 stopped cleanly (Ctrl-C or SIGTERM; the counts are printed),\n"
            "            1 could not listen, 2 bad usage, 3 unreadable capture"
        ),
    )
    p.add_argument("capture", type=Path, help="capture file (.jsonl or .jsonl.gz)")
    add_listen_options(p, default_port=8000)
    p.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="'METHOD: PATH'",
        help="leave a param path out of matching: 'user.get: params[0].requestId'; repeatable",
    )
    p.add_argument(
        "--strict-types",
        action="store_true",
        help="tell i4 from int and untyped text from string when matching params",
    )
    p.add_argument("--rules", type=Path, metavar="FILE", help="ignore rules from a file")
    p.add_argument("--only", metavar="FILTER", help="serve only the calls this filter selects")
    p.add_argument(
        "--protocol",
        choices=("auto", "xmlrpc", "oncrpc"),
        default="auto",
        help="what to serve: auto (ONC RPC when the capture holds ONC RPC calls), the XML-RPC "
        "calls, or the ONC RPC calls (default: auto)",
    )
    p.add_argument(
        "--idl",
        type=Path,
        metavar="FILE.x",
        help="ONC RPC: the rpcgen interface that types the arguments for matching",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="do not log each call")
    add_limit_options(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Load the capture, serve it until Ctrl-C or SIGTERM; returns the exit code."""
    import sys

    from rpcspy.commands.common import CaptureSource, load_cli_rules, parse_only
    from rpcspy.commands.lifecycle import (
        ReadyFile,
        StopSignals,
        check_ready_file,
        listen_error,
        reason_of,
    )
    from rpcspy.commands.options import listen_address
    from rpcspy.exits import EXIT_OK
    from rpcspy.mock.playbook import Playbook
    from rpcspy.mock.server import MockServer
    from rpcspy.term import warn

    host, port = listen_address(args)
    check_ready_file(args.ready_file)
    limits = http_limits(args)
    rules = load_cli_rules(args.ignore, args.rules)
    only = parse_only(args.only)
    if args.protocol != "xmlrpc":
        from itertools import chain

        source = CaptureSource(args.capture)
        reading = source.records()
        # The first calls tell which protocol the capture speaks.
        head = [r for _, r in zip(range(1000), reading, strict=False)]
        if args.protocol == "oncrpc" or any(r.protocol == "oncrpc" for r in head):
            return _run_oncrpc(args, source, chain(head, reading), (host, port), rules, only)
        reading.close()
    if args.idl is not None:
        from rpcspy.exits import EXIT_USAGE, CliError

        raise CliError("--idl goes with ONC RPC captures (--protocol oncrpc)", EXIT_USAGE)
    # Signals are ours from the start: one arriving while the capture loads stops at once.
    with StopSignals() as stop:
        source = CaptureSource(args.capture)
        records = source.records()
        if only is not None:
            records = (r for r in records if only.matches(r))
        playbook = Playbook(records, rules, strict_types=args.strict_types)
        for problem in source.problems:
            warn(problem)
        if playbook.calls == 0:
            warn(f"{args.capture}: no calls to play back; every call will get a fault")
        try:
            server = MockServer(playbook, host=host, port=port, quiet=args.quiet, limits=limits)
        except OSError as exc:
            raise listen_error(host, port, reason_of(exc)) from None
        with server, ReadyFile(args.ready_file) as ready:
            methods = len(playbook.methods)
            print(
                f"rpcspy mock on {server.url} (any path): {playbook.calls} recorded calls to "
                f"{methods} method{'s' if methods != 1 else ''} from {args.capture}",
                file=sys.stderr,
            )
            for line in playbook.notes():
                print(f"  {line}", file=sys.stderr)
            print("  Ctrl-C to stop", file=sys.stderr, flush=True)
            ready.write(server.url)
            stop.wait()
        print(f"\nrpcspy mock: {server.hits} matched, {server.misses} missed", file=sys.stderr)
    return EXIT_OK


def _run_oncrpc(
    args: argparse.Namespace,
    source: CaptureSource,
    records: Iterator[CallRecord],
    address: tuple[str, int],
    rules: Rules,
    only: Filter | None,
) -> int:
    """Serve the capture's ONC RPC calls over TCP and UDP until a stop signal."""
    import sys

    from rpcspy.commands.lifecycle import ReadyFile, StopSignals, listen_error, reason_of
    from rpcspy.exits import EXIT_OK, EXIT_USAGE, CliError
    from rpcspy.inputs import load_idl
    from rpcspy.mock.oncrpc import OncRpcPlaybook
    from rpcspy.server.oncrpc import OncRpcServer
    from rpcspy.term import warn

    if args.strict_types:
        raise CliError("--strict-types: XML-RPC only (XDR types are always strict)", EXIT_USAGE)
    interface = None if args.idl is None else load_idl(args.idl)
    host, port = address
    if only is not None:
        records = (r for r in records if only.matches(r))
    log: list[OncRpcServer] = []
    with StopSignals() as stop:
        playbook = OncRpcPlaybook(
            records,
            interface,
            rules,
            log=lambda line: print(line, file=sys.stderr, flush=True) if not args.quiet else None,
        )
        for problem in source.problems:
            warn(problem)
        others = [line for line in playbook.left_out if "not an ONC RPC call" not in line]
        for line in others[:10]:
            warn(f"not played back: {line}")
        if playbook.calls == 0:
            warn(f"{args.capture}: no ONC RPC calls to play back; every call will be refused")
        try:
            server = OncRpcServer(playbook.respond, host=host, port=port, quiet=args.quiet)
        except OSError as exc:
            raise listen_error(host, port, reason_of(exc)) from None
        log.append(server)
        with server, ReadyFile(args.ready_file) as ready:
            print(
                f"rpcspy mock on tcp and udp {server.address}: {playbook.calls} recorded ONC RPC "
                f"calls to {playbook.procedures} procedures from {args.capture}",
                file=sys.stderr,
            )
            print("  Ctrl-C to stop", file=sys.stderr, flush=True)
            ready.write(f"tcp://{server.address}")
            stop.wait()
        print(f"\nrpcspy mock: {playbook.hits} matched, {playbook.misses} missed", file=sys.stderr)
    return EXIT_OK
