"""A real, small file system that fills up: a tmpfs mount, else an ext2 image on a loop device.

Mounting needs root (the test machines run as root). ``small_filesystem`` yields the mount point
and unmounts it afterwards; it skips the test with the reason when neither mount is possible.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["fill", "small_filesystem"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)


def _mount_tmpfs(where: Path, size: str) -> str | None:
    """Mount a tmpfs; None when it worked, else why not."""
    if shutil.which("mount") is None:
        return "no mount command"
    done = _run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where))
    return None if done.returncode == 0 else f"mount -t tmpfs: {done.stderr.strip()}"


def _mount_loop(where: Path, image: Path, size_kib: int) -> str | None:
    """Make an ext2 image and loop-mount it; None when it worked, else why not."""
    if shutil.which("mkfs.ext2") is None:
        return "no mkfs.ext2"
    with open(image, "wb") as f:
        f.truncate(size_kib * 1024)
    made = _run("mkfs.ext2", "-q", "-F", "-m", "0", str(image))
    if made.returncode != 0:
        return f"mkfs.ext2: {made.stderr.strip()}"
    done = _run("mount", "-o", "loop", str(image), str(where))
    return None if done.returncode == 0 else f"mount -o loop: {done.stderr.strip()}"


@contextlib.contextmanager
def small_filesystem(base: Path, size_kib: int = 1024) -> Iterator[Path]:
    """A freshly mounted file system of about ``size_kib`` KiB under ``base``."""
    where = base / "smallfs"
    where.mkdir()
    why = _mount_tmpfs(where, f"{size_kib}k")
    if why is not None:
        loop_why = _mount_loop(where, base / "smallfs.img", size_kib)
        if loop_why is not None:
            pytest.skip(f"cannot mount a small file system to fill: {why}; {loop_why}")
    try:
        yield where
    finally:
        _run("umount", "-l", str(where))


def fill(directory: Path, name: str = "filler") -> Path:
    """Write a file until the file system is full (ENOSPC); returns its path."""
    path = directory / name
    block = b"\0" * 4096
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            try:
                if os.write(fd, block) == 0:
                    break
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
        # Bytes that still fit in a partly used block.
        with contextlib.suppress(OSError):
            while os.write(fd, b"\0"):
                pass
    finally:
        os.close(fd)
    return path
