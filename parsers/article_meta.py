"""Article metadata from JSON-LD, meta tags and ``<time>``: title, dates, authors, language, URL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree
from lxml.html import HtmlElement

from parsers._common import canonical_url, jsonld_documents, language_tag
from parsers.article_body import short_text
from parsers.article_dates import page_dates
from parsers.text import normalise_space

_MAX_JSONLD_CHARS = 1_000_000
_ARTICLE_TYPES = frozenset(
    ("article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "blogposting")
    + ("opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle", "liveblogposting")
    + ("socialmediaposting", "scholarlyarticle", "techarticle", "report")
)
_BYLINE_PREFIX = re.compile(r"^(?:by|von|par|por|di|door|от|від)\s+", re.I)
_TITLE_SPLIT = re.compile(r"\s+[|–—:·•»-]\s+")

_META = etree.XPath("//meta[@content]")
_H1 = etree.XPath("//h1")
_TITLE = etree.XPath("//title/text()", smart_strings=False)

_TITLE_KEYS = (
    "og:title",
    "twitter:title",
    "parsely-title",
    "sailthru.title",
    "dc.title",
    "headline",
)
_AUTHOR_KEYS = (
    "author", "article:author", "parsely-author", "sailthru.author", "dc.creator",
    "dcterms.creator", "byl",
)  # fmt: skip
_DESCRIPTION_KEYS = ("og:description", "description", "twitter:description")
_LANGUAGE_KEYS = ("content-language", "dc.language", "dcterms.language", "language", "og:locale")


@dataclass(frozen=True, slots=True)
class PageMeta:
    """What a page says about its article, before the body is extracted."""

    title: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    authors: list[str] = field(default_factory=list)
    language: str | None = None
    canonical_url: str | None = None
    description: str = ""
    jsonld_body: str = ""


def read_metadata(tree: HtmlElement, url: str | None) -> PageMeta:
    """JSON-LD first, then meta tags (Open Graph, parsely, sailthru, Dublin Core), then markup.

    ``updated`` stays None unless the page gives a modification time of its own, and is
    dropped when it is earlier than ``published``.
    """
    meta = _meta_tags(tree)
    ld = _jsonld_article(tree)
    language = _language(tree, ld, meta)
    canonical = _canonical(tree, meta, ld, url)
    dates = page_dates(tree, url, ld, meta, language=language, canonical=canonical)
    description, body = ld.get("description"), ld.get("articleBody")
    if not isinstance(description, str):
        description = next((meta[k][0] for k in _DESCRIPTION_KEYS if k in meta), "")
    return PageMeta(
        title=_title(tree, meta, ld),
        published=dates.published,
        updated=dates.updated,
        authors=_authors(ld, meta),
        language=language,
        canonical_url=canonical,
        description=description,
        jsonld_body=body if isinstance(body, str) else "",
    )


def _meta_tags(tree: HtmlElement) -> dict[str, list[str]]:
    """Every ``<meta>`` value by its lowercased property/name/itemprop/http-equiv, in page order."""
    found: dict[str, list[str]] = {}
    for el in _META(tree):
        content = normalise_space(el.get("content") or "")
        if not content:
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = el.get(attr)
            if key:
                found.setdefault(key.strip().lower(), []).append(content)
    return found


def _jsonld_article(tree: HtmlElement) -> dict[str, Any]:
    """The page's article-typed JSON-LD object, with its graph's ``@id`` references resolved.

    A WebPage node (Yoast-style graphs put one first) is used only when no article is there,
    and any other dated node (a HowTo, a Review) only when neither is.
    """
    fallback: dict[str, Any] = {}
    dated: dict[str, Any] = {}
    for data in jsonld_documents(tree, _MAX_JSONLD_CHARS):
        nodes = list(_walk(data))
        by_id = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}
        for node in nodes:
            kind = _schema_type(node)
            if kind in _ARTICLE_TYPES:
                return {**node, "_ids": by_id}
            if kind == "webpage" and not fallback:
                fallback = {**node, "_ids": by_id}
            elif not dated and "datePublished" in node:
                dated = {**node, "_ids": by_id}
    return fallback or dated


def _walk(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Objects of a JSON-LD document: top level, lists, ``@graph`` and ``mainEntity``.

    Item lists are not entered: on a section page they hold other pages' articles.
    """
    if depth > 8:
        return
    if isinstance(data, list):
        for item in data:
            yield from _walk(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity"):
            if key in data:
                yield from _walk(data[key], depth + 1)


def _schema_type(node: dict[str, Any]) -> str | None:
    """The first schema.org type of a node, bare and lowercased ("schema:NewsArticle" -> ...)."""
    types = node.get("@type")
    for name in types if isinstance(types, list) else [types]:
        if isinstance(name, str):
            bare = name.rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower()
            if bare in _ARTICLE_TYPES or bare == "webpage":
                return bare
    return None


def _title(tree: HtmlElement, meta: dict[str, list[str]], ld: dict[str, Any]) -> str:
    for value in (ld.get("headline"), *(meta.get(k, [None])[0] for k in _TITLE_KEYS)):
        if isinstance(value, str) and normalise_space(value):
            return _strip_site_name(normalise_space(value), meta)
    for h1 in _H1(tree):
        text = normalise_space(short_text(h1, 1000) or "")
        if 10 <= len(text) <= 300:
            return text
    titles = _TITLE(tree)
    if not titles:
        return ""
    parts = _TITLE_SPLIT.split(normalise_space(titles[0]))
    return max(parts, key=len)


def _strip_site_name(title: str, meta: dict[str, list[str]]) -> str:
    site = (meta.get("og:site_name") or [""])[0].lower()
    parts = _TITLE_SPLIT.split(title)
    if site and len(parts) > 1:
        kept = [p for p in parts if p.lower() != site]
        if kept:
            return " - ".join(kept) if len(kept) > 1 else kept[0]
    return title


def _authors(ld: dict[str, Any], meta: dict[str, list[str]]) -> list[str]:
    names = list(_person_names(ld.get("author"), ld.get("_ids", {})))
    if not names:
        names = [v for k in _AUTHOR_KEYS for v in meta.get(k, [])]
    seen: dict[str, str] = {}
    for name in names:
        clean = _BYLINE_PREFIX.sub("", normalise_space(name))
        if clean and len(clean) <= 100 and "://" not in clean and not clean.startswith("@"):
            seen.setdefault(clean.casefold(), clean)
    return list(seen.values())


def _person_names(value: Any, by_id: dict[str, Any], depth: int = 0) -> Iterator[str]:
    if depth > 3:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _person_names(item, by_id, depth + 1)
    elif isinstance(value, dict):
        name = value.get("name")
        if name is None and isinstance(value.get("@id"), str):
            name = (by_id.get(value["@id"]) or {}).get("name")
        if isinstance(name, str | list):
            yield from _person_names(name, by_id, depth + 1)


def _language(tree: HtmlElement, ld: dict[str, Any], meta: dict[str, list[str]]) -> str | None:
    lang = ld.get("inLanguage")
    if isinstance(lang, dict):
        lang = lang.get("alternateName") or lang.get("name")
    candidates = [lang, tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang")]
    candidates += [v for k in _LANGUAGE_KEYS for v in meta.get(k, [])]
    for value in candidates:
        tag = language_tag(value) if isinstance(value, str) else None
        if tag:
            return tag
    return None


def _canonical(
    tree: HtmlElement, meta: dict[str, list[str]], ld: dict[str, Any], url: str | None
) -> str | None:
    entity = ld.get("mainEntityOfPage")
    if isinstance(entity, dict):
        entity = entity.get("@id") or entity.get("url")
    found = canonical_url(tree, url or "", *meta.get("og:url", []), entity, ld.get("url"))
    return found or url
