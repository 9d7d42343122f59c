"""Live pages (live blogs, running stories) to a LivePage of timestamped entries."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from lxml import etree
from lxml.html import HtmlElement

from newswatch.errors import ParseError
from newswatch.models import LivePage, PageEntry
from parsers._common import (
    canonical_url,
    element_text,
    html_text,
    html_to_text,
    html_tree,
    jsonld_documents,
    language_tag,
    looks_binary,
    truncate,
    word_set,
)
from parsers.dates import parse_date
from parsers.live_posts import find_posts
from parsers.text import clean_paragraphs, paragraph_key

PARAGRAPH_LIMIT = 20_000
TITLE_LIMIT = 500
_MAX_JSONLD_CHARS = 2_000_000
_MAX_JSON_NODES = 20_000
_MAX_JSON_DEPTH = 12

_META = etree.XPath("//meta[@content and (@property or @name or @itemprop or @http-equiv)]")
_TITLE = etree.XPath("//title", smart_strings=False)
_H1 = etree.XPath("//h1")
_BODY_SPLIT = re.compile(r"\s*\n\s*|</p\s*>|<br\s*/?>", re.IGNORECASE)
# Badges live blogs print on a post; they are not what the post says.
_LABELS = word_set("pinned breaking summary update updated live important featured highlight")
_LABELS |= {"key event", "key events", "breaking news", "just in"}
_UPDATED_KEYS = ("article:modified_time", "og:updated_time", "datemodified", "last-modified")
_LANGUAGE_KEYS = ("content-language", "dc.language", "language", "og:locale")


def parse_page(html: str | bytes, url: str) -> LivePage:
    """Entries of a live page: JSON-LD LiveBlogPosting updates, else the page's repeated timed
    posts in page order, else one entry holding the article body; plus title, canonical URL,
    language and the latest update time. ParseError only when there is no HTML at all.
    """
    text = html_text(html)
    if looks_binary(text):
        raise ParseError(f"{url}: binary data, not an HTML page")
    root = html_tree(text)
    if root is None:
        raise ParseError(f"{url}: empty or unparsable HTML page")
    meta = _meta(root)
    blog = _live_blog(root)
    entries = _jsonld_entries(blog, url) if blog else []
    if not any(e.paragraphs for e in entries):
        posts = [_entry(p.anchor, p.title, p.paragraphs, p.published) for p in find_posts(root)]
        entries = posts or entries
    page = LivePage(
        title=_title(root, meta, blog),
        canonical_url=canonical_url(root, url, meta.get("og:url")),
        language=_language(root, meta, blog),
    )
    if not entries:
        entries = _article_entries(text, url, page)
    page.entries = _unique(entries)
    stamps = [e.published for e in page.entries if e.published]
    stamps += [d for d in (_json_date(blog, "dateModified"), _meta_date(meta)) if d]
    page.updated = max(stamps, default=None)
    return page


def _unique(entries: list[PageEntry]) -> list[PageEntry]:
    """Entries with distinct ids: a reused anchor (the page URL on every update) gives way to
    the text hash, and an entry whose text also repeats is dropped."""
    seen: set[str] = set()
    kept: list[PageEntry] = []
    for entry in entries:
        if not entry.title and not entry.paragraphs:
            continue
        if entry.id in seen:
            entry = replace(entry, id=_text_id(entry.title, entry.paragraphs))
        if entry.id not in seen:
            seen.add(entry.id)
            kept.append(entry)
    return kept


def _entry(
    anchor: str | None, title: str, paragraphs: list[str], published: datetime | None
) -> PageEntry:
    kept = [p for p in clean_paragraphs(paragraphs) if p.casefold() not in _LABELS]
    cleaned = tuple(truncate(p, PARAGRAPH_LIMIT) for p in kept)
    return PageEntry(
        id=anchor or _text_id(title, cleaned),
        title=truncate(title, TITLE_LIMIT),
        paragraphs=cleaned,
        published=published,
    )


def _text_id(title: str, paragraphs: tuple[str, ...]) -> str:
    """A short hash of the entry's text in comparison form, so spacing or quote style changes
    do not make an old entry look new."""
    key = "\n".join(paragraph_key(p) for p in (title, *paragraphs))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


# --- JSON-LD -------------------------------------------------------------------------------


def _live_blog(root: HtmlElement) -> dict[str, Any] | None:
    for data in jsonld_documents(root, _MAX_JSONLD_CHARS):
        for node in _json_nodes(data):
            if _has_type(node, "liveblogposting"):
                return node
    return None


def _json_nodes(data: Any) -> Iterator[dict[str, Any]]:
    """Every object in a JSON-LD document, breadth first, bounded in depth and count."""
    queue: list[tuple[Any, int]] = [(data, 0)]
    for count, (value, depth) in enumerate(queue):
        if count >= _MAX_JSON_NODES:
            return
        if isinstance(value, dict):
            yield value
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth < _MAX_JSON_DEPTH:
            queue.extend((c, depth + 1) for c in children if isinstance(c, dict | list))


def _has_type(node: dict[str, Any], wanted: str) -> bool:
    types = node.get("@type")
    for name in types if isinstance(types, list) else [types]:
        if isinstance(name, str) and name.rsplit("/", 1)[-1].lower() == wanted:
            return True
    return False


def _jsonld_entries(blog: dict[str, Any], url: str) -> list[PageEntry]:
    updates = blog.get("liveBlogUpdate")
    if isinstance(updates, dict):
        updates = [updates]
    if not isinstance(updates, list):
        return []
    entries = []
    for update in updates:
        if not isinstance(update, dict):
            continue
        anchor = next((v for v in (update.get("@id"), update.get("url")) if _is_str(v)), None)
        published = _json_date(update, "datePublished") or _json_date(update, "dateModified")
        entries.append(
            _entry(
                anchor.strip() if anchor else None,
                html_to_text(_json_str(update, "headline"), TITLE_LIMIT),
                _body_paragraphs(update.get("articleBody")),
                published,
            )
        )
    return entries


def _body_paragraphs(body: Any) -> list[str]:
    if isinstance(body, list):
        body = "\n\n".join(b for b in body if isinstance(b, str))
    if not isinstance(body, str):
        return []
    return [html_to_text(piece, PARAGRAPH_LIMIT) for piece in _BODY_SPLIT.split(body)]


def _is_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _json_str(node: dict[str, Any], key: str) -> str:
    value = node.get(key)
    return value if isinstance(value, str) else ""


def _json_date(node: dict[str, Any] | None, key: str) -> datetime | None:
    return parse_date(_json_str(node, key) or None) if node else None


# --- whole-article fallback and page metadata ----------------------------------------------


def _article_entries(text: str, url: str, page: LivePage) -> list[PageEntry]:
    # Imported here: article extraction pulls in trafilatura, needed only on this path.
    from parsers.articles import parse_article

    article = parse_article(text, url)
    page.title = page.title or article.title
    page.canonical_url = page.canonical_url or article.canonical_url
    page.language = page.language or article.language
    if not article.paragraphs:
        return []
    return [_entry(None, "", article.paragraphs, article.updated or article.published)]


def _meta(root: HtmlElement) -> dict[str, str]:
    found: dict[str, str] = {}
    for el in _META(root):
        key = el.get("property") or el.get("name") or el.get("itemprop") or el.get("http-equiv")
        if key:
            found.setdefault(key.strip().lower(), el.get("content", ""))
    return found


def _meta_date(meta: dict[str, str]) -> datetime | None:
    return next((d for k in _UPDATED_KEYS if (d := parse_date(meta.get(k)))), None)


def _title(root: HtmlElement, meta: dict[str, str], blog: dict[str, Any] | None) -> str:
    candidates = [_json_str(blog, "headline") if blog else "", meta.get("og:title", "")]
    candidates += [element_text(h) for h in _H1(root)[:1]]
    candidates += [element_text(t) for t in _TITLE(root)[:1]]
    for candidate in candidates:
        title = html_to_text(candidate, TITLE_LIMIT)
        if title:
            return title
    return ""


def _language(root: HtmlElement, meta: dict[str, str], blog: dict[str, Any] | None) -> str | None:
    values = [root.get("lang"), root.get("{http://www.w3.org/XML/1998/namespace}lang")]
    values += [meta.get(k) for k in _LANGUAGE_KEYS]
    values.append(_json_str(blog, "inLanguage") if blog else None)
    return next((tag for value in values if (tag := language_tag(value or ""))), None)
