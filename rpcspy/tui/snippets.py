"""A recorded call as something to paste: a curl command or a Python ``xmlrpc.client`` snippet.

Pure functions (no Textual), so the CLI or tests can use them too.
"""

from __future__ import annotations

import shlex
from decimal import Decimal
from typing import TYPE_CHECKING

from rpcspy.capture._content import ContentEncodingError, decode_content
from rpcspy.xmlrpc.messages import DEFAULT_LIMITS
from rpcspy.xmlrpc.values import (
    I4,
    Array,
    Base64,
    Boolean,
    DateTime,
    Double,
    ExBigDecimal,
    Int,
    IntegerValue,
    Nil,
    RawValue,
    String,
    Struct,
    UntypedString,
    Value,
    WideI4,
    WideInt,
)

if TYPE_CHECKING:
    from rpcspy.capture import CallRecord

__all__ = ["call_url", "decoded_request_body", "python_literal", "to_curl", "to_python"]

# Headers curl computes itself, or that would describe a body we no longer send as recorded.
_CURL_SKIP = frozenset(
    {
        "host",
        "content-length",
        "accept-encoding",
        "connection",
        "transfer-encoding",
        "content-encoding",
        "proxy-connection",
        "proxy-authorization",
        "keep-alive",
        "te",
        "upgrade",
    }
)
# Types the stdlib client writes with exactly these tags.
_STDLIB_EXACT = (Int, Boolean, String, Double, DateTime, Base64, Nil, Struct, Array)


def call_url(record: CallRecord) -> str:
    """``http://host:port/path`` the call was sent to."""
    default = {"http": 80, "https": 443}.get(record.scheme)
    netloc = record.host if record.port == default else f"{record.host}:{record.port}"
    if ":" in record.host and not record.host.startswith("["):
        netloc = f"[{record.host}]" if record.port == default else f"[{record.host}]:{record.port}"
    return f"{record.scheme}://{netloc}{record.path or '/'}"


def decoded_request_body(record: CallRecord) -> bytes:
    """The request body without its content-encoding (re-encoded from the call if that fails)."""
    body = record.request.body or b""
    try:
        return decode_content(body, record.request.content_encoding, DEFAULT_LIMITS.max_bytes)
    except ContentEncodingError:
        pass
    if record.call is not None:
        from rpcspy.xmlrpc import encode_request

        return encode_request(record.call)
    return body


def to_curl(record: CallRecord) -> str:
    """A shell command that sends the recorded request again with curl."""
    body = decoded_request_body(record).decode("utf-8", errors="replace")
    lines = [f"curl -sS -X POST {shlex.quote(call_url(record))}"]
    has_type = False
    for name, value in record.request.headers:
        low = name.lower()
        if low in _CURL_SKIP:
            continue
        has_type |= low == "content-type"
        lines.append(f"  -H {shlex.quote(f'{name}: {value}')}")
    if not has_type:
        lines.append("  -H 'Content-Type: text/xml'")
    if record.scheme == "https":
        lines.append("  --insecure")
    lines.append(f"  --data-binary {shlex.quote(body)}")
    text = " \\\n".join(lines)
    if record.redacted:
        text = "# some header values were redacted when recorded; put the real ones back\n" + text
    return text + "\n"


def _py_str(text: str) -> str:
    return repr(text)


def python_literal(value: Value, indent: int = 0, width: int = 88) -> str:
    """``value`` as Python source for ``xmlrpc.client`` (dicts, lists, ``Binary``, ``DateTime``)."""
    flat = _flat_literal(value)
    if len(flat) + indent <= width or not isinstance(value, Struct | Array) or not value:
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, Struct):
        items = [
            f"{pad}{_py_str(k)}: {python_literal(v, indent + 4, width)}," for k, v in value.items()
        ]
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    items = [f"{pad}{python_literal(v, indent + 4, width)}," for v in value]
    return "[\n" + "\n".join(items) + "\n" + " " * indent + "]"


def _flat_literal(value: Value) -> str:
    if isinstance(value, Boolean):
        return "True" if value else "False"
    if isinstance(value, IntegerValue):
        return str(int(value))
    if isinstance(value, DateTime):
        return f"xmlrpc.client.DateTime({_py_str(str.__str__(value))})"
    if isinstance(value, String):
        return _py_str(str.__str__(value))
    if isinstance(value, Double):
        return float.__repr__(value)
    if isinstance(value, ExBigDecimal):
        return f"Decimal({str(Decimal(value))!r})"
    if isinstance(value, Base64):
        return f"xmlrpc.client.Binary({bytes(value)!r})"
    if isinstance(value, Nil):
        return "None"
    if isinstance(value, Struct):
        return "{" + ", ".join(f"{_py_str(k)}: {_flat_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Array):
        return "[" + ", ".join(_flat_literal(v) for v in value) + "]"
    if isinstance(value, RawValue):
        # Kept as written (an unknown or undecodable element): the stdlib can only send its text,
        # as a string; the script's comment names it among the types sent differently.
        return _py_str(value.text)
    raise TypeError(f"not an XML-RPC value: {type(value).__name__}")


def _inexact_types(values: tuple[Value, ...]) -> list[str]:
    """Labels of wire types in ``values`` that the stdlib client would send differently."""
    seen: dict[str, None] = {}
    stack: list[Value] = list(values)
    while stack:
        v = stack.pop()
        if isinstance(v, Struct):
            stack.extend(v.values())
        elif isinstance(v, Array):
            stack.extend(v)
        if type(v) in _STDLIB_EXACT or type(v) is UntypedString:
            continue
        if type(v) is I4:
            seen["i4 (sent as int)"] = None
        elif isinstance(v, WideI4 | WideInt):
            seen[f"{v.label} beyond 32 bits (the standard client refuses to send it)"] = None
        elif isinstance(v, RawValue):
            seen[f"<{v.element}> kept as written (sent as its text, a string)"] = None
        else:
            seen[v.label] = None
    return list(seen)


def _needs_nil(values: tuple[Value, ...]) -> bool:
    stack: list[Value] = list(values)
    while stack:
        v = stack.pop()
        if isinstance(v, Nil):
            return True
        if isinstance(v, Struct):
            stack.extend(v.values())
        elif isinstance(v, Array):
            stack.extend(v)
    return False


def to_python(record: CallRecord) -> str:
    """A Python script that makes the recorded call with the standard library's
    ``xmlrpc.client``."""
    if record.call is None:
        raise ValueError("the request was not decoded, so there is no call to write as Python")
    call = record.call
    out: list[str] = []
    inexact = _inexact_types(call.params)
    if record.scheme == "https":
        out.append("import ssl")
    out.append("import xmlrpc.client")
    if any("bigdecimal" in label for label in inexact):
        out.append("from decimal import Decimal")
    out.append("")
    if inexact:
        out.append(
            "# The recorded call used types the standard client cannot write with the same tag: "
            + ", ".join(inexact)
            + "."
        )
    if any(name.lower() == "authorization" for name, _ in record.request.headers):
        out.append(
            "# The recorded call carried an Authorization header; for Basic auth put "
            "user:password@ in the URL."
        )
    options = ["allow_none=True"] if _needs_nil(call.params) else []
    if record.scheme == "https":
        # The recorded server may use a self-signed certificate, as the demo server does.
        options.append("context=ssl._create_unverified_context()")
    opts = "".join(f", {o}" for o in options)
    out.append(f"proxy = xmlrpc.client.ServerProxy({_py_str(call_url(record))}{opts})")
    args = [python_literal(p, 4) for p in call.params]
    target = (
        f"proxy.{call.method}"
        if all(part.isidentifier() for part in call.method.split("."))
        else f"getattr(proxy, {_py_str(call.method)})"
    )
    joined = ", ".join(args)
    if len(target) + len(joined) + 12 <= 88 and "\n" not in joined:
        out.append(f"result = {target}({joined})")
    else:
        out.append(f"result = {target}(")
        out.extend(f"    {a}," for a in args)
        out.append(")")
    out.append("print(result)")
    return "\n".join(out) + "\n"
