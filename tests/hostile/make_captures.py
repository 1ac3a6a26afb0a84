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
from typing import Any, Final

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


class RawJson(str):
    """JSON text put in a line as it is (nesting too deep for a JSON encoder to write)."""

    __slots__ = ()


#: Where a ``RawJson`` value goes, until the line is written.
_RAW_MARK: Final = "@@raw json@@"


def _write(name: str, objs: list[dict[str, Any]], raw: RawJson | None = None) -> None:
    data = b"".join(dumps_line(obj) for obj in objs)
    if raw is not None:
        data = data.replace(dumps_line(_RAW_MARK)[:-1], raw.encode())
    (HERE / name).write_bytes(data)


#: Stands for "remove the key" in ``WRONG_RECORDS``.
DROP: Final = object()
_ECHO = ("echo", ("hello",), "HELLO")
_FAULT = ("demo.fault", (), xmlrpc.client.Fault(4, "four"))
_MULTI = ("system.multicall", ([{"methodName": "echo", "params": ["x"]}],), [["X"]])
_BASES: Final = {"echo": _ECHO, "fault": _FAULT, "multicall": _MULTI}


def _nested(depth: int) -> RawJson:
    return RawJson('{"array": [' * depth + '{"int": 1}' + "]}" * depth)


#: The ``record-*.jsonl`` files: (name, base call, key path, value). Each file holds three
#: records: an ``echo`` call, then the base call with the value at the path replaced (or
#: removed: ``DROP``), then another ``echo`` call. Most are records the reader refuses; a few
#: are odd but valid (``refused`` in ``tests/hostile/test_hostile_records.py`` asks the reader).
WRONG_RECORDS: Final[list[tuple[str, str, tuple[str | int, ...], Any]]] = [
    ("id-int", "echo", ("id",), 12345),
    ("id-null", "echo", ("id",), None),
    ("id-list", "echo", ("id",), ["a"]),
    ("id-missing", "echo", ("id",), DROP),
    ("seq-string", "echo", ("seq",), "2"),
    ("seq-float", "echo", ("seq",), 2.5),
    ("seq-bool", "echo", ("seq",), True),
    ("seq-null", "echo", ("seq",), None),
    ("seq-huge", "echo", ("seq",), 1 << 70),
    ("seq-1e30", "echo", ("seq",), 1e30),
    ("started-string", "echo", ("started",), "yesterday"),
    ("started-null", "echo", ("started",), None),
    ("started-bool", "echo", ("started",), False),
    ("started-missing", "echo", ("started",), DROP),
    ("started-list", "echo", ("started",), [1]),
    ("ended-string", "echo", ("ended",), "later"),
    ("ended-object", "echo", ("ended",), {}),
    ("client-list3", "echo", ("client",), ["127.0.0.1", 1, 2]),
    ("client-string", "echo", ("client",), "127.0.0.1:40000"),
    ("client-port-string", "echo", ("client",), ["127.0.0.1", "40000"]),
    ("client-host-int", "echo", ("client",), [127, 40000]),
    ("client-object", "echo", ("client",), {"host": "127.0.0.1"}),
    ("server-port-bool", "echo", ("server",), ["127.0.0.1", True]),
    ("scheme-int", "echo", ("scheme",), 1),
    ("host-null", "echo", ("host",), None),
    ("port-string", "echo", ("port",), "8000"),
    ("port-float", "echo", ("port",), 8000.5),
    ("path-list", "echo", ("path",), ["/RPC2"]),
    ("status-string", "echo", ("status",), "200"),
    ("status-bool", "echo", ("status",), True),
    ("error-int", "echo", ("error",), 500),
    ("origin-list", "echo", ("origin",), ["proxy"]),
    ("redacted-string", "echo", ("redacted",), "yes"),
    ("type-int", "echo", ("type",), 1),
    ("request-missing", "echo", ("request",), DROP),
    ("request-list", "echo", ("request",), []),
    ("request-string", "echo", ("request",), "POST"),
    ("request-body-missing", "echo", ("request", "body"), DROP),
    ("request-body-string", "echo", ("request", "body"), "<methodCall/>"),
    ("request-body-text-int", "echo", ("request", "body", "text"), 5),
    ("request-body-empty", "echo", ("request", "body"), {}),
    ("request-body-base64-bad", "echo", ("request", "body"), {"base64": "!!not base64!!"}),
    ("request-body-base64-int", "echo", ("request", "body"), {"base64": 5}),
    ("request-body-size-string", "echo", ("request", "body", "size"), "11"),
    ("request-headers-object", "echo", ("request", "headers"), {"Host": "x"}),
    ("request-headers-string", "echo", ("request", "headers"), "Host: x"),
    ("request-headers-single", "echo", ("request", "headers"), [["Host"]]),
    ("request-headers-triple", "echo", ("request", "headers"), [["Host", "x", "y"]]),
    ("request-headers-ints", "echo", ("request", "headers"), [[1, 2]]),
    ("request-headers-strings", "echo", ("request", "headers"), ["Host: x"]),
    ("request-encoding-int", "echo", ("request", "content_encoding"), 1),
    ("call-int", "echo", ("request", "call"), 5),
    ("call-string", "echo", ("request", "call"), "echo"),
    ("call-method-int", "echo", ("request", "call", "method"), 5),
    ("call-params-string", "echo", ("request", "call", "params"), "hello"),
    ("call-params-object", "echo", ("request", "call", "params"), {"string": "hello"}),
    ("param-int-string", "echo", ("request", "call", "params", 0), {"int": "abc"}),
    ("param-unknown-type", "echo", ("request", "call", "params", 0), {"quux": 1}),
    ("param-two-types", "echo", ("request", "call", "params", 0), {"int": 1, "string": "a"}),
    ("param-i4-huge", "echo", ("request", "call", "params", 0), {"i4": 1 << 40}),
    ("param-double-string", "echo", ("request", "call", "params", 0), {"double": "x"}),
    ("param-nested-deep", "echo", ("request", "call", "params", 0), _nested(3000)),
    ("response-list", "echo", ("response",), []),
    ("response-string", "echo", ("response",), "200 OK"),
    ("response-body-int", "echo", ("response", "body"), 5),
    ("response-body-text-int", "echo", ("response", "body", "text"), 5),
    ("response-headers-int", "echo", ("response", "headers"), 5),
    ("result-int-string", "echo", ("response", "result"), {"int": "many"}),
    ("result-and-fault", "echo", ("response", "fault"), {"code": 1, "string": "x"}),
    ("fault-code-1e30", "fault", ("response", "fault", "code"), 1e30),
    ("fault-code-string", "fault", ("response", "fault", "code"), "four"),
    ("fault-code-missing", "fault", ("response", "fault", "code"), DROP),
    ("fault-string-int", "fault", ("response", "fault", "string"), 4),
    ("fault-list", "fault", ("response", "fault"), [4, "four"]),
    ("subcalls-object", "multicall", ("subcalls",), {"0": {}}),
    ("subcalls-int-item", "multicall", ("subcalls", 0), 5),
    ("subcall-index-string", "multicall", ("subcalls", 0, "index"), "0"),
    ("subcall-call-int", "multicall", ("subcalls", 0, "call"), 5),
    ("subcall-result-bad", "multicall", ("subcalls", 0, "result"), {"int": "x"}),
    ("problems-object", "echo", ("problems",), {"kind": "x"}),
    ("problems-int-item", "echo", ("problems",), [5]),
    (
        "problem-where-unknown",
        "echo",
        ("problems",),
        [{"where": "mars", "kind": "k", "reason": "r"}],
    ),
    ("problem-kind-missing", "echo", ("problems",), [{"where": "request", "reason": "r"}]),
    (
        "problem-line-string",
        "echo",
        ("problems",),
        [{"where": "request", "kind": "k", "reason": "r", "line": "3"}],
    ),
    ("findings-int", "echo", ("findings",), 5),
    (
        "finding-severity-fatal",
        "echo",
        ("findings",),
        [{"where": "request", "rule": "r", "severity": "fatal", "message": "m"}],
    ),
]


def _set(obj: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    target: Any = obj
    for key in path[:-1]:
        target = target[key]
    if value is DROP:
        del target[path[-1]]
    else:
        target[path[-1]] = value


def write_wrong_records() -> list[str]:
    """Write every ``record-*.jsonl`` file of ``WRONG_RECORDS``; their names."""
    names = []
    for name, base, path, value in WRONG_RECORDS:
        header, first, second, third = _record_lines([_ECHO, _BASES[base], _ECHO])
        raw = value if isinstance(value, RawJson) else None
        _set(second, path, _RAW_MARK if raw is not None else value)
        names.append(f"record-{name}.jsonl")
        _write(names[-1], [header, first, second, third], raw)
    return names


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

    # One record field of a wrong type or value per file (issue 11, item 13).
    write_wrong_records()


if __name__ == "__main__":
    main()
