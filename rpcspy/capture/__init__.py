"""Capture files: the call record, and the JSON Lines files the proxy writes and others read.

See ``docs/capture-format.md`` for the format.
"""

from rpcspy.capture.index import CaptureIndex, IndexBuilder, index_records, open_index
from rpcspy.capture.reader import CaptureReader, read_capture, read_header
from rpcspy.capture.record import (
    CallRecord,
    HttpMessage,
    Problem,
    RecordFinding,
    SubCall,
    build_record,
)
from rpcspy.capture.redact import Redaction, redact_record
from rpcspy.capture.schema import (
    FORMAT_VERSION,
    CaptureFormatError,
    CaptureHeader,
    RecordError,
    record_from_json,
    record_to_json,
)
from rpcspy.capture.writer import CaptureWriter

__all__ = [
    "FORMAT_VERSION",
    "CallRecord",
    "CaptureFormatError",
    "CaptureHeader",
    "CaptureIndex",
    "CaptureReader",
    "CaptureWriter",
    "HttpMessage",
    "IndexBuilder",
    "Problem",
    "RecordError",
    "RecordFinding",
    "Redaction",
    "SubCall",
    "build_record",
    "index_records",
    "open_index",
    "read_capture",
    "read_header",
    "record_from_json",
    "record_to_json",
    "redact_record",
]
