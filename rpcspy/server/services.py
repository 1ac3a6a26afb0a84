"""The demo server's XML-RPC methods, free of sockets (``app.py`` wires them to a server).

Arguments arrive as the stdlib decodes them with ``use_builtin_types=True`` (``int``, ``bool``,
``float``, ``str``, ``bytes`` for base64, ``datetime`` for dateTime.iso8601, ``None`` for nil,
``dict``, ``list``). A wrong number of arguments is refused by the dispatcher before the method
runs (fault -32602); everything else a method refuses is a fault with a code from
``rpcspy.server.faults`` and a message that starts with the method name.

Methods (``system.*`` are added by ``app.py``):

==============================  =========================================================
``uname()``                     ``os.uname()`` as a struct: sysname, nodename, release,
                                version, machine (the first tutorial's ``server.py``)
``echo(s)``                     ``s`` upper-cased; a non-string is fault -32602
``add(a, b)``                   ``a + b`` (ints or doubles; an int result must fit 32 bits)
``subtract``, ``multiply``,     the Python docs' examples (``divide`` is ``a // b`` and lets
``divide``, ``mul``, ``pow``    ZeroDivisionError escape: the stdlib's generic fault 1)
``multiply args(*n)``           the product of any number of numbers (a name with a space)
``getData()``                   ``"42"`` (the Python docs' ExampleService)
``currentTime.getCurrentTime``  the server's local time, a dateTime
``sample.sumAndDifference``     ``{sum, difference}`` of two ints (the XML-RPC HOWTO)
``list_contents(dir_name)``     the names in a sandbox directory, sorted (``os.listdir``)
``list(dir_name)``              the same (the ``register_instance`` tutorial, with its help)
``dir(path="")``, ``dir.list``  the same under the alternate and the dotted name
``dir.entries(path="")``        ``[{name, type}]`` of a sandbox directory, sorted by name
``dir.create(path)``            make one directory (``os.mkdir``), returns nil
``dir.remove(path)``            remove one empty directory (``os.rmdir``), returns nil
``prefix.public()``             ``"This is public"``; ``prefix.private`` and ``public`` are
                                refused with the tutorial's fault 1
``validator1.*``                the UserLand validator suite (eight methods)
``demo.fault(code, string)``    raises exactly that fault
``demo.slow(seconds)``          sleeps (0 to 10 s, woken by shutdown), returns ``seconds``
``demo.large(n_bytes)``         an ASCII string of that length (0 to 64 MiB)
``demo.random()``               ``{random: double, time: dateTime (UTC)}``, changes per call
``demo.version()``              ``"1.0"``
``demo.crash()``                no answer: the connection is closed (see ``app.py``)
``demo.echo(value)``            any value back unchanged, nil included
==============================  =========================================================

Paths are resolved in a virtual root (``sandbox.py``): ``/`` is the sandbox directory, which starts
with an empty ``tmp/``, so ``list_contents('/tmp')`` and ``dir.create('/tmp/EXAMPLE')`` work as the
tutorials show without touching the real ``/tmp``.

Where two tutorials disagree the richer server is served (``rpcspy serve --help`` says so):
``list_contents``
stays although ``xmlrpc_alternate_name.py`` renamed it to ``dir``, and ``system.listMethods`` lists
every method above, not one tutorial's. ``uname`` includes ``nodename`` and ``version`` as the
tutorial shows them: captures of it hold the host name and the kernel build.

Variant 2 (``ServerConfig(variant=2)``) changes exactly these results, for replay and diff tests:

- ``demo.version()`` returns ``"2.0"`` instead of ``"1.0"``;
- ``add(a, b)`` always returns a double (``add(2, 3)`` is ``5.0``, not ``5``);
- ``uname()`` gains a ``python`` member (``platform.python_version()``);
- ``getData()`` returns the int ``42`` instead of the string ``"42"``.

and changes its API on purpose, for ``rpcspy api diff`` (every call above answers as before):

- ``mul`` is gone (fault -32601): a method removed;
- ``demo.features()`` is new: ``["multicall", "nil", "introspection"]``, a method added;
- ``dir.entries`` needs its ``path``: a required param added (``dir.entries()`` is fault -32602);
- ``demo.large(n_bytes, pattern)`` takes an optional second param, the text to repeat;
- ``sample.sumAndDifference`` also takes two doubles (answering doubles): a param type widened.

Signatures for ``system.methodSignature`` are lists whose first item is the return type; methods
whose types depend on the values (``pow``, ``multiply args``, ``demo.echo``, ...) have none, and
introspection answers ``"undef"`` for them.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
import platform
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from xmlrpc.client import Fault

from rpcspy.server.faults import (
    FAULT_INVALID_PARAMS,
    FAULT_METHOD_NOT_FOUND,
    FAULT_OUT_OF_RANGE,
    FAULT_SYSTEM,
    fail,
    xmlrpc_type,
)
from rpcspy.server.sandbox import Sandbox

__all__ = [
    "INT32_MAX",
    "INT32_MIN",
    "LARGE_MAX_BYTES",
    "SLOW_MAX_SECONDS",
    "DemoServices",
    "Method",
    "PrefixService",
    "Signature",
    "call_with_params",
    "expose",
    "is_exposed",
]

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
#: ``demo.slow`` refuses longer sleeps: a stuck test should fail fast, not hang.
SLOW_MAX_SECONDS = 10.0
#: ``demo.large`` refuses more: the codec's default message limit is 64 MiB too.
LARGE_MAX_BYTES = 64 * 1024 * 1024

_LARGE_PATTERN = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

#: One signature: the return type, then each parameter's type.
Signature = tuple[str, ...]


@dataclass(frozen=True)
class Method:
    """One XML-RPC method: its wire name, the callable, and its signatures (None: undef)."""

    name: str
    func: Callable[..., Any]
    signatures: tuple[Signature, ...] | None = None

    @property
    def help(self) -> str:
        """The text ``system.methodHelp`` answers: the callable's docstring."""
        return inspect.getdoc(self.func) or ""


def call_with_params(name: str, func: Callable[..., Any], params: Sequence[Any]) -> Any:
    """Call ``func(*params)``, refusing a wrong number of arguments with fault -32602.

    The stdlib would let the ``TypeError`` become fault 1 with Python's wording; checking the
    arguments against the signature first keeps a ``TypeError`` raised inside a method apart
    from a caller's mistake.
    """
    try:
        inspect.signature(func).bind(*params)
    except TypeError as exc:
        fail(FAULT_INVALID_PARAMS, name, str(exc))
    return func(*params)


def _arithmetic_signatures(*, int_result: bool) -> tuple[Signature, ...]:
    both_ints = "int" if int_result else "double"
    return (
        (both_ints, "int", "int"),
        ("double", "double", "double"),
        ("double", "int", "double"),
        ("double", "double", "int"),
    )


def _number(value: object, method: str, what: str) -> int | float:
    # bool is an int to Python but not a number to XML-RPC.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(
            FAULT_INVALID_PARAMS,
            method,
            f"{what} must be an int or a double, got {xmlrpc_type(value)}",
        )
    return value


def _int(value: object, method: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        fail(FAULT_INVALID_PARAMS, method, f"{what} must be an int, got {xmlrpc_type(value)}")
    return value


def _string(value: object, method: str, what: str) -> str:
    if not isinstance(value, str):
        fail(FAULT_INVALID_PARAMS, method, f"{what} must be a string, got {xmlrpc_type(value)}")
    return value


def _struct(value: object, method: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        fail(FAULT_INVALID_PARAMS, method, f"{what} must be a struct, got {xmlrpc_type(value)}")
    return value


def _array(value: object, method: str, what: str) -> list[Any]:
    if not isinstance(value, list):
        fail(FAULT_INVALID_PARAMS, method, f"{what} must be an array, got {xmlrpc_type(value)}")
    return value


def _member_int(struct: dict[str, Any], key: str, method: str, where: str) -> int:
    if key not in struct:
        fail(FAULT_INVALID_PARAMS, method, f"{where} has no member {key!r}")
    return _int(struct[key], method, f"{where}.{key}")


def _sendable(value: int | float, method: str) -> int | float:
    """The value if XML-RPC can carry it, else a clear fault instead of the marshaller's."""
    if isinstance(value, int) and not INT32_MIN <= value <= INT32_MAX:
        fail(FAULT_OUT_OF_RANGE, method, f"the result {value} does not fit in a 32-bit int")
    if isinstance(value, float) and not math.isfinite(value):
        fail(FAULT_OUT_OF_RANGE, method, f"the result {value} is not a finite double")
    return value


class DemoServices:
    """The demo server's methods, bound to one sandbox, one variant and one server's life.

    ``stopping`` is set when the server shuts down, to wake ``demo.slow``; ``drop_connection``
    is called by ``demo.crash`` to make the server close the connection without answering.
    """

    def __init__(
        self,
        sandbox: Sandbox,
        *,
        variant: int = 1,
        stopping: threading.Event | None = None,
        drop_connection: Callable[[], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if variant not in (1, 2):
            raise ValueError(f"variant must be 1 or 2, got {variant!r}")
        self.sandbox = sandbox
        self.variant = variant
        self.stopping = stopping if stopping is not None else threading.Event()
        self._drop_connection = drop_connection
        self._rng = rng if rng is not None else random.Random()

    def methods(self) -> list[Method]:
        """Every method with its wire name and signatures, in the order listed above."""
        arith = _arithmetic_signatures(int_result=True)
        s = "string"
        return [
            Method("uname", self.uname, (("struct",),)),
            Method("echo", self.echo, ((s, s),)),
            Method("add", self.add, _arithmetic_signatures(int_result=self.variant == 1)),
            Method("subtract", self.subtract, arith),
            Method("multiply", self.multiply, arith),
            Method("divide", self.divide, arith),
            *([Method("mul", self.mul, arith)] if self.variant == 1 else []),
            Method("pow", self.power),
            Method("multiply args", self.multiply_args),
            Method("getData", self.get_data, ((s if self.variant == 1 else "int",),)),
            Method("currentTime.getCurrentTime", self.get_current_time, (("dateTime.iso8601",),)),
            Method(
                "sample.sumAndDifference",
                self.sum_and_difference if self.variant == 1 else self.sum_and_difference_v2,
                (("struct", "int", "int"),)
                if self.variant == 1
                else (("struct", "int", "int"), ("struct", "double", "double")),
            ),
            Method("list_contents", self.list_contents, (("array", s),)),
            Method("list", self.list_names, (("array", s),)),
            Method("dir", self.directory, (("array",), ("array", s))),
            Method("dir.list", self.dir_list, (("array",), ("array", s))),
            Method("dir.entries", self.dir_entries, (("array",), ("array", s)))
            if self.variant == 1
            else Method("dir.entries", self.dir_entries_v2, (("array", s),)),
            Method("dir.create", self.dir_create, (("nil", s),)),
            Method("dir.remove", self.dir_remove, (("nil", s),)),
            Method(
                "validator1.arrayOfStructsTest", self.array_of_structs_test, (("int", "array"),)
            ),
            Method("validator1.countTheEntities", self.count_the_entities, (("struct", s),)),
            Method("validator1.easyStructTest", self.easy_struct_test, (("int", "struct"),)),
            Method("validator1.echoStructTest", self.echo_struct_test, (("struct", "struct"),)),
            Method(
                "validator1.manyTypesTest",
                self.many_types_test,
                (("array", "int", "boolean", s, "double", "dateTime.iso8601", "base64"),),
            ),
            Method(
                "validator1.moderateSizeArrayCheck", self.moderate_size_array_check, ((s, "array"),)
            ),
            Method("validator1.nestedStructTest", self.nested_struct_test, (("int", "struct"),)),
            Method(
                "validator1.simpleStructReturnTest",
                self.simple_struct_return_test,
                (("struct", "int"),),
            ),
            Method("demo.fault", self.demo_fault),
            Method("demo.slow", self.demo_slow, (("int", "int"), ("double", "double"))),
            Method("demo.large", self.demo_large, ((s, "int"),))
            if self.variant == 1
            else Method("demo.large", self.demo_large_v2, ((s, "int"), (s, "int", s))),
            Method("demo.random", self.demo_random, (("struct",),)),
            Method("demo.version", self.demo_version, ((s,),)),
            Method("demo.crash", self.demo_crash),
            Method("demo.echo", self.demo_echo),
            *(
                [Method("demo.features", self.demo_features, (("array",),))]
                if self.variant == 2
                else []
            ),
        ]

    # ------------------------------------------------------------ basics

    def uname(self) -> dict[str, str]:
        """uname() => {sysname, nodename, release, version, machine}: the server's os.uname().

        Variant 2 adds "python", the server's Python version.
        """
        system = platform.uname()
        info = {
            "sysname": system.system,
            "nodename": system.node,
            "release": system.release,
            "version": system.version,
            "machine": system.machine,
        }
        if self.variant == 2:
            info["python"] = platform.python_version()
        return info

    def echo(self, text: object) -> str:
        """echo(string) => string: the argument upper-cased."""
        return _string(text, "echo", "the argument").upper()

    def add(self, a: object, b: object) -> int | float:
        """add(a, b) => a + b, for ints or doubles. Variant 2 always answers a double."""
        total = _number(a, "add", "a") + _number(b, "add", "b")
        return _sendable(float(total) if self.variant == 2 else total, "add")

    def subtract(self, a: object, b: object) -> int | float:
        """subtract(a, b) => a - b, for ints or doubles."""
        return _sendable(_number(a, "subtract", "a") - _number(b, "subtract", "b"), "subtract")

    def multiply(self, a: object, b: object) -> int | float:
        """multiply(a, b) => a * b, for ints or doubles."""
        return _sendable(_number(a, "multiply", "a") * _number(b, "multiply", "b"), "multiply")

    def mul(self, x: object, y: object) -> int | float:
        """mul(x, y) => x * y (the Python docs' register_instance example)."""
        return _sendable(_number(x, "mul", "x") * _number(y, "mul", "y"), "mul")

    def divide(self, a: object, b: object) -> int | float:
        """divide(a, b) => a // b (floor division, as in the Python docs' MultiCall example).

        Dividing by zero is left to Python on purpose: the answer is the stdlib server's
        generic fault 1 "<class 'ZeroDivisionError'>:...", as real services send it.
        """
        return _sendable(_number(a, "divide", "a") // _number(b, "divide", "b"), "divide")

    def power(self, x: object, y: object) -> int | float:
        """pow(x, y) => x ** y; the result must be a 32-bit int or a finite double."""
        base, exponent = _number(x, "pow", "x"), _number(y, "pow", "y")
        if isinstance(base, int) and isinstance(exponent, int) and exponent > 64 and abs(base) > 1:
            # Refuse before computing: 10 ** 10**9 would take the server's CPU for minutes.
            fail(FAULT_OUT_OF_RANGE, "pow", f"{base} ** {exponent} does not fit in a 32-bit int")
        try:
            result = base**exponent
        except ZeroDivisionError:
            fail(FAULT_INVALID_PARAMS, "pow", "zero cannot be raised to a negative power")
        except OverflowError:
            fail(FAULT_OUT_OF_RANGE, "pow", f"{base} ** {exponent} is too large for a double")
        if isinstance(result, complex):
            fail(
                FAULT_INVALID_PARAMS,
                "pow",
                "a negative base with a fractional exponent has no real result",
            )
        return _sendable(result, "pow")

    def multiply_args(self, *numbers: object) -> int | float:
        """multiply args(n1, n2, ...) => the product of all the arguments (1 for none).

        Registered under a name with a space, which XML-RPC allows and Python identifiers do not.
        """
        product: int | float = 1
        for index, value in enumerate(numbers):
            product *= _number(value, "multiply args", f"argument {index + 1}")
            if isinstance(product, int) and not INT32_MIN <= product <= INT32_MAX:
                break
        return _sendable(product, "multiply args")

    def get_data(self) -> str | int:
        """getData() => "42" (the Python docs' ExampleService). Variant 2 answers the int 42."""
        return "42" if self.variant == 1 else 42

    def get_current_time(self) -> dt.datetime:
        """currentTime.getCurrentTime() => the server's local time (dotted name, Python docs)."""
        return dt.datetime.now().replace(microsecond=0)

    def sum_and_difference(self, x: object, y: object) -> dict[str, int]:
        """sample.sumAndDifference(x, y) => {sum: x + y, difference: x - y} (the XML-RPC HOWTO)."""
        a, b = _int(x, "sample.sumAndDifference", "x"), _int(y, "sample.sumAndDifference", "y")
        return {
            "sum": int(_sendable(a + b, "sample.sumAndDifference")),
            "difference": int(_sendable(a - b, "sample.sumAndDifference")),
        }

    def sum_and_difference_v2(self, x: object, y: object) -> dict[str, int | float]:
        """sample.sumAndDifference(x, y) => {sum: x + y, difference: x - y}, for two ints or two
        doubles (variant 2; variant 1 takes ints only)."""
        name = "sample.sumAndDifference"
        if isinstance(x, float) and isinstance(y, float):
            return {
                "sum": _sendable(x + y, name),
                "difference": _sendable(x - y, name),
            }
        return dict(self.sum_and_difference(x, y))

    # ------------------------------------------------------------ directory service

    def list_contents(self, dir_name: object) -> list[str]:
        """list_contents(dir_name) => [<filenames>]: the names in a directory of the sandbox.

        os.listdir in a sandbox whose root plays "/" (it starts with an empty "tmp"), names sorted.
        Paths may be absolute or relative to "/"; "..", NUL, over-long names and symbolic links
        leading outside are refused (fault 100).
        """
        return self.sandbox.names(dir_name, "list_contents")

    def list_names(self, dir_name: object) -> list[str]:
        """list(dir_name) => [<filenames>]

        Returns a list containing the contents of
        the named directory.
        """
        return self.sandbox.names(dir_name, "list")

    def directory(self, path: object = "") -> list[str]:
        """dir(path="/") => [<filenames>]: list_contents under an alternate name."""
        return self.sandbox.names(path, "dir")

    def dir_list(self, path: object = "") -> list[str]:
        """dir.list(path="/") => [<filenames>]: list_contents under a dotted name."""
        return self.sandbox.names(path, "dir.list")

    def dir_entries(self, path: object = "") -> list[dict[str, str]]:
        """dir.entries(path="/") => [{name, type}, ...]: a sandbox directory, with entry types.

        type is "directory", "file", "symlink" (not followed) or "other"; sorted by name.
        """
        return self.sandbox.entries(path, "dir.entries")

    def dir_entries_v2(self, path: object) -> list[dict[str, str]]:
        """dir.entries(path) => [{name, type}, ...]: a sandbox directory, with entry types.

        type is "directory", "file", "symlink" (not followed) or "other"; sorted by name.
        Variant 2 needs the path (variant 1 lists "/" without one).
        """
        return self.sandbox.entries(path, "dir.entries")

    def dir_create(self, path: object) -> None:
        """dir.create(path) => nil: make one directory in the sandbox, like os.mkdir.

        Faults: 100 path refused, 101 no such parent, 102 already exists.
        """
        self.sandbox.mkdir(path, "dir.create")

    def dir_remove(self, path: object) -> None:
        """dir.remove(path) => nil: remove one empty directory from the sandbox, like os.rmdir.

        Faults: 100 path refused, 101 no such directory, 103 not empty, 104 not a directory.
        """
        self.sandbox.rmdir(path, "dir.remove")

    # ------------------------------------------------------------ validator1

    def array_of_structs_test(self, array: object) -> int:
        """validator1.arrayOfStructsTest(array of structs) => the sum of every member "curly"."""
        name = "validator1.arrayOfStructsTest"
        items = _array(array, name, "the argument")
        total = 0
        for index, item in enumerate(items):
            total += _member_int(_struct(item, name, f"[{index}]"), "curly", name, f"[{index}]")
        return int(_sendable(total, name))

    def count_the_entities(self, text: object) -> dict[str, int]:
        """validator1.countTheEntities(string) => how many < > & ' " it holds.

        Members: ctLeftAngleBrackets, ctRightAngleBrackets, ctAmpersands, ctApostrophes, ctQuotes.
        """
        s = _string(text, "validator1.countTheEntities", "the argument")
        return {
            "ctLeftAngleBrackets": s.count("<"),
            "ctRightAngleBrackets": s.count(">"),
            "ctAmpersands": s.count("&"),
            "ctApostrophes": s.count("'"),
            "ctQuotes": s.count('"'),
        }

    def easy_struct_test(self, struct: object) -> int:
        """validator1.easyStructTest(struct) => moe + larry + curly."""
        name = "validator1.easyStructTest"
        members = _struct(struct, name, "the argument")
        total = sum(
            _member_int(members, key, name, "the struct") for key in ("moe", "larry", "curly")
        )
        return int(_sendable(total, name))

    def echo_struct_test(self, struct: object) -> dict[str, Any]:
        """validator1.echoStructTest(struct) => the same struct."""
        return _struct(struct, "validator1.echoStructTest", "the argument")

    def many_types_test(
        self,
        number: object,
        boolean: object,
        string: object,
        double: object,
        when: object,
        data: object,
    ) -> list[Any]:
        """validator1.manyTypesTest(int, boolean, string, double, dateTime, base64) => the six, as an array."""  # noqa: E501 (system.methodHelp text)
        return [number, boolean, string, double, when, data]

    def moderate_size_array_check(self, array: object) -> str:
        """validator1.moderateSizeArrayCheck(array of strings) => the first and last joined."""
        name = "validator1.moderateSizeArrayCheck"
        items = _array(array, name, "the argument")
        if not items:
            fail(FAULT_INVALID_PARAMS, name, "the array is empty")
        return _string(items[0], name, "[0]") + _string(items[-1], name, f"[{len(items) - 1}]")

    def nested_struct_test(self, struct: object) -> int:
        """validator1.nestedStructTest(calendar struct) => moe + larry + curly of 2000-04-01.

        The calendar is {year: {month: {day: {moe, larry, curly, ...}}}}, keys as "2000", "04", "01".
        """  # noqa: E501 (system.methodHelp text)
        name = "validator1.nestedStructTest"
        node = _struct(struct, name, "the argument")
        where = "the calendar"
        for key in ("2000", "04", "01"):
            if key not in node:
                fail(FAULT_INVALID_PARAMS, name, f"{where} has no member {key!r}")
            where = f"{where}[{key!r}]"
            node = _struct(node[key], name, where)
        total = sum(_member_int(node, key, name, where) for key in ("moe", "larry", "curly"))
        return int(_sendable(total, name))

    def simple_struct_return_test(self, number: object) -> dict[str, int]:
        """validator1.simpleStructReturnTest(int) => {times10, times100, times1000}."""
        name = "validator1.simpleStructReturnTest"
        n = _int(number, name, "the argument")
        return {
            "times10": int(_sendable(n * 10, name)),
            "times100": int(_sendable(n * 100, name)),
            "times1000": int(_sendable(n * 1000, name)),
        }

    # ------------------------------------------------------------ misbehaviour on demand

    def demo_fault(self, code: object, string: object) -> None:
        """demo.fault(code, string) => (fault): raises an XML-RPC fault with that code and string."""  # noqa: E501 (system.methodHelp text)
        fault_code = _int(code, "demo.fault", "code")
        if not INT32_MIN <= fault_code <= INT32_MAX:
            fail(FAULT_INVALID_PARAMS, "demo.fault", "code must fit in a 32-bit int")
        raise Fault(fault_code, _string(string, "demo.fault", "string"))

    def demo_slow(self, seconds: object) -> int | float:
        """demo.slow(seconds) => seconds, after sleeping that long (0 to 10; shutdown wakes it).

        The server answers fault -32400 when it shuts down during the sleep.
        """
        delay = _number(seconds, "demo.slow", "seconds")
        if not 0 <= delay <= SLOW_MAX_SECONDS:
            fail(
                FAULT_INVALID_PARAMS,
                "demo.slow",
                f"seconds must be between 0 and {SLOW_MAX_SECONDS:g}",
            )
        if self.stopping.wait(delay):
            fail(FAULT_SYSTEM, "demo.slow", "the server is shutting down")
        return delay

    def demo_large(self, n_bytes: object) -> str:
        """demo.large(n_bytes) => an ASCII string of exactly n_bytes characters (at most 64 MiB).

        The text repeats 0-9a-zA-Z, so the same size always gives the same answer.
        """
        size = _int(n_bytes, "demo.large", "n_bytes")
        if not 0 <= size <= LARGE_MAX_BYTES:
            fail(
                FAULT_INVALID_PARAMS,
                "demo.large",
                f"n_bytes must be between 0 and {LARGE_MAX_BYTES}",
            )
        repeats = size // len(_LARGE_PATTERN) + 1
        return (_LARGE_PATTERN * repeats)[:size]

    def demo_large_v2(self, n_bytes: object, pattern: object = _LARGE_PATTERN) -> str:
        """demo.large(n_bytes, pattern="0-9a-zA-Z") => an ASCII string of exactly n_bytes characters.

        The pattern (not empty) is repeated; at most 64 MiB. Variant 2 (variant 1 has no pattern).
        """  # noqa: E501 (system.methodHelp text)
        text = _string(pattern, "demo.large", "pattern")
        if not text:
            fail(FAULT_INVALID_PARAMS, "demo.large", "pattern must not be empty")
        size = _int(n_bytes, "demo.large", "n_bytes")
        if not 0 <= size <= LARGE_MAX_BYTES:
            fail(
                FAULT_INVALID_PARAMS,
                "demo.large",
                f"n_bytes must be between 0 and {LARGE_MAX_BYTES}",
            )
        return (text * (size // len(text) + 1))[:size]

    def demo_features(self) -> list[str]:
        """demo.features() => ["multicall", "nil", "introspection"]: what this server speaks.

        Variant 2 only.
        """
        return ["multicall", "nil", "introspection"]

    def demo_random(self) -> dict[str, Any]:
        """demo.random() => {random: double in [0, 1), time: dateTime (UTC)}; differs every call."""
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        return {"random": self._rng.random(), "time": now}

    def demo_version(self) -> str:
        """demo.version() => "1.0" ("2.0" for variant 2)."""
        return "1.0" if self.variant == 1 else "2.0"

    def demo_crash(self) -> bool:
        """demo.crash() => (no answer): the server closes the connection without responding.

        Simulates a server dying mid-call. Note that the stdlib client sends the call a second
        time when a connection closes before the answer, so the server sees it twice.
        """
        if self._drop_connection is None:
            fail(FAULT_SYSTEM, "demo.crash", "this server cannot drop the connection")
        self._drop_connection()
        return True

    def demo_echo(self, value: object) -> object:
        """demo.echo(value) => value, unchanged: any type, nil included."""
        return value


def expose(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator to set exposed flag on a function (the tutorial's ``expose``)."""
    func.exposed = True  # type: ignore[attr-defined]
    return func


def is_exposed(func: object) -> bool:
    """Test whether another function should be publicly exposed."""
    return bool(getattr(func, "exposed", False))


class PrefixService:
    """The tutorial's ``register_instance`` service whose ``_dispatch`` decides what is public.

    As in ``xmlrpc_instance_with_prefix.py``: only ``prefix.<name>`` of a method marked with
    ``@expose`` runs; anything else this service is asked raises ``Exception('method "..." is not
    supported')``, which the stdlib server answers as fault 1 ``<class 'Exception'>:...``.
    ``claims`` tells which names reach it at all (``prefix.*`` and its own method names, such as
    a bare ``public``), so other unknown methods keep the server's fault -32601.
    ``system.listMethods`` (through ``_listMethods``) shows the exposed methods only.
    """

    PREFIX = "prefix"

    @expose
    def public(self) -> str:
        """prefix.public() => "This is public": exposed through the instance's _dispatch."""
        return "This is public"

    def private(self) -> str:
        """Never reachable over XML-RPC."""
        return "This is private"

    def claims(self, method: str) -> bool:
        """Whether ``method`` is this service's to answer (or to refuse with fault 1)."""
        name = method.removeprefix(self.PREFIX + ".")
        return name != method or (not name.startswith("_") and callable(getattr(self, name, None)))

    def _exposed(self, method: str) -> Callable[..., Any] | None:
        if not method.startswith(self.PREFIX + "."):
            return None
        name = method.partition(".")[2]
        if name.startswith("_"):
            return None
        func: Callable[..., Any] | None = getattr(self, name, None)
        if not callable(func) or not is_exposed(func):
            return None
        return func

    def _listMethods(self) -> list[str]:
        names = (name for name in dir(self) if not name.startswith("_"))
        return [f"{self.PREFIX}.{name}" for name in names if is_exposed(getattr(self, name))]

    def _methodHelp(self, method: str) -> str:
        func = self._exposed(method)
        if func is None:
            fail(FAULT_METHOD_NOT_FOUND, "system.methodHelp", f"no method {method!r}")
        return inspect.getdoc(func) or ""

    def _methodSignature(self, method: str) -> tuple[Signature, ...] | None:
        if self._exposed(method) is None:
            fail(FAULT_METHOD_NOT_FOUND, "system.methodSignature", f"no method {method!r}")
        return (("string",),)

    def _dispatch(self, method: str, params: Sequence[Any]) -> Any:
        func = self._exposed(method)
        if func is None:
            # Exactly the tutorial's refusal: the stdlib server sends it as fault 1.
            raise Exception(f'method "{method}" is not supported')
        return call_with_params(method, func, params)
