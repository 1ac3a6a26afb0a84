"""HTTP connections for XML-RPC clients, directly or through an HTTP proxy.

The stdlib ``xmlrpc.client`` ignores ``HTTP_PROXY``/``HTTPS_PROXY``. ``ProxyTransport`` (for
``http://`` servers) and ``SafeProxyTransport`` (for ``https://`` servers) send its calls through
an HTTP proxy such as ``rpcspy proxy --mode regular``::

    import ssl, xmlrpc.client
    from rpcspy.client import SafeProxyTransport

    ctx = ssl.create_default_context(cafile="/home/me/.mitmproxy/mitmproxy-ca-cert.pem")
    transport = SafeProxyTransport("http://127.0.0.1:8080", context=ctx)
    server = xmlrpc.client.ServerProxy("https://api.example.com/RPC2", transport=transport)

An ``http://`` server is asked for with the absolute URL in the request line (``POST
http://host:port/RPC2``), as HTTP proxies expect; an ``https://`` one through a ``CONNECT``
tunnel, inside which TLS runs end to end with the server (or with the proxy's certificate, when
it is one that inspects, like mitmproxy: trust its CA). Credentials in the proxy URL
(``http://user:pass@proxy:8080``) become a ``Proxy-Authorization`` header.

``open_connection``, ``request_target`` and ``proxy_headers`` are what both transports use, for
code that drives ``http.client`` itself (``rpcspy call`` does, through
``rpcspy.replay.send.Sender``).
Only the standard library is imported here.
"""

from __future__ import annotations

import base64
import http.client
import ssl
import urllib.parse
import xmlrpc.client
from dataclasses import dataclass
from typing import Any

__all__ = [
    "HttpProxy",
    "ProxyTransport",
    "SafeProxyTransport",
    "open_connection",
    "proxy_headers",
    "request_target",
]


@dataclass(frozen=True, slots=True)
class HttpProxy:
    """An HTTP proxy: ``http://[user:pass@]host[:port]`` (port 8080 when not given)."""

    host: str
    port: int
    user: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> HttpProxy:
        """Read a proxy URL; raises ``ValueError`` with a reason people understand.

        A URL without a scheme (``127.0.0.1:8080``) is taken as ``http://``.
        """
        text = url.strip()
        if "://" not in text:
            text = "http://" + text
        parts = urllib.parse.urlsplit(text)
        if parts.scheme.lower() != "http":
            raise ValueError(f"proxy {url!r}: only http:// proxies are supported")
        if not parts.hostname:
            raise ValueError(f"proxy {url!r}: no host name")
        try:
            port = parts.port or 8080
        except ValueError:
            raise ValueError(f"proxy {url!r}: bad port") from None
        user = urllib.parse.unquote(parts.username) if parts.username is not None else None
        password = urllib.parse.unquote(parts.password) if parts.password is not None else None
        return cls(parts.hostname, port, user, password)

    @property
    def headers(self) -> dict[str, str]:
        """``Proxy-Authorization`` when the URL had credentials, else nothing."""
        if self.user is None:
            return {}
        token = f"{self.user}:{self.password or ''}".encode()
        return {"Proxy-Authorization": "Basic " + base64.b64encode(token).decode("ascii")}

    def __repr__(self) -> str:
        who = f"{self.user}:<redacted>@" if self.user is not None else ""
        return f"HttpProxy('http://{who}{self.host}:{self.port}')"


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def open_connection(
    scheme: str,
    host: str,
    port: int,
    *,
    proxy: HttpProxy | None = None,
    context: ssl.SSLContext | None = None,
    timeout: float | None = None,
) -> http.client.HTTPConnection:
    """A connection (not yet opened) to ``scheme://host:port``, through ``proxy`` if given.

    ``https`` through a proxy is a ``CONNECT`` tunnel with TLS to the server inside, verified
    with ``context`` (the system's CAs when None); ``http`` through a proxy is a connection to
    the proxy, to which requests name the absolute URL (``request_target``).
    """
    kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    if scheme == "https":
        ctx = context if context is not None else ssl.create_default_context()
        if proxy is None:
            return http.client.HTTPSConnection(host, port, context=ctx, **kwargs)
        conn = http.client.HTTPSConnection(proxy.host, proxy.port, context=ctx, **kwargs)
        conn.set_tunnel(host, port, headers=proxy.headers)
        return conn
    if scheme != "http":
        raise ValueError(f"unsupported URL scheme {scheme!r}: use http or https")
    if proxy is None:
        return http.client.HTTPConnection(host, port, **kwargs)
    return http.client.HTTPConnection(proxy.host, proxy.port, **kwargs)


def request_target(
    scheme: str, host: str, port: int, path: str, proxy: HttpProxy | None = None
) -> str:
    """What the request line names: the path, or the absolute URL for ``http`` via a proxy."""
    if proxy is not None and scheme == "http":
        return f"http://{_netloc(host, port)}{path}"
    return path


def proxy_headers(scheme: str, proxy: HttpProxy | None) -> tuple[tuple[str, str], ...]:
    """Headers each request itself must carry: the proxy's credentials for ``http`` through a
    proxy (for ``https`` they go with the ``CONNECT``, not to the server)."""
    if proxy is None or scheme != "http":
        return ()
    return tuple(proxy.headers.items())


def _split_host(host: str, default_port: int) -> tuple[str, int]:
    # ServerProxy hands the transport "host[:port]" (credentials already taken out).
    parts = urllib.parse.urlsplit("//" + host)
    return parts.hostname or host, parts.port or default_port


class ProxyTransport(xmlrpc.client.Transport):
    """An ``xmlrpc.client`` transport for ``http://`` servers, through an HTTP proxy.

    ``proxy`` is the proxy's URL (``http://127.0.0.1:8080``) or an ``HttpProxy``; the other
    arguments are ``xmlrpc.client.Transport``'s.
    """

    _scheme = "http"
    _default_port = 80

    def __init__(
        self,
        proxy: str | HttpProxy,
        *,
        use_datetime: bool = False,
        use_builtin_types: bool = False,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(
            use_datetime=use_datetime, use_builtin_types=use_builtin_types, headers=headers
        )
        self.proxy = proxy if isinstance(proxy, HttpProxy) else HttpProxy.parse(proxy)
        self._headers.extend(proxy_headers(self._scheme, self.proxy))
        self._context: ssl.SSLContext | None = None

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        # Keep one connection per server, as the stdlib transports do.
        kept = self._connection[1]
        if kept is not None and host == self._connection[0]:
            return kept
        chost, self._extra_headers, _ = self.get_host_info(host)
        name, port = _split_host(chost, self._default_port)
        conn = open_connection(self._scheme, name, port, proxy=self.proxy, context=self._context)
        self._connection = host, conn
        return conn

    def send_request(self, host: Any, handler: str, request_body: Any, debug: Any) -> Any:
        chost = self.get_host_info(host)[0]
        name, port = _split_host(chost, self._default_port)
        target = request_target(self._scheme, name, port, handler, self.proxy)
        return super().send_request(host, target, request_body, debug)


class SafeProxyTransport(ProxyTransport):
    """An ``xmlrpc.client`` transport for ``https://`` servers, through an HTTP proxy
    (``CONNECT``). ``context`` verifies the server (or the inspecting proxy): with mitmproxy,
    trust its CA, ``~/.mitmproxy/mitmproxy-ca-cert.pem`` or the one in ``--confdir``."""

    _scheme = "https"
    _default_port = 443

    def __init__(
        self,
        proxy: str | HttpProxy,
        *,
        context: ssl.SSLContext | None = None,
        use_datetime: bool = False,
        use_builtin_types: bool = False,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(
            proxy, use_datetime=use_datetime, use_builtin_types=use_builtin_types, headers=headers
        )
        self._context = context
