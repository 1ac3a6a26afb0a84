"""Shared by the replay and mock tests: recording real stdlib-client sessions, running the CLI.

``RecordingTransport`` is the stdlib ``xmlrpc.client`` transport with one change: it keeps the
raw bytes of every exchange and turns them into ``CallRecord``s with ``build_record``, so a test
capture holds exactly what a plain Python client and the demo server put on the wire.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import xmlrpc.client
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rpcspy.capture import CallRecord, CaptureWriter, HttpMessage, build_record, read_capture
from tests.conftest import REPO

VENV_BIN = REPO / ".venv" / "bin"


class RecordingTransport(xmlrpc.client.Transport):
    """A stdlib transport that records each exchange (successful or not) as a ``CallRecord``."""

    def __init__(self, records: list[CallRecord], *, scheme: str = "http") -> None:
        super().__init__(use_builtin_types=True)
        self.records = records
        self.scheme = scheme

    def _record(
        self,
        started: float,
        host: str,
        handler: str,
        body: bytes,
        status: int | None,
        headers: Sequence[tuple[str, str]],
        response: bytes | None,
        error: str | None = None,
    ) -> None:
        chost, extra, _ = self.get_host_info(host)
        name, _, port = chost.rpartition(":") if ":" in chost else (chost, "", "")
        auth = tuple((str(k), str(v)) for k, v in (extra or []))
        self.records.append(
            build_record(
                HttpMessage(
                    (
                        ("Host", chost),
                        *auth,
                        ("User-Agent", self.user_agent),
                        ("Accept-Encoding", "gzip"),
                        ("Content-Type", "text/xml"),
                        ("Content-Length", str(len(body))),
                    ),
                    body,
                ),
                HttpMessage(tuple(headers), response),
                started=started,
                ended=time.time() if error is None else None,
                client=None,
                server=(name, int(port or 80)),
                scheme=self.scheme,
                host=name,
                port=int(port or 80),
                path=handler,
                status=status,
                error=error,
                seq=len(self.records) + 1,
            )
        )

    def single_request(
        self, host: Any, handler: str, request_body: bytes, verbose: bool = False
    ) -> Any:
        started = time.time()
        try:
            conn = self.send_request(host, handler, request_body, verbose)
            resp = conn.getresponse()
            data = resp.read()
        except Exception as exc:
            self.close()
            self._record(
                started,
                host,
                handler,
                request_body,
                None,
                (),
                None,
                error=str(exc) or type(exc).__name__,
            )
            raise
        headers = resp.getheaders()
        self._record(started, host, handler, request_body, resp.status, headers, data)
        if resp.status != 200:
            self.close()
            raise xmlrpc.client.ProtocolError(
                host + handler, resp.status, resp.reason, dict(headers)
            )
        if resp.getheader("Content-Encoding", "") == "gzip":
            data = xmlrpc.client.gzip_decode(data)
        parser, unmarshaller = self.getparser()
        parser.feed(data)
        parser.close()
        return unmarshaller.close()


def client(url: str, records: list[CallRecord]) -> xmlrpc.client.ServerProxy:
    """A stdlib ServerProxy recording into ``records``."""
    return xmlrpc.client.ServerProxy(
        url, transport=RecordingTransport(records), allow_none=True, use_builtin_types=True
    )


def attempt(call: Callable[[], object]) -> object:
    """Run one client call; a fault or a transport error is a result too."""
    try:
        return call()
    except xmlrpc.client.Fault as fault:
        return fault
    except (OSError, xmlrpc.client.ProtocolError) as exc:
        return exc


def write_capture(path: Path, records: Sequence[CallRecord]) -> Path:
    """Write records as a capture file (a fresh file)."""
    with CaptureWriter(path, append=False) as writer:
        for record in records:
            writer.write(record)
    return path


def load(path: Path) -> list[CallRecord]:
    """Every record of a capture."""
    with read_capture(path) as reader:
        return list(reader)


def standard_session(proxy: xmlrpc.client.ServerProxy) -> None:
    """The calls the end-to-end tests record: the four results variant 2 changes, a noisy
    method, a fault, and a few calls that stay the same."""
    attempt(lambda: proxy.demo.version())
    attempt(lambda: proxy.add(2, 3))
    attempt(lambda: proxy.echo("hello"))
    attempt(lambda: proxy.getData())
    attempt(lambda: proxy.uname())
    attempt(lambda: proxy.demo.random())
    attempt(lambda: proxy.demo.fault(42, "boom"))
    attempt(lambda: proxy.sample.sumAndDifference(5, 3))
    attempt(lambda: proxy.demo.echo({"b": [1, 2.5, None], "a": "x"}))


@dataclass
class CliResult:
    """What a CLI run left behind."""

    code: int
    stdout: str
    stderr: str


def _registered() -> bool:
    from rpcspy.cli import build_parser

    parser = build_parser()
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        choices = getattr(action, "choices", None) or {}
        if "replay" in choices and "mock" in choices and "diff" in choices:
            return True
    return False


# Until the lead registers the commands in rpcspy/cli.py, a real subprocess runs them through a
# parser of their own with the same error handling as ``rpcspy.cli.main``.
_DRIVER = """
import argparse, sys
from rpcspy.exits import CliError
from rpcspy.term import error
from rpcspy.commands.replay import add_parser as add_replay
from rpcspy.commands.diff import add_parser as add_diff
from rpcspy.commands.mock import add_parser as add_mock
parser = argparse.ArgumentParser(prog="rpcspy")
sub = parser.add_subparsers(dest="command", required=True)
add_replay(sub)
add_diff(sub)
add_mock(sub)
args = parser.parse_args()
try:
    code = args.func(args)
except CliError as exc:
    error(str(exc))
    code = exc.code
except KeyboardInterrupt:
    code = 130
sys.exit(code)
"""


def rpcspy_command() -> list[str]:
    """The argv prefix that runs ``rpcspy``: the installed script once the commands are
    registered, else the stand-in driver."""
    if _registered():
        return [str(VENV_BIN / "rpcspy")]
    return [sys.executable, "-c", _DRIVER]


def run_rpcspy(*argv: str, timeout: float = 60, env: dict[str, str] | None = None) -> CliResult:
    """Run ``rpcspy ARGV`` as a subprocess; returns its exit code and output."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    done = subprocess.run(
        [*rpcspy_command(), *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=REPO,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


class _CannedHandler(BaseHTTPRequestHandler):
    body = b""
    content_type = "text/html"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def canned_server(body: bytes, content_type: str) -> Iterator[str]:
    """A server that answers every POST with ``body``; yields its URL."""
    handler = type("Handler", (_CannedHandler,), {"body": body, "content_type": content_type})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/RPC2"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
