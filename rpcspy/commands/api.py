"""``rpcspy api``: know a server's API (``rpcspy.api``): introspect it, learn it from traffic,
check calls against it, diff two versions of it, write a typed client for it.

One subcommand per tool, each with its own ``_add_NAME(subs)`` and ``_run_NAME(args)`` below.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rpcspy.commands import HelpFormatter

if TYPE_CHECKING:
    from rpcspy.api.model import Api

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


# ---------------------------------------------------------------- introspect


def _add_introspect(subs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subs.add_parser(
        "introspect",
        help="ask a live server for its methods, signatures and help",
        formatter_class=HelpFormatter,
        description="Ask a server system.listMethods, system.methodSignature and\n"
        "system.methodHelp and describe its API.",
    )
    p.add_argument("url", metavar="URL", help="the server, e.g. http://127.0.0.1:8000/RPC2")
    _output_option(p)
    p.set_defaults(func=run)


def _run_introspect(args: argparse.Namespace) -> int:
    raise NotImplementedError("api introspect")


# ---------------------------------------------------------------- learn


def _add_learn(subs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subs.add_parser(
        "learn",
        help="infer the API from capture files",
        formatter_class=HelpFormatter,
        description="Infer an API description from the calls in capture files.",
    )
    p.add_argument("captures", type=Path, nargs="+", metavar="CAPTURE", help="capture file(s)")
    p.add_argument(
        "--api", type=Path, metavar="FILE", help="merge with this API file (e.g. introspected)"
    )
    _output_option(p)
    p.set_defaults(func=run)


def _run_learn(args: argparse.Namespace) -> int:
    raise NotImplementedError("api learn")


# ---------------------------------------------------------------- check


def _add_check(subs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subs.add_parser(
        "check",
        help="report calls whose arity or types disagree with an API file",
        formatter_class=HelpFormatter,
        description="Check every call in capture files against an API description.",
    )
    p.add_argument("captures", type=Path, nargs="+", metavar="CAPTURE", help="capture file(s)")
    p.add_argument("--api", type=Path, required=True, metavar="FILE", help="the API file")
    p.set_defaults(func=run)


def _run_check(args: argparse.Namespace) -> int:
    raise NotImplementedError("api check")


# ---------------------------------------------------------------- diff


def _load_description(path: Path) -> Api:
    """An API file, or a capture file learned on the fly (``learn_records``); every way it
    cannot be read becomes a ``CliError`` with exit code 3."""
    import orjson

    from rpcspy.api.learn import learn_records
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
            api = learn_records(reader)
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
            "breaking (a client of OLD may fail against NEW) or compatible; docs/api-diff-stub.md\n"
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
            "is kept in the call and ends the docstring. docs/api-diff-stub.md has the rules.\n"
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
