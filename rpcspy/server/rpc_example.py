"""The procedures of ``examples/rpc_example.x``, the ONC RPC tutorial's example program.

The tutorial describes an rpcgen interface with a few procedures over strings, ints, a struct
and a union; ``rpc_example.x`` writes it down and ``examples/rpc_example_server.c`` implements it
in C. These are the same procedures in Python, with the same answers, so the rpcgen C client
prints the same lines against ``rpcspy serve --protocol oncrpc`` as against the C server:

- ``ECHO(string)``: the string back;
- ``ADD(intpair)``: ``a + b``, wrapping around like the wire's 32-bit int;
- ``LOOKUP(unsigned int)``: a ``lookup_result`` union: status 0 and the person for ids 1 (Ada
  Lovelace, whose optional ``manager`` is Charles Babbage) and 2 (Charles Babbage), else status
  404 and ``no person with id N``;
- ``AREA(shape)``: the area of a circle, rectangle or square (a union on ``enum shape_kind``).

They are looked up by procedure name, so another ``.x`` that names a procedure the same way gets
it; a procedure with no implementation here is answered ``PROC_UNAVAIL``.
"""

from __future__ import annotations

import math
from typing import Final

from rpcspy.oncrpc import Double, Enum, Float, Int, Optional, Struct, Union, Value
from rpcspy.oncrpc.values import IntegerValue

__all__ = ["EXAMPLE_PROCEDURES", "PEOPLE"]


def _field(value: Value, name: str) -> Value:
    if not isinstance(value, Struct):
        raise TypeError(f"struct expected, not {value!r}")
    return value[name]


def _int(value: Value) -> int:
    if not isinstance(value, IntegerValue):
        raise TypeError(f"an integer expected, not {value!r}")
    return int(value)


def _float(value: Value) -> float:
    if not isinstance(value, Double | Float):
        raise TypeError(f"a double expected, not {value!r}")
    return float(value)


def _person(
    name: str, age: int, ident: int, admin: bool, tags: list[str], manager: object
) -> dict[str, object]:
    return {
        "name": name,
        "age": age,
        "id": ident,
        "admin": admin,
        "tags": tags,
        "manager": Optional(None) if manager is None else manager,
    }


_CHARLES: Final = _person("Charles Babbage", 79, 1791, True, ["engines"], None)
_ADA: Final = _person("Ada Lovelace", 36, -1815, False, ["math", "poetry"], _CHARLES)
#: The server's little directory, by id (as in rpc_example_server.c).
PEOPLE: Final[dict[int, dict[str, object]]] = {1: _ADA, 2: _CHARLES}


def echo(args: tuple[Value, ...]) -> object:
    """ECHO: the string as it came."""
    return args[0]


def add(args: tuple[Value, ...]) -> object:
    """ADD: the sum, wrapped to 32 bits as the C server's unsigned addition does."""
    a, b = _int(_field(args[0], "a")), _int(_field(args[0], "b"))
    return Int(((a + b + 2**31) % 2**32) - 2**31)


def lookup(args: tuple[Value, ...]) -> object:
    """LOOKUP: the person with this id, or status 404 and why."""
    ident = _int(args[0])
    found = PEOPLE.get(ident)
    if found is not None:
        return Union("lookup_result", Int(0), "found", found)  # type: ignore[arg-type]
    return Union("lookup_result", Int(404), "error", f"no person with id {ident}")  # type: ignore[arg-type]


def area(args: tuple[Value, ...]) -> object:
    """AREA: pi r r, width x height or side x side, in the C server's order of operations."""
    shape = args[0]
    if not isinstance(shape, Union) or not isinstance(shape.discriminant, Enum):
        raise TypeError(f"shape expected, not {shape!r}")
    kind = shape.discriminant.name
    if kind == "CIRCLE":
        r = _float(shape.value)
        return math.pi * r * r
    if kind == "RECTANGLE":
        width = _float(_field(shape.value, "width"))
        height = _float(_field(shape.value, "height"))
        return width * height
    side = _float(shape.value)
    return side * side


#: The implementations, by procedure name.
EXAMPLE_PROCEDURES: Final = {"ECHO": echo, "ADD": add, "LOOKUP": lookup, "AREA": area}
