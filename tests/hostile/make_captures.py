"""Writes the hostile capture files in ``tests/hostile/captures/`` (run it to remake them).

Each file starts from records written by the real ``CaptureWriter`` from a real XML-RPC
exchange (``xmlrpc.client.dumps``), then changes the fields named in the README with JSON edits,
as a hostile or broken producer could. ``python -m tests.hostile.make_captures`` rewrites them;
the tests read the committed files.
"""

from __future__ import annotations

import json
import xmlrpc.client
from pathlib import Path
from typing import Any

from rpcspy.capture import CaptureWriter, HttpMessage, build_record
from rpcspy.capture.schema import dumps_line

HERE = Path(__file__).parent / "captures"

#: The terminal attacks: OSC 0 sets the window title, OSC 52 writes the clipboard, CSI 2J clears
#: the screen, BEL rings, C1 CSI (0x9b) is ESC [ in 8 bits, U+202E reverses the text after it.
OSC_TITLE = "\x1b]0;pwned\x07"
OSC_CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4K\x07"
CLEAR = "\x1b[2J"
C1_CSI = "\x9b31m"
RLO = "\u202e"
HOSTILE = f"{OSC_TITLE}{OSC_CLIPBOARD}{CLEAR}{C1_CSI}{RLO}"


def _record_lines(calls: list[tuple[str, tuple[Any, ...], Any]]) -> list[dict[str, Any]]:
    """Real records of ``method(*params) -> answer``, as the JSON objects of their lines."""
    path = HERE / "_scratch.jsonl"
    with CaptureWriter(path, append=False) as writer:
        for seq, (method, params, answer) in enumerate(calls, start=1):
            response = (
                xmlrpc.client.dumps(answer, methodresponse=True)
                if isinstance(answer, xmlrpc.client.Fault)
                else xmlrpc.client.dumps((answer,), methodresponse=True)
            )
            writer.write(
                build_record(
                    HttpMessage(
                        [("Content-Type", "text/xml"), ("User-Agent", "hostile/1")],
                        xmlrpc.client.dumps(params, method).encode(),
                    ),
                    HttpMessage([("Content-Type", "text/xml")], response.encode()),
                    started=1_763_900_000.0 + seq,
                    ended=1_763_900_000.0 + seq + 0.01,
                    client=("127.0.0.1", 40000 + seq),
                    server=("127.0.0.1", 8000),
                    scheme="http",
                    host="127.0.0.1",
                    port=8000,
                    path="/RPC2",
                    status=200,
                    seq=seq,
                    id=f"{seq:x}" + "a" * 31,
                )
            )
    lines = [json.loads(line) for line in path.read_bytes().splitlines()]
    path.unlink()
    return lines


def _write(name: str, objs: list[dict[str, Any]]) -> None:
    (HERE / name).write_bytes(b"".join(dumps_line(obj) for obj in objs))


def main() -> None:
    HERE.mkdir(exist_ok=True)
    good = ("echo", ("hello",), "HELLO")

    # started: 1e308 (and ended with it): datetime cannot hold it (OverflowError).
    header, first, second = _record_lines([good, good])
    second["started"] = 1e308
    second["ended"] = 1e308
    _write("started-1e308.jsonl", [header, first, second])

    # A lone surrogate in a string param and in the answer: no encoding can print it.
    header, first, second = _record_lines([good, good])
    second["request"]["call"]["params"][0] = {"string": "a\ud800b"}
    second["response"]["result"] = {"string": "A\udfffB"}
    _write("lone-surrogate.jsonl", [header, first, second])

    # Terminal escapes everywhere a peer or a capture chooses text: the method name, a string
    # param, the answer, a fault string, header names and values, the client host, the path,
    # an error. (XML cannot carry most control characters, so they are put in the JSON.)
    header, first, second = _record_lines(
        [good, ("demo.fault", (), xmlrpc.client.Fault(4, "four"))]
    )
    first["method"] = first["request"]["call"]["method"] = f"evil{HOSTILE}.method"
    first["request"]["call"]["params"][0] = {"string": f"param{HOSTILE}"}
    first["response"]["result"] = {"string": f"answer{HOSTILE}"}
    first["request"]["headers"].append([f"X-Evil{HOSTILE}", f"value{HOSTILE}"])
    first["response"]["headers"].append(["Server", f"server{HOSTILE}"])
    first["client"] = [f"127.0.0.1{HOSTILE}", 40001]
    first["path"] = f"/RPC2{HOSTILE}"
    first["request"]["body"] = {"size": 11, "text": f"body{HOSTILE}"}
    second["response"]["fault"]["string"] = f"fault{HOSTILE}"
    second["error"] = f"error{HOSTILE}"
    _write("escape-sequences.jsonl", [header, first, second])


if __name__ == "__main__":
    main()
