"""``rpcspy wait``: block until servers accept connections, for scripts (standard library only)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "run"]

DESCRIPTION = """\
Wait until each ADDRESS accepts TCP connections, and each --file exists and names an address
that does, then exit 0; exit 1 when --timeout passes first, or as soon as a --pid process is
gone (the server it started died, e.g. on a busy port). Nothing is sent: a connection is
opened and closed.

ADDRESS is a URL (http://127.0.0.1:8000/RPC2), HOST:PORT or PORT (on 127.0.0.1). A --file is
what 'rpcspy serve|proxy|mock --ready-file PATH' writes once it listens: the URL, one line;
its URL is printed on stdout once ready (so URL=$(rpcspy wait --file PATH) works), and a file
left behind by a killed run does not count until its address answers. A --file is the surer
test: only the server that wrote it is behind it, while an ADDRESS may be answered by another
process already listening there."""

EPILOG = """\
examples:
  rpcspy wait http://127.0.0.1:8000/RPC2 127.0.0.1:8080 --timeout 20
  rpcspy serve --port 0 -q --ready-file server.url & SERVE=$!
  SERVER=$(rpcspy wait --file server.url --pid $SERVE) || exit 1
  rpcspy proxy "$SERVER" --listen 8080 --ready-file proxy.url & PROXY=$!
  rpcspy wait --file proxy.url --pid $PROXY && python3 my_client.py
  kill $SERVE $PROXY      # both stop cleanly on SIGTERM (or SIGINT)

exit codes: 0 everything is ready, 1 timed out or a --pid process is gone, 2 bad usage,
            130 interrupted
"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``wait`` to the ``rpcspy`` command line."""
    p = sub.add_parser(
        "wait",
        help="wait until servers accept connections (for scripts)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "address", nargs="*", metavar="ADDRESS", help="URL, HOST:PORT or PORT to wait for"
    )
    p.add_argument(
        "-f",
        "--file",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="a --ready-file to wait for; its URL is printed once ready; repeatable",
    )
    p.add_argument(
        "-t",
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="give up after this long (default: %(default)s)",
    )
    p.add_argument(
        "--pid",
        action="append",
        default=[],
        type=int,
        metavar="PID",
        help="fail at once if this process exits first (e.g. $! of the server); repeatable",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=run)
    return p


def address_of(text: str) -> tuple[str, int]:
    """(host, port) of a URL, ``HOST:PORT`` or ``PORT``; raises ValueError."""
    import urllib.parse

    from rpcspy.commands.options import parse_listen

    value = text.strip()
    if "://" in value:
        url = urllib.parse.urlsplit(value)
        if not url.hostname:
            raise ValueError(f"no host in {text!r}")
        default = {"http": 80, "https": 443}.get(url.scheme)
        port = url.port if url.port is not None else default
        if port is None:
            raise ValueError(f"no port in {text!r}")
        return url.hostname, port
    host, port = parse_listen(value)
    if port == 0:
        raise ValueError(f"port 0 is not an address to wait for: {text!r}")
    return host, port


def _accepts(address: tuple[str, int]) -> bool:
    import socket

    host = "127.0.0.1" if address[0] in ("", "0.0.0.0") else address[0]
    host = "::1" if host == "::" else host
    try:
        with socket.create_connection((host, address[1]), timeout=1.0):
            return True
    except OSError:
        return False


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) is gone too
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rpartition(")")[2].split()[:1] != ["Z"]
    except OSError:
        return True


def _read_url(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    return line or None


def run(args: argparse.Namespace) -> int:
    """Poll until ready, a --pid dies or the timeout passes; returns the exit code."""
    import sys
    import time

    from rpcspy.exits import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, CliError

    if not args.address and not args.file:
        raise CliError("nothing to wait for: give an ADDRESS or --file PATH", EXIT_USAGE)
    if not args.timeout > 0:
        raise CliError("--timeout must be more than 0 seconds", EXIT_USAGE)
    addresses: dict[str, tuple[str, int]] = {}
    for text in args.address:
        try:
            addresses[text] = address_of(text)
        except ValueError as exc:
            raise CliError(f"not an address: {exc}", EXIT_USAGE) from None
    files: dict[Path, str | None] = dict.fromkeys(args.file)
    deadline = time.monotonic() + args.timeout
    while True:
        for text, address in list(addresses.items()):
            if _accepts(address):
                del addresses[text]
        for path in [p for p, ready in files.items() if ready is None]:
            url = _read_url(path)
            if url is None:
                continue
            try:
                address = address_of(url)
            except ValueError:
                continue  # a half-written file from elsewhere: look again
            if _accepts(address):
                files[path] = url
        if not addresses and all(files.values()):
            break
        for pid in args.pid:
            if not _alive(pid):
                raise CliError(f"process {pid} exited before it was ready", EXIT_FAILURE)
        if time.monotonic() >= deadline:
            waiting = list(addresses) + [str(p) for p, ready in files.items() if ready is None]
            raise CliError(
                f"not ready after {args.timeout:g} s: {', '.join(waiting)}", EXIT_FAILURE
            )
        time.sleep(0.1)
    if not args.quiet:
        for url in files.values():
            print(url)
        sys.stdout.flush()
    return EXIT_OK
