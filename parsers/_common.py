"""Small helpers the document parsers share: safe links, markup to text, page metadata pieces."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import lxml.html
from lxml import etree

from parsers.decoding import decode_html

_URL_STRIP = "".join(chr(c) for c in range(0x21))  # C0 controls and space, as browsers strip
_URL_DROP = re.compile(r"[\t\n\r]")
_MAX_URL = 4096
_ABSOLUTE_HTTP = re.compile(r"https?://[^/?#]", re.ASCII)
# The plain absolute link most feeds give (lower-case scheme, plain host and port, a path, no
# space or fragment): http_url would return it as it is, so it is not taken apart (a feed may
# have 100,000).
_PLAIN_HTTP = re.compile(r"https?://[A-Za-z0-9][A-Za-z0-9.-]*(?::([0-9]{1,5}))?/[^\s#]*")
_TRACKING = re.compile(
    r"(?:utm_[a-z]+|itm_[a-z]+|at_[a-z]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|igshid"
    r"|ocid|cmpid)(?:=|$)",
    re.IGNORECASE,
)
_MAX_MARKUP = 200_000
_TAG_LIKE = re.compile(r"<[A-Za-z/!?][^<>]{0,2000}>")
_SKIP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "svg", "head")
# Tags whose edges are word boundaries even when the markup puts no space there.
_BLOCK_WORDS = (
    "p div br li ul ol h1 h2 h3 h4 h5 h6 tr td th table blockquote section article figure "
    "figcaption header footer aside hr pre dd dt dl main nav address"
)

_BLOCK_TAGS = frozenset(_BLOCK_WORDS.split())
_STRING = etree.XPath("string()")
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_HTML_PARSER = lxml.html.HTMLParser(
    encoding="utf-8",
    remove_comments=True,
    remove_pis=True,
    no_network=True,
    huge_tree=True,  # lifts libxml2's depth cap from 256 to 2048, which real pages can exceed
    default_doctype=False,
)
# Summaries are parsed by the thousand: a bare parser, not lxml.html's fragment helpers.
_FRAGMENT_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)
_BINARY_CHARS = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\ufffd]")
_BINARY_SAMPLE = 65_536
_BINARY_SHARE = 0.01
_HTML_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_JSONLD = etree.XPath(
    "//script[contains(translate(@type, 'JSONLD', 'jsonld'), 'ld+json')]/text()",
    smart_strings=False,
)
_JSON_WRAPPERS = ("<!--", "-->", "//<![CDATA[", "//]]>", "<![CDATA[", "]]>")
_CANONICAL = etree.XPath(
    "//link[contains(concat(' ', translate(@rel, 'CANONIL', 'canonil'), ' '), ' canonical ')]"
    "/@href",
    smart_strings=False,
)
_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$", re.IGNORECASE)


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``: long constant sets read better as prose."""
    return frozenset(text.split())


def http_url(href: object, base: str, *, drop_fragment: bool = False) -> str | None:
    """``href`` resolved against ``base`` when it is a usable http(s) link, else None."""
    if not isinstance(href, str):
        return None
    cleaned = _URL_DROP.sub("", href).strip(_URL_STRIP)
    if not cleaned or len(cleaned) > _MAX_URL:
        return None
    plain = _PLAIN_HTTP.fullmatch(cleaned)
    if plain and int(plain.group(1) or 0) <= 65535:
        return cleaned
    try:
        # Absolute links are the common case in feeds; urljoin would only copy them.
        absolute = cleaned if _ABSOLUTE_HTTP.match(cleaned) else urljoin(base, cleaned)
        parts = urlsplit(absolute)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    if (
        not absolute.startswith(parts.scheme)
        or not parts.path
        or (drop_fragment and parts.fragment)
    ):
        fragment = "" if drop_fragment else parts.fragment
        absolute = urlunsplit(
            (parts.scheme, parts.netloc, parts.path or "/", parts.query, fragment)
        )
    return absolute.replace(" ", "%20")


def without_tracking(url: str | None) -> str | None:
    """``url`` without campaign-tracking query parameters (utm_*, fbclid, ...), which make one
    article look like several."""
    if url is None or "?" not in url:
        return url
    parts = urlsplit(url)
    kept = [p for p in parts.query.split("&") if p and not _TRACKING.match(p)]
    return urlunsplit(parts._replace(query="&".join(kept)))


def collapse_ws(text: str) -> str:
    """Runs of whitespace (including non-breaking spaces) as one space, ends trimmed."""
    return " ".join(text.split())  # str.split's whitespace is the regex \s, and faster


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, marked with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def html_to_text(markup: str, limit: int = 4000) -> str:
    """Plain text of an HTML fragment: tags and scripts dropped, entities decoded, spaces collapsed.

    Feeds often escape their HTML once more than they should, so text that still looks like
    markup after one pass gets a second one.
    """
    if not markup:
        return ""
    text = markup[:_MAX_MARKUP]
    text = _markup_text(text) if _TAG_LIKE.search(text) else html.unescape(text)
    if _TAG_LIKE.search(text):
        text = _markup_text(text)
    return truncate(collapse_ws(text), limit)


def _markup_text(markup: str) -> str:
    try:
        root = etree.fromstring(markup, _FRAGMENT_PARSER)
    except (etree.LxmlError, ValueError):
        root = None
    if root is None:
        return html.unescape(_TAG_LIKE.sub(" ", markup))
    return element_text(root)


def node_text(el: etree._Element) -> str:
    """All text inside an XML element (unresolved entity references left out)."""
    if len(el) == 0:  # no child element, entity reference, comment or PI: the text is all
        return el.text or ""
    return str(_STRING(el))


def local_name(el: etree._Element) -> str:
    """The lower-cased tag without its namespace; "" for comments and processing instructions."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2].lower()


def xml_base(el: etree._Element, url: str) -> str:
    """The base URL in effect at ``el``: the document URL refined by every xml:base above it."""
    bases: list[str] = []
    node: etree._Element | None = el
    while node is not None:
        value = node.get(_XML_BASE)
        if value:
            bases.append(value.strip())
        node = node.getparent()
    base = url
    for value in reversed(bases):
        try:
            base = urljoin(base, value)
        except ValueError:
            continue
    return base


def html_text(markup: str | bytes | bytearray) -> str:
    """An HTML document as text, its bytes decoded the way a browser would without HTTP headers."""
    if isinstance(markup, str):
        return markup
    return decode_html(markup)


def looks_binary(text: str) -> bool:
    """True when the start of a decoded document is full of control characters: an image, a
    PDF or random bytes served where HTML was expected."""
    head = text[:_BINARY_SAMPLE]
    return len(_BINARY_CHARS.findall(head)) > _BINARY_SHARE * max(1, len(head))


def html_tree(text: str) -> lxml.html.HtmlElement | None:
    """The parsed document, or None when there is nothing to parse."""
    data = _HTML_CONTROL.sub("", text).encode("utf-8", errors="replace")
    if not data.strip():
        return None
    try:
        root = etree.fromstring(data, parser=_HTML_PARSER)
    except (etree.LxmlError, ValueError):
        return None
    return root if isinstance(root, lxml.html.HtmlElement) else None


def element_text(el: etree._Element, max_nodes: int = 100_000) -> str:
    """Text inside an HTML element with words kept apart at block edges, spaces collapsed.

    At most ``max_nodes`` start/end events are read, which keeps a title lookup cheap even
    inside thousands of unclosed, nested tags.
    """
    parts: list[str] = []
    walker = etree.iterwalk(el, events=("start", "end"))
    for count, (event, node) in enumerate(walker):
        if count >= max_nodes:
            break
        tag = node.tag if isinstance(node.tag, str) else ""
        if event == "start":
            if tag in _SKIP_TAGS:
                walker.skip_subtree()
                continue
            if tag in _BLOCK_TAGS:
                parts.append(" ")
            parts.append(node.text or "")
        else:
            if tag in _BLOCK_TAGS:
                parts.append(" ")
            if node is not el:
                parts.append(node.tail or "")
    return collapse_ws("".join(parts))


def jsonld_documents(root: etree._Element, max_chars: int) -> Iterator[Any]:
    """The data of each JSON-LD script in the page, in page order; None for one that is not JSON.

    At most ``max_chars`` of a script are read, and HTML comment or CDATA wrappers (which
    templates leave in scripts) are dropped first.
    """
    for raw in _JSONLD(root):
        text = raw.strip()[:max_chars]
        for junk in _JSON_WRAPPERS:
            text = text.replace(junk, "")
        try:
            yield json.loads(text, strict=False)
        except (ValueError, RecursionError):
            yield None


def canonical_url(root: etree._Element, base: str, *more: object) -> str | None:
    """The first usable link among the page's ``rel=canonical`` hrefs and then ``more``,
    resolved against ``base`` without its fragment; None when there is none."""
    for href in (*_CANONICAL(root), *more):
        resolved = http_url(href, base, drop_fragment=True)
        if resolved:
            return resolved
    return None


def language_tag(value: str) -> str | None:
    """A BCP 47 tag in its usual case ("en_gb" -> "en-GB"), or None when it is not one."""
    tag = value.strip().replace("_", "-").split(",")[0].strip()
    if not _LANGUAGE_TAG.match(tag):
        return None
    primary, *rest = tag.split("-")
    return "-".join([primary.lower(), *(s.upper() if len(s) == 2 else s for s in rest)])
