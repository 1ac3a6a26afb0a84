"""The live interop suite's peers: detected once, and one loud line when some are missing."""

from __future__ import annotations

import pytest

from tests.interop.livepeers import missing_peers

_live = {"collected": False}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    _live["collected"] = any(item.get_closest_marker("interop") for item in items)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say once, loudly, which real peers the live suite could not run (their tests skipped)."""
    if not _live["collected"]:
        return
    missing = missing_peers()
    if missing:
        terminalreporter.write_line(
            f"INTEROP PEERS MISSING: {', '.join(missing)} (run scripts/install-peers.sh)",
            red=True,
            bold=True,
        )
