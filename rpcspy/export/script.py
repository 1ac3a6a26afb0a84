"""A recorded call as something to paste: a curl command or a Python ``xmlrpc.client`` snippet.

Pure functions (no Textual), so the CLI or tests can use them too, plus ``write_snippet``, which
saves one readable by its owner alone.

A value redacted when the call was recorded (``<redacted>``: see ``rpcspy.capture.redact``)
never becomes part of the command. The snippet reads it from an environment variable instead
and says which at its top: ``RPCSPY_USER`` / ``RPCSPY_PASSWORD`` for HTTP Basic credentials (as
``rpcspy replay`` does), ``RPCSPY_HEADER_<NAME>`` for another header's whole value,
``RPCSPY_QUERY_<NAME>`` for a query parameter, as it goes in the URL (percent-encoded). curl
stops with the variable's name when one is unset, Python with a ``KeyError`` naming it.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from rpcspy.capture._content import ContentEncodingError, decode_content
from rpcspy.capture.redact import REDACTED, URL_HEADERS
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

__all__ = [
    "SNIPPET_MODE",
    "call_url",
    "decoded_request_body",
    "python_literal",
    "to_curl",
    "to_python",
    "write_snippet",
]

#: Saved snippets are readable by their owner alone: a call's headers and params may hold
#: secrets, even with the capture's redaction on (a password passed as a param).
SNIPPET_MODE = 0o600

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


@dataclass(frozen=True, slots=True)
class _Secret:
    """A redacted value the snippet reads from the environment variable ``variable``."""

    variable: str
    what: str


_USER = _Secret("RPCSPY_USER", "the user name for HTTP Basic auth")
_PASSWORD = _Secret("RPCSPY_PASSWORD", "its password")
#: A redacted query parameter in a URL: its name (group 1) just before ``=<redacted>``.
_REDACTED_PARAM = re.compile(r"(?<=[?&;])([^=&;#?]+)=" + re.escape(REDACTED) + r"(?=[&;#]|\Z)")
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]")


def _variable(prefix: str, name: str) -> str:
    return prefix + re.sub(r"[^A-Z0-9]", "_", name.upper())


def _redacted(record: CallRecord, value: str) -> bool:
    """Whether a recorded value lost a secret (only a record marked redacted has any)."""
    return record.redacted and REDACTED in value


def _is_basic(value: str) -> bool:
    return value.strip().lower().startswith("basic ")


def _url_pieces(record: CallRecord) -> list[str | _Secret]:
    """The call's URL as literal text and, for each redacted query parameter, its variable."""
    url = call_url(record)
    if not _redacted(record, url):
        return [url]
    pieces: list[str | _Secret] = []
    at = 0
    for found in _REDACTED_PARAM.finditer(url, url.find("?")):
        name = found.group(1)
        pieces.append(url[at : found.start()] + name + "=")
        pieces.append(_Secret(_variable("RPCSPY_QUERY_", name), f"the {name} query parameter"))
        at = found.end()
    pieces.append(url[at:])
    return [p for p in pieces if p != ""]


def _secrets_note(secrets: list[_Secret]) -> list[str]:
    """The comment lines that say which variables to set, one per variable."""
    if not secrets:
        return []
    width = max(len(s.variable) for s in secrets)
    lines = ["# Recorded with secrets redacted: set these to the real values first"]
    # Printable ASCII only: a header name from a hostile capture must not end the comment.
    lines += [
        f"#   {s.variable:<{width}}  {_NOT_PRINTABLE.sub('?', s.what)}"
        for s in dict.fromkeys(secrets)
    ]
    return lines


def write_snippet(path: Path, text: str) -> None:
    """Write a snippet as a new file readable by its owner alone (``SNIPPET_MODE``).

    An existing file is replaced, not written through: its old mode (say 0755) and any other
    link to it are not kept. Raises ``OSError``.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, SNIPPET_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), SNIPPET_MODE)  # whatever the umask
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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


def _shell(pieces: list[str | _Secret]) -> str:
    """One shell word: literal text quoted, each secret a ``"${VAR:?...}"`` expansion."""
    words = []
    for piece in pieces:
        if isinstance(piece, _Secret):
            # The message is fixed text: a header name may hold ` or $, which would run.
            words.append(f'"${{{piece.variable}:?not set (see the top of this script)}}"')
        else:
            words.append(shlex.quote(piece))
    return "".join(words)


def to_curl(record: CallRecord) -> str:
    """A shell command that sends the recorded request again with curl.

    A redacted value is read from an environment variable (see the module's docstring).
    """
    body = decoded_request_body(record).decode("utf-8", errors="replace")
    url = _url_pieces(record)
    secrets = [p for p in url if isinstance(p, _Secret)]
    lines = [f"curl -sS -X POST {_shell(url)}"]
    has_type = False
    for name, value in record.request.headers:
        low = name.lower()
        if low in _CURL_SKIP:
            continue
        has_type |= low == "content-type"
        if not _redacted(record, value):
            lines.append(f"  -H {shlex.quote(f'{name}: {value}')}")
        elif low in URL_HEADERS:
            continue  # a Referer with a redacted token: the call needs neither
        elif low == "authorization" and _is_basic(value):
            lines.append(f"  --user {_shell([_USER, ':', _PASSWORD])}")
            secrets += [_USER, _PASSWORD]
        else:
            secret = _Secret(_variable("RPCSPY_HEADER_", name), f"the {name} header's value")
            lines.append(f"  -H {_shell([f'{name}: ', secret])}")
            secrets.append(secret)
    if not has_type:
        lines.append("  -H 'Content-Type: text/xml'")
    if record.scheme == "https":
        lines.append("  --insecure")
    lines.append(f"  --data-binary {shlex.quote(body)}")
    text = " \\\n".join(lines)
    note = _secrets_note(secrets)
    if note:
        text = "\n".join(note) + "\n" + text
    elif record.redacted:
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


def _py_expr(pieces: list[str | _Secret]) -> str:
    """A Python string expression: literals, and ``os.environ[...]`` for each secret."""
    words = []
    for piece in pieces:
        if not isinstance(piece, _Secret):
            words.append(_py_str(piece))
        elif piece in (_USER, _PASSWORD):
            # Userinfo in a URL is percent-encoded; the client decodes it again.
            words.append(f"urllib.parse.quote(os.environ[{_py_str(piece.variable)}], safe='')")
        else:
            words.append(f"os.environ[{_py_str(piece.variable)}]")
    return " + ".join(words)


def _with_userinfo(url: list[str | _Secret]) -> list[str | _Secret]:
    """The URL pieces with ``$RPCSPY_USER:$RPCSPY_PASSWORD@`` after the scheme."""
    first = url[0]
    assert isinstance(first, str)
    scheme, sep, rest = first.partition("://")
    return [scheme + sep, _USER, ":", _PASSWORD, "@", *([rest] if rest else []), *url[1:]]


def to_python(record: CallRecord) -> str:
    """A Python script that makes the recorded call with the standard library's
    ``xmlrpc.client``."""
    if record.call is None:
        raise ValueError("the request was not decoded, so there is no call to write as Python")
    call = record.call
    url = _url_pieces(record)
    secrets = [p for p in url if isinstance(p, _Secret)]
    headers: list[tuple[str, _Secret]] = []
    for name, value in record.request.headers:
        low = name.lower()
        if not _redacted(record, value) or low in _CURL_SKIP or low in URL_HEADERS:
            continue
        if low == "authorization" and _is_basic(value):
            # The standard client sends Basic auth for user:password@ in the URL.
            url = _with_userinfo(url)
            secrets += [_USER, _PASSWORD]
        else:
            secret = _Secret(_variable("RPCSPY_HEADER_", name), f"the {name} header's value")
            headers.append((name, secret))
            secrets.append(secret)
    out: list[str] = []
    inexact = _inexact_types(call.params)
    if secrets:
        out.append("import os")
    if record.scheme == "https":
        out.append("import ssl")
    if _USER in secrets:
        out.append("import urllib.parse")
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
    authorization = any(name.lower() == "authorization" for name, _ in record.request.headers)
    if authorization and not secrets:
        out.append(
            "# The recorded call carried an Authorization header; for Basic auth put "
            "user:password@ in the URL."
        )
    out.extend(_secrets_note(secrets))
    options = ["allow_none=True"] if _needs_nil(call.params) else []
    if record.scheme == "https":
        # The recorded server may use a self-signed certificate, as the demo server does.
        options.append("context=ssl._create_unverified_context()")
    if headers:
        listed = ", ".join(f"({_py_str(n)}, {_py_expr([v])})" for n, v in headers)
        options.append(f"headers=[{listed}]")
    opts = "".join(f", {o}" for o in options)
    if secrets:
        out.append(f"url = {_py_expr(url)}")
        out.append(f"proxy = xmlrpc.client.ServerProxy(url{opts})")
    else:
        out.append(f"proxy = xmlrpc.client.ServerProxy({_py_expr(url)}{opts})")
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
