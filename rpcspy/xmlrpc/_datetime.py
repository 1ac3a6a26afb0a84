"""Which dateTime texts the codec accepts: ISO 8601 as ``parse_datetime`` reads it, ASCII only."""

from __future__ import annotations

import datetime as _dt

from rpcspy.xmlrpc.values import parse_datetime

__all__ = ["is_iso_datetime"]


def is_iso_datetime(text: str) -> bool:
    """True when ``text`` is a date-time ``parse_datetime`` reads, written in ASCII digits.

    The two commonest shapes, the spec's compact ``20240131T08:09:10`` and the dashed
    ``2024-01-31T08:09:10``, are checked by the C ``fromisoformat`` (a tenth of the cost), which
    accepts exactly the same texts of those shapes.
    """
    if not text.isascii():
        return False  # "\\d" in parse_datetime would take other scripts' digits
    size = len(text)
    if (size == 17 and text[8] == "T" and text[11] == ":" and text[14] == ":") or (
        size == 19 and text[4] == "-" and text[7] == "-" and text[10] == "T" and text[13] == ":"
        and text[16] == ":"
    ):
        try:
            _dt.datetime.fromisoformat(text)
        except ValueError:
            return False
        return True
    return parse_datetime(text) is not None
