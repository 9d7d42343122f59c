"""Article links on a news index page: by a CSS selector, or by general news-site heuristics."""

from __future__ import annotations

import functools
import ipaddress
import itertools
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import urlsplit

import lxml.html
import soupsieve
from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, Tag, XMLParsedAsHTMLWarning
from lxml import etree
from lxml.html import HtmlElement

from newswatch.errors import ParseError
from newswatch.models import ListingLink
from parsers._common import (
    collapse_ws,
    element_text,
    html_text,
    html_tree,
    http_url,
    looks_binary,
    truncate,
    without_tracking,
    word_set,
)

TITLE_LIMIT = 300
_TITLE_NODES = 400  # tree events read for an anchor's title: plenty for a headline
_TITLE_STRINGS = 40
# What we hand BeautifulSoup is always HTML that lxml has already parsed; its guesses are noise.
warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)
warnings.filterwarnings("ignore", category=MarkupResemblesLocatorWarning)
_CHROME_TAGS = frozenset({"nav", "aside", "menu", "dialog"})
_PAGE_EDGE_TAGS = frozenset({"header", "footer"})  # chrome unless inside an article
_CHROME_ROLES = frozenset(
    {"navigation", "banner", "contentinfo", "complementary", "menu", "menubar", "search"}
)
_CHROME_WORDS = word_set(
    "nav navbar navigation subnav menu menubar megamenu breadcrumb breadcrumbs footer sidebar "
    "masthead pagination pager share sharing social cookie cookies consent skip topbar "
    "toolbar newsletter"
)
# A class-named "sidebar" or "menu" holding most of the page's links is a page wrapper, not chrome.
_CHROME_SHARE = 0.5
_TOKEN_SPLIT = re.compile(r"[^a-z0-9]+")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")

_NON_ARTICLE_SEGMENTS = word_set(
    "tag tags topic topics category categories section sections author authors profile "
    "profiles contributor contributors byline login log-in signin sign-in signup sign-up "
    "register logout account my-account subscribe subscription subscriptions search feed "
    "feeds rss newsletter newsletters about about-us contact contact-us privacy "
    "privacy-policy privacy-notice terms terms-of-use terms-and-conditions cookies "
    "cookie-policy help faq advertise advertising careers job jobs shop wp-login.php "
    "wp-admin cdn-cgi"
)
# Subdomains that serve accounts, shops and adverts rather than journalism.
_SERVICE_HOSTS = word_set(
    "accounts account auth id login signin profile myaccount subscribe subscriptions shop store "
    "jobs careers ads adserver"
)
_MEDIA_FILE = re.compile(
    r"\.(?:jpe?g|png|gif|webp|avif|svg|ico|bmp|tiff?|pdf|mp3|mp4|m4a|m4v|mov|avi|wav|ogg|webm"
    r"|zip|gz|tgz|rar|7z|css|js|json|xml|rss|atom|txt|csv|xlsx?|docx?|pptx?|epub|apk|exe|dmg)$"
)
_PAGINATION_PATH = re.compile(r"(?:^|/)page[/-]?\d+/?$")
_PAGINATION_QUERY = re.compile(r"(?:^|&)(?:page|pg|offset|start)=\d+(?:&|$)")
# /2022/02/28/, /2022/0228/, /2022/feb/28/, /2022-02-28, /20220228/
_DATE_PATH = re.compile(
    r"(?:^|/)(?:19|20)\d\d(?:[/-](?:0?[1-9]|1[0-2]|\d{4}|[a-z]{3})|[01]\d[0-3]\d)(?:[/-]|$)"
)
_NUMERIC_ID = re.compile(r"\d{5,}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ID_QUERY = re.compile(r"(?:^|&)(?:p|id|article|articleid|story|storyid|newsid|nid)=\d+")
_SLUG_WORD = re.compile(r"[^\W_]+")
_SLUG_STOPWORDS = word_set("a an and at for in of on or the to with")
_SLUG_MIN_WORDS = 4
_HEADLINE_MIN_WORDS = 5
# Second-level labels under which registries sell names (bbc.co.uk, abc.net.au, nhk.or.jp).
_SECOND_LEVEL = word_set(
    "ac co com edu gov govt gv mil ne net nic nhs or org sch ltd plc police gob gouv go"
)


def parse_listing(html: str | bytes, url: str, selector: str | None = None) -> list[ListingLink]:
    """Article links of an index page in page order, deduplicated, fragments stripped.

    With ``selector`` the selected elements' links are taken as they are (an element that is
    not ``<a>`` contributes its first ``a[href]``). Without, links on the page's own site that
    sit outside navigation, headers, footers and asides and look like articles (a headline of
    several words, or a path with a slug, an id or a date) are kept.
    """
    text = html_text(html)
    if looks_binary(text):
        raise ParseError(f"{url}: binary data, not an HTML page")
    compiled = compile_selector(selector) if selector else None
    root = html_tree(text)
    if root is None:
        raise ParseError(f"{url}: empty or unparsable HTML page")
    bases = root.xpath("//base/@href")
    base = (http_url(str(bases[0]), url) if bases else None) or url
    if compiled is not None:
        return _dedupe(_selected_links(root, base, compiled))
    return _dedupe(_heuristic_links(root, url, base))


@functools.lru_cache(maxsize=64)
def compile_selector(selector: str) -> soupsieve.SoupSieve:
    """The compiled CSS selector; ParseError when it is not valid CSS."""
    try:
        return soupsieve.compile(selector)
    except (soupsieve.SelectorSyntaxError, NotImplementedError, ValueError, TypeError) as exc:
        raise ParseError(f"invalid CSS selector {selector!r}: {exc}") from None


def _dedupe(pairs: Iterable[tuple[str, str]]) -> list[ListingLink]:
    """First position wins; a later, fuller anchor text replaces a "Read more"-style title."""
    titles: dict[str, str] = {}
    for link, title in pairs:
        known = titles.get(link)
        if known is None or _better_title(title, known):
            titles[link] = title
    return [ListingLink(url=link, title=title) for link, title in titles.items()]


def _better_title(title: str, known: str) -> bool:
    known_words = len(known.split())
    return known_words < _HEADLINE_MIN_WORDS and len(title.split()) > known_words


# --- with a selector -----------------------------------------------------------------------


def _selected_links(
    root: HtmlElement, base: str, compiled: soupsieve.SoupSieve
) -> Iterator[tuple[str, str]]:
    # soupsieve needs a BeautifulSoup tree; building it from lxml's output bounds its depth
    # (libxml2 stops nesting at 2048) so hostile nesting cannot make selection crawl.
    soup = BeautifulSoup(lxml.html.tostring(root, encoding="unicode"), "lxml")
    for el in compiled.select(soup):
        anchor = el if el.name == "a" and el.get("href") else el.find("a", href=True)
        if not isinstance(anchor, Tag):
            continue
        link = without_tracking(http_url(anchor.get("href"), base, drop_fragment=True))
        if link is not None:
            text = " ".join(itertools.islice(anchor.stripped_strings, _TITLE_STRINGS))
            title = collapse_ws(text) or _attr_title(anchor.get)
            yield link, truncate(title, TITLE_LIMIT)


def _attr_title(get: Callable[[str], object]) -> str:
    for name in ("title", "aria-label"):
        value = get(name)
        if isinstance(value, str) and value.strip():
            return collapse_ws(value)
    return ""


# --- heuristics ----------------------------------------------------------------------------


def _heuristic_links(root: HtmlElement, url: str, base: str) -> Iterator[tuple[str, str]]:
    page = urlsplit(url)
    site = site_key(page.hostname or "")
    for anchor in _content_anchors(root):
        link = without_tracking(http_url(anchor.get("href"), base, drop_fragment=True))
        if link is None:
            continue
        title = _anchor_title(anchor)
        if _is_article_link(link, title, site, page.path):
            yield link, title


def _content_anchors(root: HtmlElement) -> list[HtmlElement]:
    """Every ``a[href]`` outside page chrome, in document order, in one walk of the tree."""
    total = max(1, int(root.xpath("count(//a[@href])")))
    anchors: list[HtmlElement] = []
    walker = etree.iterwalk(root, events=("start", "end"))
    article_depth = 0
    opened: list[bool] = []  # per open element: is it an <article> we counted?
    for event, el in walker:
        if event == "end":
            article_depth -= opened.pop()
            continue
        tag = el.tag if isinstance(el.tag, str) else ""
        if _is_chrome(el, tag, article_depth > 0, total):
            walker.skip_subtree()  # its "end" still comes, so it still gets a stack slot
            opened.append(False)
            continue
        opened.append(tag == "article")
        article_depth += tag == "article"
        if tag == "a" and el.get("href"):
            anchors.append(el)
    return anchors


def _is_chrome(el: HtmlElement, tag: str, in_article: bool, total_anchors: int) -> bool:
    if tag in _CHROME_TAGS or (tag in _PAGE_EDGE_TAGS and not in_article):
        return True
    role = (el.get("role") or "").strip().lower()
    if role in _CHROME_ROLES:
        return True
    names = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
    if not names.strip() or _CHROME_WORDS.isdisjoint(_TOKEN_SPLIT.split(names)):
        return False
    held = int(el.xpath("count(.//a[@href])"))
    return held <= _CHROME_SHARE * total_anchors


def _anchor_title(anchor: HtmlElement) -> str:
    for heading in itertools.islice(anchor.iter(*_HEADINGS), 1):
        text = element_text(heading, _TITLE_NODES)
        if text:
            return truncate(text, TITLE_LIMIT)
    text = element_text(anchor, _TITLE_NODES) or _attr_title(anchor.get)
    if not text:
        alts = anchor.xpath(".//img/@alt")
        text = collapse_ws(str(alts[0])) if alts else ""
    return truncate(text, TITLE_LIMIT)


def _is_article_link(link: str, title: str, site: str, page_path: str) -> bool:
    parts = urlsplit(link)
    host = parts.hostname or ""
    if site_key(host) != site or host.split(".", 1)[0] in _SERVICE_HOSTS:
        return False
    path = parts.path.lower()
    if path.rstrip("/") in ("", page_path.lower().rstrip("/")):
        return False  # the home page, or this listing again (sorted, filtered, paged)
    segments = [s for s in path.split("/") if s]
    if _MEDIA_FILE.search(path) or _PAGINATION_PATH.search(path):
        return False
    if _PAGINATION_QUERY.search(parts.query.lower()):
        return False
    if any(s in _NON_ARTICLE_SEGMENTS for s in segments):
        return False
    return len(title.split()) >= _HEADLINE_MIN_WORDS or _article_path(path, parts.query, segments)


def _article_path(path: str, query: str, segments: list[str]) -> bool:
    if _DATE_PATH.search(path) or _UUID.search(path) or _ID_QUERY.search(query.lower()):
        return True
    last = segments[-1] if segments else ""
    if _NUMERIC_ID.search(last) or (len(segments) > 1 and _NUMERIC_ID.search(segments[-2])):
        return True
    words = [w for w in _SLUG_WORD.findall(last) if w not in _SLUG_STOPWORDS]
    return ("-" in last or "_" in last) and len(words) >= _SLUG_MIN_WORDS


def site_key(host: str) -> str:
    """The registrable-looking part of a host name: ``news.bbc.co.uk`` → ``bbc.co.uk``."""
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host
    except ValueError:
        pass
    labels = host.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])
