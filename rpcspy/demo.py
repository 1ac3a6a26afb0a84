"""``rpcspy demo``: demo servers, the recording proxy, and a scripted stdlib client through every
feature.

The client is grouped in scenarios (basics, multicall, auth, tls, faults, validator1, large); each
step is one call with the outcome it must have, so the demo doubles as a smoke test: it says which
step misbehaved and exits non-zero. Each scenario runs through its own reverse proxy in front of
its server and is recorded to ``<out>/<scenario>.jsonl`` (the samples in ``captures/`` are made
this way). On a terminal the demo ends in the TUI, watching the scripted client live.

The scripted client runs once per server state: the live run in the TUI gets a demo server of its
own, with a fresh sandbox, so its calls have the outcomes of the printed run (a second run on the
same sandbox would find ``reports/`` already there). Everything the demo creates in the temp dir
(captures, sandboxes, certificates) is removed on the way out, however it ends (normally, an
exception, Ctrl-C, SIGTERM); only captures written to ``--out`` stay.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import shutil
import ssl
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from rpcspy.server import DemoServer, ServerConfig
from rpcspy.stopping import StopSignals
from rpcspy.term import Style

if TYPE_CHECKING:
    from rpcspy.live import LiveProxyApp

__all__ = ["DEMO_PASSWORD", "DEMO_USER", "SCENARIOS", "Scenario", "Step", "Targets", "run_demo"]

DEMO_USER = "alice"
DEMO_PASSWORD = "wonderland"

Server = Literal["plain", "auth", "tls"]
Proxy = xmlrpc.client.ServerProxy


@dataclass(frozen=True)
class Outcome:
    """What a step must give: a result satisfying ``check``, a fault code, or a transport error."""

    describe: str
    check: Callable[[Any], bool] | None = None
    fault: int | None = None
    error: type[BaseException] | tuple[type[BaseException], ...] | None = None


def returns(value: Any) -> Outcome:
    return Outcome(f"returns {value!r}", check=lambda got: bool(got == value))


def satisfies(describe: str, check: Callable[[Any], bool]) -> Outcome:
    return Outcome(describe, check=check)


def faults(code: int) -> Outcome:
    return Outcome(f"fault {code}", fault=code)


def fails(describe: str, error: type[BaseException] | tuple[type[BaseException], ...]) -> Outcome:
    return Outcome(describe, error=error)


@dataclass(frozen=True)
class Step:
    """One call: how to make it (given a client) and what it must give."""

    title: str
    call: Callable[[Proxy], Any]
    outcome: Outcome
    #: Which client to use: the default one of the scenario's server, or one without credentials
    #: or with wrong ones (for the auth scenario).
    client: Literal["default", "anonymous", "wrong-password"] = "default"


@dataclass(frozen=True)
class Scenario:
    title: str
    server: Server
    steps: tuple[Step, ...]


@dataclass
class Targets:
    """Where the scripted client sends each server's calls (directly, or through a proxy)."""

    urls: dict[Server, str]
    tls_context: ssl.SSLContext | None = None
    credentials: tuple[str, str] = (DEMO_USER, DEMO_PASSWORD)
    servers: list[DemoServer] = field(default_factory=list)

    def client(self, server: Server, who: str = "default") -> Proxy:
        url = self.urls[server]
        if server == "auth" and who != "anonymous":
            user, password = self.credentials
            if who == "wrong-password":
                password = "not-" + password
            scheme, rest = url.split("://", 1)
            url = f"{scheme}://{user}:{password}@{rest}"
        context = self.tls_context if url.startswith("https:") else None
        return xmlrpc.client.ServerProxy(
            url, allow_none=True, use_builtin_types=True, context=context
        )


def _run_multicall(proxy: Proxy) -> list[Any]:
    """Four sub-calls, one faulting; each result or the fault code, in order."""
    mc = xmlrpc.client.MultiCall(proxy)
    mc.add(2, 3)
    mc.echo("inside a multicall")
    mc.demo.fault(42, "a fault inside a multicall")
    mc.uname()
    results = mc()
    out: list[Any] = []
    for i in range(4):
        try:
            out.append(results[i])
        except xmlrpc.client.Fault as fault:
            out.append(("fault", fault.faultCode))
    return out


VALIDATOR_STRUCTS = [
    {"moe": 1, "larry": 2, "curly": 3},
    {"moe": -4, "larry": 5, "curly": 6},
    {"moe": 7, "larry": 8, "curly": 9},
]

_TransportErrors = (http.client.HTTPException, ConnectionError, OSError)

SCENARIOS: dict[str, Scenario] = {
    "basics": Scenario(
        "introspection, names with dots and spaces, prefix dispatch, the sandboxed dir service",
        "plain",
        (
            Step(
                "system.listMethods",
                lambda p: p.system.listMethods(),
                satisfies("lists echo and dir.create", lambda r: {"echo", "dir.create"} <= set(r)),
            ),
            Step(
                "system.methodHelp('echo')",
                lambda p: p.system.methodHelp("echo"),
                satisfies("a help text", lambda r: isinstance(r, str) and len(r) > 0),
            ),
            Step(
                "system.methodSignature('add')",
                lambda p: p.system.methodSignature("add"),
                satisfies("a list of signatures", lambda r: isinstance(r, list) and len(r) > 0),
            ),
            Step(
                "uname()",
                lambda p: p.uname(),
                satisfies("a struct with sysname", lambda r: "sysname" in r),
            ),
            Step("echo('hello')", lambda p: p.echo("hello"), returns("HELLO")),
            Step("add(2, 3)", lambda p: p.add(2, 3), returns(5)),
            Step("add(0.5, 0.25)", lambda p: p.add(0.5, 0.25), returns(0.75)),
            Step("'multiply args'(6, 7)", lambda p: getattr(p, "multiply args")(6, 7), returns(42)),
            Step("prefix.public()", lambda p: p.prefix.public(), returns("This is public")),
            Step("prefix.private() is refused", lambda p: p.prefix.private(), faults(1)),
            Step("dir.create('reports')", lambda p: p.dir.create("reports"), returns(None)),
            Step(
                "dir.create('reports/2026')",
                lambda p: p.dir.create("reports/2026"),
                returns(None),
            ),
            Step("dir.list('')", lambda p: p.dir.list(""), returns(["reports", "tmp"])),
            Step("dir('reports')", lambda p: p.dir("reports"), returns(["2026"])),
            Step(
                "dir.create('../escape') is refused",
                lambda p: p.dir.create("../escape"),
                faults(100),
            ),
            Step(
                "dir.remove('reports') while not empty",
                lambda p: p.dir.remove("reports"),
                faults(103),
            ),
            Step(
                "dir.remove('reports/2026')", lambda p: p.dir.remove("reports/2026"), returns(None)
            ),
            Step("demo.echo(None) (allow_none)", lambda p: p.demo.echo(None), returns(None)),
            Step(
                "demo.echo(b'\\x00\\xff') (base64)",
                lambda p: p.demo.echo(b"\x00\xff"),
                returns(b"\x00\xff"),
            ),
            Step("demo.version()", lambda p: p.demo.version(), returns("1.0")),
        ),
    ),
    "multicall": Scenario(
        "system.multicall with a fault among its sub-calls",
        "plain",
        (
            Step(
                "system.multicall(add, echo, demo.fault, uname)",
                _run_multicall,
                satisfies(
                    "3, 'INSIDE A MULTICALL', fault 42, a struct",
                    lambda r: (
                        r[:3] == [5, "INSIDE A MULTICALL", ("fault", 42)] and "sysname" in r[3]
                    ),
                ),
            ),
            Step("system.multicall([])", lambda p: p.system.multicall([]), returns([])),
        ),
    ),
    "auth": Scenario(
        "HTTP Basic auth: the right password, a wrong one, none",
        "auth",
        (
            Step(
                "echo('let me in') with the right password",
                lambda p: p.echo("let me in"),
                returns("LET ME IN"),
            ),
            Step(
                "echo() with a wrong password",
                lambda p: p.echo("x"),
                fails("HTTP 401", xmlrpc.client.ProtocolError),
                client="wrong-password",
            ),
            Step(
                "echo() with no credentials",
                lambda p: p.echo("x"),
                fails("HTTP 401", xmlrpc.client.ProtocolError),
                client="anonymous",
            ),
        ),
    ),
    "tls": Scenario(
        "HTTPS with the server's self-signed certificate",
        "tls",
        (
            Step("echo('over tls')", lambda p: p.echo("over tls"), returns("OVER TLS")),
            Step("add(40, 2)", lambda p: p.add(40, 2), returns(42)),
        ),
    ),
    "faults": Scenario(
        "faults, unknown methods, bad arguments, a slow call and a server that hangs up",
        "plain",
        (
            Step(
                "demo.fault(4, 'Too many parameters')",
                lambda p: p.demo.fault(4, "Too many parameters"),
                faults(4),
            ),
            Step("no.such.method()", lambda p: getattr(p, "no.such.method")(), faults(-32601)),
            Step("echo(42): not a string", lambda p: p.echo(42), faults(-32602)),
            Step("add(1): one argument short", lambda p: p.add(1), faults(-32602)),
            Step("divide(1, 0): an unexpected server error", lambda p: p.divide(1, 0), faults(1)),
            Step(
                "add(2**31 - 1, 1): result over 32 bits",
                lambda p: p.add(2**31 - 1, 1),
                faults(-32500),
            ),
            Step("demo.slow(0.3)", lambda p: p.demo.slow(0.3), returns(0.3)),
            Step(
                "demo.random() (changes every call)",
                lambda p: p.demo.random(),
                satisfies("a struct with random and time", lambda r: {"random", "time"} <= set(r)),
            ),
            Step(
                "demo.crash(): the server hangs up",
                lambda p: p.demo.crash(),
                fails(
                    "a dropped connection (a 502 through the proxy)",
                    (*_TransportErrors, xmlrpc.client.ProtocolError),
                ),
            ),
            Step(
                "echo('still serving') after the crash",
                lambda p: p.echo("still serving"),
                returns("STILL SERVING"),
            ),
        ),
    ),
    "validator1": Scenario(
        "the UserLand validator1 suite",
        "plain",
        (
            Step(
                "validator1.arrayOfStructsTest",
                lambda p: p.validator1.arrayOfStructsTest(VALIDATOR_STRUCTS),
                returns(18),
            ),
            Step(
                "validator1.countTheEntities",
                lambda p: p.validator1.countTheEntities('<a href="x">&\'s</a>'),
                returns(
                    {
                        "ctLeftAngleBrackets": 2,
                        "ctRightAngleBrackets": 2,
                        "ctAmpersands": 1,
                        "ctApostrophes": 1,
                        "ctQuotes": 2,
                    }
                ),
            ),
            Step(
                "validator1.easyStructTest",
                lambda p: p.validator1.easyStructTest({"moe": 1, "larry": 2, "curly": 3}),
                returns(6),
            ),
            Step(
                "validator1.echoStructTest",
                lambda p: p.validator1.echoStructTest({"a": [1, {"b": "c"}], "d": 1.5}),
                returns({"a": [1, {"b": "c"}], "d": 1.5}),
            ),
            Step(
                "validator1.manyTypesTest",
                lambda p: p.validator1.manyTypesTest(
                    5, True, "text", 1.25, xmlrpc.client.DateTime("20261123T12:00:00"), b"bytes"
                ),
                satisfies(
                    "its six arguments back",
                    lambda r: len(r) == 6 and r[:4] == [5, True, "text", 1.25] and r[5] == b"bytes",
                ),
            ),
            Step(
                "validator1.moderateSizeArrayCheck",
                lambda p: p.validator1.moderateSizeArrayCheck(
                    ["first"] + [str(i) for i in range(150)] + ["last"]
                ),
                returns("firstlast"),
            ),
            Step(
                "validator1.nestedStructTest",
                lambda p: p.validator1.nestedStructTest(
                    {"2000": {"04": {"01": {"moe": 1, "larry": 2, "curly": 3}}}}
                ),
                returns(6),
            ),
            Step(
                "validator1.simpleStructReturnTest",
                lambda p: p.validator1.simpleStructReturnTest(7),
                returns({"times10": 70, "times100": 700, "times1000": 7000}),
            ),
        ),
    ),
    "large": Scenario(
        "large payloads: a 1 MB string, a 5,000-item array",
        "plain",
        (
            Step(
                "demo.large(1000000)",
                lambda p: p.demo.large(1_000_000),
                satisfies(
                    "a 1,000,000-character string",
                    lambda r: isinstance(r, str) and len(r) == 1_000_000,
                ),
            ),
            Step(
                "validator1.moderateSizeArrayCheck(5000 items)",
                lambda p: p.validator1.moderateSizeArrayCheck(
                    ["alpha"] + ["x" * 20] * 4998 + ["omega"]
                ),
                returns("alphaomega"),
            ),
            Step(
                "demo.echo(<200 kB of bytes>)",
                lambda p: p.demo.echo(bytes(range(256)) * 800),
                returns(bytes(range(256)) * 800),
            ),
        ),
    ),
}


@dataclass
class DemoServers:
    """The three demo servers, by the name scenarios use."""

    by_name: dict[Server, DemoServer]

    def direct(self) -> Targets:
        """Targets that talk to the servers themselves, with no proxy between."""
        tls = self.by_name["tls"]
        context = ssl.create_default_context(cafile=str(tls.cafile)) if tls.cafile else None
        return Targets(
            urls={name: server.url for name, server in self.by_name.items()},
            tls_context=context,
            servers=list(self.by_name.values()),
        )


@contextlib.contextmanager
def demo_servers(*, quiet: bool = True) -> Iterator[DemoServers]:
    """The three demo servers (plain, Basic auth, TLS) on free ports of 127.0.0.1."""
    with contextlib.ExitStack() as stack:
        plain = stack.enter_context(DemoServer(ServerConfig(port=0, quiet=quiet)))
        auth = stack.enter_context(
            DemoServer(ServerConfig(port=0, quiet=quiet, user=DEMO_USER, password=DEMO_PASSWORD))
        )
        tls = stack.enter_context(DemoServer(ServerConfig(port=0, quiet=quiet, tls=True)))
        yield DemoServers({"plain": plain, "auth": auth, "tls": tls})


@dataclass(frozen=True)
class StepResult:
    scenario: str
    step: Step
    ok: bool
    detail: str
    ms: float


def run_step(targets: Targets, scenario: Scenario, step: Step) -> tuple[bool, str]:
    """Make one call and judge it against the step's outcome; returns (ok, what happened)."""
    proxy = targets.client(scenario.server, step.client)
    expected = step.outcome
    try:
        with proxy:
            got = step.call(proxy)
    except xmlrpc.client.Fault as fault:
        what = f"fault {fault.faultCode}: {fault.faultString}"
        return expected.fault == fault.faultCode, what
    except xmlrpc.client.ProtocolError as exc:
        what = f"HTTP {exc.errcode} {exc.errmsg}"
        return expected.error is not None and isinstance(exc, expected.error), what
    except (*_TransportErrors, xmlrpc.client.ResponseError) as exc:
        what = f"{type(exc).__name__}: {exc}"
        return expected.error is not None and isinstance(exc, expected.error), what
    text = repr(got)
    what = text if len(text) <= 70 else text[:69] + "…"
    return expected.check is not None and bool(expected.check(got)), what


def run_scenarios(
    names: list[str],
    targets: Targets,
    *,
    quiet: bool = False,
    out: TextIO | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> list[StepResult]:
    """Run the named scenarios against ``targets``, printing a line per step unless quiet.

    ``stop()`` is asked before each step: once it is true, the remaining steps are not run.
    """
    out = out if out is not None else sys.stdout
    style = Style(out)
    results: list[StepResult] = []
    for name in names:
        scenario = SCENARIOS[name]
        if not quiet:
            out.write(
                style(f"{name}", "bold", "cyan") + style(f" — {scenario.title}", "dim") + "\n"
            )
        for step in scenario.steps:
            if stop():
                return results
            t0 = time.perf_counter()
            ok, what = run_step(targets, scenario, step)
            ms = (time.perf_counter() - t0) * 1000
            results.append(StepResult(name, step, ok, what, ms))
            if not quiet or not ok:
                out.write(_step_line(results[-1], style) + "\n")
        out.flush()
    return results


def _step_line(result: StepResult, style: Style) -> str:
    step = result.step
    mark = style("ok  ", "green") if result.ok else style("FAIL", "bold", "red")
    line = f"  {mark} {step.title}: {result.detail}"
    if not result.ok:
        line += style(f"  (expected: {step.outcome.describe})", "yellow")
    return line + style(f"  {result.ms:.1f} ms", "dim")


def summarize(results: list[StepResult]) -> bool:
    """Print the summary line; True when every step behaved as expected."""
    out = sys.stdout
    style = Style(out)
    failed = [r for r in results if not r.ok]
    if failed:
        out.write(style(f"{len(failed)} of {len(results)} steps misbehaved", "bold", "red") + "\n")
    else:
        out.write(style(f"all {len(results)} steps behaved as expected", "bold", "green") + "\n")
    return not failed


def run_demo(
    names: list[str],
    *,
    quiet: bool = False,
    out_dir: Path | None = None,
    direct: bool = False,
    tui: bool = False,
) -> bool:
    """Start the demo servers and run the named scenarios; True when every step behaved.

    Unless ``direct``, each scenario goes through a recording reverse proxy in front of its server
    and is written to ``out_dir/<scenario>.jsonl`` (a temp dir removed on the way out when not
    given). With ``tui`` the demo ends in the terminal UI, with the scripted client running live
    through its proxy to a server of its own.
    """
    out = sys.stdout
    style = Style(out)
    with StopSignals(mode="raise") as signals, contextlib.ExitStack() as stack:
        kept = out_dir is not None
        if out_dir is None and not direct:
            # Entered first, so it goes last: after the proxies writing into it have stopped.
            temp = tempfile.TemporaryDirectory(prefix="rpcspy-demo-", ignore_cleanup_errors=True)
            out_dir = Path(stack.enter_context(temp))
        servers = stack.enter_context(demo_servers())
        if direct:
            targets = servers.direct()
            if not quiet:
                for server in targets.servers:
                    out.write(f"demo server {server.url}\n")
            results = run_scenarios(names, targets, quiet=quiet)
            return summarize(results)
        assert out_dir is not None
        out_dir.mkdir(parents=True, exist_ok=True)
        results = []
        for name in names:
            results += _run_recorded(name, servers, out_dir / f"{name}.jsonl", quiet=quiet)
        ok = summarize(results)
        prog = _program_name()
        if kept:
            out.write(style(f"captures in {out_dir}/", "bold") + "\n")
            if not quiet:
                first = out_dir / f"{names[0]}.jsonl"
                out.write(style(f"  try: {prog} show {first}", "dim") + "\n")
                out.write(style(f"       {prog} tui {first}", "dim") + "\n")
        elif not quiet:
            out.write(
                style(f"captures not kept; to keep them: {prog} demo --out DIR", "dim") + "\n"
            )
        out.flush()
        if tui:
            live = _run_live_tui(names, out_dir, signals)
            signals.check()
            ok = _report_live(live, results) and ok
    return ok


def _report_live(live: list[StepResult], printed: list[StepResult]) -> bool:
    """Say how the live run went, beside the printed one; True when its steps behaved too."""
    out = sys.stdout
    style = Style(out)
    planned = [r for r in printed if SCENARIOS[r.scenario].server == "plain"]
    failed = [r for r in live if not r.ok]
    for result in failed:
        out.write(_step_line(result, style) + "\n")
    if failed:
        text = f"live run: {len(failed)} of {len(live)} steps misbehaved"
        out.write(style(text, "bold", "red") + "\n")
    elif len(live) < len(planned):
        text = f"live run: quit after {len(live)} of {len(planned)} steps, all as expected"
        out.write(style(text, "dim") + "\n")
    else:
        out.write(style(f"live run: all {len(live)} steps behaved as expected", "dim") + "\n")
    return not failed


def _program_name() -> str:
    """How the user can call rpcspy again: ``rpcspy`` when that is on PATH, else the path used."""
    invoked = os.path.abspath(sys.argv[0])
    on_path = shutil.which("rpcspy")
    if on_path and os.path.abspath(on_path) == invoked:
        return "rpcspy"
    if os.path.basename(invoked) != "rpcspy":
        return "rpcspy"
    relative = os.path.relpath(invoked)
    return relative if not relative.startswith("..") else invoked


def _run_recorded(
    name: str, servers: DemoServers, capture: Path, *, quiet: bool
) -> list[StepResult]:
    """One scenario through a recording reverse proxy in front of its server."""
    from rpcspy.proxy import ProxyConfig
    from rpcspy.proxy.background import BackgroundProxy

    scenario = SCENARIOS[name]
    server = servers.by_name[scenario.server]
    capture.unlink(missing_ok=True)  # a re-run records afresh rather than appending
    config = ProxyConfig(
        target=server.base_url,
        listen_port=0,
        capture=capture,
        upstream_cafile=server.cafile,
        quiet=True,
    )
    with BackgroundProxy(config) as proxy:
        # The client speaks plain HTTP to the proxy; the proxy speaks HTTPS to the TLS server.
        targets = Targets(urls={scenario.server: f"{proxy.url}/RPC2"})
        return run_scenarios([name], targets, quiet=quiet)


def _run_live_tui(names: list[str], out_dir: Path, signals: StopSignals) -> list[StepResult]:
    """The TUI on a proxy in front of a fresh plain server, the scripted client running live.

    Returns the live run's results; raises ``ProxyError`` when the proxy could not start.
    """
    from rpcspy.live import LiveProxyApp
    from rpcspy.proxy import ProxyConfig

    live = [n for n in names if SCENARIOS[n].server == "plain"]
    results: list[StepResult] = []
    capture = out_dir / "live.jsonl"
    capture.unlink(missing_ok=True)
    # A server of its own: a fresh sandbox, so each call has the outcome it had in the printed run.
    with DemoServer(ServerConfig(port=0, quiet=True)) as plain:
        config = ProxyConfig(target=plain.base_url, listen_port=0, capture=capture, quiet=True)
        app: LiveProxyApp | None = None

        def client(proxy_url: str) -> None:
            targets = Targets(urls={"plain": f"{proxy_url.rstrip('/')}/RPC2"})
            # Nothing may print: the TUI owns the terminal. Once the UI quits, the rest is skipped.
            results.extend(
                run_scenarios(
                    live,
                    targets,
                    quiet=True,
                    out=io.StringIO(),
                    stop=lambda: app is None or app.runner is None,
                )
            )

        app = LiveProxyApp(config, client=client)
        signals.app = app
        try:
            app.run()
        finally:
            signals.app = None
        app.raise_proxy_error()  # ProxyError when the proxy could not start
    return results
