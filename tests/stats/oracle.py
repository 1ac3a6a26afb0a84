"""The figures ``rpcspy.capture.stats`` must give, computed the plain way: every record read
with ``read_capture``, grouped in dicts of lists, percentiles by ``statistics.quantiles``
(its ``inclusive`` method is the linear interpolation DuckDB's ``quantile_cont`` uses)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rpcspy.capture import CallRecord, read_capture
from rpcspy.xmlrpc import Fault


@dataclass
class Expected:
    count: int = 0
    faults: int = 0
    errors: int = 0
    problems: int = 0
    subcalls: int = 0
    subcall_faults: int = 0
    latencies: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    responses: list[int] = field(default_factory=list)

    def pct(self, p: int) -> float | None:
        """The p-th percentile (1..99) of the latencies, by ``statistics``."""
        values = sorted(self.latencies)
        if not values:
            return None
        if len(values) == 1:
            return values[0]
        return statistics.quantiles(values, n=100, method="inclusive")[p - 1]

    def mean(self) -> float | None:
        return statistics.fmean(self.latencies) if self.latencies else None


def expected(records: Iterable[CallRecord]) -> tuple[dict[str, Expected], Expected]:
    """Per method and for all calls."""
    per: dict[str, Expected] = {}
    total = Expected()
    for r in records:
        name = r.method or "(undecoded)"
        for e in (per.setdefault(name, Expected()), total):
            e.count += 1
            e.faults += isinstance(r.reply, Fault)
            e.errors += r.error is not None
            e.problems += bool(r.problems)
            if r.is_multicall:
                e.subcalls += len(r.subcalls)
                e.subcall_faults += sum(isinstance(s.result, Fault) for s in r.subcalls)
            e.requests.append(r.request.size or 0)
            if r.response is not None:
                e.responses.append(r.response.size or 0)
                assert r.duration_ms is not None
                e.latencies.append(r.duration_ms)
    return per, total


def expected_from(path: Path) -> tuple[dict[str, Expected], Expected]:
    return expected(read_capture(path))
