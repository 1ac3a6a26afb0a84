"""Calls as scripts to run again: one call as something to paste (the TUI's copy and save), a
capture's calls as a shell script of curl commands or a stdlib Python script (``rpcspy export
--to curl|python``).

Strategy: one place decides what of a recorded request a script sends, and every writer here
takes it from there: the URL (``call_origin`` and the path, each redacted query parameter a
variable: ``_path_pieces``), the headers (``_headers``: recorded text, a variable for a redacted
value, Basic credentials from two variables) and the note naming the variables
(``_secrets_note``). The writers differ only in what they are for:

- ``to_curl`` / ``to_python``, one call to read, edit and paste: curl with the body decoded
  (gzip undone), or the call itself through ``xmlrpc.client``;
- ``export_curl`` / ``export_python``, a capture's calls to send again in capture order: each
  body exactly as it crossed the wire (still compressed where it was, with its Content-Encoding),
  to ``$RPCSPY_TARGET`` when that is set (``scheme://host:port``), else where it was sent, and a
  line per call with the HTTP status (and, in Python, the outcome) beside the recorded one.
  The shell script writes each body with ``printf`` and octal escapes (``\\351``) for bytes that
  are not printable ASCII: a builtin, binary-safe (NUL included) in bash and dash, where
  ``base64 -d`` is spelt ``-D`` on older macOS and is not a builtin anywhere.

A value redacted when the call was recorded (``<redacted>``: see ``rpcspy.capture.redact``)
never becomes part of a script. The script reads it from an environment variable instead and
says which at its top: ``RPCSPY_USER`` / ``RPCSPY_PASSWORD`` for HTTP Basic credentials (as
``rpcspy replay`` does), ``RPCSPY_HEADER_<NAME>`` for another header's whole value,
``RPCSPY_QUERY_<NAME>`` for a query parameter, as it goes in the URL (percent-encoded). A
snippet's curl stops with the variable's name when one is unset, its Python with a ``KeyError``
naming it; an exported script checks them all before it sends anything and names every one
missing (exit status 2).

Everything written here is readable by its owner alone (``SNIPPET_MODE``): a call's headers and
params may hold secrets, even with the capture's redaction on (a password passed as a param).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, NamedTuple

import rpcspy
from rpcspy.capture._content import ContentEncodingError, decode_content
from rpcspy.capture.redact import REDACTED, URL_HEADERS
from rpcspy.capture.summary import outcome, time_text
from rpcspy.export import Exported
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
    "call_origin",
    "call_url",
    "decoded_request_body",
    "export_curl",
    "export_python",
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


def call_origin(record: CallRecord) -> str:
    """``http://host:port`` the call was sent to (the port only when it is not the default)."""
    default = {"http": 80, "https": 443}.get(record.scheme)
    host = record.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{record.scheme}://{host}" + ("" if record.port == default else f":{record.port}")


def call_url(record: CallRecord) -> str:
    """``http://host:port/path`` the call was sent to."""
    return call_origin(record) + (record.path or "/")


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


def _path_pieces(record: CallRecord) -> list[str | _Secret]:
    """The call's path as literal text and, for each redacted query parameter, its variable."""
    path = record.path or "/"
    if not _redacted(record, path):
        return [path]
    pieces: list[str | _Secret] = []
    at = 0
    for found in _REDACTED_PARAM.finditer(path, max(path.find("?"), 0)):
        name = found.group(1)
        pieces.append(path[at : found.start()] + name + "=")
        pieces.append(_Secret(_variable("RPCSPY_QUERY_", name), f"the {name} query parameter"))
        at = found.end()
    pieces.append(path[at:])
    return [p for p in pieces if p != ""]


def _url_pieces(record: CallRecord) -> list[str | _Secret]:
    """The call's URL as literal text and, for each redacted query parameter, its variable."""
    return _joined([call_origin(record), *_path_pieces(record)])


def _joined(pieces: Iterable[str | _Secret]) -> list[str | _Secret]:
    """``pieces`` with neighbouring literal texts joined into one."""
    out: list[str | _Secret] = []
    for piece in pieces:
        if isinstance(piece, str) and out and isinstance(out[-1], str):
            out[-1] += piece
        elif piece != "":
            out.append(piece)
    return out


def _secrets_in(pieces: Iterable[str | _Secret]) -> list[_Secret]:
    return [p for p in pieces if isinstance(p, _Secret)]


class _Header(NamedTuple):
    """A recorded request header as a script sends it: ``value`` is literal text and variables;
    ``basic`` marks Basic credentials redacted when recorded (``RPCSPY_USER:RPCSPY_PASSWORD``)."""

    name: str
    value: list[str | _Secret]
    basic: bool = False


def _headers(record: CallRecord, skip: frozenset[str]) -> list[_Header]:
    """The request's headers a script sends, in recorded order, but those named in ``skip``
    (lower case) and URL headers that lost a token (a Referer: the call needs neither)."""
    out: list[_Header] = []
    for name, value in record.request.headers:
        low = name.lower()
        if low in skip:
            continue
        if not _redacted(record, value):
            out.append(_Header(name, [value]))
        elif low in URL_HEADERS:
            continue
        elif low == "authorization" and _is_basic(value):
            out.append(_Header(name, [_USER, ":", _PASSWORD], basic=True))
        else:
            secret = _Secret(_variable("RPCSPY_HEADER_", name), f"the {name} header's value")
            out.append(_Header(name, [secret]))
    return out


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


def _private_file(path: Path) -> IO[str]:
    """A new file ``path`` (never an existing one, nor through a link) open for writing text,
    readable by its owner alone (``SNIPPET_MODE``) whatever the umask. A header byte that was not
    UTF-8 (kept as a lone surrogate, as mitmproxy does) is written as that byte again."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, SNIPPET_MODE)
    try:
        os.fchmod(fd, SNIPPET_MODE)
        return os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline="\n")
    except BaseException:
        os.close(fd)
        raise


def write_snippet(path: Path, text: str) -> None:
    """Write a snippet as a new file readable by its owner alone (``SNIPPET_MODE``).

    An existing file is replaced, not written through: its old mode (say 0755) and any other
    link to it are not kept. Raises ``OSError``.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with _private_file(tmp) as out:
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
    for piece in _joined(pieces):
        if isinstance(piece, _Secret):
            # The message is fixed text: a header name may hold ` or $, which would run.
            words.append(f'"${{{piece.variable}:?not set (see the top of this script)}}"')
        else:
            words.append(shlex.quote(piece))
    return "".join(words)


def _require_http(record: CallRecord, why: str) -> None:
    """``ValueError`` for a call of another protocol than XML-RPC (ONC RPC, RPyC)."""
    if record.protocol != "xmlrpc":
        names = {"oncrpc": "ONC RPC", "rpyc": "RPyC"}
        what = f"{names.get(record.protocol, record.protocol)} over {record.transport}"
        raise ValueError(f"call #{record.seq} is {what}: {why}")


def to_curl(record: CallRecord) -> str:
    """A shell command that sends the recorded request again with curl.

    A redacted value is read from an environment variable (see the module's docstring).
    """
    _require_http(record, "curl sends HTTP requests only")
    body = decoded_request_body(record).decode("utf-8", errors="replace")
    url = _url_pieces(record)
    secrets = _secrets_in(url)
    lines = [f"curl -sS -X POST {_shell(url)}"]
    has_type = False
    for header in _headers(record, _CURL_SKIP):
        has_type |= header.name.lower() == "content-type"
        if header.basic:
            lines.append(f"  --user {_shell(header.value)}")
        else:
            lines.append(f"  -H {_shell([f'{header.name}: ', *header.value])}")
        secrets += _secrets_in(header.value)
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
    _require_http(record, "the Python script makes XML-RPC calls only")
    if record.call is None:
        raise ValueError("the request was not decoded, so there is no call to write as Python")
    call = record.call
    url = _url_pieces(record)
    secrets = _secrets_in(url)
    headers: list[tuple[str, _Secret]] = []
    for header in _headers(record, _CURL_SKIP):
        if header.basic:
            # The standard client sends Basic auth for user:password@ in the URL.
            url = _with_userinfo(url)
            secrets += [_USER, _PASSWORD]
        elif isinstance(secret := header.value[0], _Secret):
            # Only a redacted header: the standard client writes the others itself.
            headers.append((header.name, secret))
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


# ---------------------------------------------------------------- a capture's calls as a script

# What a script never sends as recorded: headers the HTTP client computes itself for the request
# it makes (Host, Content-Length), hop-by-hop ones, and Accept-Encoding (the client would then
# have to undo a compressed answer it only prints the status of). Content-Encoding is kept: the
# body goes out as it was recorded.
_EXPORT_SKIP = _CURL_SKIP - {"content-encoding"}
# A header name HTTP/1.1 can carry (RFC 9110 token); a value without a line break or NUL.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\r\n\0]")
# Headers curl adds on its own unless told not to; a recorded call did not necessarily send them.
_CURL_OWN = ("Content-Type", "User-Agent", "Accept")
_LINE = 76
#: Request problems that mean the recorded body is not what was sent (the proxy streamed it or
#: it was over the size limit, so none was kept; an import lost part of it).
_BODY_NOT_KEPT = frozenset({"streamed", "too-large", "gap", "incomplete"})


class _Call(NamedTuple):
    """What both scripts write for one recorded call."""

    seq: int
    label: str  # ``add``, ``system.multicall[4]``: printable ASCII
    comment: str  # ``#3 add: fault 4 (HTTP 200, 1.2 ms)``
    recorded: str  # ``HTTP 200 fault 4``, ``error``
    origin: str
    path: list[str | _Secret]
    headers: list[_Header]
    dropped: list[str]  # headers HTTP/1.1 cannot carry, named for the comment
    body: bytes
    multicall: bool


def _printable(text: str, limit: int = 120) -> str:
    """``text`` on one line of printable ASCII (a hostile capture's names end no comment)."""
    text = _NOT_PRINTABLE.sub("?", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _left_out(record: CallRecord) -> str | None:
    """Why a call cannot be sent again as it was (its request body was not kept whole)."""
    if record.request.body is None:
        return "its request body was not recorded"
    for problem in record.problems:
        if problem.where == "request" and problem.kind in _BODY_NOT_KEPT:
            return f"its request body was not recorded whole ({problem.kind})"
    return None


def _call_of(record: CallRecord) -> _Call:
    """The call as the scripts send it."""
    body = record.request.body or b""
    label = record.method or "?"
    if record.is_multicall:
        label += f"[{len(record.subcalls)}]"
    label = _printable(label, 80)
    said = outcome(record).text
    if record.status is None:
        recorded = said
    else:
        recorded = f"HTTP {record.status}" + ("" if said == f"http {record.status}" else f" {said}")
    when = f"HTTP {record.status}, {time_text(record)}" if record.status else time_text(record)
    headers, dropped = [], []
    for header in _headers(record, _EXPORT_SKIP):
        texts = "".join(p for p in header.value if isinstance(p, str))
        if _TOKEN.fullmatch(header.name) and not _BAD_VALUE.search(texts):
            headers.append(header)
        else:
            dropped.append(_printable(header.name, 40))
    return _Call(
        seq=record.seq,
        label=label,
        comment=f"#{record.seq} {label}: {said} ({when})",
        recorded=recorded,
        origin=call_origin(record),
        path=_path_pieces(record),
        headers=headers,
        dropped=dropped,
        body=body,
        multicall=record.is_multicall,
    )


def _secrets_of(call: _Call) -> list[_Secret]:
    found = _secrets_in(call.path)
    for header in call.headers:
        found += _secrets_in(header.value)
    return found


def _write_script(
    records: Iterable[CallRecord],
    out: Path,
    head: Callable[[int, list[_Secret]], str],
    write_call: Callable[[IO[str], _Call], None],
    tail: str,
) -> Exported:
    """Write a script: ``head`` (which checks the variables every call needs), each call, then
    ``tail``. The calls go to a file beside ``out`` first, so the head can name every variable
    without holding a whole capture's bodies in memory."""
    secrets: dict[_Secret, None] = {}
    calls = skipped = 0
    scratch = out.with_name(f".{out.name}.calls")
    try:
        with _private_file(scratch) as body:
            for record in records:
                why = _left_out(record)
                if why is not None:
                    skipped += 1
                    body.write(f"\n# #{record.seq}: not sent, {why}\n")
                    continue
                call = _call_of(record)
                calls += 1
                secrets.update(dict.fromkeys(_secrets_of(call)))
                write_call(body, call)
        with (
            _private_file(out) as script,
            scratch.open(encoding="utf-8", errors="surrogateescape") as body_in,
        ):
            script.write(head(calls, list(secrets)))
            shutil.copyfileobj(body_in, script)
            script.write(tail)
    finally:
        scratch.unlink(missing_ok=True)
    detail = []
    if secrets:
        detail.append("reads " + ", ".join(s.variable for s in secrets))
    if skipped:
        detail.append(f"{skipped} left out: request body not recorded")
    return Exported(calls, "; ".join(detail))


def _about(how: str, calls: int, source: Path, run: str) -> list[str]:
    """The comment that opens a script: what it sends, and the variables that steer it."""
    plural = "call" if calls == 1 else "calls"
    lines = [
        f"{calls} {plural} recorded in {_printable(source.name, 60)},",
        f"sent again {how}, in the order they were recorded.",
        f"Written by rpcspy {rpcspy.__version__} (rpcspy export). Run it with: {run}",
        "",
        "  RPCSPY_TARGET=http://host:port   send every call there instead of where it was sent",
        "  RPCSPY_INSECURE=1                accept any TLS certificate (a self-signed one)",
        "  RPCSPY_RESPONSES=DIR             also keep each response body as DIR/SEQ.xml",
        "",
        "Each request body is sent byte for byte as recorded (compressed where it was). One line",
        "per call: what came back, and what was recorded. Exit status: 0 every call was answered;",
        "1 a call was not (the others are still sent, unless the server cannot be reached at",
        "all); 2 a variable named below is not set, or RPCSPY_TARGET is not http(s)://...",
    ]
    return [f"# {line}".rstrip() for line in lines]


# ------------------------------------------------------------------------------- shell + curl

_SHELL_SEND = r"""case ${RPCSPY_TARGET:-http://} in
  http://?* | https://?* | http:// ) ;;
  *)
    echo "RPCSPY_TARGET must be http://host:port or https://host:port" >&2
    exit 2
    ;;
esac

failures=0
# send SEQ CALL RECORDED ORIGIN PATH [CURL OPTION...]: POST the body read from stdin.
# Exit status: 0 answered, 1 not answered, 3 the server cannot be reached.
send() {
  seq=$1 call=$2 recorded=$3 url=${RPCSPY_TARGET:-$4}
  url=${url%/}$5
  shift 5
  if [ "${RPCSPY_INSECURE:-}" = 1 ]; then set -- --insecure "$@"; fi
  out=/dev/null
  if [ -n "${RPCSPY_RESPONSES:-}" ]; then out=$RPCSPY_RESPONSES/$seq.xml; fi
  rc=0
  status=$(curl -q -sS -X POST --data-binary @- -H 'Expect:' -o "$out" -w '%{http_code}' \
    "$@" "$url") || rc=$?
  if [ "$rc" -eq 0 ]; then
    printf '#%s %s: HTTP %s (recorded: %s)\n' "$seq" "$call" "$status" "$recorded"
    return 0
  fi
  printf '#%s %s: no answer, curl exit %s (recorded: %s)\n' "$seq" "$call" "$rc" "$recorded"
  case $rc in
    6 | 7 | 35 | 60) echo "stopped: cannot reach $url (curl exit $rc)" >&2; return 3 ;;
  esac
  return 1
}
# failed STATUS: count a call that got no answer; stop when the server cannot be reached.
failed() {
  if [ "$1" -eq 3 ]; then exit 1; fi
  failures=$((failures + 1))
}
"""

_SHELL_TAIL = """
if [ "$failures" -gt 0 ]; then
  echo "$failures call(s) got no answer" >&2
  exit 1
fi
"""


def _shell_head(source: Path, out: Path, calls: int, secrets: list[_Secret]) -> str:
    about = _about("with curl", calls, source, f"bash {_printable(out.name, 60)}")
    lines = ["#!/usr/bin/env bash", *about, "set -eu"]
    if secrets:
        lines += ["", *_secrets_note(secrets)]
        lines.append("missing=''")
        lines += [
            f'[ -n "${{{s.variable}:-}}" ] || missing="$missing {s.variable}"' for s in secrets
        ]
        lines += [
            'if [ -n "$missing" ]; then',
            "  printf 'not sent: set%s (see the top of this script)\\n' \"$missing\" >&2",
            "  exit 2",
            "fi",
        ]
    return "\n".join(lines) + "\n\n" + _SHELL_SEND


def _printf_byte(byte: int) -> str:
    if byte == 0x0A or (0x20 <= byte < 0x7F and byte not in b"'\\%"):
        return chr(byte)
    return chr(byte) * 2 if byte in b"\\%" else f"\\{byte:03o}"


#: Each byte (as a latin-1 character) to what stands for it in a ``printf`` format.
_PRINTF_TABLE = {byte: _printf_byte(byte) for byte in range(256)}
#: At most ``_LINE`` characters of a format that end between two escapes: 19 pieces of at most
#: four characters, plain text or one escape each.
_PRINTF_CUT = re.compile(r"(?:[^\\%\n]{1,4}|\\[0-7]{3}|\\\\|%%){1,19}")


def _printf_format(body: bytes) -> str:
    """``body`` as a single-quoted ``printf`` format that writes it back byte for byte.

    Printable ASCII and line feeds stay as they are, so an XML body reads as XML; ``%`` and
    ``\\`` are doubled; ``'`` and every other byte are ``\\ooo``. A line longer than ``_LINE`` is
    cut with ``'\\`` + newline + ``'``, which the shell joins again into the same word.
    """
    lines = body.decode("latin-1").translate(_PRINTF_TABLE).split("\n")
    cut = [
        line if len(line) <= _LINE else "'\\\n'".join(_PRINTF_CUT.findall(line)) for line in lines
    ]
    return "'" + "\n".join(cut) + "'"


def _write_curl_call(out: IO[str], call: _Call) -> None:
    out.write(f"\n# {call.comment}\n")
    if call.dropped:
        out.write(f"# not sent, not valid in HTTP/1.1: {', '.join(call.dropped)}\n")
    options: list[str] = []
    named = {h.name.lower() for h in call.headers}
    for header in call.headers:
        if header.basic:
            options.append(f"--user {_shell(header.value)}")
        elif header.value == [""]:
            options.append(f"-H {shlex.quote(header.name + ';')}")  # curl's way to send it empty
        else:
            options.append(f"-H {_shell([f'{header.name}: ', *header.value])}")
    # curl's own Content-Type, User-Agent and Accept would be headers the call did not send.
    options += [f"-H '{name}:'" for name in _CURL_OWN if name.lower() not in named]
    words = [
        shlex.quote(str(call.seq)),
        shlex.quote(call.label),
        shlex.quote(call.recorded),
        shlex.quote(call.origin),
        _shell(call.path),
    ]
    out.write(f"printf -- {_printf_format(call.body)} \\\n")
    out.write(f"  | send {' '.join(words)} \\\n")
    out.writelines(f"    {option} \\\n" for option in options)
    out.write("  || failed $?\n")


def export_curl(records: Iterable[CallRecord], out: Path, *, source: Path) -> Exported:
    """Write the calls as a bash script that sends each again with curl (``rpcspy export``)."""
    return _write_script(
        records,
        out,
        lambda calls, secrets: _shell_head(source, out, calls, secrets),
        _write_curl_call,
        _SHELL_TAIL,
    )


# --------------------------------------------------------------------------- Python http.client

_PYTHON_SEND = r'''
TARGET = os.environ.get("RPCSPY_TARGET", "")
if TARGET and not re.fullmatch(r"https?://[^/?#]+(/[^?#]*)?", TARGET):
    print("RPCSPY_TARGET must be http://host:port or https://host:port", file=sys.stderr)
    sys.exit(2)
INSECURE = os.environ.get("RPCSPY_INSECURE") == "1"
RESPONSES = os.environ.get("RPCSPY_RESPONSES", "")
failures = 0


def env(name):
    return os.environ[name]


def basic():
    """The Authorization value for RPCSPY_USER and RPCSPY_PASSWORD."""
    pair = f"{env('RPCSPY_USER')}:{env('RPCSPY_PASSWORD')}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def outcome(status, response, data, multicall):
    """What came back, in rpcspy's words: ok, fault 4, ok, 1/3 faulted, http 404, problem."""
    if response.getheader("Content-Encoding", "").strip().lower() == "gzip":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            return "problem"
    try:
        params, _ = xmlrpc.client.loads(data, use_builtin_types=True)
    except xmlrpc.client.Fault as fault:
        return f"fault {fault.faultCode}"
    except Exception:
        return f"http {status}" if not 200 <= status < 300 else "problem"
    results = params[0] if multicall and params else None
    if isinstance(results, list):
        faults = sum(1 for r in results if isinstance(r, dict) and "faultCode" in r)
        if faults:
            return f"ok, {faults}/{len(results)} faulted"
    return "ok"


def send(seq, call, recorded, origin, path, headers, body, multicall=False):
    """POST body to path at RPCSPY_TARGET (else origin) and print what came back."""
    global failures
    base = urllib.parse.urlsplit((TARGET or origin).rstrip("/"))
    if base.scheme == "https":
        if INSECURE:
            context = ssl._create_unverified_context()
        else:
            context = ssl.create_default_context()
        conn = http.client.HTTPSConnection(base.hostname, base.port, context=context)
    else:
        conn = http.client.HTTPConnection(base.hostname, base.port)
    try:
        conn.putrequest("POST", base.path + path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        data = response.read()
    except (ConnectionRefusedError, socket.gaierror, ssl.SSLError) as exc:
        print(f"#{seq} {call}: no answer, {exc} (recorded: {recorded})", flush=True)
        print(f"stopped: cannot reach {base.scheme}://{base.netloc}", file=sys.stderr)
        sys.exit(1)
    except (OSError, http.client.HTTPException, UnicodeError) as exc:
        failures += 1
        why = str(exc) or type(exc).__name__
        print(f"#{seq} {call}: no answer, {why} (recorded: {recorded})", flush=True)
        return
    finally:
        conn.close()
    if RESPONSES:
        with open(os.path.join(RESPONSES, f"{seq}.xml"), "wb") as saved:
            saved.write(data)
    said = outcome(response.status, response, data, multicall)
    got = f"HTTP {response.status}" + ("" if said == f"http {response.status}" else f" {said}")
    print(f"#{seq} {call}: {got} (recorded: {recorded})", flush=True)
'''

_PYTHON_TAIL = """
if failures:
    print(f"{failures} call(s) got no answer", file=sys.stderr)
    sys.exit(1)
"""

_PYTHON_IMPORTS = (
    "base64",
    "gzip",
    "http.client",
    "os",
    "re",
    "socket",
    "ssl",
    "sys",
    "urllib.parse",
    "xmlrpc.client",
)


def _python_head(source: Path, out: Path, calls: int, secrets: list[_Secret]) -> str:
    run = f"python3 {_printable(out.name, 60)}"
    about = _about("with Python's standard library", calls, source, run)
    lines = [
        "#!/usr/bin/env python3",
        *about,
        "",
        *(f"import {name}" for name in _PYTHON_IMPORTS),
        "",
    ]
    if secrets:
        lines += _secrets_note(secrets)
        listed = ", ".join(_py_str(s.variable) for s in secrets)
        lines += [
            f"NEEDED = [{listed}]",
            "missing = [name for name in NEEDED if not os.environ.get(name)]",
            "if missing:",
            "    print(f\"not sent: set {' '.join(missing)} (see the top of this script)\","
            " file=sys.stderr)",
            "    sys.exit(2)",
        ]
    return "\n".join(lines) + "\n" + _PYTHON_SEND


def _py_bytes(body: bytes) -> list[str]:
    """``body`` as bytes literals, one per line of it (long lines cut), joined by Python."""
    if not body:
        return ["b''"]
    out = []
    for line in body.splitlines(keepends=True):
        for at in range(0, len(line), _LINE - 20):
            out.append(repr(line[at : at + _LINE - 20]))
    return out


def _py_value(pieces: list[str | _Secret]) -> str:
    """A Python expression for text and variables: ``'/RPC2?k=' + env('RPCSPY_QUERY_K')``."""
    words = []
    for piece in _joined(pieces):
        if isinstance(piece, _Secret):
            words.append(f"env({_py_str(piece.variable)})")
        else:
            words.append(_py_str(piece))
    return " + ".join(words) if words else "''"


def _write_python_call(out: IO[str], call: _Call) -> None:
    out.write(f"\n# {call.comment}\n")
    if call.dropped:
        out.write(f"# not sent, not valid in HTTP/1.1: {', '.join(call.dropped)}\n")
    out.write("send(\n")
    out.write(f"    {call.seq},\n    {_py_str(call.label)},\n    {_py_str(call.recorded)},\n")
    out.write(f"    {_py_str(call.origin)},\n    {_py_value(call.path)},\n")
    out.write("    [\n")
    for header in call.headers:
        value = "basic()" if header.basic else _py_value(header.value)
        text = header.value[0]
        if len(header.value) == 1 and isinstance(text, str) and not text.isascii():
            # http.client would write a str as latin-1: the recorded bytes go as bytes.
            value = repr(text.encode("utf-8", "surrogateescape"))
        out.write(f"        ({_py_str(header.name)}, {value}),\n")
    out.write("    ],\n")
    literals = _py_bytes(call.body)
    if len(literals) == 1:
        out.write(f"    {literals[0]},\n")
    else:
        out.write("    (\n")
        out.writelines(f"        {literal}\n" for literal in literals)
        out.write("    ),\n")
    if call.multicall:
        out.write("    multicall=True,\n")
    out.write(")\n")


def export_python(records: Iterable[CallRecord], out: Path, *, source: Path) -> Exported:
    """Write the calls as a stdlib Python script that sends each again (``rpcspy export``)."""
    return _write_script(
        records,
        out,
        lambda calls, secrets: _python_head(source, out, calls, secrets),
        _write_python_call,
        _PYTHON_TAIL,
    )
