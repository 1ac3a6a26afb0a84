"""The three XML-RPC messages and the codec's limits."""

from __future__ import annotations

from dataclasses import dataclass

from rpcspy.xmlrpc.values import Int, String, Struct, Value

__all__ = ["DEFAULT_LIMITS", "Fault", "Limits", "Message", "MethodCall", "MethodResponse"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what the decoder accepts. Over either, it raises ``UnsafeXml``."""

    #: Largest body, in bytes, the decoder will parse.
    max_bytes: int = 64 * 1024 * 1024
    #: Deepest nesting of arrays and structs inside one param or result.
    max_depth: int = 100


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class MethodCall:
    """A ``<methodCall>``: method name and params."""

    method: str
    params: tuple[Value, ...] = ()


@dataclass(frozen=True, slots=True)
class MethodResponse:
    """A successful ``<methodResponse>`` with its one value."""

    value: Value


@dataclass(frozen=True, slots=True)
class Fault:
    """A ``<methodResponse><fault>``. ``value`` is the whole fault struct, extras included."""

    code: int
    string: str
    value: Struct

    @property
    def wire_code(self) -> Value | None:
        """The faultCode as it came: an integer value, or what a non-conformant peer sent
        (``String("Client")``) when ``code`` had to be worked out from it (0 if no number)."""
        return self.value.get("faultCode")

    @classmethod
    def make(cls, code: int, string: str) -> Fault:
        """A fault with the standard two members (``faultCode`` int, ``faultString`` string)."""
        return cls(code, string, Struct(faultCode=Int(code), faultString=String(string)))


Message = MethodCall | MethodResponse | Fault
