"""Symbolic link loops of every shape inside the sandbox of a real ``rpcspy serve``: each is
refused (or answered) without a byte of the server's real path in the fault or the log."""

from __future__ import annotations

import os
import xmlrpc.client
from pathlib import Path

from tests.server.test_limits import serve

METHODS = ("dir", "dir.entries", "dir.create", "dir.remove", "list_contents")


def _shapes(tmp: Path, root: Path) -> list[str]:
    """Make the loops under ``tmp``; returns the client paths that reach them."""
    (tmp / "self").symlink_to("self")  # relative, onto itself
    (tmp / "abs").symlink_to(tmp / "abs")  # absolute, onto itself
    (tmp / "ping").symlink_to("pong")
    (tmp / "pong").symlink_to("ping")
    (tmp / "deep").mkdir()
    (tmp / "deep" / "back").symlink_to("../deep/back")  # through a parent directory
    (tmp / "nest").symlink_to("nest/inner")  # a loop that grows
    (tmp / "viaroot").symlink_to(root / "tmp" / "viaroot")
    # A chain longer than the kernel follows (40), ending in a loop.
    for i in range(45):
        (tmp / f"c{i}").symlink_to(f"c{i + 1}")
    (tmp / "c45").symlink_to("c0")
    return [
        "/tmp/self",
        "tmp/self/x",
        "/tmp/abs",
        "/tmp/ping",
        "/tmp/pong/deeper",
        "/tmp/deep/back",
        "/tmp/deep/back/x",
        "/tmp/nest",
        "/tmp/nest/x",
        "/tmp/viaroot",
        "/tmp/c0",
        "/tmp/c7/x",
    ]


def test_no_symlink_loop_fault_names_the_real_path(tmp_path: Path) -> None:
    root = tmp_path / "sandbox-root-a7f3"
    tmp = root / "tmp"
    tmp.mkdir(parents=True)
    paths = _shapes(tmp, root)
    before = sorted(os.listdir(tmp))
    with serve("--root", str(root)) as served:
        proxy = xmlrpc.client.ServerProxy(served.url)
        for method in METHODS:
            call = getattr(proxy, method)
            for path in paths:
                try:
                    call(path)
                except xmlrpc.client.Fault as fault:
                    text = fault.faultString
                    assert str(tmp_path) not in text, (method, path, text)
                    assert "a7f3" not in text, (method, path, text)
                    assert fault.faultCode != 1, (method, path, text)  # no stray exception
                else:
                    raise AssertionError(f"{method}({path!r}) through a loop must be refused")
    assert sorted(os.listdir(tmp)) == before
    assert served.done is not None
    assert "a7f3" not in served.done.stderr
    assert "Traceback" not in served.done.stderr
