"""Repeated, timed post elements in a live page's markup, for pages without JSON-LD updates."""

from __future__ import annotations

import re
from datetime import datetime
from typing import NamedTuple

from lxml import etree
from lxml.html import HtmlElement

from parsers._common import element_text, word_set
from parsers.dates import parse_date

# Where a post keeps its time: a datetime attribute, a data-* stamp, microdata, then <time> text.
_TIME_VALUES = etree.XPath(
    "descendant-or-self::*/@datetime | descendant-or-self::*/@data-timestamp"
    " | descendant-or-self::*/@data-time | descendant-or-self::*/@data-published"
    " | descendant-or-self::*/@data-date"
    " | .//meta[@itemprop='datePublished' or @itemprop='dateCreated']/@content"
    " | .//time/text()",
    smart_strings=False,
)
_HAS_TIME = etree.XPath(
    "boolean(descendant-or-self::*[@datetime or @data-timestamp or @data-time"
    " or @data-published] | .//time | .//meta[@itemprop='datePublished'])"
)
_PARAGRAPHS = etree.XPath(".//p | .//li[not(.//p)] | .//blockquote[not(.//p)]")
_ANCHOR_NAME = etree.XPath(".//a/@name", smart_strings=False)
_FURNITURE_TAGS = word_set("nav aside footer")
# Containers whose repeated, timed children are comments or widgets, never the page's posts.
_FURNITURE_WORDS = word_set(
    "comment comments commentlist respond disqus sidebar related recommended popular trending "
    "footer nav"
)
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_NOT_BODY = word_set("figure figcaption nav aside footer button form time noscript")

_POST_WORDS = word_set("post posts entry entries update updates liveblog liveupdate timeline")
_POST_ID_WORDS = _POST_WORDS | {"block"}
_NAME_SPLIT = re.compile(r"[-_\s]+|(?<=[a-z])(?=[A-Z])")
_ID_NOISE = re.compile(r"[0-9a-f]{6,}|\d+", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_EPOCH_MS = re.compile(r"^\d{12,13}$")
# Related-story teasers repeat like posts and carry times too, but their text is mostly links.
_MAX_LINK_SHARE = 0.5
_MIN_POST_CHARS = 40  # below this a "post" is a date line or a byline
_MAX_GROUPS = 20  # candidate post kinds examined, largest first
_TEXT_NODES = 20_000  # tree events read when sizing up one candidate post
PostGroup = tuple[str, str]


class Post(NamedTuple):
    anchor: str | None  # the element's id or anchor name, when it has one
    title: str
    paragraphs: list[str]  # raw text; the caller cleans it
    published: datetime | None


def find_posts(root: HtmlElement) -> list[Post]:
    """The page's posts in page order: the largest group of same-kind elements (by tag and
    post-like class or id, or ``<article>``) that each carry a time and text of their own,
    outside comments, navigation and related-story widgets."""
    return [
        Post(_anchor(el), _heading(el), _element_paragraphs(el), _post_time(el))
        for el in _post_elements(root)
    ]


def _post_elements(root: HtmlElement) -> list[HtmlElement]:
    """The largest group of same-kind, timed, repeated elements that look like posts."""
    groups: dict[PostGroup, list[HtmlElement]] = {}
    for el in root.iter():
        key = _post_key(el)
        if key is not None:
            groups.setdefault(key, []).append(el)
    best: list[HtmlElement] = []
    best_rank = (1, 0)
    largest = sorted(groups.values(), key=len, reverse=True)[:_MAX_GROUPS]
    for members in largest:
        leaves = [el for el in _innermost(members) if not _in_furniture(el)]
        timed = [el for el in leaves if _HAS_TIME(el) and not _is_teaser(el)]
        if len(timed) < 2 or 2 * len(timed) < len(leaves):
            continue
        depth = min(sum(1 for _ in el.iterancestors()) for el in timed)
        rank = (len(timed), -depth)
        if rank > best_rank:
            best, best_rank = timed, rank
    return best


def _post_key(el: HtmlElement) -> PostGroup | None:
    tag = el.tag if isinstance(el.tag, str) else ""
    if not tag or tag in ("html", "body", "head"):
        return None
    for name in (el.get("class") or "").split():
        if not _POST_WORDS.isdisjoint(w.lower() for w in _NAME_SPLIT.split(name)):
            return tag, name
    ident = el.get("id") or ""
    if ident and not _POST_ID_WORDS.isdisjoint(w.lower() for w in _NAME_SPLIT.split(ident)):
        return tag, "#" + _ID_NOISE.sub("", ident)
    return (tag, "") if tag == "article" else None


def _is_teaser(el: HtmlElement) -> bool:
    text = len(element_text(el, _TEXT_NODES))
    linked = sum(len(element_text(a, _TEXT_NODES)) for a in el.iter("a"))
    return text < _MIN_POST_CHARS or linked > _MAX_LINK_SHARE * text


def _in_furniture(el: HtmlElement) -> bool:
    for ancestor in el.iterancestors():
        if ancestor.tag in _FURNITURE_TAGS:
            return True
        names = f"{ancestor.get('class') or ''} {ancestor.get('id') or ''}".lower()
        if names.strip() and not _FURNITURE_WORDS.isdisjoint(_NAME_SPLIT.split(names)):
            return True
    return False


def _innermost(members: list[HtmlElement]) -> list[HtmlElement]:
    """Members that contain no other member: a wrapper sharing the posts' markup is not a post."""
    ids = {id(m) for m in members}
    parents: set[int] = set()
    for member in members:
        # The nearest member above is enough: it marks the next one up on its own turn,
        # so a chain of nested members costs one step each, not its whole depth.
        for ancestor in member.iterancestors():
            if id(ancestor) in ids:
                parents.add(id(ancestor))
                break
    return [m for m in members if id(m) not in parents]


def _anchor(el: HtmlElement) -> str | None:
    for name in ("id", "data-post-id", "data-entry-id", "data-id"):
        value = (el.get(name) or "").strip()
        if value:
            return value
    for value in _ANCHOR_NAME(el):
        if value.strip():
            return str(value.strip())
    return None


def _heading(el: HtmlElement) -> str:
    for heading in el.iter(*_HEADINGS):
        text = element_text(heading)
        if text:
            return text
    return ""


def _element_paragraphs(el: HtmlElement) -> list[str]:
    found = [p for p in _PARAGRAPHS(el) if not _inside_furniture(p, el)]
    if found:
        return [element_text(p) for p in found]
    text = element_text(el)
    title = _heading(el)
    return [text[len(title) :] if title and text.startswith(title) else text]


def _inside_furniture(node: HtmlElement, stop: HtmlElement) -> bool:
    for ancestor in node.iterancestors():
        if ancestor is stop:
            return False
        if ancestor.tag in _NOT_BODY:
            return True
    return False


def _post_time(el: HtmlElement) -> datetime | None:
    for raw in _TIME_VALUES(el):
        value = raw.strip()
        if _EPOCH_MS.match(value):
            value = str(int(value) / 1000)
        elif not value.isdigit() and not _YEAR.search(value):
            continue  # "14:05" or "2 hours ago" has no date; guessing one would be wrong
        stamp = parse_date(value)
        if stamp is not None:
            return stamp
    return None
