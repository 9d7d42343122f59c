"""When an article page says it was published and last updated, read where a reader sees it.

Sources, most trusted first: the article's structured data (JSON-LD), meta tags, microdata and
``<time>`` elements, dates printed in the page's date/byline furniture, dates in the article's
text, and last the date the URL is filed under. A date is ``updated`` only when the page marks
it as a modification (a key, a class, or words such as "Updated" before it); it never fills
``published``, and an update before the publication is dropped as a template error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml import etree
from lxml.html import HtmlElement

from parsers._common import element_text
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
# Elements a site prints its dates in: found by the words in their class or id.
_DATED_ELEMENTS = etree.XPath(
    "//body//*[re:test(concat(@class, ' ', @id), "
    r"'date|time|datum|fecha|publi|posted|byline|meta|stamp|dateline|author|info', 'i')]",
    namespaces={"re": "http://exslt.org/regular-expressions"},
)
_FURNITURE = re.compile(r"comment|related|sidebar|widget|footer|teaser|promo|recommend", re.I)
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


@dataclass(frozen=True, slots=True)
class PageDates:
    """A page's publication and modification dates, each in the offset the page states."""

    published: datetime | None = None
    updated: datetime | None = None


def page_dates(
    tree: HtmlElement,
    url: str | None,
    jsonld: dict[str, Any],
    meta: dict[str, list[str]],
    language: str | None = None,
) -> PageDates:
    """The dates of an article page, from the most trusted source that has them."""
    published = _first(jsonld.get("datePublished"), jsonld.get("dateCreated"))
    updated = _first(jsonld.get("dateModified"))
    published = published or _first(*_meta_values(meta, _PUBLISHED_KEYS, published=True))
    updated = updated or _first(*_meta_values(meta, _UPDATED_KEYS, published=False))
    if published is None or updated is None:
        found = _marked_elements(tree)
        published, updated = published or found.published, updated or found.updated
    if published is None:
        found = _printed_dates(tree, dayfirst=(language or "").lower() not in _AMERICAN)
        published, updated = found.published, updated or found.updated
    if published is None and (filed := url_date(url)) is not None:
        published = datetime(filed.year, filed.month, filed.day, tzinfo=UTC)
    if published and updated and updated < published:
        updated = None
    return PageDates(published, updated)


def _first(*values: object) -> datetime | None:
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            parsed = parse_date(item) if isinstance(item, str) else None
            if parsed is not None:
                return parsed
    return None


def _meta_values(
    meta: dict[str, list[str]], known: tuple[str, ...], *, published: bool
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
        when = parse_date(el.get(attr))
        if when is not None:
            return when
    text = element_text(el, max_nodes=50)
    return next((d for _, d in text_dates(text[:_MAX_FURNITURE_TEXT])), None)


def _marked_modified(el: HtmlElement) -> bool:
    parent = el.getparent()
    marks = " ".join(el.get(a) or "" for a in ("class", "itemprop", "id")).lower()
    marks += " " + ("" if parent is None else parent.get("class") or "").lower()
    return any(word in marks for word in _MODIFIED_MARKS)


def _printed_dates(tree: HtmlElement, *, dayfirst: bool) -> PageDates:
    """Dates printed for readers: first in the page's date and byline furniture, then in the
    text of the article itself, skipping comments, related links and footers."""
    found = _classify(_furniture_texts(tree), dayfirst)
    if found.published is None:
        text = _article_text(tree)
        published = _classify([text], dayfirst).published
        found = PageDates(published, found.updated)
    return found


def _furniture_texts(tree: HtmlElement) -> Iterator[str]:
    for count, el in enumerate(_DATED_ELEMENTS(tree)):
        if count >= _MAX_ELEMENTS:
            return
        if _in_furniture(el):
            continue
        text = element_text(el, max_nodes=200)
        if 0 < len(text) <= _MAX_FURNITURE_TEXT:
            yield text


def _in_furniture(el: HtmlElement) -> bool:
    for node in (el, *el.iterancestors()):
        marks = f"{node.get('class') or ''} {node.get('id') or ''}"
        if node.tag in ("footer", "aside", "nav") or _FURNITURE.search(marks):
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
            if when > latest:
                continue
            if _UPDATED_CUE.search(text[max(0, start - _CUE_WINDOW) : start]):
                updated = updated or when
            elif published is None:
                published = when
        if published is not None:
            break
    return PageDates(published, updated)
