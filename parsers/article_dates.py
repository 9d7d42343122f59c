"""When an article page says it was published and last updated, read where a reader sees it.

Sources, most trusted first: the article's structured data (JSON-LD), meta tags, microdata and
``<time>`` elements, the date the URL is filed under, dates printed in the page's date/byline
furniture, app-state script data, and last the first date in the article's text. A date is
``updated`` only when the page marks it as a modification (a key, a class, or words such as
"Updated" before it); it never fills ``published``, and an update before the publication is
dropped as a template error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from functools import cached_property
from itertools import chain
from typing import Any

from lxml import etree
from lxml.html import HtmlElement

from parsers._common import element_text
from parsers.article_body import FURNITURE_MARKS
from parsers.date_text import text_dates, url_date
from parsers.dates import parse_date

_PUBLISHED_KEYS = (
    "article:published_time", "og:article:published_time", "datepublished", "parsely-pub-date",
    "sailthru.date", "dc.date.issued", "dcterms.issued", "dc.date", "dcterms.date",
    "dcterms.created", "pubdate", "publishdate", "publish-date", "date", "og:published_time",
)  # fmt: skip
_UPDATED_KEYS = (
    "article:modified_time", "og:article:modified_time", "og:updated_time", "datemodified",
    "dcterms.modified", "dc.date.modified", "last-modified", "lastmod", "sailthru.lastmodified",
)  # fmt: skip
# Other meta keys are judged by their words: any publication or creation date, any modification.
_PUBLISHED_KEY = re.compile(r"publi|pub.?date|issued|creat|release|(?:^|[._:-])date$")
_UPDATED_KEY = re.compile(r"modif|updat|revis|last.?mod")
_NOT_A_PAGE_DATE = re.compile(r"expir|birth|event|start|end|valid|image|embargo|copyright")

_MICRODATA = etree.XPath(
    "//*[@itemprop='datePublished' or @itemprop='dateModified'][not(self::meta)]"
)
_TIMES = etree.XPath("//time")
_ARTICLE_TIMES = etree.XPath("//article//time")
_MODIFIED_MARKS = ("modif", "updat", "edited", "aktualisiert", "actualiz", "mis-a-jour")
_DATED_WORDS = ("date", "time", "publi", "byline", "meta", "Date", "datum", "posted")
# The first headline and, in page order, every element whose class names a date or a byline
# (or whose id names a date); testing attribute values is twice as quick as testing elements.
_HEADLINE_AND_DATED = etree.XPath(
    "(//h1)[1] | //body//@class["
    + " or ".join(f"contains(., '{word}')" for word in _DATED_WORDS)
    + "]/.. | //body//@id[contains(., 'date')]/.."
)
_SCRIPTS = etree.XPath(
    "//script[not(@src)][not(contains(@type, 'ld+json'))]/text()", smart_strings=False
)
_SCRIPT_DATE = re.compile(
    r"[\"']?(?:datePublished|published_?(?:date|at|on)|publicationDate|publishDate|pubDate"
    r"|firstPublished\w{0,10}|date_?published|publish_?date)[\"']?\s*[:=]\s*[\"']([^\"']{8,40})[\"']",
    re.IGNORECASE,
)
_MAX_SCRIPT = 500_000
_MAX_FURNITURE_TEXT = 300
_MAX_ELEMENTS = 400
_REGIONS = etree.XPath("(//article|//main|//*[@role='main'])[1]")
_BODY = etree.XPath("//body")
_MAX_TEXT = 20_000
# Words, in the page's text just before a date, that make it a modification date.
_UPDATED_CUE = re.compile(
    r"(?:updated?|modified|edited|aktualisiert|geändert|mis à jour|modifié|actualizado"
    r"|atualizado|aggiornato|обновлено|оновлено|bijgewerkt)\W{0,3}(?:\w+\W{1,3}){0,3}$",
    re.IGNORECASE,
)
_CUE_WINDOW = 40
_AMERICAN = ("en-us", "en")
_SAME_MOMENT = timedelta(seconds=60)
_DAY_MINUTES = 24 * 60
# Hawaii to Kiribati: the offsets where news is published (Niue and American Samoa aside).
_WEST_MOST, _EAST_MOST = -10 * 60, 14 * 60


@dataclass(frozen=True, slots=True)
class PageDates:
    """A page's publication and modification dates: aware as ``page_dates`` returns them; the
    readers inside this module leave a date without offset naive, as wall-clock time."""

    published: datetime | None = None
    updated: datetime | None = None


def page_dates(
    tree: HtmlElement,
    url: str | None,
    jsonld: dict[str, Any],
    meta: dict[str, list[str]],
    *,
    language: str | None = None,
    canonical: str | None = None,
) -> PageDates:
    """The dates of an article page, each aware and in the offset the page states.

    The most trusted source that has a date gives it. A publication time that structured data
    gives only in UTC is an instant, not what the page states: when the page's own meta tags,
    times or printed byline show that instant in a local offset, or print a local day one off
    from the UTC day, the instant is given in that offset (see ``_localised``). A printed
    "Updated ..." is read only on pages without a structured publication date: the others
    state their modification time in the same structured places, if anywhere.
    """
    stated = _structured(jsonld, meta)
    published = next(iter(stated), None)
    updated = _first(jsonld.get("dateModified"), *_meta_values(meta, _UPDATED_KEYS, False))
    seen = _Seen(tree, (url, canonical), _day_first(language))
    if published is None:
        return _settled(seen.published(), updated or seen.updated())
    if _is_utc(published):
        published = _localised(published, chain(stated[1:], seen.candidates()))
    return _settled(published, updated or seen.marked.updated)


class _Seen:
    """Dates found in the page's markup, bylines and URL, each source read only when asked:
    most pages are settled by their structured data and never need the costlier ones."""

    def __init__(self, tree: HtmlElement, urls: tuple[str | None, ...], dayfirst: bool) -> None:
        self.tree, self.urls, self.dayfirst = tree, urls, dayfirst

    @cached_property
    def marked(self) -> PageDates:
        return _marked_elements(self.tree)

    @cached_property
    def byline(self) -> PageDates:
        return _classify(_furniture_texts(self.tree), self.dayfirst)

    def filed(self) -> datetime | None:
        day = next((d for u in self.urls if (d := url_date(u)) is not None), None)
        return None if day is None else datetime(day.year, day.month, day.day)

    def published_candidates(self) -> Iterator[datetime]:
        """Publication dates, most trusted first: microdata and times, the URL (right to the day
        more often than a byline, which may be a masthead's or a teaser's), bylines."""
        sources: tuple[Callable[[], datetime | None], ...] = (
            lambda: self.marked.published,
            self.filed,
            lambda: self.byline.published,
        )
        for source in sources:
            if (found := source()) is not None:
                yield found

    def candidates(self) -> Iterator[datetime]:
        """The publication dates, then any modification date naming an offset: the page's zone."""
        yield from self.published_candidates()
        for updated in (self.marked.updated, self.byline.updated):
            if updated is not None and updated.utcoffset():
                yield updated

    def published(self) -> datetime | None:
        """The first candidate, else app-state script data, else the article text's first date."""
        found = next(self.published_candidates(), None) or _script_date(self.tree)
        return found or _classify([_article_text(self.tree)], self.dayfirst).published

    def updated(self) -> datetime | None:
        """A modification date from the markup, else one a printed "Updated" introduces."""
        return self.marked.updated or self.byline.updated


def _structured(jsonld: dict[str, Any], meta: dict[str, list[str]]) -> list[datetime]:
    """Every publication date the JSON-LD and meta tags give, most trusted first."""
    values = [jsonld.get("datePublished"), jsonld.get("dateCreated")]
    values += _meta_values(meta, _PUBLISHED_KEYS, True)
    return [d for d in map(_stamp, _flat(values)) if d is not None]


def _flat(values: Iterable[object]) -> Iterator[object]:
    for value in values:
        yield from value if isinstance(value, list) else [value]


def _stamp(value: object) -> datetime | None:
    return parse_date(value, naive_as=None) if isinstance(value, str) else None


def _first(*values: object) -> datetime | None:
    return next((d for d in map(_stamp, _flat(values)) if d is not None), None)


def _is_utc(when: datetime) -> bool:
    return when.tzinfo is not None and when.utcoffset() == timedelta(0)


def _day_first(language: str | None) -> bool:
    return (language or "").lower() not in _AMERICAN


def _localised(instant: datetime, others: Iterable[datetime]) -> datetime:
    """A UTC ``instant`` in the offset the page shows it in, judged by the first other date
    that says anything about it: a date with an offset of its own (the page's zone), the same
    time read on a wall clock some whole quarter-hours away, or a day printed one off the UTC
    day (then the smallest whole-hour offset that puts the instant on that day)."""
    for other in others:
        if other.tzinfo is not None:
            if not other.utcoffset():
                continue
            return (
                other if abs(other - instant) <= _SAME_MOMENT else instant.astimezone(other.tzinfo)
            )
        dated_only = other.time() == time()
        offset = _day_offset(instant, other) if dated_only else _wall_offset(instant, other)
        if offset is not None:
            return instant.astimezone(offset)
    return instant


def _wall_offset(instant: datetime, wall: datetime) -> tzinfo | None:
    """The offset at which ``instant`` reads as ``wall``, when that is a real-world offset."""
    gap = (wall.replace(tzinfo=UTC) - instant).total_seconds()
    minutes = round(gap / 60)
    if abs(gap - 60 * minutes) >= _SAME_MOMENT.total_seconds() or minutes % 15:
        return None
    return _offset(minutes)


def _day_offset(instant: datetime, day: datetime) -> tzinfo | None:
    """The smallest whole-hour offset that puts ``instant`` on the printed ``day``."""
    shift = (day.date() - instant.date()).days
    since_midnight = instant.hour * 60 + instant.minute + 1
    if shift == 0:
        return UTC
    if shift == -1:
        return _offset(-60 * -(-since_midnight // 60))
    if shift == 1:
        return _offset(60 * -(-(_DAY_MINUTES - since_midnight + 1) // 60))
    return None


def _offset(minutes: int) -> tzinfo | None:
    if not _WEST_MOST <= minutes <= _EAST_MOST:
        return None
    return UTC if minutes == 0 else timezone(timedelta(minutes=minutes))


def _settled(published: datetime | None, updated: datetime | None) -> PageDates:
    """Naive times as UTC wall time; a UTC update shown in the publication's offset; an update
    before the publication dropped as a template error."""
    if published is not None and published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    if updated is not None and updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)
    if published is not None and updated is not None:
        if updated < published:
            return PageDates(published, None)
        if _is_utc(updated):
            updated = updated.astimezone(published.tzinfo)
    return PageDates(published, updated)


def _meta_values(
    meta: dict[str, list[str]], known: tuple[str, ...], published: bool
) -> Iterator[list[str]]:
    """The values under the known keys in order, then under any other key whose words fit."""
    yield from (meta[key] for key in known if key in meta)
    for key, values in meta.items():
        if key in known or _NOT_A_PAGE_DATE.search(key):
            continue
        is_update = bool(_UPDATED_KEY.search(key))
        if is_update != published and (is_update or _PUBLISHED_KEY.search(key)):
            yield values


def _marked_elements(tree: HtmlElement) -> PageDates:
    """Dates from microdata (``itemprop=datePublished``) and ``<time>`` elements, preferring
    those inside ``<article>``; a time marked as a modification only ever fills ``updated``."""
    published: datetime | None = None
    updated: datetime | None = None
    for el in (*_MICRODATA(tree), *(_ARTICLE_TIMES(tree) or _TIMES(tree))):
        when = _element_date(el)
        if when is None:
            continue
        if _marked_modified(el):
            updated = updated or when
        elif published is None:
            published = when
    return PageDates(published, updated)


def _element_date(el: HtmlElement) -> datetime | None:
    for attr in ("datetime", "content"):
        when = _stamp(el.get(attr))
        if when is not None:
            return when
    text = element_text(el, max_nodes=50)
    return next((d for _, d in text_dates(text[:_MAX_FURNITURE_TEXT])), None)


def _marked_modified(el: HtmlElement) -> bool:
    parent = el.getparent()
    marks = " ".join(el.get(a) or "" for a in ("class", "itemprop", "id")).lower()
    marks += " " + ("" if parent is None else parent.get("class") or "").lower()
    return any(word in marks for word in _MODIFIED_MARKS)


def _script_date(tree: HtmlElement) -> datetime | None:
    """A publication date under a well-known key in the page's own script data (app state that
    is not JSON-LD)."""
    for script in _SCRIPTS(tree):
        for match in _SCRIPT_DATE.finditer(script[:_MAX_SCRIPT]):
            when = _stamp(match.group(1))
            if when is not None:
                return when
    return None


def _furniture_texts(tree: HtmlElement) -> Iterator[str]:
    """Texts of the date and byline elements, those after the headline first: bylines sit under
    the headline or beside it, and a date above it is often the masthead's today."""
    for count, el in enumerate(_headline_first(_HEADLINE_AND_DATED(tree))):
        if count >= _MAX_ELEMENTS:
            return
        if _in_furniture(el):
            continue
        text = element_text(el, max_nodes=200)
        if 0 < len(text) <= _MAX_FURNITURE_TEXT:
            yield text


def _headline_first(found: object) -> list[HtmlElement]:
    elements = (
        [el for el in found if isinstance(el, HtmlElement)] if isinstance(found, list) else []
    )
    split = next((i for i, el in enumerate(elements) if el.tag == "h1"), None)
    if split is None:
        return elements
    return elements[split + 1 :] + elements[:split]


def _in_furniture(el: HtmlElement) -> bool:
    for node in (el, *el.iterancestors()):
        marks = f"{node.get('class') or ''} {node.get('id') or ''}"
        if node.tag in ("footer", "aside", "nav") or FURNITURE_MARKS.search(marks):
            return True
    return False


def _article_text(tree: HtmlElement) -> str:
    regions = _REGIONS(tree) or _BODY(tree)
    if not regions:
        return ""
    return element_text(regions[0], max_nodes=20_000)[:_MAX_TEXT]


def _classify(texts: Iterable[str], dayfirst: bool) -> PageDates:
    """The first plausible date in ``texts`` as published and the first one a cue such as
    "Updated" introduces as updated."""
    published: datetime | None = None
    updated: datetime | None = None
    latest = datetime.now(UTC) + timedelta(days=2)
    for text in texts:
        for start, when in text_dates(text, dayfirst=dayfirst):
            if when.replace(tzinfo=when.tzinfo or UTC) > latest:
                continue
            if _UPDATED_CUE.search(text[max(0, start - _CUE_WINDOW) : start]):
                updated = updated or when
            elif published is None:
                published = when
        if published is not None:
            break
    return PageDates(published, updated)
