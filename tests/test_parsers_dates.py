"""parse_date on the forms pages and feeds write: clocks, zone names and offsets kept as stated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest

from parsers.dates import parse_date


def tz(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


PARSE_CASES = [
    # 12-hour clocks
    ("Feb 28, 2022 5:35 PM", datetime(2022, 2, 28, 17, 35, tzinfo=UTC)),
    ("Feb 28, 2022 5:35 AM", datetime(2022, 2, 28, 5, 35, tzinfo=UTC)),
    ("February 28, 2022 12:10 a.m.", datetime(2022, 2, 28, 0, 10, tzinfo=UTC)),
    ("February 28, 2022 12:10 p.m.", datetime(2022, 2, 28, 12, 10, tzinfo=UTC)),
    ("March 3, 2021 at 3 p.m.", datetime(2021, 3, 3, 15, 0, tzinfo=UTC)),
    # zone abbreviations, offsets kept as written
    ("Feb 28, 2022 07:47 PM EST", datetime(2022, 2, 28, 19, 47, tzinfo=tz(-5))),
    ("Mon, 28 Feb 2022 07:47 PM EST", datetime(2022, 2, 28, 19, 47, tzinfo=tz(-5))),
    ("June 2, 2021 9:15 PM PDT", datetime(2021, 6, 2, 21, 15, tzinfo=tz(-7))),
    ("Jan 12, 2021 8:00 AM PST", datetime(2021, 1, 12, 8, 0, tzinfo=tz(-8))),
    ("12 March 2020 09:00 CET", datetime(2020, 3, 12, 9, 0, tzinfo=tz(1))),
    ("12 July 2020 09:00 CEST", datetime(2020, 7, 12, 9, 0, tzinfo=tz(2))),
    ("12 July 2020 23:30 BST", datetime(2020, 7, 12, 23, 30, tzinfo=tz(1))),
    ("12 July 2020 23:30 UTC", datetime(2020, 7, 12, 23, 30, tzinfo=UTC)),
    ("12 July 2020 23:30 GMT", datetime(2020, 7, 12, 23, 30, tzinfo=UTC)),
    ("5 May 2020 10:00 IST", datetime(2020, 5, 5, 10, 0, tzinfo=tz(5.5))),
    ("Thursday, 5 March 2020 10:00 GMT+2", datetime(2020, 3, 5, 10, 0, tzinfo=tz(2))),
    # US zones without S/D follow daylight saving time by the date
    ("July 4, 2021 at 3 p.m. ET", datetime(2021, 7, 4, 15, 0, tzinfo=tz(-4))),
    ("January 4, 2021 at 3 p.m. ET", datetime(2021, 1, 4, 15, 0, tzinfo=tz(-5))),
    ("November 10, 2021 8:00 PM PT", datetime(2021, 11, 10, 20, 0, tzinfo=tz(-8))),
    # ISO 8601 and RFC 822 keep their offsets: not converted to UTC
    ("2022-02-15T00:00:00+09:00", datetime(2022, 2, 15, 0, 0, tzinfo=tz(9))),
    ("2021-07-04T10:00:00.000Z", datetime(2021, 7, 4, 10, 0, tzinfo=UTC)),
    ("2021-07-04 15:00:00 +0200", datetime(2021, 7, 4, 15, 0, tzinfo=tz(2))),
    ("Mon, 28 Feb 2022 19:47:00 +0100", datetime(2022, 2, 28, 19, 47, tzinfo=tz(1))),
    ("Mon, 28 Feb 2022 19:47:00 GMT", datetime(2022, 2, 28, 19, 47, tzinfo=UTC)),
    ("2022-02-15", datetime(2022, 2, 15, tzinfo=UTC)),
    # day-first with dots, month-first with slashes unless told
    ("28.02.2022 14:05", datetime(2022, 2, 28, 14, 5, tzinfo=UTC)),
    ("03.04.2020", datetime(2020, 4, 3, tzinfo=UTC)),
    ("03/04/2020", datetime(2020, 3, 4, tzinfo=UTC)),
    ("1583625600", datetime(2020, 3, 8, tzinfo=UTC)),
    # not dates
    ("07:47 PM EST", None),
    ("5:35 PM", None),
    ("2020", None),
    ("20200308", None),
    ("March 2020", None),
    ("1 January 1970", None),
    ("yesterday", None),
    ("", None),
    ("x" * 200, None),
    ("Mon, 28 Feb 2022 17:48:02 +9900", None),  # an offset no clock has: unreadable, not a crash
]


def assert_same_date(got: datetime | None, expected: datetime | None) -> None:
    """The same instant and the same stated offset (equal datetimes may differ in offset)."""
    assert got == expected
    if expected is not None:
        assert got is not None and got.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(("text", "expected"), PARSE_CASES)
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert_same_date(parse_date(text), expected)


def test_day_first_when_told() -> None:
    assert parse_date("03/04/2020", dayfirst=True) == datetime(2020, 4, 3, tzinfo=UTC)


@pytest.mark.parametrize("value", [None, 12, 3.5, b"2020-01-01", ["2020-01-01"]])
def test_non_strings_are_not_dates(value: object) -> None:
    assert parse_date(value) is None


def test_aware_datetime_kept_and_naive_taken_as_utc() -> None:
    aware = datetime(2020, 3, 8, 12, tzinfo=tz(9))
    assert parse_date(aware) is aware
    assert parse_date(datetime(2020, 3, 8, 12)) == datetime(2020, 3, 8, 12, tzinfo=UTC)


# The usual RFC 822 shape is read by a shortcut: it must give what the general path gives.
RFC822_USUAL = [
    ("Fri, 04 Dec 2026 18:41:29 +0000", datetime(2026, 12, 4, 18, 41, 29, tzinfo=UTC)),
    ("04 Dec 2026 18:41:29 +0000", datetime(2026, 12, 4, 18, 41, 29, tzinfo=UTC)),
    ("Fri, 4 Dec 2026 18:41:29 GMT", datetime(2026, 12, 4, 18, 41, 29, tzinfo=UTC)),
    ("Fri, 04 Dec 2026 18:41:29 UT", datetime(2026, 12, 4, 18, 41, 29, tzinfo=UTC)),
    ("Fri, 04 Dec 2026 18:41:29 Z", datetime(2026, 12, 4, 18, 41, 29, tzinfo=UTC)),
    ("Mon, 28 Feb 2022 17:48:02 +0530", datetime(2022, 2, 28, 17, 48, 2, tzinfo=tz(5.5))),
    ("Mon, 28 Feb 2022 17:48:02 -0500", datetime(2022, 2, 28, 17, 48, 2, tzinfo=tz(-5))),
    ("Mon, 28 Feb 2022 17:48:02 -0000", datetime(2022, 2, 28, 17, 48, 2, tzinfo=UTC)),  # unknown
    ("Sun, 28 Feb 2022 17:48:02 +0000", datetime(2022, 2, 28, 17, 48, 2, tzinfo=UTC)),  # wrong day
    ("Mon, 29 Feb 2022 17:48:02 +0000", None),  # no such day
    ("Mon, 28 Feb 2022 24:00:00 +0000", None),  # no such hour
    ("Mon, 28 Feb 2022 17:48:02 +2400", None),  # no such offset
    ("Mon, 28 Feb 1989 17:48:02 +0000", None),  # too early to be news
    ("mon, 28 feb 2022 17:48:02 +0000", datetime(2022, 2, 28, 17, 48, 2, tzinfo=UTC)),  # general
]


@pytest.mark.parametrize(("text", "expected"), RFC822_USUAL)
def test_usual_rfc822_as_the_email_parser_reads_it(text: str, expected: datetime | None) -> None:
    got = parse_date(text)
    assert_same_date(got, expected)
    if expected is not None:
        email = parsedate_to_datetime(text)
        assert got == email.replace(tzinfo=email.tzinfo or UTC)
