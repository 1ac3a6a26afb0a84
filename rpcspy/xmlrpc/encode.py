"""Encode the typed model back to XML-RPC bytes, keeping every wire tag.

``Int`` writes ``<int>``, ``I4`` ``<i4>``, an ``UntypedString`` bare text in ``<value>``, the
Apache ``ex:`` types their namespaced tags (with the namespace declared on the root element).
What cannot be written faithfully is refused with ``BadValue`` naming the value path, rather than
written as XML that would not parse or would mean something else: a character XML 1.0 cannot
carry, an integer outside its tag's range, a NaN, a dateTime that is not ISO 8601, a fault whose
code and string disagree with its struct. Whatever this module writes, ``decode`` reads back to an
equal value.
"""

from __future__ import annotations

import binascii
import math
import re
from collections.abc import Callable
from typing import Final

from lxml import etree

from rpcspy.xmlrpc._datetime import is_iso_datetime
from rpcspy.xmlrpc._fault import code_number, is_fault_string
from rpcspy.xmlrpc._paths import join_path, member_segment
from rpcspy.xmlrpc.decode import EX_NAMESPACE
from rpcspy.xmlrpc.errors import BadValue
from rpcspy.xmlrpc.messages import Fault, MethodCall, MethodResponse
from rpcspy.xmlrpc.values import (
    I4,
    I8,
    Array,
    Base64,
    Boolean,
    DateTime,
    Double,
    ExBigDecimal,
    ExBigInteger,
    ExDateTime,
    ExDom,
    ExFloat,
    ExI1,
    ExI2,
    ExI8,
    ExNil,
    ExSerializable,
    Int,
    IntegerValue,
    Nil,
    NoValue,
    RawValue,
    String,
    Struct,
    UntypedString,
    Value,
    WideI4,
    WideInt,
)

__all__ = ["encode_request", "encode_response", "encode_value"]

_EX_DECLARATION: Final = f' xmlns:ex="{EX_NAMESPACE}"'
_XML_DECLARATION: Final = '<?xml version="1.0"?>\n'
#: Deeper than this is refused: no sane message nests so far, and a value that contains itself
#: would otherwise recurse until Python gives up.
MAX_ENCODE_DEPTH: Final = 256

# Characters outside XML 1.0's Char production (C0 controls but tab/LF/CR, lone surrogates,
# U+FFFE, U+FFFF). No escape can carry them: &#1; is not well-formed XML 1.0 either.
_NOT_XML_CHAR: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class _Unencodable(Exception):
    """Raised deep in the writer; containers add their path segment as it unwinds."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.segments: list[str] = []


class _State:
    """What one encoding run has learned: whether an ``ex:`` tag was written."""

    __slots__ = ("uses_ex",)

    def __init__(self) -> None:
        self.uses_ex = False


_Writer = Callable[[Value, list[str], _State, int], None]


# ---------------------------------------------------------------- public API


def encode_value(v: Value) -> str:
    """One ``<value>`` element as XML text (no XML declaration).

    When an ``ex:`` type is inside, the namespace is declared on this ``<value>`` element, so the
    fragment stands on its own.
    """
    out: list[str] = []
    state = _State()
    _run(_write_value, v, out, state, None)
    text = "".join(out)
    if state.uses_ex:
        text = "<value" + _EX_DECLARATION + text[len("<value") :]
    return text


def encode_request(call: MethodCall) -> bytes:
    """A ``<methodCall>`` document, UTF-8, with an XML declaration."""
    name = call.method
    if not isinstance(name, str):
        raise BadValue(
            f"the method name must be a string, not {type(name).__name__}", path="methodName"
        )
    if not name.strip(" \t\r\n"):
        raise BadValue("the method name is empty", path="methodName")
    out: list[str] = []
    state = _State()
    out.append("<methodName>")
    out.append(_escape_or_raise(name, "the method name", "methodName"))
    out.append("</methodName><params>")
    for i, param in enumerate(call.params):
        out.append("<param>")
        _run(_write_value, param, out, state, f"params[{i}]")
        out.append("</param>")
    out.append("</params></methodCall>\n")
    root = "<methodCall" + (_EX_DECLARATION if state.uses_ex else "") + ">"
    return (_XML_DECLARATION + root + "".join(out)).encode("utf-8")


def encode_response(msg: MethodResponse | Fault, *, tolerant: bool = False) -> bytes:
    """A ``<methodResponse>`` document holding the value or the fault, UTF-8.

    A fault must have an integer faultCode and a string faultString, unless ``tolerant``: then
    a fault the tolerant reading kept (a string faultCode, say) is written back as it came.
    """
    out: list[str] = []
    state = _State()
    if isinstance(msg, Fault):
        _check_fault(msg, tolerant)
        out.append("<fault>")
        _run(_write_value, msg.value, out, state, "fault")
        out.append("</fault>")
    elif isinstance(msg, MethodResponse) and type(msg.value) is NoValue:
        out.append("<params></params>")  # as read: a response without a value
    elif isinstance(msg, MethodResponse):
        out.append("<params><param>")
        _run(_write_value, msg.value, out, state, "result")
        out.append("</param></params>")
    else:
        raise BadValue(f"not a response or a fault: {type(msg).__name__}")
    out.append("</methodResponse>\n")
    root = "<methodResponse" + (_EX_DECLARATION if state.uses_ex else "") + ">"
    return (_XML_DECLARATION + root + "".join(out)).encode("utf-8")


def _run(write: _Writer, v: Value, out: list[str], state: _State, base: str | None) -> None:
    try:
        write(v, out, state, 0)
    except _Unencodable as e:
        raise BadValue(e.reason, path=join_path(base, e.segments)) from None
    except RecursionError:
        raise BadValue(
            "the value is nested too deeply to encode (does it contain itself?)", path=base
        ) from None


def _check_fault(fault: Fault, tolerant: bool) -> None:
    value = fault.value
    if not isinstance(value, Struct):
        raise BadValue(
            f"a fault's value must be a struct, not {type(value).__name__}", path="fault"
        )
    code = value.get("faultCode")
    string = value.get("faultString")
    # A fault read tolerantly may carry a faultCode that is no integer (XMLRPC::Lite's "Client"),
    # a faultString that is no string, or lack either: written back as it came, if it agrees
    # with the Fault (a missing faultCode is code 0).
    if not (tolerant and (code is None or _tolerated_code(code))) and not isinstance(
        code, IntegerValue
    ):
        raise BadValue("the fault struct needs an integer faultCode member", path="fault.faultCode")
    if not (tolerant and (string is None or _tolerated_code(string))) and not is_fault_string(
        string
    ):
        raise BadValue(
            "the fault struct needs a string faultString member", path="fault.faultString"
        )
    number = code_number(code) if code is not None else 0
    text = str(string) if isinstance(string, str) else None
    if number != fault.code or (text is not None and text != fault.string):
        raise BadValue(
            f"the fault says code {fault.code} / {fault.string!r} but its struct says "
            f"{number} / {text if text is not None else string!r}",
            path="fault",
        )


def _tolerated_code(code: Value) -> bool:
    """A scalar a tolerant reading keeps as a faultCode or faultString."""
    return isinstance(code, String | Boolean | Double | IntegerValue | RawValue)


# ---------------------------------------------------------------- writers


def _write_value(v: Value, out: list[str], state: _State, depth: int) -> None:
    writer = _WRITERS.get(type(v))
    if writer is None:
        writer = _writer_for_subclass(v)
    writer(v, out, state, depth)


def _writer_for_subclass(v: object) -> _Writer:
    for cls in type(v).__mro__[1:]:
        writer = _WRITERS.get(cls)
        if writer is not None:
            return writer
    raise _Unencodable(
        f"not an XML-RPC value: {type(v).__name__} (use from_python() to type plain values)"
    )


def _escape(text: str) -> str:
    """Escape for element content. A carriage return becomes &#13;, which parsers keep (a raw
    one they would turn into a line feed)."""
    bad = _NOT_XML_CHAR.search(text)
    if bad is not None:
        char = bad.group()
        raise _Unencodable(
            f"the text holds {char!r} (U+{ord(char):04X}) at offset {bad.start()}, "
            "a character XML 1.0 cannot carry, not even escaped"
        )
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:  # ">" itself is legal, but "]]>" is not: escape every one, simply
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def _escape_or_raise(text: str, what: str, path: str) -> str:
    try:
        return _escape(text)
    except _Unencodable as e:
        raise BadValue(f"{what}: {e.reason}", path=path) from None


def _scalar_writer(tag: str) -> Callable[[str, list[str]], None]:
    open_tag = f"<value><{tag}>"
    close_tag = f"</{tag}></value>"

    def write(text: str, out: list[str]) -> None:
        out.append(open_tag)
        out.append(text)
        out.append(close_tag)

    return write


def _integer_writer(cls: type[IntegerValue]) -> _Writer:
    emit = _scalar_writer(cls.tag)
    lo, hi = cls.min, cls.max
    uses_ex = cls.tag.startswith("ex:")

    def write(v: Value, out: list[str], state: _State, depth: int) -> None:
        assert isinstance(v, int)
        number = int(v)
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise _Unencodable(f"{number} is out of range for <{cls.tag}> ({lo} to {hi})")
        try:
            text = str(number)
        except ValueError:
            raise _Unencodable(f"<{cls.tag}> has too many digits to write") from None
        if uses_ex:
            state.uses_ex = True
        emit(text, out)

    return write


def _write_boolean(v: Value, out: list[str], state: _State, depth: int) -> None:
    out.append(
        "<value><boolean>1</boolean></value>" if v else "<value><boolean>0</boolean></value>"
    )


def _double_writer(cls: type[Double]) -> _Writer:
    emit = _scalar_writer(cls.tag)
    uses_ex = cls.tag.startswith("ex:")

    def write(v: Value, out: list[str], state: _State, depth: int) -> None:
        assert isinstance(v, float)
        number = float(v)
        if not math.isfinite(number):
            raise _Unencodable(f"<{cls.tag}> cannot be {number!r}: XML-RPC doubles are finite")
        if uses_ex:
            state.uses_ex = True
        emit(repr(number), out)  # repr is the shortest text that reads back exactly

    return write


def _write_bigdecimal(v: Value, out: list[str], state: _State, depth: int) -> None:
    assert isinstance(v, ExBigDecimal)
    if not v.is_finite():
        raise _Unencodable(f"<ex:bigdecimal> cannot be {v!s}")
    state.uses_ex = True
    out.append("<value><ex:bigdecimal>")
    out.append(str(v))
    out.append("</ex:bigdecimal></value>")


def _string_writer(cls: type[String]) -> _Writer:
    emit = _scalar_writer(cls.tag)
    uses_ex = cls.tag.startswith("ex:")

    def write(v: Value, out: list[str], state: _State, depth: int) -> None:
        assert isinstance(v, str)
        if uses_ex:
            state.uses_ex = True
        emit(_escape(v), out)

    return write


def _write_untyped(v: Value, out: list[str], state: _State, depth: int) -> None:
    assert isinstance(v, str)
    out.append("<value>")
    out.append(_escape(v))
    out.append("</value>")


def _datetime_writer(cls: type[DateTime]) -> _Writer:
    emit = _scalar_writer(cls.tag)
    uses_ex = cls.tag.startswith("ex:")

    def write(v: Value, out: list[str], state: _State, depth: int) -> None:
        assert isinstance(v, str)
        if not is_iso_datetime(v):
            raise _Unencodable(f"<{cls.tag}> is not an ISO 8601 date-time: {str(v)[:40]!r}")
        if uses_ex:
            state.uses_ex = True
        emit(_escape(v), out)

    return write


def _base64_writer(cls: type[Base64]) -> _Writer:
    emit = _scalar_writer(cls.tag)
    uses_ex = cls.tag.startswith("ex:")

    def write(v: Value, out: list[str], state: _State, depth: int) -> None:
        assert isinstance(v, bytes)
        if uses_ex:
            state.uses_ex = True
        emit(binascii.b2a_base64(v, newline=False).decode("ascii"), out)

    return write


def _write_raw(v: Value, out: list[str], state: _State, depth: int) -> None:
    assert isinstance(v, RawValue)
    xml = v.xml
    # Written as is, like ex:dom: it must be one well-formed element, or nothing would parse.
    if _NOT_XML_CHAR.search(xml) is not None or "<!DOCTYPE" in xml or "<!ENTITY" in xml:
        raise _Unencodable("a raw value's markup is not a well-formed XML element")
    try:
        element = etree.fromstring(f"<w>{xml}</w>".encode(), _FRAGMENT_PARSER)
    except etree.XMLSyntaxError as e:
        raise _Unencodable(f"a raw value's markup is not well-formed XML: {e.msg}") from None
    if len(element) != 1 or (element.text or "").strip() or (element[0].tail or "").strip():
        raise _Unencodable("a raw value's markup must be exactly one element")
    out.append("<value>")
    out.append(xml)
    out.append("</value>")


def _write_no_value(v: Value, out: list[str], state: _State, depth: int) -> None:
    raise _Unencodable("a missing result (NoValue) can only stand for a whole response's value")


def _write_nil(v: Value, out: list[str], state: _State, depth: int) -> None:
    out.append("<value><nil/></value>")


def _write_ex_nil(v: Value, out: list[str], state: _State, depth: int) -> None:
    state.uses_ex = True
    out.append("<value><ex:nil/></value>")


_FRAGMENT_PARSER: Final = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True
)


def _write_dom(v: Value, out: list[str], state: _State, depth: int) -> None:
    assert isinstance(v, str)
    # The text is markup, written as is; it must be a well-formed fragment or the whole message
    # would not parse.
    if _NOT_XML_CHAR.search(v) is not None or "<!DOCTYPE" in v:
        raise _Unencodable("<ex:dom> text is not a well-formed XML fragment")
    try:
        etree.fromstring(f"<w>{v}</w>".encode(), _FRAGMENT_PARSER)
    except etree.XMLSyntaxError as e:
        raise _Unencodable(f"<ex:dom> text is not a well-formed XML fragment: {e.msg}") from None
    state.uses_ex = True
    out.append("<value><ex:dom>")
    out.append(v)
    out.append("</ex:dom></value>")


def _write_struct(v: Value, out: list[str], state: _State, depth: int) -> None:
    assert isinstance(v, Struct)
    if depth >= MAX_ENCODE_DEPTH:
        raise _Unencodable(f"values nested more than {MAX_ENCODE_DEPTH} levels deep")
    depth += 1
    out.append("<value><struct>")
    write = _write_value
    for name, item in v.items():
        try:
            if not isinstance(name, str):
                raise _Unencodable(f"a struct member name must be a string, not {name!r}")
            out.append("<member><name>")
            out.append(_escape(name))
            out.append("</name>")
            write(item, out, state, depth)
            out.append("</member>")
        except _Unencodable as e:
            e.segments.append(member_segment(str(name)))
            raise
    out.append("</struct></value>")


def _write_array(v: Value, out: list[str], state: _State, depth: int) -> None:
    assert isinstance(v, Array)
    if depth >= MAX_ENCODE_DEPTH:
        raise _Unencodable(f"values nested more than {MAX_ENCODE_DEPTH} levels deep")
    depth += 1
    out.append("<value><array><data>")
    write = _write_value
    for i, item in enumerate(v):
        try:
            write(item, out, state, depth)
        except _Unencodable as e:
            e.segments.append(f"[{i}]")
            raise
    out.append("</data></array></value>")


_WRITERS: Final[dict[type, _Writer]] = {
    I4: _integer_writer(I4),
    Int: _integer_writer(Int),
    I8: _integer_writer(I8),
    ExI1: _integer_writer(ExI1),
    ExI2: _integer_writer(ExI2),
    ExI8: _integer_writer(ExI8),
    ExBigInteger: _integer_writer(ExBigInteger),
    Boolean: _write_boolean,
    String: _string_writer(String),
    UntypedString: _write_untyped,
    ExDom: _write_dom,
    DateTime: _datetime_writer(DateTime),
    ExDateTime: _datetime_writer(ExDateTime),
    Double: _double_writer(Double),
    ExFloat: _double_writer(ExFloat),
    ExBigDecimal: _write_bigdecimal,
    Base64: _base64_writer(Base64),
    ExSerializable: _base64_writer(ExSerializable),
    Nil: _write_nil,
    ExNil: _write_ex_nil,
    NoValue: _write_no_value,
    RawValue: _write_raw,
    WideI4: _integer_writer(WideI4),
    WideInt: _integer_writer(WideInt),
    Struct: _write_struct,
    Array: _write_array,
}
