"""RPyC decode throughput: rpcspy.rpyc against rpyc's own brine.load, on the same payloads.

Each case is a list of frames. The baseline is what rpyc itself does with a frame's message
after reading it: ``brine.load(payload[1:])`` (from the installed rpyc). Ours, on the same
payloads: ``decode_message`` (rpyc's brine.load behind the guard, then the typed message and
boxes) and, with ``--strict``, the structural scan first too; and the whole reader, ``Session``
(framing, zlib, messages, pairing by seq, netref naming), over the same frames' wire bytes.
Timings are CPU time of the process, alternate between the contenders and keep the best of
several rounds.

Cases: the recorded sessions of tests/data/rpyc (the tutorial's client and the tour of
handlers, both against rpyc_classic), and generated ones: 20,000 small getattr/call requests
and replies, and 50 replies of 2,000 strings each (compressed by rpyc's rule, over 3000 bytes).

    .venv/bin/python bench/rpyc.py          # full run
    .venv/bin/python bench/rpyc.py --quick  # a few seconds
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's directory comes first on the path, and this file is named like
# the package it measures: take the directory off so ``import rpyc`` finds rpyc.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import rpyc  # noqa: E402
import rpyc.core.consts as consts  # noqa: E402
from rpyc.core import brine  # noqa: E402

from rpcspy.rpyc import (  # noqa: E402
    BoxedTuple,
    Frame,
    FrameDecoder,
    IdPack,
    Plain,
    Ref,
    Reply,
    Request,
    Session,
    decode_message,
    encode_frame,
    encode_message,
)
from rpcspy.rpyc.errors import Side  # noqa: E402
from tests.rpyc import fixtures  # noqa: E402

NONE = Plain(())


@dataclass
class Case:
    name: str
    #: (side, wire bytes of one frame, its payload), in wire order.
    frames: list[tuple[Side, bytes, bytes]]

    @property
    def wire_bytes(self) -> int:
        return sum(len(w) for _, w, _ in self.frames)

    @property
    def payload_bytes(self) -> int:
        return sum(len(p) for _, _, p in self.frames)


def recorded(name: str) -> Case:
    fixture = fixtures.load(name)
    frames: list[tuple[float, Side, bytes, bytes]] = []
    for side in ("client", "server"):
        decoder = FrameDecoder(side)
        pos = 0
        for chunk_side, data, at in fixture.chunks:
            if chunk_side != side:
                continue
            for event in decoder.feed(data, at):
                assert isinstance(event, Frame)
                frames.append((at, side, event.raw, event.payload))
            pos += len(data)
    frames.sort(key=lambda f: f[0])
    return Case(f"recorded: {name}", [(s, w, p) for _, s, w, p in frames])


def generated_small(n: int = 10_000) -> Case:
    frames: list[tuple[Side, bytes, bytes]] = []
    obj = Ref("server", IdPack("os", 94412399957904, 140146502559648))
    fn = Ref("server", IdPack("builtins.builtin_function_or_method", 1404, 1405))
    for seq in range(0, 2 * n, 2):
        for side, message in (
            ("client", Request(seq, consts.HANDLE_GETATTR, BoxedTuple((obj, Plain("getcwd"))))),
            ("server", Reply(seq, fn)),
            (
                "client",
                Request(seq + 1, consts.HANDLE_CALL, BoxedTuple((fn, Plain(()), Plain(())))),
            ),
            ("server", Reply(seq + 1, Plain(f"/srv/app/{seq}"))),
        ):
            payload = encode_message(message, side)  # type: ignore[arg-type]
            frames.append((side, encode_frame(payload), payload))  # type: ignore[arg-type]
    return Case(f"generated: {2 * n} getattr+call pairs", frames)


def generated_large(n: int = 50) -> Case:
    frames: list[tuple[Side, bytes, bytes]] = []
    listing = tuple(f"/usr/lib/python3/dist-packages/module_{i:05d}.py" for i in range(2000))
    root = Ref("server", IdPack("builtins.list", 1, 2))
    for seq in range(n):
        request = encode_message(
            Request(
                seq, consts.HANDLE_CALLATTR, BoxedTuple((root, Plain("copy"), Plain(()), Plain(())))
            ),
            "client",
        )
        reply = encode_message(Reply(seq, Plain(listing)), "server")
        frames.append(("client", encode_frame(request), request))
        frames.append(("server", encode_frame(reply), reply))
    return Case(f"generated: {n} replies of 2,000 strings (zlib)", frames)


def baseline(case: Case) -> None:
    load = brine.load
    for _, _, payload in case.frames:
        load(payload[1:])


def messages(case: Case) -> None:
    for side, _, payload in case.frames:
        decode_message(payload, side)


def messages_strict(case: Case) -> None:
    for side, _, payload in case.frames:
        decode_message(payload, side, strict=True)


def session(case: Case) -> None:
    reader = Session()
    for side, wire, _ in case.frames:
        reader.feed(side, wire)
    reader.close()


def measure(
    contenders: list[tuple[str, Callable[[Case], None]]], case: Case, rounds: int
) -> dict[str, float]:
    """CPU seconds per pass over the case for each contender: the best of ``rounds``, the
    contenders alternating within each round, each timing at least 50 ms long. CPU time of this
    process (``time.process_time``), not wall time: on a shared machine the wall clock also
    counts the time other processes had the core."""
    clock = time.process_time
    start = clock()
    baseline(case)
    once = max(clock() - start, 1e-6)
    repeat = max(1, int(0.05 / once))
    best = {name: float("inf") for name, _ in contenders}
    for _ in range(rounds):
        for name, fn in contenders:
            start = clock()
            for _ in range(repeat):
                fn(case)
            best[name] = min(best[name], (clock() - start) / repeat)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller cases")
    parser.add_argument("--strict", action="store_true", help="also time strict decoding")
    options = parser.parse_args()
    rounds = 3 if options.quick else 9
    cases = [
        recorded("tutorial"),
        recorded("tour"),
        generated_small(2_000 if options.quick else 10_000),
        generated_large(10 if options.quick else 50),
    ]
    contenders: list[tuple[str, Callable[[Case], None]]] = [
        ("brine.load", baseline),
        ("decode_message", messages),
    ]
    if options.strict:
        contenders.append(("strict", messages_strict))
    contenders.append(("Session", session))
    for case in cases:  # warm up and check every frame reads
        session(case)
        messages(case)
    print(f"rpyc {rpyc.__version__} from {Path(rpyc.__file__).parent}; best of {rounds} rounds")
    header = f"{'case':<46} {'frames':>7} {'MB':>6}"
    for name, _ in contenders:
        header += f" {name + ' fr/s':>20} {'MB/s':>7}"
    print(header)
    for case in cases:
        timings = measure(contenders, case, rounds)
        mb = case.payload_bytes / 1e6
        row = f"{case.name:<46} {len(case.frames):>7} {mb:>6.2f}"
        for name, _ in contenders:
            t = timings[name]
            row += f" {len(case.frames) / t:>20,.0f} {mb / t:>7.1f}"
        print(row)
        base = timings["brine.load"]
        ratios = ", ".join(f"{name} {timings[name] / base:.2f}x" for name, _ in contenders[1:])
        print(f"{'':<46} time against brine.load: {ratios}")


if __name__ == "__main__":
    main()
