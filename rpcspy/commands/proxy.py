"""``rpcspy proxy``: the recording proxy on the command line (machinery imported lazily)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rpcspy.commands.options import LISTEN_HELP, add_listen_options

if TYPE_CHECKING:
    from rpcspy.capture.redact import Redaction


DESCRIPTION = """\
Run a man-in-the-middle proxy that decodes every XML-RPC call passing through it, prints one
line per call and records each call to a capture file (-w). Every body byte is forwarded as it
came: what cannot be decoded is forwarded byte for byte and recorded with the reason, and a body
over --max-body streams through without being held. In reverse mode mitmproxy rewrites Host to
the server's address, answers Expect: 100-continue itself and re-chunks chunked bodies (see
docs/proxy.md, "What reaches the other side").

Reverse mode (the default): clients talk to the proxy as if it were the server, and the proxy
forwards to TARGET. Regular mode (--mode regular): clients use the proxy as their HTTP(S)
proxy (HTTP_PROXY / HTTPS_PROXY); for HTTPS they must trust mitmproxy's CA certificate
(see docs/proxy.md: it lives in --confdir, by default ~/.mitmproxy/mitmproxy-ca-cert.pem).

ONC RPC and RPyC (--protocol oncrpc|rpyc): the proxy relays a TCP port (TARGET tcp://HOST:PORT;
for ONC RPC also a UDP port, udp://HOST:PORT) and reads the calls crossing it: ONC RPC calls
paired with their replies by xid, typed by an rpcgen .x interface (--idl; the portmapper,
program 100000, is built in, so rpcinfo's calls need none; without one a program's arguments
are shown as hex with their numbers); RPyC (classic mode) as the remote operations a session
performs (modules.os.getcwd() -> '/srv'). The bytes go on exactly as they came, garbage included;
what does not decode is recorded with the reason.
"""

EPILOG = f"""\
examples:
  rpcspy proxy http://127.0.0.1:8000 --listen 127.0.0.1:8080 -w session.jsonl
  rpcspy proxy http://127.0.0.1:8000 --port 8080 -w session.jsonl   # the same
  rpcspy proxy https://127.0.0.1:8443 --upstream-ca server.pem -w tls.jsonl
  rpcspy proxy --mode regular --listen 8080 -w all.jsonl --watch '*/RPC2'
  rpcspy proxy http://127.0.0.1:8000 --tui        # watch the calls live in the terminal UI
  rpcspy proxy http://127.0.0.1:8000 -w s.jsonl --ready-file proxy.url &
  rpcspy wait --file proxy.url                     # returns once the proxy accepts calls

  ONC RPC and RPyC:
  rpcspy proxy --protocol oncrpc --target tcp://127.0.0.1:2049 --listen 127.0.0.1:3049 \
      --idl examples/rpc_example.x -w onc.jsonl    # the rpcgen client at port 3049, TCP
  rpcspy proxy --protocol oncrpc --target udp://127.0.0.1:2049 --listen 3049 -w onc.jsonl
  rpcspy proxy --protocol oncrpc --target tcp://127.0.0.1:111 --listen 127.0.0.2:111 \
      -w rpcinfo.jsonl       # as root: rpcinfo -p 127.0.0.2 decodes with no .x
  rpcspy proxy --protocol rpyc --target tcp://127.0.0.1:18812 --listen 18813 -w rpyc.jsonl
      # then rpyc.classic.connect("127.0.0.1", port=18813)

{LISTEN_HELP}

redaction: the capture and the live TUI keep secrets as <redacted> (names kept, values gone;
  the record says "redacted": true); what is forwarded is never changed. By default:
  headers  Authorization, Proxy-Authorization, Cookie, Set-Cookie (names and scheme kept),
           X-Api-Key, Api-Key, X-Goog-Api-Key, X-Auth-Token, X-Access-Token, Private-Token,
           X-Vault-Token, X-Amz-Security-Token, X-Csrf-Token, X-Xsrf-Token
  query    access_token, refresh_token, id_token, client_secret, token, auth, auth_token,
           api_key, apikey, key, password, passwd, secret, signature, sig, X-Amz-Signature,
           X-Amz-Security-Token, X-Goog-Signature
  (also in the URL of a Referer, Location or Content-Location header). --redact-header and
  --redact-query add names, --keep-header and --keep-query take default ones out, --no-redact
  turns it all off. Names are case-insensitive. Bodies are never redacted.

exit codes: 0 stopped cleanly (Ctrl-C or SIGTERM; the capture is complete),
            1 the proxy could not start (e.g. its address is in use), 2 bad usage,
            4 some calls were forwarded but could not be written to the capture (a full disk:
              said once on stderr; every call counted as recorded reads back)
"""


__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``proxy`` to the ``rpcspy`` command line."""
    p = sub.add_parser(
        "proxy",
        help="record every XML-RPC (or ONC RPC, RPyC) call between clients and a server",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "target",
        nargs="?",
        help="the server, e.g. http://127.0.0.1:8000 (reverse mode; clients keep their path); "
        "with --protocol oncrpc|rpyc: tcp://HOST:PORT (oncrpc also udp://HOST:PORT)",
    )
    p.add_argument("--target", dest="target_flag", metavar="URL", help="same as TARGET")
    p.add_argument(
        "--protocol",
        choices=("xmlrpc", "oncrpc", "rpyc"),
        default="xmlrpc",
        help="what the clients speak: XML-RPC over HTTP (the default), ONC RPC (Sun RPC) over "
        "TCP or UDP, or RPyC over TCP",
    )
    p.add_argument(
        "--idl",
        type=Path,
        metavar="FILE.x",
        help="with --protocol oncrpc: an rpcgen .x interface that types the calls' arguments "
        "and results (e.g. examples/rpc_example.x)",
    )
    p.add_argument(
        "--mode",
        choices=("reverse", "regular"),
        default="reverse",
        help="reverse (clients point at the proxy) or regular (clients set HTTP_PROXY)",
    )
    p.add_argument(
        "-w", "--write", type=Path, metavar="FILE", help="capture file (.jsonl or .jsonl.gz)"
    )
    p.add_argument(
        "--watch",
        action="append",
        default=[],
        metavar="GLOB",
        help="record only exchanges whose host/path match (e.g. '*/RPC2'); a glob with a '/' "
        "also makes its paths watched endpoints, where any POST is recorded; repeatable",
    )
    p.add_argument(
        "--no-redact",
        action="store_true",
        help="redact nothing: keep every header and query value in the capture and the TUI",
    )
    p.add_argument(
        "--redact-header",
        action="append",
        default=[],
        metavar="NAME",
        help="also redact this header's value (repeatable; see 'redaction' below)",
    )
    p.add_argument(
        "--keep-header",
        action="append",
        default=[],
        metavar="NAME",
        help="keep this header's value though it is redacted by default (repeatable)",
    )
    p.add_argument(
        "--redact-query",
        action="append",
        default=[],
        metavar="NAME",
        help="also redact this query parameter's value in the URL (repeatable)",
    )
    p.add_argument(
        "--keep-query",
        action="append",
        default=[],
        metavar="NAME",
        help="keep this query parameter's value though it is redacted by default (repeatable)",
    )
    p.add_argument(
        "--upstream-ca", type=Path, metavar="PEM", help="trust this CA for https servers"
    )
    p.add_argument(
        "--insecure", action="store_true", help="do not verify the https TARGET's certificate"
    )
    p.add_argument("--confdir", type=Path, help="mitmproxy's configuration and CA directory")
    p.add_argument(
        "--max-body",
        default="16m",
        metavar="SIZE",
        help="bodies larger than this are streamed through, neither held, decoded nor stored; "
        "the call is recorded as too-large (default: %(default)s)",
    )
    p.add_argument("--tui", action="store_true", help="show the calls live in the terminal UI")
    p.add_argument(
        "--api",
        type=Path,
        metavar="FILE",
        help="with --tui: an API description for the TUI's API pane (as rpcspy tui --api)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no per-call lines")
    add_listen_options(p, default_port=8080)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the proxy until Ctrl-C/SIGTERM; returns the exit code."""
    from rpcspy.commands.lifecycle import ReadyFile, check_ready_file, listen_error
    from rpcspy.commands.options import listen_address
    from rpcspy.exits import EXIT_FAILURE, EXIT_INPUT, EXIT_USAGE, CliError
    from rpcspy.proxy import ListenError, ProxyConfig, ProxyError, parse_size, run_proxy

    if args.target and args.target_flag and args.target != args.target_flag:
        raise CliError("give the target once (TARGET or --target)", EXIT_USAGE)
    target = args.target or args.target_flag
    _check_protocol(args, target)
    if args.mode == "reverse" and not target:
        raise CliError("reverse mode needs a TARGET (e.g. http://127.0.0.1:8000)", EXIT_USAGE)
    if args.mode == "regular" and target:
        raise CliError("regular mode takes no TARGET: clients choose the server", EXIT_USAGE)
    host, port = listen_address(args)
    check_ready_file(args.ready_file)
    try:
        max_body = parse_size(args.max_body)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    if args.upstream_ca is not None and not args.upstream_ca.is_file():
        raise CliError(f"no such file: {args.upstream_ca}", EXIT_INPUT)
    if args.write is not None and args.write.is_dir():
        raise CliError(f"{args.write} is a directory, not a capture file", EXIT_USAGE)
    redaction = _redaction(args)
    api = None
    if args.api is not None:
        if not args.tui:
            raise CliError("--api is for the terminal UI: add --tui", EXIT_USAGE)
        from rpcspy.inputs import load_api

        api = load_api(args.api, "--api")
    config = ProxyConfig(
        target=target,
        mode=args.mode,
        listen_host=host,
        listen_port=port,
        capture=args.write,
        redact=not args.no_redact,
        redaction=redaction,
        upstream_verify=not args.insecure,
        upstream_cafile=args.upstream_ca,
        confdir=args.confdir,
        watch=tuple(args.watch),
        max_body=max_body,
        quiet=args.quiet,
        protocol=args.protocol,
        idl=args.idl,
    )
    with ReadyFile(args.ready_file) as ready:
        try:
            if args.tui:
                from rpcspy.live import run_live

                return run_live(
                    config,
                    client=ready.write if args.ready_file else None,
                    api=api,
                    api_label=args.api.name if args.api is not None else None,
                )
            return run_proxy(config, on_ready=lambda runner: ready.write(runner.url))
        except ListenError as exc:
            raise listen_error(exc.host, exc.port, exc.reason) from exc
        except ProxyError as exc:
            raise CliError(str(exc), EXIT_FAILURE) from exc


def _check_protocol(args: argparse.Namespace, target: str | None) -> None:
    """What goes with --protocol oncrpc|rpyc, and the .x file read once (CliError if not)."""
    from rpcspy.exits import EXIT_USAGE, CliError

    if args.protocol == "xmlrpc":
        if args.idl is not None:
            raise CliError("--idl is an ONC RPC interface: add --protocol oncrpc", EXIT_USAGE)
        return
    if args.mode != "reverse":
        raise CliError(f"--protocol {args.protocol} works in reverse mode only", EXIT_USAGE)
    transports = ("tcp", "udp") if args.protocol == "oncrpc" else ("tcp",)
    schemes = " or ".join(f"{t}://HOST:PORT" for t in transports)
    if not target or "://" not in target or target.split("://", 1)[0] not in transports:
        raise CliError(f"--protocol {args.protocol} needs a TARGET {schemes}", EXIT_USAGE)
    if args.watch:
        raise CliError("--watch picks HTTP exchanges; it does not go with --protocol", EXIT_USAGE)
    if args.idl is None:
        return
    if args.protocol != "oncrpc":
        raise CliError("--idl is an ONC RPC interface: it goes with --protocol oncrpc", EXIT_USAGE)
    from rpcspy.inputs import load_idl

    load_idl(args.idl)  # checked here, with a clear error; the proxy reads it again


def _redaction(args: argparse.Namespace) -> Redaction:
    """What ``--redact-*`` / ``--keep-*`` make of the default lists (CliError when at odds)."""
    from rpcspy.capture.redact import Redaction
    from rpcspy.exits import EXIT_USAGE, CliError

    named = args.redact_header + args.keep_header + args.redact_query + args.keep_query
    if args.no_redact and named:
        raise CliError("--no-redact redacts nothing: it takes no --redact-*/--keep-*", EXIT_USAGE)
    try:
        return Redaction.configured(
            redact_headers=args.redact_header,
            keep_headers=args.keep_header,
            redact_query=args.redact_query,
            keep_query=args.keep_query,
        )
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
