"""The index cache: a capture's index saved beside nothing but itself, in a cache directory.

Where: ``$RPCSPY_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/rpcspy``, else ``~/.cache/rpcspy``;
one entry per capture (by its absolute path) under ``index/``. An entry holds the columns
(``array.tofile``), the messages file, for gzip captures the decompressed lines, and ``meta.json``
(written last: an entry without it is empty).

When it is used: the capture's inode, size and modification time are those saved → the index is
reused as it is. The capture only grew (same inode, the first and the last 64 KiB it had are
unchanged) → the saved rows are kept and only the appended lines are read. Anything else → the
entry is rebuilt. The capture is always the source of truth; deleting the cache loses nothing.

Files without names until saved: the data files of an entry being built are made with no name
(``O_TMPFILE``) and linked into the entry only when it is saved, so a program killed while it
builds one (SIGKILL included: nothing to clean up) leaves no half-built file behind, not even
the decompressed copy of a gzip bomb's lines. (Where the file system cannot make such files,
they are named from the start, as before, and replaced on the next build.)

Locks (``flock`` on the entry): building or extending an entry takes it exclusively; once saved,
the lock is shared, so other programs can use the saved index at the same time (read-only, and
only when the capture has not changed). A program that cannot have the entry indexes into
temporary files instead. A rebuilt entry gets new files, so one still open elsewhere stays intact.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import orjson

import rpcspy
from rpcspy.capture._columns import COLUMNS, Blob
from rpcspy.capture.record import Problem

if TYPE_CHECKING:
    from rpcspy.capture.reader import CaptureReader

__all__ = ["ALL_COLUMNS", "Entry", "Resume", "Saved", "cache_root", "open_entry"]

#: Every column an entry keeps: the numeric ones, then the byte columns.
ALL_COLUMNS: Final = (*COLUMNS, ("flags", "B"), ("origin", "B"), ("protocol", "B"))

#: ``linkat`` flags (Linux), for naming an unnamed file (``_link_fd``).
_AT_FDCWD: Final = -100
_AT_SYMLINK_FOLLOW: Final = 0x400
#: Bumped whenever what is saved changes meaning.
INDEX_FORMAT: Final = 4
_EDGE: Final = 64 * 1024
#: Problems that describe the end of the file as it was, not a line: dropped when it grows.
_TAIL_KINDS: Final = frozenset({"torn-line", "torn-gzip"})


def cache_root() -> Path:
    """The directory holding cached indexes."""
    env = os.environ.get("RPCSPY_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "rpcspy"


@dataclass(frozen=True, slots=True)
class Resume:
    """What a loaded entry says about reading on."""

    #: Decompressed offset of the first line not indexed yet, and the line number before it.
    offset: int
    lineno: int
    #: True when the capture has not changed since it was saved.
    unchanged: bool
    problems: list[Problem] = field(default_factory=list)


@dataclass(slots=True)
class Saved:
    """An index as the cache keeps it: its columns, name tables and files (file rows only)."""

    columns: dict[str, Any]
    rows: int
    methods: list[str]
    clients: list[str]
    origins: list[str]
    #: The protocols' names, by id in the ``protocol`` column (format 4).
    protocols: list[str]
    shapes: list[str]
    sub_methods: dict[int, tuple[int, ...]]
    sub_faults: dict[int, tuple[int, ...]]
    #: Finding rule ids met, and per row with findings the ids of its rules (format 2).
    rules: list[str]
    row_rules: dict[int, tuple[int, ...]]
    faults: int
    bad: int
    texts: Blob
    lines: Blob
    problems: list[Problem]
    #: Where reading goes on (set when loaded).
    resume: Resume | None = None
    #: Rows the columns hold: ``rows``, or fewer when only the head was loaded
    #: (``Entry.load(head=...)``; ``Entry.columns`` gives them all).
    loaded: int = -1

    def __post_init__(self) -> None:
        if self.loaded < 0:
            self.loaded = self.rows


def _digest(path: Path, start: int, length: int) -> str:
    with open(path, "rb") as f:
        f.seek(max(0, start))
        return hashlib.sha1(f.read(max(0, length))).hexdigest()


def _edges(path: Path, size: int) -> tuple[str, str]:
    return _digest(path, 0, min(size, _EDGE)), _digest(path, size - _EDGE, min(size, _EDGE))


def _problem_json(p: Problem) -> list[object]:
    return [p.where, p.kind, p.reason, p.line, p.column, p.path]


class Entry:
    """One capture's cache directory, locked for this process while open."""

    def __init__(self, capture: Path, directory: Path, lock_fd: int, *, writable: bool) -> None:
        self.capture = capture
        self.dir = directory
        self._lock_fd = lock_fd
        #: False: another program has the entry; this one may only read a saved, current index.
        self.writable = writable
        self._exclusive = writable
        #: Data files made without a name (by ``blob``), linked in by ``save``.
        self._unnamed: dict[str, Blob] = {}

    def close(self) -> None:
        """Release the entry (its flock), once (see ``Blob.close``)."""
        fd, self._lock_fd = self._lock_fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)  # releases the flock

    def _invalidate(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.dir / "meta.json").unlink()

    def blob(self, name: str, *, fresh: bool) -> Blob:
        """A data file of the entry; ``fresh`` empties it (and invalidates the entry)."""
        assert self.writable
        path = self.dir / f"{name}.bin"
        if fresh:
            self._invalidate()
            # A new file: a program still reading the old one keeps reading it intact.
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            try:
                fd = os.open(self.dir, os.O_TMPFILE | os.O_RDWR, 0o600)
            except (OSError, AttributeError):
                pass  # no unnamed files here: a named one
            else:
                blob = Blob(path, fd=fd)
                self._unnamed[name] = blob
                return blob
        return Blob(path, write=True)

    def _name_files(self) -> bool:
        """Link the entry's unnamed data files in under their names; False if one cannot be."""
        for name, blob in list(self._unnamed.items()):
            path = self.dir / f"{name}.bin"
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            if not _link_fd(blob.fd, path):
                return False
            del self._unnamed[name]
        return True

    # ------------------------------------------------------------ loading

    def load(self, *, head: int | None = None, above: int = 0) -> Saved | None:
        """The saved index when it is still good; None when it must be rebuilt.

        ``head``: of an index of more than ``above`` rows, load only the columns' first
        ``head`` rows (and all the rest: the name tables, the files); ``columns`` reads them
        whole later. A first screen needs a page of rows, not the 80 bytes a call of a
        million calls."""
        try:
            meta = orjson.loads((self.dir / "meta.json").read_bytes())
            if meta.get("format") != INDEX_FORMAT or meta.get("rpcspy") != rpcspy.__version__:
                return None
            st = os.stat(self.capture)
            if (st.st_ino, st.st_dev) != (meta["ino"], meta["dev"]):
                return None
            size = meta["size"]
            unchanged = st.st_size == size and st.st_mtime_ns == meta["mtime_ns"]
            if not unchanged and (
                not self.writable
                or st.st_size <= size
                or list(_edges(self.capture, size)) != meta["edges"]
            ):
                return None
            saved = self._fill(meta, head if meta["rows"] > above else None)
        except (OSError, ValueError, KeyError, TypeError):
            if self.writable:
                self._invalidate()
            return None
        problems = [Problem(*p) for p in meta["problems"]]
        if not unchanged:
            problems = [p for p in problems if p.kind not in _TAIL_KINDS]
        saved.problems = problems
        saved.resume = Resume(meta["offset"], meta["lineno"], unchanged, problems)
        return saved

    def columns(self, rows: int) -> dict[str, Any]:
        """The first ``rows`` rows of every saved column (``array``; ``bytearray`` for bytes),
        read straight into them (the interpreter is free meanwhile: a UI's thread runs on)."""
        columns: dict[str, Any] = {}
        for name, code in ALL_COLUMNS:
            col: Any = bytearray(rows) if code == "B" else array(code, bytes(array(code).itemsize))
            if code != "B":
                col *= rows
            view = memoryview(col).cast("B")
            with open(self.dir / f"{name}.col", "rb", buffering=0) as f:
                done = 0
                while done < len(view):
                    got = f.readinto(view[done:])
                    if not got:
                        raise EOFError(f"{name}.col is short")  # (as array.fromfile says it)
                    done += got
            view.release()
            columns[name] = col
        return columns

    def _fill(self, meta: dict[str, Any], head: int | None = None) -> Saved:
        """Load everything an entry holds (of the columns, the first ``head`` rows)."""
        rows = meta["rows"]
        loaded = rows if head is None else min(rows, head)
        columns = self.columns(loaded)
        w = self.writable
        opened: list[Blob] = []
        try:
            texts = Blob(self.dir / "texts.bin", write=w)
            opened.append(texts)
            lines = Blob(self.dir / "lines.bin", write=w) if meta["gzip"] else Blob(self.capture)
            opened.append(lines)
            if texts.size < meta["texts_size"] or (
                meta["gzip"] and lines.size < meta["lines_size"]
            ):
                raise ValueError("a data file of the entry is short")
        except BaseException:
            for blob in opened:
                blob.close()
            raise
        if w:
            texts.truncate(meta["texts_size"])
            if meta["gzip"]:
                lines.truncate(meta["lines_size"])
        return Saved(
            columns=columns,
            rows=rows,
            methods=meta["methods"],
            clients=meta["clients"],
            origins=meta["origins"],
            protocols=meta["protocols"],
            shapes=meta["shapes"],
            sub_methods={int(k): tuple(v) for k, v in meta["sub_methods"].items()},
            sub_faults={int(k): tuple(v) for k, v in meta["sub_faults"].items()},
            rules=meta["rules"],
            row_rules={int(k): tuple(v) for k, v in meta["row_rules"].items()},
            faults=meta["faults"],
            bad=meta["bad"],
            texts=texts,
            lines=lines,
            problems=[],
            loaded=loaded,
        )

    # ------------------------------------------------------------ saving

    def save(self, index: Saved, reader: CaptureReader) -> None:
        """Save an index's file rows (``CaptureIndex.snapshot``)."""
        if not self.writable:
            return
        if not self._exclusive:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return  # others use the saved index now: keep it as it is
            self._exclusive = True
        self._invalidate()
        if not self._name_files():
            return  # not saved: the capture is read again next time
        st = os.stat(self.capture)
        rows = index.rows
        for name, _code in ALL_COLUMNS:
            col = index.columns[name]
            tmp = self.dir / f"{name}.col.part"
            with open(tmp, "wb") as f:
                if isinstance(col, bytearray):
                    f.write(col[:rows])
                else:
                    col[:rows].tofile(f)
            os.replace(tmp, self.dir / f"{name}.col")
        meta = {
            "format": INDEX_FORMAT,
            "rpcspy": rpcspy.__version__,
            "capture": str(self.capture),
            "ino": st.st_ino,
            "dev": st.st_dev,
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "edges": list(_edges(self.capture, st.st_size)),
            "offset": reader._offset,
            "lineno": reader._lineno,
            "gzip": reader.compressed,
            "rows": rows,
            "faults": index.faults,
            "bad": index.bad,
            "methods": index.methods,
            "clients": index.clients,
            "origins": index.origins,
            "protocols": index.protocols,
            "shapes": index.shapes,
            "sub_methods": {str(k): list(v) for k, v in index.sub_methods.items()},
            "sub_faults": {str(k): list(v) for k, v in index.sub_faults.items()},
            "rules": index.rules,
            "row_rules": {str(k): list(v) for k, v in index.row_rules.items()},
            "problems": [_problem_json(p) for p in index.problems],
            "texts_size": index.texts.size,
            "lines_size": index.lines.size if reader.compressed else 0,
        }
        tmp = self.dir / "meta.json.part"
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, self.dir / "meta.json")
        # Saved: others may read it now.
        fcntl.flock(self._lock_fd, fcntl.LOCK_SH)
        self._exclusive = False


def _link_fd(fd: int, path: Path) -> bool:
    """Give the unnamed file open as ``fd`` the name ``path`` (``linkat`` of its
    ``/proc/self/fd`` link, followed: what ``os.link`` does not ask for)."""
    import ctypes  # (here: only a build names files, and a reopen need not import it)

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        done = libc.linkat(
            _AT_FDCWD,
            f"/proc/self/fd/{fd}".encode(),
            _AT_FDCWD,
            os.fsencode(path),
            _AT_SYMLINK_FOLLOW,
        )
    except (OSError, AttributeError):
        return False
    return bool(done == 0)


def open_entry(capture: Path) -> Entry | None:
    """The cache entry of ``capture``, locked; None when the cache cannot be used now."""
    try:
        key = hashlib.sha1(str(capture.resolve()).encode("utf-8", "surrogateescape")).hexdigest()
        directory = cache_root() / "index" / key[:24]
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        writable = True
    except OSError:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        writable = False
    return Entry(capture.resolve(), directory, fd, writable=writable)
