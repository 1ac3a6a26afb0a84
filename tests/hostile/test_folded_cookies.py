"""Every cookie of a folded Set-Cookie line loses its value in the capture (issue 11, item 9).

Servers and proxies sometimes fold several cookies onto one ``Set-Cookie`` line, separated by
commas (``a=1; Path=/, b=SECRET; Path=/``), and an ``Expires`` date has a comma of its own.
The proxy must forward the line untouched and store none of the values.
"""

from __future__ import annotations

import http.client
import signal
from pathlib import Path

import pytest

from rpcspy.capture import read_capture
from rpcspy.capture.redact import REDACTED, redact_header
from tests.conftest import free_port
from tests.hostile.wire import CannedServer, http_response
from tests.proxy.helpers import killing, spawn_run_proxy, stop_process, wait_listening

FOLDS = [
    ("a=1; Path=/, b=SECRET; Path=/", f"a={REDACTED}; Path=/, b={REDACTED}; Path=/"),
    (
        "sid=abc; Expires=Wed, 21 Oct 2026 07:28:00 GMT, b=SECRET; HttpOnly",
        f"sid={REDACTED}; Expires=Wed, 21 Oct 2026 07:28:00 GMT, b={REDACTED}; HttpOnly",
    ),
    ("a=1,b=SECRET", f"a={REDACTED}, b={REDACTED}"),
    # A fold that leaves a bare value after an attribute: the value goes, the attribute stays.
    ("a=1; Path=/, SECRET", f"a={REDACTED}; Path=/, {REDACTED}"),
    (
        "a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT, SECRET",
        f"a={REDACTED}; Expires=Wed, {REDACTED}",
    ),
    # Unfolded lines read as before: the date's comma starts no cookie.
    (
        "sid=abc; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/",
        f"sid={REDACTED}; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/",
    ),
    ("sid=abc; Path=/; HttpOnly", f"sid={REDACTED}; Path=/; HttpOnly"),
]


@pytest.mark.parametrize(("value", "stored"), FOLDS)
def test_every_cookie_of_a_folded_line_is_redacted(value: str, stored: str) -> None:
    assert redact_header("Set-Cookie", value) == stored
    assert "SECRET" not in stored and "abc" not in stored


def test_the_proxy_forwards_a_folded_set_cookie_and_stores_no_value(tmp_path: Path) -> None:
    body = (
        b"<?xml version='1.0'?><methodResponse><params><param><value><int>5</int></value>"
        b"</param></params></methodResponse>"
    )
    folded = b"a=1; Path=/, b=SECRET; Expires=Wed, 21 Oct 2026 07:28:00 GMT, c=SECRET2"
    response = http_response(
        body, headers=((b"Content-Type", b"text/xml"), (b"Set-Cookie", folded))
    )
    capture = tmp_path / "cookies.jsonl"
    port = free_port()
    with CannedServer(response) as upstream:
        proc = spawn_run_proxy(
            f"target={upstream.url!r}, listen_port={port}, capture=Path({str(capture)!r}), "
            f"confdir=Path({str(tmp_path / 'confdir')!r})"
        )
        with killing(proc):
            wait_listening(port)
            call = (
                b"<?xml version='1.0'?><methodCall><methodName>add</methodName><params>"
                b"<param><value><int>2</int></value></param></params></methodCall>"
            )
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/RPC2", call, {"Content-Type": "text/xml"})
            answer = conn.getresponse()
            # Forwarded untouched: the client gets every cookie.
            assert answer.getheader("Set-Cookie") == folded.decode()
            assert answer.read() == body
            conn.close()
            _out, err = stop_process(proc, signal.SIGINT)
    assert proc.returncode == 0, err
    data = capture.read_bytes()
    assert b"SECRET" not in data
    [record] = read_capture(capture)
    assert record.redacted and record.ok
    assert record.response is not None
    assert dict(record.response.headers)["Set-Cookie"] == (
        f"a={REDACTED}; Path=/, b={REDACTED}; Expires=Wed, 21 Oct 2026 07:28:00 GMT, c={REDACTED}"
    )
