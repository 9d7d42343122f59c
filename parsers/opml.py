"""OPML subscription lists (what feed readers export): the feeds in document order, once each."""

from __future__ import annotations

from lxml import etree

from newswatch.errors import ParseError
from newswatch.models import Subscription
from parsers._common import collapse_ws, http_url, local_name
from parsers.xmlsafe import parse_xml

MAX_OUTLINES = 100_000


def parse_opml(data: bytes, where: str) -> tuple[list[Subscription], list[str]]:
    """The feeds of an OPML document, and what was skipped (duplicate or unusable URLs).

    Nested outlines (folders) are walked to any depth; a feed listed twice is kept once, where
    it first appears. Raises ParseError naming `where` for anything that is not OPML.
    """
    root = parse_xml(data, where)
    if local_name(root) != "opml":
        raise ParseError(f"{where}: not OPML: the document is <{local_name(root) or '?'}>")
    body = next((el for el in root if local_name(el) == "body"), None)
    if body is None:
        raise ParseError(f"{where}: not OPML: it has no <body>")
    found: dict[str, Subscription] = {}
    skipped: list[str] = []
    for count, outline in enumerate(body.iter("{*}outline")):
        if count >= MAX_OUTLINES:
            raise ParseError(f"{where}: more than {MAX_OUTLINES} outlines")
        _take(outline, found, skipped)
    return list(found.values()), skipped


def _attr(el: etree._Element, name: str) -> str:
    """An attribute by name in any letter case (readers write xmlUrl, xmlurl, XMLURL)."""
    for key, value in el.attrib.items():
        if str(key).lower() == name:
            return collapse_ws(str(value))
    return ""


def _title(el: etree._Element) -> str:
    return _attr(el, "title") or _attr(el, "text")


def _take(outline: etree._Element, found: dict[str, Subscription], skipped: list[str]) -> None:
    raw = _attr(outline, "xmlurl")
    if not raw:
        return  # a folder, or a plain outline item
    url = http_url(raw, "")
    if url is None:
        skipped.append(f"{raw[:200]}: not an http(s) URL")
        return
    if url in found:
        skipped.append(f"{url}: listed again")
        return
    parents = [_title(p) for p in outline.iterancestors() if local_name(p) == "outline"]
    folder = " / ".join(t for t in reversed(parents) if t)
    found[url] = Subscription(url, _title(outline), folder)
