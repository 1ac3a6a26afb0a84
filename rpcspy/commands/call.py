"""``rpcspy call``: one typed XML-RPC call from the command line, its answer typed.

The arguments' syntax is ``rpcspy.xmlrpc.args``; the exchange is sent and recorded by
``rpcspy.replay.send.Sender`` (through ``rpcspy.client`` for ``--proxy``), and the answer is
printed as ``rpcspy show`` prints it (``rpcspy.show.reply_lines``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rpcspy.commands import HelpFormatter

if TYPE_CHECKING:
    from rpcspy.capture import CallRecord
    from rpcspy.replay.send import Auth, Target
    from rpcspy.xmlrpc.messages import MethodCall

__all__ = ["add_parser", "run"]

#: ``rpcspy call``'s exit codes, for its help and its tests.
EXIT_FAULT = 1
EXIT_TRANSPORT = 3

_ARGS_HELP = (
    "arguments, one typed value each:\n"
    "  i4:5  int:5  i8:5  double:1.5  boolean:true  string:x  nil\n"
    "  base64:aGk=  @FILE (base64 of the file)  datetime:20261201T10:00:00\n"
    "  5 -> int, 1.5 -> double, true/false -> boolean, other words -> string\n"
    "  '{\"a\": 1}' '[1, 2]' -> struct, array (JSON; null is nil)\n"
    '  json:TEXT -> JSON whatever it holds (json:"5" is a string)\n'
    '  typed:TEXT -> rpcspy\'s typed JSON (\'typed:{"array": [{"i4": 1}]}\')\n'
    "  an argument starting with '-': put '--' before the arguments"
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``call`` to the ``rpcspy`` command line."""
    p = sub.add_parser(
        "call",
        help="make one XML-RPC call with typed arguments and print the typed answer",
        formatter_class=HelpFormatter,
        description=(
            "Call METHOD on the XML-RPC server at URL with typed arguments, and print the\n"
            "result or the fault with its wire types, as 'rpcspy show' does. A URL without a\n"
            "path calls /RPC2; user:password in the URL is sent as HTTP Basic auth.\n\n"
            + _ARGS_HELP
        ),
        epilog=(
            "examples:\n"
            "  rpcspy call http://127.0.0.1:8000 add 2 3\n"
            "  rpcspy call http://127.0.0.1:8000/RPC2 demo.echo i4:5 string:5 '{\"a\": [1, 2]}'\n"
            "  rpcspy call http://127.0.0.1:8000 demo.echo @photo.png --json | jq .result\n"
            "  rpcspy call https://127.0.0.1:8443 system.listMethods --cafile cert.pem\n"
            "  rpcspy call http://user:pass@127.0.0.1:8080 add 1 2\n"
            "  rpcspy call --proxy 127.0.0.1:8080 --cafile ~/.mitmproxy/mitmproxy-ca-cert.pem \\\n"
            "      https://api.example.com/RPC2 system.listMethods\n"
            "  rpcspy call http://127.0.0.1:8000 add 2 3 -w calls.jsonl --raw\n\n"
            "exit codes: 0 a result, 1 a fault, 2 bad usage, 3 no XML-RPC answer (connection,\n"
            "            TLS, HTTP status other than 200, or a body that does not decode), or\n"
            "            the -w file is not a capture or cannot be written"
        ),
    )
    p.add_argument(
        "url", metavar="URL", help="the server: http[s]://[user:pass@]host[:port][/path]"
    )
    p.add_argument("method", metavar="METHOD", help="the method name, e.g. system.listMethods")
    p.add_argument("args", metavar="ARG", nargs="*", help="typed arguments (see above)")
    out = p.add_argument_group("output").add_mutually_exclusive_group()
    out.add_argument(
        "--json",
        action="store_true",
        help='the call and its answer as typed JSON: {"call": ..., "result": {"i4": 5}} or '
        '{"call": ..., "fault": {...}}',
    )
    out.add_argument(
        "--raw", action="store_true", help="the response body's bytes as received, nothing else"
    )
    p.add_argument(
        "-w",
        "--write",
        type=Path,
        metavar="CAPTURE",
        help="also record the exchange in this capture file (appended; .jsonl or .jsonl.gz)",
    )
    g = p.add_argument_group("how the call is sent")
    g.add_argument(
        "--proxy",
        metavar="URL",
        help="through this HTTP proxy (http://[user:pass@]host:port; CONNECT for https URLs)",
    )
    g.add_argument(
        "--cafile",
        "--ca",
        type=Path,
        metavar="PEM",
        help="trust this CA for https (a self-signed server's cert, or mitmproxy's CA with "
        "--proxy)",
    )
    g.add_argument(
        "--insecure", action="store_true", help="do not verify the https server's certificate"
    )
    g.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="give up after this long (default: %(default)g)",
    )
    g.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="an extra request header (replaces one of the same name); repeatable",
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Send the call, print the answer; returns 0, 1 (fault) or 3 (no XML-RPC answer)."""
    from rpcspy.capture import CaptureFormatError, CaptureWriter
    from rpcspy.client import HttpProxy
    from rpcspy.exits import EXIT_INPUT, EXIT_USAGE, CliError
    from rpcspy.replay.send import Sender, TlsOptions
    from rpcspy.xmlrpc.encode import encode_request
    from rpcspy.xmlrpc.errors import CodecError

    target, auth = _target(args.url)
    call = _call(args.method, args.args)
    try:
        encode_request(call)
    except CodecError as exc:
        raise CliError(f"cannot encode the call: {exc.message}", EXIT_USAGE) from None
    if not args.timeout > 0:
        raise CliError("--timeout must be more than 0 seconds", EXIT_USAGE)
    if args.insecure and args.cafile is not None:
        raise CliError("--insecure and --cafile contradict each other", EXIT_USAGE)
    if args.cafile is not None and not args.cafile.is_file():
        raise CliError(f"no such CA file: {args.cafile}", EXIT_USAGE)
    proxy = None
    if args.proxy is not None:
        try:
            proxy = HttpProxy.parse(args.proxy)
        except ValueError as exc:
            raise CliError(f"--proxy: {exc}", EXIT_USAGE) from None
    headers = tuple(_header(h) for h in args.header)
    writer = None
    seq = 1
    if args.write is not None:
        try:
            seq = _next_seq(args.write)
            writer = CaptureWriter(args.write)
        except (OSError, CaptureFormatError) as exc:
            raise CliError(f"cannot write {args.write}: {exc}", EXIT_INPUT) from None
    try:
        with Sender(
            target,
            auth=auth,
            tls=TlsOptions(cafile=args.cafile, insecure=args.insecure),
            timeout=args.timeout,
            proxy=proxy,
            headers=headers,
            origin="call",
        ) as sender:
            record = sender.send(call, seq=seq)
        if writer is not None:
            writer.write(record)
    finally:
        if writer is not None:
            writer.close()
    return _report(record, args)


def _next_seq(path: Path) -> int:
    """The number (``#``) the call gets in the capture: one more than the records there."""
    from rpcspy.capture.reader import count_records_hint, read_capture

    if not path.exists() or path.stat().st_size == 0:
        return 1
    hint = count_records_hint(path)
    if hint is None:  # gzip: count by reading
        hint = sum(1 for _ in read_capture(path))
    return hint + 1


def _target(url: str) -> tuple[Target, Auth | None]:
    """The server and the Basic auth credentials the URL carries."""
    import urllib.parse

    from rpcspy.exits import EXIT_USAGE, CliError
    from rpcspy.replay.send import Auth, Target

    parts = urllib.parse.urlsplit(url.strip())
    auth = None
    if parts.username is not None or parts.password is not None:
        auth = Auth(
            urllib.parse.unquote(parts.username or ""), urllib.parse.unquote(parts.password or "")
        )
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    if not parts.path:
        parts = parts._replace(path="/RPC2")  # as xmlrpc.client.ServerProxy does
    try:
        return Target.parse(urllib.parse.urlunsplit(parts)), auth
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def _call(method: str, words: list[str]) -> MethodCall:
    """The call the command line asks for; a bad argument is a usage error naming it."""
    from rpcspy.exits import EXIT_USAGE, CliError
    from rpcspy.xmlrpc.args import parse_arg
    from rpcspy.xmlrpc.errors import BadValue
    from rpcspy.xmlrpc.messages import MethodCall

    if not method.strip():
        raise CliError("METHOD is empty", EXIT_USAGE)
    params = []
    for i, word in enumerate(words, 1):
        try:
            params.append(parse_arg(word, read_file=lambda name: Path(name).read_bytes()))
        except BadValue as exc:
            raise CliError(f"argument {i} ({word!r}): {exc.message}", EXIT_USAGE) from None
    return MethodCall(method, tuple(params))


def _header(text: str) -> tuple[str, str]:
    from rpcspy.exits import EXIT_USAGE, CliError

    name, colon, value = text.partition(":")
    name = name.strip()
    if (
        not colon
        or not name
        or any(c in name for c in " \t\r\n")
        or any(c in value for c in "\r\n")
    ):
        raise CliError(f"--header {text!r}: write it as 'Name: value'", EXIT_USAGE)
    return name, value.strip()


def _report(record: CallRecord, args: argparse.Namespace) -> int:
    """Print the answer as asked; the exit code says what came back."""
    import sys

    import orjson

    from rpcspy.show import reply_lines
    from rpcspy.term import Style, error
    from rpcspy.xmlrpc.jsonform import call_to_json, response_to_json
    from rpcspy.xmlrpc.messages import Fault

    response = record.response
    if args.raw and response is not None and response.body is not None:
        sys.stdout.buffer.write(response.body)
        sys.stdout.flush()
    reply = record.reply
    if record.error is not None:
        error(record.error)
        return EXIT_TRANSPORT
    if record.status != 200:
        error(f"the server answered HTTP {record.status}, not an XML-RPC answer")
        return EXIT_TRANSPORT
    if reply is None:
        problems = "; ".join(p.message for p in record.problems if p.where == "response")
        error("the answer is not XML-RPC" + (f": {problems}" if problems else ""))
        return EXIT_TRANSPORT
    if args.json:
        data = {
            "call": call_to_json(record.call) if record.call is not None else None,
            **response_to_json(reply),
            "findings": [f.text for f in record.findings],
            "duration_ms": record.duration_ms,
        }
        sys.stdout.write(orjson.dumps(data).decode() + "\n")
    elif not args.raw:
        style = Style(sys.stdout)
        for line in reply_lines(record, style):
            sys.stdout.write(line + "\n")
    return EXIT_FAULT if isinstance(reply, Fault) else 0
