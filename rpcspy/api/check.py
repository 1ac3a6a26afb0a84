"""Check calls against an API description: unknown methods, wrong arities, wrong types.

Each disagreement is a finding of the conformance mechanism (``rpcspy.capture.RecordFinding``:
where, rule, severity, message, value path), with a rule of ``API_RULES`` (documented in
``docs/conformance.md``), so ``rpcspy lint --api`` counts them per peer beside the spec's rules.

What a call is compared with: each declared signature of its arity (introspection), and what
traffic showed (the shapes learned at each position) when that arity was seen. A call agrees
when one of them accepts it; when none does, the findings are those of the one that comes
closest (fewest errors; on a tie, the learned shapes, which know struct members). Types are
compared by kind (``model.canonical``: ``i4`` and ``int`` are one kind, as are ``string`` and
the bare string); ``any`` accepts everything; a declared struct or array accepts any struct or
array; a learned struct's members are checked one by one, and a member the API never saw is a
finding of lower severity. Results are compared the same way; faults are not checked.

Checking a whole capture (``check_reader``) reads it as ``learn`` does (``capture_contents``):
each distinct content is checked once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from rpcspy.api.learn import CONTENT_MEMORY, Progress, capture_contents
from rpcspy.api.model import Api, Method, Shape, canonical, shape_text
from rpcspy.capture.reader import CaptureReader
from rpcspy.capture.record import CallRecord, FindingPlace, RecordFinding
from rpcspy.xmlrpc.findings import Rule, Severity
from rpcspy.xmlrpc.jsonform import value_to_json
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse

__all__ = [
    "API_RULES",
    "Checked",
    "check_call",
    "check_reader",
    "check_record",
]

_API: Final = "the API description (rpcspy api, docs/api-format.md)"

#: The rules of an API check, by id (the severities and texts ``rpcspy lint`` shows).
API_RULES: Final[dict[str, Rule]] = {
    rule.id: rule
    for rule in (
        Rule(
            "api-unknown-method",
            "error",
            _API + ": the methods it lists",
            "the call names a method the API does not have",
        ),
        Rule(
            "api-arity",
            "error",
            _API + ": each method's signatures, and the param counts seen in traffic",
            "the call has a number of params no signature declares and no call was seen with",
        ),
        Rule(
            "api-param-type",
            "error",
            _API + ": the param types declared or seen at each position",
            "a param (or a member or item inside it) has a type the API does not allow there",
        ),
        Rule(
            "api-result-type",
            "error",
            _API + ": the result types declared or seen",
            "a result (or a member or item inside it) has a type the API does not give there",
        ),
        Rule(
            "api-unknown-member",
            "warning",
            _API + ": the struct members seen in traffic",
            "a struct holds a member the API never saw in that place",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class _Miss:
    """One disagreement inside a value: a type, or a member the API never saw."""

    path: str
    member: bool
    message: str


def _kinds(shape: Shape) -> set[str]:
    return {canonical(tag) for tag in shape.scalars}


def _member_path(path: str, name: str) -> str:
    if name.isidentifier():
        return f"{path}.{name}"
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'{path}["{escaped}"]'


def _match(expected: Shape, value: object, path: str, out: list[_Miss]) -> None:
    """Add to ``out`` where ``value`` (the JSON form) disagrees with ``expected``."""
    if expected.any or expected.empty or not isinstance(value, dict) or len(value) != 1:
        return
    ((tag, payload),) = value.items()
    if tag == "struct" and isinstance(payload, dict):
        struct = expected.struct
        if struct is None:
            out.append(_Miss(path, False, f"{path} is a struct, expected {shape_text(expected)}"))
            return
        if not struct.members:
            return
        for name, item in payload.items():
            where = _member_path(path, name)
            member = struct.members.get(name)
            if member is None:
                out.append(_Miss(where, True, f"{where}: a member the API never saw"))
            else:
                _match(member.shape, item, where, out)
        return
    if tag == "array" and isinstance(payload, list):
        array = expected.array
        if array is None:
            out.append(_Miss(path, False, f"{path} is an array, expected {shape_text(expected)}"))
            return
        if array.items is not None:
            for j, item in enumerate(payload):
                _match(array.items, item, f"{path}[{j}]", out)
        return
    if tag == "raw" and isinstance(payload, dict):
        tag = str(payload.get("element", "raw"))
    if canonical(tag) not in _kinds(expected):
        out.append(_Miss(path, False, f"{path} is {tag}, expected {shape_text(expected)}"))


@dataclass(frozen=True, slots=True)
class _Candidate:
    """One form a call may take: its param shapes (None past what is known) and result."""

    params: tuple[Shape | None, ...]
    result: Shape | None
    learned: bool


def _candidates(method: Method, arity: int) -> list[_Candidate]:
    out = [
        _Candidate(tuple(s.params), s.result, False)
        for s in method.signatures
        if len(s.params) == arity
    ]
    if arity in method.arity:
        params = tuple(method.params[i] if i < len(method.params) else None for i in range(arity))
        out.append(_Candidate(params, method.result, True))
    return out


def _score(misses: list[_Miss], candidate: _Candidate) -> tuple[int, int, int]:
    errors = sum(1 for m in misses if not m.member)
    return (errors, 0 if candidate.learned else 1, len(misses) - errors)


def _best(
    candidates: list[_Candidate], values: list[object], result_path: str | None, prefix: str
) -> list[_Miss]:
    """The misses of the candidate that comes closest to the values: the params (paths
    ``{prefix}params[i]``), or with ``result_path`` the one result."""
    best: tuple[tuple[int, int, int], list[_Miss]] | None = None
    for candidate in candidates:
        misses: list[_Miss] = []
        for i, value in enumerate(values):
            shape = candidate.result if result_path is not None else candidate.params[i]
            if shape is not None:
                where = result_path if result_path is not None else f"{prefix}params[{i}]"
                _match(shape, value, where, misses)
        score = _score(misses, candidate)
        if best is None or score < best[0]:
            best = (score, misses)
    return [] if best is None else best[1]


def _finding(
    where: FindingPlace, rule: str, message: str, path: str | None, severity: Severity | None = None
) -> RecordFinding:
    return RecordFinding(where, rule, severity or API_RULES[rule].severity, message, path=path)


def check_call(
    api: Api,
    call: MethodCall,
    answer: MethodResponse | Fault | None,
    *,
    entry: int | None = None,
    types: bool = True,
) -> list[RecordFinding]:
    """The findings of one call (and its answer) against ``api``: in the request and the
    response bodies, or (``entry``: its index in a ``system.multicall``) in the multicall,
    with paths ``params[0][entry].params[i]`` and ``result[entry][0]``. ``types=False``
    checks the method and the arity only."""
    where: FindingPlace = "request" if entry is None else "multicall"
    answer_where: FindingPlace = "response" if entry is None else "multicall"
    prefix = "" if entry is None else f"params[0][{entry}]."
    result_path = "result" if entry is None else f"result[{entry}][0]"
    method = api.methods.get(call.method)
    if method is None:
        path = f"{prefix}methodName" if prefix else None
        return [_finding(where, "api-unknown-method", f"{call.method!r} is not in the API", path)]
    arity = len(call.params)
    known = {len(s.params) for s in method.signatures} | set(method.arity)
    if known and arity not in known:
        counts = ", ".join(str(n) for n in sorted(known))
        path = f"{prefix}params" if prefix else "params"
        return [
            _finding(
                where,
                "api-arity",
                f"{call.method} called with {arity} params; the API knows {counts}",
                path,
            )
        ]
    candidates = _candidates(method, arity)
    if not candidates or not types:
        return []
    out: list[RecordFinding] = []
    params = [value_to_json(p) for p in call.params]
    for miss in _best(candidates, params, None, prefix):
        rule = "api-unknown-member" if miss.member else "api-param-type"
        out.append(_finding(where, rule, miss.message, miss.path))
    if isinstance(answer, MethodResponse):
        results = [c for c in candidates if c.result is not None]
        value = [value_to_json(answer.value)]
        for miss in _best(results, value, result_path, prefix):
            rule = "api-unknown-member" if miss.member else "api-result-type"
            out.append(_finding(answer_where, rule, miss.message, miss.path))
    return out


def check_record(api: Api, record: CallRecord) -> list[RecordFinding]:
    """The findings of a record's call, and of each ``system.multicall`` sub-call, against
    ``api``; none for a request that did not decode."""
    call = record.call
    if call is None:
        return []
    # A multicall's entries are checked one by one: its own params and result are only their
    # container, checked for the method and the arity (once, not again for each entry).
    out = check_call(api, call, record.reply, types=not record.subcalls)
    for sub in record.subcalls:
        out.extend(check_call(api, sub.call, sub.result, entry=sub.index))
    return out


@dataclass(frozen=True, slots=True)
class Checked:
    """A call of a capture that disagrees with the API: its number, method and findings."""

    seq: int
    method: str | None
    findings: tuple[RecordFinding, ...]


def check_reader(
    api: Api, reader: CaptureReader, progress: Progress | None = None
) -> Iterator[Checked]:
    """Each call of ``reader`` that disagrees with ``api``, in file order; a content met again
    is not checked again. ``reader.records_read`` counts the calls read, ``reader.problems``
    the lines skipped."""
    known: dict[bytes, tuple[RecordFinding, ...]] = {}
    for seq, key, record in capture_contents(reader, progress):
        findings = known.get(key) if key is not None else None
        if findings is None:
            findings = tuple(check_record(api, record))
            if key is not None:
                if len(known) >= CONTENT_MEMORY:
                    known.clear()
                known[key] = findings
        if findings:
            yield Checked(seq, record.method, findings)
