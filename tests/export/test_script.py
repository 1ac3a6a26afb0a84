"""``rpcspy export --to curl|python``: scripts that send a capture's calls again, byte for byte.

A real stdlib client sends Basic auth, an ``X-Api-Key``, a gzip-compressed body, a multicall, a
fault, non-ASCII text and a token in the URL through the real proxy to a demo server that checks
the password. The real ``rpcspy export`` writes both scripts; real bash + curl and python3 run
them against a fresh demo server with ``RPCSPY_TARGET`` pointing at a second proxy, whose capture
must hold the same request bodies, call by call. Scripts of hand-made bodies (every byte value,
NUL included) run against a raw server that keeps the bytes it got, under bash and dash.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import threading
import xmlrpc.client
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from pathlib import Path

import pytest

from rpcspy.capture import CallRecord, CaptureWriter, HttpMessage, build_record, read_capture
from rpcspy.capture.summary import outcome
from rpcspy.export.script import SNIPPET_MODE, export_curl, export_python
from rpcspy.proxy import ProxyConfig
from rpcspy.server import DemoServer, ServerConfig
from tests.proxy.helpers import RawUpstream, ThreadedProxy

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")

RPCSPY = str(Path(sys.executable).with_name("rpcspy"))
PASSWORD = "pw-Export-5ecret"
API_KEY = "key-Export-5ecret"
TOKEN = "tok-Export-5ecret"
SECRETS = (PASSWORD, API_KEY, TOKEN, base64.b64encode(f"alice:{PASSWORD}".encode()).decode())
SECRET_ENV = {
    "RPCSPY_USER": "alice",
    "RPCSPY_PASSWORD": PASSWORD,
    "RPCSPY_HEADER_X_API_KEY": API_KEY,
    "RPCSPY_QUERY_ACCESS_TOKEN": TOKEN,
}
NON_ASCII = "héllo wörld ✓ 日本語 \u2028 end"
#: What each script prints for a call: ``#3 echo: HTTP 200 ok (recorded: HTTP 200 ok)``.
LINE = re.compile(r"^#(\d+) (\S+): (.*) \(recorded: (.*)\)$")


def _env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RPCSPY_")}
    return {**base, **extra}


def _rpcspy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RPCSPY, *args], capture_output=True, text=True, timeout=120, env=_env(NO_COLOR="1")
    )


def _argv(script: Path, shell: str = "bash") -> list[str]:
    # The Python script uses the standard library alone: -I -S keeps the venv and rpcspy out.
    if script.suffix == ".py":
        return [sys.executable, "-I", "-S", str(script)]
    return [shell, str(script)]


def _run(
    script: Path, env: dict[str, str], shell: str = "bash"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _argv(script, shell), capture_output=True, text=True, timeout=120, env=env
    )


def _export(capture: Path, fmt: str, out: Path, *more: str) -> subprocess.CompletedProcess[str]:
    done = _rpcspy("export", str(capture), "--to", fmt, "-o", str(out), "--no-progress", *more)
    assert done.returncode == 0, done.stdout + done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == SNIPPET_MODE
    return done


@dataclass
class Recorded:
    capture: Path
    records: list[CallRecord]
    confdir: Path


def _client_calls(address: str) -> None:
    """The calls a stdlib client makes through the proxy at ``address`` (``host:port``)."""
    url = f"http://alice:{PASSWORD}@{address}/RPC2"
    headers = [("X-Api-Key", API_KEY)]
    proxy = xmlrpc.client.ServerProxy(url, headers=headers)
    assert proxy.add(2, 3) == 5
    assert proxy.echo(NON_ASCII) == NON_ASCII.upper()
    # The stdlib compresses a request body when its transport's encode_threshold is set.
    squeezed = xmlrpc.client.Transport(headers=headers)
    squeezed.encode_threshold = 0
    long_text = "gzip me " * 600 + NON_ASCII
    gz = xmlrpc.client.ServerProxy(url, transport=squeezed)
    assert gz.echo(long_text) == long_text.upper()
    multi = xmlrpc.client.MultiCall(proxy)
    multi.add(1, 2)
    multi.demo.fault(7, "inside a multicall")
    multi.demo.echo(xmlrpc.client.Binary(bytes(range(256))))
    results = multi()
    assert results[0] == 3 and results[2] == xmlrpc.client.Binary(bytes(range(256)))
    with pytest.raises(xmlrpc.client.Fault):
        results[1]
    with pytest.raises(xmlrpc.client.Fault) as fault:
        proxy.demo.fault(4, "boom")
    assert fault.value.faultCode == 4
    # The demo server serves /RPC2 without a query: this call is recorded as a 404.
    with_token = xmlrpc.client.ServerProxy(f"{url}?access_token={TOKEN}&page=2", headers=headers)
    with pytest.raises(xmlrpc.client.ProtocolError) as refused:
        with_token.add(2, 3)
    assert refused.value.errcode == 404


@contextlib.contextmanager
def _recording(capture: Path, confdir: Path, **server: object) -> Iterator[ThreadedProxy]:
    """A demo server with Basic auth behind rpcspy's proxy, which records to ``capture``."""
    options = {"port": 0, "quiet": True, "user": "alice", "password": PASSWORD, **server}
    with DemoServer(ServerConfig(**options)) as demo:  # type: ignore[arg-type]
        config = ProxyConfig(
            target=demo.base_url, listen_port=0, capture=capture, confdir=confdir, quiet=True
        )
        with ThreadedProxy(config) as proxy:
            yield proxy


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    where = tmp_path_factory.mktemp("recorded")
    capture, confdir = where / "first.jsonl", where / "mitmproxy"
    with _recording(capture, confdir) as proxy:
        _client_calls(proxy.url.split("://", 1)[1])
        proxy.wait_records(6)
    records = list(read_capture(capture))
    # What the calls are, as recorded: the cases the scripts must send again exactly.
    assert [r.method for r in records] == [
        "add",
        "echo",
        "echo",
        "system.multicall",
        "demo.fault",
        "add",
    ]
    assert records[2].request.content_encoding == "gzip"
    assert gzip.decompress(records[2].request.body or b"").startswith(b"<?xml")
    assert NON_ASCII.encode() in (records[1].request.body or b"")
    assert [outcome(r).text for r in records] == [
        "ok",
        "ok",
        "ok",
        "ok, 1/3 faulted",
        "fault 4",
        "http 404",
    ]
    assert all(r.redacted for r in records)
    for secret in SECRETS:
        assert secret not in capture.read_text()
    return Recorded(capture, records, confdir)


def _same_requests(first: list[CallRecord], again: list[CallRecord]) -> None:
    """The second recording holds the first one's requests: bodies byte for byte, the headers
    that matter, the path; and the server answered the same way (the password was right)."""
    assert len(again) == len(first)
    for old, new in zip(first, again, strict=True):
        assert new.request.body == old.request.body, old.seq
        assert new.request.content_encoding == old.request.content_encoding
        for name in ("Content-Type", "Content-Encoding", "User-Agent", "Authorization"):
            assert new.request.header(name) == old.request.header(name), (old.seq, name)
        assert new.request.header("X-Api-Key") == "<redacted>"
        assert new.path == old.path
        assert new.status == old.status
        assert outcome(new).text == outcome(old).text


@pytest.mark.parametrize("fmt", ["curl", "python"])
def test_a_script_sends_every_call_again_byte_for_byte(
    recorded: Recorded, fmt: str, tmp_path: Path
) -> None:
    script = tmp_path / ("again.sh" if fmt == "curl" else "again.py")
    done = _export(recorded.capture, fmt, script)
    assert done.stdout.strip() == (
        f"6 calls exported to {script}, reads RPCSPY_HEADER_X_API_KEY, RPCSPY_USER, "
        "RPCSPY_PASSWORD, RPCSPY_QUERY_ACCESS_TOKEN"
    )
    text = script.read_text()
    for secret in SECRETS:
        assert secret not in text
    assert "<redacted>" not in text
    # One comment line per call: its number, method and recorded outcome.
    comments = re.findall(r"^# (#\d+ .*)$", text, re.M)
    assert comments[0].startswith("#1 add: ok (HTTP 200, ")
    assert [c.split(" (")[0] for c in comments] == [
        "#1 add: ok",
        "#2 echo: ok",
        "#3 echo: ok",
        "#4 system.multicall[3]: ok, 1/3 faulted",
        "#5 demo.fault: fault 4",
        "#6 add: http 404",
    ]

    again = tmp_path / "again.jsonl"
    with _recording(again, recorded.confdir) as proxy:
        ran = _run(script, _env(RPCSPY_TARGET=proxy.url, **SECRET_ENV))
        assert ran.returncode == 0, ran.stdout + ran.stderr
        proxy.wait_records(6)
    _same_requests(recorded.records, list(read_capture(again)))

    # One line per call, in capture order: what came back beside what was recorded.
    lines = [LINE.match(line) for line in ran.stdout.splitlines()]
    assert all(lines), ran.stdout
    assert [m.group(1) for m in lines if m] == ["1", "2", "3", "4", "5", "6"]
    for match in lines:
        assert match is not None
        got, was = match.group(3), match.group(4)
        if fmt == "curl":  # curl tells the status
            assert was.startswith(got), ran.stdout
        else:  # Python tells the outcome too, in rpcspy's words
            assert got == was, ran.stdout
    assert "(recorded: HTTP 200 ok, 1/3 faulted)" in ran.stdout
    assert "#6 add: HTTP 404 (recorded: HTTP 404)" in ran.stdout


def _raw_record(seq: int, body: bytes, headers: tuple[tuple[str, str], ...] = ()) -> CallRecord:
    return build_record(
        HttpMessage(headers, body, dict(headers).get("Content-Encoding")),
        None,
        started=1_700_000_000.0 + seq,
        ended=None,
        client=("127.0.0.1", 50000),
        server=("127.0.0.1", 9),
        scheme="http",
        host="127.0.0.1",
        port=9,
        path="/RPC2",
        status=None,
        seq=seq,
    )


#: Bodies no text-minded writer gets right: every byte value (NUL, CR, 0xff), the shell's and
#: printf's own characters, an empty body, one that starts like an option, random bytes.
ODD_BODIES = [
    bytes(range(256)) * 3,
    b"%s %% \\n \\0 \\ ' \" ` $(x) ${y} \r\n\t end\\",
    b"",
    b"-n --version",
    b"\n\n",
    os.urandom(200_000),
    gzip.compress(b"<?xml version='1.0'?><methodCall><methodName>x</methodName></methodCall>"),
]


def _odd_capture(path: Path) -> Path:
    records = [_raw_record(i + 1, body) for i, body in enumerate(ODD_BODIES)]
    records[-1] = _raw_record(
        len(ODD_BODIES),
        ODD_BODIES[-1],
        # A header value as mitmproxy keeps one that is not UTF-8: a lone surrogate per byte.
        (("Content-Encoding", "gzip"), ("X-Empty", ""), ("X-Bytes", "caf\udce9 \u00fc")),
    )
    with CaptureWriter(path) as writer:
        for record in records:
            writer.write(record)
    return path


@pytest.mark.parametrize(
    ("fmt", "shell"), [("curl", "bash"), ("curl", "dash"), ("python", "python3")]
)
def test_odd_bodies_arrive_byte_for_byte(fmt: str, shell: str, tmp_path: Path) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    capture = _odd_capture(tmp_path / "odd.jsonl")
    script = tmp_path / ("odd.sh" if fmt == "curl" else "odd.py")
    _export(capture, fmt, script)
    upstream = RawUpstream()
    try:
        ran = _run(script, _env(RPCSPY_TARGET=upstream.url), shell)
    finally:
        upstream.close()
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert upstream.bodies == ODD_BODIES
    heads = [raw.partition(b"\r\n\r\n")[0].lower() for raw in upstream.received]
    # Only the headers recorded: no client's own Content-Type, User-Agent, Accept, Expect.
    for head in heads[:-1]:
        assert b"content-type" not in head and b"user-agent" not in head
        assert b"accept" not in head and b"expect" not in head
    assert b"\r\ncontent-encoding: gzip" in heads[-1] and b"\r\nx-empty:" in heads[-1]
    assert b"\r\nx-bytes: caf\xe9 \xc3\xbc" in heads[-1]


def test_a_missing_secret_stops_the_script_before_it_sends_anything(
    recorded: Recorded, tmp_path: Path
) -> None:
    upstream = RawUpstream()
    try:
        for fmt, name in (("curl", "again.sh"), ("python", "again.py")):
            script = tmp_path / name
            _export(recorded.capture, fmt, script)
            partial = {k: v for k, v in SECRET_ENV.items() if k != "RPCSPY_PASSWORD"}
            partial["RPCSPY_HEADER_X_API_KEY"] = ""  # set but empty counts as missing
            ran = _run(script, _env(RPCSPY_TARGET=upstream.url, **partial))
            assert ran.returncode == 2, ran.stdout + ran.stderr
            assert ran.stdout == ""
            assert ran.stderr.strip() == (
                "not sent: set RPCSPY_HEADER_X_API_KEY RPCSPY_PASSWORD (see the top of this script)"
            )
            # The check at the top names every variable the script reads.
            for variable in SECRET_ENV:
                assert f"#   {variable} " in script.read_text()
            bad = _run(script, _env(RPCSPY_TARGET="ftp://127.0.0.1:1", **SECRET_ENV))
            assert bad.returncode == 2 and "RPCSPY_TARGET must be" in bad.stderr
    finally:
        upstream.close()
    assert upstream.received == []


def test_filter_selects_the_calls_and_https_needs_insecure_for_a_self_signed_server(
    recorded: Recorded, tmp_path: Path
) -> None:
    for fmt, name in (("curl", "faults.sh"), ("python", "faults.py")):
        script = tmp_path / name
        done = _export(recorded.capture, fmt, script, "--filter", "fault or method:echo")
        assert done.stdout.startswith(f"4 calls exported to {script}")
        text = script.read_text()
        assert re.findall(r"^# #(\d+) ", text, re.M) == ["2", "3", "4", "5"]
        with DemoServer(
            ServerConfig(port=0, quiet=True, user="alice", password=PASSWORD, tls=True)
        ) as server:
            target = server.base_url
            assert target.startswith("https://")
            env = _env(RPCSPY_TARGET=target, **SECRET_ENV)
            refused = _run(script, env)
            insecure = _run(script, {**env, "RPCSPY_INSECURE": "1"})
        # The self-signed certificate stops the first call, and with it the script.
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert len(refused.stdout.splitlines()) == 1 and "no answer" in refused.stdout
        assert "stopped: cannot reach" in refused.stderr
        assert insecure.returncode == 0, insecure.stdout + insecure.stderr
        got = [LINE.match(line) for line in insecure.stdout.splitlines()]
        assert [m.group(1) for m in got if m] == ["2", "3", "4", "5"]
        if fmt == "python":
            assert all(m and m.group(3) == m.group(4) for m in got), insecure.stdout


@contextlib.contextmanager
def _closing_server() -> Iterator[int]:
    """A server on the port yielded that reads each request and closes the connection without an
    answer; nothing listens on the port once the block is left."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)  # accept() wakes up to notice the end
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                with contextlib.suppress(OSError):
                    conn.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        thread.join(5)
        listener.close()


@pytest.mark.parametrize("fmt", ["curl", "python"])
def test_calls_without_an_answer_fail_the_script_and_an_absent_server_stops_it(
    recorded: Recorded, fmt: str, tmp_path: Path
) -> None:
    script = tmp_path / ("again.sh" if fmt == "curl" else "again.py")
    _export(recorded.capture, fmt, script, "--filter", "method:echo")
    with _closing_server() as port:
        dropped = _run(script, _env(RPCSPY_TARGET=f"http://127.0.0.1:{port}", **SECRET_ENV))
    # Each call is tried: no answer, then the next one; the script fails at the end.
    assert dropped.returncode == 1, dropped.stdout + dropped.stderr
    assert [line.split(":")[0] for line in dropped.stdout.splitlines()] == ["#2 echo", "#3 echo"]
    assert all("no answer" in line for line in dropped.stdout.splitlines())
    assert "2 call(s) got no answer" in dropped.stderr
    # Nothing listens on the port now: the first call stops the script.
    absent = _run(script, _env(RPCSPY_TARGET=f"http://127.0.0.1:{port}", **SECRET_ENV))
    assert absent.returncode == 1
    assert len(absent.stdout.splitlines()) == 1
    assert f"stopped: cannot reach http://127.0.0.1:{port}" in absent.stderr


def test_the_exporters_write_private_files_and_leave_out_calls_without_a_body(
    tmp_path: Path,
) -> None:
    records = [_raw_record(1, b"<methodCall/>"), _raw_record(2, b"x")]
    records[1] = build_record(
        HttpMessage((), None),
        None,
        started=1.0,
        ended=None,
        client=None,
        server=None,
        scheme="http",
        host="127.0.0.1",
        port=9,
        path="/RPC2",
        status=None,
        seq=2,
    )
    old = os.umask(0)
    try:
        for export, name in ((export_curl, "a.sh"), (export_python, "a.py")):
            done = export(iter(records), tmp_path / name, source=tmp_path / "c.jsonl")
            assert (done.calls, done.detail) == (1, "1 left out: request body not recorded")
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == SNIPPET_MODE
            text = (tmp_path / name).read_text()
            assert "# #2: not sent, its request body was not recorded whole (streamed)" in text
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py", "a.sh"]


@pytest.mark.parametrize("fmt", ["curl", "python"])
def test_header_names_from_a_hostile_capture_never_run(fmt: str, tmp_path: Path) -> None:
    # Header names and values come from the capture. ` and $ are legal in a name (and sent as
    # they are); a space, ( or a line break is not, and such a header is left out, named.
    headers = (
        ("Content-Type", "text/xml"),
        ("X-`touch pwned-1`", "v"),
        ("X-$(touch pwned-2)", "<redacted>"),
        ("X-A\ntouch pwned-3", "v"),
        ("X-Ok", "a\r\nX-Injected: 1"),
        ("X-`id`", "$(touch pwned-4)"),
        ("X-$HOME", "<redacted>"),
    )
    record = dataclass_replace(_raw_record(1, b"<methodCall/>", headers), redacted=True)
    capture = tmp_path / "hostile.jsonl"
    with CaptureWriter(capture) as writer:
        writer.write(record)
    script = tmp_path / ("hostile.sh" if fmt == "curl" else "hostile.py")
    _export(capture, fmt, script)
    text = script.read_text()
    assert "# not sent, not valid in HTTP/1.1: X-`touch pwned-1`, X-$(touch pwned-2), " in text
    assert "X-A?touch pwned-3, X-Ok" in text
    work = tmp_path / "work"
    work.mkdir()
    upstream = RawUpstream()
    try:
        bare = subprocess.run(
            _argv(script),
            cwd=work,
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(RPCSPY_TARGET=upstream.url),
        )
        assert bare.returncode == 2 and "RPCSPY_HEADER_X__HOME" in bare.stderr
        ran = subprocess.run(
            _argv(script),
            cwd=work,
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(RPCSPY_TARGET=upstream.url, RPCSPY_HEADER_X__HOME="home"),
        )
    finally:
        upstream.close()
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert list(work.iterdir()) == []
    assert upstream.bodies == [b"<methodCall/>"]
    head = upstream.received[0].partition(b"\r\n\r\n")[0]
    assert b"\r\nX-`id`: $(touch pwned-4)" in head and b"\r\nX-$HOME: home" in head
    assert b"pwned-1" not in head and b"pwned-2" not in head and b"Injected" not in head
