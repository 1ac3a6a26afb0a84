"""Typed values written as one short command-line word: ``i4:5``, ``string:x``, ``{"a": 1}``.

The syntax of ``rpcspy call``'s arguments (and of any editor that wants one line per value):

==========================  ==============================================================
``TYPE:TEXT``               that wire type: ``i4:5``, ``int:5``, ``i8:5``, ``double:1.5``,
                            ``boolean:true`` (or ``1``/``0``), ``string:x`` (the text after
                            the first colon, as it is), ``base64:aGk=``,
                            ``datetime:20261201T10:00:00`` (``dateTime.iso8601:`` too)
``nil``                     ``<nil/>``
``@FILE``                   base64 of the file's bytes (read by the caller: see ``read_file``)
``5``, ``-2``, ``1.5``      bare numbers: ``int`` (``i8`` past 32 bits), ``double``
``true``, ``false``         ``boolean``
``{...}``, ``[...]``        JSON: a struct or an array of natural types (``null`` is nil)
``json:TEXT``               JSON whatever it holds: ``json:"5"`` is the string ``5``
``typed:TEXT``              the typed JSON form of ``rpcspy.xmlrpc.jsonform``
                            (``typed:{"i4": 5}``), which writes every value there is
anything else               a ``string``: ``hello``, ``a b``, ``http://x``
==========================  ==============================================================

``parse_arg`` reads one word; ``format_arg`` writes a value back so that ``parse_arg`` gives the
same typed value again (the shortest form that does, else ``typed:``). Pure: ``@FILE`` is read
by a function the caller passes, so nothing here touches the filesystem.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Final

from rpcspy.xmlrpc.errors import BadValue
from rpcspy.xmlrpc.jsonform import value_from_json, value_to_json
from rpcspy.xmlrpc.values import (
    I4,
    I8,
    Base64,
    Boolean,
    DateTime,
    Double,
    Int,
    IntegerValue,
    Nil,
    String,
    Value,
    from_python,
    parse_datetime,
)

__all__ = ["ARG_SYNTAX", "format_arg", "parse_arg"]

#: One line per form, for ``--help`` texts.
ARG_SYNTAX: Final = (
    "i4:5 int:5 i8:5 double:1.5 boolean:true string:x base64:aGk= @FILE\n"
    "datetime:20261201T10:00:00 nil; bare 5, 1.5, true, false; JSON {...} [...];\n"
    'json:"5" (JSON, any value); typed:{"i4": 5} (rpcspy\'s typed JSON); else a string'
)

_INT: Final = re.compile(r"[+-]?\d+\Z", re.ASCII)
_FLOAT: Final = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][+-]?\d+)?\Z", re.ASCII)
_TRUE: Final = ("true", "1")
_FALSE: Final = ("false", "0")


def _integer(cls: type[IntegerValue]) -> Callable[[str], Value]:
    def parse(text: str) -> Value:
        if not _INT.match(text.strip()):
            raise BadValue(f"{cls.label}: {text!r} is not an integer")
        number = int(text)
        if (cls.min is not None and number < cls.min) or (cls.max is not None and number > cls.max):
            raise BadValue(f"{cls.label}: {number} does not fit (from {cls.min} to {cls.max})")
        return cls(number)

    return parse


def _double(text: str) -> Value:
    try:
        return Double(float(text))
    except ValueError:
        raise BadValue(f"double: {text!r} is not a number") from None


def _boolean(text: str) -> Value:
    word = text.strip().lower()
    if word in _TRUE:
        return Boolean(True)
    if word in _FALSE:
        return Boolean(False)
    raise BadValue(f"boolean: {text!r} is neither true/false nor 1/0")


def _base64(text: str) -> Value:
    try:
        return Base64(base64.b64decode("".join(text.split()), validate=True))
    except (binascii.Error, ValueError):
        raise BadValue(f"base64: {text!r} is not base64 text") from None


def _datetime(text: str) -> Value:
    if parse_datetime(text) is None:
        raise BadValue(f"datetime: {text!r} is not a date and time like 20261201T10:00:00")
    return DateTime(text)


def _json(text: str) -> Value:
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise BadValue(f"JSON: {exc}") from None
    return from_python(obj)


def _typed_json(text: str) -> Value:
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise BadValue(f"typed: {exc}") from None
    return value_from_json(obj)


#: The ``TYPE:`` prefixes and what reads the text after them.
_PREFIXES: Final[dict[str, Callable[[str], Value]]] = {
    "i4": _integer(I4),
    "int": _integer(Int),
    "i8": _integer(I8),
    "double": _double,
    "boolean": _boolean,
    "string": String,
    "base64": _base64,
    "datetime": _datetime,
    "dateTime.iso8601": _datetime,
    "json": _json,
    "typed": _typed_json,
}


def parse_arg(text: str, *, read_file: Callable[[str], bytes] | None = None) -> Value:
    """The typed value one word stands for (see the module's table); raises ``BadValue``.

    ``@FILE`` becomes ``base64`` of ``read_file(FILE)``; without ``read_file`` it is refused. An
    ``OSError`` from ``read_file`` becomes a ``BadValue`` naming the file.
    """
    prefix, colon, rest = text.partition(":")
    if colon and prefix in _PREFIXES:
        return _PREFIXES[prefix](rest)
    if text.startswith("@") and len(text) > 1:
        if read_file is None:
            raise BadValue(f"{text}: files are not read here; give base64:TEXT")
        try:
            return Base64(read_file(text[1:]))
        except OSError as exc:
            raise BadValue(f"cannot read {text[1:]}: {exc.strerror or exc}") from None
    if text == "nil":
        return Nil()
    if text in ("true", "false"):
        return Boolean(text == "true")
    if _INT.match(text):
        return from_python(int(text))
    if _FLOAT.match(text):
        return Double(float(text))
    if text.startswith(("{", "[")):
        return _json(text)
    return String(text)


def _short_form(value: Value) -> str | None:
    if isinstance(value, Boolean):
        return "true" if value else "false"
    if type(value) in (I4, I8, Int):
        assert isinstance(value, IntegerValue)
        number = str(int(value))
        return number if type(value) is Int else f"{value.tag}:{number}"
    if type(value) is Double:
        return float.__repr__(value)
    if type(value) is String:
        return str.__str__(value)
    if type(value) is DateTime:
        return f"datetime:{str.__str__(value)}"
    if type(value) is Base64:
        return "base64:" + base64.b64encode(value).decode("ascii")
    if type(value) is Nil:
        return "nil"
    return None


def format_arg(value: Value) -> str:
    """``value`` written so that ``parse_arg`` reads it back as the same typed value.

    The shortest form that does: a bare ``5``, ``hello`` or ``true``, a ``TYPE:`` prefix, plain
    JSON for a struct or array of natural types, and ``typed:`` JSON for everything else.
    """
    candidates = [_short_form(value)]
    if candidates[0] is not None and type(value) is String:
        candidates.append("string:" + str.__str__(value))
    if candidates[0] is None and type(value) is Double:
        candidates.append("double:" + float.__repr__(value))
    try:
        # Plain JSON for containers (and anything) whose every value is its natural type.
        plain = json.dumps(_natural(value), ensure_ascii=False, allow_nan=False)
        candidates.append(plain if plain.startswith(("{", "[")) else "json:" + plain)
    except _NotNatural:
        pass
    for candidate in candidates:
        if candidate is None:
            continue
        try:
            if parse_arg(candidate) == value:
                return candidate
        except BadValue:
            continue
    return "typed:" + json.dumps(value_to_json(value), ensure_ascii=False)


class _NotNatural(Exception):
    pass


def _natural(value: Value) -> object:
    """Plain JSON data for ``value`` when JSON's types say all of it, else ``_NotNatural``."""
    if isinstance(value, dict):
        return {k: _natural(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_natural(v) for v in value]
    if type(value) is Boolean:
        return bool(value)
    if isinstance(value, Int | I8) and from_python(int(value)) == value:
        return int(value)
    if type(value) is Double:
        return float(value)
    if type(value) is String:
        return str.__str__(value)
    if type(value) is Nil:
        return None
    raise _NotNatural
