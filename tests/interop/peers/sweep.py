#!/usr/bin/env python3
"""Drive the real XML-RPC peers through record_relay and keep the exact bytes.

    PYTHONPATH=. .venv/bin/python tests/interop/peers/sweep.py [--peer NAME ...] [--out DIR]

Client role: the peer's client script calls rpcspy's demo server (``rpcspy
serve``) through the relay. Server role: the peer's server script is called
through the relay by a stdlib client that sends fixed bodies made with
``xmlrpc.client.dumps`` (allow_none). Each exchange lands in
``OUT/<peer>/<role>-<scenario>[-N].request.http`` / ``.response.http`` and is
listed, with the deviations spotted by deviations.py and what the stdlib's
``xmlrpc.client.loads`` makes of it, in ``OUT/manifest.json`` (entries of the
peers swept this run replace that peer's earlier entries).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE))

from deviations import analyze, split_http, stdlib_verdict  # noqa: E402
from record_relay import Relay  # noqa: E402

PY = sys.executable
CLIENT_SCENARIOS = ["plain", "string", "bigint", "fault", "multicall", "nil", "types"]

# Server-role scenarios: (name, method, params)
SERVER_SCENARIOS = [
    ("plain", "add", (2, 3)),
    ("string", "echo", ("a<b & c> \u00e9",)),
    ("bigint", "bigstruct", ()),
    ("fault", "fail", ()),
    ("crash", "crash", ()),
    ("unknown", "no.such.method", ()),
    (
        "multicall",
        "system.multicall",
        ([{"methodName": "add", "params": [1, 2]}, {"methodName": "fail", "params": []}],),
    ),
    ("nil", "nil", ()),
    ("nil-arg", "echo", (None,)),
    ("types", "types", ()),
]


def _call(value_xml: str, *, decl: str = '<?xml version="1.0"?>', method: str = "echo") -> bytes:
    return (
        f"{decl}<methodCall><methodName>{method}</methodName><params><param>"
        f"<value>{value_xml}</value></param></params></methodCall>"
    ).encode()


# Tolerance: hand-made deviant requests to each peer server's echo(x); the
# response shows whether that real implementation accepts the deviation.
TOLERANCE_BODIES: list[tuple[str, bytes]] = [
    ("int-out-of-range", _call("<i4>1099511627776</i4>")),
    ("whitespace-in-int", _call("<int> 42 </int>")),
    ("empty-value", _call("")),
    ("array-without-data", _call("<array><value><int>1</int></value></array>")),
    (
        "duplicate-member",
        _call(
            "<struct><member><name>a</name><value><int>1</int></value></member>"
            "<member><name>a</name><value><int>2</int></value></member></struct>"
        ),
    ),
    (
        "member-order",
        _call("<struct><member><value><int>1</int></value><name>a</name></member></struct>"),
    ),
    ("unknown-type-tag", _call("<float>1.5</float>")),
    ("decl-not-first", b"\n  " + _call("<int>1</int>")),
    (
        "utf16-without-bom",
        _call("<string>\u00e9</string>", decl='<?xml version="1.0" encoding="UTF-16"?>')
        .decode()
        .encode("utf-16-le"),
    ),
    ("boolean-true", _call("<boolean>true</boolean>")),
    ("nil", _call("<nil/>")),
    (
        "ex-nil",
        _call("<ex:nil/>").replace(
            b"<methodCall>",
            b'<methodCall xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions">',
        ),
    ),
    ("ex-nil-undeclared", _call("<ex:nil/>")),
    ("i8", _call("<i8>1099511627776</i8>")),
    ("datetime-extended", _call("<dateTime.iso8601>2026-12-01T08:30:00Z</dateTime.iso8601>")),
    ("base64-wrapped", _call("<base64>aGVsbG8gd29y\nbGQgaGVsbG8g\nd29ybGQ=\n</base64>")),
    ("untyped-value", _call("bare text")),
]


def _response(value_xml: str) -> bytes:
    return (
        '<?xml version="1.0"?><methodResponse><params><param>'
        f"<value>{value_xml}</value></param></params></methodResponse>"
    ).encode()


def _fault(members: str) -> bytes:
    return (
        '<?xml version="1.0"?><methodResponse><fault><value>'
        f"<struct>{members}</struct></value></fault></methodResponse>"
    ).encode()


_CODE = "<member><name>faultCode</name><value><int>4</int></value></member>"
_STRING = "<member><name>faultString</name><value><string>boom</string></value></member>"
# Client tolerance: a stub server answers the peer client's add(2, 3) with these
# hand-made deviant responses; the peer client's printout is its verdict.
RESPONSE_BODIES: list[tuple[str, bytes]] = [
    ("int-out-of-range", _response("<i4>1099511627776</i4>")),
    ("whitespace-in-int", _response("<int> 42 </int>")),
    ("empty-value", _response("")),
    ("array-without-data", _response("<array><value><int>1</int></value></array>")),
    (
        "duplicate-member",
        _response(
            "<struct><member><name>a</name><value><int>1</int></value></member>"
            "<member><name>a</name><value><int>2</int></value></member></struct>"
        ),
    ),
    (
        "member-order",
        _response("<struct><member><value><int>1</int></value><name>a</name></member></struct>"),
    ),
    ("unknown-type-tag", _response("<float>1.5</float>")),
    ("decl-not-first", b"\n  " + _response("<int>1</int>")),
    (
        "utf16-without-bom",
        _response("<string>\u00e9</string>")
        .replace(b'"1.0"?>', b'"1.0" encoding="UTF-16"?>')
        .decode()
        .encode("utf-16-le"),
    ),
    ("boolean-true", _response("<boolean>true</boolean>")),
    ("nil", _response("<nil/>")),
    (
        "ex-nil",
        _response("<ex:nil/>").replace(
            b"<methodResponse>",
            b'<methodResponse xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions">',
        ),
    ),
    ("i8", _response("<i8>1099511627776</i8>")),
    ("datetime-extended", _response("<dateTime.iso8601>2026-12-01T08:30:00Z</dateTime.iso8601>")),
    (
        "fault-code-not-int",
        _fault(
            "<member><name>faultCode</name><value><string>Client</string></value></member>"
            + _STRING
        ),
    ),
    (
        "fault-extra-member",
        _fault(
            _CODE
            + _STRING
            + "<member><name>detail</name><value><string>x</string></value></member>"
        ),
    ),
    ("fault-missing-member", _fault("")),
]


def dpkg_version(pkg: str) -> str:
    try:
        return subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "not installed"


def npm_version() -> str:
    try:
        return json.loads((HERE / "node_modules/xmlrpc/package.json").read_text())["version"]
    except OSError:
        return "not installed"


def ruby_version() -> str:
    try:
        return subprocess.run(
            ["ruby", "-e", "print RUBY_VERSION"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "not installed"


def pip_version(name: str) -> str:
    import importlib.metadata as md

    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return "not installed"


def c_build() -> Path:
    """Compile the xmlrpc-c peer (client and server) into tests/interop/peers/c/build."""
    out = HERE / "c" / "build"
    out.mkdir(exist_ok=True)
    for name, libs in (("client", "client"), ("server", "abyss-server")):
        src, exe = HERE / "c" / f"{name}.c", out / name
        if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
            flags = subprocess.run(
                ["xmlrpc-c-config", libs, "--cflags", "--libs"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            # libxmlrpc_client.so already links libcurl;
            # -lcurl would need the -dev package for nothing
            flags = [f for f in flags if f != "-lcurl"]
            subprocess.run(["cc", "-O0", "-o", str(exe), str(src), *flags], check=True)
    return out


def java_build() -> Path:
    out = HERE / "java" / "build"
    out.mkdir(exist_ok=True)
    src = HERE / "java" / "Client.java"
    if (
        not (out / "Client.class").exists()
        or (out / "Client.class").stat().st_mtime < src.stat().st_mtime
    ):
        subprocess.run(
            ["javac", "-cp", "/usr/share/java/axmlrpc.jar", "-d", str(out), str(src)], check=True
        )
    return out


PEERS: dict[str, dict] = {
    "supervisor": {
        "version": lambda: f"PyPI supervisor {pip_version('supervisor')}",
        "special": lambda *a: supervisor_sweep(*a),
        "config": "supervisord with [inet_http_server] on 127.0.0.1; client = supervisorctl; "
        "server role = the stdlib raw client calling supervisord",
    },
    "ruby-xmlrpc": {
        "version": lambda: f"ruby-xmlrpc {dpkg_version('ruby-xmlrpc')} (ruby {ruby_version()})",
        "client": ["ruby", str(HERE / "ruby/client.rb")],
        "server": ["ruby", str(HERE / "ruby/server.rb")],
        "config": "library defaults",
    },
    "ruby-xmlrpc-enable": {
        "version": lambda: f"ruby-xmlrpc {dpkg_version('ruby-xmlrpc')} (ruby {ruby_version()})",
        "client": ["ruby", str(HERE / "ruby/client.rb")],
        "server": ["ruby", str(HERE / "ruby/server.rb")],
        "env": {"PEER_RUBY_ENABLE": "1"},
        "config": "PEER_RUBY_ENABLE=1: XMLRPC::Config::ENABLE_BIGINT, ENABLE_NIL_CREATE, "
        "ENABLE_NIL_PARSER = true",
    },
    "node-xmlrpc": {
        "version": lambda: f"npm xmlrpc {npm_version()} (nodejs {dpkg_version('nodejs')})",
        "client": ["node", str(HERE / "node/client.js")],
        "server": ["node", str(HERE / "node/server.js")],
        "config": "library defaults",
    },
    "perl-xmlrpc-lite": {
        "version": lambda: (
            f"libxmlrpc-lite-perl {dpkg_version('libxmlrpc-lite-perl')} "
            f"(libsoap-lite-perl {dpkg_version('libsoap-lite-perl')})"
        ),
        "client": ["perl", str(HERE / "perl/lite_client.pl")],
        "observed": {
            ("client", "string"): [
                ("string-as-base64", "a string with a non-ASCII character is sent as <base64>")
            ],
        },
        "server": ["perl", str(HERE / "perl/lite_server.pl")],
        "config": "library defaults",
    },
    "perl-frontier": {
        "version": lambda: f"libfrontier-rpc-perl {dpkg_version('libfrontier-rpc-perl')}",
        "client": ["perl", str(HERE / "perl/frontier_client.pl")],
        "observed": {
            ("client", "nil"): [("nil-as-empty-string", "undef is sent as <string></string>")],
            ("server", "nil"): [("nil-as-empty-string", "undef is answered as <string></string>")],
        },
        "server": ["perl", str(HERE / "perl/frontier_server.pl")],
        "config": "library defaults",
    },
    "php-xmlrpc": {
        "version": lambda: (
            f"php8.2-xmlrpc {dpkg_version('php8.2-xmlrpc')} "
            f"(php8.2-cli {dpkg_version('php8.2-cli')})"
        ),
        "client": ["php", str(HERE / "php/client.php")],
        "client_scenarios": [*CLIENT_SCENARIOS, "string-utf8", "utf16"],
        "observed": {
            ("client", "bigint"): [
                ("int-truncated", "1099511627776 is sent as <int>0</int>: silently cut to 32 bits")
            ],
            ("server", "bigint"): [
                (
                    "int-truncated",
                    "1099511627776 is answered as <int>0</int>: silently cut to 32 bits",
                )
            ],
            ("client", "string"): [
                (
                    "utf8-bytes-as-char-refs",
                    "the UTF-8 bytes of \u00e9 are written as &#195;&#169; "
                    "under encoding=iso-8859-1 (mojibake)",
                )
            ],
            ("server", "string"): [
                (
                    "utf8-bytes-as-char-refs",
                    "the UTF-8 bytes of \u00e9 are written as &#195;&#169; "
                    "under encoding=iso-8859-1 (mojibake)",
                )
            ],
            ("client", "nil"): [("nil-as-empty-string", "null is sent as <string/>")],
            ("client", "utf16"): [
                (
                    "encoding-decl-mismatch",
                    'declares encoding="UTF-16" but writes single-byte ASCII '
                    "(no BOM, no UTF-16 code units)",
                )
            ],
            ("server", "nil"): [("nil-as-empty-string", "null is answered as <string/>")],
        },
        "server": ["php", "-S", "{host}:{port}", str(HERE / "php/server.php")],
        "config": "library defaults; server under php -S",
    },
    "xmlrpc-c": {
        "version": lambda: f"libxmlrpc-core-c3 {dpkg_version('libxmlrpc-core-c3')}",
        "build": c_build,
        "client": [str(HERE / "c/build/client")],
        "server": [str(HERE / "c/build/server")],
        "config": "library defaults (xmlrpc_dialect_i8)",
    },
    "xmlrpc-c-apache": {
        "version": lambda: f"libxmlrpc-core-c3 {dpkg_version('libxmlrpc-core-c3')}",
        "build": c_build,
        "client": [str(HERE / "c/build/client")],
        "server": [str(HERE / "c/build/server")],
        "env": {"PEER_C_DIALECT": "apache"},
        "config": "PEER_C_DIALECT=apache: xmlrpc_dialect_apache "
        "(clientparms.dialect / xmlrpc_registry_set_dialect)",
    },
    "java-axmlrpc": {
        "version": lambda: (
            f"libaxmlrpc-java {dpkg_version('libaxmlrpc-java')} "
            f"(openjdk {dpkg_version('openjdk-17-jre-headless')})"
        ),
        "build": java_build,
        "client": ["java", "-cp", f"{HERE / 'java/build'}:/usr/share/java/axmlrpc.jar", "Client"],
        "config": "FLAGS_NONE, except: nil uses FLAGS_NIL, "
        "nil-apache FLAGS_NIL|FLAGS_APACHE_WS, bigint-8byte FLAGS_8BYTE_INT",
        "client_scenarios": [*CLIENT_SCENARIOS, "bigint-8byte", "nil-apache"],
    },
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def stdlib_post(port: int, method: str, params: tuple, body: bytes | None = None) -> None:
    if body is None:
        body = xmlrpc.client.dumps(params, method, allow_none=True, encoding="utf-8").encode(
            "utf-8"
        )
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request(
            "POST",
            "/RPC2",
            body,
            {"Content-Type": "text/xml", "User-Agent": "rpcspy-interop-stdlib"},
        )
        conn.getresponse().read()
    finally:
        conn.close()


def peer_verdict(resp: bytes) -> str:
    """What a peer server's answer says about a deviant request."""
    import re

    head, _, body = split_http(resp)
    status = head.split(b"\r\n", 1)[0].decode("latin-1")
    try:
        params, _ = xmlrpc.client.loads(body)
    except xmlrpc.client.Fault as f:
        return f"fault {f.faultCode!r}: {str(f.faultString)[:160]}"
    except Exception as exc:
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", body.decode("utf-8", "replace"))).strip()
        if b"<methodResponse" in body:
            return (
                f"accepts: echoes it verbatim ({text[:60]!r}), which the stdlib then refuses: {exc}"
            )[:200]
        text = re.sub(r"^.*?Internal Server Error ", "", text)
        return f"no XML-RPC answer: {status}: {text[:140]}"
    value = params[0]
    if isinstance(value, xmlrpc.client.Binary):
        value = value.data
    elif isinstance(value, xmlrpc.client.DateTime):
        value = f"<dateTime {value.value}>"
    return f"accepts: echoes {value!r}"[:200]


class Sweep:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.entries: list[dict] = []

    def save(self, peer: str, meta: dict, role: str, scenario: str, exchanges, note: str) -> None:
        d = self.out / peer
        d.mkdir(parents=True, exist_ok=True)
        if not exchanges:
            print(f"  {role}-{scenario}: NO EXCHANGE ({note})")
            self.entries.append(
                {
                    "peer": meta["name"],
                    "variant": peer,
                    "version": meta["version_str"],
                    "config": meta.get("config", ""),
                    "role": role,
                    "scenario": scenario,
                    "method": None,
                    "files": None,
                    "peer_wrote": None,
                    "peer_output": note,
                    "refused": "the peer sent nothing: it refused to encode this call",
                }
            )
        for i, (req, resp) in enumerate(exchanges):
            stem = f"{role}-{scenario}" + (f"-{i + 1}" if len(exchanges) > 1 else "")
            (d / f"{stem}.request.http").write_bytes(req)
            (d / f"{stem}.response.http").write_bytes(resp)
            _, _, req_body = split_http(req)
            _, _, resp_body = split_http(resp)
            try:
                method = xmlrpc.client.loads(req_body)[1]
            except Exception:
                import re

                m = re.search(rb"<methodName>([^<]*)</methodName>", req_body)
                method = m.group(1).decode("latin-1") if m else None
            # The peer wrote the request when it is the client, the response when it is the server.
            peer_side = "request" if role in ("client", "client-tolerance") else "response"
            entry = {
                "peer": meta["name"],
                "variant": peer,
                "version": meta["version_str"],
                "config": meta.get("config", ""),
                "role": role,
                "scenario": scenario,
                "method": method,
                "files": {
                    "request": f"{peer}/{stem}.request.http",
                    "response": f"{peer}/{stem}.response.http",
                },
                "peer_wrote": peer_side,
                "request": {"deviations": analyze(req, request=True), **stdlib_verdict(req_body)},
                "response": {
                    "deviations": analyze(resp, request=False),
                    **stdlib_verdict(resp_body),
                },
                "peer_output": note,
            }
            if role == "tolerance":
                entry["peer_verdict"] = peer_verdict(resp)
            if role == "client-tolerance":
                entry["peer_verdict"] = note
            for rule, detail in meta.get("observed", {}).get((role, scenario), []):
                entry[peer_side]["deviations"].append(
                    {"rule": rule, "detail": detail, "by": "hand"}
                )
            self.entries.append(entry)
            devs = [x["rule"] for x in entry[peer_side]["deviations"]]
            print(f"  {stem}: {method} -> {devs} stdlib={entry[peer_side]['stdlib'][:60]}")

    def client_role(self, peer: str, meta: dict, demo_port: int) -> None:
        relay = Relay("127.0.0.1", demo_port).start()
        env = {**os.environ, **meta.get("env", {})}
        try:
            for sc in meta.get("client_scenarios", CLIENT_SCENARIOS):
                relay.take()
                r = subprocess.run(
                    [*meta["client"], "127.0.0.1", str(relay.port), sc],
                    capture_output=True,
                    text=True,
                    errors="backslashreplace",
                    timeout=60,
                    env=env,
                    cwd=HERE,
                )
                note = (
                    r.stdout.strip()
                    + (" | stderr: " + r.stderr.strip() if r.stderr.strip() else "")
                )[:500]
                time.sleep(0.2)
                self.save(peer, meta, "client", sc, relay.take(), note)
        finally:
            relay.stop()

    def client_tolerance(self, peer: str, meta: dict) -> None:
        import http.server

        class Stub(http.server.BaseHTTPRequestHandler):
            body = b""

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(Stub.body)))
                self.end_headers()
                self.wfile.write(Stub.body)

            def log_message(self, *args: object) -> None:
                pass

        stub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
        import threading

        threading.Thread(target=stub.serve_forever, daemon=True).start()
        relay = Relay("127.0.0.1", stub.server_address[1]).start()
        env = {**os.environ, **meta.get("env", {})}
        try:
            for name, body in RESPONSE_BODIES:
                Stub.body = body
                relay.take()
                r = subprocess.run(
                    [*meta["client"], "127.0.0.1", str(relay.port), "plain"],
                    capture_output=True,
                    text=True,
                    errors="backslashreplace",
                    timeout=60,
                    env=env,
                    cwd=HERE,
                )
                note = (
                    r.stdout.strip()
                    + (" | stderr: " + r.stderr.strip() if r.stderr.strip() else "")
                )[:500]
                time.sleep(0.1)
                self.save(peer, meta, "client-tolerance", name, relay.take(), note)
        finally:
            relay.stop()
            stub.shutdown()
            stub.server_close()

    def server_role(self, peer: str, meta: dict) -> None:
        port = free_port()
        cmd = [c.format(host="127.0.0.1", port=port) for c in meta["server"]]
        if "{port}" not in " ".join(meta["server"]):
            cmd += ["127.0.0.1", str(port)]
        env = {**os.environ, **meta.get("env", {})}
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=HERE
        )
        try:
            wait_port(port, proc)
            relay = Relay("127.0.0.1", port).start()
            try:
                for name, method, params in SERVER_SCENARIOS:
                    relay.take()
                    try:
                        stdlib_post(relay.port, method, params)
                        note = "stdlib raw client"
                    except Exception as exc:
                        note = f"stdlib raw client error: {exc!r}"
                    time.sleep(0.1)
                    self.save(peer, meta, "server", name, relay.take(), note)
                for name, body in TOLERANCE_BODIES:
                    relay.take()
                    try:
                        stdlib_post(relay.port, "", (), body)
                        note = "hand-made deviant request"
                    except Exception as exc:
                        note = f"hand-made deviant request; error: {exc!r}"
                    time.sleep(0.1)
                    self.save(peer, meta, "tolerance", name, relay.take(), note)
            finally:
                relay.stop()
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()


SUPERVISOR_CALLS = [
    ("getAllProcessInfo", "supervisor.getAllProcessInfo", ()),
    ("listMethods", "system.listMethods", ()),
    ("methodSignature", "system.methodSignature", ("supervisor.getProcessInfo",)),
    ("fault", "supervisor.startProcess", ("no-such-program",)),
    ("unknown", "no.such.method", ()),
    (
        "multicall",
        "system.multicall",
        (
            [
                {"methodName": "supervisor.getState", "params": []},
                {"methodName": "supervisor.getProcessInfo", "params": ["nope"]},
            ],
        ),
    ),
    ("nil-arg", "supervisor.getProcessInfo", (None,)),
]
SUPERVISORCTL = [
    ("status", ["status"]),
    ("version", ["version"]),
    ("start-unknown", ["start", "no-such-program"]),
]


def supervisor_sweep(sweep: Sweep, peer: str, meta: dict) -> None:
    """A real supervisord (inet_http_server on 127.0.0.1) behind the relay."""
    with tempfile.TemporaryDirectory(prefix="rpcspy-supervisor-") as tmp:
        port = free_port()
        conf = Path(tmp) / "supervisord.conf"
        template = (HERE / "supervisor/supervisord.conf.in").read_text()
        conf.write_text(template.replace("{dir}", tmp).replace("{port}", str(port)))
        bindir = Path(PY).parent
        proc = subprocess.Popen(
            [str(bindir / "supervisord"), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=tmp,
        )
        try:
            wait_port(port, proc)
            relay = Relay("127.0.0.1", port).start()
            try:
                for name, args in SUPERVISORCTL:
                    relay.take()
                    r = subprocess.run(
                        [
                            str(bindir / "supervisorctl"),
                            "-s",
                            f"http://127.0.0.1:{relay.port}",
                            *args,
                        ],
                        capture_output=True,
                        text=True,
                        errors="backslashreplace",
                        timeout=60,
                        cwd=tmp,
                    )
                    note = (
                        f"supervisorctl {' '.join(args)} -> exit {r.returncode}: {r.stdout.strip()}"
                    )[:500]
                    time.sleep(0.2)
                    sweep.save(peer, meta, "client", f"supervisorctl-{name}", relay.take(), note)
                for name, method, params in SUPERVISOR_CALLS:
                    relay.take()
                    try:
                        stdlib_post(relay.port, method, params)
                        note = "stdlib raw client"
                    except Exception as exc:
                        note = f"stdlib raw client error: {exc!r}"
                    time.sleep(0.1)
                    sweep.save(peer, meta, "server", name, relay.take(), note)
            finally:
                relay.stop()
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peer", action="append", help="sweep only these (default: all)")
    ap.add_argument("--out", type=Path, default=REPO / "tests/data/peers")
    a = ap.parse_args()
    names = a.peer or list(PEERS)
    sweep = Sweep(a.out)
    demo_port = free_port()
    demo = subprocess.Popen(
        [
            PY,
            "-c",
            "import sys; from rpcspy.cli import main; sys.exit(main())",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(demo_port),
            "-q",
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    done = []
    try:
        wait_port(demo_port, demo)
        for peer in names:
            meta = {**PEERS[peer], "name": peer.removesuffix("-enable").removesuffix("-apache")}
            print(f"== {peer}")
            try:
                if "build" in meta:
                    meta["build"]()
                meta["version_str"] = meta["version"]()
                if (a.out / peer).exists():
                    shutil.rmtree(a.out / peer)
                if "special" in meta:
                    meta["special"](sweep, peer, meta)
                    done.append(peer)
                    continue
                sweep.client_role(peer, meta, demo_port)
                sweep.client_tolerance(peer, meta)
                if "server" in meta:
                    sweep.server_role(peer, meta)
                done.append(peer)
            except Exception as exc:
                print(f"  FAILED: {exc!r}")
    finally:
        demo.terminate()
        demo.wait(5)
    manifest_path = a.out / "manifest.json"
    old = json.loads(manifest_path.read_text())["exchanges"] if manifest_path.exists() else []
    kept = [e for e in old if e["variant"] not in done]
    manifest = {
        "about": "Real XML-RPC peers recorded byte-exact on 127.0.0.1; see README.md. "
        "'peer_wrote' names the message the peer produced; deviations are listed for both.",
        "exchanges": kept + sweep.entries,
    }
    manifest["exchanges"].sort(
        key=lambda e: (
            e["variant"],
            e["role"],
            e["scenario"],
            e["files"]["request"] if e["files"] else "",
        )
    )
    manifest_path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
