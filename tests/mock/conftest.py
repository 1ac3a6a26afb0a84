"""The mock tests use the replay tests' recorded session (and the root conftest's demo servers)."""

from tests.replay.conftest import session

__all__ = ["session"]
