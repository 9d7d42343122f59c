"""The body clean-up keeps what a reader calls article text, and a thin fast pass falls back."""

from __future__ import annotations

import pytest

from parsers import articles
from parsers.articles import parse_article

URL = "https://blog.example.net/2013/07/19/a-post.html"

PROSE = [
    "The cartoonist drew a scathing strip about how every generation blames the next one for "
    "ruining work, housing and manners, and the network put it on the front page of its site.",
    "Readers wrote in by the thousand, most of them agreeing that the complaints were older than "
    "the telephone and that the young had simply been handed a worse deal than their parents.",
    "The strip ends with a panel of grandparents complaining about their own parents in turn, "
    "which is the joke the whole piece has been building up to for eleven careful panels.",
]


def blog_page(story: str, extra: str = "") -> str:
    """A blog post shaped like link-heavy personal blogs: a sidebar, then a story block."""
    sidebar = "".join(
        f'<li><a href="/tag/{i}">Another post title number {i} from the archive</a></li>'
        for i in range(8)
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><title>Blaming the young | Example Blog</title>"
        "</head><body><div id='headline'><h1>Blaming the young</h1></div>"
        f"<div id='sidebar'><h3>Follow us</h3><ul>{sidebar}</ul></div>"
        f"<div id='story'>{story}</div>{extra}</body></html>"
    )


def test_a_link_between_paragraphs_is_the_authors_text() -> None:
    story = (
        f"<p>{PROSE[0]}</p><p>{PROSE[1]}</p>"
        '<p><br><a href="https://news.example.com/opinion/strip">The generation we love to dump '
        "on</a></p>"
        f"<p>{PROSE[2]}</p>"
        '<p>(<i>via <a href="https://geeks.example.org/">Geeks Weekly</a></i>)</p>'
    )
    body = parse_article(blog_page(story), URL).text
    for sentence in PROSE:
        assert sentence in body
    assert "The generation we love to dump on" in body
    assert "Another post title number" not in body


def test_runs_of_links_and_labelled_promos_still_go() -> None:
    related = "".join(
        f'<p><a href="/story/{i}">A related headline about something else, part {i}</a></p>'
        for i in range(3)
    )
    story = (
        f"<p>{PROSE[0]}</p>"
        '<p><a href="/other">SEE MORE: An unrelated story about the weather</a></p>'
        f"<p>{PROSE[1]}</p>{related}<p>{PROSE[2]}</p>"
    )
    body = parse_article(blog_page(story), URL).text
    assert all(sentence in body for sentence in PROSE)
    assert "SEE MORE" not in body
    assert "A related headline" not in body


def test_prose_with_several_links_is_not_taken_for_navigation() -> None:
    linked = (
        'The <a href="/a">White House</a> said on Monday that <a href="/b">the White House '
        'press office</a> would answer questions about <a href="/c">the new budget</a> later.'
    )
    story = f"<p>{PROSE[0]}</p><p>{linked}</p><p>{PROSE[1]}</p><p>{PROSE[2]}</p>"
    body = parse_article(blog_page(story), URL).text
    assert "would answer questions about the new budget later." in body


def test_a_short_closing_paragraph_that_mentions_following_them_stays() -> None:
    closing = "The families said they would follow them to the coast in spring."
    story = "".join(f"<p>{p}</p>" for p in PROSE) + f"<p>{closing}</p>"
    assert closing in parse_article(blog_page(story), URL).text


ARTICLE = "".join(f"<p>{p}</p>" for p in PROSE)
COMMENTS = (
    "<div class='comments'><p>This is a reader comment that goes on for quite a while about "
    "nothing in particular and should never be taken for the article itself.</p></div>"
)


@pytest.mark.parametrize(
    ("fast", "full"),
    [
        ("", "\n".join(PROSE)),  # empty fast pass: the full cascade gives the body
        ("Subscribe to our newsletter\nShare this article", "\n".join(PROSE)),  # boilerplate
        ("", ""),  # both empty: our own paragraph scan
        ("Latest headlines\nMost read", ""),
    ],
)
def test_thin_fast_result_falls_back(monkeypatch: pytest.MonkeyPatch, fast: str, full: str) -> None:
    calls: list[bool] = []

    def fake(tree: object, url: str | None, *, fast: bool) -> str:
        calls.append(fast)
        return fast_text if fast else full

    fast_text = fast
    monkeypatch.setattr(articles, "_trafilatura", fake)
    article = parse_article(blog_page(ARTICLE, COMMENTS), URL)
    assert article.paragraphs == PROSE
    assert calls == [True, False]
    assert "reader comment" not in article.text


def test_teaser_instead_of_article_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    teaser = "A short teaser line about the strip that the fast pass took for the whole article."
    long_prose = [f"Part {i}: {p} {p}" for i in range(2) for p in PROSE]

    def fake(tree: object, url: str | None, *, fast: bool) -> str:
        teasers = "\n".join(f"{teaser} ({i})" for i in range(4))  # past the empty-result bar
        return teasers if fast else "\n".join(long_prose)

    monkeypatch.setattr(articles, "_trafilatura", fake)
    page = blog_page("".join(f"<p>{p}</p>" for p in long_prose))
    assert parse_article(page, URL).paragraphs == long_prose


def test_a_full_fast_result_is_not_extracted_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []

    def fake(tree: object, url: str | None, *, fast: bool) -> str:
        calls.append(fast)
        return "\n".join(PROSE)

    monkeypatch.setattr(articles, "_trafilatura", fake)
    assert parse_article(blog_page(ARTICLE), URL).paragraphs == PROSE
    assert calls == [True]


def test_teaser_cards_do_not_make_a_short_article_thin(monkeypatch: pytest.MonkeyPatch) -> None:
    """A short post followed by cards for other posts (articles nested in the article) is
    complete: their prose is not the article's, so no fuller extraction is tried."""
    calls: list[bool] = []

    def fake(tree: object, url: str | None, *, fast: bool) -> str:
        calls.append(fast)
        return "\n".join(PROSE[:2])

    cards = "".join(
        f"<article class='card'><p>{p} Card {i}.</p></article>" for i in range(3) for p in PROSE
    )
    story = f"<article class='post'><p>{PROSE[0]}</p><p>{PROSE[1]}</p>{cards}</article>"
    monkeypatch.setattr(articles, "_trafilatura", fake)
    assert parse_article(blog_page(story), URL).paragraphs == PROSE[:2]
    assert calls == [True]
