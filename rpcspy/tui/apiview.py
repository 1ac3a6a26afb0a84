"""What the API pane shows, and the new call it pre-fills (pure: no Textual).

``ApiLearner`` learns the API of a ``CaptureIndex``'s calls a batch at a time (in the pane's
worker thread) and keeps what it learned, so that opening the pane again only learns the calls
that came since. The texts (a method's signatures, fault rate, sources and its detail) and
``example_params`` (a new call's params, one default value per declared or learned type) are
plain functions the pane and its tests share.

Strategy for ``example_params``: the first declared signature when there is one, else the
learned params of the most common arity. A union's value is of its first type as
``shape_text`` writes it (scalars by name, then struct, then array), but ``nil`` and unknown
types only when nothing else is in the union: ``i4|nil`` gives ``i4 0``. A struct gets the
members every struct seen had, filled the same way.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from rich.text import Text

from rpcspy.api.learn import learn_lines
from rpcspy.api.model import Api, Method, Shape, Signature, canonical, merge_apis, shape_text
from rpcspy.tui.editing import default_value
from rpcspy.xmlrpc.values import ALL_TYPES, Array, DateTime, String, Struct, Value

if TYPE_CHECKING:
    from rpcspy.capture.index import CaptureIndex
    from rpcspy.capture.record import CallRecord

__all__ = [
    "ApiLearner",
    "detail_text",
    "example_params",
    "example_value",
    "fault_text",
    "learned_signature",
    "signature_text",
    "sources_text",
]

#: Calls learned between two looks at ``cancelled`` (and two progress reports).
BATCH: Final = 2_000
#: How deep ``example_value`` fills nested structs.
_MAX_DEPTH: Final = 8


class ApiLearner:
    """The API of a ``CaptureIndex``'s calls, learned from row 0 up to ``upto``.

    ``learn`` runs in a worker thread; one learns at a time (a lock), and it stops between two
    batches when ``cancelled()`` says so, so ``api`` always covers whole rows ``[0, upto)``.
    """

    def __init__(self, store: CaptureIndex) -> None:
        self.store = store
        self.api = Api()
        self.upto = 0
        self._lock = threading.RLock()

    @property
    def behind(self) -> bool:
        """Are there calls not learned yet?"""
        return self.upto < self.store.count

    def learn(
        self,
        *,
        cancelled: Callable[[], bool] = lambda: False,
        progress: Callable[[int, int], None] = lambda done, total: None,
    ) -> bool:
        """Learn the rows added since the last time; False when cancelled before the end."""
        with self._lock:
            while True:
                total = self.store.count
                end = min(self.upto + BATCH, total)
                if end <= self.upto:
                    return True
                if cancelled():
                    return False
                learn_lines(map(self._row, range(self.upto, end)), self.api)
                self.upto = end
                progress(end, total)

    def _row(self, row: int) -> bytes | CallRecord:
        """A file-backed row's line (learned by content, fast), else its record."""
        line = self.store.raw_line(row)
        return line if line is not None else self.store.record(row)

    def merged(self, file_api: Api | None) -> Api:
        """A copy of what was learned, merged after ``file_api`` (its help and signatures
        first, its counts added)."""
        with self._lock:
            return merge_apis([file_api, self.api] if file_api is not None else [self.api])


# ---------------------------------------------------------------- texts


def _sig_text(params: list[Shape], result: Shape | None, optional_from: int | None = None) -> str:
    shown = []
    for i, p in enumerate(params):
        text = shape_text(p, depth=1)
        shown.append(f"[{text}]" if optional_from is not None and i >= optional_from else text)
    return f"({', '.join(shown)}) -> {shape_text(result, depth=1)}"


def _declared_text(sig: Signature) -> str:
    return _sig_text(sig.params, sig.result)


def learned_signature(method: Method) -> str:
    """The learned signature: ``(int, [string]) -> int``; params not in every call are in
    brackets. Empty when no call was seen."""
    if not method.arity:
        return ""
    return _sig_text(method.params, method.result, min(method.arity))


def signature_text(method: Method) -> str:
    """The declared signatures (``; ``-separated), else the learned one."""
    if method.signatures:
        return "; ".join(_declared_text(s) for s in method.signatures)
    return learned_signature(method)


def fault_text(method: Method) -> str:
    """``25% -32601`` (fault rate over answered calls and the commonest code), ``0%``, or
    empty when no call was answered."""
    if not method.answered:
        return ""
    rate = f"{method.fault_rate:.0%}"
    if not method.faults:
        return rate
    code = max(method.faults.items(), key=lambda kv: (kv[1], -kv[0]))[0]
    return f"{rate} {code}"


def sources_text(method: Method) -> str:
    """``both``, ``intro`` (introspection) or ``traffic``."""
    if {"introspection", "traffic"} <= method.sources:
        return "both"
    if "introspection" in method.sources:
        return "intro"
    return "traffic" if "traffic" in method.sources else ""


def _calls(n: int) -> str:
    return f"{n:,} call" if n == 1 else f"{n:,} calls"


def _shape_lines(
    text: Text, label: str, shape: Shape, indent: int, depth: int = 0, note: Text | None = None
) -> None:
    """``label: type  n seen`` (and ``note``) and, below it, a struct's members (always /
    sometimes) and the items of an array of structs, indented."""
    text.append("  " * indent)
    text.append(f"{label}: ", "bold")
    text.append(shape_text(shape, depth=1))
    if shape.count:
        text.append(f"  {shape.count:,} seen", "dim")
    if note is not None:
        text.append("  ")
        text.append_text(note)
    text.append("\n")
    if depth >= 4:
        return
    struct = shape.struct
    if struct is not None:
        for name in sorted(struct.members):
            member = struct.members[name]
            member_note = None
            if struct.count:
                member_note = (
                    Text("always", "green")
                    if struct.always(name)
                    else Text(f"sometimes ({member.seen:,} of {struct.count:,})", "yellow")
                )
            _shape_lines(text, name, member.shape, indent + 2, depth + 1, member_note)
    array = shape.array
    if array is not None and array.items is not None and array.items.struct is not None:
        _shape_lines(text, "items", array.items, indent + 2, depth + 1)


def detail_text(method: Method) -> Text:
    """Everything known of one method, as the pane's detail shows it."""
    text = Text()
    text.append(method.name, "bold")
    sources = ", ".join(s for s in ("introspection", "traffic") if s in method.sources)
    text.append(f"   from {sources or 'nowhere'}\n", "dim")
    if method.help:
        text.append(method.help.strip() + "\n")
    text.append("\n")
    if method.signatures:
        text.append("declared\n", "bold underline")
        for sig in method.signatures:
            text.append(f"  {_declared_text(sig)}\n")
            for i, p in enumerate(sig.params):
                if p.struct is not None and p.struct.members:
                    _shape_lines(text, f"params[{i}]", p, 2)
    else:
        text.append("no declared signature\n", "dim")
    text.append("\n")
    if not method.calls:
        text.append("not seen in the calls\n", "dim")
        return text
    faults = method.fault_count
    text.append(
        f"learned from {method.calls:,} call{'s' if method.calls != 1 else ''}",
        "bold underline",
    )
    text.append(f" ({method.answered:,} answered, {faults:,} fault{'s' if faults != 1 else ''})\n")
    text.append(f"  {learned_signature(method)}\n")
    arities = ", ".join(
        f"{n} param{'s' if n != 1 else ''} ({_calls(c)})" for n, c in sorted(method.arity.items())
    )
    text.append("  arity: ", "bold")
    text.append(arities + "\n")
    for i, p in enumerate(method.params):
        _shape_lines(text, f"params[{i}]", p, 1)
    if method.result is not None:
        _shape_lines(text, "result", method.result, 1)
    if method.faults:
        text.append("  faults: ", "bold")
        text.append(
            ", ".join(f"{code} ({n:,})" for code, n in sorted(method.faults.items())) + "\n",
            "yellow",
        )
    return text


# ---------------------------------------------------------------- a new call's params


def _first_type(shape: Shape) -> str | None:
    """The type a union's example value takes (None: unknown, a string will do)."""
    nil = None
    for tag in sorted(shape.scalars):
        if canonical(tag) == "nil":
            nil = nil or tag
        elif tag in ALL_TYPES or tag == "untyped":
            return tag
    if shape.struct is not None:
        return "struct"
    if shape.array is not None:
        return "array"
    return nil


def example_value(shape: Shape, depth: int = 0, *, seen: Shape | None = None) -> Value:
    """A default value of the shape's first type: int 0, string "", boolean false, double
    0.0, dateTime now, base64 empty, nil, array empty, a struct with the members always
    present, filled the same way; an unknown type (``any``) is string "".

    ``seen`` is what the traffic showed in the same place: a declared ``struct`` says nothing
    of its members, so the ones every call had are taken from there."""
    tag = _first_type(shape)
    if tag is None:
        return String("")
    if tag == "struct":
        struct = Struct()
        known = shape.struct
        if (known is None or not known.members) and seen is not None:
            known = seen.struct
        if known is not None and depth < _MAX_DEPTH:
            for name in sorted(known.members):
                if known.always(name):
                    struct[name] = example_value(known.members[name].shape, depth + 1)
        return struct
    if tag == "array":
        return Array()
    value = default_value("" if tag == "untyped" else tag)
    if isinstance(value, DateTime):
        return type(value).from_datetime(dt.datetime.now().replace(microsecond=0))
    return value


def example_params(method: Method) -> tuple[Value, ...]:
    """Params for a new call of ``method``: its first declared signature's types, else one
    per position of the commonest arity (the fewer params on a tie) of the learned types. A
    declared struct gets the members every call had in that place."""
    learned = method.params
    if method.signatures:
        shapes = method.signatures[0].params
    elif method.arity:
        arity = max(method.arity.items(), key=lambda kv: (kv[1], -kv[0]))[0]
        shapes = [learned[i] if i < len(learned) else Shape() for i in range(arity)]
    else:
        shapes = []
    return tuple(
        example_value(s, seen=learned[i] if i < len(learned) else None)
        for i, s in enumerate(shapes)
    )
