"""Which dateTime texts the codec accepts: ISO 8601 as ``parse_datetime`` reads it, ASCII only."""

from __future__ import annotations

import datetime as _dt
import re
from typing import Final

__all__ = ["OTHER_FORM", "SPEC_FORM", "datetime_form", "is_iso_datetime"]

#: ``datetime_form`` results: the spec's ``19980717T14:08:55``, or another ISO 8601 form.
SPEC_FORM: Final = "spec"
OTHER_FORM: Final = "other"

# parse_datetime's pattern, with plain groups. Checking a text needs only its fields' ranges;
# parse_datetime also builds the datetime and its timezone, several times the cost.
_SHAPE: Final = re.compile(
    r"""\s*
    (\d{4})-?(\d{2})-?(\d{2})
    T
    (\d{2}):?(\d{2}):?(\d{2})
    (?:[.,]\d{1,9})?
    (Z|[+-]\d{2}(?::?\d{2})?)?
    \s*\Z""",
    re.VERBOSE | re.ASCII,
)


def is_iso_datetime(text: str) -> bool:
    """True when ``text`` is a date-time ``parse_datetime`` reads, written in ASCII digits."""
    return datetime_form(text) is not None


def datetime_form(text: str) -> str | None:
    """``SPEC_FORM`` for the spec's ``19980717T14:08:55`` form, ``OTHER_FORM`` for another
    date-time ``parse_datetime`` reads (written in ASCII digits), None for anything else.

    The commonest shapes, the spec's compact ``20240131T08:09:10`` and the dashed
    ``2024-01-31T08:09:10``, bare or with a ``Z``, are checked by the C ``fromisoformat`` (a
    tenth of the cost), which accepts exactly the same texts of those shapes.
    """
    if not text.isascii():
        return None  # "\\d" in parse_datetime would take other scripts' digits
    size = len(text)
    bare = text
    if (size == 18 or size == 20) and text[-1] == "Z":
        # A "Z" zone changes nothing that is checked: drop it.
        bare = text[:-1]
        size -= 1
    # fromisoformat would also read "2024W053" as a week date: the compact date must be digits.
    if (
        size == 17 and bare[8] == "T" and bare[11] == ":" and bare[14] == ":" and bare[:8].isdigit()
    ) or (
        size == 19
        and bare[4] == "-"
        and bare[7] == "-"
        and bare[10] == "T"
        and bare[13] == ":"
        and bare[16] == ":"
    ):
        try:
            _dt.datetime.fromisoformat(bare)
        except ValueError:
            return None
        return SPEC_FORM if size == 17 and bare is text else OTHER_FORM
    return OTHER_FORM if _in_range(text) else None


def _in_range(text: str) -> bool:
    """parse_datetime's verdict, without building the datetime."""
    m = _SHAPE.match(text)
    if m is None:
        return False
    year, month, day, hour, minute, second, tz = m.groups()
    try:
        _dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        return False
    if tz is not None and tz != "Z":
        raw = tz.replace(":", "")
        if int(raw[1:3]) > 23 or int(raw[3:5] or 0) > 59:
            return False
    return True
