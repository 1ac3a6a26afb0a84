"""The parts of a capture index that its cache saves too: column names, name tables, and files
read by offset. Both ``index`` and ``cache`` build on these; neither imports the other's guts."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Final

__all__ = ["COLUMNS", "Blob", "Interner", "temp_blob"]

#: The index's numeric columns: name and ``array`` type code.
COLUMNS: Final = (
    ("offsets", "q"),
    ("lengths", "I"),
    ("seq", "q"),
    ("started", "d"),
    ("duration", "d"),
    ("fault", "q"),
    ("method", "I"),
    ("client", "I"),
    ("size", "Q"),
    # The request body's bytes on the wire (``size`` less it is the response's).
    ("req_size", "I"),
    ("status", "H"),
    ("shape", "I"),
    ("text_off", "q"),
    ("text_len", "I"),
)


class Interner:
    """Small table of distinct strings (method names, clients, shapes), each with a stable id."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names: list[str] = []
        self.ids: dict[str, int] = {}
        for name in names:
            self.intern(name)

    def intern(self, name: str) -> int:
        i = self.ids.get(name)
        if i is None:
            i = len(self.names)
            self.names.append(name)
            self.ids[name] = i
        return i


class Blob:
    """A file read by offset (the capture, its decompressed copy, or the messages file)."""

    def __init__(self, path: Path, *, write: bool = False, fd: int | None = None) -> None:
        self.path = path
        flags = (os.O_RDWR | os.O_CREAT) if write else os.O_RDONLY
        self._fd = os.open(path, flags, 0o600) if fd is None else fd
        self.size = os.fstat(self._fd).st_size
        self._lock = threading.Lock()

    @property
    def fd(self) -> int:
        return self._fd

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self._fd, length, offset)

    def append(self, data: bytes) -> int:
        """Write ``data`` at the end; returns its offset."""
        with self._lock:
            at = self.size
            os.pwrite(self._fd, data, at)
            self.size += len(data)
            return at

    def append_file(self, other: Blob) -> int:
        """Append all of ``other`` (by the kernel where it can: no copy in memory); returns the
        offset it starts at here."""
        with self._lock:
            at = self.size
            done = 0
            while done < other.size:
                try:
                    n = os.copy_file_range(other.fd, self._fd, other.size - done, done, at + done)
                except OSError:
                    n = os.pwrite(
                        self._fd, other.read(done, min(other.size - done, 1 << 20)), at + done
                    )
                if n <= 0:
                    raise OSError(f"cannot copy {other.path} to {self.path}")
                done += n
            self.size += done
            return at

    def truncate(self, size: int) -> None:
        with self._lock:
            os.ftruncate(self._fd, size)
            self.size = size

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


def temp_blob(prefix: str) -> Blob:
    """A scratch file with no name: gone when closed, or when the process ends however it ends."""
    fd, name = tempfile.mkstemp(prefix=prefix)
    os.unlink(name)
    return Blob(Path(f"/dev/fd/{fd}"), fd=fd)
