"""The progress bar: drawn only on a terminal, plain under NO_COLOR, silent elsewhere."""

from __future__ import annotations

import io
import os
import pty

import pytest

from rpcspy.replay.progress import Progress, progress_enabled


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_not_drawn_into_a_pipe_or_file() -> None:
    out = io.StringIO()
    with Progress("work", 10, stream=out) as bar:
        for _ in range(10):
            bar.advance()
    assert out.getvalue() == ""
    assert bar.done == 10


def test_drawn_on_a_terminal_and_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    out = _Tty()
    with Progress("work", 4, stream=out) as bar:
        for _ in range(4):
            bar.advance()
        drawn = out.getvalue()
    assert "work [" in drawn and "4/4" in drawn
    assert out.getvalue().endswith("\r\x1b[K")


def test_no_colour_codes_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm")
    out = _Tty()
    with Progress("work", 2, stream=out) as bar:
        bar.advance(2)
        text = out.getvalue()
    assert "2/2" in text
    assert "\x1b[2m" not in text and "\x1b[0m" not in text


def test_dumb_terminal_and_real_pty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "dumb")
    assert not progress_enabled(_Tty())
    monkeypatch.setenv("TERM", "xterm")
    leader, follower = pty.openpty()
    try:
        with os.fdopen(follower, "w", closefd=False) as stream:
            assert progress_enabled(stream)
    finally:
        os.close(leader)
        os.close(follower)


def test_render_without_total_shows_count_and_rate() -> None:
    bar = Progress("reading", None, stream=io.StringIO())
    bar.advance(5)
    assert bar.render().startswith("reading 5 ")
    assert bar.render().rstrip().endswith("/s")
