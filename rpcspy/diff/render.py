"""Plain-text rendering of difference lists for terminals (no colour: the CLI adds it)."""

from __future__ import annotations

from collections.abc import Sequence

from rpcspy.diff.difference import Difference

__all__ = ["render_differences"]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def render_differences(
    diffs: Sequence[Difference], *, noise: Sequence[Difference] = (), indent: str = "  "
) -> str:
    """Differences as lines of text, one per difference, noise listed apart.

    ```
    2 differences:
      result[3].name: string "a" -> string "b"
      result.label: string "x" -> string (untyped) "x"  (minor)
    1 noise difference (also seen between known-good runs):
      result.when: dateTime.iso8601 20240101T00:00:00 -> dateTime.iso8601 20240101T00:00:01
    ```
    With nothing to show the text is ``no differences``. No trailing newline.
    """
    lines = [f"{_count(len(diffs), 'difference')}:" if diffs else "no differences"]
    lines.extend(_line(d, indent) for d in diffs)
    if noise:
        lines.append(
            f"{_count(len(noise), 'noise difference')} (also seen between known-good runs):"
        )
        lines.extend(_line(d, indent) for d in noise)
    return "\n".join(lines)


def _line(diff: Difference, indent: str) -> str:
    return f"{indent}{diff.describe()}{'  (minor)' if diff.minor else ''}"
