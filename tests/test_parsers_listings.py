"""parse_listing: CSS selectors, general article-link heuristics on several page styles."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from newswatch.errors import ParseError
from parsers.listings import compile_selector, parse_listing, site_key

FIXTURES = Path(__file__).parent / "fixtures" / "listings"
BROADCASTER = "https://www.broadcaster.example/news/world/"
DAILY = "https://www.daily.example/world/europe-news"
WIRE = "https://www.wire.co.uk/hub/russia-ukraine"


def links(name: str, url: str, selector: str | None = None) -> list[tuple[str, str]]:
    html = (FIXTURES / name).read_bytes()
    return [(link.url, link.title) for link in parse_listing(html, url, selector)]


# --- heuristics on three differently built index pages -------------------------------------


@pytest.mark.parametrize(
    ("name", "url", "expected"),
    [
        pytest.param(
            "broadcaster-world.html",
            BROADCASTER,
            [
                (
                    "https://www.broadcaster.example/news/ukraine/2022/0228/1283563-ukraine-russia-talks/",
                    "Russian and Ukrainian delegations end first round of talks",
                ),
                (
                    "https://www.broadcaster.example/news/ukraine/2022/0228/1283540-eu-airspace-sanctions/",
                    "EU shuts its airspace to Russian aircraft",
                ),
                (
                    "https://www.broadcaster.example/news/ukraine/2022/0228/1283512-refugees-un/",
                    "Humanitarian Half a million have now fled Ukraine",
                ),
                (
                    "https://www.broadcaster.example/news/ukraine/2022/0228/1283500-live-ukraine-russia/",
                    "LIVE: Latest updates as talks end near the border",
                ),
                (
                    "https://www.broadcaster.example/news/world/2022/0227/1283400-putin-nuclear-alert/",
                    "Putin puts deterrence forces on alert",
                ),
                (
                    "https://radio.broadcaster.example/2022/0228/1283600-morning-programme-ukraine-interview/",
                    "Interview: a Kyiv resident on the first days of the invasion",
                ),
                (
                    "https://www.broadcaster.example/news/player/videos/2022/0228/21345678/",
                    "Watch: queues at the border",
                ),
            ],
            id="broadcaster-articles-and-chrome",
        ),
        pytest.param(
            "daily-europe.html",
            DAILY,
            [
                (
                    "https://www.daily.example/world/2022/feb/28/ukraine-russia-talks-belarus-border-second-round",
                    "Ukraine Talks end with agreement to meet again",
                ),
                ("https://www.daily.example/world/2022/feb/28/kyiv-curfew", "Kyiv curfew lifted"),
                (
                    "https://www.daily.example/world/live/2022/feb/28/russia-ukraine-war-latest-news-talks-sanctions",
                    "Russia-Ukraine war latest: what we know on day five of the invasion",
                ),
                (
                    "https://www.daily.example/business/2022/feb/28/rouble-falls-sanctions-central-bank",
                    "Rouble falls",
                ),
                (
                    "https://www.daily.example/world/2022/feb/27/belarus-referendum-nuclear-weapons",
                    "Belarus votes to drop non-nuclear status",
                ),
            ],
            id="newspaper-base-href-and-class-menus",
        ),
        pytest.param(
            "wire-hub.html",
            WIRE,
            [
                (
                    "https://www.wire.co.uk/article/russia-ukraine-kyiv-talks-belarus-9b2c1d6e4f7a8b3c",
                    "Ukraine, Russia hold first talks as fighting goes on",
                ),
                (
                    "https://www.wire.co.uk/article/russia-sanctions-swift-central-bank-1f2e3d4c5b6a7980",
                    "West moves to cut Russian banks from SWIFT",
                ),
                (
                    "https://photos.wire.co.uk/gallery/refugees-poland-border-photos-5d4c3b2a19",
                    "Photos: refugees arrive in Poland by train and on foot",
                ),
                (
                    "https://www.wire.co.uk/article/un-general-assembly-emergency-session-vote-7a6b5c4d3e2f",
                    "UN assembly",
                ),
                (
                    "https://www.wire.co.uk/video/ukraine-border-crossing-queues-video-2e3f4a5b6c7d",
                    "Video",
                ),
            ],
            id="agency-roles-and-co-uk",
        ),
    ],
)
def test_heuristic_links(name: str, url: str, expected: list[tuple[str, str]]) -> None:
    assert links(name, url) == expected


def heuristic(body: str, url: str = "https://news.example/world/") -> list[str]:
    html = f"<html><body>{body}</body></html>"
    return [link.url for link in parse_listing(html, url)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            '<main><a href="/world/2022/02/28/talks">Talks</a></main>',
            ["https://news.example/world/2022/02/28/talks"],
            id="date-path",
        ),
        pytest.param(
            '<main><a href="/story/12345678">Story</a></main>',
            ["https://news.example/story/12345678"],
            id="numeric-id",
        ),
        pytest.param(
            '<main><a href="/read?id=4412">x</a></main>',
            ["https://news.example/read?id=4412"],
            id="id-query",
        ),
        pytest.param(
            '<main><a href="/world/refugees-cross-into-poland-from-lviv">x</a></main>',
            ["https://news.example/world/refugees-cross-into-poland-from-lviv"],
            id="slug",
        ),
        pytest.param(
            '<main><a href="/world/europe">Europe</a><a href="/world/middle-east-and-africa">'
            "Middle East and Africa</a></main>",
            [],
            id="sections",
        ),
        pytest.param(
            '<main><a href="/x">Ceasefire talks resume at the border town</a></main>',
            ["https://news.example/x"],
            id="headline-text",
        ),
        pytest.param(
            "<nav><a href='/2022/02/28/a-1'>In the nav: five words or more</a></nav>"
            "<header><a href='/2022/02/28/b-2'>In the page header: five words</a></header>"
            "<footer><a href='/2022/02/28/c-3'>In the page footer: five words</a></footer>"
            "<aside><a href='/2022/02/28/d-4'>In an aside: five words here</a></aside>"
            "<div role='navigation'><a href='/2022/02/28/e-5'>Role navigation, five words</a></div>"
            "<ul class='main-menu'><li><a href='/2022/02/28/f-6'>Class menu link, five words</a>"
            "</li></ul>",
            [],
            id="chrome",
        ),
        pytest.param(
            "<article><header><h2><a href='/2022/02/28/kept'>Kept</a></h2></header>"
            "<footer><a href='/2022/02/28/kept-too'>Kept too</a></footer></article>",
            ["https://news.example/2022/02/28/kept", "https://news.example/2022/02/28/kept-too"],
            id="header-footer-inside-article",
        ),
        pytest.param(
            "<a href='/tag/ukraine-russia-war-coverage'>All coverage of the war in one place</a>"
            "<a href='/author/jane-example'>Articles by Jane Example, correspondent</a>"
            "<a href='/search?q=ukraine'>Search for more stories about this</a>"
            "<a href='/login'>Log in to read more of our stories</a>"
            "<a href='/world/page/2'>More stories from the world desk</a>"
            "<a href='/world/?page=3'>Even more stories from the world desk</a>"
            "<a href='/img/2022/02/28/map-of-the-front-lines.png'>Map of the front lines today</a>"
            "<a href='/feeds/world.xml'>Subscribe to our world news feed</a>",
            [],
            id="non-articles",
        ),
        pytest.param(
            "<a href='https://other.example/2022/02/28/x'>An article on another news site</a>"
            "<a href='https://cdn.news.example/2022/02/28/x'>Same site, another subdomain</a>"
            "<a href='https://accounts.news.example/2022/02/28/x'>Account pages are not news</a>",
            ["https://cdn.news.example/2022/02/28/x"],
            id="site",
        ),
        pytest.param(
            "<a href='javascript:go(\"/2022/02/28/x\")'>Script link with a long headline</a>"
            "<a href='mailto:desk@news.example'>Write to the desk about this story</a>"
            "<a href='data:text/html,hi'>Data link with a long headline here</a>"
            "<a href='#top'>Back to the top of this page now</a>"
            "<a href='/world/'>This very listing page, once again</a>"
            "<a href='/'>The home page of the news site here</a>",
            [],
            id="unusable",
        ),
        pytest.param(
            "<a href='/2022/02/28/a#comments'>12 comments</a>"
            "<a href='/2022/02/28/a?utm_source=home'>Duplicate with tracking</a>"
            "<a href='/2022/02/28/b'>Second</a><a href='/2022/02/28/a'>Third time</a>",
            ["https://news.example/2022/02/28/a", "https://news.example/2022/02/28/b"],
            id="dedupe-keeps-page-order",
        ),
    ],
)
def test_heuristic_rules(body: str, expected: list[str]) -> None:
    assert heuristic(body) == expected


def test_headline_replaces_weak_title() -> None:
    body = (
        "<a href='/2022/02/28/a'><img src='x.jpg' alt='Photo'></a>"
        "<a href='/2022/02/28/a'>Delegations agree to meet again next week</a>"
        "<a href='/2022/02/28/a'>Read more</a>"
    )
    (link,) = parse_listing(f"<body>{body}</body>", "https://news.example/")
    assert link.title == "Delegations agree to meet again next week"


def test_wrapper_named_like_sidebar_is_not_chrome() -> None:
    body = "<div class='has-sidebar'>" + "".join(
        f"<a href='/2022/02/28/story-{i}'>Story {i}</a>" for i in range(4)
    )
    assert len(heuristic(body + "</div>")) == 4


# --- with a CSS selector -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        pytest.param(
            "article h2 a, article h3 a",
            [
                "https://www.broadcaster.example/news/ukraine/2022/0228/1283563-ukraine-russia-talks/",
                "https://www.broadcaster.example/news/ukraine/2022/0228/1283540-eu-airspace-sanctions/",
                "https://www.broadcaster.example/news/ukraine/2022/0228/1283500-live-ukraine-russia/",
            ],
            id="anchors",
        ),
        pytest.param(
            "aside.most-read li",
            [
                "https://www.broadcaster.example/news/ireland/2022/0228/1283555-storm-warning-for-the-west/"
            ],
            id="non-anchor-takes-first-descendant-link",
        ),
        pytest.param(
            "footer a",
            [
                "https://www.broadcaster.example/about/",
                "https://www.broadcaster.example/contact/",
                "https://www.broadcaster.example/about/privacy-notice/",
                "https://www.broadcaster.example/news/2022/0228/1283590-corrections-and-clarifications-this-week/",
            ],
            id="selector-overrides-heuristics",
        ),
        pytest.param(".no-such-class", [], id="nothing-selected"),
        pytest.param(
            "ul li a",
            [
                "https://www.broadcaster.example/news/",
                "https://www.broadcaster.example/news/world/",
                "https://www.broadcaster.example/news/ukraine/",
                "https://www.broadcaster.example/news/2022/0228/1283001-traffic-and-travel-updates-for-the-capital/",
                "https://www.broadcaster.example/sport/",
                "https://accounts.broadcaster.example/login",
                "https://www.broadcaster.example/news/world/2022/0227/1283400-putin-nuclear-alert/",
                "https://radio.broadcaster.example/2022/0228/1283600-morning-programme-ukraine-interview/",
                "https://www.otheroutlet.example/news/2022/02/28/story-about-the-talks",
                "https://www.broadcaster.example/news/player/videos/2022/0228/21345678/",
                "https://www.broadcaster.example/documents/2022/draft-resolution-general-assembly.pdf",
                "https://www.broadcaster.example/news/authors/aoife-example/",
                "https://www.broadcaster.example/tag/refugees/",
                "https://www.broadcaster.example/feeds/rss/?index=/news/world/",
                "https://www.broadcaster.example/news/world/?page=2",
                "https://www.facebook.example/sharer?u=https://www.broadcaster.example/news/world/",
                "https://www.broadcaster.example/about/",
                "https://www.broadcaster.example/contact/",
                "https://www.broadcaster.example/about/privacy-notice/",
                "https://www.broadcaster.example/news/2022/0228/1283590-corrections-and-clarifications-this-week/",
            ],
            id="only-http-links-deduplicated",
        ),
    ],
)
def test_selector(selector: str, expected: list[str]) -> None:
    assert [url for url, _ in links("broadcaster-world.html", BROADCASTER, selector)] == expected


def test_selector_titles_and_base_href() -> None:
    found = links("daily-europe.html", DAILY, "li.fc-item a.fc-item__link")
    assert found[0] == (
        "https://www.daily.example/world/2022/feb/28/ukraine-russia-talks-belarus-border-second-round",
        "Ukraine Talks end with agreement to meet again",
    )
    assert len(found) == 4


@pytest.mark.parametrize("selector", ["a[href", "::nonsense", "a:unknown-pseudo", "div >> a"])
def test_invalid_selector_is_a_parse_error(selector: str) -> None:
    with pytest.raises(ParseError, match="invalid CSS selector"):
        parse_listing("<a href='/x'>x</a>", "https://news.example/", selector)
    with pytest.raises(ParseError):
        compile_selector(selector)


# --- helpers and hostile input -------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("www.bbc.co.uk", "bbc.co.uk"),
        ("news.bbc.co.uk", "bbc.co.uk"),
        ("www.abc.net.au", "abc.net.au"),
        ("www.rte.ie", "rte.ie"),
        ("edition.cnn.com", "cnn.com"),
        ("WWW.Example.COM.", "example.com"),
        ("localhost", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
    ],
)
def test_site_key(host: str, expected: str) -> None:
    assert site_key(host) == expected


def test_bytes_with_declared_encoding() -> None:
    html = (
        '<html><head><meta charset="windows-1252"></head><body>'
        "<a href='/2022/02/28/a'>Gespräche an der Grenze beendet</a></body></html>"
    ).encode("cp1252")
    (link,) = parse_listing(html, "https://news.example/")
    assert link.title == "Gespräche an der Grenze beendet"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"   ", id="blank"),
        pytest.param(random.Random(11).randbytes(5_000_000), id="5MB-random"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 100, id="png"),
    ],
)
def test_not_html_raises_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_listing(data, "https://news.example/")


@pytest.mark.parametrize(
    "html",
    [
        pytest.param("<div>" * 100_000 + "<a href='/2022/02/28/deep'>deep</a>", id="deep-nesting"),
        pytest.param("<a href='/2022/02/28/x'>" * 5_000, id="unclosed-anchors"),
        pytest.param("<html><body><a href='/2022/02/28/x'>cut", id="truncated"),
        pytest.param("<?xml version='1.0' encoding='utf-8'?><rss><channel/></rss>", id="xml"),
        pytest.param("plain text, no markup at all", id="plain-text"),
    ],
)
@pytest.mark.parametrize("selector", [None, "a"])
def test_hostile_html_never_crashes(html: str, selector: str | None) -> None:
    found = parse_listing(html, "https://news.example/", selector)
    assert all(link.url.startswith("https://news.example/") for link in found)
