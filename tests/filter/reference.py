"""A plain, record-by-record reading of the filter language, as the tests' reference.

rpcspy has one filter engine (``rpcspy.filter.engine``, on index columns and contents). This
file spells out what each construct means on one ``CallRecord``, written straight from
docs/filter.md, so the tests can check the engine (through the index, ``show --filter`` and
``Filter.matches``) against an independent reading.

For a ``system.multicall`` call, a method, fault, path or text test matches when the call itself
or any one of its sub-calls matches.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from rpcspy.capture.summary import call_size
from rpcspy.filter.ast import (
    WILDCARD,
    All,
    And,
    Client,
    ErrorFlag,
    FaultTest,
    FindingRule,
    Latency,
    MethodGlob,
    Multicall,
    Node,
    Nonconformant,
    Not,
    OkFlag,
    Or,
    Origin,
    PathSegment,
    PathTest,
    ProblemFlag,
    Protocol,
    Size,
    Status,
    Text,
)
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.values import (
    Array,
    Boolean,
    Double,
    ExBigDecimal,
    IntegerValue,
    Nil,
    String,
    Struct,
    UntypedString,
    Value,
)

if TYPE_CHECKING:
    from rpcspy.capture import CallRecord

__all__ = [
    "compare_number",
    "compare_value",
    "matches",
    "record_size",
    "resolve_path",
    "type_matches",
    "value_text",
]


def value_text(value: Value) -> str | None:
    """The searchable text of a scalar (``42``, ``bob``, ``true``); None for base64, nil and
    containers."""
    if isinstance(value, Boolean):
        return "true" if value else "false"
    if isinstance(value, IntegerValue):
        return str(int(value))
    if isinstance(value, String):
        return str.__str__(value)
    if isinstance(value, Double):
        return float.__repr__(value)
    if isinstance(value, ExBigDecimal):
        return str(value)
    return None


def _texts(value: Value) -> Iterator[str]:
    """Every scalar text and struct member name inside ``value``, without recursion."""
    stack: list[Value] = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, Struct):
            for k, item in v.items():
                yield k
                stack.append(item)
        elif isinstance(v, Array):
            stack.extend(v)
        else:
            text = value_text(v)
            if text is not None:
                yield text


def _message_texts(
    call: MethodCall | None, response: MethodResponse | Fault | None
) -> Iterator[str]:
    if call is not None:
        yield call.method
        for p in call.params:
            yield from _texts(p)
    if isinstance(response, Fault):
        yield str(response.code)
        yield response.string
        yield from _texts(response.value)
    elif response is not None:
        yield from _texts(response.value)


def _text_matches(record: CallRecord, needle: str) -> bool:
    folded = needle.casefold()
    # The multicall params and result already hold every sub-call's values.
    return any(folded in t.casefold() for t in _message_texts(record.call, record.reply))


def resolve_path(roots: Sequence[Value], path: Sequence[PathSegment]) -> list[Value]:
    """The values at ``path`` below ``roots`` (treated as an array); several with wildcards."""
    current: list[Value] = [Array(roots)] if not isinstance(roots, Array) else [roots]
    for seg in path:
        nxt: list[Value] = []
        for v in current:
            if seg is WILDCARD:
                if isinstance(v, Struct):
                    nxt.extend(v.values())
                elif isinstance(v, Array):
                    nxt.extend(v)
            elif isinstance(seg, int):
                if isinstance(v, Array) and seg < len(v):
                    nxt.append(v[seg])
            elif isinstance(v, Struct) and isinstance(seg, str) and seg in v:
                nxt.append(v[seg])
        current = nxt
        if not current:
            break
    return current


def _parse_bool(text: str) -> bool | None:
    low = text.strip().lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    return None


def compare_number(left: Decimal | float, op: str, right: Decimal | float) -> bool:
    """``left OP right`` for ``>``, ``>=``, ``<``, ``<=``, ``=``, ``!=``."""
    if op == ">":
        return left > right
    if op == ">=":
        return left >= right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == "=":
        return left == right
    return left != right


def compare_value(value: Value, op: str, text: str) -> bool:
    """Does ``value OP text`` hold? ``~`` is a substring (ignoring case); numbers compare as
    numbers."""
    if op == "~":
        vt = value_text(value)
        return vt is not None and text.casefold() in vt.casefold()
    if op == "!=":
        return not compare_value(value, "=", text)
    if isinstance(value, Boolean):
        want = _parse_bool(text)
        return op == "=" and want is not None and bool(value) is want
    if isinstance(value, IntegerValue | Double | ExBigDecimal):
        try:
            number = Decimal(text.strip())
        except InvalidOperation:
            return False
        if not number.is_finite():
            return False
        if isinstance(value, Double):
            # As doubles: 0.35 typed by a person is the double nearest 0.35, like the value.
            return compare_number(float(value), op, float(number))
        mine = Decimal(int(value)) if isinstance(value, IntegerValue) else Decimal(value)
        return compare_number(mine, op, number)
    if isinstance(value, String):
        mine_text = str.__str__(value)
        return compare_number(mine_text, op, text)  # type: ignore[arg-type]
    if isinstance(value, Nil):
        return op == "=" and text.strip().lower() == "nil"
    return False


def type_matches(value: Value, tag: str) -> bool:
    """Is ``value`` of the wire type named ``tag``? ``string`` also takes the untyped string."""
    if tag == "untyped":
        return isinstance(value, UntypedString)
    if tag == "string":
        return type(value) is String or type(value) is UntypedString
    return type(value).tag == tag


def _path_matches(node: PathTest, values: Iterable[Value]) -> bool:
    for v in values:
        if node.type_tag is not None:
            if type_matches(v, node.type_tag):
                return True
        elif node.op is None or (node.value is not None and compare_value(v, node.op, node.value)):
            return True
    return False


def _path_test(record: CallRecord, node: PathTest) -> bool:
    messages: list[tuple[MethodCall | None, MethodResponse | Fault | None]] = [
        (record.call, record.reply)
    ]
    messages.extend((sub.call, sub.result) for sub in record.subcalls)
    for call, response in messages:
        if node.root == "params":
            if call is not None and _path_matches(node, resolve_path(call.params, node.path)):
                return True
        elif isinstance(response, MethodResponse) and _path_matches(
            node, resolve_path((response.value,), (0, *node.path))
        ):
            return True
    return False


def _fault_codes(record: CallRecord) -> Iterator[int]:
    if isinstance(record.reply, Fault):
        yield record.reply.code
    for sub in record.subcalls:
        if isinstance(sub.result, Fault):
            yield sub.result.code


def record_size(record: CallRecord) -> int:
    """Request plus response body bytes, as on the wire."""
    return call_size(record)


def matches(node: Node, record: CallRecord) -> bool:
    """Does ``record`` match the filter tree ``node``?"""
    match node:
        case All():
            return True
        case And(left, right):
            return matches(left, record) and matches(right, record)
        case Or(left, right):
            return matches(left, record) or matches(right, record)
        case Not(operand):
            return not matches(operand, record)
        case MethodGlob(pattern):
            names = [record.method, *(sub.call.method for sub in record.subcalls)]
            return any(n is not None and fnmatch.fnmatchcase(n, pattern) for n in names)
        case FaultTest(code):
            codes = list(_fault_codes(record))
            return bool(codes) if code is None else code in codes
        case OkFlag():
            return record.ok and not any(True for _ in _fault_codes(record))
        case ProblemFlag():
            return bool(record.problems) or record.error is not None
        case ErrorFlag():
            return record.error is not None
        case Multicall():
            return record.is_multicall
        case Nonconformant():
            return bool(record.findings)
        case FindingRule(pattern):
            return any(fnmatch.fnmatchcase(f.rule, pattern) for f in record.findings)
        case Text(text):
            return _text_matches(record, text)
        case PathTest():
            return _path_test(record, node)
        case Latency(op, ms):
            d = record.duration_ms
            return d is not None and compare_number(d, op, ms)
        case Size(op, size):
            return compare_number(record_size(record), op, size)
        case Origin(name):
            return record.origin == name
        case Protocol(name):
            # (``CallRecord.protocol``, format 1.2; a record without one is XML-RPC)
            return str(getattr(record, "protocol", "xmlrpc")).lower() == name
        case Status(code):
            return record.status == code
        case Client(pattern):
            if record.client is None:
                return False
            host, port = record.client
            return fnmatch.fnmatchcase(host, pattern) or fnmatch.fnmatchcase(
                f"{host}:{port}", pattern
            )
    raise TypeError(f"not a filter node: {node!r}")  # pragma: no cover
