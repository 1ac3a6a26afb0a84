"""The tolerant reading: decode what real peers send, and report each deviation as a finding.

Strategy: the strict decoder (``decode``) runs first, with a list for notes. Its branches that
accept a form the spec does not (whitespace around a number, an extension type) note the element
there, and in this mode the error paths of values whose meaning is still clear (an ``<i4>``
beyond 32 bits, a string faultCode, an unknown type element, a repeated member) keep the value
and note it instead of raising. Conformant bodies never reach that code: for them the tolerant
reading costs what the strict one does, plus a look at the body's first bytes. The notes become
``Finding``s (rule, sentence, line, value path).

Only a body the strict walk still refuses, for its structure (a ``<value>`` before its
``<name>``, an ``<array>`` without ``<data>``, stray text, an empty response ``<params>``, a
declaration after a comment ...), is parsed again and walked by ``_Walker``: a plain walk that
accepts those forms and decodes values with the same functions. A value that cannot be decoded
at all is kept as written (``RawValue``) with an error finding; a message that cannot be decoded
at all raises ``CodecError`` as the strict decoder does.

Safety does not bend: both walks get their bytes from the same ``prepare_body`` (size limit, no
DTD, no entities) and the same parser, and both keep the same depth limit.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from typing import Final, NamedTuple, cast

from lxml import etree

from rpcspy.xmlrpc import decode as _strict
from rpcspy.xmlrpc._paths import member_segment
from rpcspy.xmlrpc._prolog import prepare_body
from rpcspy.xmlrpc.decode import EX_NAMESPACE
from rpcspy.xmlrpc.errors import BadValue, CodecError, MalformedXml, UnsafeXml
from rpcspy.xmlrpc.findings import Finding
from rpcspy.xmlrpc.messages import DEFAULT_LIMITS, Fault, Limits, MethodCall, MethodResponse
from rpcspy.xmlrpc.values import (
    Array,
    NoValue,
    Struct,
    UntypedString,
    Value,
)

__all__ = ["Reading", "read_message", "read_request", "read_response"]

_Element = etree._Element
_WS: Final = " \t\r\n"

_LATE_DECL: Final = re.compile(
    rb"\A(?:\xef\xbb\xbf)?((?:[ \t\r\n]+|<!--.*?-->|<\?(?!xml[ \t\r\n?]).*?\?>)+)"
    rb"(<\?xml[ \t\r\n][^>]*?\?>)",
    re.DOTALL,
)


# The same, in text: only whitespace, comments and PIs may come before such a declaration.
_LATE_DECL_TEXT: Final = re.compile(
    r"((?:[ \t\r\n]+|<!--.*?-->|<\?(?!xml[ \t\r\n?]).*?\?>)+)(<\?xml[ \t\r\n?])", re.DOTALL
)


class Reading[M: (MethodCall, MethodResponse | Fault, MethodCall | MethodResponse | Fault)](
    NamedTuple
):
    """A message read tolerantly, with what it does that the spec does not allow."""

    message: M
    findings: tuple[Finding, ...] = ()


# ---------------------------------------------------------------- public API


def read_message(
    body: bytes, limits: Limits = DEFAULT_LIMITS
) -> Reading[MethodCall | MethodResponse | Fault]:
    """Read a call or a response tolerantly; raises ``CodecError`` only when nothing decodes."""
    return _read(body, limits, None)


def read_request(body: bytes, limits: Limits = DEFAULT_LIMITS) -> Reading[MethodCall]:
    """Read a ``<methodCall>`` body tolerantly (see ``read_message``)."""
    # The type in quotes: subscripting Reading at run time costs a typing cache lookup.
    return cast("Reading[MethodCall]", _read(body, limits, "methodCall"))


def read_response(body: bytes, limits: Limits = DEFAULT_LIMITS) -> Reading[MethodResponse | Fault]:
    """Read a ``<methodResponse>`` body tolerantly (see ``read_message``)."""
    return cast("Reading[MethodResponse | Fault]", _read(body, limits, "methodResponse"))


def _read(
    body: bytes, limits: Limits, expected: str | None
) -> Reading[MethodCall | MethodResponse | Fault]:
    notes: list[_Note] = []
    _strict._start_noting(notes)
    try:
        message = _strict._decode(body, limits, expected)
    except UnsafeXml:
        raise
    except CodecError:
        if not isinstance(body, bytes | bytearray | memoryview):
            raise  # "the body must be bytes": nothing to walk
        return _walk(bytes(body), limits, expected)
    finally:
        _strict._stop_noting()
    if body[:1] == b"<" and body[1:2] != b"\x00":  # nothing before the first markup
        if not notes:
            return Reading(message)
        return Reading(message, tuple(_findings(notes)))
    return Reading(message, (*_prolog_findings(body), *_findings(notes)))


def _walk(
    body: bytes, limits: Limits, expected: str | None
) -> Reading[MethodCall | MethodResponse | Fault]:
    """The slow path: parse again, keeping every text node, and walk with ``_Walker``."""
    findings = _prolog_findings(body)
    late = _LATE_DECL.match(body) if isinstance(body, bytes) else None
    if late is not None and late.group(1).strip(b" \t\r\n"):
        # libxml2 refuses a declaration after a comment or PI: move it to the front, after the
        # byte order mark if any (it holds no line break: every line below keeps its number).
        bom = late.start(1)
        body = body[:bom] + late.group(2) + body[bom : late.start(2)] + body[late.end(2) :]
    if body[:2] in (b"<\x00", b"\x00<") and body[2:4] not in (b"?\x00", b"\x00?"):
        # UTF-16 without a byte order mark or a declaration, which xmlrpc.client reads (expat
        # guesses it from the "<"): hand it on as UTF-8.
        with contextlib.suppress(UnicodeError):
            body = body.decode("utf-16-le" if body[:1] == b"<" else "utf-16-be").encode()
    notes: list[_Note] = []
    _strict._start_noting(notes)
    try:
        data, _ = prepare_body(body, limits)
        try:
            root = _strict._parse(data, True)
        except MalformedXml as error:
            if "Namespace prefix ex on " not in error.reason:
                raise
            root = _parse_declaring_ex(data, error, findings)
        message = _Walker(notes).root(root, expected, limits.max_depth)
        findings.extend(_findings(notes))
        return Reading(message, tuple(findings))
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
    finally:
        _strict._stop_noting()


_Note = tuple[str, _Element, str | None]
_ROOT_TAG: Final = re.compile(rb"<(?:methodCall|methodResponse)(?=[ \t\r\n/>])")


def _parse_declaring_ex(data: bytes, error: MalformedXml, findings: list[Finding]) -> _Element:
    """Parse a body that uses the ``ex:`` prefix without declaring it (as expat-based readers,
    xmlrpc.client among them, allow), declaring Apache's namespace on the root element."""
    m = _ROOT_TAG.search(data)
    if m is None:
        raise error
    declared = data[: m.end()] + b' xmlns:ex="' + EX_NAMESPACE.encode() + b'"' + data[m.end() :]
    root = _strict._parse(declared, True)
    findings.append(
        Finding.make(
            "ex-prefix-undeclared",
            "the ex: prefix is used without declaring its namespace; read as Apache's "
            f"extensions namespace ({EX_NAMESPACE})",
            line=error.line,
            column=error.column,
        )
    )
    return root


def _findings(notes: list[_Note]) -> list[Finding]:
    """Findings for the notes of a walk: rule, element, and the sentence if already worded."""
    paths = _strict._paths_of([el for _, el, _ in notes])
    return [
        Finding.make(
            rule,
            message if message is not None else _sentence(rule, el),
            line=_line(el),
            path=path,
        )
        for (rule, el, message), path in zip(notes, paths, strict=True)
    ]


def _sentence(rule: str, el: _Element) -> str:
    """The sentence for a note the strict walk made (it leaves the wording to this module)."""
    name = _strict._name(el)
    text = (el.text or "").strip(_WS)
    if rule == "whitespace-in-int" or rule == "whitespace-in-double":
        return f"whitespace around the number {text} in <{name}>"
    if rule == "datetime-variant":
        return (
            f"date-time {_short(el.text or '')} is not in the spec's form 19980717T14:08:55; "
            "kept as written"
        )
    if rule == "base64-junk":
        return "base64 text holds spaces, tabs or carriage returns; they were skipped"
    if rule == "nil-extension":
        return f"<{name}/> is an extension (not in the spec); read as nil"
    if rule == "i8-extension":
        return f"<{name}> is an extension (not in the spec); read as a 64-bit integer"
    if rule == "apache-extension":
        return f"<{name}> is an Apache XML-RPC extension type (not in the spec)"
    return f"<{name}> breaks rule {rule}"  # pragma: no cover - every rule noted is worded above


# ---------------------------------------------------------------- the prolog


def _prolog_findings(body: bytes) -> list[Finding]:
    """``utf16-without-bom`` and ``decl-not-first``, from the body's first bytes."""
    findings: list[Finding] = []
    head = bytes(body[:4096])
    if head.startswith(codecs.BOM_UTF8):
        text = head[3:].decode("utf-8", "replace")
    elif head[:4] in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE):
        text = head[: len(head) // 4 * 4].decode("utf-32", "replace").lstrip("\ufeff")
    elif head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        text = head[: len(head) // 2 * 2].decode("utf-16", "replace").lstrip("\ufeff")
    elif head[:2] in (b"<\x00", b"\x00<"):
        codec = "utf-16-le" if head[:1] == b"<" else "utf-16-be"
        text = head[: len(head) // 2 * 2].decode(codec, "replace")
        findings.append(
            Finding.make(
                "utf16-without-bom",
                f"the body is {codec.upper()} without a byte order mark",
                line=1,
                column=1,
            )
        )
    else:
        text = head.decode("latin-1")
    late = _LATE_DECL_TEXT.match(text)
    if late is not None:
        at = late.start(2)
        what = (
            "whitespace" if not late.group(1).strip(_WS) else "a comment or processing instruction"
        )
        findings.append(
            Finding.make(
                "decl-not-first",
                f"{what} ({at} characters) before the XML declaration",
                line=text.count("\n", 0, at) + 1,
                column=at - text.rfind("\n", 0, at),
            )
        )
    return findings


# ---------------------------------------------------------------- the walk


def _line(el: _Element) -> int | None:
    return _strict._line(el)


_short = _strict._short


def _blank(text: str | None) -> bool:
    return text is None or not text.strip(_WS)


class _Walker:
    """Walks one parsed message, accepting the deviations of ``RULES`` and noting each."""

    __slots__ = ("notes",)

    def __init__(self, notes: list[_Note]) -> None:
        self.notes = notes

    def note(self, rule: str, message: str, el: _Element, path: str | None) -> None:
        # The path comes from the element (``_path_of``), as for the strict walk's notes.
        self.notes.append((rule, el, message))

    # ---- text between elements

    def text(self, el: _Element, path: str | None) -> None:
        if not _blank(el.text):
            self._stray(el, el.text or "", path)

    def tail(self, el: _Element, path: str | None) -> None:
        if not _blank(el.tail):
            parent = el.getparent()
            self._stray(parent if parent is not None else el, el.tail or "", path)

    def _stray(self, el: _Element, text: str, path: str | None) -> None:
        self.note(
            "stray-text",
            f"text {_short(text)} in <{_strict._name(el)}> ignored",
            el,
            path,
        )

    # ---- messages

    def root(
        self, root: _Element, expected: str | None, room: int
    ) -> MethodCall | MethodResponse | Fault:
        tag = root.tag
        if expected is not None and tag != expected:
            raise _strict._wrong_root(root, expected)
        if tag == "methodCall":
            return self.call(root, room)
        if tag == "methodResponse":
            return self.response(root, room)
        raise _strict._wrong_root(root, None)

    def call(self, root: _Element, room: int) -> MethodCall:
        self.text(root, None)
        kids = list(root)
        if not kids:
            _strict._fail(root, "<methodCall> has no <methodName>")
        name_el = kids[0]
        if name_el.tag != "methodName":
            _strict._fail(
                name_el,
                f"<methodCall> must start with <methodName>, found <{_strict._name(name_el)}>",
            )
        if len(name_el):
            _strict._child_in_scalar(name_el)
        self.tail(name_el, None)
        name = name_el.text
        if name is None or not name.strip(_WS):
            raise BadValue("the method name is empty", line=_line(name_el), path="methodName")
        if len(kids) == 1:
            return MethodCall(name, ())
        params_el = kids[1]
        if params_el.tag != "params":
            _strict._fail(
                params_el, f"unexpected element <{_strict._name(params_el)}> in <methodCall>"
            )
        if len(kids) > 2:
            _strict._fail(kids[2], f"unexpected element <{_strict._name(kids[2])}> after <params>")
        values = self.params(params_el, room, response=False)
        return MethodCall(name, tuple(values))

    def params(self, params_el: _Element, room: int, *, response: bool) -> list[Value]:
        self.text(params_el, None)
        self.tail(params_el, None)
        out: list[Value] = []
        for i, param in enumerate(params_el):
            if param.tag != "param":
                _strict._fail(
                    param,
                    f"unexpected element <{_strict._name(param)}> in <params> (expected <param>)",
                )
            path = "result" if response else f"params[{i}]"
            self.tail(param, None)
            out.append(self.value(self.only_value(param, path), room, path))
        return out

    def only_value(self, el: _Element, path: str) -> _Element:
        self.text(el, path)
        if len(el) != 1:
            _strict._not_one_value(el)
        value = el[0]
        if value.tag != "value":
            _strict._fail(
                value,
                f"unexpected element <{_strict._name(value)}> in <{el.tag}> (expected <value>)",
            )
        self.tail(value, path)
        return value

    def response(self, root: _Element, room: int) -> MethodResponse | Fault:
        self.text(root, None)
        kids = list(root)
        if len(kids) != 1:
            if not kids:
                _strict._fail(root, "<methodResponse> holds neither <params> nor <fault>")
            if {kids[0].tag, kids[1].tag} == {"params", "fault"}:
                _strict._fail(kids[1], "<methodResponse> holds both <params> and <fault>")
            _strict._fail(
                kids[1], f"unexpected element <{_strict._name(kids[1])}> in <methodResponse>"
            )
        body = kids[0]
        if body.tag == "params":
            values = self.params(body, room, response=True)
            if not values:
                self.note(
                    "empty-params-in-response",
                    "the response's <params> holds no <param>: a result without a value",
                    body,
                    "result",
                )
                return MethodResponse(NoValue())
            if len(values) != 1:
                _strict._fail(
                    body,
                    f"a response's <params> must hold exactly one <param>, found {len(values)}",
                )
            return MethodResponse(values[0])
        if body.tag == "fault":
            self.tail(body, "fault")
            value_el = self.only_value(body, "fault")
            return self.fault(value_el, self.value(value_el, room, "fault"))
        _strict._fail(
            body,
            f"<methodResponse> must hold <params> or <fault>, found <{_strict._name(body)}>",
        )

    def fault(self, value_el: _Element, value: Value) -> Fault:
        return _strict._tolerate_fault(value_el, value)

    # ---- values

    def value(self, v: _Element, room: int, path: str) -> Value:
        n = len(v)
        if n == 0:
            text = v.text
            return UntypedString("" if text is None else text)
        if n > 1:
            _strict._fail(
                v[1],
                f"a <value> holds more than one element (<{_strict._name(v[0])}>, "
                f"<{_strict._name(v[1])}>)",
            )
        typed = v[0]
        if not _blank(v.text):
            self._stray(v, v.text or "", path)
        if not _blank(typed.tail):
            self._stray(v, typed.tail or "", path)
        tag = typed.tag
        if tag == "struct":
            return self.struct(typed, room, path)
        if tag == "array":
            return self.array(typed, room, path)
        if not isinstance(tag, str) or tag not in _strict._HANDLERS:
            return _strict._unknown_type(typed)  # kept as written, and noted
        return self.scalar(typed, tag, room, path)

    def scalar(self, typed: _Element, tag: str, room: int, path: str) -> Value:
        try:
            # The handler notes what it accepts that the spec does not (whitespace, variants).
            return _strict._HANDLERS[tag](typed, room)
        except BadValue as error:
            return _strict._tolerate(typed, error)

    def struct(self, el: _Element, room: int, path: str) -> Struct:
        if room <= 0:
            _strict._too_deep(el)
        self.text(el, path)
        room -= 1
        out = Struct()
        for member in el:
            if member.tag != "member":
                _strict._bad_member(member)
            kids = list(member)
            tags = [k.tag for k in kids]
            if tags == ["name", "value"]:
                name_el, value_el = kids
            elif tags == ["value", "name"]:
                value_el, name_el = kids
            else:
                _strict._bad_member(member)
            if len(name_el):
                _strict._child_in_scalar(name_el)
            name = name_el.text or ""
            member_path = path + member_segment(name)
            if tags[0] == "value":
                self.note(
                    "member-order",
                    f"member {name!r} has its <value> before its <name>",
                    value_el,
                    member_path,
                )
            self.text(member, member_path)
            self.tail(kids[0], member_path)
            self.tail(kids[1], member_path)
            self.tail(member, path)
            out[name] = self.value(value_el, room, member_path)
        if len(out) != len(el):
            _strict._duplicate_member(el, out, room)
        return out

    def array(self, el: _Element, room: int, path: str) -> Array:
        if room <= 0:
            _strict._too_deep(el)
        kids = list(el)
        if len(kids) == 1 and kids[0].tag == "data":
            data = kids[0]
            self.text(el, path)
            self.tail(data, path)
        elif all(k.tag == "value" for k in kids):
            self.note(
                "array-without-data",
                f"<array> holds {len(kids)} <value>s without a <data> element",
                el,
                path,
            )
            data = el
        elif kids and kids[0].tag != "data":
            _strict._fail(
                kids[0],
                f"unexpected element <{_strict._name(kids[0])}> in <array> (expected <data>)",
            )
        else:
            _strict._bad_array(el)
        self.text(data, path)
        room -= 1
        out = Array()
        for i, item in enumerate(data):
            if item.tag != "value":
                _strict._fail(
                    item,
                    f"unexpected element <{_strict._name(item)}> in <data> (expected <value>)",
                )
            self.tail(item, path)
            out.append(self.value(item, room, f"{path}[{i}]"))
        return out
