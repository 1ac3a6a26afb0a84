"""``quick_init``: the same ``__init__`` as the dataclass made, only quicker."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field

import pytest

from rpcspy.capture import CallRecord, HttpMessage
from rpcspy.capture._frozen import quick_init
from rpcspy.ingest import Exchange


def _log() -> list[str]:
    return ["made"]


@dataclass(frozen=True, slots=True)
class Plain:
    a: int
    b: str = "b"
    c: list[str] = field(default_factory=_log)
    d: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "d", tuple(self.d))


@quick_init
@dataclass(frozen=True, slots=True)
class Quick:
    a: int
    b: str = "b"
    c: list[str] = field(default_factory=_log)
    d: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "d", tuple(self.d))


def _fields(obj: object) -> tuple[object, ...]:
    return dataclasses.astuple(obj)  # type: ignore[call-overload, no-any-return]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((1,), {}), ((1, "x"), {}), ((1,), {"d": [3, 4]}), ((), {"a": 2, "c": ["y"], "b": "z"})],
)
def test_the_quick_init_makes_what_the_dataclass_init_makes(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    plain = Plain(*args, **kwargs)  # type: ignore[arg-type]
    quick = Quick(*args, **kwargs)  # type: ignore[arg-type]
    assert _fields(quick) == _fields(plain)
    assert type(quick.d) is tuple  # __post_init__ ran
    assert Quick(1).c is not Quick(1).c  # a fresh default from the factory each time


def test_the_quick_init_has_the_same_signature_and_keeps_the_class_frozen() -> None:
    assert str(inspect.signature(Quick.__init__)) == str(inspect.signature(Plain.__init__))
    with pytest.raises(TypeError):
        Quick()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Quick(1, "b", [], (), 5)  # type: ignore[call-arg]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Quick(1).a = 2  # type: ignore[misc]
    quick = Quick(1, d=(2,))
    assert dataclasses.replace(quick, b="c") == Quick(1, "c", d=(2,))
    assert pickle.loads(pickle.dumps(quick)) == quick


def test_a_class_it_cannot_handle_is_refused() -> None:
    @dataclass(slots=True)
    class Mutable:
        a: int

    @dataclass(frozen=True, slots=True)
    class KeywordOnly:
        a: int = field(kw_only=True)

    for cls in (Mutable, KeywordOnly):
        with pytest.raises(TypeError):
            quick_init(cls)


def test_the_record_classes_built_per_call_use_it() -> None:
    for cls in (HttpMessage, CallRecord, Exchange):
        assert "dataclass" not in cls.__init__.__code__.co_filename
        assert cls.__init__.__code__.co_filename == "<string>"
    half = HttpMessage([("Host", b"x")], bytearray(b"body"))  # type: ignore[list-item]
    assert half == HttpMessage((("Host", "x"),), b"body")
