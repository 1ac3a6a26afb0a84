"""Write a typed Python client for an API description: ``python_stub(api)`` is the source of a
module with a ``Client`` class, one method per XML-RPC method, calling it through
``xmlrpc.client``.

Strategy:

- **Names.** A method keeps its wire name in the call and gets a Python name: every character
  that cannot be in an identifier becomes ``_`` (``math.add`` -> ``math_add``, ``multiply args``
  -> ``multiply_args``), a name starting with a digit or ``_`` gets ``m`` in front, a keyword or
  a name the module uses as a type (``list``, ``int``, ``str``...) gets ``_`` behind, and a name
  already taken gets ``_2``, ``_3``... Flat names, not nested attributes: a server may have both
  ``dir`` and ``dir.list``, which nested attributes cannot express.
- **Types.** Each declared signature (else each arity seen in traffic) is one form; wire types
  map to Python types (``i4``/``int``/``i8`` -> ``int``, ``boolean`` -> ``bool``, ``double`` ->
  ``float``, ``string`` -> ``str``, ``base64`` -> ``bytes``, ``dateTime.iso8601`` ->
  ``datetime.datetime``, ``nil`` -> ``None``, ``array`` -> ``list[T]``, a struct whose members
  traffic showed -> a ``TypedDict`` (members seen sometimes are ``NotRequired``), another struct
  -> ``dict[str, Any]``, anything unknown -> ``Any``; unions stay unions). Several forms become
  ``typing.overload``; forms mypy would call overlapping (a form broader than another but with
  an incompatible result) are merged into one first, so the output always passes
  ``mypy --strict``.
- **Param names** come from the help text when it starts with the method's call
  (``add(a, b) => ...``), else ``arg1``, ``arg2``... Params are positional-only (``/``): XML-RPC
  has no names on the wire.
- **Runtime.** No ``from __future__ import annotations``: the TypedDicts' ``NotRequired``
  members are then seen at run time too (``__optional_keys__``); the module needs Python 3.11.
- **Values.** A ``Client`` made from a URL uses ``use_builtin_types=True`` (base64 is ``bytes``,
  dateTime ``datetime``) and ``allow_none=True``; results are converted to those types when a
  given ``ServerProxy`` was made without them (``Binary`` -> ``bytes``, ``DateTime`` ->
  ``datetime``).

Pure: an ``Api`` in, text out.
"""

from __future__ import annotations

import json
import keyword
import re
import textwrap
from dataclasses import dataclass, field
from typing import Final

from rpcspy.api.diff import method_exists
from rpcspy.api.model import Api, Method, Shape, canonical, shape_to_json

__all__ = ["python_name", "python_stub"]

#: Names the generated module uses as types or helpers: a method may not shadow them.
_RESERVED: Final = frozenset(
    {
        "Any",
        "NotRequired",
        "TypedDict",
        "bool",
        "bytes",
        "cast",
        "datetime",
        "dict",
        "float",
        "int",
        "list",
        "object",
        "overload",
        "self",
        "str",
        "xmlrpc",
    }
)

#: Wire kinds (``canonical``) to Python types.
_SCALARS: Final = {
    "int": "int",
    "i8": "int",
    "ex:i1": "int",
    "ex:i2": "int",
    "ex:biginteger": "int",
    "boolean": "bool",
    "double": "float",
    "string": "str",
    "base64": "bytes",
    "dateTime.iso8601": "datetime.datetime",
    "nil": "None",
}

_LINE: Final = 100


def _identifier(name: str) -> str:
    out = re.sub(r"[^0-9A-Za-z_]", "_", name) or "m"
    if out[0].isdigit() or out[0] == "_":
        out = "m" + out
    if keyword.iskeyword(out) or out in _RESERVED:
        out += "_"
    return out


def python_name(wire: str) -> str:
    """The Python name of a method (before making names unique): ``math.add`` -> ``math_add``."""
    return _identifier(wire)


def _pascal(name: str) -> str:
    parts = re.split(r"[^0-9A-Za-z]+", name)
    text = "".join(p[:1].upper() + p[1:] for p in parts if p)
    return text if text and not text[0].isdigit() else "T" + text


# ---------------------------------------------------------------- Python types


@dataclass(frozen=True)
class _Type:
    """A Python type: its text and its atoms (for the overlap check)."""

    text: str
    atoms: frozenset[str]


_ANY: Final = _Type("Any", frozenset({"Any"}))

#: Atom a is a subtype of atom b (besides a == b and b == Any): mypy's numeric promotions.
_PROMOTIONS: Final = frozenset({("bool", "int"), ("bool", "float"), ("int", "float")})


def _atom_le(a: str, b: str) -> bool:
    return a == b or b == "Any" or a == "Any" or (a, b) in _PROMOTIONS


def _atoms_meet(a: str, b: str) -> bool:
    # lists and dicts of different items may still both match one value (an empty one)
    same_family = a.split("[")[0] == b.split("[")[0] and a.split("[")[0] in ("list", "dict")
    return _atom_le(a, b) or _atom_le(b, a) or same_family


def _le(x: _Type, y: _Type) -> bool:
    return all(any(_atom_le(a, b) for b in y.atoms) for a in x.atoms)


def _meets(x: _Type, y: _Type) -> bool:
    return any(_atoms_meet(a, b) for a in x.atoms for b in y.atoms)


def _union(types: list[_Type], *, param: bool = False) -> _Type:
    """The union of types; for a param, ``float`` absorbs ``int`` and ``bool`` and ``int``
    absorbs ``bool`` (they are accepted anyway, and mypy calls ``float | int`` overloads
    overlapping)."""
    texts: list[str] = []
    atoms: set[str] = set()
    for t in types:
        if "Any" in t.atoms:
            return _ANY
        for part in _split_union(t.text):
            if part not in texts:
                texts.append(part)
        atoms |= t.atoms
    if param:
        absorbed = {"int", "bool"} if "float" in texts else {"bool"} if "int" in texts else set()
        texts = [t for t in texts if t not in absorbed]
        atoms -= absorbed
    if "None" in texts:  # None last: ``str | None``
        texts = [t for t in texts if t != "None"] + ["None"]
    return _Type(" | ".join(texts), frozenset(atoms))


def _split_union(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


@dataclass
class _Module:
    """What the module needs beside the class: TypedDicts, and the typing names used."""

    typed_dicts: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    taken: set[str] = field(default_factory=set)
    uses: set[str] = field(default_factory=set)
    made: dict[tuple[str, str], str] = field(default_factory=dict)

    def type_of(self, shape: Shape | None, hint: str) -> _Type:
        """The Python type of a shape; a struct with known members becomes a TypedDict named
        after ``hint``."""
        if shape is None or shape.empty or shape.any:
            return _ANY
        parts: list[_Type] = []
        for tag in sorted(shape.scalars):
            text = _SCALARS.get(canonical(tag))
            if text is None:
                return _ANY  # a type we cannot name (an unknown element)
            parts.append(_Type(text, frozenset({text})))
        if shape.struct is not None:
            struct = shape.struct
            if struct.members and struct.count > 0:
                name = self._typed_dict(shape, hint)
                parts.append(_Type(name, frozenset({f"td:{name}"})))
            else:
                parts.append(_Type("dict[str, Any]", frozenset({"dict[str, Any]"})))
        if shape.array is not None:
            items = shape.array.items
            inner = _ANY if items is None else self.type_of(items, f"{hint}Item")
            text = f"list[{inner.text}]"
            parts.append(_Type(text, frozenset({text})))
        return _union(parts)

    def _typed_dict(self, shape: Shape, hint: str) -> str:
        struct = shape.struct
        assert struct is not None
        memo = (hint, repr(shape_to_json(shape)))
        known = self.made.get(memo)
        if known is not None:
            return known
        name = hint
        n = 2
        while name in self.taken:
            name = f"{hint}{n}"
            n += 1
        self.taken.add(name)
        members: list[tuple[str, str]] = []
        for key in sorted(struct.members):
            member = struct.members[key]
            text = self.type_of(member.shape, f"{name}{_pascal(key)}").text
            if not struct.always(key):
                self.uses.add("NotRequired")
                text = f"NotRequired[{text}]"
            members.append((key, text))
        self.uses.add("TypedDict")
        self.names.add(name)
        plain = all(k.isidentifier() and not keyword.iskeyword(k) for k, _ in members)
        if plain:
            lines = [f"class {name}(TypedDict):"]
            lines += [f"    {k}: {t}" for k, t in members] or ["    pass"]
        else:
            lines = [f"{name} = TypedDict(", f"    {_literal(name)},", "    {"]
            lines += [f"        {_literal(k)}: {t}," for k, t in members]
            lines += ["    },", ")"]
        self.typed_dicts.append("\n".join(lines))
        self.made[memo] = name
        return name


def _literal(text: str) -> str:
    """A Python string literal, ASCII only (ruff flags look-alike characters)."""
    return json.dumps(text, ensure_ascii=True)


# ---------------------------------------------------------------- forms of a method


@dataclass
class _Form:
    params: list[_Type]
    result: _Type


def _enrich(declared: Shape, learned: Shape | None) -> Shape:
    """A declared type with the struct members and array items traffic showed (introspection
    says only ``struct``)."""
    if learned is None or declared.any:
        return declared
    out = Shape(dict(declared.scalars), declared.struct, declared.array, declared.any)
    if declared.struct is not None and not declared.struct.members and learned.struct is not None:
        out.struct = learned.struct
    if declared.array is not None and declared.array.items is None and learned.array is not None:
        out.array = learned.array
    return out


def _forms(method: Method, module: _Module, hint: str) -> list[_Form] | None:
    """The method's forms (None: nothing known, call it with anything)."""
    forms: list[_Form] = []
    if method.signatures:
        for sig in method.signatures:
            params = [
                module.type_of(_enrich(p, _at(method.params, i)), f"{hint}Param{i + 1}")
                for i, p in enumerate(sig.params)
            ]
            result = module.type_of(_enrich(sig.result, method.result), f"{hint}Result")
            forms.append(_Form(params, result))
    elif method.arity:
        result = module.type_of(method.result, f"{hint}Result")
        params = [module.type_of(p, f"{hint}Param{i + 1}") for i, p in enumerate(method.params)]
        for n in sorted(method.arity):
            forms.append(_Form([params[i] if i < len(params) else _ANY for i in range(n)], result))
    else:
        return None
    for form in forms:
        form.params = [_union([p], param=True) for p in form.params]
    return _settle(forms)


def _at(shapes: list[Shape], i: int) -> Shape | None:
    return shapes[i] if i < len(shapes) else None


def _params_le(a: _Form, b: _Form) -> bool:
    return all(_le(x, y) for x, y in zip(a.params, b.params, strict=True))


def _narrower(a: _Form, b: _Form) -> bool:
    return _params_le(a, b) and not _params_le(b, a)


def _settle(forms: list[_Form]) -> list[_Form]:
    """Forms mypy accepts as overloads: identical params merged, overlapping forms with
    incompatible results merged, and the narrower of two forms first."""
    by_arity: dict[int, list[_Form]] = {}
    for form in forms:
        group = by_arity.setdefault(len(form.params), [])
        for other in group:
            if [p.text for p in other.params] == [p.text for p in form.params]:
                other.result = _union([other.result, form.result])
                break
        else:
            group.append(_Form(list(form.params), form.result))
    out: list[_Form] = []
    for n in sorted(by_arity):
        group = by_arity[n]
        merged = True
        while merged:
            merged = False
            for i, a in enumerate(group):
                for b in group[i + 1 :]:
                    overlap = all(_meets(x, y) for x, y in zip(a.params, b.params, strict=True))
                    if not overlap:
                        continue
                    a_le_b, b_le_a = _params_le(a, b), _params_le(b, a)
                    if a_le_b != b_le_a:  # one strictly narrower: fine if its result is too
                        narrow, wide = (a, b) if a_le_b else (b, a)
                        if _le(narrow.result, wide.result):
                            continue
                    group.remove(b)
                    pairs = zip(a.params, b.params, strict=True)
                    a.params = [_union([x, y], param=True) for x, y in pairs]
                    a.result = _union([a.result, b.result])
                    merged = True
                    break
                if merged:
                    break
        # narrower first: a form goes out once no remaining form is narrower than it
        while group:
            pick = next(
                (f for f in group if not any(_narrower(g, f) for g in group if g is not f)),
                group[0],
            )
            group.remove(pick)
            out.append(pick)
    return out


# ---------------------------------------------------------------- writing


def _help_names(method: Method, count: int) -> list[str]:
    """Param names from a help text that starts with the call (``add(a, b) => ...``)."""
    names = [f"arg{i + 1}" for i in range(count)]
    text = (method.help or "").strip()
    for called in (method.name, method.name.rsplit(".", 1)[-1]):
        if text.startswith(called + "("):
            inside = text[len(called) + 1 :].split(")", 1)[0]
            words = [w.split("=", 1)[0].strip() for w in inside.split(",")] if inside else []
            if len(words) == count and all(w.isidentifier() for w in words):
                names = [_param_name(w) for w in words]
            break
    unique: list[str] = []
    for name in names:
        while name in unique:
            name += "_"
        unique.append(name)
    return unique


def _param_name(word: str) -> str:
    name = _identifier(word)
    return name + "_" if name in {"params", "result"} else name


def _docstring(text: str, indent: str) -> list[str]:
    body = text.strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    body = re.sub(
        r"[^\n\x20-\x7e]",
        lambda m: f"\\u{ord(m.group()):04x}" if ord(m.group()) < 0x10000 else "?",
        body,
    )
    width = _LINE - len(indent)
    lines: list[str] = []
    for line in body.splitlines():
        line = line.rstrip()
        if len(line) <= width - 3:
            lines.append(line)
        else:
            lines.extend(textwrap.wrap(line, width - 3, break_on_hyphens=False) or [""])
    out = [f'{indent}"""{lines[0]}' if lines else f'{indent}"""']
    out += [f"{indent}{line}" if line else "" for line in lines[1:]]
    if len(lines) == 1 and len(out[0]) + 3 <= _LINE and not lines[0].endswith('"'):
        return [out[0] + '"""']
    out.append(f'{indent}"""')
    return out


def _def(name: str, params: list[str], result: str, suffix: str = "") -> list[str]:
    """A ``def`` line, wrapped one param a line when it is too long."""
    one = f"    def {name}({', '.join(['self', *params])}) -> {result}:{suffix}"
    if len(one) <= _LINE:
        return [one]
    return [
        f"    def {name}(",
        *[f"        {p}," for p in ["self", *params]],
        f"    ) -> {result}:{suffix}",
    ]


def _call_lines(start: str, args: list[str], close: str = ")") -> list[str]:
    """``start`` + args + ``close``, wrapped as ``ruff format`` would when too long."""
    one = f"{start}{', '.join(args)}{close}"
    if len(one) <= _LINE:
        return [one]
    indent = " " * (len(start) - len(start.lstrip()) + 4)
    inner = f"{indent}{', '.join(args)}"
    if len(inner) <= _LINE:
        return [start, inner, start[: len(indent) - 4] + close]
    return [start, *[f"{indent}{a}," for a in args], start[: len(indent) - 4] + close]


def _method_source(method: Method, name: str, module: _Module) -> list[str]:
    hint = _pascal(name)
    forms = _forms(method, module, hint)
    doc = method.help.strip() if method.help and method.help.strip() else ""
    wire = f'XML-RPC method "{method.name}".'
    doc = f"{doc}\n\n{wire}" if doc else wire
    call = _literal(method.name)
    lines: list[str] = []
    if forms is None or len(forms) > 1:
        for form in forms or []:
            names = _help_names(method, len(form.params))
            params = [f"{n}: {t.text}" for n, t in zip(names, form.params, strict=True)]
            module.uses.add("overload")
            lines.append("    @overload")
            lines += _def(name, [*params, "/"] if params else [], form.result.text, " ...")
        lines += _def(name, ["*params: Any"], "Any")
        lines += _docstring(doc, "        ")
        lines.append(f"        return self._call({call}, *params)")
        return lines
    form = forms[0]
    names = _help_names(method, len(form.params))
    params = [f"{n}: {t.text}" for n, t in zip(names, form.params, strict=True)]
    lines += _def(name, [*params, "/"] if params else [], form.result.text)
    lines += _docstring(doc, "        ")
    if form.result.text == "None":
        lines += _call_lines("        self._call(", [call, *names])
    elif form.result.text == "Any":
        lines += _call_lines("        return self._call(", [call, *names])
    else:
        module.uses.add("cast")
        lines += _call_lines("        result = self._call(", [call, *names])
        ret = f"        return cast({form.result.text}, result)"
        if len(ret) > _LINE:
            lines += [
                "        return cast(",
                f"            {form.result.text},",
                "            result,",
            ]
            lines.append("        )")
        else:
            lines.append(ret)
    return lines


_HELPERS: Final = '''

def _builtin(value: Any) -> Any:
    """A result as ``use_builtin_types=True`` gives it, whatever the proxy was made with."""
    if isinstance(value, xmlrpc.client.Binary):
        return value.data
    if isinstance(value, xmlrpc.client.DateTime):
        try:
            return datetime.datetime.strptime(value.value, "%Y%m%dT%H:%M:%S")
        except ValueError:
            return value
    if isinstance(value, list):
        return [_builtin(item) for item in value]
    if isinstance(value, dict):
        return {key: _builtin(item) for key, item in value.items()}
    return value
'''

_CLIENT: Final = '''

class {cls}:
    """A client of the API: one method per XML-RPC method.

    ``server`` is a URL (a ``ServerProxy`` is made with ``allow_none=True``,
    ``use_builtin_types=True`` and ``options``) or a ``ServerProxy`` of your own.
    """

    def __init__(self, server: str | xmlrpc.client.ServerProxy, **options: Any) -> None:
        if isinstance(server, str):
            options.setdefault("allow_none", True)
            options.setdefault("use_builtin_types", True)
            server = xmlrpc.client.ServerProxy(server, **options)
        self._proxy = server

    def _call(self, name: str, *params: Any) -> Any:
        return _builtin(getattr(self._proxy, name)(*params))
'''


def python_stub(
    api: Api,
    *,
    system: bool = False,
    class_name: str = "Client",
    source: str | None = None,
) -> str:
    """The source of a typed client module for ``api``. ``system``: include ``system.*``
    methods; ``source``: what the description was read from (named in the docstring)."""
    module = _Module()
    module.taken |= set(_RESERVED) | {class_name}
    taken = set(_RESERVED) | {"_call", "_proxy", class_name}
    bodies: list[list[str]] = []
    for wire in sorted(api.methods):
        method = api.methods[wire]
        if not method_exists(method) or (not system and wire.startswith("system.")):
            continue
        name = python_name(wire)
        base, n = name, 2
        while name in taken:
            name = f"{base}_{n}"
            n += 1
        taken.add(name)
        bodies.append(_method_source(method, name, module))
    header = "Client for an XML-RPC API, written by ``rpcspy api stub``"
    header += f" from {source}." if source else "."
    doc = _docstring(
        f"{header}\n\n"
        f"    client = {class_name}('http://127.0.0.1:8000/RPC2')\n\n"
        "Each method calls one XML-RPC method; its wire name ends the method's docstring.",
        "",
    )
    typing_names = list({"Any"} | module.uses)
    exported = [class_name, *module.names]
    out = [
        *doc,
        "",
        "import datetime",
        "import xmlrpc.client",
        f"from typing import {', '.join(_isort(typing_names))}",
        "",
        *_call_lines("__all__ = [", [_literal(n) for n in _isort(exported)], "]"),
    ]
    text = "\n".join(out) + "\n"
    for td in module.typed_dicts:
        text += "\n\n" + td + "\n"
    text += _HELPERS
    text += _CLIENT.replace("{cls}", class_name)
    for body in bodies:
        text += "\n" + "\n".join(body) + "\n"
    return text


def _isort(names: list[str]) -> list[str]:
    """Names in the order ruff's isort wants them (constants, classes, then functions)."""

    def key(name: str) -> tuple[int, str]:
        if name.isupper():
            return (0, name)
        if name[:1].isupper():
            return (1, name)
        return (2, name)

    return sorted(names, key=key)
