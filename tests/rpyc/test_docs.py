"""docs/rpyc.md and docs/capture-format.md list every RPyC problem kind the reader knows."""

from __future__ import annotations

from rpcspy.rpyc import KINDS
from tests.conftest import REPO


def test_every_problem_kind_is_in_both_docs() -> None:
    for doc in ("rpyc.md", "capture-format.md"):
        text = (REPO / "docs" / doc).read_text(encoding="utf-8")
        for kind, (severity, _) in KINDS.items():
            assert f"| `{kind}` | {severity} |" in text, (doc, kind)
