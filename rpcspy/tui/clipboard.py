"""Copying honestly: what reaches the clipboard cannot be confirmed, so a copy is also a file.

Textual copies with OSC 52, an escape sequence the terminal may act on or silently drop, and
never answers. So ``c``/``y`` always write the text to a file too (``copies_dir()``), and the
notification says the text was *sent* to the terminal's clipboard only where it can arrive:
not headless, not on a ``dumb`` or unknown terminal, not inside GNU screen, not inside tmux unless
its ``set-clipboard`` is ``on``, not in macOS Terminal (which ignores OSC 52).
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from rpcspy.export.script import write_snippet

__all__ = ["copies_dir", "osc52_blocker", "save_copy"]


def copies_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/rpcspy/copies`` (``~/.cache/rpcspy/copies`` when it is unset)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "rpcspy" / "copies"


def save_copy(text: str, name: str, environ: Mapping[str, str] | None = None) -> Path:
    """Write ``text`` as ``name`` under ``copies_dir()`` (the temp dir when that is not
    writable), readable by its owner alone; returns the file's path. Raises ``OSError`` when
    neither can be written."""
    user = getattr(os, "getuid", lambda: 0)()
    folders = (copies_dir(environ), Path(tempfile.gettempdir()) / f"rpcspy-copies-{user}")
    error: OSError | None = None
    for folder in folders:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            _check_private(folder)
            path = folder / name
            write_snippet(path, text)
        except OSError as exc:
            error = exc
            continue
        return path
    assert error is not None
    raise error


def _check_private(folder: Path) -> None:
    """Refuse a folder someone else owns or may write to (a shared temp dir made first by
    another user): a copy may hold secrets. Raises ``PermissionError``."""
    st = folder.lstat()
    user = getattr(os, "getuid", lambda: st.st_uid)()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != user or st.st_mode & 0o022:
        raise PermissionError(errno.EPERM, "not a private folder of this user", str(folder))


def _tmux_set_clipboard(environ: Mapping[str, str]) -> str | None:
    """The ``set-clipboard`` option (``on``, ``external``, ``off``) of the tmux server that
    ``$TMUX`` names, None when unknown."""
    try:
        done = subprocess.run(
            ["tmux", "show-options", "-gv", "set-clipboard"],
            env=dict(environ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=1.0,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def osc52_blocker(
    *, headless: bool, environ: Mapping[str, str] | None = None, tmux_option: str | None = None
) -> str | None:
    """Why an OSC 52 copy cannot reach a clipboard here, or None when it may.

    ``tmux_option`` is tmux's ``set-clipboard`` (asked of tmux when None and inside tmux).
    """
    env = os.environ if environ is None else environ
    term = env.get("TERM", "")
    if headless:
        return "no terminal (headless)"
    if term in ("", "dumb", "unknown"):
        return f"TERM is {term or 'unset'}"
    if env.get("TERM_PROGRAM") == "Apple_Terminal":
        return "macOS Terminal ignores OSC 52"
    if env.get("TMUX"):
        option = tmux_option if tmux_option is not None else _tmux_set_clipboard(env)
        if option != "on":
            return f"inside tmux, set-clipboard is {option or 'unknown'} (needs on)"
    elif env.get("STY"):
        return "GNU screen drops OSC 52"
    return None
