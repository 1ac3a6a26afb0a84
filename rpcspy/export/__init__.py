"""Exporters of ``rpcspy export``: a capture's calls written in another tool's format.

Every exporter is one function with the same shape, ``export(records, out, *, source) ->
Exported``: it writes the calls it is given (already filtered by the command) to the new path
``out`` (a file, or for Parquet a directory) and says what it wrote. The command chooses the
path, refuses to overwrite without ``--force``, writes to a temporary name beside it and renames
it into place only when the exporter returned, so a failed export leaves nothing half-written.

Where each format lives (``EXPORTERS``, ``module:function``):

- ``har``, ``curl``, ``python``: this package (it imports only ``rpcspy.xmlrpc`` and
  ``rpcspy.capture``);
- ``mitm``: ``rpcspy.proxy.flowfile``, since only the proxy imports mitmproxy;
- ``parquet``: ``rpcspy.query``, the relational view of captures (DuckDB).

HAR, mitmproxy flows, curl and the Python script hold HTTP exchanges only (``HTTP_ONLY``): the
command hands them ``HttpCalls`` of the records, which leaves out the calls of other protocols
(ONC RPC, RPyC over TCP or UDP) and counts them, and says so on stderr; Parquet keeps them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rpcspy.capture import CallRecord, CaptureIndex

__all__ = [
    "EXPORTERS",
    "HTTP_ONLY",
    "SUFFIXES",
    "ExportError",
    "Exported",
    "Exporter",
    "HttpCalls",
    "IndexedRecords",
]

#: Each format's exporter, imported only when used (mitmproxy and DuckDB are heavy).
EXPORTERS: dict[str, str] = {
    "har": "rpcspy.export.har:export",
    "mitm": "rpcspy.proxy.flowfile:export",
    "parquet": "rpcspy.query.parquet:export",
    "curl": "rpcspy.export.script:export_curl",
    "python": "rpcspy.export.script:export_python",
}

#: The name an export gets beside its capture when ``-o`` is not given.
SUFFIXES: dict[str, str] = {
    "har": ".har",
    "mitm": ".mitm",
    "parquet": ".parquet",
    "curl": ".sh",
    "python": ".py",
}


#: The formats that hold HTTP exchanges only, and why a call of another protocol is left out.
HTTP_ONLY: dict[str, str] = {
    "har": "HAR holds HTTP exchanges only",
    "mitm": "mitmproxy flow files hold HTTP flows only",
    "curl": "a curl script sends HTTP requests only",
    "python": "the Python script sends XML-RPC calls only",
}

#: How people name the protocols of ``CallRecord.protocol``.
PROTOCOL_NAMES: dict[str, str] = {"xmlrpc": "XML-RPC", "oncrpc": "ONC RPC", "rpyc": "RPyC"}


class HttpCalls:
    """The records of ``records`` that are HTTP exchanges (XML-RPC); the calls of other
    protocols are left out and counted by protocol in ``skipped`` (afresh at each iteration)."""

    def __init__(self, records: Iterable[CallRecord]) -> None:
        self.records = records
        self.skipped: Counter[str] = Counter()

    def __iter__(self) -> Iterator[CallRecord]:
        self.skipped = Counter()
        for record in self.records:
            if record.protocol != "xmlrpc":
                self.skipped[record.protocol] += 1
                continue
            yield record

    def notes(self, reason: str) -> list[str]:
        """``12 ONC RPC calls skipped: HAR holds HTTP exchanges only``, one per protocol."""
        return [
            f"{n} {PROTOCOL_NAMES.get(p, p)} call{'s' if n != 1 else ''} skipped: {reason}"
            for p, n in sorted(self.skipped.items())
        ]


class ExportError(Exception):
    """An export that cannot be done; the message says why, in a person's words."""


@dataclass(frozen=True, slots=True)
class Exported:
    """What an exporter wrote: ``calls`` calls, and ``detail`` for the command's last line
    (``"12 sub-call rows, 3 findings"``; empty when there is nothing to add)."""

    calls: int
    detail: str = ""


class IndexedRecords:
    """The records the command hands an exporter: the ``rows`` of a capture's ``index``, each
    built when iterated (``advance(1)`` after each, for the progress bar). An exporter that
    works on the index's columns instead (Parquet) reads ``index`` and ``rows`` and builds no
    record at all, calling ``advance`` with the rows it has done."""

    def __init__(
        self, index: CaptureIndex, rows: Sequence[int], advance: Callable[[int], None]
    ) -> None:
        self.index = index
        self.rows = rows
        self.advance = advance

    def __iter__(self) -> Iterator[CallRecord]:
        for record in self.index.records(self.rows):
            yield record
            self.advance(1)


class Exporter(Protocol):
    """The shape of every exporter."""

    def __call__(self, records: Iterable[CallRecord], out: Path, *, source: Path) -> Exported: ...
