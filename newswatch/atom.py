"""Developments → an Atom 1.0 document for feed readers; page text never becomes markup."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime

from lxml import etree

from newswatch.export import why
from newswatch.models import Development
from newswatch.render import KIND_LABEL, plain, safe_link

ATOM = "http://www.w3.org/2005/Atom"
ENTRY_ID = "urn:newswatch:development:"
FEED_ID = "urn:newswatch:feed:"
# Characters XML 1.0 cannot carry, and the invisible ones that reorder or hide text in a reader.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def clean(text: str, limit: int = 2000) -> str:
    """Page text fit for an XML text node: one line, capped, nothing invisible or illegal."""
    return plain(_UNSAFE.sub("", text), limit)


def entry_id(dev: Development) -> str:
    """The entry's id: the same development has the same id in every run and every feed."""
    return ENTRY_ID + dev.fingerprint


def _stamp(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def _add(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def summary_html(dev: Development) -> str:
    """The entry's summary as escaped HTML: the new text, why it fired, the outlets."""
    sentences = "".join(f"<li>{html.escape(clean(t))}</li>" for t in dev.text)
    outlets = ", ".join(clean(o, 100) for o in dev.outlets) or clean(dev.source, 100)
    return (
        (f"<ul>{sentences}</ul>" if sentences else "")
        + f"<p>Why: {html.escape(clean(why(dev)))}</p>"
        + f"<p>Outlets: {html.escape(outlets)}</p>"
    )


def _entry(feed: etree._Element, dev: Development) -> None:
    entry = _add(feed, "entry")
    label = KIND_LABEL.get(dev.kind, dev.kind)
    _add(entry, "id", entry_id(dev))
    _add(entry, "title", clean(f"[{dev.topic}] {label}: {dev.title or dev.url}", 300))
    if link := safe_link(dev.url):
        _add(entry, "link", rel="alternate", type="text/html", href=link)
    for source, url in dev.links:
        if other := safe_link(url):
            _add(entry, "link", rel="related", href=other, title=clean(source, 100))
    _add(entry, "updated", _stamp(dev.detected))
    if dev.published:
        _add(entry, "published", _stamp(dev.published))
    _add(entry, "category", term=clean(dev.topic, 200))
    _add(entry, "summary", summary_html(dev), type="html")


def atom_feed(devs: Sequence[Development], name: str, title: str, now: datetime) -> bytes:
    """An Atom feed named `name` (its id stays the same across runs) holding `devs` in order."""
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    _add(feed, "id", FEED_ID + name)
    _add(feed, "title", clean(title, 300))
    _add(feed, "updated", _stamp(max((d.detected for d in devs), default=now)))
    author = _add(feed, "author")
    _add(author, "name", "newswatch")
    _add(feed, "generator", "newswatch")
    for dev in devs:
        _entry(feed, dev)
    return bytes(etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True))
