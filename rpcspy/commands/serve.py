"""``rpcspy serve``: the demo XML-RPC server on the command line (imported in ``run``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rpcspy.commands import HelpFormatter
from rpcspy.commands.options import (
    LISTEN_HELP,
    add_limit_options,
    add_listen_options,
    http_limits,
)

if TYPE_CHECKING:
    from rpcspy.server.oncrpc import OncRpcServer, Portmapper

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


#: For ``rpcspy serve --help``: the ONC RPC server.
ONCRPC_HELP_NOTE = (
    "--protocol oncrpc serves the ONC RPC (Sun RPC) example program of the tutorial, whose\n"
    "interface --idl names (examples/rpc_example.x: ECHO a string, ADD an intpair, LOOKUP a\n"
    "person as a union, AREA of a shape union), over TCP (record marking) and UDP on one port:\n"
    "by default a free one, registered with the local portmapper (rpcbind, PMAPPROC_SET) when\n"
    "one runs and unregistered on exit, so 'rpcinfo -p' lists it and clients find it by\n"
    "program number. It answers as the rpcgen C server does: PROG_MISMATCH, PROC_UNAVAIL,\n"
    "GARBAGE_ARGS. The rpcgen C client (make -C examples) runs against it unchanged:\n"
    "  build/rpc_example_client 127.0.0.1 0 tcp      # port 0: ask the portmapper\n"
    "--ready-file gets tcp://HOST:PORT."
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
            "  rpcspy serve --protocol oncrpc --idl examples/rpc_example.x   # ONC RPC, see below\n"
            "  rpcspy serve --protocol oncrpc --idl examples/rpc_example.x --port 9099 \\\n"
            "      --no-register\n"
            '  python3 -c "import xmlrpc.client as x; '
            "print(x.ServerProxy('http://127.0.0.1:8000/RPC2').system.listMethods())\"\n\n"
            + LISTEN_HELP
            + "\n\n"
            + ONCRPC_HELP_NOTE
            + "\n\nexit codes: 0 stopped cleanly (Ctrl-C or SIGTERM), 1 could not listen, "
            "2 bad usage,\n            3 unreadable certificate, key or --root"
        ),
    )
    add_listen_options(p, default_port=8000)
    g = p.add_argument_group("ONC RPC")
    g.add_argument(
        "--protocol",
        choices=("xmlrpc", "oncrpc"),
        default="xmlrpc",
        help="what to serve: the XML-RPC demo server, or the ONC RPC example program "
        "(default: xmlrpc)",
    )
    g.add_argument(
        "--idl",
        type=Path,
        metavar="FILE.x",
        help="the rpcgen interface of the ONC RPC program (examples/rpc_example.x)",
    )
    g.add_argument(
        "--no-register",
        action="store_true",
        help="do not register with the portmapper (default: register when one runs; the "
        "default port is then 0, a free one)",
    )
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

    if args.protocol == "oncrpc":
        return _run_oncrpc(args)
    if args.idl is not None or args.no_register:
        raise CliError("--idl and --no-register go with --protocol oncrpc", EXIT_USAGE)
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


def _run_oncrpc(args: argparse.Namespace) -> int:
    """``serve --protocol oncrpc``: the example program until a stop signal."""
    import contextlib
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
    from rpcspy.inputs import load_idl
    from rpcspy.server.oncrpc import OncRpcServer, Portmapper, responder
    from rpcspy.server.rpc_example import EXAMPLE_PROCEDURES

    if args.idl is None:
        raise CliError("--protocol oncrpc needs --idl FILE.x (examples/rpc_example.x)", EXIT_USAGE)
    xmlrpc_only = [
        flag
        for flag, given in (
            ("--root", args.root is not None),
            ("--user", args.user is not None),
            ("--tls", args.tls),
            ("--variant", args.variant != 1),
        )
        if given
    ]
    if xmlrpc_only:
        raise CliError(f"{', '.join(xmlrpc_only)}: XML-RPC only, not --protocol oncrpc", EXIT_USAGE)
    interface = load_idl(args.idl)
    if not interface.programs:
        raise CliError(f"--idl {args.idl} defines no program to serve", EXIT_INPUT)
    implemented = [
        proc.name
        for prog in interface.programs.values()
        for vers in prog.versions.values()
        for proc in vers.procedures.values()
        if proc.name in EXAMPLE_PROCEDURES
    ]
    if not implemented:
        raise CliError(
            f"--idl {args.idl}: no procedure this server implements "
            f"({', '.join(EXAMPLE_PROCEDURES)}); serve examples/rpc_example.x",
            EXIT_INPUT,
        )
    register = not args.no_register
    if args.listen is None and args.port is None:
        args.listen_default = (args.listen_default[0], 0 if register else 8000)
    host, port = listen_address(args)
    check_ready_file(args.ready_file)
    with StopSignals() as stop:
        respond = responder(
            interface,
            EXAMPLE_PROCEDURES,
            on_error=lambda text: print(f"error in {text}", file=sys.stderr, flush=True),
        )
        try:
            server = OncRpcServer(respond, host=host, port=port, quiet=args.quiet)
        except OSError as exc:
            raise listen_error(host, port, reason_of(exc)) from exc
        registered: list[tuple[int, int, str]] = []
        portmapper = Portmapper()
        with server, ReadyFile(args.ready_file) as ready:
            names = ", ".join(
                f"{p.name} ({p.number:#x}) v{','.join(map(str, sorted(p.versions)))}"
                for p in interface.programs.values()
            )
            print(
                f"rpcspy ONC RPC server on tcp and udp {server.address}: {names}", file=sys.stderr
            )
            if register:
                served = [(p.number, v) for p in interface.programs.values() for v in p.versions]
                registered = _register(server, served, portmapper)
            print("  Ctrl-C to stop", file=sys.stderr, flush=True)
            ready.write(f"tcp://{server.address}")
            received = stop.wait()
            for prog, vers in sorted({(p, v) for p, v, _ in registered}):
                with contextlib.suppress(OSError):
                    portmapper.unregister(prog, vers, "tcp")
        name = received.name if received is not None else "a stop"
        what = " and unregistered" if registered else ""
        print(f"rpcspy ONC RPC server stopped{what} ({name})", file=sys.stderr)
    return EXIT_OK


def _register(
    server: OncRpcServer, served: list[tuple[int, int]], portmapper: Portmapper
) -> list[tuple[int, int, str]]:
    """Register every served version on both transports; says on stderr what happened."""
    import sys

    done: list[tuple[int, int, str]] = []
    try:
        for prog, vers in served:
            # Mappings left by a server that died are taken back first, as rpcgen's server
            # does (version 2's UNSET takes back every transport of the version at once).
            portmapper.unregister(prog, vers, "tcp")
            for transport in ("tcp", "udp"):
                if portmapper.register(prog, vers, transport, server.port):
                    done.append((prog, vers, transport))
                else:
                    print(
                        f"  the portmapper refused {prog:#x} v{vers} {transport}",
                        file=sys.stderr,
                    )
    except OSError as exc:
        reason = str(exc) or type(exc).__name__
        print(
            f"  no portmapper on 127.0.0.1:111 ({reason}): not registered; clients give the "
            f"port ({server.port})",
            file=sys.stderr,
        )
        return done
    if done:
        print(
            f"  registered with the portmapper: {len(done)} mappings (rpcinfo -p lists them)",
            file=sys.stderr,
        )
    return done
