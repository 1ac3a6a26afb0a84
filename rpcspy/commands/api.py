"""``rpcspy api``: know a server's API (``rpcspy.api``): introspect it, learn it from traffic,
check calls against it, diff two versions of it, write a typed client for it.

One subcommand per tool, each with its own ``_add_NAME(subs)`` and ``_run_NAME(args)`` below.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rpcspy.commands import HelpFormatter

if TYPE_CHECKING:
    from rpcspy.api.model import Api
    from rpcspy.capture.reader import CaptureReader
    from rpcspy.replay.progress import Progress

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``api`` and its subcommands to the ``rpcspy`` command line."""
    p = sub.add_parser(
        "api",
        help="describe a server's API: introspect, learn from traffic, check, diff, stub",
        formatter_class=HelpFormatter,
        description=(
            "Describe an XML-RPC API in one JSON file (docs/api-format.md): its methods, their\n"
            "signatures and help, the types seen in traffic, and where each fact came from.\n"
            "\n"
            "  introspect  ask a live server (system.listMethods, methodSignature, methodHelp)\n"
            "  learn       infer the API from capture files\n"
            "  check       report calls whose arity or types disagree with an API file\n"
            "  diff        what changed between two API files (breaking or compatible)\n"
            "  stub        write a typed Python client module for an API file"
        ),
        epilog=(
            "examples:\n"
            "  rpcspy api introspect http://127.0.0.1:8000/RPC2 -o api.json\n"
            "  rpcspy api learn captures/*.jsonl --api api.json -o learned.json\n"
            "  rpcspy api check session.jsonl --api learned.json\n"
            "  rpcspy api diff before.json after.json\n"
            "  rpcspy api stub api.json --python -o client.py"
        ),
    )
    subs = p.add_subparsers(dest="api_command", metavar="SUBCOMMAND", required=True)
    _add_introspect(subs)
    _add_learn(subs)
    _add_check(subs)
    _add_diff(subs)
    _add_stub(subs)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the chosen subcommand; returns its exit code."""
    runner = {
        "introspect": _run_introspect,
        "learn": _run_learn,
        "check": _run_check,
        "diff": _run_diff,
        "stub": _run_stub,
    }[args.api_command]
    return runner(args)


def _output_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="write the API description here (JSON, docs/api-format.md)",
    )


# ---------------------------------------------------------------- shared


def _progress_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def _load_api(path: Path, flag: str) -> Api:
    from rpcspy.inputs import load_api

    return load_api(path, flag)


def _save_api(api: Api, path: Path) -> None:
    from rpcspy.api.model import save
    from rpcspy.exits import EXIT_INPUT, CliError

    try:
        save(api, path)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}", EXIT_INPUT) from None


def _emit_api(api: Api, args: argparse.Namespace) -> None:
    """Write the file (``-o``) and print the table, or the file form with ``--json``."""
    import sys

    from rpcspy.api.model import api_table, api_to_json
    from rpcspy.term import json_text, printable

    if args.output is not None:
        _save_api(api, args.output)
    if args.json:
        sys.stdout.write(json_text(api_to_json(api), indent=True) + "\n")
    else:
        for line in api_table(api):
            sys.stdout.write(printable(line) + "\n")


def _json_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--json", action="store_true", help="print the API file's JSON on stdout, not a table"
    )


# ---------------------------------------------------------------- introspect


def _add_introspect(subs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subs.add_parser(
        "introspect",
        help="ask a live server for its methods, signatures and help",
        formatter_class=HelpFormatter,
        description=(
            "Ask a server system.listMethods, then system.methodSignature and\n"
            "system.methodHelp for each method (in one system.multicall when the server\n"
            "takes it, else one call each), and describe its API: a table on stdout, the\n"
            "file with -o. Answers such as 'undef', nil, 'signatures not supported' or a\n"
            "fault leave a method without signatures (or help).\n"
            "\n"
            "Exit status: 0 described; 1 the server lists no methods (no introspection:\n"
            "learn the API from traffic instead); 2 bad usage; 3 no XML-RPC answer\n"
            "(connection refused, TLS, HTTP 401 or another status, not XML-RPC), or the\n"
            "file cannot be written."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy api introspect http://127.0.0.1:8000/RPC2 -o api.json\n"
            "  RPCSPY_PASSWORD=s3cret rpcspy api introspect https://host/RPC2 --user alice \\\n"
            "      --cafile ca.pem --json | jq '.methods | keys'"
        ),
    )
    p.add_argument("url", metavar="URL", help="the server, e.g. http://127.0.0.1:8000/RPC2")
    _output_option(p)
    _json_option(p)
    g = p.add_argument_group("how calls are sent")
    g.add_argument(
        "--no-multicall",
        action="store_true",
        help="ask with one call per question, never system.multicall",
    )
    g.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="deadline for each call (default: %(default)g)",
    )
    g.add_argument("--user", help="HTTP Basic auth user (default: $RPCSPY_USER)")
    g.add_argument(
        "--password",
        help="password for --user (default: $RPCSPY_PASSWORD); prefer the variable, the command "
        "line is visible to other users",
    )
    g.add_argument("--cafile", type=Path, metavar="PEM", help="trust this CA for an https URL")
    g.add_argument(
        "--insecure", action="store_true", help="do not verify the https server's certificate"
    )
    p.set_defaults(func=run)


def _run_introspect(args: argparse.Namespace) -> int:
    from rpcspy.api.introspect import NoIntrospection, introspect
    from rpcspy.commands.common import auth_from_args, target_from_url
    from rpcspy.exits import EXIT_FAILURE, EXIT_INPUT, EXIT_USAGE, CliError
    from rpcspy.replay.send import Sender, TlsOptions
    from rpcspy.term import warn
    from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse

    target = target_from_url(args.url, "URL")
    if target.path is None:
        target = type(target)(target.scheme, target.host, target.port, "/RPC2")
    if not args.timeout > 0:
        raise CliError("--timeout must be more than 0 seconds", EXIT_USAGE)
    auth = auth_from_args(args)
    if args.insecure and args.cafile is not None:
        raise CliError("--insecure and --cafile contradict each other", EXIT_USAGE)
    if args.cafile is not None and not args.cafile.is_file():
        raise CliError(f"no such CA file: {args.cafile}", EXIT_INPUT)
    if (args.cafile or args.insecure) and target.scheme != "https":
        warn("--cafile/--insecure only matter for an https URL")
    with Sender(
        target,
        auth=auth,
        tls=TlsOptions(cafile=args.cafile, insecure=args.insecure),
        timeout=args.timeout,
        origin="call",
    ) as sender:

        def send(call: MethodCall) -> MethodResponse | Fault:
            record = sender.send(call)
            url = target.url
            if record.error is not None:
                raise CliError(f"{url}: {record.error}", EXIT_INPUT)
            if record.status == 401:
                hint = " (wrong --user/--password)" if auth else " (give --user and --password)"
                raise CliError(f"{url}: HTTP 401, the server wants credentials{hint}", EXIT_INPUT)
            if record.status != 200:
                raise CliError(
                    f"{url}: the server answered HTTP {record.status} to {call.method}, "
                    "not an XML-RPC answer",
                    EXIT_INPUT,
                )
            reply = record.reply
            if reply is None:
                why = "; ".join(p.message for p in record.problems if p.where == "response")
                raise CliError(
                    f"{url}: the answer to {call.method} is not XML-RPC"
                    + (f" ({why})" if why else ""),
                    EXIT_INPUT,
                )
            return reply

        try:
            found = introspect(send, url=target.url, multicall=not args.no_multicall)
        except NoIntrospection as exc:
            raise CliError(
                f"{target.url}: the server does not list its methods ({exc}); learn its API "
                "from traffic instead: rpcspy api learn CAPTURE",
                EXIT_FAILURE,
            ) from None
    for note in found.notes:
        warn(note)
    _emit_api(found.api, args)
    return 0


# ---------------------------------------------------------------- learn


def _add_learn(subs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subs.add_parser(
        "learn",
        help="infer the API from capture files",
        formatter_class=HelpFormatter,
        description=(
            "Infer an API description from the calls in capture files (system.multicall\n"
            "sub-calls included): per method and param position the wire types seen (unions\n"
            "kept: i4|nil), struct members seen always or sometimes, array item types, the\n"
            "result's types, the arities and fault codes. With --api, the facts of that file\n"
            "(say, from introspect) come first and the traffic's are added to them.\n"
            "\n"
            "Exit status: 0 learned; 3 a capture or the --api file could not be read; 4\n"
            "corrupt lines were skipped (the rest was learned)."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy api learn captures/*.jsonl -o learned.json\n"
            "  rpcspy api introspect http://127.0.0.1:8000/RPC2 -o api.json\n"
            "  rpcspy api learn monday.jsonl.gz tuesday.jsonl --api api.json -o api.json"
        ),
    )
    p.add_argument("captures", type=Path, nargs="+", metavar="CAPTURE", help="capture file(s)")
    p.add_argument(
        "--api", type=Path, metavar="FILE", help="merge with this API file (e.g. introspected)"
    )
    _output_option(p)
    _json_option(p)
    _progress_option(p)
    p.set_defaults(func=run)


def _read_captures(
    paths: list[Path],
    label: str,
    args: argparse.Namespace,
    each: Callable[[CaptureReader, Progress], None],
) -> bool:
    """Open every capture (headers checked first), run ``each`` over it with a progress bar;
    warn of skipped lines. True when some were skipped."""
    import sys

    from rpcspy.capture import CaptureFormatError
    from rpcspy.capture.reader import count_records_hint
    from rpcspy.exits import EXIT_INPUT, CliError
    from rpcspy.inputs import open_capture
    from rpcspy.replay.progress import Progress, progress_enabled
    from rpcspy.term import warn

    readers = [(path, open_capture(path)) for path in paths]
    enabled = not args.no_progress and progress_enabled(sys.stderr)
    total = None
    if enabled:
        hints = [count_records_hint(path) for path in paths]
        total = None if None in hints else sum(h or 0 for h in hints)
    skipped = False
    with Progress(label, total, enabled=enabled) as bar:
        for path, reader in readers:
            try:
                with reader:
                    each(reader, bar)
            except CaptureFormatError as exc:
                raise CliError(f"{path}: {exc}", EXIT_INPUT) from exc
            except OSError as exc:
                raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_INPUT) from exc
            bar.clear()
            for problem in reader.problems:
                warn(f"{path}: {problem.message}")
            if reader.problems:
                n = len(reader.problems)
                warn(f"{path}: {n} line{'s' if n != 1 else ''} skipped; the rest was read")
                skipped = True
    return skipped


def _run_learn(args: argparse.Namespace) -> int:
    from rpcspy.api.learn import learn_reader
    from rpcspy.api.model import Api, add_api, api_source
    from rpcspy.exits import EXIT_OK, EXIT_PARTIAL

    base = _load_api(args.api, "--api") if args.api is not None else None
    learned = Api()

    def each(reader: CaptureReader, bar: Progress) -> None:
        before = reader.records_read
        learn_reader(reader, learned, bar.advance)
        calls = reader.records_read - before
        learned.sources.append(api_source("traffic", capture=str(reader.path), calls=calls))

    skipped = _read_captures(args.captures, "learning", args, each)
    api = learned if base is None else add_api(base, learned)
    _emit_api(api, args)
    return EXIT_PARTIAL if skipped else EXIT_OK


# ---------------------------------------------------------------- check


def _add_check(subs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subs.add_parser(
        "check",
        help="report calls whose arity or types disagree with an API file",
        formatter_class=HelpFormatter,
        description=(
            "Check every call in capture files (system.multicall sub-calls included)\n"
            "against an API description: a method it does not have, a number of params no\n"
            "signature declares and no call was seen with, a param or result type it does\n"
            "not allow (by kind: i4 and int are one; any allows all), a struct member it\n"
            "never saw. Each is a finding (rules api-*, docs/conformance.md), printed with\n"
            "the call's # (for rpcspy show --call).\n"
            "\n"
            "Exit status: 0 no error-severity finding; 1 some; 3 a capture or the API file\n"
            "could not be read; 4 corrupt lines were skipped (the rest was checked)."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy api check session.jsonl --api api.json\n"
            "  rpcspy api check *.jsonl --api api.json --json | jq '.items[].rule'\n"
            "  rpcspy lint session.jsonl --api api.json"
        ),
    )
    p.add_argument("captures", type=Path, nargs="+", metavar="CAPTURE", help="capture file(s)")
    p.add_argument("--api", type=Path, required=True, metavar="FILE", help="the API file")
    p.add_argument("--json", action="store_true", help="machine-readable output (one JSON object)")
    _progress_option(p)
    p.set_defaults(func=run)


def _run_check(args: argparse.Namespace) -> int:
    import sys

    from rpcspy.api.check import check_reader
    from rpcspy.exits import EXIT_FAILURE, EXIT_OK, EXIT_PARTIAL
    from rpcspy.term import json_text, printable

    api = _load_api(args.api, "--api")
    several = len(args.captures) > 1
    calls = 0
    flagged = 0
    errors = 0
    warnings = 0
    out = sys.stdout
    # --json: one object, its items written as they are found (a million findings or not, the
    # memory used stays the same) and the counts after them.
    opened = False

    def item(data: dict[str, object]) -> None:
        nonlocal opened
        out.write((", " if opened else '{"items": [') + json_text(data))
        opened = True

    def each(reader: CaptureReader, bar: Progress) -> None:
        nonlocal calls, flagged, errors, warnings
        before = reader.records_read
        for checked in check_reader(api, reader, bar.advance):
            flagged += 1
            for f in checked.findings:
                if f.severity == "error":
                    errors += 1
                else:
                    warnings += 1
                if args.json:
                    item(
                        {
                            "capture": str(reader.path),
                            "seq": checked.seq,
                            "method": checked.method,
                            "where": f.where,
                            "rule": f.rule,
                            "severity": f.severity,
                            "path": f.path,
                            "message": f.message,
                        }
                    )
                else:
                    bar.clear()
                    where = f"{reader.path} " if several else ""
                    line = (
                        f"{where}#{checked.seq} {checked.method or '(no method)'}: "
                        f"{f.severity} {f.rule}: {f.message}"
                    )
                    out.write(printable(line) + "\n")
        calls += reader.records_read - before

    skipped = _read_captures(args.captures, "checking", args, each)
    if args.json:
        counts = {
            "calls": calls,
            "calls_with_findings": flagged,
            "findings": errors + warnings,
            "errors": errors,
            "warnings": warnings,
        }
        out.write(("], " if opened else '{"items": [], ') + json_text(counts)[1:] + "\n")
    else:
        plural = "" if calls == 1 else "s"
        out.write(
            f"{calls} call{plural} checked; {errors + warnings} finding"
            f"{'' if errors + warnings == 1 else 's'} ({errors} error"
            f"{'' if errors == 1 else 's'}, {warnings} warning{'' if warnings == 1 else 's'}) "
            f"in {flagged} of them\n"
        )
    if errors:
        return EXIT_FAILURE
    return EXIT_PARTIAL if skipped else EXIT_OK


# ---------------------------------------------------------------- diff


def _load_description(path: Path) -> Api:
    """An API file, or a capture file learned on the fly (``learn_reader``); every way it
    cannot be read becomes a ``CliError`` with exit code 3."""
    import orjson

    from rpcspy.api.learn import learn_reader
    from rpcspy.api.model import ApiFormatError, load
    from rpcspy.capture import CaptureFormatError
    from rpcspy.exits import EXIT_INPUT, CliError
    from rpcspy.inputs import open_capture
    from rpcspy.term import warn

    if not path.exists():
        raise CliError(f"no such file: {path}", EXIT_INPUT)
    if path.is_dir():
        raise CliError(f"{path} is a directory, not an API or capture file", EXIT_INPUT)
    try:
        with path.open("rb") as f:
            head = f.readline(1 << 16)
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_INPUT) from None
    capture = head.startswith(b"\x1f\x8b")  # gzip: only captures are compressed
    if not capture:
        try:
            first = orjson.loads(head)
        except orjson.JSONDecodeError:
            first = None  # an indented API file's first line is "{"
        capture = isinstance(first, dict) and first.get("format") == "rpcspy-capture"
    if not capture:
        try:
            return load(path)
        except ApiFormatError as exc:
            raise CliError(str(exc), EXIT_INPUT) from None
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_INPUT) from None
    reader = open_capture(path)
    try:
        with reader:
            api = learn_reader(reader)
    except CaptureFormatError as exc:
        raise CliError(f"{path}: {exc}", EXIT_INPUT) from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_INPUT) from None
    for problem in reader.problems:
        warn(f"{path}: {problem.message}")
    return api


def _add_diff(subs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subs.add_parser(
        "diff",
        help="what changed between two API files (breaking or compatible)",
        formatter_class=HelpFormatter,
        description=(
            "Compare two API descriptions, as a client of OLD pointed at NEW would see them:\n"
            "methods added or removed, params added or removed, param and result types\n"
            "changed, struct members added or removed, fault codes and help. Each change is\n"
            "breaking (a client of OLD may fail against NEW) or compatible; docs/api.md\n"
            "gives the rules.\n"
            "\n"
            "OLD and NEW are API files (rpcspy api introspect/learn) or capture files, learned\n"
            "on the fly: two captures of the same client against two versions of a server\n"
            "answer 'what did the upgrade change?'.\n"
            "\n"
            "exit status: 0 no change or only compatible ones, 1 a breaking change,\n"
            "3 a file that cannot be read."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy api diff v1.json v2.json\n"
            "  rpcspy api diff before.jsonl after.jsonl      # two captures of the same client\n"
            "  rpcspy api diff v1.json v2.json --json | jq -r '.changes[].text'"
        ),
    )
    p.add_argument("old", type=Path, metavar="OLD", help="the API before (API or capture file)")
    p.add_argument("new", type=Path, metavar="NEW", help="the API after (API or capture file)")
    p.add_argument("--json", action="store_true", help="machine-readable output (one JSON object)")
    p.set_defaults(func=run)


_MARK = {"method-added": "+", "method-removed": "-", "param-added": "+", "param-removed": "-"}
_MARK |= {"member-added": "+", "member-removed": "-", "fault-added": "+", "fault-removed": "-"}


def _run_diff(args: argparse.Namespace) -> int:
    import sys

    from rpcspy.api.diff import diff_apis, diff_to_json
    from rpcspy.exits import EXIT_FAILURE, EXIT_OK
    from rpcspy.term import Style, json_text, printable

    old, new = _load_description(args.old), _load_description(args.new)
    changes = diff_apis(old, new)
    out = sys.stdout
    if args.json:
        out.write(json_text(diff_to_json(changes, old=str(args.old), new=str(args.new))) + "\n")
    else:
        style = Style(out)
        out.write(printable(f"api diff {args.old} -> {args.new}") + "\n")
        breaking = [c for c in changes if c.breaking]
        compatible = [c for c in changes if not c.breaking]
        for title, group, colour in (
            ("breaking", breaking, "red"),
            ("compatible", compatible, "green"),
        ):
            if not group:
                continue
            out.write(style(f"{title} ({len(group)}):", "bold", colour) + "\n")
            for change in group:
                mark = _MARK.get(change.kind, "~")
                out.write(f"  {style(mark, colour)} {printable(change.text)}\n")
        if changes:
            out.write(f"{len(breaking)} breaking, {len(compatible)} compatible\n")
        else:
            out.write("no changes\n")
    return EXIT_FAILURE if any(c.breaking for c in changes) else EXIT_OK


# ---------------------------------------------------------------- stub


def _add_stub(subs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subs.add_parser(
        "stub",
        help="write a typed Python client module for an API file",
        formatter_class=HelpFormatter,
        description=(
            "Write a Python module with a Client class: one typed method per XML-RPC method,\n"
            "type hints from the signatures (overloads when there are several), TypedDicts for\n"
            "structs whose members traffic showed, docstrings from the help. It uses\n"
            "xmlrpc.client only. Dotted and other names that are not Python identifiers become\n"
            "flat ones (math.add -> math_add, 'multiply args' -> multiply_args); the wire name\n"
            "is kept in the call and ends the docstring. docs/api.md has the rules.\n"
            "\n"
            "API is an API file, or a capture file learned on the fly."
        ),
        epilog=(
            "examples:\n"
            "  rpcspy api stub api.json --python -o demo_client.py\n"
            "  python -c 'import demo_client; print(demo_client.Client(URL).add(2, 3))'\n"
            "  rpcspy api stub session.jsonl --system --class-name Demo > demo.py"
        ),
    )
    p.add_argument("api", type=Path, metavar="API", help="the API file (or a capture file)")
    p.add_argument(
        "--python",
        action="store_true",
        help="write Python (the only language, and the default)",
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="write the module here (default: standard output)",
    )
    p.add_argument(
        "--system",
        action="store_true",
        help="include the system.* methods (introspection, multicall)",
    )
    p.add_argument(
        "--class-name",
        default="Client",
        metavar="NAME",
        help="the client class's name (default: Client)",
    )
    p.set_defaults(func=run)


def _run_stub(args: argparse.Namespace) -> int:
    import sys

    from rpcspy.api.stub import python_stub
    from rpcspy.exits import EXIT_OK, EXIT_USAGE, CliError

    if not args.class_name.isidentifier():
        raise CliError(f"--class-name {args.class_name!r} is not a Python identifier", EXIT_USAGE)
    api = _load_description(args.api)
    text = python_stub(api, system=args.system, class_name=args.class_name, source=args.api.name)
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return EXIT_OK
