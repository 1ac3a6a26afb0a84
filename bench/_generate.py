"""The benchmarks' capture generator: N realistic calls (~1.4 KB each; 1,000,000 make ~1.4 GB).

Small calls to a handful of methods, ~1% faults, ~0.5% multicalls, ~0.1% problems, ~2% slow
calls, built from about 200 distinct exchanges written by the stdlib's XML-RPC client. Used by
bench/tui.py and bench/filter.py; on its own::

    .venv/bin/python bench/_generate.py /tmp/big.jsonl --calls 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
import xmlrpc.client
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rpcspy.capture import CallRecord, HttpMessage, build_record  # noqa: E402
from rpcspy.capture.schema import dumps_line, make_header, record_to_json  # noqa: E402

__all__ = ["generate", "templates"]

T0 = 1_700_000_000.0
METHODS = [
    (
        "user.get",
        lambda r: ({"name": r.choice(NAMES), "id": r.randint(1, 9999)},),
        lambda r: {"name": r.choice(NAMES), "id": r.randint(1, 9999), "admin": r.random() < 0.1},
    ),
    (
        "dir.list",
        lambda r: (f"/srv/{r.choice(NAMES)}", {"recursive": False}),
        lambda r: [f"file{i}.txt" for i in range(r.randint(0, 5))],
    ),
    ("math.add", lambda r: (r.randint(0, 100), r.randint(0, 100)), lambda r: r.randint(0, 200)),
    ("system.listMethods", lambda r: (), lambda r: ["dir.list", "math.add", "user.get"]),
    (
        "order.create",
        lambda r: (
            {
                "sku": f"SKU-{r.randint(1, 500)}",
                "qty": r.randint(1, 9),
                "when": xmlrpc.client.DateTime(dt.datetime(2024, 5, 1, 12, 0)),
            },
        ),
        lambda r: {"order": r.randint(1, 10**6), "total": round(r.uniform(1, 500), 2)},
    ),
    ("session.ping", lambda r: (), lambda r: True),
]
NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]


def _exchange(
    seq: int,
    method: str,
    params: tuple[object, ...],
    *,
    result: object = None,
    fault: tuple[int, str] | None = None,
    raw_response: bytes | None = None,
    error: str | None = None,
) -> CallRecord:
    body = xmlrpc.client.dumps(params, method, allow_none=True).encode()
    if raw_response is None and error is None:
        if fault is not None:
            raw_response = xmlrpc.client.dumps(
                xmlrpc.client.Fault(*fault), methodresponse=True
            ).encode()
        else:
            raw_response = xmlrpc.client.dumps(
                (result,), methodresponse=True, allow_none=True
            ).encode()
    request = HttpMessage(
        (
            ("Host", "10.0.0.1:8000"),
            ("User-Agent", "Python-xmlrpc/3.12"),
            ("Content-Type", "text/xml"),
            ("Content-Length", str(len(body))),
        ),
        body,
    )
    response = (
        None
        if error
        else HttpMessage(
            (("Server", "BaseHTTP/0.6 Python/3.12"), ("Content-Type", "text/xml")), raw_response
        )
    )
    return build_record(
        request,
        response,
        started=T0,
        ended=None if error else T0 + 0.002,
        client=("10.0.0.7", 40000),
        server=("10.0.0.1", 8000),
        scheme="http",
        host="10.0.0.1",
        port=8000,
        path="/RPC2",
        status=None if error else 200,
        error=error,
        seq=seq,
    )


def templates(rng: random.Random) -> list[tuple[dict[str, object], str]]:
    """About 200 distinct exchanges as capture JSON objects, each with its kind."""
    out: list[tuple[dict[str, object], str]] = []
    for i in range(180):
        method, make_params, make_result = METHODS[i % len(METHODS)]
        params = make_params(rng)
        if method == "user.get" and i % 60 == 0:
            # Some clients send the id as a string: what a type test (params[0].id:string) finds.
            params = ({**params[0], "id": str(params[0]["id"])},)
        out.append((record_to_json(_exchange(i, method, params, result=make_result(rng))), "ok"))
    for code, text in (
        (-32601, "method not found"),
        (4, "Too many parameters"),
        (-32602, "invalid params"),
    ):
        out.append(
            (
                record_to_json(
                    _exchange(0, "user.get", ({"name": "mallory"},), fault=(code, text))
                ),
                "fault",
            )
        )
    calls = [
        {"methodName": "math.add", "params": [1, 2]},
        {"methodName": "user.get", "params": [{"name": "bob"}]},
        {"methodName": "nope", "params": []},
    ]
    response = xmlrpc.client.dumps(
        ([[3], [{"name": "bob", "id": 2}], {"faultCode": -32601, "faultString": "nope"}],),
        methodresponse=True,
    ).encode()
    out.append(
        (
            record_to_json(_exchange(0, "system.multicall", (calls,), raw_response=response)),
            "multicall",
        )
    )
    out.append(
        (
            record_to_json(
                _exchange(
                    0,
                    "user.get",
                    ({"name": "x"},),
                    raw_response=b"<methodResponse><params><param><value><int>1",
                )
            ),
            "problem",
        )
    )
    out.append(
        (
            record_to_json(
                _exchange(0, "math.add", (1, 2), error="upstream refused the connection")
            ),
            "error",
        )
    )
    return out


def generate(path: Path, n: int, seed: int = 1) -> None:
    """Write a capture of ``n`` calls: ~1% faults, ~0.5% multicalls, ~0.1% problems, ~2% slow."""
    rng = random.Random(seed)
    temps = templates(rng)
    by_kind: dict[str, list[dict[str, object]]] = {}
    for obj, kind in temps:
        by_kind.setdefault(kind, []).append(obj)
    ok = by_kind["ok"]
    with open(path, "wb") as out:
        out.write(dumps_line(make_header(created=dt.datetime(2024, 5, 1, tzinfo=dt.UTC))))
        buf: list[bytes] = []
        t = T0
        for seq in range(1, n + 1):
            x = rng.random()
            if x < 0.01:
                obj = rng.choice(by_kind["fault"])
            elif x < 0.015:
                obj = by_kind["multicall"][0]
            elif x < 0.016:
                obj = by_kind["problem"][0]
            elif x < 0.0165:
                obj = by_kind["error"][0]
            else:
                obj = ok[rng.randrange(len(ok))]
            t += rng.expovariate(200.0)
            d = dict(obj)
            d["seq"] = seq
            d["id"] = f"{seq:032x}"
            d["started"] = t
            slow = rng.random() < 0.02
            ms = rng.uniform(200, 900) if slow else rng.lognormvariate(0.7, 0.6)
            if d["ended"] is not None:
                d["ended"] = t + ms / 1000.0
                d["duration_ms"] = ms
            d["client"] = ["10.0.0." + str(7 + seq % 5), 40000 + seq % 20000]
            buf.append(orjson.dumps(d, option=orjson.OPT_APPEND_NEWLINE))
            if len(buf) >= 10_000:
                out.write(b"".join(buf))
                buf.clear()
        out.write(b"".join(buf))


def ensure(path: Path, n: int) -> None:
    """Generate ``path`` with ``n`` calls unless it exists; say how long it took."""
    if path.exists():
        return
    t = time.perf_counter()
    generate(path, n)
    size = path.stat().st_size
    print(
        f"generated {n:,} calls in {time.perf_counter() - t:.1f} s: "
        f"{size / 1e6:.0f} MB ({size // n} B/call)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path, help="capture file to write")
    ap.add_argument("--calls", type=int, default=1_000_000, help="number of calls")
    args = ap.parse_args()
    args.out.unlink(missing_ok=True)
    ensure(args.out, args.calls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
