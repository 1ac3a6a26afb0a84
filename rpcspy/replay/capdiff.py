"""``rpcspy diff``: compare two captures call by call.

Two passes over each capture, in constant memory per call:

1. ``scan`` reduces every record to a ``Print``: its position, method and two 64-bit
   fingerprints (params and answer, with what ignore rules drop left out);
2. ``align_prints`` (pure) aligns the calls by their fingerprints (a sequence alignment, so a
   missing or extra call shifts nothing), pairs per method what differs between two matches
   (same params, else a call whose params changed), finds calls that moved, and flags pairs
   out of the overall order;
3. only pairs whose fingerprints differ are read again in full and compared by the diff engine,
   which has the last word (a fingerprint difference the rules explain is ``same``).
"""

from __future__ import annotations

import multiprocessing
import os
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rpcspy.capture import CallRecord
from rpcspy.diff import DEFAULT_RULES, Difference, Rules, diff_calls, diff_responses
from rpcspy.diff.fingerprint import fingerprint, params_fingerprint, response_fingerprint
from rpcspy.diff.matcher import compile_rules
from rpcspy.diff.native import native_call_fingerprint
from rpcspy.diff.sequence_align import align, longest_increasing_subsequence
from rpcspy.replay.engine import RecordFilter, describe_failure, typed_answer, typed_call
from rpcspy.replay.report import CallResult, Verdict
from rpcspy.xmlrpc.messages import Fault
from rpcspy.xmlrpc.render import format_call

__all__ = [
    "Match",
    "Print",
    "align_prints",
    "compare_records",
    "diff_capture_files",
    "diff_captures",
    "print_record",
    "scan",
]


@dataclass(frozen=True, slots=True)
class Print:
    """A call reduced to what alignment needs: ~100 bytes however large the call."""

    #: Position among the selected records of its capture (0-based).
    pos: int
    seq: int
    #: ``""`` when the request did not decode.
    method: str
    #: Fingerprint of method and params (rules applied).
    key: int
    #: Fingerprint of the answer (rules applied); all failed exchanges share one.
    answer: int


MatchKind = Literal["pair", "missing", "extra"]


@dataclass(frozen=True, slots=True)
class Match:
    """One step of an alignment: a pair of calls, or a call only in A or only in B.

    ``moved`` marks a pair out of the overall order of the captures.
    """

    kind: MatchKind
    a: Print | None
    b: Print | None
    moved: bool = False

    @property
    def settled(self) -> bool:
        """True when the fingerprints prove the pair equal: no need to read the records again."""
        return (
            self.kind == "pair"
            and self.a is not None
            and self.b is not None
            and self.a.key == self.b.key
            and self.a.answer == self.b.answer
        )


def print_record(record: CallRecord, pos: int, rules: Rules = DEFAULT_RULES) -> Print:
    """The ``Print`` of one record."""
    if record.native:
        return _native_print(record, pos, rules)
    call = record.call
    if call is None:
        # An undecodable request still aligns with its twin: by its raw bytes.
        key = fingerprint("raw:" + (record.request.body or b"").hex())
        return Print(pos, record.seq, "", key, response_fingerprint(record.reply))
    compiled = compile_rules(rules, call.method)
    if compiled.skip_method:
        return Print(pos, record.seq, call.method, fingerprint(call.method), 0)
    return Print(
        pos,
        record.seq,
        call.method,
        params_fingerprint(call, compiled),
        response_fingerprint(record.reply, compiled),
    )


def _native_print(record: CallRecord, pos: int, rules: Rules) -> Print:
    """The ``Print`` of a call of another protocol: keyed by protocol, procedure numbers and
    typed arguments (``native_call_fingerprint``), never by its bytes (an ONC RPC call's xid
    and credentials change from one run to the next)."""
    method = record.method or ""
    compiled = compile_rules(rules, method)
    if compiled.skip_method:
        return Print(pos, record.seq, method, fingerprint(method), 0)
    key = native_call_fingerprint(record.protocol, record.request.native, compiled)
    if key is None:
        key = fingerprint("raw:" + (record.request.body or b"").hex())
    return Print(pos, record.seq, method, key, response_fingerprint(typed_answer(record), compiled))


def _selected(records: Iterable[CallRecord], only: RecordFilter | None) -> Iterator[CallRecord]:
    for record in records:
        if only is None or only.matches(record):
            yield record


def scan(
    records: Iterable[CallRecord],
    rules: Rules = DEFAULT_RULES,
    only: RecordFilter | None = None,
    on_record: Callable[[], None] | None = None,
    *,
    keep_unless: set[tuple[int, int]] | None = None,
    kept: dict[int, CallRecord] | None = None,
    keep_max: int = 0,
) -> list[Print]:
    """The prints of the selected records, in order.

    With ``keep_unless`` (the ``(key, answer)`` pairs of the other capture) and ``kept``, the
    records whose call and answer the other capture does not have (the ones a diff will read in
    full) are kept, up to ``keep_max``, sparing a second reading of this capture.
    """
    out: list[Print] = []
    for pos, record in enumerate(_selected(records, only)):
        p = print_record(record, pos, rules)
        out.append(p)
        if (
            kept is not None
            and keep_unless is not None
            and (p.key, p.answer) not in keep_unless
            and len(kept) < keep_max
        ):
            kept[pos] = record
        if on_record is not None:
            on_record()
    return out


def _pair_gap(
    gap_a: list[int],
    gap_b: list[int],
    a: list[Print],
    b: list[Print],
    out: list[Match],
    left_a: list[int],
    left_b: list[int],
) -> None:
    """Pair what one stretch between matches holds on both sides, method by method: the same
    params first (the calls swapped places inside the stretch), then by position (a call whose
    params changed). What stays unpaired is left for the search for calls that moved."""
    if not gap_a or not gap_b:
        left_a.extend(gap_a)
        left_b.extend(gap_b)
        return
    per_method_b: dict[str, list[int]] = {}
    for j in gap_b:
        per_method_b.setdefault(b[j].method, []).append(j)
    per_method_a: dict[str, list[int]] = {}
    for i in gap_a:
        per_method_a.setdefault(a[i].method, []).append(i)
    for method, items_a in per_method_a.items():
        items_b = per_method_b.get(method, [])
        keyed: dict[int, deque[int]] = {}
        for j in items_b:
            keyed.setdefault(b[j].key, deque()).append(j)
        used_b: set[int] = set()
        rest_a: list[int] = []
        for i in items_a:
            waiting = keyed.get(a[i].key)
            if waiting:
                j = waiting.popleft()
                used_b.add(j)
                out.append(Match("pair", a[i], b[j]))
            else:
                rest_a.append(i)
        rest_b = [j for j in items_b if j not in used_b]
        for i, j in zip(rest_a, rest_b, strict=False):
            out.append(Match("pair", a[i], b[j]))
        left_a.extend(rest_a[len(rest_b) :])
        per_method_b[method] = rest_b[len(rest_a) :]
    for items in per_method_b.values():
        left_b.extend(items)


def align_prints(a: list[Print], b: list[Print]) -> list[Match]:
    """Align two captures' prints (pure); matches come in A's order, extras after their
    predecessor in B.

    The whole capture is aligned first (keys hold the method), so that identical calls pair in
    place and one missing call shifts nothing; what differs between two matches is paired per
    method (same params, else by position: changed params); calls left over on both sides with the
    same method and params moved. Finally, pairs off one longest run in order in both captures are
    marked ``moved``.
    """
    pairs = align([p.key for p in a], [p.key for p in b])
    matches: list[Match] = []
    gap_a: list[int] = []
    gap_b: list[int] = []
    left_a: list[int] = []
    left_b: list[int] = []
    # Where in A each call of B would be, judging by the last match before it.
    expected: dict[int, float] = {}
    last_a = -1
    for i, j in pairs:
        if i is not None and j is not None:
            _pair_gap(gap_a, gap_b, a, b, matches, left_a, left_b)
            gap_a, gap_b = [], []
            matches.append(Match("pair", a[i], b[j]))
            last_a = i
        elif i is not None:
            gap_a.append(i)
        elif j is not None:
            gap_b.append(j)
            expected[j] = last_a + 0.5
    _pair_gap(gap_a, gap_b, a, b, matches, left_a, left_b)
    # Left over on both sides with the same method and params: the call moved. Among identical
    # calls, each pairs with the nearest one to where it would be.
    waiting: dict[int, list[int]] = {}
    for i in sorted(left_a):
        waiting.setdefault(a[i].key, []).append(i)
    for j in sorted(left_b, key=lambda j: expected[j]):
        candidates = waiting.get(b[j].key)
        if not candidates:
            matches.append(Match("extra", None, b[j]))
            continue
        where = expected[j]
        k = bisect_left(candidates, where)
        if k == len(candidates) or (k > 0 and where - candidates[k - 1] <= candidates[k] - where):
            k -= 1
        matches.append(Match("pair", a[candidates.pop(k)], b[j], moved=True))
    for left in waiting.values():
        matches.extend(Match("missing", a[i], None) for i in left)
    # Pairs out of the overall order: those off one longest run increasing in both captures.
    paired = sorted(
        (m for m in matches if m.kind == "pair" and not m.moved),
        key=lambda m: m.a.pos if m.a is not None else 0,
    )
    keep = set(longest_increasing_subsequence([m.b.pos for m in paired if m.b is not None]))
    in_order = {id(m) for k, m in enumerate(paired) if k in keep}
    final: list[Match] = []
    for m in matches:
        if m.kind == "pair" and not m.moved and id(m) not in in_order:
            m = Match("pair", m.a, m.b, moved=True)
        final.append(m)
    # Report order: A's order; an extra call goes right after the B-predecessor's partner.
    b_to_a: dict[int, float] = {}
    for m in final:
        if m.a is not None and m.b is not None:
            b_to_a[m.b.pos] = m.a.pos
    ordered_b = sorted(m.b.pos for m in final if m.b is not None)
    anchor: dict[int, float] = {}
    last = -1.0
    for pos in ordered_b:
        if pos in b_to_a:
            last = b_to_a[pos]
        anchor[pos] = last

    def sort_key(m: Match) -> tuple[float, int, int]:
        if m.a is not None:
            return (m.a.pos, 0, 0)
        assert m.b is not None
        return (anchor[m.b.pos] + 0.5, 1, m.b.pos)

    final.sort(key=sort_key)
    return final


def compare_records(
    a: CallRecord, b: CallRecord, rules: Rules = DEFAULT_RULES
) -> tuple[Verdict, list[Difference], int, str | None]:
    """Compare two recorded exchanges of one call: verdict, differences, ignored count (always
    0: pairs equal outside ignored paths are settled by their prints, unseen), message.

    The calls are compared first (method and params), then the answers. An exchange without an
    answer in B where A had one is an ``error``.
    """
    found: list[Difference] = []
    message: str | None = None
    call_a, call_b = typed_call(a), typed_call(b)
    if call_a is not None and call_b is not None:
        found.extend(diff_calls(call_a, call_b, rules=rules))
    elif a.request.body != b.request.body:
        message = "the requests differ and do not both decode"
    method = a.method or b.method or ""
    failure_b = describe_failure(b)
    if failure_b is not None and describe_failure(a) is None:
        return "error", found, 0, f"no answer in B: {failure_b}"
    answer_b = typed_answer(b)
    found.extend(diff_responses(typed_answer(a), answer_b, method=method, rules=rules))
    if not found and message is None:
        return "same", [], 0, None
    verdict: Verdict = "changed"
    if any(d.kind == "fault" for d in found):
        verdict = "new-fault" if isinstance(answer_b, Fault) else "fixed-fault"
    return verdict, found, 0, message


def _describe_call(record: CallRecord) -> str:
    call = typed_call(record)
    if call is None:
        return "(undecodable request)"
    return format_call(call, limit=100)


def diff_captures(
    open_a: Callable[[], Iterable[CallRecord]],
    open_b: Callable[[], Iterable[CallRecord]],
    *,
    rules: Rules = DEFAULT_RULES,
    only: RecordFilter | None = None,
    ignore_order: bool = False,
    on_record: Callable[[], None] | None = None,
    keep_max: int = 20_000,
) -> Iterator[CallResult]:
    """Compare two captures; yields one result per aligned call, in A's order.

    ``open_a``/``open_b`` return a fresh iteration of each capture's records. A is read for
    prints, B for prints while keeping the records A has no equal of (up to ``keep_max``), then
    A again, up to its last record that needs a full comparison; B again only when it had more
    records to keep than that.
    """
    prints_a = scan(open_a(), rules, only, on_record)
    seen_a = {(p.key, p.answer) for p in prints_a}
    full_b: dict[int, CallRecord] = {}
    prints_b = scan(
        open_b(), rules, only, on_record, keep_unless=seen_a, kept=full_b, keep_max=keep_max
    )
    del seen_a
    matches = align_prints(prints_a, prints_b)
    wanted_a = {m.a.pos for m in matches if m.a is not None and not m.settled}
    wanted_b = {m.b.pos for m in matches if m.b is not None and not m.settled}
    full_a = _collect(open_a(), only, wanted_a)
    missing_b = wanted_b - full_b.keys()
    if missing_b:
        full_b.update(_collect(open_b(), only, missing_b))
    for m in matches:
        yield _result(m, full_a, full_b, rules, ignore_order)


def _collect(
    records: Iterable[CallRecord], only: RecordFilter | None, wanted: set[int]
) -> dict[int, CallRecord]:
    out: dict[int, CallRecord] = {}
    if not wanted:
        return out
    last = max(wanted)
    for pos, record in enumerate(_selected(records, only)):
        if pos in wanted:
            out[pos] = record
        if pos >= last:
            break
    return out


def _result(
    m: Match,
    full_a: dict[int, CallRecord],
    full_b: dict[int, CallRecord],
    rules: Rules,
    ignore_order: bool,
) -> CallResult:
    a, b = m.a, m.b
    if m.kind == "missing" and a is not None:
        rec = full_a.get(a.pos)
        text = _describe_call(rec) if rec is not None else None
        return CallResult(
            "missing",
            a.method or None,
            seq=a.seq,
            id=rec.id if rec else None,
            message=text and f"only in A: {text}",
        )
    if m.kind == "extra" and b is not None:
        rec = full_b.get(b.pos)
        text = _describe_call(rec) if rec is not None else None
        return CallResult(
            "extra",
            b.method or None,
            new_seq=b.seq,
            new_id=rec.id if rec else None,
            message=text and f"only in B: {text}",
        )
    assert a is not None and b is not None
    verdict: Verdict = "same"
    differences: list[Difference] = []
    ignored = 0
    message: str | None = None
    ra = full_a.get(a.pos)
    rb = full_b.get(b.pos)
    if ra is not None and rb is not None:
        verdict, differences, ignored, message = compare_records(ra, rb, rules)
    id_a = ra.id if ra is not None else None
    id_b = rb.id if rb is not None else None
    if m.moved:
        moved = f"moved (at B#{b.seq})"
        message = f"{moved}; {message}" if message else moved
        if verdict == "same":
            # Out of order but otherwise equal: a difference unless the order does not matter.
            return CallResult(
                "reordered",
                a.method or None,
                seq=a.seq,
                id=id_a,
                new_seq=b.seq,
                new_id=id_b,
                ignored=ignored,
                message=message,
                counts=not ignore_order,
            )
    return CallResult(
        verdict,
        a.method or None,
        seq=a.seq,
        id=id_a,
        new_seq=b.seq,
        new_id=id_b,
        differences=tuple(differences),
        ignored=ignored,
        message=message,
    )


# ---------------------------------------------------------------- two files, two processes

#: Captures larger than this together (bytes on disk) are read by two worker processes at once.
PARALLEL_MIN_BYTES = 16 * 1024 * 1024
_PROGRESS_EVERY = 1000
_counter: Any = None


def _init_worker(counter: Any) -> None:
    global _counter
    _counter = counter


def _tick(n: int) -> None:
    if _counter is not None:
        with _counter.get_lock():
            _counter.value += n


def _open_filter(only: str | None) -> RecordFilter | None:
    if not only:
        return None
    from rpcspy.filter import parse_filter

    return parse_filter(only)


def _scan_file(
    path: str, rules: Rules, only: str | None
) -> tuple[list[tuple[int, str, int, int]], list[str]]:
    """Worker: the prints of one capture file (as tuples) and its skipped-line problems."""
    from rpcspy.capture import read_capture

    out: list[tuple[int, str, int, int]] = []
    with read_capture(path) as reader:
        for pos, record in enumerate(_selected(reader, _open_filter(only))):
            p = print_record(record, pos, rules)
            out.append((p.seq, p.method, p.key, p.answer))
            if pos % _PROGRESS_EVERY == _PROGRESS_EVERY - 1:
                _tick(_PROGRESS_EVERY)
        _tick(len(out) % _PROGRESS_EVERY)
        problems = [f"{path}: {p.message} (skipped)" for p in reader.problems]
    return out, problems


def _collect_file(path: str, only: str | None, wanted: set[int]) -> dict[int, CallRecord]:
    """Worker: the records of one capture at the ``wanted`` positions."""
    from rpcspy.capture import read_capture

    with read_capture(path) as reader:
        return _collect(reader, _open_filter(only), wanted)


def diff_capture_files(
    path_a: Path,
    path_b: Path,
    *,
    rules: Rules = DEFAULT_RULES,
    only: str | None = None,
    ignore_order: bool = False,
    parallel: bool | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[list[CallResult], list[str]]:
    """Compare two capture files: the results in A's order and the skipped-line warnings.

    With ``parallel`` (by default when the files are large and there are several CPUs) two
    worker processes read A and B at the same time, for the prints and again for the records
    that need a full comparison, which about halves the time on two cores. ``only`` is filter
    text. ``on_progress`` gets the number of records read so far, now and then.
    """
    if parallel is None:
        size = path_a.stat().st_size + path_b.stat().st_size
        parallel = size >= PARALLEL_MIN_BYTES and (os.cpu_count() or 1) > 1
    if not parallel:
        return _diff_files_here(path_a, path_b, rules, only, ignore_order, on_progress)
    ctx = multiprocessing.get_context("spawn")
    counter = ctx.Value("q", 0)
    with ProcessPoolExecutor(
        max_workers=2, mp_context=ctx, initializer=_init_worker, initargs=(counter,)
    ) as pool:

        def wait(*futures: Future[Any]) -> None:
            while not all(f.done() for f in futures):
                futures_wait(futures, timeout=0.1)
                if on_progress is not None:
                    on_progress(int(counter.value))

        scan_a = pool.submit(_scan_file, str(path_a), rules, only)
        scan_b = pool.submit(_scan_file, str(path_b), rules, only)
        wait(scan_a, scan_b)
        rows_a, problems_a = scan_a.result()
        rows_b, problems_b = scan_b.result()
        prints_a = [Print(pos, *row) for pos, row in enumerate(rows_a)]
        prints_b = [Print(pos, *row) for pos, row in enumerate(rows_b)]
        del rows_a, rows_b
        matches = align_prints(prints_a, prints_b)
        wanted_a = {m.a.pos for m in matches if m.a is not None and not m.settled}
        wanted_b = {m.b.pos for m in matches if m.b is not None and not m.settled}
        get_a = pool.submit(_collect_file, str(path_a), only, wanted_a)
        get_b = pool.submit(_collect_file, str(path_b), only, wanted_b)
        wait(get_a, get_b)
        full_a, full_b = get_a.result(), get_b.result()
    results = [_result(m, full_a, full_b, rules, ignore_order) for m in matches]
    return results, problems_a + problems_b


def _diff_files_here(
    path_a: Path,
    path_b: Path,
    rules: Rules,
    only: str | None,
    ignore_order: bool,
    on_progress: Callable[[int], None] | None,
) -> tuple[list[CallResult], list[str]]:
    from rpcspy.capture import read_capture

    problems: list[str] = []
    readings: dict[Path, int] = {}
    count = [0]

    def opener(path: Path) -> Callable[[], Iterator[CallRecord]]:
        def records() -> Iterator[CallRecord]:
            readings[path] = readings.get(path, 0) + 1
            with read_capture(path) as reader:
                yield from reader
                if readings[path] == 1:
                    problems.extend(f"{path}: {p.message} (skipped)" for p in reader.problems)

        return records

    def tick() -> None:
        count[0] += 1
        if on_progress is not None and count[0] % _PROGRESS_EVERY == 0:
            on_progress(count[0])

    filter_ = _open_filter(only)
    results = list(
        diff_captures(
            opener(path_a),
            opener(path_b),
            rules=rules,
            only=filter_,
            ignore_order=ignore_order,
            on_record=tick,
        )
    )
    return results, problems
