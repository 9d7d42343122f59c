"""Repairs to an extracted article body: link blocks, repeated headlines, trailing promos, gaps."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lxml import etree
from lxml.html import HtmlElement

from parsers.text import clean_paragraphs, normalise_space, paragraph_key

# A block whose text is mostly link text is navigation (related stories, tag lists), not prose.
_LINK_SHARE = 0.85
_MAX_LINK_BLOCK = 300
_BLOCKS = etree.XPath("//p|//li|//h1|//h2|//h3|//h4|//h5|//h6|//dt|//dd|//figcaption|//td")
# A linked heading inside the body is usually a section title (a product, a place), not a teaser.
_HEADINGS = frozenset(("h2", "h3", "h4", "h5", "h6"))
_ANCHORS = etree.XPath("//a")
_STANDFIRST_HOLDERS = etree.XPath("//h2|//h3|//h4|//h5|//h6|//header//p")
_NON_WORD = re.compile(r"\W+")
_URL_ONLY = re.compile(r"^(?:https?://|www\.)\S+$", re.I)
# A labelled or bracketed link between paragraphs ("SEE MORE: ...", "[Related: ...]") is a promo.
_LINK_PROMO = re.compile(r"^\s*[\[(]|^\s*[^\W\d_][\w' ]{0,24}:\s")
_BULLET = re.compile(r"^[-•*▪►]\s+")
_TAG = re.compile(r"<[^<>]{0,500}>")

# Tail promos: only looked for in the last few short paragraphs, where sites put them.
_MAX_TAIL = 6
_MAX_PROMO = 300
_PROMO = re.compile(
    r"[\w.+-]+@[\w-]+\.[\w.-]+|^(?:you can |please )?follow (?:him|her|them|me|us)\b"
    r"|\bclick here (?:to|for)\b|^click here\b"
    r"|(?:^|[.!?]\s+)(?:please )?subscribe\b|\b(?:in|to) your inbox\b"
    r"|(?:^|[.!?]\s+)(?:sign up|get|join|receive)\b.{0,40}\bnewsletters?\b"
    r"|\b(?:may|might|will|can) (?:earn|get|receive|make) (?:a )?(?:small )?(?:commission|share"
    r" of (?:the )?sales?|affiliate)|^have a (?:news )?tip\b|^tell us what you think"
    r"|^\d*\s*comments?$|^(?:leave|post|add) a comment|^[*=~_ -]{3,}$|\bwe'?d (?:like|love) to hear"
    r"|^follow\b.{0,60}\b(?:on|at) (?:facebook|twitter|x|instagram|telegram|linkedin|youtube)\b"
    r"|^(?:abonnieren sie|abonnez-vous|suscríbete|iscriviti|assine|подпишитесь|підпишіться)\b",
    re.IGNORECASE,
)
# Where the prose scan looks: paragraphs, minus those in comments, asides and navigation.
_PROSE_HOLDERS = etree.XPath("//body//p")
_NOT_ARTICLE_TAGS = frozenset(("nav", "aside", "footer", "form", "header"))
# Class and id words of the page furniture around an article (shared with the date readers).
FURNITURE_MARKS = re.compile(
    r"comment|related|sidebar|widget|footer|teaser|promo|recommend", re.IGNORECASE
)
# Twin containers continuing a body cut up by adverts (see ``continuation``).
_PARAGRAPHS = etree.XPath(".//p")
_MAX_CLIMB = 2
_NO_TWINS = frozenset(("article", "main", "body", "html"))
_MIN_TWIN_PROSE = 300
_MIN_PROSE_PARAGRAPH = 80
_MAX_PARAGRAPH = 20_000
# Interview pages put the same short question to every guest; those repeats are content.
_SHORT_REPEAT = 160
# Below this many characters trafilatura has probably missed the body; a page whose every line
# is shorter than _MIN_SENTENCE holds no article at all.
_MIN_BODY = 250
_MIN_SENTENCE = 40


def improve_body(
    tree: HtmlElement,
    lines: list[str],
    *,
    title: str = "",
    standfirst: str = "",
    jsonld_body: str = "",
    url: str | None = None,
) -> list[str]:
    """Clean an extractor's lines into body paragraphs, falling back on JSON-LD ``articleBody``.

    ``standfirst`` is the page's description: when the body opens with it as a heading (a dek
    set under the headline) it is not body text. ``url`` tells the site's own links (teasers
    for its other stories) from the sources an author cites.
    """
    lines = [_BULLET.sub("", line.strip()) for line in lines if line.strip()]
    lines = [line for line in lines if not _URL_ONLY.match(line)]
    linked = link_lines(tree, {_squeeze(line) for line in lines})
    cited = _cited_elsewhere(tree, _lone_links(lines, linked), url)
    kept = [line for line in lines if _squeeze(line) not in linked - cited]
    paragraphs = clean_paragraphs(kept, repeat_below=_SHORT_REPEAT)
    extra = continuation(tree, paragraphs)
    if extra:
        paragraphs = clean_paragraphs(paragraphs + extra, repeat_below=_SHORT_REPEAT)
    paragraphs = _drop_standfirst(tree, _drop_title(paragraphs, title), standfirst)
    paragraphs = trim_tail(paragraphs) if _has_prose(paragraphs) else []
    fallback = _jsonld_paragraphs(jsonld_body)
    if sum(map(len, paragraphs)) < _MIN_BODY < sum(map(len, fallback)):
        return fallback
    return paragraphs


def _lone_links(lines: list[str], linked: set[str]) -> set[str]:
    """The link-text lines set alone between lines of prose, neither in a run of links (related
    stories, tag lists) nor at either end of the body, nor labelled or shouted like a promo."""
    is_link = [_squeeze(line) in linked for line in lines]
    lone: set[str] = set()
    for i, line in enumerate(lines):
        before = is_link[i - 1] if i > 0 else True
        after = is_link[i + 1] if i + 1 < len(lines) else True
        if is_link[i] and not (before or after or _LINK_PROMO.match(line) or _shouted(line)):
            lone.add(_squeeze(line))
    return lone


def _cited_elsewhere(tree: HtmlElement, keys: set[str], url: str | None) -> set[str]:
    """Those of ``keys`` whose block links only to other sites: a source the author cites
    ("The generation we love to dump on" under a post about it) is the author's text, where a
    link to the site's own story is a teaser."""
    if not keys:
        return set()
    host = _host(url or "")
    cited: set[str] = set()
    for el in _BLOCKS(tree):
        text = short_text(el, _MAX_LINK_BLOCK)
        key = _squeeze(text) if text else ""
        if key in keys:
            anchors = [*el.iter("a"), *el.iterancestors("a")]
            if anchors and all(_host(a.get("href") or "") not in ("", host) for a in anchors):
                cited.add(key)
    return cited


def _host(url: str) -> str:
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def _shouted(line: str) -> bool:
    """All capitals: a teaser for another story, not the author's sentence."""
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


def _has_prose(paragraphs: list[str]) -> bool:
    """False for what is left of a page without an article: a few menu words, no sentence."""
    longest = max(map(len, paragraphs), default=0)
    return longest >= _MIN_SENTENCE or sum(map(len, paragraphs)) >= _MIN_BODY


def link_lines(tree: HtmlElement, candidates: set[str]) -> set[str]:
    """Those of ``candidates`` (whitespace-free texts) that are link text on the page, not prose.

    A candidate that also appears as a plain block (a lede reused in a teaser card) is kept.
    Lines cut out of a larger block (links separated by ``<br>``) are judged by how much of
    them the page's link texts cover.
    """
    linked: set[str] = set()
    plain: set[str] = set()
    for el in _BLOCKS(tree):
        text = short_text(el, _MAX_LINK_BLOCK)
        key = _squeeze(text) if text else ""
        if key in candidates:
            (linked if _is_link_block(el, key) else plain).add(key)
    unmatched = {c for c in candidates - linked - plain if 0 < len(c) <= _MAX_LINK_BLOCK}
    if unmatched:
        texts = (short_text(a, _MAX_LINK_BLOCK) for a in _ANCHORS(tree))
        anchors = {_squeeze(t) for t in texts if t}
        # Short anchors ("Home", "World") only count whole, or they would match inside prose.
        long_anchors = {a for a in anchors if len(a) >= 10}
        linked |= {
            c
            for c in unmatched
            if c in anchors or _covered(c, long_anchors) >= _LINK_SHARE * _word_len(c)
        }
    return linked - plain


def short_text(el: HtmlElement, limit: int) -> str | None:
    """The text of ``el`` when it has at most ``limit`` characters, else None.

    Stops reading at the limit: calling ``text_content()`` on every block of a deeply nested
    page would copy the same text once per level.
    """
    parts: list[str] = []
    size = 0
    for piece in el.itertext():
        size += len(piece)
        if size > limit:
            return None
        parts.append(piece)
    return "".join(parts)


def _covered(line: str, anchors: set[str]) -> int:
    """How many letters and digits of ``line`` lie inside link texts, each counted once however
    many links (or nested link texts, "White House" in "the White House said") cover it."""
    hits = [anchor for anchor in anchors if anchor in line]
    if len(hits) < 2:
        return sum(map(_word_len, hits))
    covered = bytearray(len(line))
    for anchor in hits:
        start = line.find(anchor)
        while start >= 0:
            covered[start : start + len(anchor)] = b"\x01" * len(anchor)
            start = line.find(anchor, start + len(anchor))
    return sum(1 for char, hit in zip(line, covered, strict=True) if hit and char.isalnum())


def _word_len(text: str) -> int:
    """Letters and digits only: brackets and bars around a link ("[VIDEO]") are not prose."""
    return len(_NON_WORD.sub("", text))


def _squeeze(text: str) -> str:
    return "".join(text.split())


def _is_link_block(el: HtmlElement, key: str) -> bool:
    if next(el.iterancestors("a"), None) is not None:
        return True
    if el.tag in _HEADINGS:
        return False
    in_links = sum(_word_len(a.text_content()) for a in el.iter("a"))
    return bool(key) and in_links >= _LINK_SHARE * _word_len(key)


def _drop_standfirst(tree: HtmlElement, paragraphs: list[str], standfirst: str) -> list[str]:
    """Drop an opening paragraph that repeats the description and sits in a heading or header."""
    key = paragraph_key(standfirst)
    if len(key) < 20 or not paragraphs:
        return paragraphs
    first = paragraph_key(paragraphs[0])
    if first != key and not (first.startswith(key) and len(key) >= 60):
        return paragraphs
    squeezed, limit = _squeeze(paragraphs[0]), 2 * len(paragraphs[0])
    holders = (short_text(el, limit) for el in _STANDFIRST_HOLDERS(tree))
    if any(text and _squeeze(text) == squeezed for text in holders):
        return paragraphs[1:]
    return paragraphs


def _drop_title(paragraphs: list[str], title: str) -> list[str]:
    """Drop the headline when the extractor repeated it at the top of the body."""
    key = paragraph_key(title)
    if not key:
        return paragraphs
    head = [p for p in paragraphs[:3] if paragraph_key(p) != key]
    return head + paragraphs[3:]


def trim_tail(paragraphs: list[str]) -> list[str]:
    """Drop newsletter, social, contact and comment prompts from the end of the body."""
    end = len(paragraphs)
    floor = max(1, end - _MAX_TAIL)
    while end > floor and len(paragraphs[end - 1]) <= _MAX_PROMO:
        if not _PROMO.search(paragraphs[end - 1]):
            break
        end -= 1
    return paragraphs[:end]


def _jsonld_paragraphs(body: str) -> list[str]:
    if not body:
        return []
    if _TAG.search(body):
        body = _TAG.sub("\n", body)
    return clean_paragraphs(normalise_space(p) for p in body.splitlines())


def continuation(tree: HtmlElement, paragraphs: list[str]) -> list[str]:
    """Paragraphs from containers twinned with the body's own (same tag and class) that follow it.

    Some sites cut one story into several sibling blocks around adverts; extractors keep the
    first. A twin is taken only when it holds real prose, nothing already extracted and no
    headline of its own, and never across ``<article>`` elements, which on a page of several
    stories are different stories.
    """
    keys = {_squeeze(p) for p in paragraphs}
    node = _body_container(tree, keys)
    for _ in range(_MAX_CLIMB + 1):
        if node is None or node.tag in _NO_TWINS:
            return []
        twins = _following_twins(node)
        if twins:
            return [text for twin in twins for text in _prose(twin, keys)]
        node = node.getparent()
    return []


def _body_container(tree: HtmlElement, keys: set[str]) -> HtmlElement | None:
    counts: dict[HtmlElement, int] = {}
    limit = 2 * max(map(len, keys), default=0)
    for p in _PARAGRAPHS(tree):
        parent = p.getparent()
        text = short_text(p, limit)
        if parent is not None and text and _squeeze(text) in keys:
            counts[parent] = counts.get(parent, 0) + 1
    return max(counts, key=counts.__getitem__) if counts else None


def _following_twins(node: HtmlElement) -> list[HtmlElement]:
    cls = node.get("class")
    if not cls:
        return []
    twins = [s for s in node.itersiblings() if s.tag == node.tag and s.get("class") == cls]
    return [t for t in twins if next(t.iter("h1", "article"), None) is None]


def _prose(twin: HtmlElement, known: set[str]) -> list[str]:
    texts: list[str] = []
    for p in _PARAGRAPHS(twin):
        if next(p.iterancestors("aside", "figure", "a"), None) is not None:
            continue
        text = normalise_space(short_text(p, _MAX_PARAGRAPH) or "")
        key = _squeeze(text)
        if key in known or any(k in key for k in known if len(k) >= _MIN_PROSE_PARAGRAPH):
            return []  # the extractor already took from this block, so it chose what to leave
        if key and not _is_link_block(p, key):
            texts.append(text)
    long_enough = any(len(t) >= _MIN_PROSE_PARAGRAPH for t in texts)
    return texts if long_enough and sum(map(len, texts)) >= _MIN_TWIN_PROSE else []


def page_prose(tree: HtmlElement, enough: int) -> int:
    """Characters of prose in the page's paragraphs outside comments, asides and navigation,
    counted until ``enough`` is reached."""
    total = 0
    for p in _PROSE_HOLDERS(tree):
        text = short_text(p, _MAX_PARAGRAPH) or ""
        if len(text) >= _MIN_PROSE_PARAGRAPH and not _outside_article(p):
            total += len(text)
            if total > enough:
                break
    return total


def prose_paragraphs(tree: HtmlElement) -> list[str]:
    """The page's prose paragraphs under the one container that holds the most of them: the
    last-resort body when extractors find nothing. Comments and asides are left out."""
    by_parent: dict[HtmlElement, list[str]] = {}
    for p in _PROSE_HOLDERS(tree):
        text = normalise_space(short_text(p, _MAX_PARAGRAPH) or "")
        parent = p.getparent()
        if text and parent is not None and not _outside_article(p):
            by_parent.setdefault(parent, []).append(text)
    if not by_parent:
        return []
    best = max(by_parent.values(), key=lambda texts: sum(map(len, texts)))
    return best if any(len(t) >= _MIN_PROSE_PARAGRAPH for t in best) else []


def _outside_article(el: HtmlElement) -> bool:
    """In comments, asides, navigation or page furniture, or in a teaser card (an ``<article>``
    inside another one)."""
    articles = 0
    for node in el.iterancestors():
        marks = f"{node.get('class') or ''} {node.get('id') or ''}"
        if node.tag in _NOT_ARTICLE_TAGS or FURNITURE_MARKS.search(marks):
            return True
        articles += node.tag == "article"
    return articles > 1
