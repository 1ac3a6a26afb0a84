"""Client-side helpers for the demo server tests: the real stdlib client over real sockets."""

from __future__ import annotations

import http.client
import ssl
import time
import xmlrpc.client
from collections.abc import Callable
from urllib.parse import quote

from rpcspy.server import DemoServer


def connect(
    server: DemoServer,
    path: str = "/RPC2",
    *,
    user: str | None = None,
    password: str | None = None,
    context: ssl.SSLContext | None = None,
) -> xmlrpc.client.ServerProxy:
    """A stdlib ServerProxy for ``server`` (nil and builtin types on, like the server)."""
    credentials = ""
    if user is not None:
        credentials = f"{quote(user, safe='')}:{quote(password or '', safe='')}@"
    scheme, _, rest = server.base_url.partition("://")
    return xmlrpc.client.ServerProxy(
        f"{scheme}://{credentials}{rest}{path}",
        allow_none=True,
        use_builtin_types=True,
        context=context,
    )


def raw_post(
    server: DemoServer,
    body: bytes,
    *,
    path: str = "/RPC2",
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request with http.client; returns (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(
            method, path, body=body, headers={"Content-Type": "text/xml", **(headers or {})}
        )
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def wait_until(
    condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition"
) -> None:
    """Poll ``condition`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)
