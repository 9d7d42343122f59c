"""Article extraction on captured-style pages: metadata, clean bodies, encodings, hostile input."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newswatch.errors import ParseError
from newswatch.models import Article
from parsers import articles
from parsers.articles import parse_article
from parsers.decoding import decode_html

FIXTURES = Path(__file__).parent / "fixtures" / "articles"
URL = "https://news.example.org/world/story"


def fixture(name: str) -> Article:
    return parse_article((FIXTURES / name).read_bytes(), URL)


def page(head: str = "", body: str = "", html_attrs: str = "") -> str:
    """A small page with enough prose for the extractor to treat it as an article."""
    prose = "".join(
        f"<p>Paragraph {i} says the delegations met near the border and agreed to talk again.</p>"
        for i in range(6)
    )
    return (
        f"<!DOCTYPE html><html {html_attrs}><head>{head}</head>"
        f"<body><article>{body or prose}</article></body></html>"
    )


def when(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# --- captured-style fixtures ------------------------------------------------------------------

FIXTURE_METADATA = [
    (
        "jsonld-graph.html",
        "Ukraine and Russia agree to hold second round of talks",
        "2022-02-28T09:12:00+00:00",
        "2022-02-28T14:05:00+00:00",
        ["Aoife Byrne", "Tomasz Nowak"],
        "en-IE",
        "https://news.example.ie/world/2022/0228/talks-belarus-border/",
    ),
    (
        "time-no-jsonld.html",
        "Queues grow at Medyka crossing as refugees reach Poland",
        "2022-02-27T18:30:00+01:00",
        None,
        ["Marta Zielinska"],
        "en-GB",
        URL,
    ),
    (
        "paywall-consent.html",
        "West moves to cut Russian banks from SWIFT",
        "2022-02-26T22:40:00+00:00",
        "2022-02-27T07:15:00+00:00",
        ["Daniel Reyes", "Claire Dubois"],
        "en-US",
        "https://news.example.org/economy/2022/02/26/swift-sanctions",
    ),
    (
        "windows-1252.html",
        "L’Élysée annonce un appel entre Macron et Poutine",
        "2022-02-28T16:45:00+01:00",
        None,
        ["Hélène Leclerc"],
        "fr",
        URL,
    ),
    (
        "split-body.html",
        "Inside the week that reshaped European sanctions policy",
        "2022-03-01T06:00:00+00:00",
        None,
        ["Lena Fischer"],
        "en",
        URL,
    ),
]


@pytest.mark.parametrize(
    ("name", "title", "published", "updated", "authors", "language", "canonical"),
    FIXTURE_METADATA,
)
def test_fixture_metadata(
    name: str,
    title: str,
    published: str,
    updated: str | None,
    authors: list[str],
    language: str,
    canonical: str,
) -> None:
    article = fixture(name)
    assert article.title == title
    assert article.published == when(published)
    assert article.updated == (when(updated) if updated else None)
    assert article.published is not None
    assert article.published.utcoffset() == datetime.fromisoformat(published).utcoffset()
    assert article.authors == authors
    assert article.language == language
    assert article.canonical_url == canonical
    assert article.url == URL


FIXTURE_BODIES = [
    (
        "jsonld-graph.html",
        "Negotiators from Ukraine and Russia ended their first meeting",
        "more than half a million people had now fled Ukraine",
        [
            "consent",
            "Manage Preferences",
            "Read more",
            "EU shuts its airspace",
            "What removing banks from SWIFT means",
            "Photo: Reuters",
            "Advertisement",
            "Share this article",
            "Updated at 14:05",
            "Shelling reported",
            "Ukraine and Russia agree to hold second round of talks",
        ],
    ),
    (
        "time-no-jsonld.html",
        "Families carrying suitcases and pets waited for hours",
        "Men aged between 18 and 60 have been barred from leaving Ukraine",
        ["Follow us on Twitter", "2 hours ago", "Latest headlines", "Published"],
    ),
    (
        "paywall-consent.html",
        "The United States, the European Union, Britain and Canada said on Saturday",
        "Economists expected the rouble to fall sharply",
        [
            "cookies",
            "Accept all",
            "Related: How the SWIFT network works",
            "Subscribe to keep reading",
            "Have a tip",
            "newsletter",
            "Allies also target the central bank",  # the standfirst repeats the description
        ],
    ),
    (
        "windows-1252.html",
        "Le président français a parlé lundi au téléphone avec Vladimir Poutine",
        "300 milliards €",
        ["Mis à jour", "�"],
    ),
    (
        "split-body.html",
        "For years European governments had argued",
        "the cost of doing nothing had become greater",
        ["Advertisement"],
    ),
]


@pytest.mark.parametrize(("name", "first", "kept", "gone"), FIXTURE_BODIES)
def test_fixture_body(name: str, first: str, kept: str, gone: list[str]) -> None:
    article = fixture(name)
    assert article.paragraphs[0].startswith(first)
    assert kept in article.text
    for junk in gone:
        assert junk not in article.text, junk
    assert article.text == "\n".join(article.paragraphs)
    assert len(set(article.paragraphs)) == len(article.paragraphs)


def test_page_without_article_has_no_paragraphs() -> None:
    article = fixture("no-article.html")
    assert article.paragraphs == []
    assert article.title == "Daily Example"
    assert article.published is None and article.updated is None


def test_str_and_bytes_give_the_same_article() -> None:
    raw = (FIXTURES / "jsonld-graph.html").read_bytes()
    assert parse_article(raw.decode("utf-8"), URL) == parse_article(raw, URL)


def test_url_is_optional() -> None:
    article = parse_article((FIXTURES / "time-no-jsonld.html").read_bytes())
    assert article.url is None and article.canonical_url is None
    assert article.title.startswith("Queues grow")


# --- encodings --------------------------------------------------------------------------------


def test_windows_1252_without_a_declared_charset() -> None:
    raw = (FIXTURES / "windows-1252.html").read_bytes()
    unlabelled = raw.replace(b"; charset=windows-1252", b"")
    article = parse_article(unlabelled, URL)
    assert article.title == "L’Élysée annonce un appel entre Macron et Poutine"
    assert "€" in article.text


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xef\xbb\xbf<p>caf\xc3\xa9</p>", "<p>café</p>"),
        ("<p>café</p>".encode("utf-16"), "<p>café</p>"),
        (
            b'<meta charset="iso-8859-1"><p>\x80 caf\xe9</p>',
            '<meta charset="iso-8859-1"><p>€ café</p>',
        ),
        (b"<?xml version='1.0' encoding='koi8-r'?><p>\xcd\xc9\xd2</p>", None),
        (
            b'<meta charset="no-such-codec"><p>caf\xc3\xa9</p>',
            '<meta charset="no-such-codec"><p>café</p>',
        ),
        (b'<meta charset="utf-16"><p>caf\xc3\xa9</p>', '<meta charset="utf-16"><p>café</p>'),
        (b"<p>caf\xc3\xa9 and one stray \xff byte</p>", "<p>café and one stray \ufffd byte</p>"),
        (b"<p>" + b"caf\xe9 " * 50 + b"</p>", "<p>" + "café " * 50 + "</p>"),
    ],
)
def test_decode_html(data: bytes, expected: str | None) -> None:
    text = decode_html(data)
    if expected is None:
        assert "мир" in text
    else:
        assert text == expected


# --- metadata rules ---------------------------------------------------------------------------


def jsonld(obj: str) -> str:
    return f'<script type="application/ld+json">{obj}</script>'


@pytest.mark.parametrize(
    ("head", "published", "updated"),
    [
        # a page that gives no modification date must not get one
        ('<meta property="article:published_time" content="2022-02-28T09:00:00Z">', "09:00", None),
        (
            '<meta property="article:published_time" content="2022-02-28T09:00:00Z">'
            '<meta property="og:updated_time" content="2022-02-28T11:30:00Z">',
            "09:00",
            "11:30",
        ),
        # a modification before publication is a template error
        (
            jsonld(
                '{"@type": "NewsArticle", "headline": "h", "datePublished": "2022-02-28T09:00:00Z",'
                ' "dateModified": "2022-02-27T09:00:00Z"}'
            ),
            "09:00",
            None,
        ),
        # JSON-LD wins over meta tags
        (
            jsonld('{"@type": ["NewsArticle"], "datePublished": "2022-02-28T10:00:00+01:00"}')
            + '<meta property="article:published_time" content="2022-02-28T12:00:00Z">',
            "09:00",
            None,
        ),
        ('<meta name="sailthru.date" content="Mon, 28 Feb 2022 09:00:00 GMT">', "09:00", None),
        ('<meta name="DC.date.issued" content="2022-02-28T09:00Z">', "09:00", None),
    ],
)
def test_dates(head: str, published: str, updated: str | None) -> None:
    article = parse_article(page(head), URL)
    assert article.published == when(f"2022-02-28T{published}:00+00:00")
    assert article.updated == (when(f"2022-02-28T{updated}:00+00:00") if updated else None)


def test_time_elements_fill_published_and_updated() -> None:
    body = (
        '<p>Posted <time datetime="2022-02-28T09:00:00Z">9am</time>, updated '
        '<time class="updated" datetime="2022-02-28T13:00:00Z">1pm</time></p>'
        + "<p>The delegations met near the border and agreed to meet again next week.</p>"
        * 4
    )
    article = parse_article(page(body=body), URL)
    assert article.published == when("2022-02-28T09:00:00+00:00")
    assert article.updated == when("2022-02-28T13:00:00+00:00")


@pytest.mark.parametrize(
    ("head", "attrs", "language"),
    [
        ("", 'lang="EN_gb"', "en-GB"),
        ("", 'lang="uk"', "uk"),
        ('<meta property="og:locale" content="ru_RU">', "", "ru-RU"),
        (
            jsonld('{"@type": "Article", "headline": "h", "inLanguage": {"alternateName": "pl"}}'),
            'lang="en"',
            "pl",
        ),
        ("", 'lang="not a language"', None),
        ("", "", None),
    ],
)
def test_language(head: str, attrs: str, language: str | None) -> None:
    assert parse_article(page(head, html_attrs=attrs), URL).language == language


@pytest.mark.parametrize(
    ("head", "authors"),
    [
        (
            jsonld('{"@type": "NewsArticle", "headline": "h", "author": "By Oksana Petrenko"}'),
            ["Oksana Petrenko"],
        ),
        (
            jsonld(
                '{"@type": "NewsArticle", "headline": "h",'
                ' "author": {"@type": "Person", "name": ["A One", "B Two"]}}'
            ),
            ["A One", "B Two"],
        ),
        (
            '<meta name="author" content="Ivan Horak"><meta name="author" content="ivan horak">'
            '<meta property="article:author" content="https://facebook.com/someone">',
            ["Ivan Horak"],
        ),
        ("", []),
    ],
)
def test_authors(head: str, authors: list[str]) -> None:
    assert parse_article(page(head), URL).authors == authors


@pytest.mark.parametrize(
    ("head", "canonical"),
    [
        (
            '<link rel="canonical" href="/world/canonical-story?x=1#top">',
            "https://news.example.org/world/canonical-story?x=1",
        ),
        (
            '<link rel="Canonical" href="javascript:alert(1)"><meta property="og:url" content="https://m.example.org/s">',
            "https://m.example.org/s",
        ),
        (
            jsonld(
                '{"@type": "NewsArticle", "headline": "h", "mainEntityOfPage": "https://example.org/main"}'
            ),
            "https://example.org/main",
        ),
        ("", URL),
    ],
)
def test_canonical_url(head: str, canonical: str) -> None:
    assert parse_article(page(head), URL).canonical_url == canonical


@pytest.mark.parametrize(
    ("head", "title"),
    [
        (
            jsonld('{"@type": "schema:NewsArticle", "headline": "JSON-LD headline"}'),
            "JSON-LD headline",
        ),
        (jsonld('{"@type": "NewsArticle", "headline": "Broken",'), "Fallback title"),
        (
            jsonld(
                '{"@type": "ItemList",'
                ' "itemListElement": [{"@type": "NewsArticle", "headline": "Other story"}]}'
            ),
            "Fallback title",
        ),
        (
            '<meta property="og:title" content="Talks resume | Example News">'
            '<meta property="og:site_name" content="Example News">',
            "Talks resume",
        ),
        ("", "Fallback title"),
    ],
)
def test_title(head: str, title: str) -> None:
    assert parse_article(page(head + "<title>Fallback title | Site</title>"), URL).title == title


# --- body rules -------------------------------------------------------------------------------


def test_standfirst_in_body_text_is_kept() -> None:
    lede = (
        "Officials from Russia and Ukraine ended a first round of talks on the Belarusian border."
    )
    head = f'<meta name="description" content="{lede}">'
    body = (
        f"<p>{lede}</p>"
        + "<p>Both sides said they would consult their capitals before meeting again.</p>" * 3
    )
    assert parse_article(page(head, body), URL).paragraphs[0] == lede


def test_twin_articles_are_not_merged() -> None:
    story = "<article class='story'>{}</article>"
    first = "".join(
        f"<p>First story paragraph {i} on refugees crossing into Poland and Romania.</p>"
        for i in range(4)
    )
    second = "".join(
        f"<p>Second story paragraph {i} on sanctions against the central bank of Russia.</p>"
        for i in range(4)
    )
    html = (
        f"<html><body><h1>First</h1>{story.format(first)}"
        f"<h1>Second</h1>{story.format(second)}</body></html>"
    )
    text = parse_article(html, URL).text
    assert "First story paragraph 3" in text
    assert "Second story" not in text


def test_link_only_paragraphs_go_inline_links_stay() -> None:
    body = (
        '<p>The <a href="/unhcr">UN refugee agency</a> said more than 660,000 people had fled.</p>'
        + "<p>Aid groups said shelters in border towns were filling up quickly.</p>"
        + '<p><strong><a href="/a">EU CLOSES ITS AIRSPACE TO RUSSIAN AIRLINES</a></strong></p>'
        + "<p>Rail operators added extra trains from Lviv to the Polish border.</p>"
        + '<p><a href="/b">Kharkiv residents shelter in metro stations</a> [VIDEO]</p>'
        + "<p>Officials in Przemysl said the town's reception centre was full by evening.</p>"
    )
    paragraphs = parse_article(page(body=body), URL).paragraphs
    assert paragraphs[0] == "The UN refugee agency said more than 660,000 people had fled."
    assert len(paragraphs) == 4
    assert not any("AIRSPACE" in p or "Kharkiv" in p for p in paragraphs)


# --- hostile input ----------------------------------------------------------------------------

HOSTILE = {
    "empty bytes": b"",
    "empty str": "",
    "whitespace": b" \n\t ",
    "nul bytes": b"\x00" * 10_000,
    "binary garbage": random.Random(0).randbytes(2_000_000),
    "20 MB of nested divs": b"<html><body>" + b"<div>" * 2_000_000 + b"x" + b"</div>" * 2_000_000,
    "nested lists with text": (b"<ul><li>" + b"word " * 2000) * 250,
    "deep JSON-LD": b"<script type='application/ld+json'>" + b"[" * 100_000 + b"</script><p>x</p>",
    "lone surrogate": "<p>\ud800 text</p>",
    "xml declaration in str": "<?xml version='1.0' encoding='latin-1'?><html><p>x</p></html>",
    "unclosed tag": "<",
    "utf-32 bom only": b"\xff\xfe\x00\x00",
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("data", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_returns_an_article(data: str | bytes) -> None:
    try:
        article = parse_article(data, URL)
    except ParseError:
        return
    assert isinstance(article, Article)
    assert all(isinstance(p, str) and p for p in article.paragraphs)


def test_oversized_tree_is_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(articles, "MAX_ELEMENTS", 200)
    body = "".join(
        f"<p>Numbered paragraph {i} about the talks and the border.</p>" for i in range(1000)
    )
    article = parse_article(f"<html><body><article>{body}</article></body></html>", URL)
    assert article.paragraphs[0].startswith("Numbered paragraph 0 ")
    assert 0 < len(article.paragraphs) < 200
    assert "Numbered paragraph 999 " not in article.text


def test_extraction_benchmark_skips_without_dev_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import extraction

    monkeypatch.setenv(extraction.ENV_VAR, str(tmp_path))
    assert extraction.dev_dir() == tmp_path
    assert extraction.main([]) == 0
    assert f"skipped: extraction dev set not found at {tmp_path}" in capsys.readouterr().out
