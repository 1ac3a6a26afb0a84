"""The playback logic of ``rpcspy mock``, free of sockets: which recorded answer a call gets.

A ``Playbook`` is built from the records of a capture. A call matches a recorded call with the
same method and the same decoded params (typed values: struct member order and whitespace do not
matter), leaving out what the ignore rules drop. Recorded calls that match each other form a group
whose answers are given in recorded order, then the last one again and again. A call that matches
nothing gets a fault naming the closest recorded call and the paths that differed.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from rpcspy.capture import CallRecord
from rpcspy.diff import DEFAULT_RULES, Difference, Rules, diff_calls
from rpcspy.diff.fingerprint import params_fingerprint
from rpcspy.diff.matcher import compile_rules
from rpcspy.xmlrpc.encode import encode_response
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.render import format_call, format_response

__all__ = [
    "FAULT_NOT_XMLRPC",
    "FAULT_NO_MATCH",
    "FAULT_NO_METHOD",
    "Answer",
    "Playbook",
    "not_xmlrpc_answer",
]

#: No recorded call to this method at all (the interoperability convention's "method not found").
FAULT_NO_METHOD: Final = -32601
#: Recorded calls to the method exist, none with these params ("invalid method parameters").
FAULT_NO_MATCH: Final = -32602
#: The request is not an XML-RPC call ("parse error. not well formed").
FAULT_NOT_XMLRPC: Final = -32700

_SHOWN_DIFFERENCES: Final = 5


@dataclass
class _Group:
    """Recorded calls that match one another, in recorded order, and how many were answered."""

    call: MethodCall
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

    def log_line(self, call: MethodCall | None) -> str:
        """One line for the log: ``match #12 add(1, 2) -> int 3 [1/2]`` or ``miss ...``."""
        what = format_call(call, limit=80) if call is not None else "(not an XML-RPC call)"
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
    return encode_response(record.reply), "text/xml", None, 200


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

    Records whose request did not decode are left out (``left_out`` counts them); a recorded call
    whose answer was not XML-RPC, or that got none, is played back as it happened.
    """

    def __init__(self, records: Iterable[CallRecord], rules: Rules | None = None) -> None:
        self.rules = rules if rules is not None else DEFAULT_RULES
        self._methods: dict[str, list[_Group]] = {}
        self._by_key: dict[tuple[str, int], _Group] = {}
        self._lock = threading.Lock()
        self.calls = 0
        self.left_out = 0
        for record in records:
            self._add(record)

    def _key(self, call: MethodCall) -> int:
        compiled = compile_rules(self.rules, call.method)
        if compiled.skip_method:
            return 0  # every call of a wholly ignored method matches every other
        return params_fingerprint(call, compiled)

    def _add(self, record: CallRecord) -> None:
        if record.call is None:
            self.left_out += 1
            return
        self.calls += 1
        call = record.call
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

    def _find_group(self, call: MethodCall) -> _Group | None:
        for group in self._methods.get(call.method, ()):
            if not diff_calls(group.call, call, rules=self.rules):
                return group
        return None

    @property
    def methods(self) -> list[str]:
        """The recorded method names, in order of first appearance."""
        return list(self._methods)

    def reset(self) -> None:
        """Start every group from its first recorded answer again."""
        with self._lock:
            for groups in self._methods.values():
                for group in groups:
                    group.served = 0

    def answer(self, call: MethodCall) -> Answer:
        """The answer to ``call``: the next recorded answer of its group, or a fault for a miss."""
        with self._lock:
            group = self._by_key.get((call.method, self._key(call)))
            if group is not None and diff_calls(group.call, call, rules=self.rules):
                group = None  # a fingerprint collision: never answer a call that differs
            if group is None:
                group = self._find_group(call)
                if group is not None:
                    self._by_key[(call.method, self._key(call))] = group
            if group is None:
                return self._miss(call)
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
            drop=record.reply is None and (record.response is None or record.response.body is None),
        )

    def _miss(self, call: MethodCall) -> Answer:
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
        best: tuple[_Group, list[Difference]] | None = None
        for group in groups:
            differences = diff_calls(group.call, call, rules=self.rules)
            if best is None or len(differences) < len(best[1]):
                best = (group, differences)
        assert best is not None
        group, differences = best
        closest = group.records[0]
        listed = "; ".join(d.describe() for d in differences[:_SHOWN_DIFFERENCES])
        more = len(differences) - _SHOWN_DIFFERENCES
        if more > 0:
            listed += f"; and {more} more"
        text = (
            f"rpcspy mock: no recorded call matches {shown}; closest is #{closest.seq} "
            f"{format_call(group.call, limit=80)}, which differs at {listed}"
        )
        return _fault_answer(FAULT_NO_MATCH, text, closest=closest, differences=tuple(differences))
