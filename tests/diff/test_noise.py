"""Noise learning: what differs between known-good runs is reported apart from real changes."""

from __future__ import annotations

import json
import random

import pytest

from rpcspy.diff import (
    Difference,
    NoiseEntry,
    NoiseModel,
    Rules,
    classify,
    diff_responses,
    generalise,
    learn_noise,
)
from rpcspy.diff.engine import Response
from rpcspy.xmlrpc.messages import Fault, MethodResponse
from rpcspy.xmlrpc.values import Array, DateTime, Int, String, Struct, UntypedString

METHODS = ("listItems", "getUser", "flaky", "stable", "feed")


class FakeServer:
    """Answers like a real service would: stable data plus timestamps, nonces and session ids.

    ``candidate`` adds real changes on top: a renamed and a dropped item, a changed count and
    status, an extra role, another fault code and another answer.
    """

    def __init__(self, seed: int, *, candidate: bool = False) -> None:
        self.rng = random.Random(seed)
        self.candidate = candidate

    def stamp(self) -> DateTime:
        return DateTime(f"20240101T{self.rng.randrange(24):02d}:{self.rng.randrange(60):02d}:00")

    def call(self, method: str) -> Response:
        rng, cand = self.rng, self.candidate
        if method == "listItems":
            items = [
                Struct(
                    id=Int(i),
                    name=String("renamed" if cand and i == 3 else f"item{i}"),
                    nonce=Int(rng.randrange(10**9)),
                )
                for i in range(10)
                if not (cand and i == 7)
            ]
            return MethodResponse(
                Struct(
                    generated=self.stamp(),
                    items=Array(items),
                    count=Int(len(items)),
                    pair=Array([String("degraded" if cand else "ok"), self.stamp()]),
                )
            )
        if method == "getUser":
            roles = ["a", "b", "c"] if cand else ["a", "b"]
            return MethodResponse(
                Struct(
                    name=String("bob"),
                    session=String(f"{rng.randrange(16**8):08x}"),
                    roles=Array([String(r) for r in roles]),
                )
            )
        if method == "flaky":
            return Fault.make(500 if cand else 503, f"busy (request {rng.randrange(10**6)})")
        if method == "stable":
            return MethodResponse(Int(43 if cand else 42))
        if method == "feed":
            # A list of random length: items come and go between known-good runs.
            return MethodResponse(Array([String(f"post{i}") for i in range(rng.randrange(3, 9))]))
        raise AssertionError(method)


def known_good_pairs(runs: int) -> list[tuple[str, Response, Response]]:
    first, second = FakeServer(1), FakeServer(2)
    return [(m, first.call(m), second.call(m)) for _ in range(runs) for m in METHODS]


def test_noise_learning_end_to_end() -> None:
    noise = learn_noise(known_good_pairs(5))
    assert noise.samples("listItems") == 5
    assert {(e.path, e.kind) for e in noise.entries("listItems")} == {
        ("result.generated", "changed"),
        ("result.items[*].nonce", "changed"),
        ("result.pair[1]", "changed"),  # a [status, time] tuple keeps its positions
    }
    assert {(e.path, e.kind) for e in noise.entries("getUser")} == {("result.session", "changed")}
    assert {(e.path, e.kind) for e in noise.entries("flaky")} == {
        ("fault.faultString", "fault_string")
    }
    assert noise.entries("stable") == frozenset()
    assert {e.kind for e in noise.entries("feed")} <= {"added", "removed"}

    # Seeds picked so that the candidate's feed is shorter than the known-good one's.
    good, candidate = FakeServer(3), FakeServer(5, candidate=True)
    real: list[Difference] = []
    noisy: list[Difference] = []
    for method in METHODS:
        expected, got = good.call(method), candidate.call(method)
        r, n = classify(diff_responses(expected, got, method=method), noise)
        real += r
        noisy += n
        if method == "listItems":
            assert isinstance(expected, MethodResponse) and isinstance(expected.value, Struct)
            items = expected.value["items"]
            assert isinstance(items, Array) and isinstance(items[7], Struct)
            nonce = items[7]["nonce"]
            assert isinstance(nonce, Int)
            dropped = int(nonce)
    assert [d.describe() for d in real] == [
        'result.items[3].name: string "item3" -> string "renamed"',
        f'result.items[7]: removed struct {{id: 7, name: "item7", nonce: {dropped}}}',
        "result.count: int 10 -> int 9",
        'result.pair[0]: string "ok" -> string "degraded"',
        'result.roles[2]: added string "c"',
        "fault.faultCode: int 503 -> int 500",
        "result: int 42 -> int 43",
    ]
    noisy_paths = {d.path for d in noisy}
    assert {"result.generated", "result.pair[1]", "result.session", "fault.faultString"} <= (
        noisy_paths
    )
    # Every item kept in both has a new nonce: nine of them, each one noise.
    assert sum(1 for p in noisy_paths if p.endswith(".nonce")) == 9
    feed = [d for d in noisy if d.method == "feed"]
    assert [d.kind for d in feed] == ["removed"] * 4


def test_generalise_keeps_positions_in_tuples_and_generalises_lists() -> None:
    first = MethodResponse(
        Struct(
            rows=Array([Struct(a=Int(1)), Struct(a=Int(2))]),
            mixed=Array([Struct(a=Int(1)), Struct(b=Int(2))]),
            pair=Array([String("ok"), Int(5)]),
            grid=Array([Array([Int(1), Int(2)]), Array([Int(3)])]),
        )
    )

    def g(path: str, kind: str = "changed", new: object = None) -> str:
        return generalise(Difference(path, kind, None, new), first)  # type: ignore[arg-type]

    assert g("result.rows[1].a") == "result.rows[*].a"
    assert g("result.mixed[1].b") == "result.mixed[1].b"
    assert g("result.pair[1]") == "result.pair[1]"
    assert g("result.grid[0][1]") == "result.grid[*][*]"
    # An added item generalises only when it is like the items already there.
    assert g("result.rows[2]", "added", Struct(a=Int(3))) == "result.rows[*]"
    assert g("result.rows[2]", "added", Struct(z=Int(3))) == "result.rows[2]"
    # Paths that leave the value keep what they say.
    assert g("result.nothing[0]") == "result.nothing[0]"
    assert g("") == ""
    assert g('result["a.b"][0]') == 'result["a.b"][0]'


def noise_of(*entries: tuple[str, str]) -> NoiseModel:
    return NoiseModel({"m": [NoiseEntry(p, k) for p, k in entries]})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("entry", "diff", "covered"),
    [
        (("result.t", "changed"), ("result.t", "changed"), True),
        (("result.t", "changed"), ("result.t", "untyped"), True),
        (("result.t", "changed"), ("result.t", "type"), False),
        (("result.t", "type"), ("result.t", "changed"), True),
        (("result.t", "added"), ("result.t", "removed"), True),
        (("result.t", "changed"), ("result.u", "changed"), False),
        (("result[*].t", "changed"), ("result[12].t", "changed"), True),
        (("result[1].t", "changed"), ("result[2].t", "changed"), False),
        # An unstable node makes its whole subtree noise...
        (("result.x", "added"), ("result.x.y", "changed"), True),
        (("result.x", "type"), ("result.x[0]", "removed"), True),
        # ...but a fault or a missing response says nothing about the values.
        (("", "fault"), ("result.x", "changed"), False),
        (("", "fault"), ("", "fault"), True),
        (("fault.faultString", "fault_string"), ("fault.faultCode", "fault_code"), False),
        (("fault.faultString", "fault_string"), ("fault.faultString", "fault_string"), True),
    ],
)
def test_what_a_noise_entry_covers(
    entry: tuple[str, str], diff: tuple[str, str], covered: bool
) -> None:
    d = Difference(diff[0], diff[1], None, None, "m")  # type: ignore[arg-type]
    assert noise_of(entry).covers(d) is covered
    other_method = Difference(diff[0], diff[1], None, None, "n")  # type: ignore[arg-type]
    assert not noise_of(entry).covers(other_method)


def test_classify_keeps_order() -> None:
    diffs = [Difference(p, "changed", None, None, "m") for p in ("a", "result.t", "b", "result.t")]
    real, noisy = classify(diffs, noise_of(("result.t", "changed")))
    assert [d.path for d in real] == ["a", "b"]
    assert [d.path for d in noisy] == ["result.t", "result.t"]
    assert classify(diffs, NoiseModel()) == (diffs, [])


def test_learning_honours_rules() -> None:
    pairs = [
        (
            "m",
            MethodResponse(Struct(t=Int(1), u=String("x"))),
            MethodResponse(Struct(t=Int(2), u=UntypedString("x"))),
        )
    ]
    assert {e.path for e in learn_noise(pairs).entries("m")} == {"result.t", "result.u"}
    rules = Rules.from_flags(["*: result.t"])
    assert {e.path for e in learn_noise(pairs, rules=rules).entries("m")} == {"result.u"}


def test_model_round_trips_through_json_and_merges() -> None:
    model = learn_noise(known_good_pairs(2))
    data = json.loads(json.dumps(model.to_dict()))
    assert NoiseModel.from_dict(data) == model
    assert data["methods"]["stable"] == {"samples": 2, "noise": []}
    other = NoiseModel({"x": [NoiseEntry("result", "changed")]}, {"x": 1})
    merged = model.merged(other)
    assert merged.samples("x") == 1 and merged.samples("listItems") == 2
    assert len(merged) == len(model) + 1
    assert "x" in merged.methods and "x" not in model.methods


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], 'expected {"methods"'),
        ({"methods": {"m": []}}, "methods['m']: expected a method name and an object"),
        ({"methods": {"m": {"samples": -1}}}, "methods['m'].samples"),
        ({"methods": {"m": {"noise": {}}}}, "methods['m'].noise: expected a list"),
        ({"methods": {"m": {"noise": [{"path": "x", "kind": "nope"}]}}}, "noise[0]"),
        ({"methods": {"m": {"noise": [{"path": "a..b", "kind": "changed"}]}}}, "noise[0].path"),
    ],
)
def test_model_from_bad_dicts(data: object, message: str) -> None:
    with pytest.raises(ValueError) as err:
        NoiseModel.from_dict(data)
    assert message in str(err.value)
