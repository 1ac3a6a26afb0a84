"""docs/capture-format.md's jq cookbook, run as written against the sample captures."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from rpcspy.capture import read_capture
from tests.conftest import REPO

DOC = REPO / "docs" / "capture-format.md"
SAMPLE = REPO / "captures" / "basics.jsonl"

pytestmark = pytest.mark.skipif(
    shutil.which("jq") is None or shutil.which("bash") is None, reason="needs jq and bash"
)


def cookbook() -> list[str]:
    """Every command of the cookbook's ``sh`` blocks (a line ending in ``;`` goes on)."""
    section = DOC.read_text().split("## jq cookbook", 1)[1].split("\n## ", 1)[0]
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        pending = ""
        for line in block.splitlines():
            pending += line + "\n"
            if not line.rstrip().endswith(";"):
                commands.append(pending.strip())
                pending = ""
    return commands


def sh(command: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], cwd=REPO, capture_output=True, timeout=60
    )


def gzip_recipe() -> tuple[str, str]:
    """The two commands of the gzip recipe: list the gzip answers, inflate one."""
    listing = [c for c in cookbook() if 'content_encoding == "gzip"' in c]
    inflate = [c for c in cookbook() if "gunzip" in c]
    assert len(listing) == 1 and len(inflate) == 1, cookbook()
    return listing[0], inflate[0]


def test_the_gzip_recipe_lists_the_calls_answered_in_gzip() -> None:
    listing, _ = gzip_recipe()
    assert "captures/basics.jsonl" in listing
    result = sh(listing)
    assert result.returncode == 0, result.stderr
    expected = [
        r.seq
        for r in read_capture(SAMPLE)
        if r.response is not None and r.response.content_encoding == "gzip"
    ]
    assert expected  # the sample has one, or the recipe shows nothing
    assert [int(n) for n in result.stdout.split()] == expected


def test_the_gzip_recipe_inflates_a_gzip_answer_of_the_named_call() -> None:
    _, inflate = gzip_recipe()
    named = re.search(r"\.seq == (\d+)", inflate)
    assert named is not None, inflate
    seq = int(named.group(1))
    record = next(r for r in read_capture(SAMPLE) if r.seq == seq)
    # The call the text names is the one at that seq, and its answer really is gzip.
    assert record.response is not None and record.response.content_encoding == "gzip"
    prose = DOC.read_text().split("A gzip-compressed response", 1)[1].split("```", 1)[0]
    assert f"seq {seq}," in prose and f"`{record.method}`" in prose
    result = sh(inflate)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"<?xml") and b"<methodResponse>" in result.stdout
    assert record.response.decoded is not None


@pytest.mark.parametrize("command", cookbook(), ids=lambda c: c.split("'")[1][:40])
def test_every_cookbook_command_runs_on_the_samples(command: str, tmp_path: Path) -> None:
    # Every sample in one capture, so each recipe has something to find (faults, multicalls ...).
    every = tmp_path / "capture.jsonl"
    every.write_bytes(sh("zcat -f captures/*.jsonl*").stdout)
    runnable = command.replace("capture.jsonl", str(every))
    result = sh(runnable)
    assert result.returncode == 0, (runnable, result.stderr)
    assert result.stdout.strip(), runnable
