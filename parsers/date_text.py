"""Dates written for readers, in running text and in URLs: "8 March 2020", "März 8, 2020",
"08.03.2020", "2020年3月8日", "/2020/03/08/"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, time

from parsers.dates import zone_offset

# Month names and their common abbreviations, by number, in the languages of the sources we see.
_MONTH_NAMES = {
    1: "january jan januar jänner janvier janv enero ene gennaio janeiro januari januar stycznia"
    " styczeń января январь січня січень ocak",
    2: "february feb februar février févr fevrier febrero febbraio fevereiro februari lutego"
    " luty февраля февраль лютого лютий şubat subat",
    3: "march mar märz maerz mars marzo março marco maart marca marzec марта март березня"
    " березень mart",
    4: "april apr avril avr abril abr aprile kwietnia kwiecień апреля апрель квітня квітень nisan",
    5: "may mai mei mayo maggio maio maja maj мая май травня травень mayıs mayis",
    6: "june jun juni juin junio giugno junho czerwca czerwiec июня июнь червня червень haziran",
    7: "july jul juli juillet juil julio luglio julho lipca lipiec июля июль липня липень temmuz",
    8: "august aug août aout agosto ago augustus sierpnia sierpień августа август серпня"
    " серпень ağustos agustos",
    9: "september sep sept septembre septiembre setiembre settembre setembro set września"
    " wrzesień сентября сентябрь вересня вересень eylül eylul",
    10: "october oct oktober okt octobre octubre ottobre outubro out października"
    " październik октября октябрь жовтня жовтень ekim",
    11: "november nov novembre noviembre novembro listopada listopad ноября ноябрь листопада"
    " листопад kasım kasim",
    12: "december dec dezember dez décembre déc decembre diciembre dic dicembre dezembro"
    " grudnia grudzień декабря декабрь грудня грудень aralık aralik",
}
MONTHS = {name: number for number, names in _MONTH_NAMES.items() for name in names.split()}
_MONTH_WORDS = "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True))
# Possessive separators: a long run of spaces or commas after a date must not be re-split.
_CLOCK = (
    r"(?:[\s,|/-]++(?:(?:at|um|à|a las|alle|às|om|в|o)\s++)?"
    r"(?P<hour>[0-2]?\d)[:.h](?P<minute>[0-5]\d)"
    r"(?::[0-5]\d)?(?:\s*(?P<ampm>[ap]\.?\s?m\b\.?))?(?:\s*(?:uhr|h))?"
    r"(?:\s*\(?(?P<zone>[A-Z]{2,5})\b\)?)?)?"
)
_YEAR = r"(?:19|20)\d\d(?!\d)"
_DAY = r"[0-3]?\d"
_DAY_SUFFIX = r"(?:st|nd|rd|th|er|º|°|\.)?"
# One alternative per way of writing a date, its groups suffixed with its number: y0, m0, d0...
_FORMS = (
    rf"(?P<d0>{_DAY}){_DAY_SUFFIX}\s*(?:de\s+|of\s+)?(?P<m0>{_MONTH_WORDS})\.?,?\s*"
    rf"(?:de\s+|del\s+)?(?P<y0>{_YEAR})",
    rf"(?P<m1>{_MONTH_WORDS})\.?\s+(?P<d1>{_DAY}){_DAY_SUFFIX},?\s+(?P<y1>{_YEAR})",
    rf"(?P<y2>{_YEAR})-(?P<m2>[01]?\d)-(?P<d2>{_DAY})(?!\d)(?:T(?P<t2>[0-2]\d:[0-5]\d))?",
    rf"(?P<y3>{_YEAR})[/.](?P<m3>[01]?\d)[/.](?P<d3>{_DAY})(?!\d)",
    rf"(?P<d4>{_DAY})\.\s?(?P<m4>[01]?\d)\.\s?(?P<y4>{_YEAR})",
    rf"(?P<d5>{_DAY})[/-](?P<m5>{_DAY})[/-](?P<y5>{_YEAR})",
    rf"(?P<y6>{_YEAR})\s*[年년]\s*(?P<m6>[01]?\d)\s*[月월]\s*(?P<d6>{_DAY})\s*[日일]?",
    r"(?P<d7>[0-3]\d)\.(?P<m7>[01]\d)\.(?P<y7>[0-3]\d)(?![\d.])",
)
_YEAR_LIKE = re.compile(r"(?<!\d)(?:(?:19|20)\d\d|[0-3]\d\.[01]\d\.\d\d)(?!\d)")
_BEFORE_YEAR, _AFTER_YEAR = 40, 45
_NAMED_MONTH = (0, 1)
_EITHER_ORDER = 5  # "03/04/2020": day or month first, decided by the page
_TEXT_DATE = re.compile(
    r"(?<![\w/.-])(?:" + "|".join(f"(?:{form})" for form in _FORMS) + ")" + _CLOCK,
    re.IGNORECASE,
)
_URL_DATE = re.compile(
    r"(?<!\d)((?:19|20)\d\d)([/_.-]?)([01]\d)\2([0-3]\d)(?!\d)|/((?:19|20)\d\d)/([01]?\d)/([0-3]?\d)/"
)


def text_dates(text: str, *, dayfirst: bool = True) -> Iterator[tuple[int, datetime]]:
    """Every full date (day, month and year) written in ``text``, with where it starts.

    A clock after the date is kept, read in 12 or 24 hours, and its zone when one is named
    (else the datetime is naive: wall-clock time); "03/04/2020" is read day first unless
    ``dayfirst`` is False (American pages).
    """
    for start, end in _windows(text):
        for match in _TEXT_DATE.finditer(text, start, end):
            day = _match_date(match, dayfirst)
            if day is not None:
                yield match.start(), _with_clock(day, match)


def _windows(text: str) -> Iterator[tuple[int, int]]:
    """Stretches of ``text`` around each year-like number, merged where they overlap.

    Every written date has a year, so the costly pattern only runs near one instead of at
    every word of a long text; the stretch reaches far enough for a day and month before the
    year and a clock and zone after it.
    """
    start = end = -1
    for anchor in _YEAR_LIKE.finditer(text):
        low, high = max(0, anchor.start() - _BEFORE_YEAR), anchor.end() + _AFTER_YEAR
        if low > end:
            if end > 0:
                yield start, end
            start = low
        end = high
    if end > 0:
        yield start, end


def _match_date(match: re.Match[str], dayfirst: bool) -> date | None:
    groups = match.groupdict()
    form = next(i for i in range(len(_FORMS)) if groups[f"y{i}"])
    year, month, day = (groups[f"{part}{form}"] for part in "ymd")
    if form in _NAMED_MONTH:
        month = str(MONTHS.get(month.lower(), 0))
    elif form == _EITHER_ORDER:
        first, second = int(day), int(month)
        if not (first > 12 or (dayfirst and second <= 12)):
            day, month = month, day
    if len(year) == 2:
        year = "20" + year  # "02.12.19": two-digit years only in this century's dd.mm.yy
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _with_clock(day: date, match: re.Match[str]) -> datetime:
    """The date with the clock written after it; naive unless a zone is named."""
    groups = match.groupdict()
    hour, minute = groups["hour"], groups["minute"]
    if groups["t2"]:
        hour, minute = groups["t2"].split(":")
    zone = zone_offset(groups["zone"], day) if groups["zone"] else None
    clock = None if hour is None else _clock(int(hour), int(minute), groups["ampm"])
    return datetime.combine(day, clock or time(), zone)


def _clock(hour: int, minute: int, ampm: str | None) -> time | None:
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm[0].lower() == "p" else 0)
    return time(hour, minute) if hour < 24 else None


def url_date(url: str | None) -> date | None:
    """The full date a URL's path is filed under ("/2020/03/08/", "/20200308-"), else None."""
    if not url:
        return None
    path = url.split("://", 1)[-1].partition("/")[2].split("?", 1)[0]
    for match in _URL_DATE.finditer("/" + path):
        parts = match.groups()
        year, month, day = parts[4:7] if parts[4] else (parts[0], parts[2], parts[3])
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            continue
    return None
