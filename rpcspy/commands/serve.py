"""``rpcspy serve``: the demo XML-RPC server on the command line (imported in ``run``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rpcspy.commands import HelpFormatter
from rpcspy.commands.options import (
    LISTEN_HELP,
    add_limit_options,
    add_listen_options,
    http_limits,
)

__all__ = ["add_parser", "run"]

#: For ``rpcspy serve --help``: what the tutorials' clients find here, and where they differ.
SERVE_HELP_NOTE = (
    "The tutorials' servers (Python's xmlrpc.server walkthroughs) in one: their clients run\n"
    "unchanged but for host and port (they use localhost:8000 or :9000: pass --port).\n"
    "File methods (list_contents, list, dir, dir.list, dir.entries, dir.create, dir.remove)\n"
    "work in a sandbox whose root plays '/': a fresh temp directory holding an empty tmp/\n"
    "(or --root DIR, used as it is), so '/tmp/EXAMPLE' never touches the real /tmp.\n"
    "Where tutorials disagree the richer server is served: list_contents stays although\n"
    "xmlrpc_alternate_name.py renamed it to dir (its client prints a listing, not ERROR),\n"
    "and system.listMethods lists every method here, not one tutorial's.\n"
    "The Basic auth tutorial's server is --user user --password pass (its client puts them in\n"
    "the URL); the TLS one's is --tls --cert cert.pem (key and certificate in one file)."
)

#: For ``rpcspy serve --root``'s help.
SERVE_ROOT_HELP = (
    "directory playing '/' for the file methods, used as it is "
    "(default: a fresh temp dir holding an empty tmp/, removed on exit)"
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``serve`` to the ``rpcspy`` command line."""
    p = sub.add_parser(
        "serve",
        help="run the demo XML-RPC server",
        formatter_class=HelpFormatter,
        description=(
            "Run the demo XML-RPC server: introspection, multicall, Basic auth, TLS, dotted and\n"
            "arbitrary method names, prefix dispatch, allow_none, the validator1 suite and\n"
            "misbehaviour on demand (demo.fault, demo.slow, demo.large, demo.random, demo.crash).\n"
            "It serves the same methods on /RPC2 and /."
        ),
        epilog=(
            SERVE_HELP_NOTE + "\n\n"
            "examples:\n"
            "  rpcspy serve --port 8000\n"
            "  rpcspy serve --port 9000                     # the tutorials' clients\n"
            "  rpcspy serve --port 8080 --user user --password pass\n"
            "  rpcspy serve --port 9001 --tls --cert cert.pem\n"
            "  rpcspy serve --user alice --password secret --tls\n"
            "  rpcspy serve --listen 0 --ready-file server.url &   # any free port, URL in a file\n"
            "  rpcspy wait --file server.url                        # prints the URL once ready\n"
            '  python3 -c "import xmlrpc.client as x; '
            "print(x.ServerProxy('http://127.0.0.1:8000/RPC2').system.listMethods())\"\n\n"
            + LISTEN_HELP
            + "\n\nexit codes: 0 stopped cleanly (Ctrl-C or SIGTERM), 1 could not listen, "
            "2 bad usage,\n            3 unreadable certificate, key or --root"
        ),
    )
    add_listen_options(p, default_port=8000)
    p.add_argument("--root", type=Path, help=SERVE_ROOT_HELP)
    p.add_argument("--user", help="require HTTP Basic auth with this user name")
    p.add_argument(
        "--password",
        help="password for --user (default: $RPCSPY_PASSWORD); prefer the variable, "
        "the command line is visible to other users",
    )
    p.add_argument(
        "--tls", action="store_true", help="serve HTTPS (self-signed cert unless --cert)"
    )
    p.add_argument("--cert", type=Path, help="PEM certificate for --tls")
    p.add_argument("--key", type=Path, help="PEM private key for --tls (default: in --cert)")
    p.add_argument(
        "--variant",
        type=int,
        choices=(1, 2),
        default=1,
        help="2 changes a few results and the API on purpose, to try replay, diff and api diff"
        " (default: 1)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="do not log each request")
    add_limit_options(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; returns the exit code."""
    import os
    import ssl
    import sys

    from rpcspy.commands.lifecycle import (
        ReadyFile,
        StopSignals,
        check_ready_file,
        listen_error,
        reason_of,
    )
    from rpcspy.commands.options import listen_address
    from rpcspy.exits import EXIT_INPUT, EXIT_OK, EXIT_USAGE, CliError
    from rpcspy.server import DemoServer, ServerConfig

    host, port = listen_address(args)
    check_ready_file(args.ready_file)
    password = args.password or os.environ.get("RPCSPY_PASSWORD")
    if args.user and not password:
        raise CliError("--user needs a password: --password or $RPCSPY_PASSWORD", EXIT_USAGE)
    if (args.cert or args.key) and not args.tls:
        raise CliError("--cert/--key only make sense with --tls", EXIT_USAGE)
    for f in (args.cert, args.key):
        if f is not None and not f.is_file():
            raise CliError(f"no such file: {f}", EXIT_INPUT)
    if args.root is not None and not args.root.is_dir():
        raise CliError(f"--root is not a directory: {args.root}", EXIT_INPUT)
    config = ServerConfig(
        host=host,
        port=port,
        root=args.root,
        user=args.user,
        password=password,
        tls=args.tls,
        certfile=args.cert,
        keyfile=args.key,
        variant=args.variant,
        quiet=args.quiet,
        limits=http_limits(args),
    )
    # Signals are ours from the start: one arriving while the server starts stops it at once.
    with StopSignals() as stop:
        try:
            server = DemoServer(config)
        except ssl.SSLError as exc:
            raise CliError(
                f"cannot use the TLS certificate or key: {exc.reason or exc}", EXIT_INPUT
            ) from exc
        except OSError as exc:
            raise listen_error(host, port, reason_of(exc)) from exc
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from exc
        with server, ReadyFile(args.ready_file) as ready:
            # The socket listens since the constructor; from here it is also served.
            print(f"rpcspy demo server on {server.url} (and {server.base_url}/)", file=sys.stderr)
            if server.cafile:
                print(f"  self-signed certificate: {server.cafile}", file=sys.stderr)
            if args.user:
                print(f"  Basic auth: user {args.user!r}", file=sys.stderr)
            print("  Ctrl-C to stop", file=sys.stderr, flush=True)
            ready.write(server.url)
            received = stop.wait()
        name = received.name if received is not None else "a stop"
        print(f"rpcspy demo server stopped ({name})", file=sys.stderr)
    return EXIT_OK
