"""Call statistics per method: the one owner of the figures ``rpcspy stats`` prints and the TUI's
stats screen shows (and that ``rpcspy query``'s SQL must agree with).

Strategy: a capture index already holds, per call, the method id, the duration, the outcome
flags, the HTTP status and the body sizes as ``array`` columns (``rpcspy.capture.index``), so no
record is decoded here. Counting runs at C speed (``Counter`` over a column, ``compress`` with a
flag mask made by ``bytes.translate``); a Python loop over the answered calls groups their
latencies and sizes by method into compact ``array`` columns (another, over the few calls
without an answer, their request sizes), which are then sorted once. A million calls take one
to two seconds of CPU; building the index is the slow part of a first run.

What the figures mean (``docs/stats.md`` says the same for users):

- ``count``: the calls of the method. A multicall is one call of ``system.multicall``; its
  sub-calls are not counted as calls of their own methods (they have no time or size of their
  own). ``subcalls`` and ``subcall_faults`` say how many it carried and how many came back as
  faults.
- ``faults``: calls whose reply is a fault (a multicall whose sub-calls faulted is not one);
  ``fault_rate`` is ``faults / count``. ``errors``: calls that ended in a connection error (no
  answer). ``problems``: calls with decoding problems (an HTTP error page, a body that is not
  XML-RPC ...).
- Latency: the duration in milliseconds (``ended - started``) of the calls that have a response
  (an HTTP status was recorded, or, for ONC RPC and RPyC, which have no status, an answer was
  read); ``answered`` counts them. Calls without one (errors, no answer
  yet) have no latency and are left out of min, max, mean, percentiles and histogram.
- Percentiles: linear interpolation between the closest ranks, DuckDB's ``quantile_cont`` to
  the last bit (position ``(n - 1) * q``, then ``lo * (1 - d) + hi * d`` as its build computes
  it); numpy's ``percentile(method="linear")`` is the same interpolation, rounded its own way
  (it may differ in the last bit).
- Sizes: the request body's bytes on the wire (every call) and the response body's (calls with a
  response), mean and max.
- Histogram: log-spaced bins with round edges (1, 1.5, 2, 3, 5, 7 per decade, coarser when the
  range is wide), from the bin holding the fastest call to the one holding the slowest; a bin
  holds ``lo <= ms < hi``.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import compress
from typing import Any, Final, Literal

from rpcspy.capture.index import (
    F_ERROR,
    F_FAULT,
    F_NO_RESPONSE,
    F_PROBLEM,
    FLAG_TABLES,
    CaptureIndex,
)
from rpcspy.capture.summary import format_duration, format_size

__all__ = [
    "ALL_METHODS",
    "BLOCKS",
    "DEFAULT_BINS",
    "SORT_KEYS",
    "TABLE",
    "Bin",
    "CaptureStats",
    "MethodStats",
    "bar",
    "bin_label",
    "compute_stats",
    "histogram",
    "ms_label",
    "percentile",
    "sort_stats",
    "table_cells",
]

#: The name of the row that sums up every method.
ALL_METHODS: Final = "(all methods)"
#: The name shown for calls whose method could not be read.
UNDECODED: Final = "(undecoded)"
#: Histogram bins at most, by default.
DEFAULT_BINS: Final = 16
#: Edges per decade of the histogram's grids, finest first.
_GRIDS: Final = ((1.0, 1.5, 2.0, 3.0, 5.0, 7.0), (1.0, 2.0, 5.0), (1.0,))
#: The smallest latency the grids go down to: 1 µs.
_FLOOR_MS: Final = 0.001
#: ``bytes.translate`` table swapping 0 and 1 (a mask and its opposite).
_NOT: Final = bytes([1, 0]) + bytes(254)

SortKey = Literal["count", "p95", "faults", "method"]
SORT_KEYS: Final[tuple[SortKey, ...]] = ("count", "p95", "faults", "method")


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The ``q`` (0..1) percentile of sorted values, interpolated linearly between the closest
    ranks as DuckDB's ``quantile_cont`` does; None when there are none."""
    n = len(sorted_values)
    if n == 0:
        return None
    position = (n - 1) * q
    below = math.floor(position)
    above = math.ceil(position)
    lo = float(sorted_values[below])
    if below == above:
        return lo
    hi = float(sorted_values[above])
    return _interpolate(lo, hi, position - below)


def _interpolate(lo: float, hi: float, d: float) -> float:
    """DuckDB's interpolation of doubles, to the last bit: ``lo * (1 - d) + hi * d``, the first
    product fused into the sum (its x86-64 build contracts it to an FMA, rounded once)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return lo * (1.0 - d) + hi * d
    return float(Fraction(lo) * Fraction(1.0 - d) + Fraction(hi * d))


@dataclass(frozen=True, slots=True)
class Bin:
    """One histogram bin: the calls that took ``lo_ms <= ms < hi_ms``."""

    lo_ms: float
    hi_ms: float
    count: int


def _edge(mantissa: float, exponent: int) -> float:
    # (divide for negative exponents: 3 / 10 is 0.3, 3 * 0.1 is 0.30000000000000004)
    scale = float(10 ** abs(exponent))
    return mantissa * scale if exponent >= 0 else mantissa / scale


def _grid(lo: float, hi: float, steps: tuple[float, ...]) -> list[float]:
    """Round edges from the largest one <= ``lo`` to the smallest one > ``hi``."""
    exponent = math.floor(math.log10(lo)) - 1  # (a decade below: an edge <= lo for sure)
    edges: list[float] = []
    while True:
        for m in steps:
            e = _edge(m, exponent)
            if e <= lo:
                edges = [e]
            else:
                edges.append(e)
                if e > hi:
                    return edges
        exponent += 1


def histogram(sorted_values: Sequence[float], max_bins: int = DEFAULT_BINS) -> list[Bin]:
    """The sorted latencies in log-spaced bins with round edges, at most ``max_bins`` of them
    (the finest grid that fits; module docstring). Values below the grid (under 1 µs, 0 or
    negative on a clock that went back) count in the first bin, whose ``lo_ms`` is then the
    smallest value; infinite ones (a hostile capture's times) in the last."""
    n = len(sorted_values)
    if n == 0:
        return []
    first = float(sorted_values[0])
    last = float(sorted_values[-1])
    lo = max(first, _FLOOR_MS)
    top = last
    if not math.isfinite(top):
        finite = bisect_left(sorted_values, math.inf)
        top = float(sorted_values[finite - 1]) if finite else lo
    hi = max(lo, top)
    edges: list[float] = []
    for steps in _GRIDS:
        edges = _grid(lo, hi, steps)
        if len(edges) - 1 <= max_bins:
            break
    else:  # a range too wide even for a bin per decade: fewer, wider bins
        stride = -(-(len(edges) - 1) // max(1, max_bins))
        edges = edges[::stride] + ([edges[-1]] if (len(edges) - 1) % stride else [])
    bins: list[Bin] = []
    start = 0
    final = len(edges) - 2
    for i in range(final + 1):
        end = n if i == final else bisect_left(sorted_values, edges[i + 1])
        lo_ms = min(edges[0], first) if i == 0 else edges[i]
        hi_ms = max(edges[-1], last) if i == final else edges[i + 1]
        bins.append(Bin(lo_ms, hi_ms, end - start))
        start = end
    return bins


def ms_label(ms: float) -> str:
    """A bin edge in milliseconds, as short as it is exact: ``0.15``, ``2``, ``1,500``."""
    if not math.isfinite(ms):
        return "∞" if ms > 0 else "-∞"
    if abs(ms) >= 1000:
        return f"{ms:,.0f}"
    return f"{ms:.4g}"


def bin_label(b: Bin, *, dash: str = "\u2013") -> str:
    """``1.5\u20132 ms`` (en dash): a bin's edges in milliseconds."""
    return f"{ms_label(b.lo_ms)}{dash}{ms_label(b.hi_ms)} ms"


@dataclass(frozen=True, slots=True)
class MethodStats:
    """The figures of one method (or of all of them, ``ALL_METHODS``) over some calls."""

    method: str
    count: int
    faults: int = 0
    errors: int = 0
    problems: int = 0
    #: Calls with a response: the latency figures are over these.
    answered: int = 0
    #: Sub-calls carried (multicalls), and how many of them came back as faults.
    subcalls: int = 0
    subcall_faults: int = 0
    min_ms: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    mean_ms: float | None = None
    request_bytes_mean: float | None = None
    request_bytes_max: int | None = None
    response_bytes_mean: float | None = None
    response_bytes_max: int | None = None
    #: The latencies of the answered calls, sorted (for the histogram).
    latencies: array[float] = field(default_factory=lambda: array("d"), repr=False, compare=False)

    @property
    def fault_rate(self) -> float:
        """Faults per call, 0..1."""
        return self.faults / self.count if self.count else 0.0

    def histogram(self, max_bins: int = DEFAULT_BINS) -> list[Bin]:
        """The latencies in log-spaced bins (``histogram``)."""
        return histogram(self.latencies, max_bins)

    def to_json(self, *, bins: int = DEFAULT_BINS) -> dict[str, Any]:
        """Every figure, for ``--json``: times in ms, sizes in bytes, null where there is none."""
        return {
            "method": self.method,
            "count": self.count,
            "faults": self.faults,
            "fault_rate": self.fault_rate,
            "errors": self.errors,
            "problems": self.problems,
            "answered": self.answered,
            "subcalls": self.subcalls,
            "subcall_faults": self.subcall_faults,
            "latency_ms": {
                "min": self.min_ms,
                "p50": self.p50_ms,
                "p95": self.p95_ms,
                "p99": self.p99_ms,
                "max": self.max_ms,
                "mean": self.mean_ms,
            },
            "request_bytes": {"mean": self.request_bytes_mean, "max": self.request_bytes_max},
            "response_bytes": {"mean": self.response_bytes_mean, "max": self.response_bytes_max},
            "histogram": [
                {"lo_ms": b.lo_ms, "hi_ms": b.hi_ms, "count": b.count} for b in self.histogram(bins)
            ],
        }


@dataclass(frozen=True, slots=True)
class CaptureStats:
    """The figures of every method over some calls, and of all of them together."""

    methods: list[MethodStats]
    total: MethodStats

    @property
    def calls(self) -> int:
        return self.total.count

    def method(self, name: str) -> MethodStats | None:
        """The figures of the method named ``name``, if it was called."""
        return next((s for s in self.methods if s.method == name), None)


def _figures(
    name: str,
    latencies: array[float],
    counts: tuple[int, int, int, int, int, int],
    requests: array[int],
    responses: array[int],
) -> MethodStats:
    count, faults, errors, problems, subcalls, subcall_faults = counts
    lat = array("d", sorted(latencies))
    answered = len(lat)
    return MethodStats(
        method=name,
        count=count,
        faults=faults,
        errors=errors,
        problems=problems,
        answered=answered,
        subcalls=subcalls,
        subcall_faults=subcall_faults,
        min_ms=lat[0] if answered else None,
        p50_ms=percentile(lat, 0.50),
        p95_ms=percentile(lat, 0.95),
        p99_ms=percentile(lat, 0.99),
        max_ms=lat[-1] if answered else None,
        mean_ms=_mean(lat),
        request_bytes_mean=sum(requests) / len(requests) if requests else None,
        request_bytes_max=max(requests) if requests else None,
        response_bytes_mean=sum(responses) / len(responses) if responses else None,
        response_bytes_max=max(responses) if responses else None,
        latencies=lat,
    )


def compute_stats(index: CaptureIndex, rows: Iterable[int] | None = None) -> CaptureStats:
    """The figures per method over ``rows`` of ``index`` (every row when None), from its
    columns; methods in order of calls (most first), then name."""
    n = index.count
    if rows is None:
        method = index.method[:n]
        duration = index.duration[:n]
        status = index.status[:n]
        size = index.size[:n]
        req_size = index.req_size[:n]
        flags = bytes(index.flags[:n])
        # (a copy: the dict may grow meanwhile, on a live index)
        sub_rows: Iterable[int] = [r for r in list(index.sub_methods) if r < n]
    else:
        picked = array("q", rows)
        method = array("I", map(index.method.__getitem__, picked))
        duration = array("d", map(index.duration.__getitem__, picked))
        status = array("H", map(index.status.__getitem__, picked))
        size = array("Q", map(index.size.__getitem__, picked))
        req_size = array("I", map(index.req_size.__getitem__, picked))
        flags = bytes(map(index.flags.__getitem__, picked))
        subs = index.sub_methods
        sub_rows = (r for r in picked if r in subs) if subs else ()
    counts = Counter(method)
    faults = Counter(compress(method, flags.translate(FLAG_TABLES[F_FAULT])))
    errors = Counter(compress(method, flags.translate(FLAG_TABLES[F_ERROR])))
    problems = Counter(compress(method, flags.translate(FLAG_TABLES[F_PROBLEM])))
    subcalls: Counter[int] = Counter()
    subcall_faults: Counter[int] = Counter()
    for r in sub_rows:
        mid = index.method[r]
        subcalls[mid] += len(index.sub_methods[r])
        subcall_faults[mid] += len(index.sub_faults.get(r, ()))
    names = index.methods.names
    k = len(names)
    latencies = [array("d") for _ in range(k)]
    requests = [array("q") for _ in range(k)]
    responses = [array("q") for _ in range(k)]
    # Latency and sizes grouped by method, in one loop over the calls with a response (a
    # status) and one over the others (few): what is left of Python's per-call work.
    answered = bytes(map(bool, status))
    # Calls without an HTTP status that have a decoded answer (ONC RPC, RPyC) are answered too.
    read = flags.translate(FLAG_TABLES[F_NO_RESPONSE]).translate(_NOT)
    answered = (int.from_bytes(answered) | int.from_bytes(read)).to_bytes(len(answered))
    for mid, ms, req, both in compress(
        zip(method, duration, req_size, size, strict=True), answered
    ):
        latencies[mid].append(ms)
        requests[mid].append(req)
        responses[mid].append(both - req)
    for mid, req in compress(zip(method, req_size, strict=True), answered.translate(_NOT)):
        requests[mid].append(req)
    # (NaN: a response without an end time, in a capture written by hand)
    nan = any(map(math.isnan, compress(duration, answered)))
    out: list[MethodStats] = []
    for mid in sorted(counts):
        lat, resp = latencies[mid], responses[mid]
        if nan:
            lat = latencies[mid] = array("d", (ms for ms in lat if ms == ms))
        if resp and min(resp) < 0:  # (a body of unknown size: the total reads 0)
            resp = responses[mid] = array("q", (max(b, 0) for b in resp))
        out.append(
            _figures(
                names[mid] or UNDECODED,
                lat,
                (
                    counts[mid],
                    faults[mid],
                    errors[mid],
                    problems[mid],
                    subcalls[mid],
                    subcall_faults[mid],
                ),
                requests[mid],
                resp,
            )
        )
    out = sort_stats(out, "count")
    every = array("d")
    every_request = array("q")
    every_response = array("q")
    for s in out:
        every.extend(s.latencies)  # (sorted runs: the sort in ``_figures`` merges them)
    for sizes in requests:
        every_request.extend(sizes)
    for sizes in responses:
        every_response.extend(sizes)
    total = _figures(
        ALL_METHODS,
        every,
        (
            len(method),
            sum(faults.values()),
            sum(errors.values()),
            sum(problems.values()),
            sum(subcalls.values()),
            sum(subcall_faults.values()),
        ),
        every_request,
        every_response,
    )
    return CaptureStats(out, total)


def _mean(values: array[float]) -> float | None:
    """The mean, exactly rounded (``fsum``), or plainly summed where ``fsum`` refuses (infinite
    or overflowing times in a hostile capture)."""
    if not values:
        return None
    try:
        return math.fsum(values) / len(values)
    except (OverflowError, ValueError):
        return sum(values) / len(values)


def sort_stats(stats: Iterable[MethodStats], key: SortKey) -> list[MethodStats]:
    """Methods by ``key``: ``count``, ``p95`` (slowest first, none last), ``faults`` (most
    first) or ``method`` (by name); ties by name."""
    items = sorted(stats, key=lambda s: s.method)
    if key == "count":
        items.sort(key=lambda s: -s.count)
    elif key == "faults":
        items.sort(key=lambda s: (-s.faults, -s.fault_rate))
    elif key == "p95":
        items.sort(key=lambda s: (s.p95_ms is None, -(s.p95_ms or 0.0)))
    elif key != "method":
        raise ValueError(f"unknown sort key {key!r}")
    return items


#: The table's columns (``rpcspy stats`` and the TUI): key and heading. The method comes first
#: and is left-aligned; the figures are right-aligned.
TABLE: Final = (
    ("method", "method"),
    ("count", "calls"),
    ("faults", "faults"),
    ("fault_rate", "fault %"),
    ("errors", "errors"),
    ("problems", "problems"),
    ("min", "min"),
    ("p50", "p50"),
    ("p95", "p95"),
    ("p99", "p99"),
    ("max", "max"),
    ("mean", "mean"),
    ("request", "req avg"),
    ("response", "resp avg"),
)


#: Eighths of a block, for bars that end between two characters (a bar's characters: ``BLOCKS``).
_EIGHTHS: Final = " \u258f\u258e\u258d\u258c\u258b\u258a\u2589"
BLOCKS: Final = "\u2588" + _EIGHTHS[1:]


def bar(value: float, top: float, width: int, *, blocks: bool = True) -> str:
    """A bar ``value / top`` of ``width`` characters, drawn in eighths of a block (in ``#``
    without ``blocks``); at least a sliver for any value above 0."""
    if not top > 0 or width <= 0:
        return ""
    eighths = round(8 * width * min(value, top) / top) if math.isfinite(top) else 8 * width
    if value > 0:
        eighths = max(eighths, 1)
    if not blocks:
        return "#" * -(-eighths // 8)
    full, part = divmod(eighths, 8)
    return "\u2588" * full + (_EIGHTHS[part] if part else "")


def _size(n: float | None) -> str:
    return "-" if n is None else format_size(round(n))


def table_cells(s: MethodStats) -> dict[str, str]:
    """The figures of one row of the table in words (``TABLE``'s keys): times as
    ``rpcspy.capture.summary`` words them, sizes in bytes, the fault rate in percent."""
    return {
        "method": s.method,
        "count": f"{s.count:,}",
        "faults": f"{s.faults:,}",
        "fault_rate": f"{100 * s.fault_rate:.1f}",
        "errors": f"{s.errors:,}",
        "problems": f"{s.problems:,}",
        "min": format_duration(s.min_ms),
        "p50": format_duration(s.p50_ms),
        "p95": format_duration(s.p95_ms),
        "p99": format_duration(s.p99_ms),
        "max": format_duration(s.max_ms),
        "mean": format_duration(s.mean_ms),
        "request": _size(s.request_bytes_mean),
        "response": _size(s.response_bytes_mean),
    }
