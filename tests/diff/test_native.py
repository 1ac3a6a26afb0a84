"""The diff engine on ONC RPC and RPyC calls: their JSON trees read as typed values with the
protocol's own type names (rpcspy.diff.native), so diffs, faults and fingerprints work on them.

The JSON is what the codecs make of real peers' bytes (tests/data/oncrpc, tests/data/rpyc).
"""

from __future__ import annotations

import json
from typing import Any

from rpcspy.diff import diff_calls, diff_responses
from rpcspy.diff.native import (
    native_call,
    native_call_fingerprint,
    native_call_key,
    native_response,
)
from rpcspy.oncrpc import (
    RecordDecoder,
    builtin_interface,
    call_to_json,
    decode_message,
    parse_idl,
    reply_to_json,
    type_call,
    type_reply,
)
from rpcspy.rpyc import Operation, Session
from rpcspy.xmlrpc.messages import Fault, MethodResponse
from tests.oncrpc.peers import EXAMPLES, FIXTURES, Recording
from tests.rpyc.fixtures import load

INTERFACE = builtin_interface(
    parse_idl((EXAMPLES / "rpc_example.x").read_text(encoding="utf-8"), "rpc_example.x")
)


def _example() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(call JSON, reply JSON) of every call the rpcgen client made over TCP."""
    out = []
    for c2s, s2c in Recording.load(FIXTURES / "example_tcp.json").tcp:
        calls = [decode_message(m) for m in RecordDecoder().feed(c2s)]
        replies = [decode_message(m) for m in RecordDecoder().feed(s2c)]
        for call, reply in zip(calls, replies, strict=True):
            out.append(
                (
                    call_to_json(type_call(call, INTERFACE)),  # type: ignore[arg-type]
                    reply_to_json(type_reply(reply, call, INTERFACE)),  # type: ignore[arg-type]
                )
            )
    return out


EXAMPLE = _example()
ECHO, ADD, ADD_WRAP, ADA, CHARLES, NOBODY = EXAMPLE[:6]


def test_xdr_results_differ_by_path_with_xdr_type_names() -> None:
    found = diff_responses(
        native_response("oncrpc", ADA[1]), native_response("oncrpc", CHARLES[1]), method="LOOKUP"
    )
    text = [d.describe() for d in found]
    assert 'result.found.name: string "Ada Lovelace" -> string "Charles Babbage"' in text
    assert "result.found.age: uint 36 -> uint 79" in text
    assert "result.found.id: hyper -1815 -> hyper 1791" in text
    assert "result.found.admin: bool false -> bool true" in text
    manager = next(d for d in found if d.path == "result.found.manager")
    assert manager.kind == "type" and manager.describe().endswith("-> NULL")


def test_a_union_that_changes_arm_is_one_member_removed_and_one_added() -> None:
    found = diff_responses(
        native_response("oncrpc", CHARLES[1]),
        native_response("oncrpc", NOBODY[1]),
        method="LOOKUP",
    )
    assert [(d.path, d.kind) for d in found] == [
        ("result.discriminant", "changed"),
        ("result.found", "removed"),
        ("result.error", "added"),
    ]


def test_xdr_integer_types_are_told_apart() -> None:
    a = {"program": 1, "version": 1, "procedure": 1, "args": [{"uint": 5}]}
    b = {"program": 1, "version": 1, "procedure": 1, "args": [{"int": 5}]}
    found = diff_calls(native_call("oncrpc", a), native_call("oncrpc", b))  # type: ignore[arg-type]
    assert [d.describe() for d in found] == ["params[0]: uint 5 -> int 5"]
    assert found[0].kind == "type"
    assert native_call_fingerprint("oncrpc", a) != native_call_fingerprint("oncrpc", b)


def test_a_reply_that_is_not_success_is_a_fault_with_its_rfc_number() -> None:
    proc99, version7 = EXAMPLE[-2][1], EXAMPLE[-1][1]
    unavailable = native_response("oncrpc", proc99)
    mismatch = native_response("oncrpc", version7)
    assert isinstance(unavailable, Fault) and unavailable.code == 3
    assert isinstance(mismatch, Fault) and mismatch.code == 2
    assert mismatch.string == "PROG_MISMATCH (supported 1-1)"
    [d] = diff_responses(native_response("oncrpc", ECHO[1]), mismatch, method="ECHO")
    assert d.kind == "fault"
    assert (
        d.describe() == 'result string "hello, rpcspy" -> fault 2: "PROG_MISMATCH (supported 1-1)"'
    )


def test_fingerprints_key_by_procedure_numbers_and_arguments_not_xid_nor_credentials() -> None:
    same_call_other_run = {**ADD[0], "xid": ADD[0]["xid"] + 1, "cred": {"flavor": 0}}
    assert native_call_fingerprint("oncrpc", same_call_other_run) == native_call_fingerprint(
        "oncrpc", ADD[0]
    )
    assert native_call_fingerprint("oncrpc", ADD[0]) != native_call_fingerprint(
        "oncrpc", ADD_WRAP[0]
    )
    # Names do not matter, numbers do: a capture typed without the .x keys the same.
    unnamed = {**ADD[0], "program_name": None, "version_name": None, "procedure_name": None}
    assert native_call_fingerprint("oncrpc", unnamed) == native_call_fingerprint("oncrpc", ADD[0])
    assert native_call_key("oncrpc", ADD[0]) == "oncrpc:536871065.1.2"


def _rpyc_operations() -> list[Any]:
    fixture = load("tutorial")
    session = Session()
    ops = []
    for side, data, at in fixture.chunks:
        ops.extend(o for o in session.feed(side, data, at) if isinstance(o, Operation))
    return ops


def test_rpyc_answers_compare_by_value_and_netrefs_by_class() -> None:
    ops = {op.text: op.to_json() for op in _rpyc_operations()}
    getcwd = ops["modules.os.getcwd()"]
    answer = native_response("rpyc", getcwd)
    assert isinstance(answer, MethodResponse)
    moved = json.loads(json.dumps(getcwd).replace(str(answer.value), "/elsewhere"))
    [d] = diff_responses(answer, native_response("rpyc", moved), method="modules.os.getcwd")
    assert d.describe().startswith("result: str ") and d.describe().endswith('-> str "/elsewhere"')
    netref = next(v for k, v in ops.items() if k == "modules.os")
    other_id = json.loads(json.dumps(netref))
    other_id["reply"]["reply"]["value"]["ref"]["id"][2] += 1
    assert not diff_responses(
        native_response("rpyc", netref), native_response("rpyc", other_id), method="modules.os"
    )
