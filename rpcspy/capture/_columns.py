"""The parts of a capture index that its cache saves too: column names, name tables, and files
read by offset. Both ``index`` and ``cache`` build on these; neither imports the other's guts."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import Final

__all__ = ["COLUMNS", "Blob", "Interner", "row_range", "temp_blob"]

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
        self.names: list[str] = list(names)
        self.ids: dict[str, int] = dict(zip(self.names, range(len(self.names)), strict=True))
        if len(self.ids) != len(self.names):  # repeated names: each keeps its first id
            given, self.names, self.ids = self.names, [], {}
            for name in given:
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
        """Close the file, once: a second close would close whatever took its number since
        (another thread's file, a reader's)."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


def temp_blob(prefix: str) -> Blob:
    """A scratch file with no name: gone when closed, or when the process ends however it ends."""
    fd, name = tempfile.mkstemp(prefix=prefix)
    os.unlink(name)
    return Blob(Path(f"/dev/fd/{fd}"), fd=fd)


def row_range(start: int, stop: int) -> array[int]:
    """``array("i", range(start, stop))`` (row numbers, ``0 <= start``, below 2**31), made
    byte by byte: each of the four bytes of the numbers is a run or a cycle that bytes repeat
    and slice in C, some 20 times faster than numbering a million rows one by one (a list of
    every row is what a first screen of a big capture shows)."""
    n = stop - start
    if n < 4096:
        return array("i", range(start, max(start, stop)))
    assert start >= 0 and stop <= 1 << 31
    out = bytearray(4 * n)
    # Byte 0 cycles through 0..255; byte k > 0 is a run of 256**k of each value.
    cycle = bytes(range(256)) * (n // 256 + 2)
    lows = cycle[start % 256 : start % 256 + n]
    little = sys.byteorder == "little"
    out[0 if little else 3 :: 4] = lows
    for k in (1, 2, 3):
        shift = 8 * k
        runs = b"".join(
            bytes((high & 255,)) * (min(stop, (high + 1) << shift) - max(start, high << shift))
            for high in range(start >> shift, ((stop - 1) >> shift) + 1)
        )
        out[k if little else 3 - k :: 4] = runs
    rows = array("i")
    rows.frombytes(out)
    return rows
