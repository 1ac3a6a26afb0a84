"""Redaction of credentials in headers and query strings before a record is kept.

Strategy: a ``Redaction`` names the header names and query parameter names whose values are
secrets (``DEFAULT_REDACTION`` holds the common ones, a user adds and removes names); one pass
over a record replaces each such value with ``<redacted>`` and sets ``record.redacted``, so the
record says that it is not what was on the wire. Names and structure stay, values go:

- Authorization and Proxy-Authorization keep their scheme word (``Basic <redacted>``) so a
  reader still sees how a client authenticated.
- Cookie and Set-Cookie keep cookie names and attributes (``sid=<redacted>; Path=/; HttpOnly``)
  and lose only the values. A Set-Cookie folded onto one line (``a=1; Path=/, b=2; Path=/``, as
  some servers and proxies send several cookies) is split at each comma that starts a new
  ``name=``, so every cookie in it loses its value; the comma in an ``Expires=Wed, 21 Oct 2026
  07:28:00 GMT`` date starts no cookie.
- Any other named header (``X-Api-Key``, ``Private-Token`` ...) loses its whole value.
- A named query parameter keeps its name (``?access_token=<redacted>&page=2``) in the request's
  path and in the URL headers that repeat a URL (Referer, Location, Content-Location).

Bodies are never touched: the proxy forwards every byte as it came, and only what is *kept*
(the capture, the live view, the snippets made from it) is redacted.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from collections.abc import Iterable
from typing import Final

from rpcspy.capture.record import CallRecord, HttpMessage

__all__ = [
    "DEFAULT_HEADERS",
    "DEFAULT_QUERY",
    "DEFAULT_REDACTION",
    "NO_REDACTION",
    "REDACTED",
    "SENSITIVE_HEADERS",
    "URL_HEADERS",
    "Redaction",
    "redact_header",
    "redact_headers",
    "redact_path",
    "redact_record",
]

REDACTED: Final = "<redacted>"

#: Headers redacted by default (lower case). Each carries a credential or a session secret:
#: HTTP authentication (Authorization, Proxy-Authorization), session cookies (Cookie,
#: Set-Cookie), API keys and tokens sent as headers by common services (X-Api-Key: AWS API
#: Gateway and many others; Api-Key: Azure; X-Goog-Api-Key: Google; X-Auth-Token: OpenStack and
#: others; X-Access-Token; Private-Token: GitLab; X-Vault-Token: HashiCorp Vault;
#: X-Amz-Security-Token: AWS temporary credentials), and anti-forgery tokens bound to a session
#: (X-Csrf-Token, X-Xsrf-Token), which with the session's cookie let a request be forged.
DEFAULT_HEADERS: Final = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "x-auth-token",
        "x-access-token",
        "private-token",
        "x-vault-token",
        "x-amz-security-token",
        "x-csrf-token",
        "x-xsrf-token",
    }
)
#: The name this module had for the header list before it could be configured.
SENSITIVE_HEADERS: Final = DEFAULT_HEADERS

#: Query parameters redacted by default (compared case-insensitively, after percent-decoding):
#: OAuth 2 tokens (access_token, RFC 6750; refresh_token, id_token) and client secrets, the
#: usual names of API keys and tokens (token, auth, auth_token, api_key, apikey, key: Google's
#: APIs take ``?key=``), passwords (password, passwd, secret), and the signatures of pre-signed
#: URLs (signature, sig, X-Amz-Signature, X-Goog-Signature, X-Amz-Security-Token), which grant
#: access on their own until they expire.
DEFAULT_QUERY: Final = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "token",
        "auth",
        "auth_token",
        "api_key",
        "apikey",
        "key",
        "password",
        "passwd",
        "secret",
        "signature",
        "sig",
        "x-amz-signature",
        "x-amz-security-token",
        "x-goog-signature",
    }
)

#: Headers whose value is a URL: its query string is redacted like the request path's.
URL_HEADERS: Final = frozenset({"referer", "location", "content-location"})

_CREDENTIAL_HEADERS: Final = frozenset({"authorization", "proxy-authorization"})
#: An HTTP header name (RFC 9110 ``token``).
_HEADER_NAME: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
#: An authentication scheme word worth keeping (``Basic``, ``Bearer``, ``AWS4-HMAC-SHA256``);
#: a first word that looks like anything else may be part of the secret, and goes with it.
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,31}\Z")
#: The separators of query parameters: ``&``, and ``;`` which some servers also split on.
_QUERY_SEPARATORS: Final = re.compile(r"([&;])")

# Set-Cookie attributes are public (they say how the cookie is kept, not what it is).
_COOKIE_ATTRIBUTES: Final = frozenset(
    {
        "expires",
        "max-age",
        "domain",
        "path",
        "secure",
        "httponly",
        "samesite",
        "partitioned",
        "priority",
    }
)


#: A comma that starts another cookie of a folded Set-Cookie: one followed by ``name=``.
_NEXT_COOKIE: Final = re.compile(r",(?=\s*[^;,=\s]+\s*=)")
#: An ``Expires`` whose comma is the date's own: ``Expires=Wed, 21 Oct 2026 07:28:00 GMT``.
_EXPIRES: Final = re.compile(r"(?i)expires\s*=\s*[a-z]{3,9},[ 0-9a-z:-]*\Z")


def _query_name(name: str) -> str:
    """A query parameter name as compared: percent- and plus-decoded, lower case."""
    return urllib.parse.unquote_plus(name).strip().lower()


def _header_names(names: Iterable[str], what: str) -> frozenset[str]:
    out = set()
    for name in names:
        if not _HEADER_NAME.match(name.strip()):
            raise ValueError(f"not a header name: {name!r} ({what})")
        out.add(name.strip().lower())
    return frozenset(out)


def _query_names(names: Iterable[str], what: str) -> frozenset[str]:
    out = set()
    for name in names:
        key = _query_name(name)
        if not key or any(c in key for c in "&;=?#"):
            raise ValueError(f"not a query parameter name: {name!r} ({what})")
        out.add(key)
    return frozenset(out)


@dataclasses.dataclass(frozen=True, slots=True)
class Redaction:
    """Which values are secrets: header names and query parameter names, in lower case.

    ``Redaction()`` is the default list; ``Redaction.configured`` adds to it and takes out of
    it; ``NO_REDACTION`` keeps everything.
    """

    headers: frozenset[str] = DEFAULT_HEADERS
    query: frozenset[str] = DEFAULT_QUERY

    @classmethod
    def configured(
        cls,
        *,
        redact_headers: Iterable[str] = (),
        keep_headers: Iterable[str] = (),
        redact_query: Iterable[str] = (),
        keep_query: Iterable[str] = (),
    ) -> Redaction:
        """The default lists plus the ``redact_*`` names, minus the ``keep_*`` ones.

        Raises ``ValueError`` for a name that is not a header (or query parameter) name, and
        for one both redacted and kept.
        """
        add_h = _header_names(redact_headers, "to redact")
        keep_h = _header_names(keep_headers, "to keep")
        add_q = _query_names(redact_query, "to redact")
        keep_q = _query_names(keep_query, "to keep")
        both = sorted(add_h & keep_h) + sorted(add_q & keep_q)
        if both:
            raise ValueError(f"both redacted and kept: {', '.join(both)}")
        return cls(
            headers=(DEFAULT_HEADERS | add_h) - keep_h,
            query=(DEFAULT_QUERY | add_q) - keep_q,
        )

    @property
    def active(self) -> bool:
        """Whether anything at all is redacted."""
        return bool(self.headers or self.query)

    def header(self, name: str, value: str) -> str:
        """The value to keep for a header: unchanged unless it carries a secret."""
        return redact_header(name, value, self)

    def record(self, record: CallRecord) -> CallRecord:
        """The record with its secrets redacted (the same record when it holds none)."""
        return redact_record(record, self)


DEFAULT_REDACTION: Final = Redaction()
NO_REDACTION: Final = Redaction(headers=frozenset(), query=frozenset())


def _redact_credentials(value: str) -> str:
    scheme, sep, _secret = value.strip().partition(" ")
    if sep and _SCHEME.match(scheme):
        return f"{scheme} {REDACTED}"
    return REDACTED


def _attribute(part: str, name: str) -> str:
    """A Set-Cookie attribute as stored: kept, unless a fold left more after it than an
    attribute holds (a comma outside an ``Expires`` date), which is redacted."""
    if "," not in part:
        return part
    if name == "expires" and _EXPIRES.match(part):
        return part
    return part.partition(",")[0] + ", " + REDACTED


def _redact_cookie(value: str, *, set_cookie: bool) -> str:
    parts = []
    for i, part in enumerate(value.split(";")):
        name, eq, _ = part.strip().partition("=")
        if not part.strip():
            continue
        if set_cookie and i > 0 and name.lower() in _COOKIE_ATTRIBUTES:
            parts.append(_attribute(part.strip(), name.lower()))
        elif eq:
            parts.append(f"{name}={REDACTED}")
        else:
            parts.append(REDACTED)
    return "; ".join(parts) if parts else REDACTED


def redact_path(path: str, redaction: Redaction = DEFAULT_REDACTION) -> str:
    """A path or URL with the values of secret query parameters redacted (names kept).

    ``/RPC2?access_token=abc&page=2`` → ``/RPC2?access_token=<redacted>&page=2``; everything
    else is kept byte for byte. A parameter with no value (``?token`` or ``?token=``) has
    nothing to hide and is kept.
    """
    base, mark, query = path.partition("?")
    if not mark or not redaction.query:
        return path
    query, hash_mark, fragment = query.partition("#")
    parts = _QUERY_SEPARATORS.split(query)
    changed = False
    # Even indexes are parameters, odd ones the separators between them.
    for i in range(0, len(parts), 2):
        name, eq, value = parts[i].partition("=")
        if eq and value and _query_name(name) in redaction.query:
            parts[i] = f"{name}={REDACTED}"
            changed = True
    if not changed:
        return path
    return f"{base}?{''.join(parts)}{hash_mark}{fragment}"


def redact_header(name: str, value: str, redaction: Redaction = DEFAULT_REDACTION) -> str:
    """The value to store for a header: unchanged unless the header carries a secret."""
    lower = name.lower()
    if lower not in redaction.headers:
        if lower in URL_HEADERS and "?" in value:
            return redact_path(value, redaction)
        return value
    if lower in _CREDENTIAL_HEADERS:
        return _redact_credentials(value)
    if lower == "cookie":
        return _redact_cookie(value, set_cookie=False)
    if lower == "set-cookie":
        cookies = _NEXT_COOKIE.split(value)
        return ", ".join(_redact_cookie(cookie, set_cookie=True) for cookie in cookies)
    return REDACTED


def redact_headers(
    headers: tuple[tuple[str, str], ...], redaction: Redaction = DEFAULT_REDACTION
) -> tuple[tuple[str, str], ...]:
    """Headers with secret values redacted (the same tuple when there is nothing to hide)."""
    names = redaction.headers
    # A plain loop: this runs for every record the proxy keeps, most of which hold no secret.
    for name, value in headers:
        lower = name.lower()
        if lower in names or (lower in URL_HEADERS and "?" in value):
            break
    else:
        return headers
    return tuple((name, redact_header(name, value, redaction)) for name, value in headers)


def _redact_half(half: HttpMessage, redaction: Redaction) -> HttpMessage:
    headers = redact_headers(half.headers, redaction)
    return half if headers == half.headers else dataclasses.replace(half, headers=headers)


def redact_record(record: CallRecord, redaction: Redaction = DEFAULT_REDACTION) -> CallRecord:
    """The record with secret header values and query parameters redacted; ``redacted`` is
    set when a value changed (the same record when nothing did)."""
    if not redaction.active:
        return record
    request = _redact_half(record.request, redaction)
    response = None if record.response is None else _redact_half(record.response, redaction)
    path = redact_path(record.path, redaction) if "?" in record.path else record.path
    if request is record.request and response is record.response and path == record.path:
        return record
    return dataclasses.replace(record, request=request, response=response, path=path, redacted=True)
