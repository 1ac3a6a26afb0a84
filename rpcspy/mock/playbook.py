"""The playback logic of ``rpcspy mock``, free of sockets: which recorded answer a call gets.

A ``Playbook`` is built from the records of a capture. A call matches a recorded call with the
same method and the same decoded params (typed values: struct member order and whitespace do not
matter), leaving out what the ignore rules drop. The spec's synonyms match each other unless
``strict_types``: ``<i4>`` and ``<int>``, untyped text and ``<string>``. A recorded call whose
request did not decode is matched by its exact request bytes (the body with gzip/deflate undone)
instead, so every recorded call with a request body can be answered. Recorded calls that match
each other form a group whose answers are given in recorded order, then the last one again and
again. A call that matches nothing gets a fault naming the closest recorded call (one that differs
only in wire types first, then the fewest differences) and the paths that differed.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from rpcspy.capture import CallRecord
from rpcspy.capture._content import ContentEncodingError, decode_content
from rpcspy.diff import DEFAULT_RULES, Difference, Rules, diff_calls
from rpcspy.diff.fingerprint import params_fingerprint
from rpcspy.diff.matcher import compile_rules
from rpcspy.xmlrpc.encode import encode_response
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.render import format_call, format_response
from rpcspy.xmlrpc.values import (
    I4,
    Array,
    Int,
    IntegerValue,
    String,
    Struct,
    UntypedString,
    Value,
    WideI4,
    WideInt,
)

__all__ = [
    "FAULT_NOT_XMLRPC",
    "FAULT_NO_MATCH",
    "FAULT_NO_METHOD",
    "Answer",
    "Playbook",
    "loose_call",
    "not_xmlrpc_answer",
    "request_key",
]

#: No recorded call to this method at all (the interoperability convention's "method not found").
FAULT_NO_METHOD: Final = -32601
#: Recorded calls to the method exist, none with these params ("invalid method parameters").
FAULT_NO_MATCH: Final = -32602
#: The request is not an XML-RPC call ("parse error. not well formed").
FAULT_NOT_XMLRPC: Final = -32700

_SHOWN_DIFFERENCES: Final = 5
#: Largest request, once gzip/deflate is undone, matched by its bytes (the codec's own bound).
_MAX_PLAIN: Final = 64 * 1024 * 1024
#: Request problems that mean the body was not recorded, so nothing can match it.
_NOT_RECORDED: Final = frozenset({"streamed", "too-large"})

#: What an undecodable request is matched by: its body with content encodings undone (first
#: item None), or, when they cannot be undone, the encoding and the body as on the wire.
RequestKey = tuple[str | None, bytes]


def request_key(body: bytes, content_encoding: str | None) -> RequestKey:
    """The exact-bytes key of a request body (pure): content encodings undone where they can be."""
    try:
        return (None, decode_content(body, content_encoding, _MAX_PLAIN))
    except ContentEncodingError:
        return (content_encoding or "", body)


#: The spec's integer synonyms, each ``i4`` class to its ``int`` one: the 32-bit pair and the wide
#: pair the tolerant reading keeps for a number beyond 32 bits (Ruby's and Node's ``<i4>``).
_I4_TO_INT: dict[type[I4], type[Int]] = {I4: Int, WideI4: WideInt}


def _loose(value: Value) -> Value:
    """The value with the spec's synonyms made one: ``i4`` -> ``int`` (wide ones too), untyped
    -> ``string``."""
    kind = type(value)
    if kind is I4 or kind is WideI4:
        assert isinstance(value, I4)
        return _I4_TO_INT[type(value)](int(value))
    if kind is UntypedString:
        assert isinstance(value, UntypedString)
        return String(str.__str__(value))
    if kind is Struct:
        assert isinstance(value, Struct)
        members = {name: _loose(item) for name, item in value.items()}
        if all(members[name] is item for name, item in value.items()):
            return value
        return Struct(members)
    if kind is Array:
        assert isinstance(value, Array)
        items = [_loose(item) for item in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return Array(items)
    return value


def loose_call(call: MethodCall) -> MethodCall:
    """The call with the spec's synonyms made one (``i4``/``int``, untyped/``string``) (pure)."""
    try:
        params = tuple(_loose(p) for p in call.params)
    except RecursionError:  # deeper than any decoder allows: matched as it is
        return call
    if all(a is b for a, b in zip(params, call.params, strict=True)):
        return call
    return MethodCall(call.method, params)


def _synonym(difference: Difference) -> bool:
    """Whether a difference is only a synonym of the spec: ``i4``/``int``, untyped/``string``."""
    if difference.kind == "untyped":
        return True
    old, new = difference.old, difference.new
    if difference.kind != "type" or not any(
        {type(old), type(new)} == {i4, int_} for i4, int_ in _I4_TO_INT.items()
    ):
        return False
    return isinstance(old, IntegerValue) and isinstance(new, IntegerValue) and int(old) == int(new)


def _wire_type_only(difference: Difference) -> bool:
    """Whether a difference is of wire type alone: the same number or text, another tag."""
    if difference.kind == "untyped":
        return True
    if difference.kind != "type":
        return False
    old, new = difference.old, difference.new
    if isinstance(old, IntegerValue) and isinstance(new, IntegerValue):
        return int(old) == int(new)
    strings = (String, UntypedString)
    if type(old) in strings and type(new) in strings:
        return str.__eq__(str(old), str(new))
    return False


@dataclass
class _Group:
    """Recorded calls that match one another, in recorded order, and how many were answered.

    ``call`` is the form calls are matched in (synonyms made one unless strict types); None for a
    group of undecodable requests matched by their bytes.
    """

    call: MethodCall | None
    records: list[CallRecord] = field(default_factory=list)
    served: int = 0


@dataclass(frozen=True, slots=True)
class Answer:
    """What the mock answers one call with, and why.

    ``body`` is sent with ``status``, ``content_type`` and ``content_encoding``: the recorded
    bytes when the capture has them. ``response`` is None when the recorded answer was not
    XML-RPC (it is played back as it was: an HTML error page stays one). ``drop`` says the
    recorded call got no answer at all (the server closed the connection, timed out...): the mock
    closes the connection without answering, as the server did. For a miss, ``record`` is None,
    ``closest`` the nearest recorded call (if any) and ``differences`` where the call differed.
    """

    matched: bool
    response: MethodResponse | Fault | None
    body: bytes
    status: int = 200
    content_type: str = "text/xml"
    content_encoding: str | None = None
    record: CallRecord | None = None
    #: Which of the group's recorded answers this is (1-based) and how many the group has.
    position: int = 0
    of: int = 0
    #: True when the group's answers were all given already and the last one is given again.
    repeated: bool = False
    closest: CallRecord | None = None
    differences: tuple[Difference, ...] = ()
    drop: bool = False
    #: True when the call was matched by its exact request bytes (its request does not decode).
    by_bytes: bool = False

    def log_line(self, call: MethodCall | None) -> str:
        """One line for the log: ``match #12 add(1, 2) -> int 3 [1/2]`` or ``miss ...``."""
        what = format_call(call, limit=80) if call is not None else "(not an XML-RPC call)"
        if self.by_bytes and self.record is not None:
            name = self.record.method or "(undecodable call)"
            what = f"{name} (request did not decode; same bytes as recorded)"
        if self.matched and self.record is not None:
            repeat = f" [{self.position}/{self.of}]" if self.of > 1 else ""
            again = " (again)" if self.repeated else ""
            if self.drop:
                shown = f"no answer, connection closed as recorded ({self.record.error})"
            elif self.response is None:
                shown = f"HTTP {self.status} {self.content_type}, not XML-RPC, as recorded"
            else:
                shown = format_response(self.response, limit=60)
            return f"match #{self.record.seq} {what} -> {shown}{repeat}{again}"
        assert isinstance(self.response, Fault)
        return f"miss {what}: {self.response.string}"


def _recorded_answer(record: CallRecord) -> tuple[bytes, str, str | None, int]:
    """Body, content type, content encoding and status to answer with, from a record."""
    response = record.response
    headers = response.headers if response is not None else ()
    ctype = next((v for k, v in headers if k.lower() == "content-type"), "text/xml")
    if response is not None and response.body is not None:
        status = record.status if record.status is not None else 200
        return response.body, ctype, response.content_encoding, status
    if record.reply is None:
        return b"", ctype, None, 200
    # No recorded bytes: the decoded answer, written back as it was read (a peer's string
    # faultCode or wide <i4> included), not refused by the strict encoder.
    return encode_response(record.reply, tolerant=True), "text/xml", None, 200


def _fault_answer(
    code: int,
    text: str,
    closest: CallRecord | None = None,
    differences: tuple[Difference, ...] = (),
) -> Answer:
    fault = Fault.make(code, text)
    return Answer(False, fault, encode_response(fault), closest=closest, differences=differences)


def not_xmlrpc_answer(reason: str) -> Answer:
    """The fault for a request that is not an XML-RPC call."""
    return _fault_answer(
        FAULT_NOT_XMLRPC, f"rpcspy mock: the request is not an XML-RPC call: {reason}"
    )


class Playbook:
    """Recorded calls ready to be answered. Thread-safe; answering advances the groups.

    ``calls`` counts the recorded calls the mock can answer; of them ``by_bytes`` are matched by
    their exact request bytes (the request did not decode) and ``no_answer`` got no answer when
    recorded (played back as a closed connection). ``left_out`` counts recorded calls nothing can
    match: their request body was not recorded (streamed, or over the proxy's size limit). A
    recorded answer that was not XML-RPC is played back as it was.
    """

    def __init__(
        self,
        records: Iterable[CallRecord],
        rules: Rules | None = None,
        *,
        strict_types: bool = False,
    ) -> None:
        self.rules = rules if rules is not None else DEFAULT_RULES
        self.strict_types = strict_types
        self._methods: dict[str, list[_Group]] = {}
        self._by_key: dict[tuple[str, int], _Group] = {}
        self._by_bytes: dict[RequestKey, _Group] = {}
        self._names: dict[str, None] = {}
        self._lock = threading.Lock()
        self.calls = 0
        self.by_bytes = 0
        self.no_answer = 0
        self.left_out = 0
        for record in records:
            self._add(record)

    def notes(self) -> list[str]:
        """Lines for people: how some recorded calls are answered, and which are left out."""
        notes = []
        if self.strict_types:
            notes.append("--strict-types: i4 and int, untyped text and string, are told apart")
        if self.by_bytes:
            notes.append(
                f"{_calls(self.by_bytes)} matched by exact request bytes "
                "(the recorded request did not decode)"
            )
        if self.no_answer:
            notes.append(
                f"{_calls(self.no_answer)} got no answer when recorded: "
                "the mock closes the connection, as the server did"
            )
        if self.left_out:
            were = "was" if self.left_out == 1 else "were"
            notes.append(
                f"{_calls(self.left_out)} left out: the request body {were} not recorded "
                "(streamed, or over the size limit), so nothing can match"
            )
        return notes

    def _form(self, call: MethodCall) -> MethodCall:
        """The call in the form it is matched in."""
        return call if self.strict_types else loose_call(call)

    def _key(self, call: MethodCall) -> int:
        compiled = compile_rules(self.rules, call.method)
        if compiled.skip_method:
            return 0  # every call of a wholly ignored method matches every other
        return params_fingerprint(call, compiled)

    def _add(self, record: CallRecord) -> None:
        if record.call is None:
            self._add_bytes(record)
            return
        self._count(record)
        call = self._form(record.call)
        self._names.setdefault(call.method)
        key = (call.method, self._key(call))
        group = self._by_key.get(key)
        if group is None:
            # Rules that are not simple omissions (ignored kinds, double tolerances) can make two
            # calls match with different fingerprints: ask the diff engine before a new group.
            group = self._find_group(call)
            if group is None:
                group = _Group(call)
                self._methods.setdefault(call.method, []).append(group)
            self._by_key[key] = group
        group.records.append(record)

    def _add_bytes(self, record: CallRecord) -> None:
        request = record.request
        if request.body is None or any(
            p.where == "request" and p.kind in _NOT_RECORDED for p in record.problems
        ):
            self.left_out += 1
            return
        self._count(record)
        self.by_bytes += 1
        if record.method is not None:
            self._names.setdefault(record.method)
        key = request_key(request.body, request.content_encoding)
        group = self._by_bytes.get(key)
        if group is None:
            group = self._by_bytes[key] = _Group(None)
        group.records.append(record)

    def _count(self, record: CallRecord) -> None:
        self.calls += 1
        if _dropped(record):
            self.no_answer += 1

    def _find_group(self, call: MethodCall) -> _Group | None:
        for group in self._methods.get(call.method, ()):
            assert group.call is not None
            if not diff_calls(group.call, call, rules=self.rules):
                return group
        return None

    @property
    def methods(self) -> list[str]:
        """The recorded method names, in order of first appearance (those of undecodable
        requests too, where their bytes name one)."""
        return list(self._names)

    def reset(self) -> None:
        """Start every group from its first recorded answer again."""
        with self._lock:
            for groups in self._methods.values():
                for group in groups:
                    group.served = 0
            for group in self._by_bytes.values():
                group.served = 0

    def answer(self, call: MethodCall) -> Answer:
        """The answer to ``call``: the next recorded answer of its group, or a fault for a miss."""
        form = self._form(call)
        with self._lock:
            key = (form.method, self._key(form))
            group = self._by_key.get(key)
            if group is not None:
                assert group.call is not None
                if diff_calls(group.call, form, rules=self.rules):
                    group = None  # a fingerprint collision: never answer a call that differs
            if group is None:
                group = self._find_group(form)
                if group is not None:
                    self._by_key[key] = group
            if group is None:
                return self._miss(call, form)
            return self._play(group)

    def answer_undecoded(self, body: bytes, content_encoding: str | None, reason: str) -> Answer:
        """The answer to a request that did not decode: the next recorded answer to the same
        request bytes, or the ``-32700`` fault (with ``reason``) when none was recorded."""
        group = self._by_bytes.get(request_key(body, content_encoding))
        if group is None:
            if self._by_bytes:
                reason += "; and no recorded request has these bytes"
            return not_xmlrpc_answer(reason)
        with self._lock:
            return self._play(group)

    def _play(self, group: _Group) -> Answer:
        """The group's next recorded answer (its last one again once all were given)."""
        repeated = group.served >= len(group.records)
        index = min(group.served, len(group.records) - 1)
        group.served += 1
        record = group.records[index]
        body, ctype, encoding, status = _recorded_answer(record)
        return Answer(
            True,
            record.reply,
            body,
            status=status,
            content_type=ctype,
            content_encoding=encoding,
            record=record,
            position=index + 1,
            of=len(group.records),
            repeated=repeated,
            drop=_dropped(record),
            by_bytes=group.call is None,
        )

    def _miss(self, call: MethodCall, form: MethodCall) -> Answer:
        groups = self._methods.get(call.method)
        shown = format_call(call, limit=80)
        if not groups:
            near = difflib.get_close_matches(call.method, list(self._methods), n=1, cutoff=0.6)
            hint = f"; closest recorded method: {near[0]}" if near else ""
            if not self._methods:
                hint = "; the capture has no calls"
            return _fault_answer(
                FAULT_NO_METHOD,
                f"rpcspy mock: no recorded call to {call.method}{hint}",
            )
        # The raw calls are compared, so the differences name the wire types the client sent.
        # A call that differs only in wire types comes first, then the fewest differences.
        best: tuple[tuple[int, int], CallRecord, list[Difference]] | None = None
        for group in groups:
            recorded = group.records[0]
            assert recorded.call is not None
            differences = diff_calls(recorded.call, call, rules=self.rules)
            if not self.strict_types:
                differences = [d for d in differences if not _synonym(d)]
                if not differences:  # the raw walk paired things otherwise: the matching form
                    assert group.call is not None
                    differences = diff_calls(group.call, form, rules=self.rules)
            rank = (sum(not _wire_type_only(d) for d in differences), len(differences))
            if best is None or rank < best[0]:
                best = (rank, recorded, differences)
        assert best is not None
        _, closest, differences = best
        assert closest.call is not None
        # Each difference is cut to a line: a 60 MB string param must not come back in the
        # fault (and the log) whole.
        listed = "; ".join(_clip(d.describe()) for d in differences[:_SHOWN_DIFFERENCES])
        more = len(differences) - _SHOWN_DIFFERENCES
        if more > 0:
            listed += f"; and {more} more"
        text = (
            f"rpcspy mock: no recorded call matches {shown}; closest is #{closest.seq} "
            f"{format_call(closest.call, limit=80)}, which differs at {listed}"
        )
        if differences and all(_synonym(d) for d in differences):
            text += " (only in wire types: --strict-types tells them apart)"
        return _fault_answer(FAULT_NO_MATCH, text, closest=closest, differences=tuple(differences))


#: The longest text one difference takes in a miss's fault string.
_DIFFERENCE_CHARS = 200


def _clip(text: str, limit: int = _DIFFERENCE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _calls(n: int) -> str:
    return f"{n} call" if n == 1 else f"{n} calls"


def _dropped(record: CallRecord) -> bool:
    """Whether the recorded call got no answer at all (the mock then closes the connection)."""
    return record.reply is None and (record.response is None or record.response.body is None)
