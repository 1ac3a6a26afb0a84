"""Render the README's TUI pictures from the real app at 80x24 and put them in README.md.

    PYTHONPATH=. .venv/bin/python scripts/readme_screens.py          # print them
    PYTHONPATH=. .venv/bin/python scripts/readme_screens.py --write  # update README.md

Each picture is the fenced block after a ``<!-- screen: NAME -->`` line in README.md;
tests/tui/test_readme_screens.py checks that they are what the app shows.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path

from rpcspy.tui.screenshot import readme_screens

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CAPTURE = ROOT / "captures" / "faults.jsonl"
BLOCK = re.compile(r"(<!-- screen: (\w+) -->\n```\n)(.*?)(```)", re.S)


def update(readme: str, screens: dict[str, list[str]]) -> str:
    """``readme`` with each marked block replaced by its screen."""

    def put(match: re.Match[str]) -> str:
        lines = screens[match.group(2)]
        return match.group(1) + "".join(line + "\n" for line in lines) + match.group(4)

    return BLOCK.sub(put, readme)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update README.md in place")
    args = parser.parse_args()
    screens = asyncio.run(readme_screens(CAPTURE))
    if not args.write:
        for name, lines in screens.items():
            print(f"--- {name}")
            print("\n".join(lines))
        return 0
    text = README.read_text(encoding="utf-8")
    new = update(text, screens)
    if new == text:
        print("README.md already shows these screens", file=sys.stderr)
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
