"""The filter language's syntax tree: small frozen dataclasses, one per construct.

The tree is what the parser produces and what the one engine walks (``rpcspy.filter.engine``,
on the columns of a capture index, and on a single record as a one-row index).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "WILDCARD",
    "All",
    "And",
    "Client",
    "Compare",
    "ErrorFlag",
    "FaultTest",
    "FindingRule",
    "Latency",
    "MethodGlob",
    "Multicall",
    "Node",
    "Nonconformant",
    "Not",
    "OkFlag",
    "Or",
    "Origin",
    "PathSegment",
    "PathTest",
    "ProblemFlag",
    "Protocol",
    "Size",
    "Status",
    "Text",
]

#: ``>``, ``>=``, ``<``, ``<=``, ``=``, ``!=``.
Compare = Literal[">", ">=", "<", "<=", "=", "!="]


class _Wildcard:
    """The ``*`` / ``[*]`` path segment: any array item or struct member."""

    _instance: _Wildcard | None = None

    def __new__(cls) -> _Wildcard:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "WILDCARD"


WILDCARD = _Wildcard()

#: An array index, a struct member name, or ``WILDCARD``.
PathSegment = int | str | _Wildcard


@dataclass(frozen=True, slots=True)
class All:
    """The empty filter: every call."""


@dataclass(frozen=True, slots=True)
class And:
    """Both sides match."""

    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Or:
    """Either side matches."""

    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Not:
    """The operand does not match."""

    operand: Node


@dataclass(frozen=True, slots=True)
class MethodGlob:
    """``method:GLOB``: the method name (or a multicall sub-call's) matches the shell glob."""

    pattern: str


@dataclass(frozen=True, slots=True)
class FaultTest:
    """``fault`` (any fault) or ``fault:CODE``, on the call or one of its sub-calls."""

    code: int | None = None


@dataclass(frozen=True, slots=True)
class OkFlag:
    """``ok``: a non-fault response, no decode problem, no connection error, no sub-call fault."""


@dataclass(frozen=True, slots=True)
class ProblemFlag:
    """``problem``: a decode problem or a connection error."""


@dataclass(frozen=True, slots=True)
class ErrorFlag:
    """``error``: a connection-level error (refused, reset, timeout)."""


@dataclass(frozen=True, slots=True)
class Nonconformant:
    """``nonconformant``: a body breaks the XML-RPC spec (the record has findings)."""


@dataclass(frozen=True, slots=True)
class FindingRule:
    """``finding:RULE``: a finding whose rule id matches the shell glob (``finding:fault-*``)."""

    pattern: str


@dataclass(frozen=True, slots=True)
class Multicall:
    """``multicall``: a ``system.multicall`` call."""


@dataclass(frozen=True, slots=True)
class Text:
    """Bare or quoted text: found, ignoring case, in the method name, params or result."""

    text: str


@dataclass(frozen=True, slots=True)
class PathTest:
    """``params[0].name=bob``, ``result.total>10``, ``params[0].id:string``, ``params[1]``.

    ``op`` None tests that the path exists; ``type_tag`` tests the wire type at the path.
    ``op`` ``~`` is a case-insensitive substring test.
    """

    root: Literal["params", "result"]
    path: tuple[PathSegment, ...]
    op: Compare | Literal["~"] | None = None
    value: str | None = None
    type_tag: str | None = None


@dataclass(frozen=True, slots=True)
class Latency:
    """``latency>200ms``: request start to response end, in milliseconds."""

    op: Compare
    ms: float


@dataclass(frozen=True, slots=True)
class Size:
    """``size>10kb``: request plus response body bytes, as on the wire."""

    op: Compare
    bytes: int


@dataclass(frozen=True, slots=True)
class Origin:
    """``origin:resent``: where the record came from (proxy, replay, resent, import)."""

    name: str


@dataclass(frozen=True, slots=True)
class Protocol:
    """``protocol:oncrpc``: the RPC protocol of the call (xmlrpc, oncrpc, rpyc), lower case."""

    name: str


@dataclass(frozen=True, slots=True)
class Status:
    """``status:500``: the HTTP status code of the response."""

    code: int


@dataclass(frozen=True, slots=True)
class Client:
    """``client:10.0.0.*``: the client address (``host`` or ``host:port``) matches the glob."""

    pattern: str


Node = (
    All
    | And
    | Or
    | Not
    | MethodGlob
    | FaultTest
    | OkFlag
    | ProblemFlag
    | ErrorFlag
    | Multicall
    | Nonconformant
    | FindingRule
    | Text
    | PathTest
    | Latency
    | Size
    | Origin
    | Protocol
    | Status
    | Client
)
