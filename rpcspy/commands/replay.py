"""``rpcspy replay``: re-send the calls of a capture and compare the answers (``rpcspy.replay``).

The machinery is imported in ``run``, so that building the parser (``rpcspy --help``) stays cheap.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rpcspy.commands.options import EXIT_CODES, add_report_options, add_rule_options, size_arg

if TYPE_CHECKING:
    from rpcspy.commands.common import CaptureSource
    from rpcspy.replay.engine import Replayer
    from rpcspy.replay.report import Report

__all__ = ["add_parser", "run"]


#: For ``rpcspy replay --help``: ONC RPC and RPyC targets.
NATIVE_HELP = (
    "ONC RPC and RPyC: a tcp:// or udp:// --target replays the capture's calls of those\n"
    "protocols. An ONC RPC call is sent as recorded but for a fresh xid (record-marked over\n"
    "tcp://, one datagram over udp://), and its reply's typed result is compared with the\n"
    "recorded one (--idl FILE.x types them as the proxy did: give it the same interface).\n"
    "An RPyC classic session is replayed best effort against a fresh server: recorded netrefs\n"
    "are mapped to the fresh server's objects, and operations on netrefs that no longer exist\n"
    "(or that lend client objects) are reported skipped, with why. --reencode, --concurrency,\n"
    "--speed, --learn-noise and the HTTP options do not apply to them."
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``replay`` to the ``rpcspy`` command line."""
    p = sub.add_parser(
        "replay",
        help="re-send the calls of a capture to a server and compare the answers",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Re-send each call recorded in CAPTURE to the server at --target and compare every\n"
            "answer with the recorded one: the same HTTP status and body bytes (gzip undone\n"
            "where the bytes differ) are the same answer, whatever the decoder made of them;\n"
            "other answers are compared value by value and type by type.\n\n"
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
            "      --user alice --speed 1x --learn-noise --junit replay.xml\n"
            "  rpcspy replay oncrpc.jsonl --target tcp://127.0.0.1:9099 --idl rpc_example.x\n"
            "  rpcspy replay oncrpc.jsonl --target udp://127.0.0.1:9099 --idl rpc_example.x \\\n"
            "      --skip 'RPC_EXAMPLE_PROG.*.ADD' --json\n"
            "  rpcspy replay rpyc.jsonl --target tcp://127.0.0.1:18812   # a fresh rpyc_classic\n\n"
            + NATIVE_HELP
            + "\n\n"
            + EXIT_CODES
            + "\n            130 interrupted (Ctrl-C or SIGTERM): the calls replayed so far are "
            "reported"
        ),
    )
    p.add_argument("capture", type=Path, help="capture file (.jsonl or .jsonl.gz)")
    p.add_argument(
        "--target",
        required=True,
        metavar="URL",
        help="server to replay against, e.g. http://127.0.0.1:8000/RPC2 (a URL without a "
        "path keeps each call's recorded path); tcp://HOST:PORT or udp://HOST:PORT for ONC RPC "
        "and RPyC captures",
    )
    p.add_argument(
        "--idl",
        type=Path,
        metavar="FILE.x",
        help="ONC RPC: the rpcgen interface that types the new answers (as the capture's were)",
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
        help="deadline for each call: connect, send and the whole answer; a call past it is an "
        "error, 'timed out' (default: %(default)s)",
    )
    g.add_argument(
        "--max-body",
        type=size_arg,
        default="64m",
        metavar="SIZE",
        help="largest answer body read (k/m/g suffixes); a call whose answer announces or "
        "sends more is reported 'too-large' and the replay goes on (default: %(default)s, the "
        "decoder's own limit)",
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
    add_rule_options(p)
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
    add_report_options(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Check the arguments, replay, report; returns the exit code."""
    import sys
    import time

    from rpcspy.commands.common import (
        CaptureSource,
        auth_from_args,
        emit_report,
        load_cli_rules,
        parse_only,
        skip_globs,
        target_from_url,
    )
    from rpcspy.commands.lifecycle import StopSignals
    from rpcspy.exits import EXIT_INPUT, EXIT_INTERRUPTED, EXIT_USAGE, CliError
    from rpcspy.replay.engine import Replayer, ReplayOptions, parse_speed
    from rpcspy.replay.progress import Progress, progress_enabled
    from rpcspy.replay.report import Report
    from rpcspy.replay.send import TlsOptions
    from rpcspy.term import warn

    if args.target.strip().lower().startswith(("tcp://", "udp://")):
        return _run_native(args)
    if args.idl is not None:
        raise CliError("--idl goes with a tcp:// or udp:// --target (ONC RPC)", EXIT_USAGE)
    target = target_from_url(args.target, "--target")
    noise_target = (
        target_from_url(args.noise_target, "--noise-target") if args.noise_target else None
    )
    if args.concurrency < 1:
        raise CliError("--concurrency must be at least 1", EXIT_USAGE)
    if not args.timeout > 0:
        raise CliError("--timeout must be more than 0 seconds", EXIT_USAGE)
    try:
        speed = parse_speed(args.speed) if args.speed else None
    except ValueError as exc:
        raise CliError(f"--speed: {exc}", EXIT_USAGE) from None
    auth = auth_from_args(args)
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
        max_body=args.max_body,
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
    # Ctrl-C and SIGTERM both interrupt, even when started from a script that ignores SIGINT.
    with StopSignals(mode="interrupt") as stop, Replayer(options) as replayer:
        try:
            if options.noise_target is not None:
                learn_total = total * 2 if total is not None else None
                with Progress("learning noise", learn_total, enabled=show_progress) as bar:
                    replayer.learn(source.records(), on_done=bar.advance)
            _replay_into(replayer, source, report, args.write, total, show_progress)
        except KeyboardInterrupt:
            # What was replayed so far is written already; report it before leaving.
            interrupted = True
        finally:
            # A signal from here on only marks the run as interrupted: the report still comes.
            stop.mode = "flag"
    interrupted = interrupted or stop.received is not None
    report.elapsed = time.monotonic() - started
    for method in replayer.noise.methods:
        entries = replayer.noise.entries(method)
        report.noise_paths[method] = {e.path or "(whole answer)" for e in entries}
    report.warnings.extend(replayer.warnings)
    report.warnings.extend(source.problems)
    report.partial = bool(source.problems)
    if interrupted:
        by = f" ({stop.received.name})" if stop.received is not None else ""
        report.warnings.append(f"interrupted after {len(report.results)} calls{by}")
    elif not report.results:
        report.warnings.append("no calls to replay" + (" (--only selected none)" if only else ""))
    code = emit_report(report, args)
    return EXIT_INTERRUPTED if interrupted else code


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _replay_into(
    replayer: Replayer,
    source: CaptureSource,
    report: Report,
    write: Path | None,
    total: int | None,
    show_progress: bool,
) -> None:
    """Replay every record into the report, writing each new exchange as it comes."""
    from collections import Counter

    from rpcspy.capture import CaptureWriter
    from rpcspy.replay.progress import Progress

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


def _run_native(args: argparse.Namespace) -> int:
    """Replay the ONC RPC or RPyC calls of a capture against a tcp:// or udp:// target."""
    import time

    from rpcspy.commands.common import (
        CaptureSource,
        emit_report,
        load_cli_rules,
        parse_only,
        skip_globs,
    )
    from rpcspy.commands.lifecycle import StopSignals
    from rpcspy.exits import EXIT_INTERRUPTED, EXIT_USAGE, CliError
    from rpcspy.inputs import load_idl
    from rpcspy.replay.native import NativeTarget, OncRpcReplayer, replay_rpyc
    from rpcspy.replay.report import Report

    try:
        target = NativeTarget.parse(args.target)
    except ValueError as exc:
        raise CliError(f"--target: {exc}", EXIT_USAGE) from None
    http_only = [
        flag
        for flag, given in (
            ("--reencode", args.reencode),
            ("--concurrency", args.concurrency != 1),
            ("--speed", args.speed is not None),
            ("--learn-noise", args.learn_noise),
            ("--noise-target", args.noise_target is not None),
            ("--user", args.user is not None),
            ("--password", args.password is not None),
            ("--cafile", args.cafile is not None),
            ("--insecure", args.insecure),
        )
        if given
    ]
    if http_only:
        raise CliError(
            f"{', '.join(http_only)}: HTTP replay only, not a {target.transport}:// target",
            EXIT_USAGE,
        )
    if not args.timeout > 0:
        raise CliError("--timeout must be more than 0 seconds", EXIT_USAGE)
    interface = None if args.idl is None else load_idl(args.idl)
    rules = load_cli_rules(args.ignore, args.rules, args.tolerance)
    only = parse_only(args.only)
    skip = skip_globs(args.skip, args.rules)
    if args.write is not None and _same_file(args.write, args.capture):
        raise CliError(
            "-w would overwrite the capture being replayed; choose another file", EXIT_USAGE
        )
    source = CaptureSource(args.capture)
    records = [r for r in source.records() if only is None or only.matches(r)]
    protocols = {r.protocol for r in records}
    report = Report("replay", str(args.capture), target.url)
    started = time.monotonic()
    interrupted = False
    new_records = []
    with StopSignals(mode="interrupt") as stop:
        try:
            if "rpyc" in protocols and target.transport == "tcp":
                rpyc = replay_rpyc(records, target, timeout=args.timeout)
                report.results.extend(rpyc.results)
                report.warnings.extend(rpyc.warnings)
                new_records += rpyc.records
            elif "rpyc" in protocols:
                report.warnings.append("RPyC runs over TCP: its calls need a tcp:// target")
            with OncRpcReplayer(
                target, interface=interface, timeout=args.timeout, rules=rules, skip=skip
            ) as replayer:
                for record in records:
                    if record.protocol != "oncrpc":
                        continue
                    outcome = replayer.replay_one(record)
                    if outcome.new is not None:
                        new_records.append(outcome.new)
                    report.add(outcome.to_result())
        except KeyboardInterrupt:
            interrupted = True
        finally:
            stop.mode = "flag"
    interrupted = interrupted or stop.received is not None
    others = sorted(protocols - {"oncrpc", "rpyc"})
    if others:
        report.warnings.append(
            f"{', '.join(others)} calls left out: replay them against an http:// target"
        )
    if args.write is not None:
        from rpcspy.capture import CaptureWriter

        writer = CaptureWriter(args.write, append=False)
        try:
            for record in new_records:
                writer.write(record)
        finally:
            writer.close()
    report.elapsed = time.monotonic() - started
    report.warnings.extend(source.problems)
    report.partial = bool(source.problems)
    if interrupted:
        by = f" ({stop.received.name})" if stop.received is not None else ""
        report.warnings.append(f"interrupted after {len(report.results)} calls{by}")
    elif not report.results:
        report.warnings.append(
            "no ONC RPC or RPyC calls to replay" + (" (--only selected none)" if only else "")
        )
    code = emit_report(report, args)
    return EXIT_INTERRUPTED if interrupted else code
