"""Article pages to Article records: decoding, one bounded parse, metadata, trafilatura, cleanup."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from itertools import islice

import trafilatura
from lxml import etree
from lxml.html import HtmlElement, HTMLParser

from newswatch.errors import ParseError
from newswatch.models import Article
from parsers.article_body import improve_body, page_prose, prose_paragraphs
from parsers.article_dates import PageDates
from parsers.article_meta import PageMeta, read_metadata
from parsers.decoding import MAX_INPUT_BYTES, decode_html

MAX_ELEMENTS = 15_000
# trafilatura's fast mode (no readability/justext comparison) is as accurate on the dev set and
# 1.5x quicker; the full cascade is only worth its cost when the fast pass finds little.
_RETRY_BELOW = 250
# A body under _THIN_BELOW characters is thin when the page's own paragraphs hold _THIN_FACTOR
# times more prose: the fast pass caught something beside the article.
_THIN_BELOW = 2000
_THIN_FACTOR = 4

_COUNT_ELEMENTS = etree.XPath("count(//*)")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
log = logging.getLogger(__name__)


def parse_article(html: str | bytes, url: str | None = None) -> Article:
    """Extract an article page into an Article; garbage gives an empty Article, never a crash.

    Bytes are decoded by BOM, then ``<meta charset>``/XML declaration, then UTF-8, then
    windows-1252. Only the first ``MAX_INPUT_BYTES`` (4 MB) are parsed, only the first
    ``MAX_ELEMENTS`` elements extracted, and nesting stops at depth 2048, so hostile pages cost
    bounded time. The tree is built once and shared by the metadata readers and trafilatura.
    Raises only ParseError, on a failure nothing here anticipated.
    """
    text = decode_html(html) if isinstance(html, bytes | bytearray) else html[:MAX_INPUT_BYTES]
    tree, deep = _parse_tree(text)
    if tree is None:
        return Article(url=url)
    try:
        return _article(tree, url, thorough=not deep)
    except (ValueError, TypeError, LookupError, RecursionError, etree.LxmlError) as exc:
        raise ParseError(f"article {url or '(no URL)'}: {type(exc).__name__}: {exc}") from exc


def parse_dates(html: str | bytes, url: str | None = None) -> PageDates:
    """Only the published and updated dates of an article page, without extracting its body:
    the same decoding, parse and metadata readers as ``parse_article``, a fraction of the cost.
    Raises only ParseError."""
    text = decode_html(html) if isinstance(html, bytes | bytearray) else html[:MAX_INPUT_BYTES]
    tree, _ = _parse_tree(text)
    if tree is None:
        return PageDates()
    try:
        meta = read_metadata(tree, url)
    except (ValueError, TypeError, LookupError, RecursionError, etree.LxmlError) as exc:
        raise ParseError(f"article {url or '(no URL)'}: {type(exc).__name__}: {exc}") from exc
    return PageDates(meta.published, meta.updated)


def _article(tree: HtmlElement, url: str | None, *, thorough: bool) -> Article:
    meta = read_metadata(tree, url)
    return Article(
        title=meta.title,
        paragraphs=_body(tree, url, meta, thorough=thorough),
        published=meta.published,
        updated=meta.updated,
        authors=meta.authors,
        language=meta.language,
        canonical_url=meta.canonical_url,
        url=url,
    )


def _body(tree: HtmlElement, url: str | None, meta: PageMeta, *, thorough: bool) -> list[str]:
    """The cleaned body from trafilatura's fast pass, or from a fuller extraction when that pass
    left nothing or only boilerplate (see ``_thin``): trafilatura's full cascade favouring
    recall, then our own scan of the page's prose paragraphs. The largest clean body wins."""
    body = _cleaned(tree, _trafilatura(tree, url, fast=True).splitlines(), meta, url)
    if not thorough or not _thin(tree, body):
        return body
    fuller: tuple[Callable[[], list[str]], ...] = (
        lambda: _trafilatura(tree, url, fast=False).splitlines(),
        lambda: prose_paragraphs(tree),
    )
    for extract in fuller:
        candidate = _cleaned(tree, extract(), meta, url)
        if _size(candidate) > _size(body):
            body = candidate
        if not _thin(tree, body):
            break
    return body


def _cleaned(tree: HtmlElement, lines: list[str], meta: PageMeta, url: str | None) -> list[str]:
    return improve_body(
        tree,
        lines,
        title=meta.title,
        standfirst=meta.description,
        jsonld_body=meta.jsonld_body,
        url=meta.canonical_url or url,
    )


def _size(paragraphs: list[str]) -> int:
    return sum(map(len, paragraphs))


def _thin(tree: HtmlElement, body: list[str]) -> bool:
    """True when the body is nearly empty, or much smaller than the prose in the page's own
    paragraphs (a fast pass that caught a teaser box or boilerplate instead of the article)."""
    size = _size(body)
    if size < _RETRY_BELOW:
        return True
    if size >= _THIN_BELOW:
        return False
    return page_prose(tree, _THIN_FACTOR * size) > _THIN_FACTOR * size


def _parse_tree(text: str) -> tuple[HtmlElement | None, bool]:
    """The document tree, and whether it is abnormal (too deep or too big) for a full extraction.

    A page nesting deeper than libxml2's default limit of 256 is parsed again with the limit
    raised to 2048 rather than losing everything after the deep part; a tree of more than
    ``MAX_ELEMENTS`` elements is cut there. Either way the costly extraction cascade is skipped.
    """
    data = _CONTROL.sub("", text).encode("utf-8", errors="replace")
    if not data.strip():
        return None, False
    parser = _html_parser(huge=False)  # one per call: a parser's error log is not thread-safe
    try:
        root = etree.fromstring(data, parser=parser)
        deep = any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log)
        if deep:
            root = etree.fromstring(data, parser=_html_parser(huge=True))
    except (etree.LxmlError, ValueError) as exc:
        log.debug("unparsable HTML: %s", exc)
        return None, False
    if not isinstance(root, HtmlElement):
        return None, False
    return root, _truncate(root, MAX_ELEMENTS) or deep


def _truncate(root: HtmlElement, limit: int) -> bool:
    """Cut everything after the ``limit``-th element; True when something was cut.

    Extraction cost grows with the element count, and real articles sit well inside the first
    few thousand elements of their page.
    """
    if _COUNT_ELEMENTS(root) <= limit:
        return False
    cut = next(islice(root.iter(), limit, None), None)
    if cut is None:
        return False
    node = cut
    while (parent := node.getparent()) is not None:
        for sibling in list(node.itersiblings()):
            parent.remove(sibling)
        node = parent
    parent = cut.getparent()
    if parent is not None:
        parent.remove(cut)
    return True


def _html_parser(*, huge: bool) -> HTMLParser:
    return HTMLParser(
        encoding="utf-8",
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
        default_doctype=False,
        huge_tree=huge,
    )


def _trafilatura(tree: HtmlElement, url: str | None, *, fast: bool) -> str:
    try:
        text = trafilatura.extract(
            tree,
            url=url,
            fast=fast,
            include_comments=False,
            favor_precision=False,
            favor_recall=not fast,
        )
    except Exception as exc:  # noqa: BLE001 - a third-party extractor must not sink the page
        log.debug("trafilatura failed on %s: %s", url, exc)
        return ""
    return text or ""
