"""A small typed wrapper around the parts of the installed rpyc package the codec uses.

rpyc ships no type information; this module is the one place that touches it, so the rest of
``rpcspy.rpyc`` stays strictly typed. Values come from rpyc's own ``brine`` (never re-implemented
here) and the message, box and handler numbers from ``rpyc.core.consts``.
"""

from __future__ import annotations

from typing import Final

import rpyc.core.brine as _brine
import rpyc.core.consts as _consts
from rpyc.version import __version__ as _rpyc_version

__all__ = [
    "EXC_STOP_ITERATION",
    "HANDLER_NAMES",
    "LABEL_LOCAL_REF",
    "LABEL_REMOTE_REF",
    "LABEL_TUPLE",
    "LABEL_VALUE",
    "MSG_EXCEPTION",
    "MSG_REPLY",
    "MSG_REQUEST",
    "RPYC_VERSION",
    "brine_dump",
    "brine_dumpable",
    "brine_load",
]

MSG_REQUEST: Final[int] = int(_consts.MSG_REQUEST)
MSG_REPLY: Final[int] = int(_consts.MSG_REPLY)
MSG_EXCEPTION: Final[int] = int(_consts.MSG_EXCEPTION)

LABEL_VALUE: Final[int] = int(_consts.LABEL_VALUE)
LABEL_TUPLE: Final[int] = int(_consts.LABEL_TUPLE)
LABEL_LOCAL_REF: Final[int] = int(_consts.LABEL_LOCAL_REF)
LABEL_REMOTE_REF: Final[int] = int(_consts.LABEL_REMOTE_REF)

EXC_STOP_ITERATION: Final[int] = int(_consts.EXC_STOP_ITERATION)

#: Handler number -> its constant's name without ``HANDLE_`` (``4: "GETATTR"``), as rpyc has them.
HANDLER_NAMES: Final[dict[int, str]] = {
    int(getattr(_consts, name)): name.removeprefix("HANDLE_")
    for name in dir(_consts)
    if name.startswith("HANDLE_")
}

RPYC_VERSION: Final[str] = str(_rpyc_version)


def brine_load(data: bytes) -> object:
    """rpyc's own ``brine.load``, unguarded: callers bound the input and catch (``_guard``)."""
    return _brine.load(data)


def brine_dump(obj: object) -> bytes:
    """rpyc's own ``brine.dump``; raises ``TypeError`` for what brine cannot hold."""
    return _brine.dump(obj)  # type: ignore[no-any-return]


def brine_dumpable(obj: object) -> bool:
    """rpyc's own ``brine.dumpable``."""
    return bool(_brine.dumpable(obj))
