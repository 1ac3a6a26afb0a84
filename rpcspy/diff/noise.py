"""Noise learning: differences that also show between two known-good runs are not regressions.

Diffy's idea: send the same calls twice to the known-good server (two instances, or one twice)
and diff the two answers. Whatever differs there (timestamps, random ids, counters) is noise;
``classify`` then reports a candidate's differences at those places separately from real ones.

Noise is kept per method as (path, kind) entries. Array indices in the paths are generalised to
``[*]`` where the array is a list of like items (same wire type, and for structs the same member
names), since "item 3's timestamp differs" there means "any item's timestamp differs"; in an
array of unlike items (a tuple such as ``[status, timestamp]``) the position means something and
is kept.

A noise entry covers a candidate difference at the same path whose kind it implies (a noisy
``type`` covers ``type``, ``changed`` and ``untyped``; a noisy ``changed`` covers ``changed`` and
``untyped``; ``added`` and ``removed`` cover each other), and, for value kinds, every difference
below its path (the whole subtree is unstable).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, cast

from rpcspy.diff.difference import KINDS, Difference, Kind
from rpcspy.diff.engine import Response, diff_responses, fault_struct
from rpcspy.diff.paths import GlobSegment, PathGlob, Segment, format_glob, parse_glob, parse_path
from rpcspy.diff.rules import Rules
from rpcspy.xmlrpc.messages import Fault, MethodResponse
from rpcspy.xmlrpc.values import Array, Struct, Value

__all__ = ["NoiseEntry", "NoiseModel", "classify", "generalise", "learn_noise"]

_COVERS: Final[Mapping[Kind, frozenset[Kind]]] = {
    "changed": frozenset({"changed", "untyped"}),
    "type": frozenset({"type", "changed", "untyped"}),
    "added": frozenset({"added", "removed"}),
    "removed": frozenset({"added", "removed"}),
}
_SUBTREE: Final = frozenset({"changed", "type", "untyped", "added", "removed"})
_ANY_INDEX: Final = GlobSegment("any_index")


@dataclass(frozen=True, slots=True, order=True)
class NoiseEntry:
    """A place where known-good runs differ: a path (``[*]`` for any index) and a kind."""

    path: str
    kind: Kind

    def covers(self, diff: Difference, segments: tuple[Segment, ...]) -> bool:
        """Whether this entry explains ``diff`` (whose parsed path is ``segments``)."""
        steps = _glob(self.path).segments
        if len(steps) > len(segments):
            return False
        if not all(step.matches(seg) for step, seg in zip(steps, segments, strict=False)):
            return False
        if len(steps) == len(segments):
            return diff.kind in _COVERS.get(self.kind, frozenset({self.kind}))
        return self.kind in _SUBTREE


@lru_cache(maxsize=4096)
def _glob(path: str) -> PathGlob:
    return parse_glob(path)


class NoiseModel:
    """Noise entries per method, learned from known-good pairs. Immutable; combine with ``merged``.

    Differences without a method (from ``diff_values`` without one) are kept under ``""``.
    """

    __slots__ = ("_entries", "_samples")

    def __init__(
        self,
        entries: Mapping[str, Iterable[NoiseEntry]] | None = None,
        samples: Mapping[str, int] | None = None,
    ) -> None:
        self._entries: dict[str, frozenset[NoiseEntry]] = {
            m: frozenset(e) for m, e in (entries or {}).items() if e
        }
        self._samples: dict[str, int] = dict(samples or {})

    @property
    def methods(self) -> tuple[str, ...]:
        """Methods with at least one noise entry, sorted."""
        return tuple(sorted(self._entries))

    def entries(self, method: str | None) -> frozenset[NoiseEntry]:
        """The noise entries of ``method``."""
        return self._entries.get(method or "", frozenset())

    def samples(self, method: str | None) -> int:
        """How many known-good pairs of ``method`` the model learned from."""
        return self._samples.get(method or "", 0)

    def covers(self, diff: Difference) -> bool:
        """Whether ``diff`` is at a place where known-good runs of its method also differ."""
        entries = self._entries.get(diff.method or "")
        if not entries:
            return False
        segments = parse_path(diff.path)
        return any(entry.covers(diff, segments) for entry in entries)

    def merged(self, other: NoiseModel) -> NoiseModel:
        """A model with the entries and sample counts of both."""
        entries = {m: set(e) for m, e in self._entries.items()}
        for m, e in other._entries.items():
            entries.setdefault(m, set()).update(e)
        return NoiseModel(entries, Counter(self._samples) + Counter(other._samples))

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form: ``{"methods": {m: {"samples": n, "noise": [{path, kind}]}}}``."""
        methods = sorted(set(self._entries) | set(self._samples))
        return {
            "methods": {
                m: {
                    "samples": self._samples.get(m, 0),
                    "noise": [
                        {"path": e.path, "kind": e.kind} for e in sorted(self._entries.get(m, ()))
                    ],
                }
                for m in methods
            }
        }

    @classmethod
    def from_dict(cls, data: object) -> NoiseModel:
        """The inverse of ``to_dict``; raises ``ValueError`` naming the bad part."""
        if not isinstance(data, dict) or not isinstance(data.get("methods"), dict):
            raise ValueError('noise model: expected {"methods": {...}}')
        entries: dict[str, list[NoiseEntry]] = {}
        samples: dict[str, int] = {}
        for method, body in cast("dict[object, object]", data["methods"]).items():
            where = f"noise model: methods[{method!r}]"
            if not isinstance(method, str) or not isinstance(body, dict):
                raise ValueError(f"{where}: expected a method name and an object")
            count = body.get("samples", 0)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError(f"{where}.samples: expected a count")
            samples[method] = count
            noise = body.get("noise", [])
            if not isinstance(noise, list):
                raise ValueError(f"{where}.noise: expected a list")
            for i, item in enumerate(noise):
                if (
                    not isinstance(item, dict)
                    or not isinstance(item.get("path"), str)
                    or item.get("kind") not in KINDS
                ):
                    raise ValueError(f"{where}.noise[{i}]: expected {{path, kind}}")
                try:
                    _glob(item["path"])
                except ValueError as exc:
                    raise ValueError(f"{where}.noise[{i}].path: {exc}") from None
                entries.setdefault(method, []).append(NoiseEntry(item["path"], item["kind"]))
        return cls(entries, samples)

    def __len__(self) -> int:
        return sum(len(e) for e in self._entries.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NoiseModel):
            return NotImplemented
        return self._entries == other._entries and self._samples == other._samples

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"NoiseModel({len(self)} entries over {len(self._entries)} methods)"


def _homogeneous(array: Array, extra: Value | None) -> bool:
    """Whether an array holds like items: one wire type, and one member-name set for structs."""
    items: list[Value] = list(array) if extra is None else [*array, extra]
    if len({type(v) for v in items}) > 1:
        return False
    if items and isinstance(items[0], Struct):
        first = items[0].keys()
        return all(v.keys() == first for v in items if isinstance(v, Struct))
    return True


def _root_value(root: Segment, response: Response) -> Value | None:
    if root == "result" and isinstance(response, MethodResponse):
        return response.value
    if root == "fault" and isinstance(response, Fault):
        return fault_struct(response)
    return None


def generalise(diff: Difference, first: Response) -> str:
    """The noise path of ``diff``: its path with indices into arrays of like items as ``[*]``.

    ``first`` is the old side of the pair the difference came from (paths index the old value).
    """
    segments = parse_path(diff.path)
    if not segments:
        return diff.path
    node: Value | None = _root_value(segments[0], first)
    out: list[Segment | GlobSegment] = [segments[0]]
    last = len(segments) - 1
    for k in range(1, len(segments)):
        seg = segments[k]
        if isinstance(seg, int):
            extra = diff.new if k == last and diff.kind == "added" else None
            if isinstance(node, Array) and _homogeneous(
                node, extra if not isinstance(extra, Fault) else None
            ):
                out.append(_ANY_INDEX)
            else:
                out.append(seg)
            node = node[seg] if isinstance(node, Array) and seg < len(node) else None
        else:
            out.append(seg)
            node = node.get(seg) if isinstance(node, Struct) else None
    return format_glob(out)


def learn_noise(
    pairs: Iterable[tuple[str, Response, Response]], *, rules: Rules | None = None
) -> NoiseModel:
    """Learn noise from ``(method, first, second)`` responses of known-good runs to one call.

    Every difference between ``first`` and ``second`` (under ``rules``) becomes a noise entry of
    its method, with its path generalised (see ``generalise``).
    """
    entries: dict[str, set[NoiseEntry]] = {}
    samples: Counter[str] = Counter()
    for method, first, second in pairs:
        samples[method] += 1
        for diff in diff_responses(first, second, method=method, rules=rules):
            entries.setdefault(method, set()).add(NoiseEntry(generalise(diff, first), diff.kind))
    return NoiseModel(entries, samples)


def classify(
    diffs: Iterable[Difference], noise: NoiseModel
) -> tuple[list[Difference], list[Difference]]:
    """Split differences into ``(real, noise)``, keeping their order."""
    real: list[Difference] = []
    noisy: list[Difference] = []
    for diff in diffs:
        (noisy if noise.covers(diff) else real).append(diff)
    return real, noisy
