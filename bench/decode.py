"""Decode throughput: rpcspy's decode_message against the stdlib's xmlrpc.client.loads.

Both decode the same bodies in the same run: the valid corpus in tests/data/valid (grouped by
family; files the stdlib cannot read are left out and counted) and a few generated bodies (an
array of 1,000 structs, a 1 MB base64, deep-ish nesting, 1,000 small calls). Timings alternate
between the two decoders and keep the best of several rounds, which is what a noisy machine
allows. Prints one row per case with the ratio (stdlib time / our time; above 1 means we are
faster) and the overall geometric mean and total-time ratio.

Then the same for the tolerant reading (read_message): on the same conformant bodies, and on
deviant ones, the bodies of tests/data/tolerant the stdlib reads plus generated bodies as real
peers write them (Node's out-of-range <int>s, <nil/>s, XMLRPC::Lite's string fault codes).

    .venv/bin/python bench/decode.py          # full run
    .venv/bin/python bench/decode.py --quick  # a few seconds
    .venv/bin/python bench/decode.py --strict-only  # the first table alone
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import sys
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rpcspy.xmlrpc import (  # noqa: E402
    DateTime,
    Fault,
    MethodCall,
    decode_message,
    read_message,
    to_python,
)

VALID = ROOT / "tests" / "data" / "valid"
TOLERANT = ROOT / "tests" / "data" / "tolerant"
FAMILIES = ("supervisord", "odoo", "wordpress", "koji", "validator1", "apache", "encoding")


@dataclass
class Case:
    name: str
    bodies: list[bytes]

    @property
    def size(self) -> int:
        return sum(len(b) for b in self.bodies)


def ours(bodies: list[bytes]) -> None:
    for body in bodies:
        decode_message(body)


def ours_tolerant(bodies: list[bytes]) -> None:
    for body in bodies:
        read_message(body)


def stdlib(bodies: list[bytes]) -> None:
    loads = xmlrpc.client.loads
    for body in bodies:
        # A bare try costs nothing when nothing is raised; contextlib.suppress would add a
        # context manager per call to the stdlib's time.
        try:  # noqa: SIM105
            loads(body)
        except xmlrpc.client.Fault:
            pass


def stdlib_reads(body: bytes) -> bool:
    try:
        xmlrpc.client.loads(body)
    except xmlrpc.client.Fault:
        return True
    except Exception:
        return False
    return True


def corpus_cases() -> tuple[list[Case], list[str]]:
    groups: dict[str, list[bytes]] = {}
    skipped: list[str] = []
    for path in sorted(VALID.glob("*.xml")):
        body = path.read_bytes()
        if not stdlib_reads(body):
            skipped.append(path.name)
            continue
        family = next((f for f in FAMILIES if path.name.startswith(f)), "other")
        groups.setdefault(family, []).append(body)
    cases = [
        Case(f"corpus: {family} ({len(bodies)} files)", bodies)
        for family, bodies in sorted(groups.items(), key=lambda kv: (kv[0] == "other", kv[0]))
    ]
    return cases, skipped


def generated_cases() -> list[Case]:
    rng = random.Random(20240611)
    processes = [
        {
            "name": f"worker-{i:04d}",
            "group": rng.choice(["web", "celery", "cron"]),
            "description": f"pid {4000 + i}, uptime {rng.randint(0, 9)} days, 4:05:06",
            "start": 1718000000 + i,
            "stop": 0,
            "now": 1718269506,
            "state": 20,
            "statename": "RUNNING",
            "spawnerr": "",
            "exitstatus": 0,
            "logfile": f"/var/log/supervisor/worker-{i:04d}.log",
            "stdout_logfile": f"/var/log/supervisor/worker-{i:04d}.log",
            "stderr_logfile": "",
            "pid": 4000 + i,
            "load": round(rng.random() * 4, 3),
            "healthy": rng.random() > 0.1,
            "checked": dt.datetime(2024, 6, 13, 9, rng.randint(0, 59), rng.randint(0, 59)),
        }
        for i in range(1000)
    ]
    structs = xmlrpc.client.dumps((processes,), methodresponse=True).encode()
    blob = xmlrpc.client.dumps(
        (xmlrpc.client.Binary(rng.randbytes(1 << 20)),), "upload.put"
    ).encode()

    def tree(depth: int) -> object:
        if depth == 0:
            return {"leaf": True, "value": depth}
        return {"level": depth, "name": f"node-{depth}", "children": [tree(depth - 1), depth]}

    deep = xmlrpc.client.dumps(([tree(40) for _ in range(50)],), methodresponse=True).encode()
    small = [
        xmlrpc.client.dumps(call, method).encode()
        for call, method in (
            rng.choice(
                [
                    ((f"worker-{i}",), "supervisor.getProcessInfo"),
                    ((1, "editor", "secret", i), "wp.getPost"),
                    (
                        ("db", 2, "pw", "res.partner", "read", [[i]], {"fields": ["name"]}),
                        "execute_kw",
                    ),
                    ((i, {"__starstar": True, "strict": False}), "getBuild"),
                ]
            )
            for i in range(1000)
        )
    ]
    return [
        Case("array of 1,000 structs", [structs]),
        Case("1 MB base64", [blob]),
        Case("deep-ish nesting (50 x 40 levels)", [deep]),
        Case("1,000 small calls", small),
    ]


def best_of(run: Callable[[list[bytes]], None], bodies: list[bytes], loops: int) -> float:
    started = time.perf_counter()
    for _ in range(loops):
        run(bodies)
    return (time.perf_counter() - started) / loops


def measure(
    case: Case, rounds: int, target: float, run: Callable[[list[bytes]], None] = ours
) -> tuple[float, float]:
    # Enough loops that one timing lasts about `target` seconds.
    once = max(best_of(stdlib, case.bodies, 1), 1e-6)
    loops = max(1, int(target / once))
    mine = theirs = math.inf
    for _ in range(rounds):
        mine = min(mine, best_of(run, case.bodies, loops))
        theirs = min(theirs, best_of(stdlib, case.bodies, loops))
    return mine, theirs


def deviant_cases() -> list[Case]:
    """Bodies that break the spec the way real peers do, all of which the stdlib reads."""
    corpus = [p.read_bytes() for p in sorted(TOLERANT.glob("*.xml"))]
    readable = [b for b in corpus if stdlib_reads(b)]
    rng = random.Random(20261201)
    node_structs = (
        '<?xml version="1.0"?><methodResponse><params><param><value><array><data>'
        + "".join(
            "<value><struct>"
            f"<member><name>id</name><value><int>{i}</int></value></member>"
            f"<member><name>bytes</name><value><int>{rng.randint(2**32, 2**44)}</int></value>"
            "</member><member><name>parent</name><value><nil/></value></member>"
            f"<member><name>name</name><value><string>file-{i}</string></value></member>"
            "</struct></value>"
            for i in range(1000)
        )
        + "</data></array></value></param></params></methodResponse>"
    ).encode()
    lite_faults = [
        (
            '<?xml version="1.0" encoding="UTF-8"?><methodResponse><fault><value><struct>'
            "<member><name>faultCode</name><value><string>Client</string></value></member>"
            f"<member><name>faultString</name><value><string>no method {i}</string></value>"
            "</member></struct></value></fault></methodResponse>"
        ).encode()
        for i in range(200)
    ]
    return [
        Case(f"tolerant corpus ({len(readable)} files)", readable),
        Case("Node: 1,000 structs, big <int>s", [node_structs]),
        Case("XMLRPC::Lite: 200 string-code faults", lite_faults),
    ]


def run_table(
    title: str,
    cases: list[Case],
    rounds: int,
    target: float,
    run: Callable[[list[bytes]], None],
) -> float:
    print(title)
    header = f"{'case':<36} {'size':>9} {'ours ms':>9} {'stdlib ms':>10} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    ratios: list[float] = []
    total_mine = total_theirs = 0.0
    for case in cases:
        mine, theirs = measure(case, rounds, target, run)
        ratio = theirs / mine
        ratios.append(ratio)
        total_mine += mine
        total_theirs += theirs
        size = (
            f"{case.size / 1024:.1f} KB"
            if case.size < 1 << 20
            else f"{case.size / (1 << 20):.1f} MB"
        )
        print(f"{case.name:<36} {size:>9} {mine * 1e3:>9.3f} {theirs * 1e3:>10.3f} {ratio:>6.2f}x")
    print("-" * len(header))
    geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(
        f"overall: geometric mean {geomean:.2f}x, total time {total_theirs / total_mine:.2f}x "
        f"(ours {total_mine * 1e3:.1f} ms, stdlib {total_theirs * 1e3:.1f} ms)"
    )
    return geomean


def check_same_meaning(case: Case) -> None:
    """Both decoders must read the same values, or the comparison would be meaningless."""
    for body in case.bodies:
        message = decode_message(body)
        try:
            params, method = xmlrpc.client.loads(body)
        except xmlrpc.client.Fault as fault:
            assert isinstance(message, Fault) and message.code == fault.faultCode, case.name
            continue
        if isinstance(message, MethodCall):
            assert method == message.method, case.name
            mine = [_plain(p) for p in message.params]
        else:
            assert not isinstance(message, Fault), case.name
            mine = [_plain(message.value)]
        assert mine == _plain(params), case.name


def _plain(value: object) -> object:
    if isinstance(value, DateTime | xmlrpc.client.DateTime):
        return str(value)
    if isinstance(value, xmlrpc.client.Binary):
        return value.data
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    try:
        return to_python(value)  # type: ignore[arg-type]
    except TypeError:  # already plain: the stdlib's side
        return value


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument(
        "--strict-only", action="store_true", help="only the strict decoder (the first table)"
    )
    args = parser.parse_args()
    rounds, target = (3, 0.05) if args.quick else (7, 0.25)

    corpus, skipped = corpus_cases()
    cases = corpus + generated_cases()
    for case in cases:
        check_same_meaning(case)

    print(
        f"best of {rounds} alternating rounds (Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs); ratio = stdlib time / our time: above 1.00x we are faster"
    )
    print()
    run_table("strict: decode_message vs xmlrpc.client.loads", cases, rounds, target, ours)
    if not args.strict_only:
        print()
        run_table(
            "tolerant: read_message vs xmlrpc.client.loads, conformant bodies",
            cases,
            rounds,
            target,
            ours_tolerant,
        )
        print()
        run_table(
            "tolerant: read_message vs xmlrpc.client.loads, deviant bodies",
            deviant_cases(),
            rounds,
            target,
            ours_tolerant,
        )
    if skipped:
        print(
            f"left out: {len(skipped)} corpus files the stdlib cannot read ({', '.join(skipped)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
