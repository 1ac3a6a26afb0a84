"""Recording happens off mitmproxy's event loop: a huge body does not hold up other calls."""

from __future__ import annotations

import time
from pathlib import Path

from rpcspy.capture import CallRecord
from rpcspy.proxy import ProxyConfig
from tests.proxy.helpers import RawUpstream, ThreadedProxy, raw_post, wait_for
from tests.proxy.test_hostile import GOOD

ITEMS = 600_000  # ~17 MB of <value><i4>..</i4></value>: seconds to decode, on any machine


def test_small_calls_pass_while_a_huge_body_is_decoded(tmp_path: Path, confdir: Path) -> None:
    huge = (
        b"<?xml version='1.0'?><methodCall><methodName>big</methodName><params><param><value>"
        b"<array><data>"
        + b"<value><i4>12345</i4></value>" * ITEMS
        + b"</data></array></value></param></params></methodCall>"
    )
    delivered: dict[str, float] = {}
    methods: list[str] = []

    def on_record(record: CallRecord) -> None:
        delivered.setdefault(record.method or "?", time.monotonic())
        methods.append(record.method or "?")

    with RawUpstream() as upstream:
        config = ProxyConfig(
            target=upstream.url,
            listen_port=0,
            capture=tmp_path / "big.jsonl",
            confdir=confdir,
            quiet=True,
            max_body=64 * 1024 * 1024,
            on_record=on_record,
        )
        with ThreadedProxy(config) as proxy:
            raw_post(proxy.port, huge)  # relayed in full; its record is now being built
            small_done: list[float] = []
            for _ in range(5):
                status, _ = raw_post(proxy.port, GOOD)
                assert status == 200
                small_done.append(time.monotonic())
            # Every record is delivered before the snapshot is taken (the five small ones may
            # still be in the recorder's queue when the first of them arrives).
            wait_for(lambda: len(methods) == 6, timeout=120)
            records = proxy.snapshot()
    assert [r.method for r in records] == ["big", "echo", "echo", "echo", "echo", "echo"]
    (big,) = [r for r in records if r.method == "big"]
    assert big.call is not None and len(big.call.params[0]) == ITEMS  # type: ignore[arg-type]
    # The small calls were answered while the huge one was still being decoded.
    assert small_done[-1] < delivered["big"], (small_done, delivered)
