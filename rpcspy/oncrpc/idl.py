"""A parser for the rpcgen ``.x`` language: XDR definitions (RFC 4506 §6) and RPC programs
(RFC 5531 §12), read into an ``Interface`` that decodes a procedure's arguments and result.

Strategy: a hand-written tokenizer (comments, ``%`` passthrough lines and ``#`` preprocessor
lines skipped; every token keeps its line and column) feeds a recursive-descent parser whose
functions follow the RFC grammar's rules by name. A type used by name becomes one ``NamedType``
per name, bound when its definition is read, so definitions may come in any order and refer to
themselves (``struct pmaplist { pmap map; pmaplist *next; }``); a name still unbound at the end
is an error naming where it was first used.

Beside the RFC grammar it reads what rpcgen accepts and real ``.x`` files use: ``unsigned`` alone,
``long``/``short``/``char`` (4 bytes on the wire, like ``int``), ``struct x`` as a type name,
``string`` as a procedure's argument or result type, several arguments (``rpcgen -N``), and
``TRUE``/``FALSE``. Every error is a ``BadIdl`` with line:column.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from rpcspy.oncrpc.errors import BadIdl
from rpcspy.oncrpc.values import Value
from rpcspy.oncrpc.xdr import (
    BOOL,
    DEFAULT_LIMITS,
    DOUBLE,
    FLOAT,
    HYPER,
    INT,
    QUADRUPLE,
    UHYPER,
    UINT,
    VOID_TYPE,
    ArrayType,
    BoolType,
    EnumType,
    IntType,
    Limits,
    NamedType,
    OpaqueType,
    OptionalType,
    StringType,
    StructType,
    UIntType,
    UnionArm,
    UnionType,
    XdrType,
    decode_all,
    encode_all,
)

__all__ = ["Interface", "Procedure", "Program", "Version", "parse_idl"]


@dataclass(frozen=True, slots=True)
class Procedure:
    """``result NAME(args) = number;``"""

    name: str
    number: int
    args: tuple[XdrType, ...]
    result: XdrType

    @property
    def signature(self) -> str:
        args = ", ".join(t.spelling for t in self.args) or "void"
        return f"{self.result.spelling} {self.name}({args}) = {self.number}"


@dataclass(frozen=True, slots=True)
class Version:
    """``version NAME { procedures } = number;``"""

    name: str
    number: int
    procedures: dict[int, Procedure]


@dataclass(frozen=True, slots=True)
class Program:
    """``program NAME { versions } = number;``"""

    name: str
    number: int
    versions: dict[int, Version]


@dataclass(frozen=True, slots=True)
class Interface:
    """What a ``.x`` text defines: constants, types and programs by number."""

    constants: dict[str, int] = field(default_factory=dict)
    types: dict[str, XdrType] = field(default_factory=dict)
    programs: dict[int, Program] = field(default_factory=dict)
    #: Where it came from (a file name), for messages.
    source: str = "<idl>"

    def procedure(self, program: int, version: int, procedure: int) -> Procedure | None:
        """The procedure with these numbers, or None when the interface does not define it."""
        prog = self.programs.get(program)
        vers = prog.versions.get(version) if prog else None
        return vers.procedures.get(procedure) if vers else None

    def decode_args(
        self, proc: Procedure, data: bytes, *, start: int = 0, limits: Limits = DEFAULT_LIMITS
    ) -> tuple[Value, ...]:
        """A call's arguments, from ``data[start:]`` to its end."""
        return decode_all(proc.args, data, limits, start=start, path="args")

    def decode_result(
        self, proc: Procedure, data: bytes, *, start: int = 0, limits: Limits = DEFAULT_LIMITS
    ) -> Value:
        """A successful reply's result, from ``data[start:]`` to its end."""
        return decode_all((proc.result,), data, limits, start=start, path="result")[0]

    def encode_args(self, proc: Procedure, values: Sequence[object]) -> bytes:
        """The XDR bytes of a call's arguments."""
        return encode_all(proc.args, values)

    def encode_result(self, proc: Procedure, value: object) -> bytes:
        """The XDR bytes of a result."""
        return encode_all((proc.result,), (value,))

    def type(self, name: str) -> XdrType:
        """The type named ``name``, resolved (``KeyError`` if there is none)."""
        return self.types[name].resolved()

    def merged(self, other: Interface) -> Interface:
        """Both interfaces in one; ``other`` wins where both define a name or program number."""
        return Interface(
            {**self.constants, **other.constants},
            {**self.types, **other.types},
            {**self.programs, **other.programs},
            f"{self.source}+{other.source}",
        )


# ---------------------------------------------------------------- tokens


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "ident", "number", "punct", "end"
    text: str
    line: int
    column: int


_TOKEN: Final = re.compile(
    r"""
    (?P<space>[ \t\r\f\v]+)
  | (?P<newline>\n)
  | (?P<comment>/\*.*?\*/)
  | (?P<linecomment>//[^\n]*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>-?(?:0[xX][0-9A-Fa-f]+|[0-9]+))
  | (?P<string>"[^"\n]*")
  | (?P<punct>[{}()\[\]<>;,=:*])
    """,
    re.VERBOSE | re.DOTALL,
)


_DIRECTIVE: Final = re.compile(r"\s*#\s*(\w+)\s*(.*)")
_DEFINE: Final = re.compile(r"([A-Za-z_]\w*)\s+(-?(?:0[xX][0-9A-Fa-f]+|[0-9]+))\s*$")


def _preprocess(text: str) -> tuple[str, dict[str, str]]:
    """Blank out ``%`` passthrough lines, preprocessor lines and the lines an ``#ifdef`` leaves
    out (keeping line numbers), the little of cpp that rpcgen's inputs lean on: ``#define NAME
    NUMBER`` becomes a constant, ``#ifdef``/``#ifndef`` test those names, ``#if`` is false (it
    tests what rpcgen defines per output file), ``#else``/``#endif`` as in C."""
    lines = text.split("\n")
    defines: dict[str, str] = {}
    stack: list[tuple[bool, bool]] = []  # (this branch active, some branch taken)
    continued = False
    for n, line in enumerate(lines):
        if continued:
            continued = line.endswith("\\")
            lines[n] = ""
            continue
        active = all(a for a, _ in stack)
        stripped = line.lstrip()
        m = _DIRECTIVE.match(line) if stripped.startswith("#") else None
        if m:
            word, rest = m.group(1), m.group(2).strip()
            if word in ("ifdef", "ifndef"):
                name = rest.split()[0] if rest else ""
                on = (name in defines) == (word == "ifdef")
                stack.append((on, on))
            elif word == "if":
                on = rest == "1"
                stack.append((on, on))
            elif word == "elif" and stack:
                stack[-1] = (False, stack[-1][1])
            elif word == "else" and stack:
                stack[-1] = (not stack[-1][1], True)
            elif word == "endif" and stack:
                stack.pop()
            elif word == "define" and active:
                d = _DEFINE.match(rest)
                if d:
                    defines[d.group(1)] = d.group(2)
            continued = line.endswith("\\")
            lines[n] = ""
        elif not active or stripped.startswith("%"):
            # rpcgen passes %#define to C; its number is what a size using the name means.
            d = _DEFINE.match(stripped[1:].strip()[7:].strip()) if active else None
            if d and stripped[1:].strip().startswith("#define"):
                defines[d.group(1)] = d.group(2)
            continued = stripped.startswith("%") and line.endswith("\\")
            lines[n] = ""
    return "\n".join(lines), defines


def _tokens(text: str) -> Iterator[_Token]:
    line, line_start, pos = 1, 0, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            if text.startswith("/*", pos):
                raise BadIdl("a comment is never closed", line=line, column=pos - line_start + 1)
            raise BadIdl(
                f"unexpected character {text[pos]!r}", line=line, column=pos - line_start + 1
            )
        kind = m.lastgroup or ""
        if kind in ("ident", "number", "punct", "string"):
            yield _Token(kind, m.group(), line, pos - line_start + 1)
        elif kind == "newline":
            line += 1
            line_start = m.end()
        elif kind == "comment":
            newlines = m.group().count("\n")
            if newlines:
                line += newlines
                line_start = m.start() + m.group().rfind("\n") + 1
        pos = m.end()
    yield _Token("end", "", line, pos - line_start + 1)


_KEYWORDS: Final = frozenset(
    [
        "bool",
        "case",
        "const",
        "default",
        "double",
        "quadruple",
        "enum",
        "float",
        "hyper",
        "int",
        "opaque",
        "program",
        "string",
        "struct",
        "switch",
        "typedef",
        "union",
        "unsigned",
        "version",
        "void",
    ]
)


#: Type names rpcgen's inputs use without defining them (the C library defines them).
_BUILTIN_NAMES: Final[dict[str, XdrType]] = {
    "netobj": OpaqueType(maximum=1024),
    "rpcprog_t": UINT,
    "rpcvers_t": UINT,
    "rpcproc_t": UINT,
    "rpcprot_t": UINT,
    "rpcport_t": UINT,
    "int32_t": INT,
    "uint32_t": UINT,
    "u_int32_t": UINT,
    "int64_t": HYPER,
    "uint64_t": UHYPER,
    "u_int64_t": UHYPER,
}

# ---------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        text, defines = _preprocess(text)
        self.tokens = list(_tokens(text))
        self.i = 0
        self.source = source
        self.constants: dict[str, int] = {"TRUE": 1, "FALSE": 0}
        self.constants.update((k, _number(v)) for k, v in defines.items())
        #: ``const A = B;`` with B defined further down (rpcb_prot.x does it): bound at the end.
        self.pending: dict[str, _Token] = {}
        self.names: dict[str, NamedType] = {}
        self.first_use: dict[str, _Token] = {}
        self.programs: dict[int, Program] = {}

    # -- token helpers

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def error(self, reason: str, tok: _Token | None = None) -> BadIdl:
        t = tok or self.tok
        return BadIdl(f"{self.source}: {reason}", line=t.line, column=t.column)

    def _found(self) -> str:
        return "the end of the file" if self.tok.kind == "end" else repr(self.tok.text)

    def take(self) -> _Token:
        t = self.tok
        self.i += 1
        return t

    def at(self, text: str) -> bool:
        return self.tok.text == text and self.tok.kind in ("ident", "punct")

    def accept(self, text: str) -> bool:
        if self.at(text):
            self.i += 1
            return True
        return False

    def expect(self, text: str, context: str) -> _Token:
        if not self.at(text):
            raise self.error(f"expected {text!r} {context}, found {self._found()}")
        return self.take()

    def ident(self, context: str) -> _Token:
        t = self.tok
        if t.kind != "ident" or t.text in _KEYWORDS:
            raise self.error(f"expected a name {context}, found {self._found()}")
        return self.take()

    def value(self, context: str) -> int:
        """``value: constant | identifier`` (a const or an enum member)."""
        t = self.take()
        if t.kind == "number":
            return _number(t.text)
        if t.kind == "ident" and t.text in self.constants:
            return self.constants[t.text]
        if t.kind == "ident":
            raise self.error(f"{t.text!r} {context} is not a constant defined above", t)
        raise self.error(f"expected a number or constant {context}, found {t.text!r}", t)

    def define_constant(self, t: _Token, number: int) -> None:
        # The same name for the same number is fine: rstat.x repeats a procedure per version.
        old = self.constants.get(t.text)
        if old is not None and old != number and t.text not in ("TRUE", "FALSE"):
            raise self.error(f"constant {t.text!r} is defined twice ({old} and {number})", t)
        self.constants[t.text] = number

    def named(self, t: _Token) -> NamedType:
        named = self.names.get(t.text)
        if named is None:
            named = self.names[t.text] = NamedType(t.text)
            self.first_use[t.text] = t
        return named

    def define_type(self, t: _Token, target: XdrType) -> None:
        named = self.named(t)
        if named.target is not None:
            raise self.error(f"type {t.text!r} is defined twice", t)
        named.target = target

    # -- the grammar

    def specification(self) -> Interface:
        while self.tok.kind != "end":
            self.definition()
        for name, alias in self.pending.items():
            if alias.text not in self.constants:
                raise self.error(f"{alias.text!r} (the value of {name}) is never defined", alias)
            self.constants[name] = self.constants[alias.text]
        for name, named in self.names.items():
            if named.target is None and name in _BUILTIN_NAMES:
                named.target = _BUILTIN_NAMES[name]
            if named.target is None:
                raise self.error(f"type {name!r} is used but never defined", self.first_use[name])
        types: dict[str, XdrType] = dict(self.names)
        constants = {k: v for k, v in self.constants.items() if k not in ("TRUE", "FALSE")}
        return Interface(constants, types, self.programs, self.source)

    def definition(self) -> None:
        if self.accept("const"):
            name = self.ident("after 'const'")
            self.expect("=", f"after 'const {name.text}'")
            if self.tok.kind == "string":
                self.take()  # a text constant (key_prot.x): no use in decoding
            elif self.tok.kind == "ident" and self.tok.text not in self.constants:
                self.pending[name.text] = self.take()
            else:
                self.define_constant(name, self.value(f"as the value of {name.text}"))
        elif self.accept("typedef"):
            declared, t = self.declaration("in a typedef")
            if declared is None:
                raise self.error("a typedef of void names nothing")
            if not (isinstance(t, NamedType) and t.name == declared.text):  # typedef struct x x;
                self.define_type(declared, t)
        elif self.at("enum") or self.at("struct") or self.at("union"):
            keyword = self.take().text
            name = self.ident(f"after '{keyword}'")
            body = {"enum": self.enum_body, "struct": self.struct_body, "union": self.union_body}
            self.define_type(name, body[keyword](name.text))
        elif self.accept("program"):
            self.program_def()
            return
        else:
            raise self.error(
                "expected a definition (const, typedef, enum, struct, union or program), "
                f"found {self._found()}"
            )
        self.expect(";", "after a definition")

    def enum_body(self, name: str) -> EnumType:
        self.expect("{", f"to open enum {name}")
        members: list[tuple[str, int]] = []
        while True:
            member = self.ident(f"for a member of enum {name}")
            if self.accept("="):
                number = self.value(f"as the value of {member.text}")
            else:  # rpcgen numbers members without a value on from the last one
                number = members[-1][1] + 1 if members else 0
            if not -(1 << 31) <= number < (1 << 31):
                raise self.error(f"{member.text} = {number} does not fit an int", member)
            self.define_constant(member, number)
            members.append((member.text, number))
            if not self.accept(","):
                break
        self.expect("}", f"to close enum {name}")
        return EnumType(name, tuple(members))

    def struct_body(self, name: str) -> StructType:
        self.expect("{", f"to open struct {name}")
        fields: list[tuple[str, XdrType]] = []
        seen: set[str] = set()
        while not self.at("}"):
            field_name, t = self.declaration(f"in struct {name}")
            self.expect(";", f"after a field of struct {name}")
            if field_name is None:
                continue  # rpcgen-era "void;" in a struct: no bytes
            if field_name.text in seen:
                raise self.error(
                    f"struct {name} has two fields named {field_name.text}", field_name
                )
            seen.add(field_name.text)
            fields.append((field_name.text, t))
        self.expect("}", f"to close struct {name}")
        if not fields:
            raise self.error(f"struct {name} has no fields")
        return StructType(name, tuple(fields))

    def union_body(self, name: str) -> UnionType:
        self.expect("switch", f"after 'union {name}'")
        self.expect("(", "after 'switch'")
        disc_tok = self.tok
        disc_name, disc = self.declaration(f"as the discriminant of union {name}")
        self.expect(")", f"after the discriminant of union {name}")
        try:
            base = disc.resolved()
        except BadIdl:
            raise self.error(
                f"the discriminant type of union {name} is not defined above", disc_tok
            ) from None
        if disc_name is None or not isinstance(base, IntType | UIntType | BoolType | EnumType):
            raise self.error(
                f"the discriminant of union {name} must be an int, unsigned int, enum or bool",
                disc_tok,
            )
        self.expect("{", f"to open union {name}")
        arms: dict[int, UnionArm] = {}
        default: UnionArm | None = None
        while self.at("case"):
            labels: list[tuple[_Token, int]] = []
            while self.accept("case"):
                label_tok = self.tok
                labels.append((label_tok, self.value(f"as a case of union {name}")))
                self.expect(":", "after a case label")
            arm_name, t = self.declaration(f"in a case of union {name}")
            self.expect(";", f"after an arm of union {name}")
            arm = UnionArm(None if arm_name is None else arm_name.text, t)
            for label_tok, number in labels:
                if isinstance(base, EnumType) and base.name_of(number) is None:
                    raise self.error(f"case {number} is not a value of enum {base.name}", label_tok)
                if number in arms:
                    raise self.error(f"union {name} has case {number} twice", label_tok)
                arms[number] = arm
        if self.accept("default"):
            self.expect(":", "after 'default'")
            arm_name, t = self.declaration(f"in the default of union {name}")
            self.expect(";", f"after the default arm of union {name}")
            default = UnionArm(None if arm_name is None else arm_name.text, t)
        if not arms and default is None:
            raise self.error(f"union {name} has no arms")
        self.expect("}", f"to close union {name}")
        return UnionType(name, disc_name.text, disc, arms, default)

    def type_specifier(self, context: str, *, allow_string: bool = False) -> XdrType:
        t = self.tok
        if t.kind != "ident":
            raise self.error(f"expected a type {context}, found {self._found()}")
        self.i += 1
        word = t.text
        if word == "unsigned":
            if self.accept("hyper"):
                return UHYPER
            for width in ("int", "long", "short", "char"):
                if self.accept(width):
                    break
            return UINT
        simple = {
            "int": INT, "long": INT, "short": INT, "char": INT, "hyper": HYPER,
            "float": FLOAT, "double": DOUBLE, "quadruple": QUADRUPLE, "bool": BOOL,
            "u_int": UINT, "u_long": UINT, "u_short": UINT, "u_char": UINT,
        }  # fmt: skip
        if word in simple:
            return simple[word]
        if word in ("enum", "struct", "union"):
            if self.tok.kind == "ident" and self.tok.text not in _KEYWORDS:
                inner = self.take()
                if self.at("{"):
                    body = {"enum": self.enum_body, "struct": self.struct_body}
                    if word == "union":
                        defined: XdrType = self.union_body(inner.text)
                    else:
                        defined = body[word](inner.text)
                    self.define_type(inner, defined)
                return self.named(inner)
            # An anonymous body inside a declaration is named after its context.
            anon = context.rsplit(" ", 1)[-1]
            if word == "enum":
                return self.enum_body(anon)
            if word == "struct":
                return self.struct_body(anon)
            return self.union_body(anon)
        if word == "string" and allow_string:
            return StringType(None)
        if word in _KEYWORDS:
            raise self.error(f"{word!r} cannot be used as a type here ({context})", t)
        return self.named(t)

    def declaration(self, context: str) -> tuple[_Token | None, XdrType]:
        """``declaration`` of RFC 4506 §6.3: the name it declares (None for void) and its type."""
        if self.accept("void"):
            return None, VOID_TYPE
        if self.at("opaque") or self.at("string"):
            word = self.take().text
            name = self.ident(f"after '{word}' {context}")
            if word == "opaque" and self.accept("["):
                size = self.value(f"as the size of {name.text}")
                self.expect("]", f"after the size of {name.text}")
                return name, OpaqueType(fixed=_size(self, size, name))
            self.expect("<", f"after '{word} {name.text}' (XDR needs <max> or <>)")
            maximum = None if self.at(">") else _size(self, self.value("as a maximum"), name)
            self.expect(">", f"after the maximum of {name.text}")
            return name, OpaqueType(maximum=maximum) if word == "opaque" else StringType(maximum)
        t = self.type_specifier(context)
        if self.accept("*"):
            name = self.ident(f"after '*' {context}")
            return name, OptionalType(t)
        name = self.ident(f"to name a {t.spelling} {context}")
        if self.accept("["):
            size = self.value(f"as the size of {name.text}")
            self.expect("]", f"after the size of {name.text}")
            return name, ArrayType(t, fixed=_size(self, size, name))
        if self.accept("<"):
            maximum = None if self.at(">") else _size(self, self.value("as a maximum"), name)
            self.expect(">", f"after the maximum of {name.text}")
            return name, ArrayType(t, maximum=maximum)
        return name, t

    def program_def(self) -> None:
        name = self.ident("after 'program'")
        self.expect("{", f"to open program {name.text}")
        versions: dict[int, Version] = {}
        while self.accept("version"):
            version = self.version_def(name.text)
            if version.number in versions:
                raise self.error(f"program {name.text} has version {version.number} twice")
            versions[version.number] = version
        if not versions:
            raise self.error(f"expected 'version' in program {name.text}, found {self._found()}")
        self.expect("}", f"to close program {name.text}")
        self.expect("=", f"after program {name.text}'s body")
        number = self.value(f"as the number of program {name.text}")
        self.expect(";", f"after program {name.text}")
        self.define_constant(name, number)
        if number in self.programs:
            raise self.error(f"program number {number} is defined twice", name)
        self.programs[number] = Program(name.text, number, versions)

    def version_def(self, program: str) -> Version:
        name = self.ident(f"after 'version' in program {program}")
        self.expect("{", f"to open version {name.text}")
        procedures: dict[int, Procedure] = {}
        while not self.at("}"):
            proc = self.procedure_def(name.text)
            if proc.number in procedures:
                raise self.error(f"version {name.text} has procedure {proc.number} twice")
            procedures[proc.number] = proc
        self.expect("}", f"to close version {name.text}")
        self.expect("=", f"after version {name.text}'s body")
        number = self.value(f"as the number of version {name.text}")
        self.expect(";", f"after version {name.text}")
        self.define_constant(name, number)
        return Version(name.text, number, procedures)

    def procedure_def(self, version: str) -> Procedure:
        result = (
            VOID_TYPE
            if self.accept("void")
            else self.type_specifier(f"as a result in version {version}", allow_string=True)
        )
        name = self.ident(f"for a procedure in version {version}")
        self.expect("(", f"after procedure {name.text}")
        args: list[XdrType] = []
        if not self.accept("void"):
            while True:
                args.append(
                    self.type_specifier(f"as an argument of {name.text}", allow_string=True)
                )
                if not self.accept(","):
                    break
        self.expect(")", f"after the arguments of {name.text}")
        self.expect("=", f"after procedure {name.text}'s arguments")
        number = self.value(f"as the number of procedure {name.text}")
        self.expect(";", f"after procedure {name.text}")
        self.define_constant(name, number)
        return Procedure(name.text, number, tuple(args), result)


def _number(text: str) -> int:
    negative = text.startswith("-")
    digits = text[1:] if negative else text
    if digits[:2] in ("0x", "0X"):
        n = int(digits[2:], 16)
    elif len(digits) > 1 and digits.startswith("0"):
        n = int(digits, 8)
    else:
        n = int(digits)
    return -n if negative else n


def _size(parser: _Parser, size: int, name: _Token) -> int:
    if not 0 <= size <= 0xFFFFFFFF:
        raise parser.error(f"the size of {name.text} must be in [0, 2^32-1], not {size}", name)
    return size


def parse_idl(text: str, source: str = "<idl>") -> Interface:
    """The interface a ``.x`` text defines. ``BadIdl`` (with line:column) if it cannot be read."""
    try:
        return _Parser(text, source).specification()
    except ValueError as exc:  # an octal literal with an 8 or 9 in it
        raise BadIdl(f"{source}: {exc}") from None
