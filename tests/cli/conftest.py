"""Fixtures for the command-line tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def confdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mitmproxy configuration directory for the whole run (its CA is made once, not in ~)."""
    return tmp_path_factory.mktemp("mitmproxy-confdir")
