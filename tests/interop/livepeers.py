"""Run the real XML-RPC peers live through ``rpcspy proxy``, then replay, mock and lint the capture.

The peers, their scripts and their scenarios are the sweep's (``tests/interop/peers/sweep.py``,
which recorded ``tests/data/peers``). A *session* is one peer variant in one role:

- ``client``: the peer's client runs every scenario three times: straight at ``rpcspy serve``
  (the reference), through ``rpcspy proxy`` in front of it (recorded), and at ``rpcspy mock``
  serving that capture;
- ``server``: the peer's server answers the sweep's server scenarios and its hand-made deviant
  requests, sent by a stdlib HTTP client straight, through the proxy, and to the mock.

Then ``rpcspy replay`` re-sends the capture to the same unchanged server and ``rpcspy lint``
reads it. Everything listens on 127.0.0.1 on free ports; every process started is stopped.
"""

from __future__ import annotations

import functools
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from rpcspy.capture import read_capture
from rpcspy.capture.record import CallRecord

HERE = Path(__file__).resolve().parent
PEERS_DIR = HERE / "peers"
REPO = HERE.parents[1]
if str(PEERS_DIR) not in sys.path:
    sys.path.insert(0, str(PEERS_DIR))

import sweep  # noqa: E402

PY = sys.executable
# A subprocess of the suite runs this tree's rpcspy, whatever the venv's editable install says.
# Perl orders a hash's keys anew in every process (and every hash): a struct's members would
# come in another order in each run, so the straight and the proxied answers would differ.
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    "PERL_HASH_SEED": "0",
    "PERL_PERTURB_KEYS": "0",
}
TIMEOUT = 60.0

#: variant -> the peer it belongs to (the loud line names peers, the tests name variants)
VARIANTS: dict[str, str] = {
    "perl-xmlrpc-lite": "perl-xmlrpc-lite",
    "perl-frontier": "perl-frontier",
    "ruby-xmlrpc": "ruby-xmlrpc",
    "ruby-xmlrpc-enable": "ruby-xmlrpc",
    "php-xmlrpc": "php-xmlrpc",
    "xmlrpc-c": "xmlrpc-c",
    "xmlrpc-c-apache": "xmlrpc-c",
    "java-axmlrpc": "java-axmlrpc",
    "node-xmlrpc": "node-xmlrpc",
    "supervisor": "supervisor",
}


def _runs(*cmd: str) -> str | None:
    """None when ``cmd`` runs and exits 0, else why not."""
    exe = shutil.which(cmd[0])
    if exe is None:
        return f"{cmd[0]} not found"
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, cwd=PEERS_DIR)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{' '.join(cmd)}: {exc}"
    if r.returncode != 0:
        return f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()[-200:]}"
    return None


def _builds(build: object) -> str | None:
    try:
        build()  # type: ignore[operator]
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"build failed: {exc}"
    return None


def _missing_reason(peer: str) -> str | None:
    if peer == "perl-xmlrpc-lite":
        return _runs("perl", "-MXMLRPC::Lite", "-MXMLRPC::Transport::HTTP", "-e1")
    if peer == "perl-frontier":
        return _runs("perl", "-MFrontier::Client", "-MFrontier::Daemon", "-e1")
    if peer == "ruby-xmlrpc":
        return _runs("ruby", "-e", 'require "xmlrpc/client"; require "xmlrpc/server"')
    if peer == "php-xmlrpc":
        return _runs("php", "-r", 'exit(function_exists("xmlrpc_encode_request") ? 0 : 1);')
    if peer == "xmlrpc-c":
        why = _runs("xmlrpc-c-config", "--version") or _runs("cc", "--version")
        return why or _builds(sweep.c_build)
    if peer == "java-axmlrpc":
        if not Path("/usr/share/java/axmlrpc.jar").is_file():
            return "/usr/share/java/axmlrpc.jar missing"
        return _runs("java", "-version") or _runs("javac", "-version") or _builds(sweep.java_build)
    if peer == "node-xmlrpc":
        if not (PEERS_DIR / "node_modules" / "xmlrpc").is_dir():
            return "tests/interop/peers/node_modules/xmlrpc missing"
        return _runs("node", "-e", 'require("xmlrpc")')
    if peer == "supervisor":
        for tool in ("supervisord", "supervisorctl"):
            if not (Path(PY).parent / tool).exists():
                return f"{tool} not next to {PY} (pip install supervisor)"
        return None
    raise KeyError(peer)


@functools.cache
def missing_peers() -> dict[str, str]:
    """Every peer that cannot run here, with why (detected once per test session)."""
    out = {}
    for peer in dict.fromkeys(VARIANTS.values()):
        why = _missing_reason(peer)
        if why is not None:
            out[peer] = why
    return out


# ------------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"{what} exited {proc.returncode} before listening: {err[-500:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what}: nothing listens on {port} after {TIMEOUT}s")


@contextmanager
def running(
    cmd: list[str], port: int, what: str, *, env: dict[str, str] | None = None, cwd: Path = REPO
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``cmd`` in a process group of its own, wait until ``port`` accepts, stop it after."""
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env or ENV,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        wait_port(port, proc, what)
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group started with ``proc`` (its own), SIGKILL it if it lingers."""
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    # children that outlived their leader (php -S workers, a shell's child)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.stderr is not None:
        proc.stderr.close()


def rpcspy(*args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "rpcspy", *args],
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=timeout,
        env=ENV,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
    )


@contextmanager
def proxy(upstream: int, capture: Path) -> Iterator[int]:
    """``rpcspy proxy`` in front of 127.0.0.1:upstream, recording to ``capture``; yields its port.

    Leaving the block stops it with SIGTERM, after which the capture is complete.
    """
    port = free_port()
    cmd = [PY, "-m", "rpcspy", "proxy", f"http://127.0.0.1:{upstream}"]
    cmd += ["--listen", f"127.0.0.1:{port}", "-w", str(capture), "-q"]
    with running(cmd, port, "rpcspy proxy") as proc:
        yield port
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        assert proc.returncode == 0, f"rpcspy proxy exited {proc.returncode}"


@contextmanager
def mock(capture: Path) -> Iterator[int]:
    port = free_port()
    cmd = [PY, "-m", "rpcspy", "mock", str(capture), "--port", str(port), "-q"]
    with running(cmd, port, "rpcspy mock"):
        yield port


@contextmanager
def demo_server() -> Iterator[int]:
    port = free_port()
    cmd = [PY, "-m", "rpcspy", "serve", "--host", "127.0.0.1", "--port", str(port), "-q"]
    with running(cmd, port, "rpcspy serve"):
        yield port


# ------------------------------------------------------------------------------- sessions


@dataclass
class Session:
    """One peer variant in one role, run straight, through the proxy and against the mock."""

    variant: str
    role: str
    capture: Path
    upstream: int = 0
    #: label -> what the client made of the answer (peer client: its printout; stdlib client:
    #: HTTP status and body), straight to the server, through the proxy, from the mock
    direct: dict[str, object] = field(default_factory=dict)
    proxied: dict[str, object] = field(default_factory=dict)
    mocked: dict[str, object] = field(default_factory=dict)
    records: list[CallRecord] = field(default_factory=list)
    replay: subprocess.CompletedProcess[str] | None = None
    lint: subprocess.CompletedProcess[str] | None = None
    lint_json: subprocess.CompletedProcess[str] | None = None


def _norm(text: str, ports: tuple[int, ...]) -> str:
    for p in ports:
        text = text.replace(str(p), "PORT")
    # supervisorctl status: "pid 123, uptime 0:00:03" ticks between runs
    text = re.sub(r"uptime \d+:\d\d:\d\d", "uptime H:MM:SS", text)
    # Ruby's inspect of a DateTime shows the object's address: #<XMLRPC::DateTime:0x00007f...>
    return re.sub(r":0x[0-9a-f]{16}", ":0xADDRESS", text)


def _norm_body(body: bytes) -> bytes:
    # supervisord's process info carries the time of the answer and the uptime
    body = re.sub(rb"uptime \d+:\d\d:\d\d", b"uptime H:MM:SS", body)
    # XMLRPC::Lite's "Can't locate no/such.pm ... at (eval 124) line 1.": a per-process counter
    body = re.sub(rb"\(eval \d+\)", b"(eval N)", body)
    return re.sub(rb"(<name>now</name>\s*<value><int>)\d+", rb"\g<1>NOW", body)


def post(port: int, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request(
            "POST",
            "/RPC2",
            body,
            {"Content-Type": "text/xml", "User-Agent": "rpcspy-interop-stdlib"},
        )
        resp = conn.getresponse()
        return resp.status, _norm_body(resp.read())
    finally:
        conn.close()


def server_bodies(variant: str) -> list[tuple[str, bytes]]:
    """The stdlib client's requests to a peer server: the sweep's scenarios, deviant ones too."""
    if variant == "supervisor":
        calls = sweep.SUPERVISOR_CALLS
        deviant: list[tuple[str, bytes]] = []
    else:
        calls = sweep.SERVER_SCENARIOS
        deviant = [(f"tolerance-{n}", b) for n, b in sweep.TOLERANCE_BODIES]
    return [
        (name, xmlrpc.client.dumps(params, method, allow_none=True, encoding="utf-8").encode())
        for name, method, params in calls
    ] + deviant


def client_commands(variant: str, upstream: int) -> list[tuple[str, list[str]]]:
    """label -> the peer client's command line, to be completed with the port it talks to."""
    meta = sweep.PEERS[variant]
    if variant == "supervisor":
        ctl = str(Path(PY).parent / "supervisorctl")
        return [(name, [ctl, "-s", "URL", *args]) for name, args in sweep.SUPERVISORCTL]
    scenarios = meta.get("client_scenarios", sweep.CLIENT_SCENARIOS)
    return [(sc, [*meta["client"], "127.0.0.1", "PORT", sc]) for sc in scenarios]


def _client_run(cmd: list[str], port: int, env: dict[str, str], ports: tuple[int, ...]) -> str:
    argv = [a.replace("PORT", str(port)).replace("URL", f"http://127.0.0.1:{port}") for a in cmd]
    r = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=TIMEOUT,
        env=env,
        cwd=PEERS_DIR,
        stdin=subprocess.DEVNULL,
    )
    return _norm(f"exit {r.returncode}\n{r.stdout.strip()}\n{r.stderr.strip()}", (port, *ports))


#: Answers that change from one call to the next on the same server: replay ignores them.
REPLAY_NOISE = {
    # the time of the answer, and "pid 123, uptime 0:00:03"
    "supervisor": [
        "supervisor.getAllProcessInfo: result[*].now",
        "supervisor.getAllProcessInfo: result[*].description",
    ],
    # "... at (eval 124) line 1.": Perl numbers each eval of the process
    "perl-xmlrpc-lite": [
        "no.such.method: fault.faultString",
        "system.multicall: result[*].faultString",
        "system.multicall: fault.faultString",
    ],
}


def _exercise(s: Session, upstream: int, env: dict[str, str], with_clients: bool) -> None:
    """Run the session's clients straight, through the proxy, then against the mock."""
    clients = client_commands(s.variant, upstream) if with_clients else []
    bodies = server_bodies(s.variant) if s.role == "server" else []

    def run_all(port: int, into: dict[str, object]) -> None:
        for label, cmd in clients:
            into[label] = _client_run(cmd, port, env, (upstream,))
        for label, body in bodies:
            into[label] = post(port, body)

    run_all(upstream, s.direct)
    with proxy(upstream, s.capture) as port:
        run_all(port, s.proxied)
    s.records = list(read_capture(s.capture))
    replay_args = [str(s.capture), "--target", f"http://127.0.0.1:{upstream}", "--no-progress"]
    for rule in REPLAY_NOISE.get(s.variant, []):
        replay_args += ["--ignore", rule]
    s.replay = rpcspy("replay", *replay_args)
    with mock(s.capture) as port:
        run_all(port, s.mocked)
    if lint_available():
        s.lint = rpcspy("lint", str(s.capture))
        s.lint_json = rpcspy("lint", str(s.capture), "--json")


@functools.cache
def lint_available() -> bool:
    return rpcspy("lint", "--help").returncode == 0


def run_session(variant: str, role: str, demo_port: int, workdir: Path) -> Session:
    capture = workdir / f"{variant}-{role}.jsonl"
    s = Session(variant, role, capture)
    meta = sweep.PEERS[variant]
    env = {**ENV, **meta.get("env", {})}
    if role == "client" and variant != "supervisor":
        s.upstream = demo_port
        _exercise(s, demo_port, env, with_clients=True)
        return s
    if variant == "supervisor":
        with supervisord(workdir) as port:
            s.upstream = port
            _exercise(s, port, env, with_clients=role == "client")
        return s
    port = free_port()
    cmd = [c.format(host="127.0.0.1", port=port) for c in meta["server"]]
    if "{port}" not in " ".join(meta["server"]):
        cmd += ["127.0.0.1", str(port)]
    with running(cmd, port, f"{variant} server", env=env, cwd=PEERS_DIR):
        s.upstream = port
        _exercise(s, port, env, with_clients=False)
    return s


@contextmanager
def supervisord(workdir: Path) -> Iterator[int]:
    tmp = Path(tempfile.mkdtemp(prefix="supervisor-", dir=workdir))
    port = free_port()
    conf = tmp / "supervisord.conf"
    template = (PEERS_DIR / "supervisor" / "supervisord.conf.in").read_text()
    conf.write_text(template.replace("{dir}", str(tmp)).replace("{port}", str(port)))
    cmd = [str(Path(PY).parent / "supervisord"), "-c", str(conf)]
    with running(cmd, port, "supervisord", cwd=tmp):
        yield port
