"""``rpcspy api stub``: a typed client module that imports, calls the demo server, and passes
ruff and ``mypy --strict``."""

from __future__ import annotations

import datetime
import importlib.util
import subprocess
import sys
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from rpcspy.api.learn import learn_records
from rpcspy.api.model import (
    Api,
    Shape,
    Signature,
    StructShape,
    declared_shape,
    load,
    merge_apis,
    save,
)
from rpcspy.api.stub import python_name, python_stub
from rpcspy.server import DemoServer, ServerConfig
from rpcspy.xmlrpc.messages import MethodCall
from rpcspy.xmlrpc.values import from_python
from tests.api.support import introspect, record, run_cli
from tests.conftest import REPO

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer(ServerConfig(port=0, quiet=True)) as server:
        yield server


def call(name: str, *params: object) -> MethodCall:
    return MethodCall(name, tuple(from_python(p) for p in params))


@pytest.fixture(scope="module")
def demo_api(server: DemoServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo server's API: introspected, with the struct members a little traffic showed."""
    folder = tmp_path_factory.mktemp("demo-api")
    records = record(
        folder / "session.jsonl",
        server.url,
        [call("uname"), call("sample.sumAndDifference", 5, 3), call("dir.entries", "/")],
    )
    api = merge_apis([introspect(server.url), learn_records(records)])
    path = folder / "demo.json"
    save(api, path)
    return path


@pytest.fixture(scope="module")
def generated(demo_api: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The client module written by the command line."""
    out = tmp_path_factory.mktemp("stub") / "demo_client.py"
    done = run_cli("api", "stub", str(demo_api), "--python", "-o", str(out))
    assert done.code == 0, done.stderr
    return out


def import_file(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_command_writes_what_python_stub_returns(demo_api: Path, generated: Path) -> None:
    assert generated.read_text() == python_stub(load(demo_api), source=demo_api.name)
    to_stdout = run_cli("api", "stub", str(demo_api))
    assert to_stdout.code == 0 and to_stdout.stdout == generated.read_text()


def test_the_client_calls_the_demo_server(generated: Path, server: DemoServer) -> None:
    module = import_file(generated)
    client = module.Client(server.url)
    assert client.add(2, 3) == 5 and type(client.add(2, 3)) is int
    assert client.add(2.5, 1) == 3.5
    assert client.echo("hi") == "HI"
    assert client.multiply_args(2, 3, 4) == 24  # "multiply args"
    assert client.currentTime_getCurrentTime().year >= 2024
    assert client.sample_sumAndDifference(5, 3) == {"sum": 8, "difference": 2}
    struct = {"name": "x", "items": [1, 2.5, None], "nested": {"ok": True}}
    assert client.validator1_echoStructTest(struct) == struct
    assert client.demo_echo(struct) == struct
    when = datetime.datetime(2026, 12, 1, 8, 30, 0)
    assert client.validator1_manyTypesTest(1, True, "s", 1.5, when, b"\x00\xff") == [
        1,
        True,
        "s",
        1.5,
        when,
        b"\x00\xff",
    ]
    assert set(client.uname()) == {"sysname", "nodename", "release", "version", "machine"}
    assert client.list_("/") == ["tmp"]  # "list" would shadow the type the module uses
    assert client.dir() == client.dir_list() == ["tmp"]
    assert client.dir_create("/tmp/made") is None
    assert client.dir_entries("/tmp") == [{"name": "made", "type": "directory"}]
    with pytest.raises(xmlrpc.client.Fault) as fault:
        client.demo_fault(42, "boom")
    assert fault.value.faultCode == 42
    assert not hasattr(client, "system_listMethods")  # system.* left out by default


def test_a_proxy_of_your_own_gets_builtin_types_back(generated: Path, server: DemoServer) -> None:
    module = import_file(generated)
    client = module.Client(xmlrpc.client.ServerProxy(server.url))  # no use_builtin_types
    when = datetime.datetime(2026, 12, 1, 8, 30, 0)
    got = client.validator1_manyTypesTest(7, False, "s", 0.5, when, b"abc")
    assert got[4:] == [when, b"abc"]
    assert type(got[4]) is datetime.datetime and type(got[5]) is bytes


def test_the_module_documents_each_method(generated: Path) -> None:
    module = import_file(generated)
    doc = module.Client.multiply_args.__doc__
    assert doc.startswith("multiply args(n1, n2, ...) => the product")
    assert 'XML-RPC method "multiply args".' in doc
    assert module.__doc__.startswith("Client for an XML-RPC API, written by ``rpcspy api stub``")


# ---------------------------------------------------------------- names and types


@pytest.mark.parametrize(
    ("wire", "python"),
    [
        ("math.add", "math_add"),
        ("multiply args", "multiply_args"),
        ("class", "class_"),
        ("import", "import_"),
        ("list", "list_"),
        ("2fa.check", "m2fa_check"),
        ("_private", "m_private"),
        ("a-b/c", "a_b_c"),
        ("café", "caf_"),
        ("", "m"),
    ],
)
def test_python_names(wire: str, python: str) -> None:
    assert python_name(wire) == python


def sig(result: str, *params: str) -> Signature:
    return Signature([declared_shape(p) for p in params], declared_shape(result))


def struct(count: int, **members: tuple[Shape, int]) -> Shape:
    from rpcspy.api.model import Member

    return Shape(struct=StructShape(count, {k: Member(s, n) for k, (s, n) in members.items()}))


def tricky_api() -> Api:
    """Names, help texts and signatures that a careless generator would get wrong."""
    api = Api()

    def method(name: str, *sigs: Signature, help_text: str | None = None) -> None:
        m = api.method(name)
        m.sources.add("introspection")
        m.signatures.extend(sigs)
        m.help = help_text

    method("math.add", sig("int", "int", "int"), sig("double", "double", "double"))
    method("math_add", sig("int", "int"))  # taken by math.add's Python name
    method("class", sig("string"), help_text='class() => """quoted""" and a \\ backslash')
    method("2fa.check", sig("boolean", "string"), help_text="2fa.check(code) => ok?\x07 \u202e x")
    method("café", sig("string"), help_text="café() => “curly” — dashes " + "long " * 40)
    method("overlap", sig("string", "boolean"), sig("int", "int"))  # bool is an int
    method("anything", sig("undef", "undef"), sig("int", "int"))
    method("maybe", sig("string", "int"))
    api.methods["maybe"].signatures[0].result = Shape(scalars={"string": 0, "nil": 0})
    method("nothing", sig("nil", "string"))
    method("blob", sig("base64", "base64", "dateTime.iso8601"))
    method("big", sig("i8", "ex:i8"))
    method("strange", sig("ex:dom"))
    method("nested", sig("array", "array"))
    nested = api.methods["nested"].signatures[0]
    nested.result = Shape()
    from rpcspy.api.model import ArrayShape

    nested.result.array = ArrayShape(1, Shape(array=ArrayShape(1, Shape(scalars={"i4": 1}))))
    # learned from traffic only: a struct with keys that are not identifiers
    learned = api.method("calendar")
    learned.sources.add("traffic")
    learned.calls = learned.answered = 2
    learned.arity = {1: 2}
    day = struct(2, moe=(Shape(scalars={"i4": 2}), 2), larry=(Shape(scalars={"i4": 1}), 1))
    learned.params = [struct(2, **{"2000": (day, 2), "class": (Shape(scalars={"string": 2}), 2)})]
    learned.result = struct(2, ok=(Shape(scalars={"boolean": 2}), 2))
    unknown = api.method("unknown")  # introspection listed it, nothing else known
    unknown.sources.add("introspection")
    api.method("system.listMethods").signatures.append(sig("array"))
    return api


#: Uses of the generated clients: mypy must accept these lines, and reject the last.
USE = """\
from __future__ import annotations

import datetime

import demo_client
import tricky_client

demo = demo_client.Client("http://127.0.0.1:1/RPC2")
total: int = demo.add(2, 3)
fraction: float = demo.add(2.5, 1.0)
text: str = demo.echo("x")
info = demo.uname()
machine: str = info["machine"]
entries = demo.dir_entries("/")
kind: str = entries[0]["type"]
when: datetime.datetime = demo.currentTime_getCurrentTime()

tricky = tricky_client.Client("http://127.0.0.1:1/RPC2")
small: int = tricky.math_add(1, 2)
other: int = tricky.math_add_2(1)
maybe: str | None = tricky.maybe(1)
blob: bytes = tricky.blob(b"x", datetime.datetime(2026, 1, 1))
ok: bool = tricky.calendar({"2000": {"moe": 1}, "class": "x"})["ok"]
tricky.nothing("x")
wrong: int = demo.echo("x")
"""


def test_generated_code_passes_ruff_and_mypy_strict(generated: Path, tmp_path: Path) -> None:
    shutil_copy = tmp_path / "demo_client.py"
    shutil_copy.write_text(generated.read_text())
    (tmp_path / "tricky_client.py").write_text(python_stub(tricky_api(), system=True))
    (tmp_path / "use.py").write_text(USE)
    files = ["demo_client.py", "tricky_client.py"]
    ruff = [str(BIN / "ruff"), "--config", str(REPO / "pyproject.toml")]
    check = subprocess.run([*ruff, "check", *files], capture_output=True, text=True, cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run(
        [*ruff, "format", "--check", "--diff", *files], capture_output=True, text=True, cwd=tmp_path
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    (tmp_path / "mypy.ini").write_text("[mypy]\n")
    mypy = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            "mypy.ini",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            *files,
            "use.py",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    errors = [line for line in mypy.stdout.splitlines() if ": error:" in line]
    last = USE.splitlines().index('wrong: int = demo.echo("x")') + 1
    assert errors == [
        f"use.py:{last}: error: Incompatible types in assignment (expression has type "
        '"str", variable has type "int")  [assignment]'
    ], mypy.stdout


def test_the_tricky_module_imports_and_keeps_wire_names() -> None:
    text = python_stub(tricky_api())
    namespace: dict[str, Any] = {}
    exec(compile(text, "tricky_client.py", "exec", dont_inherit=True), namespace)
    client_class = namespace["Client"]
    for name in ("math_add", "math_add_2", "class_", "m2fa_check", "caf_", "overlap", "unknown"):
        assert callable(getattr(client_class, name)), name
    assert '"math.add"' in text and '"2fa.check"' in text and '"caf\\u00e9"' in text
    assert "system_listMethods" not in text
    assert "system_listMethods" in python_stub(tricky_api(), system=True)
    # help texts are kept exactly, whatever they hold; the source stays ASCII
    assert client_class.class_.__doc__.startswith('class() => """quoted""" and a \\ backslash')
    assert client_class.m2fa_check.__doc__.startswith("2fa.check(code) => ok?\x07 \u202e x")
    assert client_class.caf_.__doc__.startswith("café() => “curly” — dashes long long")
    assert text.isascii()
    assert client_class.caf_.__doc__.rstrip().endswith('XML-RPC method "café".')
    calendar = namespace["CalendarParam1"]
    assert calendar.__required_keys__ == {"2000", "class"}
    assert namespace["CalendarParam1T2000"].__optional_keys__ == {"larry"}


def test_the_class_name_option(demo_api: Path, tmp_path: Path) -> None:
    out = run_cli("api", "stub", str(demo_api), "--class-name", "Demo", "--system")
    assert out.code == 0, out.stderr
    assert "class Demo:" in out.stdout and "def system_listMethods(self)" in out.stdout
    bad = run_cli("api", "stub", str(demo_api), "--class-name", "not valid")
    assert bad.code == 2 and "is not a Python identifier" in bad.stderr
    missing = run_cli("api", "stub", str(tmp_path / "none.json"))
    assert missing.code == 3


def test_a_stub_from_a_capture(server: DemoServer, tmp_path: Path) -> None:
    capture = tmp_path / "session.jsonl"
    record(capture, server.url, [call("add", 2, 3), call("echo", "x"), call("nope")])
    out = run_cli("api", "stub", str(capture), "-o", str(tmp_path / "learned_client.py"))
    assert out.code == 0, out.stderr
    module = import_file(tmp_path / "learned_client.py")
    client = module.Client(server.url)
    assert client.add(4, 5) == 9 and client.echo("y") == "Y"
    assert not hasattr(client, "nope")  # only ever answered "method not found"
