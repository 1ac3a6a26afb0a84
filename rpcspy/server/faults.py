"""Fault codes the demo server answers with, and helpers that raise them.

The negative codes follow the fault code interoperability convention most XML-RPC servers share
(``-32601`` method not found, ``-32602`` invalid parameters, ...); the small positive ones belong to
the directory service. Code ``1`` is not ours: it is what the stdlib server answers when a method
raises an unexpected Python exception (``"<class 'ZeroDivisionError'>:..."``), kept on purpose so
the demo shows what real ``xmlrpc.server`` services look like.
"""

from __future__ import annotations

from typing import NoReturn
from xmlrpc.client import Fault

__all__ = [
    "FAULT_EXISTS",
    "FAULT_INVALID_PARAMS",
    "FAULT_METHOD_NOT_FOUND",
    "FAULT_NOT_A_DIRECTORY",
    "FAULT_NOT_EMPTY",
    "FAULT_NO_SUCH_PATH",
    "FAULT_OS_ERROR",
    "FAULT_OUT_OF_RANGE",
    "FAULT_PATH_REFUSED",
    "FAULT_SYSTEM",
    "fail",
    "xmlrpc_type",
]

#: The method does not exist (``prefix.private`` is refused with the tutorial's fault 1 instead).
FAULT_METHOD_NOT_FOUND = -32601
#: Wrong number or type of arguments, or a value outside what the method accepts.
FAULT_INVALID_PARAMS = -32602
#: The result cannot be sent: an int outside 32 bits, an infinite or NaN double.
FAULT_OUT_OF_RANGE = -32500
#: The server refuses for its own reasons: shutting down, a dropped connection.
FAULT_SYSTEM = -32400

#: A sandbox path that escapes the root (``..``, absolute, a symbolic link pointing outside).
FAULT_PATH_REFUSED = 100
#: The path does not exist.
FAULT_NO_SUCH_PATH = 101
#: ``dir.create`` of something that already exists.
FAULT_EXISTS = 102
#: ``dir.remove`` of a directory that still has entries.
FAULT_NOT_EMPTY = 103
#: The path names a file or a symbolic link where a directory is needed.
FAULT_NOT_A_DIRECTORY = 104
#: Any other operating-system error in the sandbox.
FAULT_OS_ERROR = 105


def fail(code: int, method: str, message: str) -> NoReturn:
    """Raise ``Fault(code, "<method>: <message>")``."""
    raise Fault(code, f"{method}: {message}")


def xmlrpc_type(value: object) -> str:
    """The XML-RPC type name a decoded argument came as, for fault messages."""
    # bool before int: XML-RPC booleans are ints to Python.
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bytes, bytearray)):
        return "base64"
    if value is None:
        return "nil"
    if isinstance(value, dict):
        return "struct"
    if isinstance(value, (list, tuple)):
        return "array"
    if hasattr(value, "timetuple"):
        return "dateTime.iso8601"
    return type(value).__name__
