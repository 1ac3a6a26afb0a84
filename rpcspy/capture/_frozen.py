"""A quicker ``__init__`` for the frozen, slotted dataclasses made once or more per call.

Strategy: a frozen dataclass's generated ``__init__`` stores each field with
``object.__setattr__(self, name, value)``, about 0.4 µs a field, and an import makes several
such objects per call (the two halves, the record, the exchange): a tenth of its time went
there. The store that call ends in is the field's slot descriptor's ``__set__``; calling it
directly skips the lookup of the attribute by name and is the same store (the frozen check
lives in the class's ``__setattr__``, which neither path goes through), for a third of the
cost. ``quick_init`` gives the class an ``__init__`` that does so, with the same parameters
in the same order, the same defaults and default factories, and the ``__post_init__`` call.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["quick_init"]


class _Factory:
    """The default of a parameter whose field has a default factory (read as dataclasses do)."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY: Any = _Factory()


def quick_init[T](cls: type[T]) -> type[T]:
    """Replace the dataclass-made ``__init__`` of a frozen, slotted dataclass (see above)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen, slotted dataclass")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if any(not f.init or f.kw_only is True for f in fields):
        raise TypeError(f"{cls.__name__}: init=False and keyword-only fields are not handled")
    names: dict[str, Any] = {"_FACTORY": _FACTORY}
    args = []
    lines = []
    for i, f in enumerate(fields):
        names[f"_set{i}"] = cls.__dict__[f.name].__set__
        if f.default is not dataclasses.MISSING:
            names[f"_default{i}"] = f.default
            args.append(f"{f.name}=_default{i}")
        elif f.default_factory is not dataclasses.MISSING:
            names[f"_factory{i}"] = f.default_factory
            args.append(f"{f.name}=_FACTORY")
            lines.append(f" if {f.name} is _FACTORY: {f.name} = _factory{i}()")
        else:
            args.append(f.name)
        lines.append(f" _set{i}(self, {f.name})")
    if hasattr(cls, "__post_init__"):
        lines.append(" self.__post_init__()")
    source = f"def __init__(self, {', '.join(args)}):\n" + "\n".join(lines or [" pass"])
    exec(source, names)  # made above from the class's own field names, nothing else
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__annotations__ = dict(cls.__init__.__annotations__)
    setattr(cls, "__init__", init)  # noqa: B010 - mypy refuses assigning a method
    return cls
