"""Decode XML-RPC bodies (bytes) into the typed model.

Strict where the meaning is at stake, tolerant where it is not: whitespace between elements,
comments, CDATA, any encoding Python knows, blank lines before the XML declaration are all fine;
a DTD, an out-of-range integer, text beside a typed element, an unknown element or a duplicate
struct member is not. Every failure is a ``CodecError`` with the line (and column, where libxml2
knows it) and the value path (``params[0].tags[2]``, ``result.name``, ``fault.faultCode``).

Three steps. ``_prolog.prepare_body`` checks the size limit, settles the encoding and refuses any
DOCTYPE before a parser sees a byte. libxml2 (through lxml) parses with entities never resolved
and no network. A plain-Python walk over the tree checks the structure and builds the values.

The walk is what costs, so it is written for speed: each element's tag and text are read once,
blank text between elements is dropped by the parser (so the checks are mostly "is None"), the
common types are decoded inline, and everything an error needs (message, line, value path) is
worked out only when one is raised, from the failing element's ancestors.

The tolerant reading (``tolerant.py``) runs this same walk with a list in ``_PARSERS.notes``. The
branches that accept a form the spec does not (whitespace around a number, an extension type)
note it there, and the error paths of values whose meaning is still clear (an ``<i4>`` beyond 32
bits, a string faultCode, an unknown type element, a repeated member) keep the value and note it
instead of raising. Without the list, those paths raise exactly as they always have, and the
conformant path never looks at it.
"""

from __future__ import annotations

import binascii
import copy
import dataclasses
import math
import re
import threading
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Final, NoReturn, cast

from lxml import etree

from rpcspy.xmlrpc._datetime import SPEC_FORM, datetime_form
from rpcspy.xmlrpc._fault import fault_from_struct
from rpcspy.xmlrpc._paths import join_path, member_segment
from rpcspy.xmlrpc._prolog import prepare_body
from rpcspy.xmlrpc.errors import BadValue, CodecError, MalformedXml, UnsafeXml
from rpcspy.xmlrpc.findings import Finding
from rpcspy.xmlrpc.messages import DEFAULT_LIMITS, Fault, Limits, MethodCall, MethodResponse
from rpcspy.xmlrpc.render import format_scalar
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
    RawValue,
    String,
    Struct,
    UntypedString,
    Value,
    WideI4,
    WideInt,
)

__all__ = ["EX_NAMESPACE", "decode_message", "decode_request", "decode_response"]

#: Apache XML-RPC's extension namespace; ``ex:`` elements are recognised by it, not by prefix.
EX_NAMESPACE: Final = "http://ws.apache.org/xmlrpc/namespaces/extensions"
_EX: Final = "{" + EX_NAMESPACE + "}"
_WS: Final = " \t\r\n"

_Element = etree._Element
_Handler = Callable[[_Element, int], Value]
#: A form the tolerant reading reports: rule, element, and the sentence (None: worded later).
_NoteEntry = tuple[str, _Element, str | None]

_EMPTY_UNTYPED: Final = UntypedString("")
_EMPTY_STRING: Final = String("")
_TRUE: Final = Boolean(1)
_FALSE: Final = Boolean(0)
_LIBXML_DEPTH: Final = re.compile(r"Excessive depth|depth .* exceeds|maximum depth", re.I)
_LIBXML_POSITION: Final = re.compile(r",? line \d+, column \d+\s*$")
# Below this many children, a slice (one list of proxies) is cheaper than an lxml iterator,
# whose setup costs as much as a few hundred ns; above it the list's memory is not worth it.
# (lxml-stubs do not know slices, hence the "type: ignore"s where it is used.)
_SLICE_BELOW: Final = 64
_OTHER_REFERENCE: Final = re.compile(rb"&(?!(?:lt|gt|amp|apos|quot);|#)")


def _make_parser(*, remove_blank_text: bool) -> etree.XMLParser:
    return etree.XMLParser(
        remove_blank_text=remove_blank_text,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
        strip_cdata=True,
        # Our own limits (max_bytes before parsing, max_depth while walking) bound the
        # document; libxml2's default caps (10 MB text nodes, 256 levels) would refuse
        # legitimate large base64 blobs and the configured depth.
        huge_tree=True,
        collect_ids=False,
    )


class _Parsers(threading.local):
    """One pair of parsers per thread, driven through feed()/close().

    feed()/close() reuses the parser's push context, which costs about 2 µs less per message
    than fromstring() setting up a fresh read context: a third of the parse of a small message.
    A feed parser holds state between the two calls, hence one per thread.

    ``fast`` drops blank text between elements (libxml2's NOBLANKS), so the walk sees None where
    a pretty-printer put whitespace. That is exact except for blanks right before a comment, CDATA
    section or processing instruction, or among carriage returns, inside a string, which it would
    drop too: ``prepare_body`` sends bodies where either can happen to ``exact``, which keeps
    every text node.
    """

    #: Where the walk notes each form it accepts that the spec does not (whitespace around an
    #: integer, a dateTime in another ISO 8601 form, an extension type): a list while the
    #: tolerant reading runs (``tolerant.py`` makes findings of them), None otherwise. Only the
    #: branches that accept such forms look at it.
    notes: list[_NoteEntry] | None = None

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        self.fast = _make_parser(remove_blank_text=True)
        self.exact = _make_parser(remove_blank_text=False)


_PARSERS: Final = _Parsers()


def _plain_dataclass(cls: type, names: tuple[str, ...]) -> bool:
    """Whether ``cls.__init__`` does nothing but store ``names``, each in its slot."""
    return (
        dataclasses.is_dataclass(cls)
        and tuple(f.name for f in dataclasses.fields(cls)) == names
        and cls.__dict__.get("__slots__") == names
        and not hasattr(cls, "__post_init__")
    )


# A frozen dataclass's __init__ stores each field through object.__setattr__, which costs a
# small message about as much as walking one of its values. When that is all it does, the
# slots are filled directly instead.
if _plain_dataclass(MethodCall, ("method", "params")) and _plain_dataclass(
    MethodResponse, ("value",)
):
    _new = object.__new__
    _set_method = MethodCall.__dict__["method"].__set__
    _set_params = MethodCall.__dict__["params"].__set__
    _set_value = MethodResponse.__dict__["value"].__set__

    def _method_call(method: str, params: tuple[Value, ...]) -> MethodCall:
        call: MethodCall = _new(MethodCall)
        _set_method(call, method)
        _set_params(call, params)
        return call

    def _method_response(value: Value) -> MethodResponse:
        response: MethodResponse = _new(MethodResponse)
        _set_value(response, value)
        return response

else:  # pragma: no cover - messages.py changed: use the real constructors
    _method_call = MethodCall
    _method_response = MethodResponse


# ---------------------------------------------------------------- public API


def decode_message(
    body: bytes, limits: Limits = DEFAULT_LIMITS
) -> MethodCall | MethodResponse | Fault:
    """Decode a ``<methodCall>`` or a ``<methodResponse>``; raises only ``CodecError``
    subclasses."""
    return _decode(body, limits, None)


def decode_request(body: bytes, limits: Limits = DEFAULT_LIMITS) -> MethodCall:
    """Decode a ``<methodCall>`` body; anything else is a ``MalformedXml``."""
    return cast(MethodCall, _decode(body, limits, "methodCall"))


def decode_response(body: bytes, limits: Limits = DEFAULT_LIMITS) -> MethodResponse | Fault:
    """Decode a ``<methodResponse>`` body (a value or a fault)."""
    return cast("MethodResponse | Fault", _decode(body, limits, "methodResponse"))


def _decode(
    body: bytes, limits: Limits, expected: str | None
) -> MethodCall | MethodResponse | Fault:
    try:
        data, keep_blanks = prepare_body(body, limits)
        root = _parse(data, keep_blanks)
        tag = root.tag
        if expected is not None and tag != expected:
            raise _wrong_root(root, expected)
        try:
            if tag == "methodCall":
                return _decode_call_root(root, limits.max_depth)
            if tag == "methodResponse":
                return _decode_response_root(root, limits.max_depth)
        except _NeedsExactParse:
            # An ex:dom fragment: its blank text is content, which the fast parser drops.
            if _PARSERS.notes:
                _PARSERS.notes.clear()  # noted by the first walk, which did not finish
            return _decode_root(_parse(data, True), limits.max_depth, expected)
        raise _wrong_root(root, None)
    except CodecError:
        raise
    except RecursionError:
        raise UnsafeXml(
            f"values nested too deeply for this decoder (max_depth={limits.max_depth})"
        ) from None
    except MemoryError:
        raise
    except Exception as e:  # pragma: no cover - the contract: nothing but CodecError escapes
        raise MalformedXml(f"internal decoder error ({type(e).__name__}: {e})") from e


def _decode_root(
    root: _Element, room: int, expected: str | None
) -> MethodCall | MethodResponse | Fault:
    tag = root.tag
    if expected is not None and tag != expected:
        raise _wrong_root(root, expected)
    if tag == "methodCall":
        return _decode_call_root(root, room)
    if tag == "methodResponse":
        return _decode_response_root(root, room)
    raise _wrong_root(root, None)


# ---------------------------------------------------------------- parsing


class _NeedsExactParse(Exception):
    """Raised by the walk when the fast parse may have dropped text that matters."""


def _parse(data: bytes, exact: bool) -> _Element:
    parsers = _PARSERS
    parser = parsers.exact if exact else parsers.fast
    if data.find(b"&") >= 0 and _may_hold_entity(data):
        # With entities left unresolved, lxml's feed interface ignores "Entity 'x' not
        # defined" and can hand back the tree built up to that point; fromstring() refuses it.
        # Without an "&" there is no entity reference, and the two agree.
        return _parse_whole(data, parser)
    try:
        parser.feed(data)
        return parser.close()
    except etree.XMLSyntaxError as e:
        # lxml has already ended the failed document: the parser is ready for the next one.
        raise _syntax_error(e, data) from None
    except BaseException as e:
        # Anything else (an interrupt between feed() and close(), say) may leave a document
        # half-fed, and the next body would be appended to it.
        parsers.renew()
        if isinstance(e, ValueError | LookupError):
            raise MalformedXml(f"not well-formed XML: {e}") from None
        raise


def _may_hold_entity(data: bytes) -> bool:
    """Whether ``data``, holding an "&" byte, may hold a reference to an undefined entity."""
    bom = data[:2]
    if bom == b"\xff\xfe":  # UTF-16, handed to libxml2 as it came: "&" is one code unit
        needle = b"&\x00"
    elif bom == b"\xfe\xff":
        needle = b"\x00&"
    else:
        # Character references and the five predefined entities are always defined.
        return _OTHER_REFERENCE.search(data) is not None
    at = data.find(needle)
    while at >= 0:
        if at % 2 == 0:
            return True
        at = data.find(needle, at + 1)
    return False


def _parse_whole(data: bytes, parser: etree.XMLParser) -> _Element:
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise _syntax_error(e, data) from None
    except (ValueError, LookupError) as e:
        raise MalformedXml(f"not well-formed XML: {e}") from None


def _syntax_error(e: etree.XMLSyntaxError, data: bytes) -> CodecError:
    msg = _LIBXML_POSITION.sub("", str(e.msg or "")).strip() or "parse error"
    position: tuple[int, int] | None = e.position
    line: int | None = position[0] if position and position[0] > 0 else None
    column: int | None = position[1] if position and position[1] > 0 else None
    if _LIBXML_DEPTH.search(msg):
        return UnsafeXml(
            f"elements nested deeper than the XML parser allows ({msg})", line=line, column=column
        )
    if _at_end(data, line, column):
        return MalformedXml(
            f"the XML ends too early (truncated body?): {msg}", line=line, column=column
        )
    return MalformedXml(f"not well-formed XML: {msg}", line=line, column=column)


def _at_end(data: bytes, line: int | None, column: int | None) -> bool:
    if line is None:
        return False
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 handed to libxml2 as it came
        data = data.decode("utf-16", "replace").encode("utf-8")
    stripped = data.rstrip(b" \t\r\n")
    last_line = stripped.count(b"\n") + 1
    if line != last_line:
        return line > last_line
    if column is None:
        return True
    return column >= len(stripped) - stripped.rfind(b"\n")


def _wrong_root(root: _Element, expected: str | None) -> MalformedXml:
    want = f"<{expected}>" if expected else "<methodCall> or <methodResponse>"
    return MalformedXml(
        f"not an XML-RPC message: the root element is <{_name(root)}>, expected {want}",
        line=_line(root),
    )


# ---------------------------------------------------------------- messages
#
# The walk is the hot path. It reads each element's tag and text once, checks structure with
# plain comparisons, and leaves every message string, path and line to the cold functions at the
# bottom. Texts and tails between elements are tested only for "is not None": the fast parser
# drops blank ones, and when one is present (a blank that survived, or junk) ``_check_*`` looks
# closer.


def _decode_call_root(root: _Element, room: int) -> MethodCall:
    if root.text is not None:
        _check_text(root)
    n = len(root)
    if n == 0:
        _fail(root, "<methodCall> has no <methodName>")
    name_el = root[0]
    if name_el.tag != "methodName":
        _fail(name_el, f"<methodCall> must start with <methodName>, found <{_name(name_el)}>")
    if len(name_el):
        _child_in_scalar(name_el)
    if name_el.tail is not None:
        _check_tail(name_el)
    name = name_el.text
    # isspace() is a quick "cannot be blank"; strip() then applies XML's own whitespace.
    if name is None or ((not name or name.isspace()) and not name.strip(_WS)):
        raise BadValue("the method name is empty", line=_line(name_el), path="methodName")
    if n == 1:
        return _method_call(name, ())
    params_el = root[1]
    if params_el.tag != "params":
        _fail(params_el, f"unexpected element <{_name(params_el)}> in <methodCall>")
    if n > 2:
        extra = root[2]
        _fail(extra, f"unexpected element <{_name(extra)}> after <params>")
    return _method_call(name, _decode_params(params_el, room))


def _decode_response_root(root: _Element, room: int) -> MethodResponse | Fault:
    if root.text is not None:
        _check_text(root)
    n = len(root)
    if n != 1:
        if n == 0:
            _fail(root, "<methodResponse> holds neither <params> nor <fault>")
        extra = root[1]
        if {root[0].tag, extra.tag} == {"params", "fault"}:
            _fail(extra, "<methodResponse> holds both <params> and <fault>")
        _fail(extra, f"unexpected element <{_name(extra)}> in <methodResponse>")
    body = root[0]
    tag = body.tag
    if tag == "params":
        if len(body) == 1 and body.text is None and body.tail is None:
            # The usual response: one <param> and no text around it. _decode_params would
            # make the same checks in the same order, plus a list and a tuple.
            param = body[0]
            if param.tag == "param" and param.tail is None:
                return _method_response(_value(_only_value_child(param), room))
        params = _decode_params(body, room)
        if len(params) != 1:
            _fail(
                body,
                f"a response's <params> must hold exactly one <param>, found {len(params)}",
            )
        return _method_response(params[0])
    if tag == "fault":
        if body.tail is not None:
            _check_tail(body)
        value = _only_value_child(body)
        decoded = _value(value, room)
        if _PARSERS.notes is not None:
            return _tolerate_fault(value, decoded)
        return fault_from_struct(decoded, path="fault", line=_line(value))
    _fail(body, f"<methodResponse> must hold <params> or <fault>, found <{_name(body)}>")


def _decode_params(params_el: _Element, room: int) -> tuple[Value, ...]:
    if params_el.text is not None:
        _check_text(params_el)
    if params_el.tail is not None:
        _check_tail(params_el)
    out: list[Value] = []
    append = out.append
    value = _value
    for param in params_el[:] if len(params_el) < _SLICE_BELOW else params_el:  # type: ignore[index]
        if param.tag != "param":
            _fail(param, f"unexpected element <{_name(param)}> in <params> (expected <param>)")
        if param.tail is not None:
            _check_tail(param)
        # What _only_value_child does, inline: this runs once per param of every message.
        if param.text is not None:
            _check_text(param)
        if len(param) != 1:
            _not_one_value(param)
        v = param[0]
        if v.tag != "value":
            _fail(v, f"unexpected element <{_name(v)}> in <param> (expected <value>)")
        if v.tail is not None:
            _check_tail(v)
        append(value(v, room))
    return tuple(out)


def _only_value_child(el: _Element) -> _Element:
    """The single ``<value>`` of a ``<param>`` or ``<fault>``."""
    if el.text is not None:
        _check_text(el)
    if len(el) != 1:
        _not_one_value(el)
    value = el[0]
    if value.tag != "value":
        _fail(value, f"unexpected element <{_name(value)}> in <{el.tag}> (expected <value>)")
    if value.tail is not None:
        _check_tail(value)
    return value


def _not_one_value(el: _Element) -> NoReturn:
    n = len(el)
    if n == 0:
        _fail(el, f"<{el.tag}> has no <value>")
    _fail(el[1], f"<{el.tag}> must hold exactly one <value>, found {n} elements")


# ---------------------------------------------------------------- values


def _value(v: _Element, room: int) -> Value:
    """Decode a ``<value>`` element. ``room`` is how many more arrays/structs may nest.

    The commonest types are decoded inline, saving a call per value; the rest go through
    ``_HANDLERS``. Each inline branch does exactly what its handler does.
    """
    n = len(v)
    if n == 1:
        typed = v[0]
        if v.text is not None or typed.tail is not None:
            _check_beside(v, typed)
        tag = typed.tag
        if tag == "string":
            if len(typed):
                _child_in_scalar(typed)
            text = typed.text
            return _EMPTY_STRING if text is None else String(text)
        if tag == "int" or tag == "i4":
            if len(typed):
                _child_in_scalar(typed)
            text = typed.text
            if text is not None and len(text) < 10 and text.isdigit() and text.isascii():
                # The common case: up to 9 ASCII digits cannot leave the 32-bit range.
                return Int(text) if tag == "int" else I4(text)
            if text is not None and text.isascii() and "_" not in text:
                # Signs, blanks, longer numbers (Unix times, say): range-checked as a plain
                # int, which compares much faster than the value classes. The handler words
                # any error (or, in tolerant mode, keeps what it can).
                try:
                    number = int(text)
                except ValueError:
                    return _decode_int(typed, room)
                if -2147483648 <= number <= 2147483647:
                    if text[0] <= " " or text[-1] <= " ":  # XML text has no other such chars
                        _note("whitespace-in-int", typed)
                    return Int(number) if tag == "int" else I4(number)
            return _decode_int(typed, room)
        if tag == "struct":
            return _struct(typed, room)
        if tag == "boolean":
            if len(typed):
                _child_in_scalar(typed)
            text = typed.text
            if text == "1":
                return _TRUE
            if text == "0":
                return _FALSE
            try:
                return _boolean(typed, room)
            except BadValue as error:
                return _tolerate(typed, error)
        if tag == "array":
            return _array(typed, room)
        handler = _HANDLERS.get(tag)
        if handler is None:
            return _unknown_type(typed)
        try:
            return handler(typed, room)
        except BadValue as error:
            return _tolerate(typed, error)
    if n == 0:
        text = v.text
        return _EMPTY_UNTYPED if text is None else UntypedString(text)
    _fail(v[1], f"a <value> holds more than one element (<{_name(v[0])}>, <{_name(v[1])}>)")


def _array(el: _Element, room: int) -> Array:
    if room <= 0:
        _too_deep(el)
    if len(el) != 1:
        _bad_array(el)
    data = el[0]
    if data.tag != "data":
        _fail(data, f"unexpected element <{_name(data)}> in <array> (expected <data>)")
    if el.text is not None or data.tail is not None or data.text is not None:
        _check_array_text(el, data)
    room -= 1
    out = Array()
    append = out.append
    value = _value
    for item in data[:] if len(data) < _SLICE_BELOW else data:  # type: ignore[index]
        if item.tag != "value":
            _fail(item, f"unexpected element <{_name(item)}> in <data> (expected <value>)")
        if item.tail is not None:
            _check_tail(item)
        append(value(item, room))
    return out


def _struct(el: _Element, room: int) -> Struct:
    if room <= 0:
        _too_deep(el)
    if el.text is not None:
        _check_text(el)
    room -= 1
    out = Struct()
    value = _value
    for member in el[:] if len(el) < _SLICE_BELOW else el:  # type: ignore[index]
        if member.tag != "member" or len(member) != 2:
            _bad_member(member)
        name_el = member[0]
        value_el = member[1]
        if name_el.tag != "name" or value_el.tag != "value":
            _bad_member(member)
        if (
            member.text is not None
            or name_el.tail is not None
            or value_el.tail is not None
            or member.tail is not None
        ):
            _check_member_text(member, name_el, value_el)
        if len(name_el):
            _child_in_scalar(name_el)
        name = name_el.text
        out["" if name is None else name] = value(value_el, room)
    if len(out) != len(el):
        _duplicate_member(el, out, room)
    return out


def _string(el: _Element, room: int) -> String:
    if len(el):
        _child_in_scalar(el)
    text = el.text
    return _EMPTY_STRING if text is None else String(text)


def _int_handler(cls: type[IntegerValue], extension: str | None = None) -> _Handler:
    lo, hi = cls.min, cls.max
    wide = cls is I4 or cls is Int  # out of range: WideI4/WideInt in tolerant mode

    def decode_int(el: _Element, room: int) -> Value:
        if len(el):
            _child_in_scalar(el)
        text = el.text
        # int() alone would also take "1_000", non-ASCII digits and surrounding Unicode spaces.
        if text is None or not text.isascii() or "_" in text:
            _not_integer(el, text)
        try:
            number = int(text)  # a plain int: comparisons on the value classes are slow
        except ValueError as e:
            if "limit" in str(e):
                raise _bad_value(
                    el, f"<{cls.tag}> has too many digits ({len(text.strip(_WS))})"
                ) from None
            _not_integer(el, text)
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            if wide and _PARSERS.notes is not None:
                return _tolerate(el, None)  # kept, with its tag (no error to word)
            raise _bad_value(el, f"{number} is out of range for <{cls.tag}> ({lo} to {hi})")
        if text[0] <= " " or text[-1] <= " ":
            _note("whitespace-in-int", el)
        if extension is not None and _noting:
            _note(extension, el)
        return cls(number)

    return decode_int


def _boolean(el: _Element, room: int) -> Boolean:
    if len(el):
        _child_in_scalar(el)
    text = el.text
    if text == "1":
        return _TRUE
    if text == "0":
        return _FALSE
    stripped = (text or "").strip(_WS)
    if stripped == "1":
        return _TRUE
    if stripped == "0":
        return _FALSE
    raise _bad_value(el, f"a <boolean> must be 0 or 1, not {_show(text)}")


def _double_handler(cls: type[Double], extension: str | None = None) -> _Handler:
    def decode_double(el: _Element, room: int) -> Value:
        if len(el):
            _child_in_scalar(el)
        text = el.text
        if text is None or not text.isascii() or "_" in text:
            _not_number(el, text)
        try:
            number = float(text)
        except ValueError:
            _not_number(el, text)
        if not math.isfinite(number):
            if "n" in text.lower():  # nan, inf, infinity: named, not overflowed
                raise _bad_value(
                    el, f"<{cls.tag}> cannot be {text.strip(_WS)}: XML-RPC doubles are finite"
                )
            raise _bad_value(el, f"{text.strip(_WS)} is out of range for <{cls.tag}>")
        if text[0] <= " " or text[-1] <= " ":
            _note("whitespace-in-double", el)
        if extension is not None and _noting:
            _note(extension, el)
        return cls(number)

    return decode_double


def _bigdecimal(el: _Element, room: int) -> ExBigDecimal:
    if len(el):
        _child_in_scalar(el)
    text = el.text
    if text is None or not text.isascii() or "_" in text:
        _not_number(el, text)
    try:
        number = Decimal(text)
    except InvalidOperation:
        _not_number(el, text)
    if not number.is_finite():
        raise _bad_value(el, f"<ex:bigdecimal> cannot be {text.strip(_WS)}")
    if _noting:
        _note("apache-extension", el)
    return ExBigDecimal(number)


def _datetime_handler(cls: type[DateTime], extension: str | None = None) -> _Handler:
    def decode_datetime(el: _Element, room: int) -> Value:
        if len(el):
            _child_in_scalar(el)
        text = el.text or ""
        form = datetime_form(text)
        if form is not SPEC_FORM:
            if form is None:
                raise _bad_value(el, f"<{_name(el)}> is not an ISO 8601 date-time: {_show(text)}")
            if extension is None:
                _note("datetime-variant", el)  # not the spec's 19980717T14:08:55 form
        if extension is not None and _noting:
            _note(extension, el)
        return cls(text)

    return decode_datetime


def _base64_handler(cls: type[Base64], extension: str | None = None) -> _Handler:
    def decode_base64(el: _Element, room: int) -> Value:
        if len(el):
            _child_in_scalar(el)
        if extension is not None and _noting:
            _note(extension, el)
        text = el.text
        if text is None:
            return cls(b"")
        # binascii takes ASCII str directly (and refuses other str with ValueError), which
        # saves copying a large body to bytes first.
        try:
            raw = binascii.a2b_base64(text)
        except ValueError:
            pass
        else:
            # The lenient decode skips line breaks (every 76 characters, MIME style) without
            # copying the text, but would skip anything else that is not base64 too. Each
            # character it skipped would cost the output at least one byte, so an output of
            # exactly the size the characters and the final padding call for proves there was
            # none: what strict mode, after removing the line breaks, would have returned.
            size = len(text) - text.count("\n")
            tail = text[-8:].replace("\n", "")
            pads = len(tail) - len(tail.rstrip("="))
            if pads <= 2 and size % 4 == 0 and len(raw) == size // 4 * 3 - pads:
                return cls(raw)
        try:
            return cls(binascii.a2b_base64(text.replace("\n", ""), strict_mode=True))
        except ValueError:
            pass
        if not text.isascii():
            raise _bad_value(
                el, f"<{_name(el)}> is not valid base64: it holds non-ASCII characters"
            )
        try:
            raw = text.encode("ascii").translate(None, b" \t\r\n")
            decoded = cls(binascii.a2b_base64(raw, strict_mode=True))
            _note("base64-junk", el)  # spaces or tabs: not base64
            return decoded
        except binascii.Error as e:
            raise _bad_value(
                el, f"<{_name(el)}> is not valid base64: {str(e).rstrip('.').lower()}"
            ) from None

    return decode_base64


def _nil_handler(instance: Nil) -> _Handler:
    def decode_nil(el: _Element, room: int) -> Value:
        if len(el):
            _child_in_scalar(el)
        text = el.text
        if text is not None and text.strip(_WS):
            raise _bad_value(el, f"<{_name(el)}/> must be empty, it holds {_show(text)}")
        if _noting:
            _note("nil-extension", el)
        return instance

    return decode_nil


def _dom(el: _Element, room: int) -> ExDom:
    if el.getroottree().parser is not _PARSERS.exact:
        raise _NeedsExactParse
    if _noting:
        _note("apache-extension", el)
    # The fragment is re-serialised on its own: a copy under a bare wrapper drops the namespace
    # declarations it inherited from the message but does not use.
    wrapper = etree.Element("w")
    wrapper.text = el.text
    for child in el:
        wrapper.append(copy.deepcopy(child))
    etree.cleanup_namespaces(wrapper)
    text = etree.tostring(wrapper, encoding="unicode")
    if text == "<w/>":
        return ExDom("")
    return ExDom(text[3:-4])


_INT_HANDLER: Final = _int_handler(Int)
_I4_HANDLER: Final = _int_handler(I4)


def _decode_int(el: _Element, room: int) -> Value:
    """``<int>``/``<i4>`` off the inline fast path (long, odd or bad text)."""
    try:
        return (_INT_HANDLER if el.tag == "int" else _I4_HANDLER)(el, room)
    except BadValue as error:
        return _tolerate(el, error)


_HANDLERS: Final[dict[str, _Handler]] = {
    "string": _string,
    "i4": _I4_HANDLER,
    "int": _INT_HANDLER,
    "struct": _struct,
    "array": _array,
    "boolean": _boolean,
    "double": _double_handler(Double),
    "dateTime.iso8601": _datetime_handler(DateTime),
    "base64": _base64_handler(Base64),
    "nil": _nil_handler(Nil()),
    "i8": _int_handler(I8, "i8-extension"),
    _EX + "i1": _int_handler(ExI1, "apache-extension"),
    _EX + "i2": _int_handler(ExI2, "apache-extension"),
    _EX + "i8": _int_handler(ExI8, "i8-extension"),
    _EX + "biginteger": _int_handler(ExBigInteger, "apache-extension"),
    _EX + "float": _double_handler(ExFloat, "apache-extension"),
    _EX + "bigdecimal": _bigdecimal,
    _EX + "nil": _nil_handler(ExNil()),
    _EX + "dateTime": _datetime_handler(ExDateTime, "apache-extension"),
    _EX + "dom": _dom,
    _EX + "serializable": _base64_handler(ExSerializable, "apache-extension"),
}


# ---------------------------------------------------------------- notes and errors (cold path)


#: Whether a tolerant reading has ever run in this process (in any thread). Until one has, the
#: branches that run for every value of an extension type skip even the look at the per-thread
#: list of notes. Set once and never reset, so no thread can see it fall while another reads.
_noting = False


def _start_noting(notes: list[_NoteEntry]) -> None:
    """Make this thread's walks note deviations in ``notes`` (until ``_stop_noting``)."""
    global _noting
    _noting = True
    _PARSERS.notes = notes


def _stop_noting() -> None:
    _PARSERS.notes = None


def _note(rule: str, el: _Element, message: str | None = None) -> None:
    """Note a form the spec does not allow, when the tolerant reading asks for notes."""
    notes = _PARSERS.notes
    if notes is not None:
        notes.append((rule, el, message))


def _line(el: _Element) -> int | None:
    line = el.sourceline
    return line if isinstance(line, int) and line > 0 else None


def _name(el: _Element) -> str:
    """The element's name as written, with an ``ex:`` prefix for the extension namespace."""
    tag = el.tag
    if not isinstance(tag, str):  # pragma: no cover - comments and PIs are removed by the parser
        return "?"
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        prefix = el.prefix
        if uri == EX_NAMESPACE:
            return f"{prefix or 'ex'}:{local}"
        return f"{prefix}:{local}" if prefix else f"{local} xmlns={uri!r}"
    return tag


def _show(text: str | None, limit: int = 40) -> str:
    if text is None or text == "":
        return "nothing"
    if len(text) > limit:
        return repr(text[:limit]) + "…"
    return repr(text)


def _path_of(el: _Element, indexes: _Indexes | None = None) -> str | None:
    """The value path of ``el`` (``params[1].tags[0]``), worked out from its ancestors.

    ``indexes`` caches each parent's child positions, for many paths in one message (lxml's
    ``index()`` is a linear search).
    """
    segments: list[str] = []
    node: _Element | None = el
    while node is not None:
        parent = node.getparent()
        if parent is None:
            break
        tag = node.tag
        ptag = parent.tag
        if tag == "value":
            if ptag == "data" or ptag == "array":  # <array> without <data>, read tolerantly
                segments.append(f"[{_index(parent, node, indexes)}]")
            elif ptag == "member":
                # The <name> is usually first; the tolerant reading also takes it second.
                name_el = next((k for k in parent if k.tag == "name"), None)
                if name_el is not None:
                    segments.append(member_segment(name_el.text or ""))
            elif ptag == "fault":
                return join_path("fault", segments)
        elif tag == "param" and ptag == "params":
            root = parent.getparent()
            if root is not None and root.tag == "methodResponse":
                return join_path("result", segments)
            return join_path(f"params[{_index(parent, node, indexes)}]", segments)
        elif tag == "fault":
            return join_path("fault", segments)
        node = parent
    return join_path(None, segments)


_Indexes = dict[_Element, dict[_Element, int]]


def _paths_of(elements: list[_Element]) -> list[str | None]:
    """``_path_of`` for many elements of one tree, each ancestor's path worked out once."""
    memo: dict[_Element, str | None] = {}
    indexes: _Indexes = {}
    out: list[str | None] = []
    for el in elements:
        chain: list[_Element] = []
        node: _Element | None = el
        while node is not None and node not in memo:
            chain.append(node)
            node = node.getparent()
        for node in reversed(chain):
            memo[node] = _path_step(node, memo, indexes)
        out.append(memo[el])
    return out


def _path_step(node: _Element, memo: dict[_Element, str | None], indexes: _Indexes) -> str | None:
    """The path of ``node`` from its parent's (in ``memo``): one step of ``_path_of``."""
    parent = node.getparent()
    if parent is None:
        return None
    tag = node.tag
    ptag = parent.tag
    segment = ""
    if tag == "value":
        if ptag == "fault":
            return "fault"
        if ptag == "data" or ptag == "array":
            segment = f"[{_index(parent, node, indexes)}]"
        elif ptag == "member":
            name_el = next((k for k in parent if k.tag == "name"), None)
            if name_el is not None:
                segment = member_segment(name_el.text or "")
    elif tag == "param" and ptag == "params":
        root = parent.getparent()
        if root is not None and root.tag == "methodResponse":
            return "result"
        return f"params[{_index(parent, node, indexes)}]"
    elif tag == "fault":
        return "fault"
    above = memo[parent]
    if above is None:
        return segment.lstrip(".") or None
    return above + segment


def _index(parent: _Element, child: _Element, indexes: _Indexes | None = None) -> int:
    if indexes is None:
        return int(parent.index(child))
    positions = indexes.get(parent)
    if positions is None:
        positions = indexes[parent] = {kid: i for i, kid in enumerate(parent)}
    return positions[child]


def _fail(el: _Element, reason: str) -> NoReturn:
    raise MalformedXml(reason, line=_line(el), path=_path_of(el))


def _bad_value(el: _Element, reason: str) -> BadValue:
    """A BadValue located at ``el``: its line and value path."""
    return BadValue(reason, line=_line(el), path=_path_of(el))


def _blank(text: str | None) -> bool:
    return text is None or not text.strip(_WS)


def _check_text(el: _Element) -> None:
    text = el.text
    if not _blank(text):
        _stray_text(el, text or "")


def _check_tail(el: _Element) -> None:
    text = el.tail
    if not _blank(text):
        parent = el.getparent()
        _stray_text(parent if parent is not None else el, text or "")


def _check_beside(v: _Element, typed: _Element) -> None:
    for text in (v.text, typed.tail):
        if not _blank(text):
            _fail(
                v,
                f"text {_show((text or '').strip(_WS))} beside the <{_name(typed)}> element in "
                "<value> (a value holds either text or one typed element)",
            )


def _check_array_text(array: _Element, data: _Element) -> None:
    _check_text(array)
    _check_tail(data)
    _check_text(data)


def _check_member_text(member: _Element, name_el: _Element, value_el: _Element) -> None:
    _check_text(member)
    _check_tail(name_el)
    _check_tail(value_el)
    _check_tail(member)


def _stray_text(el: _Element, text: str) -> NoReturn:
    _fail(el, f"unexpected text {_show(text.strip(_WS))} in <{_name(el)}>")


def _bad_array(el: _Element) -> NoReturn:
    n = len(el)
    if n == 0:
        _fail(el, "<array> has no <data>")
    _fail(el[1], f"<array> must hold exactly one <data>, found {n} elements")


def _unknown_type(typed: _Element) -> Value:
    if _PARSERS.notes is not None:
        raw = raw_value(typed)
        _note("unknown-type-tag", typed, f"<{raw.element}> is not an XML-RPC type; kept as written")
        return raw
    tag = typed.tag
    if isinstance(tag, str) and tag.startswith("{" + EX_NAMESPACE + "}"):
        reason = f"unknown Apache extension type <{_name(typed)}>"
    else:
        reason = f"unknown type element <{_name(typed)}> in <value>"
    _fail(typed, reason)


def _child_in_scalar(el: _Element) -> NoReturn:
    child = el[0]
    _fail(child, f"unexpected element <{_name(child)}> inside <{_name(el)}>")


def _bad_member(member: _Element) -> NoReturn:
    if member.tag != "member":
        parent = member.getparent()
        where = f"<{_name(parent)}>" if parent is not None else "<struct>"
        _fail(member, f"unexpected element <{_name(member)}> in {where} (expected <member>)")
    kids = list(member)
    names = [k.tag for k in kids]
    if "name" not in names:
        _fail(member, f"struct member #{_index_or_0(member) + 1} has no <name>")
    if "value" not in names:
        name_el = kids[names.index("name")]
        _fail(member, f"struct member {_show(name_el.text or '')} has no <value>")
    if len(kids) != 2:
        extra = next(k for k in kids if k.tag not in ("name", "value") or names.count(k.tag) > 1)
        _fail(extra, f"unexpected element <{_name(extra)}> in <member>")
    _fail(member, "a struct <member> must hold <name> then <value>, in that order")


def _index_or_0(el: _Element) -> int:
    parent = el.getparent()
    return _index(parent, el) if parent is not None else 0


def _duplicate_member(struct: _Element, out: Struct, room: int) -> None:
    """Raise for the first repeated member name, or in tolerant mode note each repetition (the
    struct keeps the last value, in the first one's place, as xmlrpc.client does)."""
    notes = _PARSERS.notes
    seen: dict[str, _Element] = {}
    for member in struct:
        name_el, value_el = _member_parts(member)
        name = name_el.text or ""
        first = seen.get(name)
        if first is not None:
            if notes is None:
                raise BadValue(
                    f"duplicate struct member name {name!r}",
                    line=_line(member),
                    path=_path_of(member),
                )
            # The first value is decoded again to be told (its own notes are not repeated).
            _PARSERS.notes = []
            try:
                earlier = _value(_member_parts(first)[1], room)
                shown = f"{earlier.label} {format_scalar(earlier)}"
            except CodecError:  # a form only the tolerant walk reads: describe it
                shown = f"<{_name(_member_parts(first)[1])}>"
            finally:
                _PARSERS.notes = notes
            shown = shown if len(shown) <= 50 else shown[:49] + "…"
            notes.append(
                (
                    "duplicate-member",
                    value_el,
                    f"member {name!r} appears again; the last one is kept, as xmlrpc.client "
                    f"does; the first (line {_line(first)}) was {shown}",
                )
            )
        seen[name] = member
    if notes is None:  # pragma: no cover
        raise AssertionError("no duplicate found")


def _member_parts(member: _Element) -> tuple[_Element, _Element]:
    """A member's ``<name>`` and ``<value>``, in either order (the tolerant reading takes both)."""
    if member[0].tag == "name":
        return member[0], member[1]
    return member[1], member[0]


def _too_deep(el: _Element) -> NoReturn:
    raise UnsafeXml(
        f"arrays and structs nested too deeply (more than the limit of "
        f"{_depth_limit_hint(el)} levels)",
        line=_line(el),
        path=_path_of(el),
    )


def _depth_limit_hint(el: _Element) -> int:
    depth = 0
    node: _Element | None = el
    while node is not None:
        if node.tag in ("array", "struct"):
            depth += 1
        node = node.getparent()
    return depth - 1


def _not_integer(el: _Element, text: str | None) -> NoReturn:
    raise _bad_value(el, f"<{_name(el)}> is not an integer: {_show(text)}")


def _not_number(el: _Element, text: str | None) -> NoReturn:
    raise _bad_value(el, f"<{_name(el)}> is not a number: {_show(text)}")


# ---------------------------------------------------------------- tolerant mode (cold path)
#
# While the tolerant reading runs (``_PARSERS.notes`` is a list), the error paths of values whose
# meaning is still clear keep the value and note the deviation instead of raising. The walk
# itself is the strict one: conformant input never reaches this code.

_WIDE: Final[dict[type[IntegerValue], type[IntegerValue]]] = {I4: WideI4, Int: WideInt}
# The class each integer or base64 tag decodes to.
_CLASSES: Final[dict[str, type[IntegerValue] | type[Base64]]] = {
    "i4": I4,
    "int": Int,
    "i8": I8,
    _EX + "i1": ExI1,
    _EX + "i2": ExI2,
    _EX + "i8": ExI8,
    _EX + "biginteger": ExBigInteger,
    "base64": Base64,
    _EX + "serializable": ExSerializable,
}
# Types whose text cannot be empty (an empty <string>, <base64> or <value> is "" / b"").
_NEEDS_TEXT: Final = frozenset({"i4", "int", "i8", "double", "boolean", "dateTime.iso8601"})
_BASE64_UNPADDED: Final = re.compile(r"[A-Za-z0-9+/]*(=*)\Z")
_WS_TABLE: Final = {ord(c): None for c in _WS}


def raw_value(typed: _Element) -> RawValue:
    """The typed element kept as written: its name, text and markup on its own."""
    wrapper = etree.Element("w")
    clone = copy.deepcopy(typed)
    clone.tail = None
    wrapper.append(clone)
    etree.cleanup_namespaces(wrapper)
    xml = etree.tostring(wrapper[0], encoding="unicode", with_tail=False)
    text = "".join(t for t in typed.itertext() if isinstance(t, str))
    return RawValue(_name(typed), text, xml)


def _short(text: str, limit: int = 40) -> str:
    text = text.strip(_WS)
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "…"


def _tolerate(el: _Element, error: BadValue | None) -> Value:
    """A scalar the strict handler refused: in tolerant mode, read it the way peers mean it or
    keep it as written (noting either); otherwise raise ``error``."""
    notes = _PARSERS.notes
    if notes is None:
        assert error is not None
        raise error
    tag = el.tag
    text = el.text or ""
    cls = _CLASSES.get(tag) if isinstance(tag, str) else None
    stripped = text.strip(_WS)
    if cls is not None and issubclass(cls, IntegerValue):
        wide = _WIDE.get(cls)
        if wide is not None and stripped.isascii() and "_" not in stripped:
            try:
                number = int(stripped)
            except ValueError:
                pass
            else:
                if stripped != text:
                    _note("whitespace-in-int", el)
                notes.append(
                    (
                        "int-out-of-range",
                        el,
                        f"{number} does not fit <{cls.tag}> ({cls.min} to {cls.max}); the "
                        f"number and the {cls.tag} tag are kept",
                    )
                )
                return wide(number)
    if tag == "boolean" and stripped.lower() in ("true", "false"):
        notes.append(("boolean-word", el, f"boolean written {stripped!r} instead of 1 or 0"))
        return _TRUE if stripped.lower() == "true" else _FALSE
    if tag == "nil" or tag == _EX + "nil":
        notes.append(("nil-with-content", el, f"<{_name(el)}> holds {_short(text)}; read as nil"))
        return Nil() if tag == "nil" else ExNil()
    if cls is not None and issubclass(cls, Base64) and text.isascii():
        decoded = _lenient_base64(el, text, notes)
        if decoded is not None:
            return cls(decoded)
    raw = raw_value(el)
    if not stripped and tag in _NEEDS_TEXT:
        notes.append(("empty-value", el, f"<{raw.element}> is empty; kept as written"))
    elif tag == "dateTime.iso8601":
        notes.append(
            (
                "datetime-not-iso8601",
                el,
                f"{_short(text)} is not an ISO 8601 date-time; kept as written",
            )
        )
    else:
        reason = error.reason if error is not None else f"<{raw.element}> is not valid"
        notes.append(("invalid-value", el, f"{reason}; kept as written"))
    return raw


def _lenient_base64(el: _Element, text: str, notes: list[_NoteEntry]) -> bytes | None:
    """Base64 the way ``xmlrpc.client`` reads it: padding fixed, other characters skipped."""
    cleaned = text.translate(_WS_TABLE)
    m = _BASE64_UNPADDED.match(cleaned)
    if m is not None:
        core = cleaned[: len(cleaned) - len(m.group(1))]
        padded = core + "=" * (-len(core) % 4)
        if "=" not in core and len(core) % 4 != 1 and padded != cleaned:
            try:
                raw = binascii.a2b_base64(padded, strict_mode=True)
            except binascii.Error:
                pass
            else:
                pads = len(m.group(1))
                notes.append(
                    (
                        "base64-padding",
                        el,
                        "base64 text without its '=' padding"
                        if not pads
                        else f"base64 text ends with {pads} '=' where "
                        f"{len(padded) - len(core)} belong",
                    )
                )
                return raw
    try:
        raw = binascii.a2b_base64(text)
    except (binascii.Error, ValueError):
        return None
    notes.append(
        (
            "base64-junk",
            el,
            "base64 text holds characters outside the base64 alphabet (or data after the "
            "padding); they were skipped, as xmlrpc.client skips them",
        )
    )
    return raw


def _tolerate_fault(value_el: _Element, value: Value) -> Fault:
    """A fault read tolerantly: each finding on its member's value (line and path)."""
    notes = _PARSERS.notes
    found: list[Finding] = []
    fault = fault_from_struct(value, path="fault", line=_line(value_el), findings=found)
    if notes is not None:
        struct_el = value_el[0]
        for finding in found:
            name = (finding.path or "").removeprefix("fault.").strip('[]"')
            member = _last_member(struct_el, name)
            target = _member_parts(member)[1] if member is not None else value_el
            notes.append((finding.rule, target, finding.message))
    return fault


def _last_member(struct_el: _Element, name: str) -> _Element | None:
    """The last ``<member>`` of ``struct_el`` named ``name`` (the one a struct keeps)."""
    found = None
    for member in struct_el:
        for kid in member:
            if kid.tag == "name" and (kid.text or "") == name:
                found = member
    return found
