"""Dates as news documents write them (RFC 822, ISO 8601, W3C, epoch) to aware UTC datetimes."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from dateutil import parser as _dateutil
from dateutil.parser import UnknownTimezoneWarning

# "IST", "ET" and friends are ambiguous; such times are taken as UTC rather than warned about.
warnings.filterwarnings("ignore", category=UnknownTimezoneWarning)

_EPOCH = re.compile(r"^\d{9,11}(\.\d+)?$")
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)


def parse_date(value: object, *, default_tz: object = UTC) -> datetime | None:
    """Parse a date string (or datetime) into an aware UTC datetime; None when unreadable.

    Naive values are taken as UTC. Dates before 1990 or absurdly far in the future are
    rejected as garbage rather than trusted.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        if not text or len(text) > 100:
            return None
        dt_or_none = _parse_text(text)
        if dt_or_none is None:
            return None
        dt = dt_or_none
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    if dt < _EARLIEST or dt.year > 2100:
        return None
    return dt


def _parse_text(text: str) -> datetime | None:
    if _EPOCH.match(text):
        try:
            return datetime.fromtimestamp(float(text), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return _dateutil.parse(text, fuzzy=False)
    except (ValueError, OverflowError, TypeError):
        return None
