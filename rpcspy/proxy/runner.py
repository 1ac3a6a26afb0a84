"""Run mitmproxy in-process, in our asyncio loop, with the rpcspy recorder: ``rpcspy proxy``.

``ProxyRunner`` starts a mitmproxy ``Master`` with the mitmproxy addons a recording proxy needs
(``mitmproxy_addons``) plus ``RpcspyRecorder``, and prints one line per XML-RPC call. Only one
runner may run per process at a time: mitmproxy keeps its master and options in module globals
(``mitmproxy.ctx``). While it runs, mitmproxy also sets the loop's task factory
(``asyncio.eager_task_factory``) and exception handler, as ``mitmdump`` does; an application that
must not share those can run the runner on a thread with its own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import signal
import sys
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, TextIO

from mitmproxy import exceptions, options
from mitmproxy.addons import (
    block,
    core,
    disable_h2c,
    next_layer,
    onboarding,
    proxyserver,
    tlsconfig,
)
from mitmproxy.log import MitmFormatter, MitmLogHandler
from mitmproxy.master import Master
from mitmproxy.options import CONF_BASENAME, CONF_DIR
from mitmproxy.utils import human

from rpcspy.capture import CallRecord
from rpcspy.capture.redact import DEFAULT_HEADERS, DEFAULT_QUERY, DEFAULT_REDACTION, Redaction
from rpcspy.proxy.addon import RpcspyRecorder
from rpcspy.proxy.console import format_call_line
from rpcspy.proxy.native import NATIVE_PROTOCOLS, RawLayers
from rpcspy.proxy.worker import DEFAULT_MAX_BODY
from rpcspy.stopping import stop_signals
from rpcspy.term import Style

__all__ = [
    "ListenError",
    "ProxyConfig",
    "ProxyError",
    "ProxyRunner",
    "ca_cert_path",
    "mitmproxy_addons",
    "mode_spec",
    "parse_size",
    "report_stopped",
    "run_proxy",
]

ProxyMode = Literal["reverse", "regular"]

#: ``run_proxy``'s exit code when calls were forwarded but could not be recorded (a full disk):
#: the capture holds the others, each whole.
EXIT_NOT_RECORDED = 4


class ProxyError(Exception):
    """The proxy could not start: a bad option, a port in use, an unwritable capture."""


class ListenError(ProxyError):
    """The proxy could not listen on its address (in use, not this machine's, not allowed)."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {reason}")
        self.host = host
        self.port = port
        #: ``address already in use``, ``permission denied``, ...
        self.reason = reason


#: How mitmproxy's server manager words an OSError it could not listen with.
_ERRNO = re.compile(r"\[Errno (\d+)\]")
_LISTEN_ERRNOS = frozenset({errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES})


@dataclass
class ProxyConfig:
    """What ``rpcspy proxy`` runs: mode, addresses, capture and TLS settings."""

    #: Reverse mode: the server to forward to, ``http[s]://host[:port]``. A path is ignored:
    #: clients keep the path they ask for (``http://proxy/RPC2`` goes to ``target/RPC2``).
    target: str | None = None
    mode: ProxyMode = "reverse"
    listen_host: str = "127.0.0.1"
    #: 0 picks a free port; ``ProxyRunner.port`` has the real one once started.
    listen_port: int = 8080
    capture: Path | None = None
    #: Redact secrets in every record the proxy keeps: the capture, the live view, ``on_record``.
    redact: bool = True
    #: Which header and query parameter values are secrets (when ``redact``).
    redaction: Redaction = DEFAULT_REDACTION
    #: Verify the upstream server's TLS certificate (off: accept any certificate).
    upstream_verify: bool = True
    #: Extra CA (PEM) to trust for the upstream, e.g. the demo server's self-signed ``cafile``.
    upstream_cafile: Path | None = None
    #: mitmproxy's configuration directory holding its CA (created on first use).
    confdir: Path | None = None
    #: Globs on host, path, ``host:port`` or ``host/path``; empty records every XML-RPC exchange.
    watch: Sequence[str] = ()
    max_body: int = DEFAULT_MAX_BODY
    #: No per-call lines.
    quiet: bool = False
    #: Called in the event loop's thread with each record, after it was written.
    on_record: Callable[[CallRecord], None] | None = None
    #: Where per-call lines go (default: stdout).
    out: TextIO | None = None
    #: mitmproxy's own log messages at or above this level go to stderr.
    log_level: Literal["error", "warning", "info", "debug"] = "warning"
    #: ``xmlrpc`` over HTTP, or ``oncrpc`` / ``rpyc`` over a ``tcp://`` (ONC RPC also
    #: ``udp://``) target, in reverse mode.
    protocol: Literal["xmlrpc", "oncrpc", "rpyc"] = "xmlrpc"
    #: ONC RPC: an rpcgen ``.x`` interface that types the calls (the portmapper is built in).
    idl: Path | None = None

    @property
    def native(self) -> bool:
        """Whether the proxy relays TCP or UDP (ONC RPC, RPyC) rather than HTTP."""
        return self.protocol != "xmlrpc"


def parse_size(text: str) -> int:
    """A byte size with an optional k/m/g suffix (``16m``), as mitmproxy reads them."""
    size = human.parse_size(text.strip().lower())
    if size is None or size < 0:
        raise ValueError(f"not a size: {text!r}")
    return size


def ca_cert_path(confdir: Path | None = None) -> Path:
    """mitmproxy's CA certificate (PEM) that clients must trust for TLS through the proxy."""
    base = confdir if confdir is not None else Path(CONF_DIR)
    return base.expanduser() / f"{CONF_BASENAME}-ca-cert.pem"


def _reverse_spec(target: str) -> str:
    """``reverse:http://host:port`` from a target URL; a path or query is dropped."""
    text = target.strip()
    if "://" not in text:
        text = "http://" + text
    url = urllib.parse.urlsplit(text)
    if url.scheme not in ("http", "https"):
        raise ProxyError(f"target must be an http:// or https:// URL, not {target!r}")
    if not url.hostname:
        raise ProxyError(f"target has no host: {target!r}")
    try:
        port = url.port
    except ValueError as exc:
        raise ProxyError(f"target has a bad port: {target!r}") from exc
    host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    netloc = f"{host}:{port}" if port is not None else host
    return f"reverse:{url.scheme}://{netloc}"


def _native_spec(target: str, protocol: str) -> str:
    """``reverse:tcp://host:port`` (or ``udp://``) from an ONC RPC or RPyC target."""
    transports = NATIVE_PROTOCOLS.get(protocol)
    if transports is None:
        raise ProxyError(f"unknown protocol {protocol!r}: xmlrpc, oncrpc or rpyc")
    schemes = " or ".join(f"{t}://HOST:PORT" for t in transports)
    text = target.strip()
    if "://" not in text:
        text = "tcp://" + text
    url = urllib.parse.urlsplit(text)
    if url.scheme not in transports:
        raise ProxyError(f"a {protocol} target is {schemes}, not {target!r}")
    if not url.hostname:
        raise ProxyError(f"target has no host: {target!r}")
    try:
        port = url.port
    except ValueError as exc:
        raise ProxyError(f"target has a bad port: {target!r}") from exc
    if port is None or url.path not in ("", "/"):
        raise ProxyError(f"a {protocol} target is {schemes} (a port, no path), not {target!r}")
    host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    return f"reverse:{url.scheme}://{host}:{port}"


def mode_spec(config: ProxyConfig) -> str:
    """The mitmproxy ``mode`` option for a config (raises ProxyError when inconsistent)."""
    if config.native:
        if config.mode != "reverse" or not config.target:
            raise ProxyError(
                f"{config.protocol} goes through reverse mode only, with a target such as "
                "tcp://127.0.0.1:111"
            )
        return _native_spec(config.target, config.protocol)
    if config.idl is not None:
        raise ProxyError("an .x interface (idl) is for --protocol oncrpc")
    if config.mode == "reverse":
        if not config.target:
            raise ProxyError("reverse mode needs a target URL, e.g. http://127.0.0.1:8000")
        return _reverse_spec(config.target)
    if config.mode == "regular":
        if config.target:
            raise ProxyError(
                "a target only goes with reverse mode; in regular mode clients "
                "choose the server and set HTTP_PROXY/HTTPS_PROXY"
            )
        return "regular"
    raise ProxyError(f"unknown mode {config.mode!r}: reverse or regular")


def mitmproxy_addons() -> list[Any]:
    """mitmproxy's own addons the runner loads: the proxy itself and its safety nets.

    ``mitmdump`` loads some thirty more (playback, map/modify, sticky cookies, saving, scripts...)
    that a recording proxy does not use; mitmproxy calls every hook of every addon for each flow,
    so leaving them out makes the proxy markedly faster. Also left out: ``UpdateAltSvc``, which
    rewrites a reverse-proxied server's ``Alt-Svc`` header, so responses pass untouched.
    """
    return [
        core.Core(),
        block.Block(),  # refuses clients from public addresses unless asked (no open proxy)
        disable_h2c.DisableH2C(),
        onboarding.Onboarding(),  # type: ignore[no-untyped-call]  # http://mitm.it: the CA
        proxyserver.Proxyserver(),  # type: ignore[no-untyped-call]
        next_layer.NextLayer(),
        tlsconfig.TlsConfig(),
    ]


class _StderrLog(MitmLogHandler):
    """mitmproxy's warnings and errors, one line each, on stderr.

    While ``holding_errors``, errors are left to ``_StartupErrors``: a failed start raises them
    as one ``ProxyError``, which the caller reports once.
    """

    def __init__(self, level: str) -> None:
        super().__init__(level.upper())  # type: ignore[no-untyped-call]
        self.setFormatter(MitmFormatter(Style(sys.stderr).enabled))
        self.holding_errors = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.holding_errors and record.levelno >= logging.ERROR:
            return
        with contextlib.suppress(OSError):
            print(self.format(record), file=sys.stderr)


class _StartupErrors(MitmLogHandler):
    """Collects errors logged while the servers come up, to explain a failed start."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)  # type: ignore[no-untyped-call]
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class _Ready:
    """Addon whose ``running`` hook marks the end of mitmproxy's startup."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def running(self) -> None:
        self.event.set()


class ProxyRunner:
    """mitmproxy with the rpcspy recorder, in the current asyncio loop.

    ``async with ProxyRunner(config) as runner:`` or ``await runner.start()`` ...
    ``await runner.stop()``. Stopping writes every pending record before it returns.
    """

    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self._mode = mode_spec(config)
        self._master: Master | None = None
        self._task: asyncio.Task[None] | None = None
        self._port: int | None = None
        self._log: _StderrLog | None = None
        self._root_level = logging.NOTSET
        self._style = Style(config.out or sys.stdout)
        self.recorder = RpcspyRecorder(on_record=self._on_record)
        #: Called in the event loop's thread with each record; may be set any time (a TUI
        #: attaching later). Starts as ``config.on_record``.
        self.on_record: Callable[[CallRecord], None] | None = config.on_record
        #: Records seen since start.
        self.records = 0

    # ------------------------------------------------------------------ properties

    @property
    def port(self) -> int:
        """The port the proxy listens on (the real one when ``listen_port`` was 0)."""
        if self._port is None:
            raise RuntimeError("the proxy is not running")
        return self._port

    @property
    def transport(self) -> str:
        """``http``, or ``tcp`` / ``udp`` for ONC RPC and RPyC."""
        if not self.config.native:
            return "http"
        return self._mode.removeprefix("reverse:").split("://", 1)[0]

    @property
    def url(self) -> str:
        """``http://host:port`` of the proxy, for clients (reverse) or HTTP_PROXY (regular);
        ``tcp://host:port`` or ``udp://host:port`` for ONC RPC and RPyC."""
        host = self.config.listen_host or "127.0.0.1"
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"{self.transport}://{host}:{self.port}"

    @property
    def ca_cert(self) -> Path:
        """mitmproxy's CA certificate (PEM) for clients that talk TLS to the proxy."""
        return ca_cert_path(self.config.confdir)

    @property
    def running(self) -> bool:
        """Whether mitmproxy is up."""
        return self._task is not None and not self._task.done() and self._port is not None

    # ------------------------------------------------------------------ lifecycle

    def _options(self) -> dict[str, Any]:
        config = self.config
        opts: dict[str, Any] = {
            "mode": [self._mode],
            "listen_host": config.listen_host,
            "listen_port": config.listen_port,
            # Lazy: read the request before connecting upstream, so a dead upstream becomes a
            # flow with an error (recorded) instead of a silently closed client connection.
            "connection_strategy": "lazy",
            "ssl_insecure": not config.upstream_verify,
            "rpcspy_capture": str(config.capture) if config.capture is not None else None,
            "rpcspy_watch": list(config.watch),
            "rpcspy_redact": config.redact,
            # The addon's options name what differs from the default lists.
            "rpcspy_redact_headers": sorted(config.redaction.headers - DEFAULT_HEADERS),
            "rpcspy_keep_headers": sorted(DEFAULT_HEADERS - config.redaction.headers),
            "rpcspy_redact_query": sorted(config.redaction.query - DEFAULT_QUERY),
            "rpcspy_keep_query": sorted(DEFAULT_QUERY - config.redaction.query),
            "rpcspy_max_body": str(config.max_body),
            # A body over max_body is not decoded, so it is streamed rather than held: the
            # recorder streams those with a Content-Length from their headers; this makes
            # mitmproxy stream a chunked one once it grows past the limit (any flow, recorded
            # or not, so a large download through regular mode is not held either).
            "stream_large_bodies": str(config.max_body),
            "rpcspy_log": False,
            "rpcspy_protocol": config.protocol,
            "rpcspy_idl": str(config.idl) if config.idl is not None else None,
        }
        if config.upstream_cafile is not None:
            opts["ssl_verify_upstream_trusted_ca"] = str(config.upstream_cafile)
        if config.confdir is not None:
            opts["confdir"] = str(config.confdir)
        return opts

    async def start(self) -> None:
        """Start listening; returns once the proxy accepts connections (raises ProxyError)."""
        if self._task is not None:
            raise RuntimeError("the proxy was already started")
        if self.config.upstream_cafile is not None and not self.config.upstream_cafile.is_file():
            raise ProxyError(f"no such CA file: {self.config.upstream_cafile}")
        if self.config.max_body < 0:
            raise ProxyError("max_body must be 0 or more")
        self._log = _StderrLog(self.config.log_level)
        self._log.install()
        root = logging.getLogger()
        self._root_level = root.level
        if root.level > self._log.level:
            # The root logger filters before any handler sees a record.
            root.setLevel(self._log.level)
        errors = _StartupErrors()
        errors.install()
        self._log.holding_errors = True
        try:
            await self._start(errors)
        except BaseException:
            await self.stop()
            raise
        finally:
            errors.uninstall()
            if self._log is not None:
                self._log.holding_errors = False

    def _startup_error(self, message: str) -> ProxyError:
        """A ``ListenError`` when mitmproxy could not listen, else a ``ProxyError``."""
        found = _ERRNO.match(message)
        if found is not None and int(found.group(1)) in _LISTEN_ERRNOS:
            host = self.config.listen_host or "*"
            return ListenError(host, self.config.listen_port, os.strerror(int(found.group(1))))
        # mitmproxy's advice names its own --mode syntax, which is not rpcspy's.
        return ProxyError(message.split("\nTry specifying", 1)[0])

    async def _start(self, errors: _StartupErrors) -> None:
        master = Master(options.Options(), event_loop=asyncio.get_running_loop())
        self._master = master
        ready = _Ready()
        # In the TCP and UDP modes raw bytes are relayed as they are, decided before mitmproxy's
        # own NextLayer would look for TLS in them.
        first = [RawLayers()] if self.config.native else []
        master.addons.add(  # type: ignore[no-untyped-call]
            *first, *mitmproxy_addons(), self.recorder, ready
        )
        try:
            master.options.update(**self._options())  # type: ignore[no-untyped-call]
        except (exceptions.OptionsError, KeyError, ValueError) as exc:
            raise ProxyError(str(exc)) from exc
        if errors.messages:
            raise self._startup_error(errors.messages[0])
        self._task = asyncio.create_task(master.run(), name="rpcspy mitmproxy")
        ready_wait = asyncio.create_task(ready.event.wait())
        await asyncio.wait({self._task, ready_wait}, return_when=asyncio.FIRST_COMPLETED)
        if not ready_wait.done():
            ready_wait.cancel()
            await asyncio.gather(ready_wait, return_exceptions=True)
        if self._task.done():
            failure = self._task.exception()
            raise ProxyError(f"mitmproxy stopped while starting: {failure or 'no reason given'}")
        proxyserver = master.addons.get("proxyserver")  # type: ignore[no-untyped-call]
        addrs = proxyserver.listen_addrs() if proxyserver is not None else []
        if errors.messages:
            raise self._startup_error(errors.messages[0])
        if not addrs:
            raise ProxyError("the proxy did not listen")
        self._port = int(addrs[0][1])

    async def stop(self) -> None:
        """Stop accepting, write every pending record, close the capture. Safe to call twice."""
        master, task = self._master, self._task
        try:
            if master is not None and task is not None and not task.done():
                master.shutdown()  # type: ignore[no-untyped-call]
                await task
            elif master is not None and task is None:
                # Started options but never ran: still give the recorder its done() to close files.
                self.recorder.done()
        finally:
            self._port = None
            if self._log is not None:
                self._log.uninstall()
                self._log = None
                logging.getLogger().setLevel(self._root_level)

    async def wait(self) -> None:
        """Wait until mitmproxy exits (after ``stop()``, or on its own)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ output

    def _on_record(self, record: CallRecord) -> None:
        self.records += 1
        if self.config.redact:
            # What the capture keeps of a secret is all anyone downstream gets: the live TUI,
            # the snippets made from it, any on_record.
            record = self.config.redaction.record(record)
        if not self.config.quiet:
            out = self.config.out or sys.stdout
            with contextlib.suppress(OSError, ValueError):
                print(format_call_line(record, self._style), file=out, flush=True)
        if self.on_record is not None:
            self.on_record(record)


def _banner(runner: ProxyRunner) -> str:
    config = runner.config
    lines = []
    if config.native:
        lines.append(f"rpcspy proxy ({config.protocol}) on {runner.url} -> {config.target}")
        lines.append(f"  point {config.protocol} clients at {runner.url}")
        if config.idl is not None:
            lines.append(f"  interface: {config.idl} (and the portmapper)")
    elif config.mode == "reverse":
        lines.append(f"rpcspy proxy on {runner.url} -> {config.target}")
        lines.append(
            f"  point clients at {runner.url}/<path> (TLS: https://, trust {runner.ca_cert})"
        )
    else:
        lines.append(f"rpcspy proxy (regular) on {runner.url}")
        lines.append(f"  export HTTP_PROXY={runner.url} HTTPS_PROXY={runner.url}")
        lines.append(f"  for https, trust mitmproxy's CA: {runner.ca_cert}")
    if config.capture is not None:
        lines.append(f"  capture: {config.capture}" + ("" if config.redact else " (not redacted)"))
    lines.append("  Ctrl-C to stop")
    return "\n".join(lines)


def run_proxy(config: ProxyConfig, on_ready: Callable[[ProxyRunner], None] | None = None) -> int:
    """Run the proxy until SIGINT/SIGTERM, then drain the capture (the CLI's helper).

    Returns 0, or ``EXIT_NOT_RECORDED`` when some calls could not be written to the capture.
    SIGHUP (a closed terminal) stops it the same way, unless it was started with ``nohup``.

    SIGINT and SIGTERM are handled from before the start, whatever their inherited disposition
    (a script's ``rpcspy proxy ... &`` inherits SIGINT ignored); one arriving during the start
    stops the proxy as soon as it is up. The banner is printed once the proxy accepts
    connections, then ``on_ready(runner)`` is called. Raises ProxyError (``ListenError`` for an
    address it cannot listen on) when it cannot start.
    """

    async def main() -> int:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        handled: list[signal.Signals] = []
        for sig in stop_signals():
            try:
                loop.add_signal_handler(sig, stopping.set)
                handled.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        runner = ProxyRunner(config)
        try:
            await runner.start()
            print(_banner(runner), file=sys.stderr, flush=True)
            if on_ready is not None:
                on_ready(runner)
            waiter = asyncio.create_task(stopping.wait())
            ended = asyncio.create_task(runner.wait())
            await asyncio.wait({waiter, ended}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            ended.cancel()
            await asyncio.gather(waiter, ended, return_exceptions=True)
        finally:
            await runner.stop()
            for sig in handled:
                loop.remove_signal_handler(sig)
        return report_stopped(runner)

    return asyncio.run(main())


def report_stopped(runner: ProxyRunner) -> int:
    """Say on stderr how many calls a stopped proxy recorded; returns the exit code.

    One sentence for ``rpcspy proxy`` with and without ``--tui``. The code is 0, or
    ``EXIT_NOT_RECORDED`` (4) when some calls could not be written to the capture.
    """
    worker = runner.recorder.worker
    capture = runner.config.capture
    if capture is None:
        noun = "call" if runner.records == 1 else "calls"
        print(f"rpcspy proxy stopped; {runner.records} {noun} recorded", file=sys.stderr)
        return 0
    noun = "call" if worker.written == 1 else "calls"
    message = f"rpcspy proxy stopped; {worker.written} {noun} recorded"
    error = worker.first_write_error
    if error is None:
        print(message, file=sys.stderr)
        return 0
    if worker.unwritten:
        message += f", {worker.unwritten} forwarded but not recorded"
    print(f"{message} ({error}); every recorded call is in {capture}", file=sys.stderr)
    return EXIT_NOT_RECORDED
