"""The directory service: dir, dir.list, dir.create, dir.remove, confined to the sandbox root."""

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
from rpcspy.server.sandbox import Sandbox
from tests.conftest import MakeServer
from tests.server.helpers import connect


def fault(call: object, *args: object) -> xmlrpc.client.Fault:
    assert callable(call)
    with pytest.raises(xmlrpc.client.Fault) as info:
        call(*args)
    return info.value


def test_create_list_remove(server: DemoServer) -> None:
    proxy = connect(server)
    assert proxy.dir() == []
    assert proxy.dir.create("a") == "a"
    assert proxy.dir.create("a/b") == "a/b"
    assert proxy.dir.create("a//./c/") == "a/c"  # normalised
    assert (server.root / "a" / "b").is_dir()
    assert proxy.dir() == [{"name": "a", "type": "directory"}]
    assert (
        proxy.dir("a")
        == proxy.dir.list("a")
        == [
            {"name": "b", "type": "directory"},
            {"name": "c", "type": "directory"},
        ]
    )
    assert proxy.dir.list() == proxy.dir("") == proxy.dir(".")
    assert proxy.dir.remove("a/b") is True
    assert not (server.root / "a" / "b").exists()
    assert proxy.dir("a") == [{"name": "c", "type": "directory"}]


def test_listing_names_files_and_links_without_following(server: DemoServer) -> None:
    (server.root / "file.txt").write_text("x")
    (server.root / "sub").mkdir()
    (server.root / "link").symlink_to(server.root / "sub")
    assert connect(server).dir() == [
        {"name": "file.txt", "type": "file"},
        {"name": "link", "type": "symlink"},
        {"name": "sub", "type": "directory"},
    ]


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
    assert fault(proxy.dir.list, "ghost").faultCode == FAULT_NO_SUCH_PATH
    assert fault(proxy.dir.remove, "").faultCode == FAULT_PATH_REFUSED
    assert fault(proxy.dir.create, ".").faultCode == FAULT_EXISTS
    assert fault(proxy.dir, 5).faultCode == FAULT_INVALID_PARAMS
    # nothing leaks the server's own path
    for f in (exists, orphan, not_empty, missing):
        assert str(server.root) not in f.faultString


@pytest.mark.parametrize(
    "path", ["..", "../", "a/../..", "a/../b", "../etc", "/etc", "/", "//etc", "C:/Windows"]
)
@pytest.mark.parametrize("method", ["dir", "dir.list", "dir.create", "dir.remove"])
def test_paths_escaping_the_root_are_refused(
    shared_server: DemoServer, method: str, path: str
) -> None:
    call = getattr(connect(shared_server), method)
    refused = fault(call, path)
    assert refused.faultCode == FAULT_PATH_REFUSED
    assert refused.faultString.startswith(f"{method}: ")


def test_nul_in_a_path_is_refused(tmp_path: Path) -> None:
    # XML cannot carry NUL, so a client cannot send one; the sandbox still refuses it cleanly.
    refused = fault(Sandbox(tmp_path).listdir, "a\x00b")
    assert refused.faultCode == FAULT_PATH_REFUSED


def test_symlinks_pointing_outside_are_refused(server: DemoServer, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").mkdir()
    (server.root / "out").symlink_to(outside)
    (server.root / "dangling").symlink_to(tmp_path / "not-there")
    proxy = connect(server)

    for call, path in [
        (proxy.dir, "out"),
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
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert not (tmp_path / "not-there").exists()


def test_symlinks_inside_the_root_are_followed_for_listing_only(server: DemoServer) -> None:
    proxy = connect(server)
    proxy.dir.create("real")
    proxy.dir.create("real/child")
    (server.root / "alias").symlink_to(server.root / "real")
    assert proxy.dir("alias") == [{"name": "child", "type": "directory"}]
    assert proxy.dir.create("alias/made") == "alias/made"
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
    assert proxy.dir() == [{"name": "existing", "type": "directory"}]
    proxy.dir.create("new")
    server.stop()
    assert sorted(os.listdir(root)) == ["existing", "new"]


def test_a_missing_root_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        DemoServer(ServerConfig(port=0, root=tmp_path / "nope", quiet=True))
