"""``rpcspy api diff`` between the demo server's two variants: introspected, recorded, and on the
command line."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest

from rpcspy.api.diff import diff_apis
from rpcspy.api.model import Api, load, save
from rpcspy.server import DemoServer, ServerConfig
from rpcspy.xmlrpc.messages import MethodCall
from rpcspy.xmlrpc.values import from_python
from tests.api.support import record, run_cli

#: What variant 2 changes in the declared API (rpcspy.server.services), as a client sees it.
DECLARED = {
    ("add", "result-type-changed", "breaking", "result"),
    ("getData", "result-type-changed", "breaking", "result"),
    ("mul", "method-removed", "breaking", ""),
    ("dir.entries", "param-added", "breaking", "param 1"),
    ("demo.features", "method-added", "compatible", ""),
    ("demo.large", "param-added", "compatible", "param 2"),
    ("demo.large", "help-changed", "compatible", "help"),
    ("dir.entries", "help-changed", "compatible", "help"),
    ("sample.sumAndDifference", "param-type-changed", "compatible", "param 1"),
    ("sample.sumAndDifference", "param-type-changed", "compatible", "param 2"),
    ("sample.sumAndDifference", "help-changed", "compatible", "help"),
}


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[DemoServer, DemoServer]]:
    with (
        DemoServer(ServerConfig(port=0, quiet=True, variant=1)) as one,
        DemoServer(ServerConfig(port=0, quiet=True, variant=2)) as two,
    ):
        yield one, two


@pytest.fixture(scope="module")
def files(
    servers: tuple[DemoServer, DemoServer], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """Each variant's API as the real ``rpcspy api introspect`` writes it."""
    folder = tmp_path_factory.mktemp("apis")
    v1, v2 = folder / "v1.json", folder / "v2.json"
    for server, path in zip(servers, (v1, v2), strict=True):
        done = run_cli("api", "introspect", server.url, "-o", str(path))
        assert done.code == 0, done.stderr
    return v1, v2


@pytest.fixture(scope="module")
def apis(files: tuple[Path, Path]) -> tuple[Api, Api]:
    return load(files[0]), load(files[1])


def call(name: str, *params: object) -> MethodCall:
    return MethodCall(name, tuple(from_python(p) for p in params))


#: The same client session against either variant.
SESSION = [
    call("demo.version"),
    call("add", 2, 3),
    call("getData"),
    call("uname"),
    call("mul", 5, 2),
    call("demo.large", 5),
    call("sample.sumAndDifference", 5, 3),
    call("dir.entries", "/"),
    call("echo", "same"),
]


@pytest.fixture(scope="module")
def captures(
    servers: tuple[DemoServer, DemoServer], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("captures")
    one, two = folder / "v1.jsonl", folder / "v2.jsonl"
    record(one, servers[0].url, SESSION)
    record(two, servers[1].url, SESSION)
    return one, two


def summary(changes: list[object]) -> set[tuple[str, str, str, str]]:
    return {(c.method, c.kind, c.klass, c.where) for c in changes}  # type: ignore[attr-defined]


def test_the_introspected_variants_differ_by_exactly_the_documented_changes(
    apis: tuple[Api, Api],
) -> None:
    changes = diff_apis(*apis)
    assert summary(changes) == DECLARED
    texts = [c.text for c in changes]
    assert "add: result changed for (int, int): int -> double" in texts
    assert "getData: result changed: string -> int" in texts
    assert "dir.entries: param 1 added (required): string" in texts
    assert "demo.large: param 2 added (optional): string" in texts
    assert "sample.sumAndDifference: param 1 widened: int -> double|int" in texts
    assert "demo.features: method added: () -> array" in texts
    # breaking first
    assert [c.breaking for c in changes] == sorted((c.breaking for c in changes), reverse=True)
    assert diff_apis(apis[0], apis[0]) == []


def test_the_recorded_variants_show_what_the_upgrade_changed(
    captures: tuple[Path, Path],
) -> None:
    out = run_cli("api", "diff", str(captures[0]), str(captures[1]), "--json")
    assert out.code == 1, out.stderr
    report = json.loads(out.stdout)
    got = {(c["method"], c["kind"], c["class"], c["where"]) for c in report["changes"]}
    assert got == {
        ("add", "result-type-changed", "breaking", "result"),
        ("getData", "result-type-changed", "breaking", "result"),
        ("mul", "method-removed", "breaking", ""),  # answered only "method not found"
        ("uname", "member-added", "compatible", "result.python"),
    }
    assert (report["breaking"], report["compatible"]) == (3, 1)
    same = run_cli("api", "diff", str(captures[0]), str(captures[0]))
    assert (same.code, same.stdout.splitlines()[-1]) == (0, "no changes")


def test_a_gzipped_capture_is_learned_too(captures: tuple[Path, Path], tmp_path: Path) -> None:
    packed = tmp_path / "v2.jsonl.gz"
    packed.write_bytes(gzip.compress(captures[1].read_bytes()))
    plain = run_cli("api", "diff", str(captures[0]), str(captures[1]), "--json")
    out = run_cli("api", "diff", str(captures[0]), str(packed), "--json")
    assert out.code == 1, out.stderr
    assert json.loads(out.stdout)["changes"] == json.loads(plain.stdout)["changes"]


def test_an_api_file_against_a_capture(
    files: tuple[Path, Path], captures: tuple[Path, Path]
) -> None:
    out = run_cli("api", "diff", str(files[0]), str(captures[1]), "--json")
    assert out.code == 1, out.stderr
    got = {(c["method"], c["kind"]) for c in json.loads(out.stdout)["changes"]}
    # declared int results against the double and int seen
    assert ("add", "result-type-changed") in got and ("getData", "result-type-changed") in got


def test_the_text_output(files: tuple[Path, Path]) -> None:
    out = run_cli("api", "diff", str(files[0]), str(files[1]))
    assert out.code == 1, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"api diff {files[0]} -> {files[1]}"
    assert lines[1] == "breaking (4):"
    assert lines[2:6] == [
        "  ~ add: result changed for (int, int): int -> double",
        "  + dir.entries: param 1 added (required): string",
        "  ~ getData: result changed: string -> int",
        "  - mul: method removed (was (int, int) -> int; (double, double) -> double;"
        " (int, double) -> double; (double, int) -> double)",
    ]
    assert lines[6] == "compatible (7):"
    assert "  + demo.features: method added: () -> array" in lines[7:]
    assert lines[-1] == "4 breaking, 7 compatible"
    assert "\x1b[" not in out.stdout  # NO_COLOR


def test_colour_only_when_wanted(files: tuple[Path, Path]) -> None:
    out = run_cli(
        "api", "diff", str(files[0]), str(files[1]), env={"FORCE_COLOR": "1", "NO_COLOR": ""}
    )
    assert "\x1b[1;31mbreaking (4):\x1b[0m" in out.stdout
    assert "\x1b[1;32mcompatible (7):\x1b[0m" in out.stdout


def test_the_other_way_round(files: tuple[Path, Path]) -> None:
    out = run_cli("api", "diff", str(files[1]), str(files[1]))
    assert (out.code, out.stdout.splitlines()[-1]) == (0, "no changes")
    # v2 -> v1 the other way round: mul comes back (compatible), but demo.features goes
    back = run_cli("api", "diff", str(files[1]), str(files[0]), "--json")
    assert back.code == 1
    data = json.loads(back.stdout)
    kinds = {(c["method"], c["kind"], c["class"]) for c in data["changes"]}
    assert ("mul", "method-added", "compatible") in kinds
    assert ("demo.features", "method-removed", "breaking") in kinds


def test_only_compatible_changes_exit_0(files: tuple[Path, Path], tmp_path: Path) -> None:
    from rpcspy.api.model import load

    # variant 1 plus variant 2's new method: an upgrade that only adds
    new = load(files[0])
    new.methods["demo.features"] = load(files[1]).methods["demo.features"]
    added = tmp_path / "added.json"
    save(new, added)
    out = run_cli("api", "diff", str(files[0]), str(added))
    assert out.code == 0, out.stdout + out.stderr
    assert out.stdout.splitlines()[1:] == [
        "compatible (1):",
        "  + demo.features: method added: () -> array",
        "0 breaking, 1 compatible",
    ]


def test_unreadable_files_exit_3_with_one_line(files: tuple[Path, Path], tmp_path: Path) -> None:
    missing = run_cli("api", "diff", str(tmp_path / "nope.json"), str(files[1]))
    assert missing.code == 3
    assert missing.stderr.strip() == f"rpcspy: error: no such file: {tmp_path / 'nope.json'}"
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"format": "something-else"}')
    bad = run_cli("api", "diff", str(files[0]), str(wrong))
    assert bad.code == 3
    assert bad.stderr.strip().splitlines() == [
        f"rpcspy: error: {wrong}: not an rpcspy API file (format is 'something-else')"
    ]
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json at all\n")
    out = run_cli("api", "diff", str(garbage), str(files[0]))
    assert out.code == 3 and out.stderr.startswith(f"rpcspy: error: {garbage}: not JSON")
    assert run_cli("api", "diff", str(tmp_path), str(files[0])).code == 3


def test_a_truncated_capture_is_still_learned(captures: tuple[Path, Path], tmp_path: Path) -> None:
    torn = tmp_path / "torn.jsonl"
    torn.write_bytes(captures[1].read_bytes() + b'{"type":"call","seq":99,"met')
    out = run_cli("api", "diff", str(captures[1]), str(torn))
    assert out.code == 0, out.stdout + out.stderr
    assert out.stdout.splitlines()[-1] == "no changes"
    assert f"rpcspy: warning: {torn}" in out.stderr


def test_two_sessions_recorded_through_the_proxy(
    servers: tuple[DemoServer, DemoServer], tmp_path: Path
) -> None:
    """The same stdlib client through rpcspy's proxy to each variant, then the two captures."""
    import xmlrpc.client

    from rpcspy.proxy import ProxyConfig
    from tests.proxy.helpers import ThreadedProxy

    paths = []
    for server, name in zip(servers, ("before", "after"), strict=True):
        capture = tmp_path / f"{name}.jsonl"
        config = ProxyConfig(
            target=server.base_url,
            listen_port=0,
            capture=capture,
            confdir=tmp_path / "confdir",
            quiet=True,
        )
        with ThreadedProxy(config) as proxy:
            client = xmlrpc.client.ServerProxy(f"{proxy.url}/RPC2", allow_none=True)
            assert client.add(2, 3) == 5
            client.getData()
            client.uname()
            with pytest.raises(xmlrpc.client.Fault) if name == "after" else nullcontext():
                client.mul(5, 2)
            client.sample.sumAndDifference(5, 3)
            proxy.wait_records(5)
        paths.append(capture)
    out = run_cli("api", "diff", *map(str, paths))
    assert out.code == 1, out.stdout + out.stderr
    assert out.stdout.splitlines()[1:] == [
        "breaking (3):",
        "  ~ add: result changed: int -> double",
        "  ~ getData: result changed: string -> int",
        "  - mul: method removed (was (int, int) -> int)",
        "compatible (1):",
        "  + uname: result.python added: string",
        "3 breaking, 1 compatible",
    ]
