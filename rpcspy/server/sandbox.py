"""The directory service's confinement: a virtual root, so every path a client names stays inside.

Strategy: the sandbox root plays ``/``. A client path is split on ``/``; an absolute path
(``/tmp/EXAMPLE``, as the tutorials' clients send) and a relative one (``tmp/EXAMPLE``, relative to
``/``) name the same directory under the root. What cannot be mapped safely is refused with fault
100 before anything touches the filesystem: ``..`` anywhere, a NUL character, a Windows drive or a
backslash-rooted path, a name longer than ``NAME_MAX_BYTES`` or a path longer than
``PATH_MAX_BYTES``. Then symbolic links are resolved and the target must still be the root or below
it; a link loop is refused too. Faults name the path as the client gave it (normalised), never the
server's real path: not even the operating system's error text goes out, only its ``strerror``.

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

__all__ = ["NAME_MAX_BYTES", "PATH_MAX_BYTES", "TUTORIAL_DIRS", "Sandbox"]

#: The longest name one path component may have (UTF-8 bytes), as on Linux and macOS.
NAME_MAX_BYTES = 255
#: The longest path a client may name (UTF-8 bytes), Linux's PATH_MAX.
PATH_MAX_BYTES = 4096
#: Directories a fresh sandbox starts with: the tutorials' clients list and create in ``/tmp``.
TUTORIAL_DIRS = ("tmp",)


class Sandbox:
    """Directory operations under a virtual root: ``root`` (which must exist) plays ``/``."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve(strict=True)
        if not self.root.is_dir():
            raise NotADirectoryError(f"sandbox root is not a directory: {root}")

    def names(self, path: object, method: str = "dir") -> list[str]:
        """The names in a directory, sorted: what ``os.listdir`` gives, in a stable order."""
        return [entry["name"] for entry in self.entries(path, method)]

    def entries(self, path: object, method: str = "dir.entries") -> list[dict[str, str]]:
        """Entries of a directory as ``{"name", "type"}`` structs sorted by name.

        ``type`` is ``directory``, ``file``, ``symlink`` (not followed) or ``other``.
        """
        _, target, shown = self._locate(path, method)
        try:
            with os.scandir(target) as found:
                listing = [{"name": e.name, "type": _entry_type(e)} for e in found]
        except OSError as exc:
            _fail_os(exc, method, shown)
        return sorted(listing, key=lambda entry: entry["name"])

    def mkdir(self, path: object, method: str = "dir.create") -> None:
        """Create one directory (its parent must exist), like ``os.mkdir``."""
        candidate, target, shown = self._locate(path, method)
        if candidate == self.root or os.path.lexists(candidate):
            fail(FAULT_EXISTS, method, f"{shown!r} already exists")
        try:
            os.mkdir(target, 0o755)
        except FileNotFoundError:
            fail(FAULT_NO_SUCH_PATH, method, f"the parent directory of {shown!r} does not exist")
        except OSError as exc:
            _fail_os(exc, method, shown)

    def rmdir(self, path: object, method: str = "dir.remove") -> None:
        """Remove one empty directory, like ``os.rmdir``; symbolic links and files are refused."""
        candidate, target, shown = self._locate(path, method)
        if candidate == self.root:
            fail(FAULT_PATH_REFUSED, method, "the sandbox root cannot be removed")
        if candidate.is_symlink():
            fail(FAULT_NOT_A_DIRECTORY, method, f"{shown!r} is a symbolic link, not a directory")
        try:
            os.rmdir(target)
        except OSError as exc:
            _fail_os(exc, method, shown)

    def _locate(self, path: object, method: str) -> tuple[Path, Path, str]:
        """(path under the root as named, its resolved form, the normalised text to show)."""
        parts, shown = _virtual_parts(path, method)
        candidate = self.root.joinpath(*parts)
        try:
            target = candidate.resolve()
        except (OSError, RuntimeError):
            # Python's message names the real path ("Symlink loop from '/tmp/...'"): not sent.
            fail(FAULT_PATH_REFUSED, method, f"{shown!r} cannot be resolved: a symbolic link loop")
        if not target.is_relative_to(self.root):
            fail(FAULT_PATH_REFUSED, method, f"{shown!r} leads outside the sandbox (symbolic link)")
        return candidate, target, shown


def _virtual_parts(path: object, method: str) -> tuple[tuple[str, ...], str]:
    """A client path as names below the virtual root, and its normalised text; or a fault."""
    if not isinstance(path, str):
        fail(FAULT_INVALID_PARAMS, method, f"the path must be a string, got {xmlrpc_type(path)}")
    if "\x00" in path:
        fail(FAULT_PATH_REFUSED, method, "a path cannot contain a NUL character")
    shown_raw = repr(path) if len(path) <= 80 else repr(path[:77] + "...")
    if _utf8_size(path) > PATH_MAX_BYTES:
        fail(FAULT_PATH_REFUSED, method, f"{shown_raw}: longer than {PATH_MAX_BYTES} bytes")
    # "C:/x", "C:x" and "\\x" mean a drive or the current drive's root on Windows: refused
    # rather than guessed at. Forward slashes are POSIX only ("//etc" is "/etc").
    if PureWindowsPath(path).drive[1:2] == ":" or path.startswith("\\"):
        fail(FAULT_PATH_REFUSED, method, f"{shown_raw}: Windows paths are not supported")
    posix = PurePosixPath(path)
    parts = posix.parts[1:] if posix.anchor else posix.parts
    if ".." in parts:
        fail(FAULT_PATH_REFUSED, method, f"{shown_raw}: '..' is not allowed in sandbox paths")
    for part in parts:
        if _utf8_size(part) > NAME_MAX_BYTES:
            fail(
                FAULT_PATH_REFUSED,
                method,
                f"{shown_raw}: a name is longer than {NAME_MAX_BYTES} bytes",
            )
    relative = "/".join(parts)
    shown = "/" + relative if posix.anchor else relative
    return parts, shown


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _entry_type(entry: os.DirEntry[str]) -> str:
    if entry.is_symlink():
        return "symlink"
    if entry.is_dir(follow_symlinks=False):
        return "directory"
    if entry.is_file(follow_symlinks=False):
        return "file"
    return "other"


def _fail_os(exc: OSError, method: str, shown: str) -> NoReturn:
    """Turn an OS error into the directory service's fault (its text never holds a real path)."""
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
    fail(FAULT_OS_ERROR, method, f"{name}: {exc.strerror or type(exc).__name__}")
