"""Diff engine throughput: diffs per second on typical responses.

Baseline, measured in the same run: the value model's typed ``==`` between the old value and an
equal copy of it, i.e. one full walk of the same tree that reports nothing. (``==`` between the
two sides of a pair would stop at the first difference, so it is no yardstick.) The ratio says
how many such walks one diff costs.

    .venv/bin/python bench/diff_engine.py [--quick]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from rpcspy.diff import Rules, diff_values
from rpcspy.xmlrpc.values import (
    Array,
    Base64,
    Boolean,
    DateTime,
    Double,
    Int,
    Nil,
    String,
    Struct,
    Value,
)


def member_struct(seed: int) -> Struct:
    """A struct of 20 members of mixed types, like a typical record in a response."""
    s = Struct()
    for k in range(20):
        kind = k % 7
        name = f"field{k:02d}"
        if kind == 0:
            s[name] = Int(seed + k)
        elif kind == 1:
            s[name] = String(f"value {seed}-{k}")
        elif kind == 2:
            s[name] = Double(seed / 7 + k)
        elif kind == 3:
            s[name] = Boolean(k % 2)
        elif kind == 4:
            s[name] = DateTime(f"2024010{k % 9 + 1}T12:00:{k:02d}")
        elif kind == 5:
            s[name] = Array([Int(seed), Int(k), String("tag")])
        else:
            s[name] = Nil() if k % 2 else Base64(b"\x00\x01" * 8)
    return s


def record(i: int, stamp: int = 0) -> Struct:
    """A small struct as found in a list result: id, name, score, tags, timestamp."""
    return Struct(
        id=Int(i),
        name=String(f"item {i}"),
        score=Double(i * 0.25),
        tags=Array([String("a"), String("b")]),
        ts=DateTime(f"20240101T00:{stamp // 60 % 60:02d}:{stamp % 60:02d}"),
    )


Case = tuple[str, Value, Value, Rules | None]


def cases() -> list[Case]:
    """The pairs measured: each new value built separately, so identity never short-cuts."""
    one_change = member_struct(1)
    one_change["field01"] = String("changed")
    listing = Array([record(i) for i in range(1000)])
    changed = Array([record(i) for i in range(1000)])
    changed[500]["name"] = String("renamed")
    inserted = Array([record(i) for i in range(1000)])
    inserted.insert(500, record(5000))
    stamped = Array([record(i, stamp=i + 1) for i in range(1000)])
    stamped.insert(500, record(5000))
    ignore_ts = Rules.from_flags(["*: result[*].ts"])
    return [
        ("struct(20), equal", member_struct(1), member_struct(1), None),
        ("struct(20), one change", member_struct(1), one_change, None),
        ("array(1000 structs), equal", listing, Array([record(i) for i in range(1000)]), None),
        ("array(1000 structs), one change", listing, changed, None),
        ("array(1000 structs), one inserted", listing, inserted, None),
        ("array(1000), all ts differ (ignored), one inserted", listing, stamped, ignore_ts),
    ]


def clone(value: Value) -> Value:
    """An equal copy sharing no objects, so ``==`` compares every node (no identity short cut)."""
    if isinstance(value, Struct):
        return Struct({k: clone(v) for k, v in value.items()})
    if isinstance(value, Array):
        return Array([clone(v) for v in value])
    if isinstance(value, Nil):
        return value  # a singleton by design
    return type(value)(value)  # type: ignore[call-arg]


def rate(fn: Callable[[], object], budget: float) -> float:
    """Calls per second of ``fn`` over about ``budget`` seconds (at least 3 calls)."""
    fn()  # warm caches (compiled rules) so the first call does not skew short runs
    calls = 0
    start = time.perf_counter()
    elapsed = 0.0
    while calls < 3 or elapsed < budget:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
    return calls / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (about 0.1 s a case)")
    args = parser.parse_args()
    budget = 0.1 if args.quick else 1.0
    print("diff engine: diffs per second; baseline = typed == of the old value with an equal copy")
    print(f"{'case':52} {'diffs/s':>9} {'==/s':>9} {'walks/diff':>10} {'found':>5}")
    for name, old, new, rules in cases():
        found = len(diff_values(old, new, rules=rules))
        twin = clone(old)
        assert twin == old
        diff_rate = rate(lambda o=old, n=new, r=rules: diff_values(o, n, rules=r), budget)
        eq_rate = rate(lambda o=old, t=twin: o == t, budget)
        print(f"{name:52} {diff_rate:9.0f} {eq_rate:9.0f} {eq_rate / diff_rate:10.1f} {found:5}")


if __name__ == "__main__":
    main()
