"""``--idl FILE.x`` is read the same way by every command that takes it (``rpcspy.inputs.
load_idl``): a missing or broken interface is one line on stderr naming the file, and exit 3."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.nativecaps import oncrpc_records, write_capture

BROKEN = "program P { version V { int F(nosuchtype) = 1; } = 1; } = 5;\n"


def _argv(command: str, capture: Path, idl: Path) -> list[str]:
    rest = {
        "serve": ["--protocol", "oncrpc", "--listen", "127.0.0.1:0", "--no-register"],
        "mock": [str(capture), "--listen", "127.0.0.1:0"],
        "replay": [str(capture), "--target", "tcp://127.0.0.1:1"],
        "proxy": ["--protocol", "oncrpc", "tcp://127.0.0.1:1"],
    }[command]
    return [sys.executable, "-m", "rpcspy", command, *rest, "--idl", str(idl)]


@pytest.mark.parametrize("command", ["serve", "mock", "replay", "proxy"])
@pytest.mark.parametrize("broken", [False, True], ids=["missing", "broken"])
def test_a_missing_or_broken_interface_is_one_clear_line_and_exit_3(
    tmp_path: Path, command: str, broken: bool
) -> None:
    capture = write_capture(tmp_path / "onc.jsonl", oncrpc_records())
    idl = tmp_path / "iface.x"
    if broken:
        idl.write_text(BROKEN, encoding="utf-8")
    done = subprocess.run(_argv(command, capture, idl), capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--idl" in lines[0] and "iface.x" in lines[0], done.stderr
    assert ("nosuchtype" if broken else "cannot read") in lines[0]
    assert "Traceback" not in done.stderr
