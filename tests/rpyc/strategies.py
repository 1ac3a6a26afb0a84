"""Hypothesis strategies for brine values, boxes and messages: one place for the RPyC tests."""

from __future__ import annotations

from hypothesis import strategies as st

from rpcspy.rpyc import BoxedTuple, IdPack, Plain, Ref
from rpcspy.rpyc.messages import HANDLERS, ExceptionReply, RemoteError, Reply, Request
from rpcspy.rpyc.values import Boxed

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False),
    st.complex_numbers(allow_nan=False),
    st.text(max_size=40),
    st.binary(max_size=40),
    st.just(NotImplemented),
    st.just(Ellipsis),
)


def _hashable(children: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(
        st.lists(children, max_size=5).map(tuple),
        st.frozensets(_scalars.filter(lambda v: v == v), max_size=4),
        st.builds(slice, _scalars, _scalars, _scalars),
    )


#: Any value brine can dump (what LABEL_VALUE carries).
brine_values: st.SearchStrategy[object] = st.recursive(_scalars, _hashable, max_leaves=20)

id_packs = st.builds(
    IdPack,
    st.sampled_from(["builtins.list", "os", "_io.TextIOWrapper", "builtins.function"]),
    st.integers(min_value=1, max_value=2**64 - 1),
    st.integers(min_value=0, max_value=2**64 - 1),
)
refs = st.builds(Ref, st.sampled_from(["client", "server"]), id_packs)


def _box_children(children: st.SearchStrategy[Boxed]) -> st.SearchStrategy[Boxed]:
    return st.lists(children, max_size=4).map(lambda items: BoxedTuple(tuple(items)))


#: Boxes as rpyc writes them: a tuple is boxed item by item only when it holds a netref.
boxes: st.SearchStrategy[Boxed] = st.recursive(
    st.one_of(brine_values.map(Plain), refs), _box_children, max_leaves=10
)

seqs = st.integers(min_value=0, max_value=2**40)

requests = st.builds(
    Request,
    seqs,
    st.sampled_from(sorted(HANDLERS)),
    st.lists(boxes, max_size=4).map(lambda items: BoxedTuple(tuple(items))),
)
replies = st.builds(Reply, seqs, boxes)
errors = st.one_of(
    st.just(RemoteError.from_wire(1)),
    st.builds(
        lambda module, name, args, text: RemoteError.from_wire(
            ((module, name), args, (("_remote_version", "6.0.2"),), text)
        ),
        st.sampled_from(["builtins", "mymod"]),
        st.sampled_from(["KeyError", "ValueError", "Oops"]),
        st.lists(brine_values, max_size=3).map(tuple),
        st.text(max_size=60),
    ),
)
exceptions = st.builds(ExceptionReply, seqs, errors)
messages = st.one_of(requests, replies, exceptions)
