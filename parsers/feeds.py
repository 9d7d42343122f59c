"""RSS 0.9x/2.0, RSS 1.0 (RDF), Atom 1.0/0.3 and JSON Feed documents to FeedEntry records."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping
from copy import deepcopy
from dataclasses import replace
from datetime import datetime
from functools import lru_cache

from lxml import etree

from newswatch.errors import ParseError
from newswatch.models import Feed, FeedEntry
from parsers._common import (
    collapse_ws,
    element_text,
    html_to_text,
    http_url,
    local_name,
    node_text,
    truncate,
    without_tracking,
    xml_base,
)
from parsers.dates import parse_date
from parsers.xmlsafe import NotStreamable, XmlDocument, read_xml, release, stream_xml

TITLE_LIMIT = 500
SUMMARY_LIMIT = 4000
_LEADING = b"\xef\xbb\xbf \t\r\n"
_RSS_CORE = (
    "",
    "http://purl.org/rss/1.0",
    "http://my.netscape.com/rdf/simple/0.9",
    "http://backend.userland.com/rss2",
    "http://backend.userland.com/rss",
)
_ATOM_CORE = ("", "http://www.w3.org/2005/atom", "http://purl.org/atom/ns")
# Extension namespaces by the prefix feeds conventionally give them (compared lower-cased,
# trailing "/" or "#" dropped, because feeds in the wild vary both).
_EXTENSIONS = {
    "http://purl.org/dc/elements/1.1": "dc",
    "http://purl.org/dc/terms": "dcterms",
    "http://purl.org/rss/1.0/modules/content": "content",
    "http://www.w3.org/2005/atom": "atom",
    "http://search.yahoo.com/mrss": "media",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns": "rdf",
}
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"
_ALTERNATE = ("alternate", "http://www.iana.org/assignments/relation/alternate")
_HTML_TYPES = ("", "text/html", "application/xhtml+xml", "html")

Children = Mapping[str, list[etree._Element]]


def parse_feed(data: bytes, url: str) -> list[FeedEntry]:
    """Entries of a feed in document order, deduplicated by link (tracking parameters such as
    utm_* dropped); ParseError if not a feed. A damaged feed gives the entries read before
    the damage: read_feed says what the damage was."""
    return _read(data, url)[0]


def read_feed(data: bytes, url: str, *, summaries: bool = True) -> Feed:
    """parse_feed's entries, and the damage the feed was read through.

    A feed that is not well-formed XML is read by a recovering parser: every entry it
    finished before the damage is kept, one cut off by the end of the document is dropped.
    ParseError if that leaves no entry, or if the document is not a feed. With
    ``summaries=False`` every summary is left empty, for a reader that never shows them: in a
    feed of 100,000 items they are a fifth of the memory and a tenth of the time.
    """
    entries, problems = _read(data, url, summaries)
    return Feed(tuple(entries), problems)


def _read(data: bytes, url: str, summaries: bool = True) -> tuple[list[FeedEntry], tuple[str, ...]]:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ParseError(f"{url}: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if data[:1024].lstrip(_LEADING).startswith((b"{", b"[")):
        return _dedupe(_json_feed(data, url, summaries)), ()
    streamed = _streamed_feed(data, url, summaries)
    if streamed is not None:
        return streamed, ()
    return _xml_feed(read_xml(data, url), url, summaries)


def _streamed_feed(data: bytes, url: str, summaries: bool = True) -> list[FeedEntry] | None:
    """What `_xml_feed` reads from a well-formed feed, each entry read and freed as the parser
    passes its end, so a huge feed never stands in memory as a whole tree. None when the
    document needs read_xml (damaged or repairable) or is not a feed (read_xml says so)."""
    root: etree._Element | None = None
    holders: set[etree._Element] = set()  # the root, and the <channel>s in it
    entries: list[FeedEntry | None] = []
    try:
        for el in stream_xml(data, url):
            if root is None:
                root = el.getroottree().getroot()
                reader = _XML_READERS.get(local_name(root))
                if reader is None:
                    return None
                holders.add(root)
                name, read = reader
            parent = el.getparent()
            if parent is not None and _holds(parent, root, holders) and local_name(el) == name:
                entries.append(read(el, url, summaries))
                release(el)
    except NotStreamable:
        return None
    return _dedupe(entries)


def _holds(parent: etree._Element, root: etree._Element, holders: set[etree._Element]) -> bool:
    """Whether children of `parent` are entries: it is the root or a <channel> in the root
    (as `_entry_elements` has it)."""
    if parent in holders:
        return True
    if parent.getparent() is root and local_name(parent) == "channel":
        holders.add(parent)
        return True
    return False


def _xml_feed(
    doc: XmlDocument, url: str, summaries: bool = True
) -> tuple[list[FeedEntry], tuple[str, ...]]:
    kind = local_name(doc.root)
    reader = _XML_READERS.get(kind)
    if reader is None:
        raise ParseError(f"{url}: not a feed (root element <{kind or doc.root.tag}>)")
    name, read = reader
    if not doc.problems:
        return _dedupe(read(el, url, summaries) for el in _entry_elements(doc.root, name)), ()
    # Damage can push entries below where they belong (an unclosed element before them).
    found = [el for el in doc.root.iter() if local_name(el) == name]
    finished = [el for el in found if doc.finished(el)]
    entries = _dedupe(read(el, url, summaries) for el in finished)
    if not entries:
        raise ParseError(f"{url}: no complete, linked entry in a damaged feed: {doc.problems[0]}")
    return entries, (doc.damage(len(found) - len(finished), "entries"),)


def _entry_elements(root: etree._Element, name: str) -> Iterable[etree._Element]:
    """Elements called ``name`` in the root, or in an RSS <channel> of it."""
    for child in root:
        kind = local_name(child)
        if kind == name:
            yield child
        elif kind == "channel":
            yield from (el for el in child if local_name(el) == name)


def _permalink(guid: str | None) -> str | None:
    """The guid or id itself when it is an absolute http(s) URL (never resolved: a relative
    identifier is a name, not a link)."""
    if guid and guid.lstrip().lower().startswith(("http://", "https://")):
        return http_url(guid, "")
    return None


def _dedupe(entries: Iterable[FeedEntry | None]) -> list[FeedEntry]:
    seen: set[str] = set()
    result: list[FeedEntry] = []
    for entry in entries:
        if entry is None:
            continue
        url = without_tracking(entry.url) or entry.url
        if url not in seen:
            seen.add(url)
            result.append(entry if url == entry.url else replace(entry, url=url))
    return result


# --- XML feeds -----------------------------------------------------------------------------


def _children(el: etree._Element, core: tuple[str, ...]) -> dict[str, list[etree._Element]]:
    """Child elements keyed "name" (the format's own namespace) or "prefix:name" (extensions)."""
    kids: dict[str, list[etree._Element]] = {}
    for child in el:
        tag = child.tag
        key = _child_key(tag, core) if isinstance(tag, str) else ""
        if key:
            kids.setdefault(key, []).append(child)
    return kids


@lru_cache(maxsize=1024)  # a feed repeats a handful of tags in every one of its entries
def _child_key(tag: str, core: tuple[str, ...]) -> str:
    name = tag.rpartition("}")[2].lower()  # as local_name has it
    if not name:
        return ""
    # Split by hand: a recovering parse can leave tags that QName refuses ("media:").
    ns = tag[1:].partition("}")[0].lower().rstrip("/#") if tag.startswith("{") else ""
    prefix = "" if ns in core else _EXTENSIONS.get(ns, "?")
    return f"{prefix}:{name}" if prefix else name


def _first_text(kids: Children, *names: str) -> str:
    """The first non-blank text among the children named, in the order the names are given."""
    for name in names:
        for el in kids.get(name, ()):
            text = node_text(el).strip()
            if text:
                return text
    return ""


def _first_date(kids: Children, *names: str) -> datetime | None:
    for name in names:
        for el in kids.get(name, ()):
            value = parse_date(node_text(el))
            if value is not None:
                return value
    return None


def _rss_item(item: etree._Element, url: str, summaries: bool = True) -> FeedEntry | None:
    kids = _children(item, _RSS_CORE)
    link = _rss_link(kids, url) or _cdf_link(item, url)
    guid_text = _first_text(kids, "guid")
    guid = guid_text or item.get(_RDF_ABOUT) or None
    if link is None and guid:
        guid_els = kids.get("guid", ())
        permalink = not guid_els or guid_els[0].get("isPermaLink", "true").strip() != "false"
        link = _permalink(guid) if permalink else None
    if link is None:
        return None
    summary = _rss_summary(kids) if summaries else ""
    return FeedEntry(
        url=link,
        title=html_to_text(_rss_title(kids), TITLE_LIMIT),
        guid=link if guid == link else guid,  # one string, not two: a feed may list 100,000
        published=_first_date(
            kids, "pubdate", "dc:date", "dcterms:issued", "atom:published", "published"
        ),
        updated=_first_date(kids, "atom:updated", "dcterms:modified", "updated")
        or parse_date(item.get("LASTMOD")),  # CDF
        summary=summary,
    )


def _rss_summary(kids: Children) -> str:
    text = _first_text(kids, "description", "dc:description", "content:encoded")
    return html_to_text(text, SUMMARY_LIMIT)


def _rss_title(kids: Children) -> str:
    """The title; Media RSS's title (on the item, or its media group or content) stands in."""
    title = _first_text(kids, "title", "dc:title", "media:title")
    if title:
        return title
    for wrapper in (*kids.get("media:group", ()), *kids.get("media:content", ())):
        title = _first_text(_children(wrapper, ()), "media:title")
        if title:
            return title
    return ""


def _rss_link(kids: Children, url: str) -> str | None:
    for el in kids.get("link", ()):
        base = xml_base(el, url)
        link = http_url(node_text(el), base) or http_url(el.get("href"), base)
        if link:
            return link
    return _atom_link(kids.get("atom:link", ()), url)


def _cdf_link(item: etree._Element, url: str) -> str | None:
    """CDF's <ITEM HREF="…">, resolved against its <CHANNEL BASE="…">."""
    href = item.get("HREF") or item.get("href")
    if not href:
        return None
    base = xml_base(item, url)
    channel = item.getparent()
    if channel is not None and channel.get("BASE"):
        base = http_url(channel.get("BASE"), base) or base
    return http_url(href, base)


def _atom_link(links: Iterable[etree._Element], url: str) -> str | None:
    """The first alternate HTML link; ``url`` is the document's, xml:base is applied per link."""
    for el in links:
        rel = (el.get("rel") or "alternate").strip().lower()
        kind = (el.get("type") or "").split(";")[0].strip().lower()
        if rel in _ALTERNATE and kind in _HTML_TYPES:
            link = http_url(el.get("href"), xml_base(el, url))
            if link:
                return link
    return None


def _atom_entry(entry: etree._Element, url: str, summaries: bool = True) -> FeedEntry | None:
    kids = _children(entry, _ATOM_CORE)
    guid = _first_text(kids, "id") or None
    link = _atom_link(kids.get("link", ()), url) or _permalink(guid)
    if link is None:
        return None
    summary = _atom_summary(kids) if summaries else ""
    return FeedEntry(
        url=link,
        title=_atom_text(kids, "title", TITLE_LIMIT),
        guid=guid,
        published=_first_date(kids, "published", "issued", "created", "dc:date"),
        updated=_first_date(kids, "updated", "modified", "dcterms:modified"),
        summary=summary,
    )


def _atom_summary(kids: Children) -> str:
    return _atom_text(kids, "summary", SUMMARY_LIMIT) or _atom_text(kids, "content", SUMMARY_LIMIT)


def _atom_text(kids: Children, name: str, limit: int) -> str:
    for el in kids.get(name, ()):
        text = _construct_text(el, limit)
        if text:
            return text
    return ""


def _construct_text(el: etree._Element, limit: int) -> str:
    """An Atom text construct as plain text, honouring its type (text, html, xhtml, other media
    types in base64) and Atom 0.3's mode (xml, escaped, base64)."""
    if el.get("src"):
        return ""
    kind = (el.get("type") or "text").strip().lower()
    mode = (el.get("mode") or "").strip().lower()
    if mode == "base64":
        return html_to_text(_unbase64(node_text(el)), limit)
    if mode == "xml" or "xhtml" in kind or "xml" in kind:
        return truncate(_xml_text(el), limit)
    if kind.startswith("text") or "/" not in kind or "html" in kind:
        # type="text" often carries escaped HTML anyway, so it gets the same treatment.
        return html_to_text(node_text(el), limit)
    return html_to_text(_unbase64(node_text(el)), limit)  # Atom 1.0: other media types


def _xml_text(el: etree._Element) -> str:
    """Text of inline XHTML: its text nodes are text, even where they spell out a tag."""
    if len(el) == 0:
        return collapse_ws(el.text or "")
    plain = deepcopy(el)
    for node in plain.iter():
        if isinstance(node.tag, str):
            try:
                node.tag = local_name(node)
            except ValueError:  # a name a recovering parse let through
                node.tag = "span"
    return element_text(plain)


def _unbase64(text: str) -> str:
    try:
        return base64.b64decode("".join(text.split()), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return ""


# Root element -> (the name of its entry elements, one entry element to a record).
_XML_READERS: dict[str, tuple[str, Callable[[etree._Element, str, bool], FeedEntry | None]]] = {
    "rss": ("item", _rss_item),
    "rdf": ("item", _rss_item),
    "channel": ("item", _rss_item),
    "feed": ("entry", _atom_entry),
}


# --- JSON Feed -----------------------------------------------------------------------------


def _json_feed(data: bytes, url: str, summaries: bool = True) -> list[FeedEntry | None]:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"{url}: malformed JSON: {str(exc)[:200]}") from None
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or "jsonfeed.org/version/" not in version:
        raise ParseError(f"{url}: JSON document is not a JSON Feed (no jsonfeed.org version)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError(f"{url}: JSON Feed has no items list")
    return [_json_item(item, url, summaries) for item in items if isinstance(item, dict)]


def _json_item(item: dict[str, object], base: str, summaries: bool = True) -> FeedEntry | None:
    raw_id = item.get("id")
    guid = str(raw_id) if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else None
    link = http_url(item.get("url"), base) or http_url(item.get("external_url"), base)
    link = link or _permalink(guid)
    if link is None:
        return None
    return FeedEntry(
        url=link,
        title=html_to_text(_json_str(item, "title"), TITLE_LIMIT),
        guid=guid,
        published=parse_date(_json_str(item, "date_published") or None),
        updated=parse_date(_json_str(item, "date_modified") or None),
        summary=_json_summary(item) if summaries else "",
    )


def _json_summary(item: dict[str, object]) -> str:
    if _json_str(item, "summary"):
        return html_to_text(_json_str(item, "summary"), SUMMARY_LIMIT)
    if _json_str(item, "content_text"):
        return truncate(collapse_ws(_json_str(item, "content_text")), SUMMARY_LIMIT)
    return html_to_text(_json_str(item, "content_html"), SUMMARY_LIMIT)


def _json_str(item: dict[str, object], key: str) -> str:
    value = item.get(key)
    return value if isinstance(value, str) else ""
