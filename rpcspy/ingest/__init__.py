"""Importers: traffic recorded by other tools, turned into call records.

``detect_format`` names a file's format from its first bytes; ``read_har`` and ``read_pcap``
yield the ``Exchange`` of each XML-RPC exchange (``Skipped`` for the rest), and ``to_record``
builds its record with the proxy's own builder, ``origin="import"``. mitmproxy's flow files are
read in ``rpcspy.proxy.flowfile`` (only the proxy imports mitmproxy); they yield the same
``Exchange``. This package imports only ``rpcspy.xmlrpc`` and ``rpcspy.capture``.
"""

from rpcspy.ingest.detect import FORMATS, detect_format
from rpcspy.ingest.exchange import (
    INPUT_DAMAGE,
    Exchange,
    ImportCounts,
    InlineRecorder,
    Skipped,
    import_exchanges,
    is_xmlrpc_exchange,
    to_record,
)

__all__ = [
    "FORMATS",
    "INPUT_DAMAGE",
    "Exchange",
    "ImportCounts",
    "InlineRecorder",
    "Skipped",
    "detect_format",
    "import_exchanges",
    "is_xmlrpc_exchange",
    "to_record",
]
