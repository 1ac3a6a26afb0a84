"""ONC RPC decode throughput: rpcspy.oncrpc against xdrlib3 and the rpcgen C peer, same run.

Each case is one ONC RPC message, decoded whole (header, credentials, typed arguments or
result) many times:

- ours: ``decode_message`` then ``type_call`` / ``type_reply`` through the interface parsed
  from examples/rpc_example.x (or the built-in portmapper) — generic, typed values, all checks;
- xdrlib3 (PyPI): the same message read by hand-written ``xdrlib3.Unpacker`` code, the way a
  Python program decodes a known structure (no typing, no bounds beyond xdrlib3's own);
- the whole reading path, as the proxy runs it: ``rpcspy.streams.oncrpc_conversation`` fed the
  record-marked bytes of the C peers' recorded TCP session (every call and reply, repeated), to
  typed ``CallRecord``s, with and without writing them as capture lines (``record_to_json``);
- the rpcgen C peer: ``rpc_example_client 127.0.0.1 PORT tcp N`` timing N LOOKUP calls against
  ``rpc_example_server`` on the loopback — its whole round trip (encode, send, server decode,
  encode, receive, decode), so a ceiling for a live peer rather than a decode-only figure.

The messages are the real ones of tests/data/oncrpc (the C peers' LOOKUP reply and ADD call,
rpcbind's DUMP reply) plus two generated bulk ones. Timings keep the best of several rounds,
alternating the decoders. ``ratio`` is xdrlib3's time over ours (above 1: we are faster).

    .venv/bin/python bench/oncrpc.py          # full run
    .venv/bin/python bench/oncrpc.py --quick  # a few seconds
"""

from __future__ import annotations

import argparse
import json
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import xdrlib3

ROOT = Path(__file__).resolve().parent.parent
# This directory holds bench/rpyc.py, which would hide the rpyc package that rpcspy.streams
# imports: take it off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from rpcspy.oncrpc import (  # noqa: E402
    Call,
    Interface,
    RecordDecoder,
    Reply,
    builtin_interface,
    decode_message,
    encode_call,
    encode_reply,
    parse_idl,
    type_call,
    type_reply,
)

FIXTURES = ROOT / "tests" / "data" / "oncrpc"
EXAMPLES = ROOT / "examples"


@dataclass
class Case:
    name: str
    message: bytes
    ours: Callable[[bytes], object]
    theirs: Callable[[bytes], object]


def _records(name: str, side: str, conn: int = 0) -> list[bytes]:
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return RecordDecoder().feed(bytes.fromhex(data["tcp"][conn][side]))


# ---------------------------------------------------------------- xdrlib3, by hand


def _x_reply_header(u: xdrlib3.Unpacker) -> None:
    u.unpack_uint()  # xid
    assert u.unpack_uint() == 1  # REPLY
    assert u.unpack_uint() == 0  # MSG_ACCEPTED
    u.unpack_uint()  # verifier flavor
    u.unpack_opaque()
    assert u.unpack_uint() == 0  # SUCCESS


def _x_call_header(u: xdrlib3.Unpacker) -> tuple[object, ...]:
    xid = u.unpack_uint()
    assert u.unpack_uint() == 0  # CALL
    head = (xid, u.unpack_uint(), u.unpack_uint(), u.unpack_uint(), u.unpack_uint())
    flavor = u.unpack_uint()
    cred = xdrlib3.Unpacker(u.unpack_opaque())
    if flavor == 1:  # AUTH_SYS
        cred.unpack_uint()
        cred.unpack_string()
        cred.unpack_uint()
        cred.unpack_uint()
        cred.unpack_array(cred.unpack_uint)
    u.unpack_uint()
    u.unpack_opaque()
    return head


def _x_person(u: xdrlib3.Unpacker) -> dict[str, object]:
    person: dict[str, object] = {
        "name": u.unpack_string(),
        "age": u.unpack_uint(),
        "id": u.unpack_hyper(),
        "admin": u.unpack_bool(),
        "tags": u.unpack_array(u.unpack_string),
    }
    person["manager"] = _x_person(u) if u.unpack_bool() else None
    return person


def x_lookup_reply(data: bytes) -> object:
    u = xdrlib3.Unpacker(data)
    _x_reply_header(u)
    status = u.unpack_int()
    result = _x_person(u) if status == 0 else u.unpack_string()
    u.done()
    return result


def x_add_call(data: bytes) -> object:
    u = xdrlib3.Unpacker(data)
    head = _x_call_header(u)
    args = (u.unpack_int(), u.unpack_int())
    u.done()
    return head, args


def x_dump_reply(data: bytes) -> object:
    u = xdrlib3.Unpacker(data)
    _x_reply_header(u)
    rows = []
    while u.unpack_bool():
        rows.append((u.unpack_uint(), u.unpack_uint(), u.unpack_uint(), u.unpack_uint()))
    u.done()
    return rows


def x_ints_reply(data: bytes) -> object:
    u = xdrlib3.Unpacker(data)
    _x_reply_header(u)
    values = u.unpack_array(u.unpack_int)
    u.done()
    return values


def x_echo_call(data: bytes) -> object:
    u = xdrlib3.Unpacker(data)
    head = _x_call_header(u)
    text = u.unpack_string()
    u.done()
    return head, text


# ---------------------------------------------------------------- ours


def ours_reply(call: Call, interface: Interface) -> Callable[[bytes], object]:
    def decode(data: bytes) -> object:
        reply = decode_message(data)
        assert isinstance(reply, Reply)
        typed = type_reply(reply, call, interface)
        assert typed.problem is None
        return typed

    return decode


def ours_call(interface: Interface) -> Callable[[bytes], object]:
    def decode(data: bytes) -> object:
        call = decode_message(data)
        assert isinstance(call, Call)
        typed = type_call(call, interface)
        assert typed.problem is None
        return typed

    return decode


def cases() -> list[Case]:
    example = builtin_interface(
        parse_idl((EXAMPLES / "rpc_example.x").read_text(encoding="utf-8"), "rpc_example.x")
    )
    calls = [decode_message(m) for m in _records("example_tcp", "c2s")]
    replies = _records("example_tcp", "s2c")
    lookup_call = calls[3]  # LOOKUP 1: Ada, with Charles as her manager
    add_call = _records("example_tcp", "c2s")[1]
    assert isinstance(lookup_call, Call) and lookup_call.proc == 3
    dump_call = decode_message(_records("rpcinfo_p", "c2s", 1)[0])
    dump_reply = _records("rpcinfo_p", "s2c", 1)[0]
    assert isinstance(dump_call, Call) and dump_call.proc == 4

    bulk = parse_idl(
        "typedef int ints<>; program B { version V { ints GET(void) = 1; "
        "string ECHO(string) = 2; } = 1; } = 0x20000100;"
    )
    get_call = decode_message(encode_call(1, 0x20000100, 1, 1))
    assert isinstance(get_call, Call)
    ints = struct.pack(">I", 10_000) + struct.pack(">10000i", *range(-5000, 5000))
    text = b"x" * 65536
    echo = encode_call(2, 0x20000100, 1, 2, struct.pack(">I", len(text)) + text)
    return [
        Case("LOOKUP reply (person, union, *)", replies[3], ours_reply(lookup_call, example),
             x_lookup_reply),
        Case("ADD call (AUTH_SYS, struct)", add_call, ours_call(example), x_add_call),
        Case("rpcbind DUMP reply (8 entries)", dump_reply,
             ours_reply(dump_call, builtin_interface()), x_dump_reply),
        Case("int<10000> reply (40 KB)", encode_reply(1, "SUCCESS", ints),
             ours_reply(get_call, bulk), x_ints_reply),
        Case("ECHO call, 64 KB string", echo, ours_call(bulk), x_echo_call),
    ]  # fmt: skip


def best(fn: Callable[[bytes], object], message: bytes, n: int, rounds: int) -> float:
    """Seconds per decode, best of ``rounds`` rounds of ``n``."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn(message)
        times.append((time.perf_counter() - start) / n)
    return min(times)


def c_peer(n: int) -> str:
    """The rpcgen C client's own round-trip rate against the C server, or why not."""
    with tempfile.TemporaryDirectory() as tmp:
        built = subprocess.run(
            ["make", "-s", "-C", str(EXAMPLES), f"OUT={tmp}"], capture_output=True, text=True
        )
        if built.returncode != 0:
            return f"not measured: examples/ does not build ({built.stderr.strip()[:200]})"
        server = subprocess.Popen(
            [f"{tmp}/rpc_example_server", "0"], stdout=subprocess.PIPE, text=True
        )
        try:
            assert server.stdout is not None
            port = server.stdout.readline().split()[1]
            out = subprocess.run(
                [f"{tmp}/rpc_example_client", "127.0.0.1", port, "tcp", str(n)],
                capture_output=True,
                text=True,
                timeout=600,
            ).stdout.split()
        finally:
            server.terminate()
            server.wait()
    calls, seconds = int(out[1]), float(out[3])
    size = len(_records("example_tcp", "s2c")[4]) + len(_records("example_tcp", "c2s")[4])
    return (
        f"{calls / seconds:>10,.0f} calls/s  {calls * size / seconds / 1e6:6.2f} MB/s  "
        f"({calls} LOOKUP(2) round trips over TCP on 127.0.0.1 in {seconds:.3f} s, "
        f"{size} bytes per call+reply)"
    )


def pipeline(seconds: float) -> list[str]:
    """Calls/s of the streams reader (bytes to records) over the C peers' recorded session."""
    from rpcspy.capture.schema import dumps_line, record_to_json
    from rpcspy.oncrpc import frame_record
    from rpcspy.streams import oncrpc_conversation

    example = parse_idl((EXAMPLES / "rpc_example.x").read_text(encoding="utf-8"), "rpc_example.x")
    pairs = [
        (frame_record(c), frame_record(r))
        for c, r in zip(_records("example_tcp", "c2s"), _records("example_tcp", "s2c"), strict=True)
    ]
    size = sum(len(c) + len(r) for c, r in pairs)
    out = []
    for write in (False, True):
        best_rate = 0.0
        for _ in range(3):
            conv = oncrpc_conversation(
                client=("127.0.0.1", 700), server=("127.0.0.1", 2049), interface=example
            )
            done = 0
            at = 0.0
            start = time.process_time()
            while time.process_time() - start < seconds:
                for call, reply in pairs:
                    at += 0.001
                    conv.feed("client", call, at)
                    for record in conv.feed("server", reply, at):
                        if write:
                            dumps_line(record_to_json(record))
                        done += 1
            best_rate = max(best_rate, done / (time.process_time() - start))
        what = "bytes to records + capture lines" if write else "bytes to records"
        out.append(
            f"{best_rate:>10,.0f} calls/s  {best_rate * size / len(pairs) / 1e6:6.2f} MB/s  "
            f"(streams, {what}; {len(pairs)} recorded calls of the C peers, repeated)"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    opts = parser.parse_args()
    rounds = 3 if opts.quick else 7
    budget = 0.05 if opts.quick else 0.3  # seconds per round and decoder
    print(f"{'case':<34} {'bytes':>7} {'ours calls/s':>13} {'MB/s':>7} "
          f"{'xdrlib3 calls/s':>16} {'MB/s':>7} {'ratio':>6}")  # fmt: skip
    ratios = []
    for case in cases():
        case.ours(case.message)
        case.theirs(case.message)
        probe = best(case.ours, case.message, 20, 1)
        n = max(20, int(budget / max(probe, 1e-7)))
        ours = theirs = float("inf")
        for _ in range(rounds):  # alternate, keep the best of each
            ours = min(ours, best(case.ours, case.message, n, 1))
            theirs = min(theirs, best(case.theirs, case.message, n, 1))
        size = len(case.message)
        ratios.append(theirs / ours)
        print(
            f"{case.name:<34} {size:>7} {1 / ours:>13,.0f} {size / ours / 1e6:>7.2f} "
            f"{1 / theirs:>16,.0f} {size / theirs / 1e6:>7.2f} {theirs / ours:>6.2f}"
        )
    geo = 1.0
    for r in ratios:
        geo *= r
    print(f"geometric mean ratio (xdrlib3 time / ours): {geo ** (1 / len(ratios)):.2f}")
    for line in pipeline(0.3 if opts.quick else 2.0):
        print(f"whole reading path:       {line}")
    print(f"rpcgen C peer round trip: {c_peer(2000 if opts.quick else 20000)}")


if __name__ == "__main__":
    main()
