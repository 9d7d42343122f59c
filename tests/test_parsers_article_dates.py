"""Where parse_article finds an article's dates, which source wins, and published vs updated."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from newswatch.errors import ParseError
from parsers.articles import parse_article, parse_dates
from parsers.date_text import text_dates, url_date
from tests.test_parsers_fuzz import mutate

URL = "https://news.example.org/world/story"
PROSE = "".join(
    f"<p>Paragraph {i} says the delegations met near the border and agreed to talk again.</p>"
    for i in range(6)
)


def tz(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


def page(head: str = "", top: str = "", body: str = PROSE, tail: str = "", before: str = "") -> str:
    return (
        f"<!DOCTYPE html><html lang='en-GB'><head><title>Talks resume</title>{head}</head><body>"
        f"{before}<article><h1>Talks resume at the border</h1>{top}{body}</article>{tail}"
        "</body></html>"
    )


def ld(**fields: str) -> str:
    data = ", ".join(f'"{k}": "{v}"' for k, v in fields.items())
    return f'<script type="application/ld+json">{{"@type": "NewsArticle", {data}}}</script>'


def meta(key: str, value: str, attr: str = "property") -> str:
    return f'<meta {attr}="{key}" content="{value}">'


SOURCES = [
    # (case, html, url, published, updated)
    (
        "json-ld first, offset kept",
        page(
            ld(datePublished="2022-02-15T00:00:00+09:00", dateModified="2022-02-15T08:30:00+09:00")
            + meta("article:published_time", "2022-02-10T00:00:00+00:00")
        ),
        URL,
        datetime(2022, 2, 15, 0, 0, tzinfo=tz(9)),
        datetime(2022, 2, 15, 8, 30, tzinfo=tz(9)),
    ),
    (
        "meta tags when no json-ld",
        page(
            meta("article:published_time", "2021-06-01T10:00:00-04:00")
            + meta("article:modified_time", "2021-06-02T09:00:00-04:00")
        ),
        URL,
        datetime(2021, 6, 1, 10, 0, tzinfo=tz(-4)),
        datetime(2021, 6, 2, 9, 0, tzinfo=tz(-4)),
    ),
    (
        "an unlisted meta key read by its words",
        page(
            meta("cXenseParse:recs:publishtime", "2021-03-04T05:06:00+01:00", "name")
            + meta("page.last-updated", "2021-03-05T05:06:00+01:00", "name")
        ),
        URL,
        datetime(2021, 3, 4, 5, 6, tzinfo=tz(1)),
        datetime(2021, 3, 5, 5, 6, tzinfo=tz(1)),
    ),
    (
        "an expiry date is not a publication date",
        page(
            meta("article:expiration_time", "2030-01-01T00:00:00Z")
            + meta("article:published_time", "2021-01-02T00:00:00Z")
        ),
        URL,
        datetime(2021, 1, 2, tzinfo=UTC),
        None,
    ),
    (
        "microdata and <time>, the modified one only as updated",
        page(
            top='<p class="meta"><time class="updated" datetime="2020-05-06T12:00:00+02:00">'
            '6 May</time> <span itemprop="datePublished" content="2020-05-05T08:00:00+02:00">'
            "5 May</span></p>"
        ),
        URL,
        datetime(2020, 5, 5, 8, 0, tzinfo=tz(2)),
        datetime(2020, 5, 6, 12, 0, tzinfo=tz(2)),
    ),
    (
        "printed byline with 12-hour clock and zone; 'Updated' marks the second date",
        page(
            top='<div class="article-byline">By Jo Smith | Published Feb 28, 2022 5:35 PM EST'
            " | Updated March 1, 2022 7:47 AM EST</div>"
        ),
        URL,
        datetime(2022, 2, 28, 17, 35, tzinfo=tz(-5)),
        datetime(2022, 3, 1, 7, 47, tzinfo=tz(-5)),
    ),
    (
        "printed German byline, day first",
        page(top='<p class="datum">Veröffentlicht am 08.03.2020 um 14:05 Uhr</p>'),
        URL,
        datetime(2020, 3, 8, 14, 5, tzinfo=UTC),
        None,
    ),
    (
        "a comment's date is not the article's",
        page(
            tail='<div class="comments"><p class="comment-date">12 May 2023</p></div>',
            top='<p class="post-meta">Posted on 3 April 2023</p>',
        ),
        URL,
        datetime(2023, 4, 3, tzinfo=UTC),
        None,
    ),
    (
        "the byline under the headline, not the masthead's today above it",
        page(
            before='<div class="masthead"><span class="date">Thursday, 9 November 2023</span>'
            "</div>",
            top='<p class="byline">By Jo Smith, 8 November 2023</p>',
        ),
        URL,
        datetime(2023, 11, 8, tzinfo=UTC),
        None,
    ),
    (
        "the URL when the page states nothing",
        page(),
        "https://blog.example.net/2020/03/08/people-behind-the-code/",
        datetime(2020, 3, 8, tzinfo=UTC),
        None,
    ),
    (
        "without structured data the URL's day comes before a printed one",
        page(top='<p class="date">Published 1 July 2020</p>'),
        "https://blog.example.net/2020/07/08/story/",
        datetime(2020, 7, 8, tzinfo=UTC),
        None,
    ),
    (
        "the article's text when nothing else has a date",
        page(body="<p>Written on 14 January 2019 in Lisbon.</p>" + PROSE),
        URL,
        datetime(2019, 1, 14, tzinfo=UTC),
        None,
    ),
    (
        "structured data beats the URL and printed text",
        page(
            ld(datePublished="2020-07-09T06:04:00-04:00"),
            top='<p class="date">Published 1 July 2020</p>',
        ),
        "https://www.example.com/politics/2020/07/08/story.html",
        datetime(2020, 7, 9, 6, 4, tzinfo=tz(-4)),
        None,
    ),
    (
        "only a modification date: published stays unknown",
        page(meta("article:modified_time", "2021-06-02T09:00:00+00:00")),
        URL,
        None,
        datetime(2021, 6, 2, 9, 0, tzinfo=UTC),
    ),
    (
        "an update before publication is a template error",
        page(ld(datePublished="2021-06-02T09:00:00+00:00", dateModified="2019-01-01T00:00:00Z")),
        URL,
        datetime(2021, 6, 2, 9, 0, tzinfo=UTC),
        None,
    ),
]


@pytest.mark.parametrize(
    ("html", "url", "published", "updated"), [c[1:] for c in SOURCES], ids=[c[0] for c in SOURCES]
)
def test_date_sources(
    html: str, url: str, published: datetime | None, updated: datetime | None
) -> None:
    article = parse_article(html, url)
    assert article.published == published
    assert article.updated == updated
    for found, expected in ((article.published, published), (article.updated, updated)):
        if expected is not None:
            assert found is not None and found.utcoffset() == expected.utcoffset()
    dates = parse_dates(html, url)
    assert (dates.published, dates.updated) == (published, updated)


LOCALISED = [
    # (case, html, url, published in the page's offset)
    (
        "UTC json-ld and the same instant with an offset in a meta tag",
        page(
            ld(datePublished="2019-10-18T22:04:00Z")
            + meta("date", "Sat, 19 Oct 2019 00:04:00 +0200", "name")
        ),
        URL,
        datetime(2019, 10, 19, 0, 4, tzinfo=tz(2)),
    ),
    (
        "UTC json-ld and the local wall clock in a <time> without offset",
        page(
            ld(datePublished="2023-11-09T05:30:59Z"),
            top='<time datetime="2023-11-08 23:30:59">Nov 8</time>',
        ),
        URL,
        datetime(2023, 11, 8, 23, 30, 59, tzinfo=tz(-6)),
    ),
    (
        "UTC json-ld and a printed local day one before the UTC day",
        page(
            ld(datePublished="2020-02-18T02:18:11Z"),
            top='<p class="byline">Por: Agencia | 17 de Febrero 2020</p>',
        ),
        URL,
        datetime(2020, 2, 18, 2, 18, 11, tzinfo=UTC).astimezone(tz(-3)),
    ),
    (
        "UTC json-ld and a URL filed one day before",
        page(ld(datePublished="2020-02-18T02:18:11Z")),
        "https://example.com/2020/02/17/story/",
        datetime(2020, 2, 18, 2, 18, 11, tzinfo=UTC).astimezone(tz(-3)),
    ),
    (
        "UTC json-ld and a printed time in the page's zone",
        page(
            ld(datePublished="2020-07-09T10:04:04Z"),
            top='<p class="byline">Updated July 9, 2020 at 6:40 p.m. EDT</p>',
        ),
        URL,
        datetime(2020, 7, 9, 6, 4, 4, tzinfo=tz(-4)),
    ),
    (
        "a URL day that would need an offset west of Hawaii says nothing about the zone",
        page(ld(datePublished="2020-07-09T10:04:04Z")),
        "https://example.com/politics/2020/07/08/story.html",
        datetime(2020, 7, 9, 10, 4, 4, tzinfo=UTC),
    ),
    (
        "UTC json-ld agreeing with the printed day stays UTC",
        page(
            ld(datePublished="2023-11-03T09:59:33+00:00"), top='<p class="date">3 November 2023</p>'
        ),
        URL,
        datetime(2023, 11, 3, 9, 59, 33, tzinfo=UTC),
    ),
]


@pytest.mark.parametrize(
    ("html", "url", "published"), [c[1:] for c in LOCALISED], ids=[c[0] for c in LOCALISED]
)
def test_utc_structured_dates_shown_in_the_page_offset(
    html: str, url: str, published: datetime
) -> None:
    found = parse_article(html, url).published
    assert found == published
    assert found is not None and found.utcoffset() == published.utcoffset()
    assert found.date() == published.date()


TEXT_DATES = [
    ("Published 8 March 2020, 17:35 CET", True, datetime(2020, 3, 8, 17, 35, tzinfo=tz(1))),
    ("Posted March 8th, 2020 at 5:35 pm EST", True, datetime(2020, 3, 8, 17, 35, tzinfo=tz(-5))),
    ("le 8 mars 2020 à 10h30", True, datetime(2020, 3, 8, 10, 30)),
    ("8 de marzo de 2020", True, datetime(2020, 3, 8)),
    ("8 марта 2020", True, datetime(2020, 3, 8)),
    ("2020年3月8日 10:30", True, datetime(2020, 3, 8, 10, 30)),
    ("12/03/2020", True, datetime(2020, 3, 12)),
    ("12/03/2020", False, datetime(2020, 12, 3)),
    ("13/03/2020", False, datetime(2020, 3, 13)),
    ("02.12.19", True, datetime(2019, 12, 2)),
    ("version v1.2.2020", True, None),
    ("in 2020", True, None),
]


@pytest.mark.parametrize(("text", "dayfirst", "expected"), TEXT_DATES)
def test_text_dates(text: str, dayfirst: bool, expected: datetime | None) -> None:
    found = next((d for _, d in text_dates(text, dayfirst=dayfirst)), None)
    assert found == expected
    if expected is not None:
        assert found is not None and found.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.org/2020/03/08/story", "2020-03-08"),
        ("https://x.org/2020/3/8/story", "2020-03-08"),
        ("https://x.org/news/story-20200308.html", "2020-03-08"),
        ("https://x.org/news/2020/03/story", None),
        ("https://x.org/news/120200622120908039/story", None),
        ("https://x.org/?date=2020/03/08", None),
        (None, None),
    ],
)
def test_url_date(url: str | None, expected: str | None) -> None:
    found = url_date(url)
    assert (found.isoformat() if found else None) == expected


@pytest.mark.parametrize(
    "text",
    [
        "1 March 2020" + " " * 20_000 + "x",
        "March 1, 2020 " + " ," * 10_000,
        "The delegations met near the border and agreed to talk again. " * 400,
    ],
)
def test_text_dates_stay_linear_on_long_or_hostile_text(text: str) -> None:
    started = time.perf_counter()
    list(text_dates(text))
    assert time.perf_counter() - started < 0.5


def test_mutated_article_pages_give_dates_or_parse_error() -> None:
    """Damaged pages (cut markup, stray bytes, broken JSON-LD) through both date readers."""
    rng = random.Random("article-dates")
    folder = Path(__file__).parent / "fixtures" / "articles"
    sources = [p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix == ".html"]
    sources.append(page(ld(datePublished="2020-02-18T02:18:11Z")).encode())
    dated = 0
    for _ in range(60):
        data = mutate(rng.choice(sources), rng)
        try:
            dated += parse_dates(data, URL).published is not None
            parse_article(data, URL)
        except ParseError:
            continue
    assert dated >= 10
