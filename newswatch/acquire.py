"""Source → items, item → observation: what a feed, sitemap, listing or page yields, parsed.

The one place that knows which parser reads which source kind. Fetching goes through a
`Getter`, which holds back HTTP validators until the caller has stored what a response led to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urldefrag

from newswatch.errors import FetchError, ParseError
from newswatch.fetch import Fetcher
from newswatch.models import FetchResult, Item, Observation, Sitemap, Source, Validators
from newswatch.parsing import InProcess
from parsers.feeds import read_feed
from parsers.sitemaps import parse_sitemap

MAX_CHILD_SITEMAPS = 10  # of a sitemap index, the first ones (news indexes list newest first)

# Told about a part of a source that failed or was damaged while the rest was read: (url, error).
Problem = Callable[[str, Exception], None]


def _ignore(_url: str, _exc: Exception) -> None:
    return None


class Getter:
    """Conditional GETs for one source, holding back the validators of what it fetched.

    Validators are kept in `pending` until the caller has stored what the response led to: a
    run killed before that must fetch the same content again, not be told "304 Not Modified"
    about items it never recorded.
    """

    def __init__(
        self, fetcher: Fetcher, source: Source, load: Callable[[str], Validators | None]
    ) -> None:
        self.fetcher, self.source, self.load = fetcher, source, load
        self.pending: dict[str, Validators] = {}
        self.deadline: float | None = None  # time.monotonic() when the source's budget runs out
        self._loaded: dict[str, Validators | None] = {}

    def preload(
        self, urls: Iterable[str], load_many: Callable[[list[str]], dict[str, Validators]]
    ) -> None:
        """Read the validators of URLs about to be fetched in one go instead of one by one."""
        wanted = list(urls)
        found = load_many(wanted)
        self._loaded.update((u, found.get(u)) for u in wanted)

    def __call__(self, url: str, found_on: str | None) -> FetchResult:
        sent = self._loaded.pop(url) if url in self._loaded else self.load(url)
        result = self.fetcher.fetch(
            url,
            self.source.settings,
            validators=sent,
            found_on=found_on,
            deadline=self.deadline,
        )
        if not result.not_modified and (result.validators.etag or result.validators.last_modified):
            self.pending[url] = result.validators
        return result


def normalise_url(url: str) -> str:
    return urldefrag(url.strip())[0]


def discover(source: Source, get: Getter, problem: Problem = _ignore) -> list[Item] | None:
    """The items a feed, sitemap or listing lists now; None when the source is unchanged (304).

    A `page` source is its own single item. Damage the source was read through, and child
    sitemaps that failed while others were read, go to ``problem``.
    """
    if source.kind == "page":
        return [Item(normalise_url(source.url))]
    result = get(source.url, None)
    if result.not_modified:
        return None
    url = result.final_url or source.url
    if source.kind == "feed":
        feed = read_feed(result.content, url, summaries=False)  # an item keeps no summary
        del result  # a feed of 100,000 items is 50 MB of bytes: gone before its items are made
        _tell(problem, url, feed.problems)
        return [Item(normalise_url(e.url), e.title, e.published or e.updated) for e in feed.entries]
    if source.kind == "listing":
        from parsers.listings import parse_listing  # soupsieve and bs4: ~150 ms, listings only

        links = parse_listing(result.content, url, source.links)
        return [Item(normalise_url(link.url), link.title) for link in links]
    return _sitemap_items(source, result, get, problem)


def _tell(problem: Problem, url: str, problems: tuple[str, ...]) -> None:
    for text in problems:
        problem(url, ParseError(text))


def _sitemap_items(
    source: Source, result: FetchResult, get: Getter, problem: Problem
) -> list[Item]:
    """The sitemap's entries, and those of its first child sitemaps. A child that fails is
    reported and skipped; only when every child fails does the source fail."""
    sitemap = _read_sitemap(source, result, result.final_url or source.url, problem)
    entries = list(sitemap.entries)
    failures: list[FetchError | ParseError] = []
    children = sitemap.sitemaps[:MAX_CHILD_SITEMAPS]
    for child in children:
        try:
            child_result = get(child, source.url)
            if not child_result.not_modified:
                where = child_result.final_url or child
                entries += _read_sitemap(source, child_result, where, problem).entries
        except (FetchError, ParseError) as exc:
            failures.append(exc)
            problem(child, exc)
    if children and len(failures) == len(children):
        raise failures[0]
    return [Item(normalise_url(e.url), e.title, e.published or e.lastmod) for e in entries]


def _read_sitemap(source: Source, result: FetchResult, where: str, problem: Problem) -> Sitemap:
    cap = source.settings.max_bytes  # also the cap on a .gz sitemap once decompressed
    sitemap = parse_sitemap(result.content, where, max_bytes=cap)
    _tell(problem, where, sitemap.problems)
    return sitemap


IN_PROCESS = InProcess()


def observe(
    source: Source, url: str, get: Getter, parsing: InProcess = IN_PROCESS
) -> Observation | None:
    """Fetch and parse one article (or the page of a `page` source); None when not modified."""
    found_on = None if source.kind == "page" else source.url
    result = get(url, found_on)
    if result.not_modified:
        return None
    if source.kind == "page":
        page = parsing.page(result.content, result.final_url or url)
        return Observation(
            source=source.name,
            url=url,
            kind="page",
            title=page.title,
            # An entry's headline is text too: a one-line update may carry its news there.
            paragraphs=tuple(
                p for e in page.entries for p in ((e.title,) if e.title else ()) + e.paragraphs
            ),
            published=min((e.published for e in page.entries if e.published), default=None),
            updated=page.updated,
            canonical_url=page.canonical_url,
            language=page.language,
        )
    article = parsing.article(result.content, result.final_url or url)
    return Observation(
        source=source.name,
        url=url,
        kind="article",
        title=article.title,
        paragraphs=tuple(article.paragraphs),
        published=article.published,
        updated=article.updated,
        canonical_url=article.canonical_url,
        language=article.language,
        authors=tuple(article.authors),
    )
