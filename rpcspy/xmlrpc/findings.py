"""Conformance findings: what a message does that the XML-RPC spec does not allow.

The tolerant reading (``rpcspy.xmlrpc.tolerant``) decodes what real peers send and reports each
deviation as a ``Finding``. Every finding names a rule of ``RULES``, the one table of rules: its
severity, the spec text it breaks, and a description (``docs/conformance.md`` documents each).

Severity ``warning``: the value was decoded and its meaning kept. Severity ``error``: it could not
be decoded. A value that could not be decoded is kept as written (a ``RawValue``) and the rest of
the message still decodes; a message that cannot be decoded at all raises ``CodecError``, whose
kind is itself a rule (``Finding.from_error``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from rpcspy.xmlrpc.errors import CodecError

__all__ = ["RULES", "SPEC_URL", "Finding", "Rule", "Severity"]

Severity = Literal["warning", "error"]

#: Where the spec quoted by the rules lives.
SPEC_URL: Final = "http://xmlrpc.com/spec.md"
#: The ``spec`` of a rule that no spec states, but that peers rely on.
DE_FACTO: Final = "de-facto"


@dataclass(frozen=True, slots=True)
class Rule:
    """One conformance rule: a stable id, its severity and the spec text it enforces."""

    id: str
    severity: Severity
    #: The XML-RPC spec's words (or XML 1.0's, or "de-facto" where no spec says it).
    spec: str
    #: What a message does to break it, in a sentence.
    description: str


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {rule.id: rule for rule in rules}


_INT_SPEC = (
    '"<i4> or <int>: four-byte signed integer" ... "An integer is a 32-bit signed number. '
    "You can include a plus or minus at the beginning of a string of numeric characters. "
    'Leading zeros are collapsed. Whitespace is not permitted."'
)

#: Every rule, by id: the one place severities and spec texts are defined.
RULES: Final[dict[str, Rule]] = _rules(
    # ---- values
    Rule(
        "int-out-of-range",
        "warning",
        _INT_SPEC,
        "an <i4> or <int> (or <i8>) holds a number beyond its bits; the number and the wire "
        "type are kept",
    ),
    Rule(
        "whitespace-in-int",
        "warning",
        _INT_SPEC,
        "an integer's text has whitespace around the digits",
    ),
    Rule(
        "whitespace-in-double",
        "warning",
        '"At this time, only decimal point notation is allowed, a plus or a minus, followed by '
        "any number of numeric characters, followed by a period and any number of numeric "
        'characters. Whitespace is not allowed."',
        "a double's text has whitespace around the number",
    ),
    Rule(
        "boolean-word",
        "warning",
        '"<boolean>: 0 (false) or 1 (true)"',
        "a boolean is written true/false (any case) instead of 1/0",
    ),
    Rule(
        "datetime-variant",
        "warning",
        '"<dateTime.iso8601>: date/time, 19980717T14:08:55"',
        "an ISO 8601 date-time in another form than the spec's (dashes, no colons, a fraction "
        "or a time zone); the text is kept",
    ),
    Rule(
        "datetime-not-iso8601",
        "error",
        '"<dateTime.iso8601>: date/time, 19980717T14:08:55"',
        "a dateTime's text is not an ISO 8601 date-time; kept as written",
    ),
    Rule(
        "base64-padding",
        "warning",
        '"<base64>: base64-encoded binary" (RFC 2045 base64: "=" pads the last group of 4)',
        "base64 text without its final '=' padding, or with too much",
    ),
    Rule(
        "base64-junk",
        "warning",
        '"<base64>: base64-encoded binary" (RFC 2045 base64: line breaks only)',
        "base64 text holds spaces, tabs or other characters outside the base64 alphabet (or "
        "data after the padding); they are skipped, as xmlrpc.client skips them",
    ),
    Rule(
        "nil-with-content",
        "warning",
        DE_FACTO + ": <nil/> (an extension, not in the spec) is an empty element",
        "a <nil> element holds text; it is read as nil and the text dropped",
    ),
    Rule(
        "empty-value",
        "error",
        '"<i4> or <int>: four-byte signed integer", "<boolean>: 0 (false) or 1 (true)", '
        '"<double>: double-precision signed floating point number"',
        "a typed element whose type has no empty form (<int/>, <double/>, <boolean/>, "
        "<dateTime.iso8601/>) is empty; kept as written",
    ),
    Rule(
        "invalid-value",
        "error",
        '"Scalar <value>s: <value>s can be scalars, type is indicated by nesting the value '
        'inside one of the tags listed in this table"',
        "a typed element's text is not valid for its type (<int>abc</int>, <boolean>2</boolean>, "
        "bad base64); kept as written",
    ),
    Rule(
        "nil-extension",
        "warning",
        DE_FACTO + ": <nil/> is a common extension (xmlrpc-c, Python, Apache); the spec's types "
        'are "<i4> or <int>, <boolean>, <string>, <double>, <dateTime.iso8601>, <base64>", '
        "<struct> and <array>",
        "a <nil/> (or Apache's <ex:nil/>) value: an extension peers without it refuse; read as nil",
    ),
    Rule(
        "i8-extension",
        "warning",
        DE_FACTO + ": <i8> (xmlrpc-c, Python) and <ex:i8> (Apache) are 64-bit extensions; the "
        'spec\'s integer is "<i4> or <int>: four-byte signed integer"',
        "an <i8> or <ex:i8> value: an extension peers without it refuse; read as a 64-bit integer",
    ),
    Rule(
        "apache-extension",
        "warning",
        DE_FACTO + ": Apache XML-RPC's extension types, in the namespace "
        "http://ws.apache.org/xmlrpc/namespaces/extensions",
        "an Apache ex: type (ex:i1, ex:i2, ex:float, ex:biginteger, ex:bigdecimal, ex:dateTime, "
        "ex:dom, ex:serializable); read as Apache defines it",
    ),
    Rule(
        "unknown-type-tag",
        "warning",
        '"<value>s can be scalars, type is indicated by nesting the value inside one of the '
        'tags listed in this table"',
        "a <value> holds an element that is no XML-RPC type (nor a known extension); it is "
        "kept as written and re-encodes as it came",
    ),
    # ---- structs and arrays
    Rule(
        "duplicate-member",
        "warning",
        '"A <struct> contains <member>s and each <member> contains a <name> and a <value>." '
        '... "The struct element does not preserve the order of the keys." (a struct maps '
        "names to values: a name appears once)",
        "a struct names the same member twice; the last one is kept, as xmlrpc.client does, "
        "and the finding tells the first",
    ),
    Rule(
        "member-order",
        "warning",
        '"each <member> contains a <name> and a <value>"',
        "a struct <member> has its <value> before its <name>",
    ),
    Rule(
        "array-without-data",
        "warning",
        '"An <array> contains a single <data> element, which can contain any number of <value>s."',
        "an <array> holds its <value>s directly, or nothing, without the <data> element",
    ),
    Rule(
        "stray-text",
        "warning",
        '"A <struct> contains <member>s" ... "An <array> contains a single <data> element" '
        "(XML-RPC's containers hold elements, not text)",
        "non-blank text between the elements of a container; it is ignored, as xmlrpc.client "
        "ignores it",
    ),
    # ---- messages
    Rule(
        "empty-params-in-response",
        "warning",
        '"The body of the response is a single XML structure, a <methodResponse>, which can '
        "contain a single <params> which contains a single <param> which contains a single "
        '<value>."',
        "a response's <params> holds no <param>: a result without a value (kept as NoValue)",
    ),
    Rule(
        "fault-code-not-int",
        "warning",
        '"The <methodResponse> could also contain a <fault> which contains a <value> which is '
        "a <struct> containing two elements, one named <faultCode>, an <int> and one named "
        '<faultString>, a <string>."',
        "a fault's faultCode is not an integer (a string, say); its value is kept",
    ),
    Rule(
        "fault-string-not-string",
        "warning",
        '"... one named <faultString>, a <string>."',
        "a fault's faultString is not a string; its value is kept",
    ),
    Rule(
        "fault-missing-member",
        "warning",
        '"a <struct> containing two elements, one named <faultCode>, an <int> and one named '
        '<faultString>, a <string>."',
        "a fault struct lacks faultCode or faultString (Fault.code is then 0, Fault.string "
        '""); the struct is kept as it came',
    ),
    Rule(
        "fault-extra-member",
        "warning",
        '"A <fault> struct may not contain members other than those specified."',
        "a fault struct has members besides faultCode and faultString; they are kept",
    ),
    Rule(
        "multicall-extra-member",
        "warning",
        DE_FACTO + ": system.multicall (xmlrpc-c, Python, supervisor) takes an array of "
        "structs {methodName, params}",
        "a system.multicall entry has members besides methodName and params; they are ignored",
    ),
    # ---- the XML around the message
    Rule(
        "decl-not-first",
        "warning",
        'XML 1.0, 2.8: "the XML declaration ... must be at the very beginning of the document"',
        "whitespace, a comment or a processing instruction comes before <?xml ...?>",
    ),
    Rule(
        "ex-prefix-undeclared",
        "warning",
        'Namespaces in XML 1.0, 3: "The namespace prefix, unless it is xml or xmlns, MUST have '
        'been declared in a namespace declaration attribute"',
        "ex: type elements without a declaration of the ex prefix; read as Apache's extensions "
        "namespace (xmlrpc.client, which ignores namespaces, reads them too)",
    ),
    Rule(
        "utf16-without-bom",
        "warning",
        'XML 1.0, 4.3.3: "Entities encoded in UTF-16 MUST ... begin with the Byte Order Mark"',
        "a UTF-16 body without a byte order mark (recognised by its '<?' as XML 1.0 appendix F "
        "allows)",
    ),
    # ---- the message could not be decoded at all (CodecError kinds)
    Rule(
        "malformed-xml",
        "error",
        '"The payload is in XML, a single <methodCall> structure." / "The body of the response '
        'is a single XML structure, a <methodResponse>"',
        "the body is not well-formed XML, or not an XML-RPC message; nothing was decoded",
    ),
    Rule(
        "bad-value",
        "error",
        '"Scalar <value>s" (the types and their ranges)',
        "a value the tolerant reading cannot keep either (a fault that is not a struct, say); "
        "nothing was decoded",
    ),
    Rule(
        "unsafe-xml",
        "error",
        DE_FACTO + ": XML-RPC has no DTD; rpcspy refuses DTDs and entities and bounds size and "
        "depth, in every mode",
        "the body was refused for safety (DTD, entity, too large, too deep); nothing was parsed",
    ),
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One deviation found in one message, where it is and which rule it breaks."""

    rule: str
    severity: Severity
    #: A sentence for people: what was found and what rpcspy kept.
    message: str
    line: int | None = None
    column: int | None = None
    #: The value path, as in ``CodecError``: ``params[0].tags[2]``, ``result.name``, ``fault``.
    path: str | None = None
    #: The spec text the rule enforces (``Rule.spec``).
    spec: str = ""

    @classmethod
    def make(
        cls,
        rule: str,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        path: str | None = None,
    ) -> Finding:
        """A finding of ``rule`` (a key of ``RULES``), with its severity and spec text."""
        known = RULES[rule]
        if cls is Finding:
            # Many findings may be made per message: fill the slots directly, which costs a
            # third of the frozen dataclass's __init__ (it sets each field through
            # object.__setattr__).
            finding: Finding = _new(cls)
            _set_rule(finding, rule)
            _set_severity(finding, known.severity)
            _set_message(finding, message)
            _set_line(finding, line)
            _set_column(finding, column)
            _set_path(finding, path)
            _set_spec(finding, known.spec)
            return finding
        return cls(rule, known.severity, message, line, column, path, known.spec)

    @classmethod
    def from_error(cls, error: CodecError) -> Finding:
        """The error-severity finding for a message that could not be decoded."""
        return cls.make(
            error.kind, error.reason, line=error.line, column=error.column, path=error.path
        )

    @property
    def where(self) -> str:
        """``line 3, column 7, at params[0].name`` or any part of it; empty if unknown."""
        parts = []
        if self.line is not None:
            parts.append(f"line {self.line}" + (f", column {self.column}" if self.column else ""))
        if self.path:
            parts.append(f"at {self.path}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where
        return f"{self.severity} {self.rule}: {self.message}" + (f" ({where})" if where else "")

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready description (the spec text is left out: ``RULES`` has it)."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "line": self.line,
            "column": self.column,
            "path": self.path,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Finding:
        """The finding ``to_dict`` described; an unknown rule keeps the severity it was given."""
        rule = str(data["rule"])
        known = RULES.get(rule)
        severity: Severity = "error" if data.get("severity") == "error" else "warning"
        line = data.get("line")
        column = data.get("column")
        path = data.get("path")
        return cls(
            rule,
            known.severity if known is not None else severity,
            str(data.get("message", "")),
            line if isinstance(line, int) else None,
            column if isinstance(column, int) else None,
            path if isinstance(path, str) else None,
            known.spec if known is not None else "",
        )


_new = object.__new__
_set_rule = Finding.__dict__["rule"].__set__
_set_severity = Finding.__dict__["severity"].__set__
_set_message = Finding.__dict__["message"].__set__
_set_line = Finding.__dict__["line"].__set__
_set_column = Finding.__dict__["column"].__set__
_set_path = Finding.__dict__["path"].__set__
_set_spec = Finding.__dict__["spec"].__set__
