"""Record ids: random version 4 UUIDs as 32 hex digits, as ``uuid.uuid4().hex`` makes them."""

from __future__ import annotations

import uuid

from rpcspy.capture import HttpMessage, build_record


def test_a_built_record_gets_a_fresh_version_4_uuid() -> None:
    ids = [build_record(HttpMessage(), None, started=0.0).id for _ in range(500)]
    assert len(set(ids)) == len(ids)
    for record_id in ids:
        parsed = uuid.UUID(hex=record_id)
        assert parsed.hex == record_id
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    assert build_record(HttpMessage(), None, started=0.0, id="given").id == "given"
