"""The capture every export test starts from, recorded once per run through the real proxy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.export.helpers import record_capture


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A capture the rpcspy proxy recorded of ``helpers.CALLS`` (read-only: copy to change it)."""
    where = tmp_path_factory.mktemp("recorded")
    return record_capture(where / "session.jsonl", where / "confdir")
