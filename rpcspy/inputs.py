"""Opening a capture file (or an API file) for a command: every way it can fail becomes one
clear ``CliError``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rpcspy.capture import (
    CaptureFormatError,
    CaptureIndex,
    CaptureReader,
    IndexBuilder,
    read_capture,
    read_header,
)
from rpcspy.exits import EXIT_INPUT, CliError

if TYPE_CHECKING:
    from rpcspy.api.model import Api
    from rpcspy.oncrpc import Interface

__all__ = ["check_capture", "load_api", "open_capture", "open_capture_index"]


def _require_file(path: Path) -> None:
    if not path.exists():
        raise CliError(f"no such capture file: {path}", EXIT_INPUT)
    if path.is_dir():
        raise CliError(f"{path} is a directory, not a capture file", EXIT_INPUT)


def open_capture(path: Path) -> CaptureReader:
    """A reader over ``path``, its header already checked."""
    _require_file(path)
    try:
        return read_capture(path)
    except CaptureFormatError as exc:
        raise CliError(f"{path}: {exc}", EXIT_INPUT) from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_INPUT) from None


def open_capture_index(
    path: Path, *, cache: bool = True, progress: bool = False
) -> tuple[CaptureIndex, IndexBuilder]:
    """The index of ``path``, built (or reused from the cache) now; close the builder after.

    ``cache=False`` neither reads nor writes the index cache. With ``progress``, an index that is
    not cached is built under a progress bar on stderr (only on a terminal).
    """
    _require_file(path)
    try:
        builder = IndexBuilder(path, cache=cache)
    except CaptureFormatError as exc:
        raise CliError(f"{path}: {exc}", EXIT_INPUT) from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_INPUT) from None
    try:
        if not progress or builder.source == "cached":
            builder.run()
        else:
            from rpcspy.capture.reader import count_records_hint
            from rpcspy.replay.progress import Progress

            total = count_records_hint(path)
            with Progress(f"index {path.name}", total) as bar:
                builder.run(on_batch=lambda n: bar.advance(n - bar.done))
    except CaptureFormatError as exc:
        builder.close()
        raise CliError(f"{path}: {exc}", EXIT_INPUT) from None
    except BaseException:
        builder.close()
        raise
    return builder.index, builder


def check_capture(path: Path, *, allow_empty: bool = False) -> None:
    """Fail now when ``path`` is not a readable capture (an empty file passes if allowed)."""
    _require_file(path)
    try:
        if allow_empty and path.stat().st_size == 0:
            return
        read_header(path)
    except CaptureFormatError as exc:
        raise CliError(f"{path}: {exc}", EXIT_INPUT) from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_INPUT) from None


def load_idl(path: Path, flag: str = "--idl") -> Interface:
    """An rpcgen ``.x`` interface (``rpcspy.oncrpc``), or one clear error (exit 3) naming
    ``flag``: a file that cannot be read, or the parser's line:column and reason."""
    from rpcspy.oncrpc import BadIdl, parse_idl

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {flag} {path}: {exc}", EXIT_INPUT) from None
    try:
        return parse_idl(text, str(path))
    except BadIdl as exc:
        raise CliError(f"{flag}: {exc}", EXIT_INPUT) from None


def load_api(path: Path, flag: str) -> Api:
    """An API description file (``rpcspy.api``), or one clear error (exit 3) naming ``flag``."""
    from rpcspy.api.model import ApiFormatError, load

    try:
        return load(path)
    except FileNotFoundError:
        raise CliError(f"{flag}: no such API file: {path}", EXIT_INPUT) from None
    except IsADirectoryError:
        raise CliError(f"{flag}: {path} is a directory, not an API file", EXIT_INPUT) from None
    except OSError as exc:
        raise CliError(f"{flag}: cannot read {path}: {exc.strerror or exc}", EXIT_INPUT) from None
    except ApiFormatError as exc:
        raise CliError(f"{flag}: {exc}", EXIT_INPUT) from None
