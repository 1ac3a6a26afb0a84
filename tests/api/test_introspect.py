"""``rpcspy api introspect`` against real servers: the demo server, stdlib servers with and
without introspection or multicall, supervisord, and servers that are not XML-RPC at all."""

from __future__ import annotations

import http.server
import json
import threading
import xmlrpc.server
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from rpcspy.api.introspect import NoIntrospection, introspect, read_help, read_signatures
from rpcspy.api.model import load, shape_text
from rpcspy.cli import main
from rpcspy.replay.send import Sender, Target
from rpcspy.server import DemoServer, ServerConfig
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.values import I4, Array, Nil, String

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``rpcspy ARGS`` in this process: (exit code, stdout, stderr)."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("RPCSPY_USER", raising=False)
    monkeypatch.delenv("RPCSPY_PASSWORD", raising=False)

    def go(*args: str | Path) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return go


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoServer]:
    with DemoServer(ServerConfig(port=0, quiet=True)) as server:
        yield server


@contextmanager
def stdlib_server(*, introspection: bool, multicall: bool) -> Iterator[str]:
    """A plain ``SimpleXMLRPCServer`` on 127.0.0.1 with two documented functions."""
    server = xmlrpc.server.SimpleXMLRPCServer(("127.0.0.1", 0), logRequests=False, allow_none=True)

    def add(a: int, b: int) -> int:
        """add(a, b) => a + b

        More text below the first line."""
        return a + b

    server.register_function(add, "add")
    server.register_function(lambda: None, "nothing")
    if introspection:
        server.register_introspection_functions()
    if multicall:
        server.register_multicall_functions()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/RPC2"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _sender_send(sender: Sender) -> Callable[[MethodCall], MethodResponse | Fault]:
    def send(call: MethodCall) -> MethodResponse | Fault:
        reply = sender.send(call).reply
        assert reply is not None
        return reply

    return send


def test_the_demo_server_described_with_signatures_and_help(demo: DemoServer) -> None:
    with Sender(Target.parse(demo.url)) as sender:
        found = introspect(_sender_send(sender), url=demo.url)
    assert found.multicall
    api = found.api
    assert api.sources == [{"kind": "introspection", "url": demo.url}]
    add = api.methods["add"]
    assert add.sources == {"introspection"}
    forms = [([shape_text(p) for p in s.params], shape_text(s.result)) for s in add.signatures]
    assert (["int", "int"], "int") in forms
    assert (["double", "double"], "double") in forms
    assert add.help is not None and add.help.startswith("add(a, b)")
    # demo.echo takes anything: the server declares no signature for it.
    assert api.methods["demo.echo"].signatures == []
    assert "system.multicall" in api.methods


def test_plain_calls_give_the_same_description_as_multicall(demo: DemoServer) -> None:
    from rpcspy.api.model import api_to_json

    with Sender(Target.parse(demo.url)) as sender:
        one = introspect(_sender_send(sender), url=demo.url)
        plain = introspect(_sender_send(sender), url=demo.url, multicall=False)
    assert not plain.multicall
    assert api_to_json(plain.api) == api_to_json(one.api)


def test_the_command_writes_the_file_and_prints_a_table(
    demo: DemoServer, run: Run, tmp_path: Path
) -> None:
    out_file = tmp_path / "api.json"
    code, out, err = run("api", "introspect", demo.url, "-o", out_file)
    assert code == 0, err
    api = load(out_file)
    assert "validator1.easyStructTest" in api.methods
    lines = out.splitlines()
    (add_line,) = [line for line in lines if line.startswith("add(int, int) -> int")]
    assert "add(a, b) => a + b" in add_line
    assert any(line.startswith("demo.echo(?)") for line in lines)
    code, out, _ = run("api", "introspect", demo.url, "--json", "--no-multicall")
    assert code == 0
    assert json.loads(out) == json.loads(out_file.read_text())


def test_stdlib_server_without_multicall_answers_signatures_not_supported(run: Run) -> None:
    with stdlib_server(introspection=True, multicall=False) as url:
        code, out, err = run("api", "introspect", url, "--json")
    assert code == 0, err
    methods = json.loads(out)["methods"]
    assert set(methods) >= {"add", "nothing", "system.listMethods", "system.methodHelp"}
    # methodSignature answers the string "signatures not supported": no signatures, no failure.
    assert "signatures" not in methods["add"]
    assert methods["add"]["help"].startswith("add(a, b) => a + b")
    assert "help" not in methods["nothing"]  # a lambda: empty help
    assert "declares no signatures" in err


def test_stdlib_server_with_multicall(run: Run) -> None:
    with (
        stdlib_server(introspection=True, multicall=True) as url,
        Sender(Target.parse(url)) as sender,
    ):
        found = introspect(_sender_send(sender), url=url)
    assert found.multicall
    assert found.api.methods["add"].help is not None
    assert "system.multicall" in found.api.methods


def test_stdlib_server_without_introspection(run: Run) -> None:
    with stdlib_server(introspection=False, multicall=False) as url:
        with Sender(Target.parse(url)) as sender, pytest.raises(NoIntrospection, match="fault"):
            introspect(_sender_send(sender), url=url)
        code, out, err = run("api", "introspect", url)
    assert code == 1
    assert out == ""
    assert "does not list its methods" in err and "rpcspy api learn" in err
    assert len(err.strip().splitlines()) == 1


def test_supervisord_is_described(run: Run, tmp_path: Path) -> None:
    import sys

    from tests.interop.livepeers import supervisord

    if not (Path(sys.executable).parent / "supervisord").exists():
        pytest.skip("supervisord is not installed in the venv")
    with supervisord(tmp_path) as port:
        code, out, err = run("api", "introspect", f"http://127.0.0.1:{port}/RPC2", "--json")
    assert code == 0, err
    methods = json.loads(out)["methods"]
    assert "supervisor.getState" in methods
    assert methods["supervisor.getState"]["help"]
    sigs = methods["supervisor.getPID"]["signatures"]
    assert sigs == [{"params": [], "result": {"scalars": {"int": 0}}}]


def test_a_server_that_wants_credentials(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    config = ServerConfig(port=0, quiet=True, user="alice", password="s3cret")
    with DemoServer(config) as server:
        code, out, err = run("api", "introspect", server.url)
        assert code == 3
        assert err.strip() == (
            f"rpcspy: error: {server.url}: HTTP 401, the server wants credentials "
            "(give --user and --password)"
        )
        code, out, err = run("api", "introspect", server.url, "--user", "alice")
        assert code == 2 and "--user needs a password" in err
        monkeypatch.setenv("RPCSPY_PASSWORD", "s3cret")
        code, out, err = run("api", "introspect", server.url, "--user", "alice", "--json")
        assert code == 0, err
        assert "add" in json.loads(out)["methods"]


def test_tls_with_the_servers_certificate(run: Run) -> None:
    with DemoServer(ServerConfig(port=0, quiet=True, tls=True)) as server:
        code, _, err = run("api", "introspect", server.url)
        assert code == 3 and "certificate" in err
        assert server.cafile is not None
        code, out, err = run("api", "introspect", server.url, "--cafile", server.cafile)
        assert code == 0, err
        assert "add(int, int) -> int" in out
        code, out, err = run("api", "introspect", server.url, "--insecure")
        assert code == 0, err


class _Html(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = b"<html><body>Welcome</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_servers_that_do_not_speak_xmlrpc(run: Run) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Html)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        code, out, err = run("api", "introspect", f"http://127.0.0.1:{port}/RPC2")
    finally:
        server.shutdown()
        server.server_close()
    assert code == 3 and out == ""
    assert "the answer to system.listMethods is not XML-RPC" in err
    # Nothing listens on the port any more.
    code, out, err = run("api", "introspect", f"http://127.0.0.1:{port}/RPC2", "--timeout", "5")
    assert code == 3 and "connection refused" in err
    code, out, err = run("api", "introspect", "ftp://example.com/")
    assert code == 2 and "http://" in err


@pytest.mark.parametrize(
    ("answer", "forms"),
    [
        (String("undef"), []),
        (String("signatures not supported"), []),
        (Nil(), []),
        (I4(0), []),
        (Array(), []),
        (Array([String("int"), String("string")]), [(["string"], "int")]),
        (
            Array([Array([String("struct"), String("i4"), String("undef")]), Array()]),
            [(["int", "any"], "struct")],
        ),
        (Array([Array([String("int"), Array([String("x")])])]), [(["any"], "int")]),
    ],
)
def test_signature_answers_read_tolerantly(answer: Any, forms: list[Any]) -> None:
    sigs = read_signatures(answer)
    assert [([shape_text(p) for p in s.params], shape_text(s.result)) for s in sigs] == forms


def test_help_answers_read_tolerantly() -> None:
    assert read_help(String("Adds.")) == "Adds."
    assert read_help(String("  ")) is None
    assert read_help(Nil()) is None
    assert read_help(I4(3)) is None


def test_faults_per_method_leave_it_undescribed() -> None:
    """A server whose methodSignature and methodHelp fault for one method (and whose
    multicall is missing): that method is listed without signature or help."""

    def send(call: MethodCall) -> MethodResponse | Fault:
        if call.method == "system.listMethods":
            return MethodResponse(Array([String("a"), String("b"), I4(7)]))
        if call.method == "system.multicall":
            return Fault.make(-32601, "no multicall")
        name = str(call.params[0])
        if name == "b":
            return Fault.make(4, "unknown")
        if call.method == "system.methodSignature":
            return MethodResponse(Array([Array([String("int")])]))
        return MethodResponse(String("a() => 1"))

    found = introspect(send)
    assert not found.multicall
    assert found.api.methods["a"].help == "a() => 1"
    assert [shape_text(s.result) for s in found.api.methods["a"].signatures] == ["int"]
    assert found.api.methods["b"].signatures == [] and found.api.methods["b"].help is None
    assert any("listed a I4" in note for note in found.notes)
