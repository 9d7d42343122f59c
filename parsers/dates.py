"""Dates as documents write them (ISO 8601, RFC 822, "Feb 28, 2022 5:35 PM EST", epoch seconds)
to aware datetimes in the offset the text states."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime

from dateutil import parser as _dateutil
from dateutil.parser import UnknownTimezoneWarning

# Zone names are resolved here, before dateutil sees them; anything left is its guess to drop.
warnings.filterwarnings("ignore", category=UnknownTimezoneWarning)

_EPOCH = re.compile(r"^\d{9,11}(\.\d+)?$")
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_LATEST_YEAR = 2100
_MAX_LEN = 100

# Fixed UTC offsets, in minutes, of the zone abbreviations news pages print. Where one
# abbreviation names several zones, the one news sites use most wins: IST is India's, not
# Ireland's or Israel's; CST is US Central, not China's.
_ZONE_MINUTES = {
    "UTC": 0, "GMT": 0, "UT": 0, "Z": 0, "WET": 0, "WEZ": 0,
    "BST": 60, "IST": 330, "CET": 60, "MEZ": 60, "WEST": 60, "WESZ": 60, "CEST": 120,
    "MESZ": 120, "EET": 120, "OEZ": 120, "EEST": 180, "OESZ": 180, "MSK": 180, "SAST": 120,
    "CAT": 120, "EAT": 180, "WAT": 60, "TRT": 180, "GST": 240, "PKT": 300, "NPT": 345,
    "ICT": 420, "WIB": 420, "HKT": 480, "SGT": 480, "PHT": 480, "AWST": 480, "JST": 540,
    "KST": 540, "ACST": 570, "ACDT": 630, "AEST": 600, "AEDT": 660, "NZST": 720,
    "NZDT": 780, "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420,
    "MDT": -360, "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600,
    "AST": -240, "ADT": -180, "NST": -210, "NDT": -150, "BRT": -180, "ART": -180,
}  # fmt: skip
# North American zones written without S or D ("7 p.m. ET"): standard offset, plus an hour
# while daylight saving time is in force on that day.
_US_ZONE_MINUTES = {"ET": -300, "CT": -360, "MT": -420, "PT": -480}
_ZONE_NAMES = "|".join(sorted((*_ZONE_MINUTES, *_US_ZONE_MINUTES), key=len, reverse=True))
_TRAILING_ZONE = re.compile(rf"\s*\(?\b({_ZONE_NAMES})\)?\s*$")
_GMT_OFFSET = re.compile(r"\b(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?\s*$", re.I)
_MERIDIEM = re.compile(r"\b([ap])\.\s?m\.?(?=\s|$|,)", re.I)
_RFC822 = re.compile(
    r"^(?:[A-Za-z]{3},?\s+)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?"
    r"(?:\s+(?:[+-]\d{4}|GMT|UTC?|Z))?$"
)
# The one RFC 822 shape most feeds write ("Fri, 04 Dec 2026 18:41:29 +0000"), read directly.
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_RFC822_USUAL = re.compile(
    rf"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d\d?) ({'|'.join(_MONTH_NAMES)}) (\d{{4}}) "
    r"(\d\d):(\d\d):(\d\d) (?:([+-])(\d\d)(\d\d)|GMT|UTC|UT|Z)"
)
_DOTTED_DAY_FIRST = re.compile(r"^\d{1,2}\.\s?\d{1,2}\.\s?\d{2,4}\b")
_DIGITS_ONLY = re.compile(r"^\d{5,8}$")
_ISO_DAY = re.compile(r"^(\d{4})-(\d\d)-(\d\d)(?!\d)")
_ISO_CLOCK = re.compile(r"^[T ](\d\d):(\d\d)(?::(\d\d))?[\d:.,]*\s*(Z|[+-]\d\d:?\d\d)?\s*$", re.I)
_ISO_ZONE = re.compile(r"\s")
_NUMERIC_OFFSET = re.compile(r"([+-])(\d\d):?(\d\d)?")
# Two defaults that differ in every field: a field the text lacks shows up as a difference.
_PROBES = (datetime(2001, 1, 1, 0, 0), datetime(2002, 2, 2, 1, 1))


def parse_date(
    value: object, *, dayfirst: bool | None = None, naive_as: tzinfo | None = UTC
) -> datetime | None:
    """A date string (or datetime) as an aware datetime in the offset it states; None if unreadable.

    Zone abbreviations ("EST", "CET", "BST", "IST" as India) and 12-hour clocks are read; a
    value without an offset is taken as UTC wall time. A text must name a day, a month and a
    year: "5:35 PM" alone is not a date. Dates before 1990 or after 2100 are refused as
    garbage. ``dayfirst`` settles "03/04/2020"; by default it is month first, except with dots.
    ``naive_as=None`` leaves a value without an offset naive, for callers that weigh wall-clock
    times against instants.
    """
    if isinstance(value, datetime):
        dt: datetime | None = value
    elif isinstance(value, str):
        text = value.strip()
        dt = _parse_text(text, dayfirst) if 0 < len(text) <= _MAX_LEN else None
    else:
        return None
    return _plausible(dt, naive_as)


def _plausible(dt: datetime | None, naive_as: tzinfo | None) -> datetime | None:
    if dt is None:
        return None
    try:
        offset = dt.utcoffset()
    except ValueError:  # a zone of 24 hours or more (dateutil builds one): no clock has it
        return None
    if dt.tzinfo is not None and offset is None:
        dt = dt.replace(tzinfo=None)
    try:
        in_range = dt.replace(tzinfo=dt.tzinfo or UTC) >= _EARLIEST and dt.year <= _LATEST_YEAR
    except OverflowError:
        return None
    if not in_range:
        return None
    return dt.replace(tzinfo=naive_as) if dt.tzinfo is None else dt


def zone_offset(name: str, day: date) -> tzinfo | None:
    """The offset a zone abbreviation stands for on ``day``; None for a name not known here."""
    upper = name.upper()
    if upper in _ZONE_MINUTES:
        return _fixed(_ZONE_MINUTES[upper])
    if upper in _US_ZONE_MINUTES:
        summer = 60 if _us_daylight_saving(day) else 0
        return _fixed(_US_ZONE_MINUTES[upper] + summer)
    return None


def _fixed(minutes: int) -> tzinfo:
    return UTC if minutes == 0 else timezone(timedelta(minutes=minutes))


def _us_daylight_saving(day: date) -> bool:
    """US rules since 2007: second Sunday in March to first Sunday in November (by the day)."""
    march_first = date(day.year, 3, 1)
    start = march_first + timedelta(days=(6 - march_first.weekday()) % 7 + 7)
    november_first = date(day.year, 11, 1)
    end = november_first + timedelta(days=(6 - november_first.weekday()) % 7)
    return start <= day < end


def _parse_text(text: str, dayfirst: bool | None) -> datetime | None:
    usual = _usual_rfc822(text)
    if usual is not None:
        return usual
    if _EPOCH.match(text):
        try:
            return datetime.fromtimestamp(float(text), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if _DIGITS_ONLY.match(text):
        return None  # "20200308" is a date only where a format says so; here it is a number
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        pass
    iso_day = _ISO_DAY.match(text)
    if iso_day and (salvaged := _iso_salvage(iso_day, text[iso_day.end() :])):
        return salvaged
    if _RFC822.match(text):
        try:
            return parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            pass
    loose = _parse_loose(text, dayfirst)
    if iso_day and (loose is None or loose.strftime("%Y-%m-%d") != iso_day.group()):
        return _iso_salvage(iso_day, "")  # whatever follows, the text opens with its day
    return loose


def _usual_rfc822(text: str) -> datetime | None:
    """Exactly what parsedate_to_datetime makes of the usual RFC 822 shape (naive for "-0000",
    which says "zone unknown"), several times faster: a feed of 100,000 items has as many dates.
    None for any other text, or a value out of range (the general path then decides)."""
    found = _RFC822_USUAL.fullmatch(text)
    if found is None:
        return None
    day, month, year, hour, minute, second, sign, zone_h, zone_m = found.groups()
    zone: tzinfo | None = UTC  # GMT, UTC, UT, Z
    try:
        if sign is not None:
            seconds = int(zone_h) * 3600 + int(zone_m) * 60
            if sign == "-" and seconds == 0:
                zone = None  # "-0000": the zone is unknown
            else:
                zone = timezone(timedelta(seconds=seconds if sign == "+" else -seconds))
        clock = (int(hour), int(minute), int(second))
        return datetime(int(year), _MONTHS[month], int(day), *clock, tzinfo=zone)
    except ValueError:
        return None


def _iso_salvage(match: re.Match[str], rest: str) -> datetime | None:
    """An ISO 8601 stamp that a template mangled after its date ("T22:06:08:684Z", "T25:00")
    still names its day, and its clock and offset when those read; None when what follows
    the date is no clock at all (another parser may read it)."""
    try:
        year, month, day_of_month = (int(part) for part in match.groups())
        day = datetime(year, month, day_of_month)
    except ValueError:
        return None
    if not rest:
        return day
    clock = _ISO_CLOCK.match(rest)
    if not clock:
        return None
    hour, minute, second, zone = clock.groups()
    if int(hour) > 23 or int(minute) > 59 or int(second or 0) > 59:
        return day
    offset = _ISO_ZONE.sub("", zone or "")
    tz = UTC if zone and zone.upper() == "Z" else _iso_offset(offset)
    return day.replace(hour=int(hour), minute=int(minute), second=int(second or 0), tzinfo=tz)


def _iso_offset(text: str) -> tzinfo | None:
    match = _NUMERIC_OFFSET.fullmatch(text)
    if not match:
        return None
    sign = -1 if match.group(1) == "-" else 1
    minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
    return _fixed(sign * minutes) if minutes < 24 * 60 else None


def _parse_loose(text: str, dayfirst: bool | None) -> datetime | None:
    """Free-form dates through dateutil, with the zone taken off and placed by our own table."""
    text = _MERIDIEM.sub(r"\1m", text)
    zone_name, offset = None, None
    if match := _TRAILING_ZONE.search(text):
        zone_name, text = match.group(1), text[: match.start()]
    elif match := _GMT_OFFSET.search(text):
        sign = -1 if match.group(1) == "-" else 1
        minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
        offset, text = _fixed(sign * minutes), text[: match.start()]
    if dayfirst is None:
        dayfirst = bool(_DOTTED_DAY_FIRST.match(text))
    dt = _complete_parse(text.rstrip(" ,-|@"), dayfirst)
    if dt is None or dt.tzinfo is not None:
        return dt
    if zone_name:
        offset = zone_offset(zone_name, dt.date())
    return dt.replace(tzinfo=offset) if offset else dt


def _complete_parse(text: str, dayfirst: bool) -> datetime | None:
    """dateutil's reading of ``text`` when it names a year, a month and a day, else None."""
    readings = []
    for probe in _PROBES:
        try:
            readings.append(_dateutil.parse(text, default=probe, dayfirst=dayfirst))
        except (ValueError, OverflowError, TypeError, LookupError):
            return None
    first, second = readings
    if (first.year, first.month, first.day) != (second.year, second.month, second.day):
        return None
    if first.hour != second.hour:
        return first.replace(hour=0, minute=0, second=0, microsecond=0)
    if first.minute != second.minute:  # "3 p.m."
        return first.replace(minute=0, second=0, microsecond=0)
    return first
