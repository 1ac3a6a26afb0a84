"""Capture diff on files: verdicts for known edits, in one process and in two."""

from __future__ import annotations

import xmlrpc.client
from collections import Counter
from dataclasses import replace
from pathlib import Path

from rpcspy.capture import CallRecord, HttpMessage, build_record
from rpcspy.diff import Rules, parse_rule
from rpcspy.replay.capdiff import diff_capture_files
from tests.replay.support import write_capture


def _record(seq: int, method: str, params: tuple[object, ...], result: object) -> CallRecord:
    return build_record(
        HttpMessage((), xmlrpc.client.dumps(params, method).encode()),
        HttpMessage((), xmlrpc.client.dumps((result,), methodresponse=True).encode()),
        started=1.0 + seq,
        ended=1.5 + seq,
        client=None,
        server=None,
        scheme="http",
        host="h",
        port=80,
        path="/RPC2",
        status=200,
        seq=seq,
    )


def _captures(tmp_path: Path) -> tuple[Path, Path]:
    a = [
        _record(i + 1, m, p, r)
        for i, (m, p, r) in enumerate(
            (
                ("ping", (), "pong")
                if n % 3 == 0
                else ("add", (n, 1), n + 1)
                if n % 3 == 1
                else ("user.get", ({"id": n},), {"id": n, "when": f"t{n}"})
            )
            for n in range(60)
        )
    ]
    b = list(a)
    b[31] = _record(0, "add", (31, 1), 99)  # add(31, 1) answers 99: changed
    b[50] = _record(0, "user.get", ({"id": 50},), {"id": 50, "when": "later"})
    b[40], b[41] = b[41], b[40]  # two neighbours swap: one reordered
    b.insert(20, _record(0, "extra.call", (), 1))  # extra
    del b[10]  # add(10, 1): missing
    b = [replace(r, seq=k + 1) for k, r in enumerate(b)]
    return write_capture(tmp_path / "a.jsonl", a), write_capture(tmp_path / "b.jsonl", b)


def test_known_edits_give_known_verdicts_in_one_and_two_processes(tmp_path: Path) -> None:
    a, b = _captures(tmp_path)
    here, problems = diff_capture_files(a, b, parallel=False)
    assert problems == []
    counts = Counter(r.verdict for r in here)
    assert counts == Counter(same=56, missing=1, extra=1, changed=2, reordered=1)
    changed = {
        r.method: [d.describe() for d in r.differences] for r in here if r.verdict == "changed"
    }
    assert changed == {
        "add": ["result: int 32 -> int 99"],
        "user.get": ['result.when: string "t50" -> string "later"'],
    }
    two, _ = diff_capture_files(a, b, parallel=True)
    assert [(r.verdict, r.seq, r.new_seq) for r in two] == [
        (r.verdict, r.seq, r.new_seq) for r in here
    ]


def test_rules_and_filter_apply(tmp_path: Path) -> None:
    a, b = _captures(tmp_path)
    rules = Rules((parse_rule("user.get: result.when"),))
    results, _ = diff_capture_files(a, b, rules=rules, only="method:user.get", parallel=False)
    assert {r.method for r in results} == {"user.get"}
    assert all(r.verdict == "same" for r in results)
    assert len(results) == 20
