"""``rpcspy mock``: a playback XML-RPC server answering from a capture.

``Playbook`` (pure) decides which recorded answer a call gets; ``MockServer`` serves a playbook
over HTTP. Imported on first use, so that ``rpcspy --help`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rpcspy.mock.playbook import Answer, Playbook
    from rpcspy.mock.server import MockServer

__all__ = ["Answer", "MockServer", "Playbook"]

_WHERE = {"Answer": "playbook", "Playbook": "playbook", "MockServer": "server"}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'rpcspy.mock' has no attribute {name!r}")
    return getattr(importlib.import_module(f"rpcspy.mock.{module}"), name)
