"""SQL over captures: each capture (or Parquet export directory) opened as the DuckDB views
``calls``, ``subcalls`` and ``findings``, so the same SQL runs on a capture through
``rpcspy query`` and on an export in plain DuckDB.

Strategy: a capture's tables are Parquet files in a cache beside its index cache
(``rpcspy.capture.cache.cache_root() / "query"``, one entry per capture, keyed as the index
is). The capture index is opened first (``rpcspy.capture``: reused, extended with appended
lines, or rebuilt, by its own rules); the entry's ``meta.json`` holds a digest of the index
rows its parts were made from, so:

- the same rows as saved → the parts are used as they are (a warm query reads only Parquet);
- the index grew and its first rows are those saved → only the new rows are tabled, as new
  parts (appended lines appear at once);
- anything else (the capture was replaced or rewritten) → the entry is emptied and rebuilt.

A capture whose file is as it was when its parts were saved (inode, size, modification time:
the index cache's own test for "unchanged") is queried from its parts without opening its index
(``quick_tables``): a warm query reads only Parquet.

The lines part of ``calls`` and the ``findings`` table (``rpcspy.query.tables``) are built only
once a query names one of their columns, ``findings``, or ``*``. The capture stays the source of
truth; deleting the cache loses nothing. An entry is locked (``flock``) while it is checked and
built; a cache that cannot be written is replaced by a temporary directory for the run.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import rpcspy
from rpcspy.query.tables import CALLS, FINDINGS, LINE_COLUMNS, SUBCALLS, calls_select, connect

if TYPE_CHECKING:
    import duckdb

    from rpcspy.capture.index import CaptureIndex

__all__ = [
    "QUERY_FORMAT",
    "QueryError",
    "Source",
    "TableSet",
    "cache_root",
    "capture_stat",
    "execute",
    "names_lines",
    "needs_lines",
    "open_views",
    "preload",
    "preloaded",
    "quick_tables",
    "table_capture",
    "tables_dir",
]

#: Bumped whenever what the cache keeps changes meaning.
QUERY_FORMAT: Final = 2
#: The index columns whose rows a saved entry was made from (their digest is checked).
_DIGEST_COLUMNS: Final = (
    "offsets",
    "lengths",
    "seq",
    "started",
    "duration",
    "fault",
    "method",
    "client",
    "size",
    "status",
    "text_off",
    "text_len",
)


def cache_root() -> Path:
    """``rpcspy.capture.cache.cache_root``, the directory of the index cache, said again here so
    that a warm query need not import ``rpcspy.capture`` (a test holds the two equal)."""
    env = os.environ.get("RPCSPY_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "rpcspy"


def _preload_imports() -> None:
    with contextlib.suppress(ImportError):
        import duckdb  # noqa: F401

        import rpcspy.query.build  # noqa: F401


#: Preloading threads not yet waited for (``preloaded``).
_preloading: list[threading.Thread] = []


def preload() -> threading.Thread:
    """Import what tabling needs (DuckDB, NumPy, the builder: half a second) in a thread, while
    the capture index is built by helper processes and this one mostly waits for them."""
    thread = threading.Thread(target=_preload_imports, name="rpcspy-preload", daemon=True)
    _preloading.append(thread)
    thread.start()
    return thread


def preloaded() -> None:
    """Wait for the imports ``preload`` began. Before forking: a child forked while another
    thread is importing DuckDB would find the module half made and its lock held by a thread
    the child does not have, and hang on its first use of it (the lines' workers use it)."""
    while _preloading:
        _preloading.pop().join()


def capture_stat(capture: Path) -> list[int]:
    """What says a capture is unchanged: inode, device, size, modification time."""
    st = os.stat(capture)
    return [st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns]


def tables_dir(capture: Path) -> Path:
    """The cache entry of a capture's tables (keyed as its index's entry)."""
    key = hashlib.sha1(str(capture.resolve()).encode("utf-8", "surrogateescape")).hexdigest()
    return cache_root() / "query" / key[:24]


#: Every this many rows one is checked (and the last): the index's own checks (the capture's
#: identity, size, edges) decide whether its rows are still the capture's; this only has to
#: tell whether they are the rows the parts were made from.
_SAMPLE: Final = 97


def _digest(index: CaptureIndex, rows: int, names: dict[str, int]) -> str:
    """A digest of the index rows ``0..rows`` (a sample of them) and of the messages file they
    point into: a rebuilt index has a new messages file, an extended one the same."""
    h = hashlib.blake2b(digest_size=20)
    texts = index.texts
    if texts is not None:
        st = os.fstat(texts.fd)
        h.update(f"{st.st_dev}:{st.st_ino}".encode())
    picks = [*range(0, rows, _SAMPLE), rows - 1] if rows else []
    for name in _DIGEST_COLUMNS:
        column = getattr(index, name)
        h.update(repr([column[i] for i in picks]).encode())
    h.update(bytes(index.flags[i] for i in picks))
    h.update(bytes(index.origin[i] for i in picks))
    for table, count in names.items():
        h.update(json.dumps(getattr(index, table).names[:count]).encode())
    return h.hexdigest()


def _name_counts(index: CaptureIndex) -> dict[str, int]:
    return {t: len(getattr(index, t).names) for t in ("methods", "clients", "origins")}


@dataclass(slots=True)
class TableSet:
    """A capture's tables: Parquet parts in ``dir`` (core and sub-calls always; lines and
    findings when built)."""

    dir: Path
    rows: int
    lines_rows: int
    #: Whether the cache entry was reused as is, extended, or built now.
    source: str = "built"
    temporary: bool = False
    #: The capture's reading problems (torn or corrupt lines), in people's words.
    problems: list[str] = field(default_factory=list)
    #: The entry's lock, held (shared) while the parts are in use.
    lock_fd: int | None = None

    @property
    def has_lines(self) -> bool:
        return self.lines_rows >= self.rows

    def close(self) -> None:
        if self.lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.lock_fd)
            self.lock_fd = None
        if self.temporary:
            shutil.rmtree(self.dir, ignore_errors=True)


#: How long a program waits for another to finish with an entry before it tables the capture
#: in a temporary directory instead.
_LOCK_WAIT: Final = 30.0


def _lock(directory: Path, how: int, wait: float = 0.0) -> int | None:
    """The entry's lock file, locked ``how`` (``LOCK_SH`` or ``LOCK_EX``); None when the entry
    cannot be made or is not free within ``wait`` seconds."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, how | fcntl.LOCK_NB)
            return fd
        except OSError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(0.05)


def _parts(directory: Path, kind: str) -> list[int]:
    out = []
    for p in directory.glob(f"{kind}.*.parquet"):
        with contextlib.suppress(ValueError):
            out.append(int(p.name.split(".")[1]))
    return sorted(out)


def _parts_as_saved(directory: Path, meta: dict[str, Any]) -> bool:
    """Are the entry's parts those its ``meta.json`` lists (a contents part beside each core
    part)?"""
    core = _parts(directory, "core")
    return (
        core == meta["core"]
        and _parts(directory, "contents") == core
        and _parts(directory, "lines") == meta["lines"]
    )


def _empty(directory: Path) -> None:
    for p in directory.iterdir():
        if p.name != "lock":
            with contextlib.suppress(OSError):
                p.unlink()


def _load_meta(directory: Path, index: CaptureIndex) -> dict[str, Any] | None:
    try:
        meta: dict[str, Any] = json.loads((directory / "meta.json").read_text())
        if meta.get("format") != QUERY_FORMAT or meta.get("rpcspy") != rpcspy.__version__:
            return None
        rows = int(meta["rows"])
        names = {k: int(v) for k, v in meta["names"].items()}
        if rows > index.count or any(len(getattr(index, t).names) < c for t, c in names.items()):
            return None
        if _digest(index, rows, names) != meta["digest"]:
            return None
        if not _parts_as_saved(directory, meta):
            return None
        return meta
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _save_meta(
    directory: Path, index: CaptureIndex, rows: int, lines_rows: int, stat: list[int]
) -> None:
    names = _name_counts(index)
    meta = {
        "capture_stat": stat,
        "problems": [p.message for p in index.problems],
        "format": QUERY_FORMAT,
        "rpcspy": rpcspy.__version__,
        "rows": rows,
        "lines_rows": lines_rows,
        "names": names,
        "digest": _digest(index, rows, names),
        "core": _parts(directory, "core"),
        "lines": _parts(directory, "lines"),
    }
    tmp = directory / "meta.json.part"
    tmp.write_text(json.dumps(meta))
    os.replace(tmp, directory / "meta.json")


def quick_tables(capture: Path, *, lines: bool) -> TableSet | None:
    """The saved tables of ``capture`` when the file is as it was when they were saved (and
    they hold the lines part, if ``lines``); None when the index must be opened."""
    directory = tables_dir(capture)
    if not (directory / "meta.json").is_file():
        return None
    fd = _lock(directory, fcntl.LOCK_SH)
    if fd is None:
        return None
    try:
        meta = json.loads((directory / "meta.json").read_text())
        if (
            meta.get("format") != QUERY_FORMAT
            or meta.get("rpcspy") != rpcspy.__version__
            or meta.get("capture_stat") != capture_stat(capture)
            or not _parts_as_saved(directory, meta)
        ):
            os.close(fd)
            return None
        rows, lines_rows = int(meta["rows"]), int(meta["lines_rows"])
        if lines and lines_rows < rows:
            os.close(fd)
            return None
        problems = [str(p) for p in meta["problems"]]
    except (OSError, ValueError, KeyError, TypeError):
        os.close(fd)
        return None
    return TableSet(directory, rows, lines_rows, "cached", problems=problems, lock_fd=fd)


def table_capture(
    capture: Path,
    index: CaptureIndex,
    *,
    lines: bool,
    cache: bool = True,
    stat: list[int] | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> TableSet:
    """The tables of ``capture`` (whose index is ``index``), from the cache where it can, built
    where it must; with ``lines``, the lines part and ``findings`` too. ``stat`` is the
    capture's ``capture_stat`` taken before its index was opened (a file that grows meanwhile
    is then seen as changed next time). Opens no DuckDB connection that outlives the call, and
    none before the lines are read (by forked workers). Close the result when done."""
    from rpcspy.query.build import build_core, build_lines

    if stat is None:
        stat = capture_stat(capture)
    directory = tables_dir(capture)
    fd = _lock(directory, fcntl.LOCK_EX, _LOCK_WAIT) if cache else None
    temporary = fd is None
    if temporary:
        directory = Path(tempfile.mkdtemp(prefix="rpcspy-query-"))
    try:
        meta = None if temporary else _load_meta(directory, index)
        if meta is None:
            _empty(directory)
            rows = lines_rows = 0
        else:
            rows, lines_rows = int(meta["rows"]), int(meta["lines_rows"])
        count = index.count
        source = "cached" if meta is not None and rows == count else "built"
        if meta is not None and rows < count:
            source = "extended"
        if lines and lines_rows < count:
            # (before any DuckDB connection of this process, and with no import under way in
            # another thread: the workers are forked)
            preloaded()
            build_lines(index, lines_rows, count, directory, on_part=on_rows)
            lines_rows = count
            if source == "cached":
                source = "extended"
        if rows < count:
            with connect() as con:
                build_core(con, index, rows, count, directory)
            if on_rows is not None and not lines:
                on_rows(count - rows)
            rows = count
        if not temporary and (
            source != "cached" or meta is None or meta.get("capture_stat") != stat
        ):
            _save_meta(directory, index, rows, lines_rows, stat)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_SH)  # saved: others may use it while this one does
        problems = [p.message for p in index.problems]
        return TableSet(directory, rows, lines_rows, source, temporary, problems, fd)
    except BaseException:
        if temporary:
            shutil.rmtree(directory, ignore_errors=True)
        if fd is not None:
            os.close(fd)
        raise


# ---------------------------------------------------------------- the views


_STRING: Final = re.compile(r"'(?:[^']|'')*'")
_COUNT_STAR: Final = re.compile(r"(?<!columns)\(\s*\*\s*\)", re.IGNORECASE)
_WORD: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COLUMNS: Final = re.compile(r"\bcolumns\s*\(", re.IGNORECASE)
_WHOLE: Final = re.compile(
    r"^\s*(describe|summarize|show|pragma)\b|information_schema|duckdb_columns", re.IGNORECASE
)
#: The name DuckDB says it did not find: the first quoted one (the rest are its suggestions).
_QUOTED: Final = re.compile(r'"([^"]+)"')
_TABLE: Final = re.compile(r"Table with name (\w+)")
_LINE_WORDS: Final = LINE_COLUMNS | {"findings"}


def needs_lines(sql: str) -> bool:
    """Does ``sql`` name a column only the capture lines hold, ``findings``, or ``*``?"""
    text = _COUNT_STAR.sub("()", _STRING.sub("''", sql))
    if "*" in text or _COLUMNS.search(text) or _WHOLE.search(text):
        return True  # (every column, columns picked by a pattern, or the views described)
    return any(w.lower() in _LINE_WORDS for w in _WORD.findall(text))


def names_lines(message: str) -> bool:
    """Does an error message name a column of the lines (or ``findings``)? Then the query may
    just need them (a name the look at the SQL did not see)."""
    named = _QUOTED.findall(message)[:1] + _TABLE.findall(message)
    return any(n.lower() in _LINE_WORDS for n in named)


@dataclass(slots=True)
class Source:
    """One input of a query: a capture's tables, or a Parquet export directory."""

    name: str
    tables: TableSet | None = None
    export_dir: Path | None = None

    @property
    def problems(self) -> list[str]:
        return [] if self.tables is None else self.tables.problems


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _glob(directory: Path, kind: str) -> str:
    return _quote(str(directory / f"{kind}.*.parquet"))


def _columns(cols: Sequence[Any], skip: frozenset[str] = frozenset()) -> str:
    return ", ".join(f'"{c.name}"' for c in cols if c.name not in skip)


def view_sql(sources: Sequence[Source]) -> dict[str, str]:
    """The ``CREATE VIEW`` statements of calls, subcalls and findings over ``sources``."""
    calls: list[str] = []
    subcalls: list[str] = []
    findings: list[str] = []
    lines_everywhere = all(s.tables is None or s.tables.has_lines for s in sources)
    skip = frozenset() if lines_everywhere else LINE_COLUMNS
    for s in sources:
        if s.export_dir is not None:
            d = s.export_dir
            table = _quote(str(d / "calls.parquet"))
            calls.append(f"SELECT {_columns(CALLS, skip)} FROM read_parquet({table})")
            subcalls.append(f"SELECT * FROM read_parquet({_quote(str(d / 'subcalls.parquet'))})")
            findings.append(f"SELECT * FROM read_parquet({_quote(str(d / 'findings.parquet'))})")
            continue
        assert s.tables is not None
        t = s.tables
        name = _quote(s.name)
        core = f"read_parquet({_glob(t.dir, 'core')})"
        contents = f"read_parquet({_glob(t.dir, 'contents')})"
        lines = f"read_parquet({_glob(t.dir, 'lines')})" if lines_everywhere else None
        calls.append(calls_select(core, contents, lines, name))
        subcalls.append(
            f"SELECT {name} AS capture, {_columns(SUBCALLS[1:])} "
            f"FROM read_parquet({_glob(t.dir, 'subcalls')})"
        )
        if lines_everywhere:
            findings.append(
                f"SELECT {name} AS capture, {_columns(FINDINGS[1:])} "
                f"FROM read_parquet({_glob(t.dir, 'findings')})"
            )
    out = {
        "calls": "CREATE VIEW calls AS " + " UNION ALL ".join(calls),
        "subcalls": "CREATE VIEW subcalls AS " + " UNION ALL ".join(subcalls),
    }
    if findings:
        out["findings"] = "CREATE VIEW findings AS " + " UNION ALL ".join(findings)
    return out


def open_views(sources: Sequence[Source]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the views over ``sources``."""
    con = connect()
    for statement in view_sql(sources).values():
        con.execute(statement)
    return con


class QueryError(Exception):
    """An SQL statement DuckDB refused or failed to run: ``message`` is its one line;
    ``unbound`` when a name in it was not found (a column, a table)."""

    def __init__(self, message: str, *, unbound: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.unbound = unbound


def _query_error(exc: Exception) -> QueryError:
    import duckdb

    # DuckDB's message, up to its echo of the statement: one line (with its "Did you mean").
    head = []
    for line in str(exc).strip().splitlines():
        if not line.strip() or line.startswith("LINE "):
            break
        head.append(line.strip())
    unbound = isinstance(exc, duckdb.BinderException | duckdb.CatalogException)
    return QueryError(" ".join(head) or type(exc).__name__, unbound=unbound)


def execute(
    con: duckdb.DuckDBPyConnection, sql: str
) -> tuple[list[str] | None, Iterator[tuple[Any, ...]]]:
    """Run ``sql``: its column names (None for a statement without rows) and its rows, a batch
    at a time; ``QueryError`` for what DuckDB refuses, now or while the rows are fetched."""
    import duckdb

    try:
        result = con.execute(sql)
    except duckdb.Error as exc:
        raise _query_error(exc) from None
    if result.description is None:
        return None, iter(())
    columns = [d[0] for d in result.description]

    def rows() -> Iterator[tuple[Any, ...]]:
        while True:
            try:
                batch = result.fetchmany(10_000)
            except duckdb.Error as exc:
                raise _query_error(exc) from None
            if not batch:
                return
            yield from batch

    return columns, rows()
