"""The directory service's confinement: every path a client names stays inside one root.

Paths are relative, ``/``-separated, and may not contain ``..``; absolute paths (POSIX or with a
drive) are refused; after symbolic links are resolved the target must still be the root or below
it. Faults name the path as the client gave it, never the server's absolute path.

Not defended against: a local user who swaps a directory for a symbolic link between our check and
the ``mkdir``/``rmdir`` (a check-then-use race). The demo server serves 127.0.0.1 and its own temp
directory; a server exposed to untrusted local users would walk the path with ``dir_fd`` and
``O_NOFOLLOW`` instead.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import NoReturn

from rpcspy.server.faults import (
    FAULT_EXISTS,
    FAULT_INVALID_PARAMS,
    FAULT_NO_SUCH_PATH,
    FAULT_NOT_A_DIRECTORY,
    FAULT_NOT_EMPTY,
    FAULT_OS_ERROR,
    FAULT_PATH_REFUSED,
    fail,
    xmlrpc_type,
)

__all__ = ["Sandbox"]


class Sandbox:
    """Directory operations confined to ``root`` (which must exist)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve(strict=True)
        if not self.root.is_dir():
            raise NotADirectoryError(f"sandbox root is not a directory: {root}")

    def listdir(self, path: object, method: str = "dir") -> list[dict[str, str]]:
        """Entries of a directory as ``{"name", "type"}`` structs sorted by name.

        ``type`` is ``directory``, ``file``, ``symlink`` (not followed) or ``other``.
        """
        _, target, shown = self._locate(path, method)
        try:
            with os.scandir(target) as entries:
                listing = [{"name": e.name, "type": _entry_type(e)} for e in entries]
        except OSError as exc:
            _fail_os(exc, method, shown)
        return sorted(listing, key=lambda entry: entry["name"])

    def mkdir(self, path: object, method: str = "dir.create") -> str:
        """Create one directory (its parent must exist); returns the normalised relative path."""
        candidate, target, shown = self._locate(path, method)
        if candidate == self.root or os.path.lexists(candidate):
            fail(FAULT_EXISTS, method, f"{shown!r} already exists")
        try:
            os.mkdir(target, 0o755)
        except FileNotFoundError:
            fail(FAULT_NO_SUCH_PATH, method, f"the parent directory of {shown!r} does not exist")
        except OSError as exc:
            _fail_os(exc, method, shown)
        return shown

    def rmdir(self, path: object, method: str = "dir.remove") -> bool:
        """Remove one empty directory; symbolic links and files are refused."""
        candidate, target, shown = self._locate(path, method)
        if candidate == self.root:
            fail(FAULT_PATH_REFUSED, method, "the sandbox root cannot be removed")
        if candidate.is_symlink():
            fail(FAULT_NOT_A_DIRECTORY, method, f"{shown!r} is a symbolic link, not a directory")
        try:
            os.rmdir(target)
        except OSError as exc:
            _fail_os(exc, method, shown)
        return True

    def _locate(self, path: object, method: str) -> tuple[Path, Path, str]:
        """(path under the root as named, its resolved form, the normalised text to show)."""
        if not isinstance(path, str):
            fail(
                FAULT_INVALID_PARAMS, method, f"the path must be a string, got {xmlrpc_type(path)}"
            )
        if "\x00" in path:
            fail(FAULT_PATH_REFUSED, method, "a path cannot contain a NUL character")
        posix = PurePosixPath(path)
        windows = PureWindowsPath(path)
        if posix.is_absolute() or windows.is_absolute() or windows.drive:
            fail(FAULT_PATH_REFUSED, method, f"{path!r}: absolute paths are not allowed")
        if ".." in posix.parts:
            fail(FAULT_PATH_REFUSED, method, f"{path!r}: '..' is not allowed in sandbox paths")
        shown = str(posix) if posix.parts else ""
        candidate = self.root.joinpath(*posix.parts)
        try:
            target = candidate.resolve()
        except (OSError, RuntimeError) as exc:
            # A symbolic link loop on some Python versions.
            fail(FAULT_PATH_REFUSED, method, f"{shown!r} cannot be resolved: {exc}")
        if not target.is_relative_to(self.root):
            fail(FAULT_PATH_REFUSED, method, f"{shown!r} leads outside the sandbox (symbolic link)")
        return candidate, target, shown


def _entry_type(entry: os.DirEntry[str]) -> str:
    if entry.is_symlink():
        return "symlink"
    if entry.is_dir(follow_symlinks=False):
        return "directory"
    if entry.is_file(follow_symlinks=False):
        return "file"
    return "other"


def _fail_os(exc: OSError, method: str, shown: str) -> NoReturn:
    """Turn an OS error into the directory service's fault."""
    name = repr(shown)
    if isinstance(exc, FileNotFoundError):
        fail(FAULT_NO_SUCH_PATH, method, f"no such directory: {name}")
    if isinstance(exc, NotADirectoryError):
        fail(FAULT_NOT_A_DIRECTORY, method, f"{name} is not a directory")
    if isinstance(exc, FileExistsError) or exc.errno == errno.ENOTEMPTY:
        # rmdir of a non-empty directory is ENOTEMPTY on Linux, EEXIST on some systems.
        if method.endswith("remove"):
            fail(FAULT_NOT_EMPTY, method, f"{name} is not empty")
        fail(FAULT_EXISTS, method, f"{name} already exists")
    fail(FAULT_OS_ERROR, method, f"{name}: {exc.strerror or exc}")
