"""XML, gzip, plain-text and feed sitemaps (and sitemap indexes) to a Sitemap record."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import replace

from lxml import etree

from newswatch.errors import ParseError
from newswatch.models import Sitemap, SitemapEntry
from parsers._common import collapse_ws, http_url, local_name, node_text, truncate
from parsers.dates import parse_date
from parsers.feeds import read_feed
from parsers.xmlsafe import XmlDocument, read_xml

DEFAULT_MAX_BYTES = 50_000_000
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 16
# Byte-order marks, whitespace and the NULs of UTF-16/32 may precede the first "<".
_LEADING = b"\xef\xbb\xbf\xfe\xff\x00 \t\r\n"
_FEED_ROOTS = frozenset({"rss", "rdf", "feed", "channel"})
_ITEMS = {"urlset": "url", "sitemapindex": "sitemap"}  # root -> the elements it lists
_TITLE_LIMIT = 500


def parse_sitemap(data: bytes, url: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Sitemap:
    """Entries of a ``<urlset>``, children of a ``<sitemapindex>``, or lines of a text sitemap.

    Gzip input is recognised by its magic bytes and inflated to at most ``max_bytes``.
    Elements are matched on local names, since sitemaps in the wild get namespaces wrong.
    RSS and Atom feeds are accepted too, as the sitemap protocol allows. A damaged XML
    sitemap keeps the entries it finished before the damage; a text sitemap skips lines
    that are not URLs. Either way ``problems`` says so.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ParseError(f"{url}: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if data.startswith(_GZIP_MAGIC):
        data = gunzip(data, url, max_bytes=max_bytes)
    elif len(data) > max_bytes:
        raise ParseError(f"{url}: sitemap larger than {max_bytes} bytes")
    if _looks_like_xml(data[:4096]):
        return _xml_sitemap(data, url)
    return _text_sitemap(data, url)


def gunzip(data: bytes, where: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Inflate gzip ``data`` (every member), refusing output over ``max_bytes`` as it streams."""
    out = bytearray()
    pending = data
    while pending.startswith(_GZIP_MAGIC):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            _inflate_into(out, inflater, pending, max_bytes, where)
        except zlib.error as exc:
            raise ParseError(f"{where}: corrupt gzip data: {exc}") from None
        pending = inflater.unused_data
    return bytes(out)


def _inflate_into(
    out: bytearray, inflater: zlib._Decompress, data: bytes, max_bytes: int, where: str
) -> None:
    # Bounded chunks, so a bomb is refused after max_bytes of output, never fully inflated.
    pending = data
    while not inflater.eof:
        chunk = inflater.decompress(pending, _CHUNK)
        pending = inflater.unconsumed_tail
        if not chunk and not pending and not inflater.eof:
            raise ParseError(f"{where}: truncated gzip data")
        out += chunk
        if len(out) > max_bytes:
            raise ParseError(f"{where}: gzip data inflates to more than {max_bytes} bytes")


def _looks_like_xml(head: bytes) -> bool:
    return head.lstrip(_LEADING).startswith(b"<")


def _xml_sitemap(data: bytes, url: str) -> Sitemap:
    doc = read_xml(data, url)
    kind = local_name(doc.root)
    if kind in _FEED_ROOTS:
        return _feed_sitemap(data, url)
    item = _ITEMS.get(kind)
    if item is None:
        raise ParseError(f"{url}: not a sitemap (root element <{kind or doc.root.tag}>)")
    found = [node for node in doc.root if local_name(node) == item]
    finished = [node for node in found if doc.finished(node)]
    if kind == "urlset":
        sitemap = Sitemap(entries=tuple(_dedupe_entries(_url_entries(finished, url))))
    else:
        sitemap = Sitemap(sitemaps=tuple(dict.fromkeys(_index_children(finished, url))))
    return _with_damage(sitemap, doc, len(found) - len(finished), url)


def _with_damage(sitemap: Sitemap, doc: XmlDocument, dropped: int, url: str) -> Sitemap:
    if not doc.problems:
        return sitemap
    if not sitemap.entries and not sitemap.sitemaps:
        raise ParseError(f"{url}: no complete entry in a damaged sitemap: {doc.problems[0]}")
    return replace(sitemap, problems=(doc.damage(dropped, "entries"),))


def _url_entries(nodes: Iterable[etree._Element], url: str) -> Iterator[SitemapEntry]:
    for node in nodes:
        fields = _fields(node)
        loc = http_url(fields.get("loc", ""), url)
        if loc is None:
            continue
        yield SitemapEntry(
            url=loc,
            lastmod=parse_date(fields.get("lastmod")),
            title=truncate(collapse_ws(fields.get("title", "")), _TITLE_LIMIT),
            published=parse_date(fields.get("publication_date")),
        )


def _fields(node: etree._Element) -> dict[str, str]:
    """Text of the children (and of a news:news block's children) by local name, first wins."""
    fields: dict[str, str] = {}
    for child in node:
        name = local_name(child)
        if name == "news":
            for part in child:
                fields.setdefault(local_name(part), node_text(part).strip())
        elif name:
            fields.setdefault(name, node_text(child).strip())
    return fields


def _index_children(nodes: Iterable[etree._Element], url: str) -> Iterator[str]:
    for node in nodes:
        loc = http_url(_fields(node).get("loc", ""), url)
        if loc is not None:
            yield loc


def _dedupe_entries(entries: Iterator[SitemapEntry]) -> list[SitemapEntry]:
    seen: set[str] = set()
    kept: list[SitemapEntry] = []
    for entry in entries:
        if entry.url not in seen:
            seen.add(entry.url)
            kept.append(entry)
    return kept


def _feed_sitemap(data: bytes, url: str) -> Sitemap:
    feed = read_feed(data, url)
    entries = tuple(
        SitemapEntry(
            url=e.url, lastmod=e.updated or e.published, title=e.title, published=e.published
        )
        for e in feed.entries
    )
    return Sitemap(entries=entries, problems=feed.problems)


def _text_sitemap(data: bytes, url: str) -> Sitemap:
    """One absolute http(s) URL per line. Other lines are skipped and reported, unless they
    outnumber the URLs: then this is prose or a page, not a sitemap."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ParseError(f"{url}: not a sitemap (neither XML nor UTF-8 text)") from None
    entries: list[SitemapEntry] = []
    skipped: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        link = http_url(line, url) if line.lower().startswith(("http://", "https://")) else None
        if link is None:
            skipped.append(number)
        else:
            entries.append(SitemapEntry(url=link))
    if skipped and len(skipped) > len(entries):
        raise ParseError(f"{url}: not a text sitemap: line {skipped[0]} is not an http(s) URL")
    if not entries:
        raise ParseError(f"{url}: empty sitemap")
    problems = (
        (f"skipped {len(skipped)} line(s) that are not http(s) URLs, the first line {skipped[0]}",)
        if skipped
        else ()
    )
    return Sitemap(entries=tuple(_dedupe_entries(iter(entries))), problems=problems)
