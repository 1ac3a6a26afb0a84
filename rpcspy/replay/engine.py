"""The replay engine: compare a new answer with the recorded one, and drive a whole replay.

``compare`` is pure: two records in, an ``Outcome`` out (same / changed / new fault / fixed fault
/ error, with the differences that count and those explained by learned noise). Strategy: the
bytes settle it first (the same HTTP status and the same answer body, as on the wire or once
gzip/deflate is undone, are ``same`` whatever the decoder made of them: a peer's value the decoder
refuses, or an HTTP error page, is still the answer the server gave); only answers whose bytes
differ are decoded and compared value by value. ``Replayer`` is
the thin driver around it: it re-sends the selected calls in order, with a pool of threads
(``concurrency``) or at the recorded pace (``speed``), and yields outcomes in capture order.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Protocol

from rpcspy.capture import CallRecord
from rpcspy.capture._content import ContentEncodingError, decode_content
from rpcspy.diff import (
    DEFAULT_RULES,
    Difference,
    NoiseModel,
    Rules,
    classify,
    diff_responses,
    learn_noise,
)
from rpcspy.diff.native import native_call, native_response
from rpcspy.replay.report import CallResult, Verdict
from rpcspy.replay.send import DEFAULT_MAX_BODY, Auth, Sender, Target, TlsOptions
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse

__all__ = [
    "Outcome",
    "RecordFilter",
    "ReplayOptions",
    "Replayer",
    "compare",
    "describe_failure",
    "identical_answers",
    "is_skipped",
    "parse_speed",
    "protocol_words",
    "typed_answer",
    "typed_call",
]


class RecordFilter(Protocol):
    """What ``--only`` needs of a filter: ``rpcspy.filter.Filter`` fits."""

    def matches(self, record: CallRecord) -> bool:
        """Whether the record is selected."""
        ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a re-sent call's answer compares with the recorded one.

    ``differences`` count; ``noise`` are differences at places where known-good answers also
    differ (reported apart, never counted); ``ignored`` is how many differences ignore rules
    dropped. ``new`` is None when the call was not sent (``skipped``).
    """

    verdict: Verdict
    old: CallRecord
    new: CallRecord | None
    differences: tuple[Difference, ...] = ()
    noise: tuple[Difference, ...] = ()
    ignored: int = 0
    message: str | None = None

    @property
    def failing(self) -> bool:
        """Whether this outcome makes a replay fail."""
        return self.verdict not in ("same", "skipped")

    def to_result(self) -> CallResult:
        """The outcome as a report line (without the records)."""
        return CallResult(
            verdict=self.verdict,
            method=self.old.method,
            seq=self.old.seq,
            id=self.old.id,
            new_seq=self.new.seq if self.new is not None else None,
            new_id=self.new.id if self.new is not None else None,
            differences=self.differences,
            noise=self.noise,
            ignored=self.ignored,
            message=self.message,
            duration_ms=self.new.duration_ms if self.new is not None else None,
        )


_PROTOCOL_WORDS = {"xmlrpc": "an XML-RPC", "oncrpc": "an ONC RPC", "rpyc": "an RPyC"}


def protocol_words(protocol: str) -> str:
    """``an ONC RPC`` (for "... call"), by the record's ``protocol``."""
    return _PROTOCOL_WORDS.get(protocol, f"a {protocol}")


def typed_call(record: CallRecord) -> MethodCall | None:
    """The call as typed values, whatever the protocol: the XML-RPC call, or another
    protocol's (ONC RPC, RPyC) read off its JSON (``rpcspy.diff.native``)."""
    if not record.native:
        return record.call
    return native_call(record.protocol, record.request.native, record.method)


def typed_answer(record: CallRecord) -> MethodResponse | Fault | None:
    """The answer as a result or a fault, whatever the protocol (see ``typed_call``)."""
    if not record.native:
        return record.reply
    response = record.response
    return native_response(record.protocol, response.native if response is not None else None)


def _native_failure(record: CallRecord) -> str | None:
    response = record.response
    if response is None:
        return "no reply"
    if typed_answer(record) is None:
        problems = [p.message for p in record.problems if p.where == "response"]
        reason = f": {problems[0]}" if problems else ""
        return f"the reply did not decode{reason}"
    return None


def describe_failure(record: CallRecord) -> str | None:
    """Why a record has no answer (XML-RPC, or its protocol's), in one line; None when it has
    one."""
    if record.error:
        return record.error
    if record.native:
        return _native_failure(record)
    if record.reply is not None:
        return None
    status = f"HTTP {record.status}" if record.status is not None else "no HTTP status"
    response = record.response
    headers = response.headers if response is not None else ()
    ctype = next((v for k, v in headers if k.lower() == "content-type"), None)
    what = f" ({ctype})" if ctype else ""
    problems = [p.message for p in record.problems if p.where == "response"]
    if response is None or response.body is None:
        return f"{status}: no answer body"
    if not response.body:
        return f"{status}{what}: empty answer"
    reason = f": {problems[0]}" if problems else ""
    return f"{status}{what}, not an XML-RPC answer{reason}"


#: Largest answer, once gzip/deflate is undone, compared byte for byte (the codec's own bound).
_MAX_PLAIN = 64 * 1024 * 1024


def _plain_body(record: CallRecord) -> bytes | None:
    """The answer body with its content encodings undone; None when there is none or it fails."""
    response = record.response
    if response is None or response.body is None:
        return None
    try:
        return decode_content(response.body, response.content_encoding, _MAX_PLAIN)
    except ContentEncodingError:
        return None


def identical_answers(old: CallRecord, new: CallRecord) -> bool:
    """Whether two exchanges got the same answer bytes (pure).

    The rule: both have a response with the same HTTP status, and the bodies are equal as they
    crossed the wire, or, when they differ there (another content encoding, another gzip
    header), equal once their content encodings are undone. Headers are not compared. An
    exchange without a recorded answer body (no response, a body not recorded) has no bytes to
    compare and is never identical.
    """
    a, b = old.response, new.response
    if a is None or b is None or a.body is None or b.body is None:
        return False
    if old.status != new.status:
        return False
    if a.body == b.body:
        return True
    plain = _plain_body(old)
    return plain is not None and plain == _plain_body(new)


def _first_difference(a: bytes, b: bytes) -> int:
    """The offset of the first byte where ``a`` and ``b`` differ (the shorter one's length)."""
    n = min(len(a), len(b))
    lo, hi = 0, n
    # Halving on slices: a long common prefix is found at the speed of bytes comparison.
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _bytes_note(old: CallRecord, new: CallRecord) -> str | None:
    """Where the answer bytes differ from the recorded ones, for a failure message."""
    a, b = _plain_body(old), _plain_body(new)
    if a is None or b is None:
        return None
    if old.status != new.status:
        return f"the recorded answer was HTTP {old.status}"
    at = _first_difference(a, b)
    return f"the answer bytes differ from the recorded ones at byte {at}"


def _identical_note(old: CallRecord) -> str:
    """The message of a ``same`` settled by bytes: what the decoder could not read, if anything."""
    head = "answer bytes identical to the recorded ones"
    failure = describe_failure(old)
    if failure is None:
        return head
    return f"{head} ({failure})"


def compare(
    old: CallRecord,
    new: CallRecord,
    rules: Rules | None = None,
    noise: NoiseModel | None = None,
) -> Outcome:
    """Compare the answer ``new`` got with the one recorded in ``old`` (pure).

    ``too-large`` when the new answer was over the size limit (not read to its end, so not
    compared). ``same`` when the answer bytes are identical (``identical_answers``), whatever the
    decoder made of them: when the recorded answer did not decode (an HTTP error page, a value the
    decoder refuses), the message says so. Otherwise ``error`` when ``new`` has no XML-RPC
    answer (refused, timed out, closed, HTML, garbage), else the decoded differences under
    ``rules``, split by ``noise``: none that count is ``same``, a result turned fault
    ``new-fault``, a fault turned result ``fixed-fault``, else ``changed``.
    """
    too_large = next(
        (p for p in new.problems if p.where == "response" and p.kind == "too-large"), None
    )
    if too_large is not None:
        # The verdict says "too large" already: the message is the reason alone.
        reason = (new.error or "").removeprefix("too large: ") or too_large.message
        return Outcome("too-large", old, new, message=reason)
    if old.native or new.native:
        return _compare_typed(old, new, rules, noise)
    if identical_answers(old, new):
        bytes_only = describe_failure(old) is not None or describe_failure(new) is not None
        return Outcome("same", old, new, message=_identical_note(old) if bytes_only else None)
    failure = describe_failure(new)
    if failure is not None:
        recorded = describe_failure(old)
        if recorded is None:
            return Outcome("error", old, new, message=failure)
        # Neither side has an XML-RPC answer and the bytes do not settle it: say both.
        note = (
            _bytes_note(old, new) or f"the recorded call had no XML-RPC answer either ({recorded})"
        )
        return Outcome("error", old, new, message=f"{failure}; {note}")
    rules = rules if rules is not None else DEFAULT_RULES
    method = old.method or (new.method or "")
    found = diff_responses(old.reply, new.reply, method=method, rules=rules)
    ignored = 0
    if rules != DEFAULT_RULES:
        everything = diff_responses(old.reply, new.reply, method=method)
        ignored = max(len(everything) - len(found), 0)
    counted, noisy = classify(found, noise) if noise is not None else (found, [])
    message: str | None = None
    if old.reply is None:
        message = f"the recorded call had no answer ({describe_failure(old)})"
    if not counted:
        return Outcome("same", old, new, (), tuple(noisy), ignored, message)
    verdict: Verdict = "changed"
    if any(d.kind == "fault" for d in counted):
        verdict = "new-fault" if isinstance(new.reply, Fault) else "fixed-fault"
    return Outcome(verdict, old, new, tuple(counted), tuple(noisy), ignored, message)


def _compare_typed(
    old: CallRecord, new: CallRecord, rules: Rules | None, noise: NoiseModel | None
) -> Outcome:
    """``compare`` for another protocol than XML-RPC: its answers carry ids of their own (an
    ONC RPC reply its xid), so they are compared as typed values, never as bytes."""
    failure = describe_failure(new)
    if failure is not None:
        recorded = describe_failure(old)
        if recorded is not None:
            failure += f"; the recorded call had no answer either ({recorded})"
        return Outcome("error", old, new, message=failure)
    rules = rules if rules is not None else DEFAULT_RULES
    method = old.method or (new.method or "")
    before, after = typed_answer(old), typed_answer(new)
    found = diff_responses(before, after, method=method, rules=rules)
    ignored = 0
    if rules != DEFAULT_RULES:
        ignored = max(len(diff_responses(before, after, method=method)) - len(found), 0)
    counted, noisy = classify(found, noise) if noise is not None else (found, [])
    message = (
        None if before is not None else f"the recorded call had no answer ({describe_failure(old)})"
    )
    if not counted:
        return Outcome("same", old, new, (), tuple(noisy), ignored, message)
    verdict: Verdict = "changed"
    if any(d.kind == "fault" for d in counted):
        verdict = "new-fault" if isinstance(after, Fault) else "fixed-fault"
    return Outcome(verdict, old, new, tuple(counted), tuple(noisy), ignored, message)


def is_skipped(method: str | None, globs: Iterable[str]) -> str | None:
    """The first ``--skip`` glob that names ``method`` (``*`` spans dots), or None."""
    if method is None:
        return None
    for glob in globs:
        if fnmatchcase(method, glob):
            return glob
    return None


def parse_speed(text: str) -> float | None:
    """``1x`` (recorded pace), ``2x``, ``0.5x``, ``max`` (None: as fast as possible)."""
    t = text.strip().lower()
    if t in ("max", "0", "0x", "inf", "infx"):
        return None
    if t.endswith("x"):
        t = t[:-1]
    try:
        value = float(t)
    except ValueError:
        raise ValueError(
            f"bad speed {text!r}: use e.g. 1x (recorded pace), 2x, 0.5x or max"
        ) from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"bad speed {text!r}: must be more than 0")
    return value


@dataclass(frozen=True)
class ReplayOptions:
    """How a replay runs. ``target`` is required: a replay never picks a server by itself."""

    target: Target
    auth: Auth | None = None
    tls: TlsOptions = field(default_factory=TlsOptions)
    #: A deadline per call, in seconds: connect, send and the whole answer.
    timeout: float = 30.0
    #: The largest answer body read; a larger one makes the call ``too-large``.
    max_body: int = DEFAULT_MAX_BODY
    reencode: bool = False
    concurrency: int = 1
    #: Pace factor (1.0: as recorded, 2.0: twice as fast); None: as fast as possible.
    speed: float | None = None
    only: RecordFilter | None = None
    skip: tuple[str, ...] = ()
    rules: Rules = DEFAULT_RULES
    #: Where noise is learned (each call asked twice); None: no noise learning.
    noise_target: Target | None = None
    #: Least time between the two known-good answers to one call, in seconds.
    noise_gap: float = 1.1


def _ordered[T, R](items: Iterable[T], work: Callable[[T], R], concurrency: int) -> Iterator[R]:
    """``map(work, items)`` on a pool of threads, results in input order, bounded look-ahead."""
    if concurrency <= 1:
        for item in items:
            yield work(item)
        return
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="rpcspy-replay")
    window: deque[Future[R]] = deque()
    try:
        for item in items:
            window.append(pool.submit(work, item))
            if len(window) >= concurrency * 4:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class Replayer:
    """Re-sends recorded calls to ``options.target`` and compares the answers.

    ``selected`` applies ``--only``; ``learn`` asks the noise target each call twice;
    ``replay`` yields one ``Outcome`` per selected call, in capture order. The new exchanges
    keep the recorded calls' numbers (``seq``), so ``#12`` is the same call in both files.
    """

    def __init__(self, options: ReplayOptions) -> None:
        self.options = options
        self.sender = Sender(
            options.target,
            auth=options.auth,
            tls=options.tls,
            timeout=options.timeout,
            max_body=options.max_body,
        )
        self.noise = NoiseModel()
        #: Calls whose noise could not be learned (an answer was missing), as warnings.
        self.warnings: list[str] = []

    def close(self) -> None:
        """Close the connections."""
        self.sender.close()

    def __enter__(self) -> Replayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def selected(self, records: Iterable[CallRecord]) -> Iterator[CallRecord]:
        """The records ``--only`` selects (all of them without a filter)."""
        only = self.options.only
        for record in records:
            if only is None or only.matches(record):
                yield record

    def learn(
        self, records: Iterable[CallRecord], on_done: Callable[[], None] | None = None
    ) -> NoiseModel:
        """Ask the noise target each selected, unskipped call twice; learn where answers differ.

        Two passes: every call once, then every call again, each no sooner than
        ``options.noise_gap`` seconds after its first answer, so that values with one-second
        resolution (timestamps, the most common noise) have moved on. The pairs are kept in
        memory until the second pass is done. ``on_done`` is called after every send. Returns
        (and keeps, for ``replay``) the noise model.
        """
        target = self.options.noise_target or self.options.target
        sender = Sender(
            target,
            auth=self.options.auth,
            tls=self.options.tls,
            timeout=self.options.timeout,
            max_body=self.options.max_body,
        )
        reencode = self.options.reencode
        gap = self.options.noise_gap

        def once(record: CallRecord) -> tuple[CallRecord, CallRecord | None, float]:
            new: CallRecord | None = None
            if record.call is not None and not is_skipped(record.method, self.options.skip):
                try:
                    new = sender.send(record, reencode=reencode)
                except ValueError:
                    new = None
            if on_done is not None:
                on_done()
            return record, new, time.monotonic()

        def again(
            item: tuple[CallRecord, CallRecord | None, float],
        ) -> tuple[CallRecord, CallRecord | None, CallRecord | None]:
            record, first, when = item
            if first is None or describe_failure(first) is not None:
                return record, first, None
            delay = when + gap - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            second = sender.send(record, reencode=reencode)
            if on_done is not None:
                on_done()
            return record, first, second

        pairs = []
        with sender:
            firsts = list(_ordered(self.selected(records), once, self.options.concurrency))
            for record, first, second in _ordered(firsts, again, self.options.concurrency):
                if first is None:
                    continue
                failures = [
                    f for f in (describe_failure(first), second and describe_failure(second)) if f
                ]
                if failures or second is None:
                    reason = failures[0] if failures else "no second answer"
                    self.warnings.append(
                        f"#{record.seq} {record.method}: no noise learned ({reason})"
                    )
                    continue
                pairs.append((record.method or "", first.reply, second.reply))
        self.noise = self.noise.merged(learn_noise(pairs, rules=self.options.rules))
        return self.noise

    def replay_one(self, record: CallRecord, *, due: float | None = None) -> Outcome:
        """Re-send one record (after waiting for ``due``, a ``time.monotonic`` instant) and
        compare its answer."""
        if record.native:
            transport = f"a {record.transport}://" if record.transport else "a tcp:// or udp://"
            return Outcome(
                "skipped",
                record,
                None,
                message=f"{protocol_words(record.protocol)} call: replay it against {transport} "
                "target",
            )
        glob = is_skipped(record.method, self.options.skip)
        if glob is not None:
            return Outcome("skipped", record, None, message=f"not re-sent (--skip {glob!r})")
        if due is not None:
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        try:
            new = self.sender.send(record, reencode=self.options.reencode, seq=record.seq)
        except ValueError as exc:
            return Outcome("skipped", record, None, message=str(exc))
        return compare(record, new, self.options.rules, self.noise)

    def replay(self, records: Iterable[CallRecord]) -> Iterator[Outcome]:
        """Re-send every selected record and yield the outcomes in capture order."""
        speed = self.options.speed
        start = time.monotonic()
        first_started: list[float] = []

        def scheduled(records: Iterable[CallRecord]) -> Iterator[tuple[CallRecord, float | None]]:
            for record in records:
                if speed is None:
                    yield record, None
                    continue
                if not first_started:
                    first_started.append(record.started)
                offset = max(record.started - first_started[0], 0.0) / speed
                yield record, start + offset

        def work(item: tuple[CallRecord, float | None]) -> Outcome:
            return self.replay_one(item[0], due=item[1])

        yield from _ordered(scheduled(self.selected(records)), work, self.options.concurrency)
