"""The file methods (list_contents, list, dir, dir.list, dir.entries, dir.create, dir.remove),
confined to the sandbox, whose root plays "/"."""

from __future__ import annotations

import os
import xmlrpc.client
from pathlib import Path

import pytest

from rpcspy.server import DemoServer, ServerConfig
from rpcspy.server.faults import (
    FAULT_EXISTS,
    FAULT_INVALID_PARAMS,
    FAULT_NO_SUCH_PATH,
    FAULT_NOT_A_DIRECTORY,
    FAULT_NOT_EMPTY,
    FAULT_PATH_REFUSED,
)
from rpcspy.server.sandbox import NAME_MAX_BYTES, PATH_MAX_BYTES, Sandbox
from tests.conftest import MakeServer
from tests.server.helpers import connect


def fault(call: object, *args: object) -> xmlrpc.client.Fault:
    assert callable(call)
    with pytest.raises(xmlrpc.client.Fault) as info:
        call(*args)
    return info.value


FILE_METHODS = [
    "list_contents",
    "list",
    "dir",
    "dir.list",
    "dir.entries",
    "dir.create",
    "dir.remove",
]
LISTINGS = ["list_contents", "list", "dir", "dir.list"]


def test_create_list_remove(server: DemoServer) -> None:
    proxy = connect(server)
    assert proxy.dir() == ["tmp"]  # a fresh sandbox holds the tutorials' /tmp
    assert proxy.dir("tmp") == []
    assert proxy.dir.create("a") is None
    assert proxy.dir.create("a/b") is None
    assert proxy.dir.create("a//./c/") is None  # normalised
    assert (server.root / "a" / "b").is_dir()
    assert (server.root / "a" / "c").is_dir()
    assert proxy.dir() == ["a", "tmp"]
    assert proxy.dir.entries() == [
        {"name": "a", "type": "directory"},
        {"name": "tmp", "type": "directory"},
    ]
    assert (
        proxy.dir("a")
        == proxy.dir.list("a")
        == proxy.list_contents("a")
        == proxy.list("a")
        == ["b", "c"]
    )
    assert proxy.dir.entries("a") == [
        {"name": "b", "type": "directory"},
        {"name": "c", "type": "directory"},
    ]
    assert proxy.dir.list() == proxy.dir("") == proxy.dir(".") == proxy.dir("/")
    assert proxy.dir.remove("a/b") is None
    assert not (server.root / "a" / "b").exists()
    assert proxy.dir("a") == ["c"]


def test_absolute_paths_resolve_in_the_virtual_root(server: DemoServer) -> None:
    proxy = connect(server)
    assert "EXAMPLE" not in proxy.dir.list("/tmp")
    assert proxy.dir.create("/tmp/EXAMPLE") is None
    assert (server.root / "tmp" / "EXAMPLE").is_dir()
    assert proxy.dir.list("/tmp") == proxy.dir.list("tmp") == ["EXAMPLE"]
    assert proxy.dir.create("//etc") is None  # "//" is "/" too
    assert (server.root / "etc").is_dir()
    assert proxy.list_contents("/etc") == []  # the sandbox's /etc, not the real one
    assert proxy.dir.remove("/tmp/EXAMPLE") is None
    assert proxy.dir.list("/tmp") == []


@pytest.mark.parametrize("method", LISTINGS)
def test_every_listing_gives_the_same_sorted_names(server: DemoServer, method: str) -> None:
    for name in ("b", "A", "c.txt"):
        (server.root / "tmp" / name).mkdir()
    call = getattr(connect(server), method)
    assert call("/tmp") == sorted(os.listdir(server.root / "tmp")) == ["A", "b", "c.txt"]


def test_listing_names_files_and_links_without_following(server: DemoServer) -> None:
    (server.root / "file.txt").write_text("x")
    (server.root / "sub").mkdir()
    (server.root / "link").symlink_to(server.root / "sub")
    proxy = connect(server)
    assert proxy.dir.entries() == [
        {"name": "file.txt", "type": "file"},
        {"name": "link", "type": "symlink"},
        {"name": "sub", "type": "directory"},
        {"name": "tmp", "type": "directory"},
    ]
    assert proxy.dir() == ["file.txt", "link", "sub", "tmp"]


def test_errors_are_clear_faults(server: DemoServer) -> None:
    proxy = connect(server)
    proxy.dir.create("full")
    proxy.dir.create("full/child")
    (server.root / "file.txt").write_text("x")

    exists = fault(proxy.dir.create, "full")
    assert (exists.faultCode, exists.faultString) == (
        FAULT_EXISTS,
        "dir.create: 'full' already exists",
    )
    orphan = fault(proxy.dir.create, "missing/child")
    assert orphan.faultCode == FAULT_NO_SUCH_PATH
    assert "'missing/child'" in orphan.faultString

    not_empty = fault(proxy.dir.remove, "full")
    assert (not_empty.faultCode, not_empty.faultString) == (
        FAULT_NOT_EMPTY,
        "dir.remove: 'full' is not empty",
    )
    missing = fault(proxy.dir.remove, "ghost")
    assert (missing.faultCode, missing.faultString) == (
        FAULT_NO_SUCH_PATH,
        "dir.remove: no such directory: 'ghost'",
    )
    assert fault(proxy.dir.remove, "file.txt").faultCode == FAULT_NOT_A_DIRECTORY
    assert fault(proxy.dir, "file.txt").faultCode == FAULT_NOT_A_DIRECTORY
    assert fault(proxy.dir.entries, "/file.txt").faultCode == FAULT_NOT_A_DIRECTORY
    assert fault(proxy.dir.list, "ghost").faultCode == FAULT_NO_SUCH_PATH
    assert fault(proxy.dir.remove, "").faultCode == FAULT_PATH_REFUSED
    assert fault(proxy.dir.remove, "/").faultCode == FAULT_PATH_REFUSED
    assert fault(proxy.dir.create, ".").faultCode == FAULT_EXISTS
    assert fault(proxy.dir.create, "/").faultCode == FAULT_EXISTS
    absolute = fault(proxy.dir.create, "/full")
    assert absolute.faultString == "dir.create: '/full' already exists"  # named as given
    assert fault(proxy.dir, 5).faultCode == FAULT_INVALID_PARAMS
    # nothing leaks the server's own path
    for f in (exists, orphan, not_empty, missing):
        assert str(server.root) not in f.faultString


@pytest.mark.parametrize(
    "path",
    ["..", "../", "a/../..", "a/../b", "../etc", "/..", "/tmp/../..", "C:/Windows", "\\etc"],
)
@pytest.mark.parametrize("method", FILE_METHODS)
def test_paths_escaping_the_root_are_refused(
    shared_server: DemoServer, method: str, path: str
) -> None:
    call = getattr(connect(shared_server), method)
    refused = fault(call, path)
    assert refused.faultCode == FAULT_PATH_REFUSED
    assert refused.faultString.startswith(f"{method}: ")


@pytest.mark.parametrize("operation", ["names", "entries", "mkdir", "rmdir"])
def test_nul_in_a_path_is_refused(tmp_path: Path, operation: str) -> None:
    # XML cannot carry NUL, so a client cannot send one; the sandbox still refuses it cleanly.
    refused = fault(getattr(Sandbox(tmp_path), operation), "/tmp/a\x00b")
    assert refused.faultCode == FAULT_PATH_REFUSED
    assert "NUL" in refused.faultString
    assert sorted(os.listdir(tmp_path)) == []


@pytest.mark.parametrize("method", FILE_METHODS)
def test_over_long_names_and_paths_are_refused(server: DemoServer, method: str) -> None:
    call = getattr(connect(server), method)
    for path, why in [
        ("/tmp/" + "x" * (NAME_MAX_BYTES + 1), f"a name is longer than {NAME_MAX_BYTES} bytes"),
        ("/tmp/" + "é" * 128, f"a name is longer than {NAME_MAX_BYTES} bytes"),  # 256 bytes
        ("/" + "a/" * (PATH_MAX_BYTES // 2), f"longer than {PATH_MAX_BYTES} bytes"),
    ]:
        refused = fault(call, path)
        assert refused.faultCode == FAULT_PATH_REFUSED, (path, refused)
        assert why in refused.faultString
        assert str(server.root) not in refused.faultString
    assert os.listdir(server.root / "tmp") == []


def test_a_name_of_the_longest_allowed_size_works(server: DemoServer) -> None:
    proxy = connect(server)
    longest = "x" * NAME_MAX_BYTES
    assert proxy.dir.create(f"/tmp/{longest}") is None
    assert proxy.dir.list("/tmp") == [longest]


@pytest.mark.parametrize("method", FILE_METHODS)
def test_symlink_loops_are_refused_without_the_real_path(server: DemoServer, method: str) -> None:
    tmp = server.root / "tmp"
    (tmp / "loop").symlink_to(tmp / "loop")
    (tmp / "ping").symlink_to(tmp / "pong")
    (tmp / "pong").symlink_to(tmp / "ping")
    call = getattr(connect(server), method)
    for path in ("/tmp/loop", "/tmp/loop/x", "tmp/ping", "/tmp/pong/deeper"):
        refused = fault(call, path)
        assert refused.faultCode == FAULT_PATH_REFUSED, (path, refused)
        assert f"{path!r} cannot be resolved: a symbolic link loop" in refused.faultString
        # The temp directory's own name is unique: no part of the real path goes out.
        assert str(server.root) not in refused.faultString
        assert server.root.name not in refused.faultString
    assert sorted(os.listdir(tmp)) == ["loop", "ping", "pong"]


def test_symlinks_pointing_outside_are_refused(server: DemoServer, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").mkdir()
    (server.root / "out").symlink_to(outside)
    (server.root / "dangling").symlink_to(tmp_path / "not-there")
    proxy = connect(server)

    for call, path in [
        (proxy.dir, "out"),
        (proxy.list_contents, "/out"),
        (proxy.list, "/out/secret"),
        (proxy.dir.entries, "out"),
        (proxy.dir.list, "out/secret"),
        (proxy.dir.create, "out/new"),
        (proxy.dir.remove, "out/secret"),
        (proxy.dir.remove, "out"),
        (proxy.dir.create, "dangling"),
        (proxy.dir.create, "dangling/x"),
    ]:
        refused = fault(call, path)
        assert refused.faultCode == FAULT_PATH_REFUSED, (path, refused)
        assert "outside the sandbox" in refused.faultString
        assert str(outside) not in refused.faultString
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert not (tmp_path / "not-there").exists()


def test_symlinks_inside_the_root_are_followed_for_listing_only(server: DemoServer) -> None:
    proxy = connect(server)
    proxy.dir.create("real")
    proxy.dir.create("real/child")
    (server.root / "alias").symlink_to(server.root / "real")
    assert proxy.dir("alias") == ["child"]
    assert proxy.dir.entries("alias") == [{"name": "child", "type": "directory"}]
    assert proxy.dir.create("/alias/made") is None
    assert (server.root / "real" / "made").is_dir()
    refused = fault(proxy.dir.remove, "alias")
    assert refused.faultCode == FAULT_NOT_A_DIRECTORY
    assert "symbolic link" in refused.faultString
    assert (server.root / "real").is_dir()


def test_a_temp_root_is_removed_on_stop(make_server: MakeServer) -> None:
    server = make_server()
    root = server.root
    connect(server).dir.create("x")
    assert root.is_dir()
    server.stop()
    assert not root.exists()


def test_a_given_root_is_used_and_kept(make_server: MakeServer, tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "existing").mkdir()
    server = make_server(root=root)
    assert server.root == root.resolve()
    proxy = connect(server)
    assert proxy.dir.entries() == [{"name": "existing", "type": "directory"}]
    assert proxy.dir() == ["existing"]  # a given root is used as it is: no tmp/ added
    proxy.dir.create("/new")
    server.stop()
    assert sorted(os.listdir(root)) == ["existing", "new"]


def test_a_missing_root_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        DemoServer(ServerConfig(port=0, root=tmp_path / "nope", quiet=True))
