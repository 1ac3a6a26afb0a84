"""Hostile ONC RPC input: truncated fragments, a fragment length of 2^31-1, unknown programs,
XDR strings longer than the message, deep unions, garbage after the arguments. Each is a clear
problem (kind, reason, offset, path), the raw bytes are kept, and memory stays bounded."""

from __future__ import annotations

import struct
import time
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rpcspy.oncrpc import (
    Call,
    Interface,
    OncRpcError,
    Raw,
    RecordDecoder,
    Struct,
    Union,
    builtin_interface,
    call_to_json,
    decode_message,
    encode_call,
    frame_record,
    parse_idl,
    type_call,
)
from rpcspy.oncrpc.xdr import Limits
from tests.oncrpc.peers import EXAMPLES

EXAMPLE = 0x20000099


def example() -> Interface:
    text = (EXAMPLES / "rpc_example.x").read_text(encoding="utf-8")
    return builtin_interface(parse_idl(text, "rpc_example.x"))


def call(prog: int, vers: int, proc: int, args: bytes) -> Call:
    message = decode_message(encode_call(7, prog, vers, proc, args))
    assert isinstance(message, Call)
    return message


def test_a_fragment_length_of_2_31_minus_1_allocates_nothing() -> None:
    decoder = RecordDecoder()
    tracemalloc.start()
    try:
        with pytest.raises(OncRpcError) as caught:
            decoder.feed(b"\xff\xff\xff\xff" + bytes(64))
        for _ in range(100):  # the peer keeps sending: dropped, not buffered
            decoder.feed(bytes(65536))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.kind == "bad-record-marking"
    assert "a fragment of 2147483647 bytes" in caught.value.reason
    assert peak < 1 << 20, f"peak {peak} bytes"
    assert decoder.buffered == 0 and decoder.dropped == 64 + 100 * 65536


def test_a_truncated_fragment_is_a_clear_problem_at_the_end_of_the_stream() -> None:
    framed = frame_record(encode_call(1, EXAMPLE, 1, 1, struct.pack(">I", 5) + b"hello\0\0\0"))
    decoder = RecordDecoder()
    assert decoder.feed(framed[:-3]) == []
    with pytest.raises(OncRpcError) as caught:
        decoder.close()
    assert caught.value.kind == "truncated"
    assert "the stream ended inside a record" in caught.value.reason


def test_a_truncated_call_header_says_what_is_missing() -> None:
    with pytest.raises(OncRpcError) as caught:
        decode_message(encode_call(1, EXAMPLE, 1, 1)[:22])
    assert caught.value.kind == "truncated"
    assert caught.value.reason == "the procedure needs 4 bytes but 2 are left"
    assert caught.value.offset == 20


def test_an_unknown_program_is_shown_by_number_with_raw_hex() -> None:
    typed = type_call(call(0xDEAD, 3, 9, b"\x01\x02\x03\x04"), example())
    assert typed.label == "prog 57005 v3 proc 9"
    assert typed.args == (Raw(b"\x01\x02\x03\x04"),)
    assert typed.problem is not None and typed.problem.kind == "unknown-procedure"
    assert typed.problem.reason == (
        "program 57005 (0x0000dead) is not in the interface; the bytes are shown raw"
    )
    form = call_to_json(typed)
    assert form["args"] == [{"raw": "01020304"}]
    assert form["problem"]["kind"] == "unknown-procedure"  # type: ignore[index]


@pytest.mark.parametrize(
    ("vers", "proc", "words"),
    [
        (2, 1, "version 2 of RPC_EXAMPLE_PROG (it has [1])"),
        (1, 42, "procedure 42 of RPC_EXAMPLE_PROG version 1"),
    ],
)
def test_a_known_program_with_a_wrong_version_or_procedure(
    vers: int, proc: int, words: str
) -> None:
    typed = type_call(call(EXAMPLE, vers, proc, b""), example())
    assert typed.problem is not None and words in typed.problem.reason
    assert typed.names.program == "RPC_EXAMPLE_PROG"


def test_an_xdr_string_longer_than_the_message() -> None:
    args = struct.pack(">I", 0x7FFFFFFF) + b"hello\0\0\0"
    tracemalloc.start()
    try:
        typed = type_call(call(EXAMPLE, 1, 1, args), example())  # ECHO(string)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20
    assert typed.problem is not None and typed.problem.kind == "truncated"
    assert typed.problem.reason == (
        "a string of 2147483647 needs at least 2147483648 bytes but 8 are left"
    )
    assert typed.problem.path == "args[0]"
    assert typed.args == (Raw(args),)


def test_a_string_over_the_declared_maximum() -> None:
    # The example's person.name is name_t: string<MAX_NAME>, MAX_NAME 64; LOOKUP's result has one.
    idl = example()
    proc = idl.procedure(EXAMPLE, 1, 3)
    assert proc is not None
    result = struct.pack(">iI", 0, 65) + bytes(68) + struct.pack(">IqII", 1, 1, 0, 0) + bytes(4)
    with pytest.raises(OncRpcError) as caught:
        idl.decode_result(proc, result)
    assert caught.value.reason == "a string of 65 is over its declared maximum 64"
    assert caught.value.path == "result[0].found.name"


def test_garbage_after_the_arguments() -> None:
    args = struct.pack(">ii", 2, 40) + b"GARBAGE!"
    typed = type_call(call(EXAMPLE, 1, 2, args), example())  # ADD(intpair)
    assert typed.problem is not None and typed.problem.kind == "bad-xdr"
    assert typed.problem.reason == "8 bytes follow the last value"
    assert typed.args == (Raw(args),)


def test_deep_unions_stop_at_the_depth_limit_without_recursing_away() -> None:
    idl = parse_idl(
        "union deep switch (int more) { case 0: void; default: deep *inner; };"
        "program P { version V { deep F(deep) = 1; } = 1; } = 77;"
    )
    levels = 200_000
    args = struct.pack(">II", 1, 1) * levels + struct.pack(">I", 0)
    started = time.monotonic()
    typed = type_call(call(77, 1, 1, args), idl)
    assert time.monotonic() - started < 5
    assert typed.problem is not None and typed.problem.kind == "over-limit"
    assert typed.problem.reason == "values nest deeper than the limit of 256"
    # Within the limit it decodes, and the limit can be set lower.
    shallow = struct.pack(">II", 1, 1) * 50 + struct.pack(">I", 0)
    assert isinstance(type_call(call(77, 1, 1, shallow), idl).args[0], Union)
    lower = type_call(call(77, 1, 1, shallow), idl, Limits(max_depth=10))
    assert lower.problem is not None and lower.problem.kind == "over-limit"


def test_a_deep_struct_chain_from_the_portmapper_is_bounded_too() -> None:
    from rpcspy.oncrpc import decode
    from rpcspy.oncrpc.portmap import portmap_interface

    entry = struct.pack(">IIIII", 1, 100000, 2, 6, 111)
    wire = entry * 10_000 + struct.pack(">I", 0)
    with pytest.raises(OncRpcError) as caught:
        decode(portmap_interface().type("pmaplist_ptr"), wire)
    assert caught.value.kind == "over-limit"
    ok = decode(portmap_interface().type("pmaplist_ptr"), entry * 100 + struct.pack(">I", 0))
    assert ok is not None and isinstance(ok.value, Struct)  # type: ignore[union-attr]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_give_values_or_our_errors_only(data: bytes) -> None:
    idl = example()
    decoder = RecordDecoder(max_record=1024)
    try:
        records = decoder.feed(data)
    except OncRpcError:
        records = []
    for record in [data, *records]:
        try:
            message = decode_message(record)
        except OncRpcError:
            continue
        if isinstance(message, Call):
            type_call(message, idl)  # never raises: problems are values


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=120), st.integers(1, 4))
def test_random_arguments_to_every_example_procedure(args: bytes, proc: int) -> None:
    typed = type_call(call(EXAMPLE, 1, proc, args), example())
    assert typed.problem is None or typed.args == (Raw(args),)
