"""parse_page: live blogs from JSON-LD, from repeated timed posts, and whole-article fallback."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newswatch.errors import ParseError
from parsers.pages import parse_page

FIXTURES = Path(__file__).parent / "fixtures" / "pages"
LIVE = "https://www.broadcaster.example/news/ukraine/2022/0228/1283500-live-ukraine-russia/"
DAILY = "https://www.daily.example/world/live/2022/feb/28/russia-ukraine-war-latest-news-talks-sanctions"
STORY = "https://www.broadcaster.example/news/ukraine/2022/0228/1283563-ukraine-russia-talks/"


def load(name: str, url: str) -> object:
    return parse_page((FIXTURES / name).read_bytes(), url)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_jsonld_live_blog() -> None:
    page = parse_page((FIXTURES / "live-jsonld.html").read_bytes(), LIVE)
    assert page.title == "Ukraine live: Russia-Ukraine talks end at Belarus border"
    assert page.canonical_url == LIVE
    assert page.language == "en-IE"
    assert page.updated == at("2022-02-28T18:10:00+00:00")
    ids = [e.id for e in page.entries]
    assert ids[:2] == [LIVE + "#post-9104", LIVE + "#post-9099"]
    assert len(ids) == 4 and len(set(ids)) == 4
    home, fled, airspace, begin = page.entries
    assert home.title == "Delegations head home for consultations"
    assert home.published == at("2022-02-28T17:52:00+00:00")
    # The "Read more:" line is boilerplate and goes.
    assert home.paragraphs == (
        "The two delegations have left the venue near the Belarus border.",
        "A Ukrainian presidential adviser said both sides would consult in their capitals and "
        "could meet again within days.",
    )
    # HTML inside articleBody becomes paragraphs of text.
    assert fled.paragraphs[0].startswith("The UN refugee agency now puts the number")
    assert len(fled.paragraphs) == 2 and "<" not in "".join(fled.paragraphs)
    assert airspace.paragraphs == (
        "All 27 member states have now shut their airspace to Russian-owned, Russian-registered "
        "and Russian-controlled aircraft.",
    )
    assert begin.paragraphs[1].startswith("Kyiv is asking for an immediate ceasefire")
    assert page.paragraphs[0] == home.paragraphs[0]


def test_dom_live_blog() -> None:
    page = parse_page((FIXTURES / "live-dom.html").read_bytes(), DAILY)
    assert page.title == "Russia-Ukraine war: talks end with plan to meet again - live"
    assert page.canonical_url == DAILY
    assert page.language == "en-GB"
    # Posts in page order; comments and the related-stories aside are not posts.
    assert [e.id for e in page.entries] == ["entry-pinned", "entry-3", "entry-2", "entry-1"]
    pinned, second_round, airspace, begin = page.entries
    assert pinned.published == at("2022-02-28T10:00:00+00:00")  # data-timestamp in ms
    assert pinned.paragraphs[0].startswith("Russian and Ukrainian officials held")  # no badge
    assert second_round.title == "Second round of talks expected"
    assert second_round.published == at("2022-02-28T17:58:00+00:00")
    # Captions, bylines and share links are not the post's text.
    assert second_round.paragraphs == (
        "Ukraine's delegation says it will return to Kyiv for consultations before a second round.",
    )
    assert airspace.title == ""
    assert airspace.paragraphs == (
        "The EU has closed its airspace to Russian aircraft, the Commission president confirmed.",
    )
    assert begin.published == at("2022-02-28T09:05:00+00:00")
    assert page.updated == at("2022-02-28T17:58:00+00:00")


def test_running_story_falls_back_to_the_article() -> None:
    page = parse_page((FIXTURES / "running-story.html").read_bytes(), STORY)
    assert page.title == "Russia, Ukraine plan second round of talks"
    assert page.canonical_url == STORY
    (entry,) = page.entries
    assert entry.paragraphs[0].startswith("Negotiators from Russia and Ukraine have finished")
    assert any("SWIFT" in p for p in entry.paragraphs)
    text = " ".join(entry.paragraphs)
    assert "consent" not in text and "Read more" not in text
    assert len(entry.id) == 16
    assert page.updated == at("2022-02-28T18:31:00+00:00")


def post(ident: str, stamp: str, text: str, *, tag: str = "article", cls: str = "") -> str:
    attrs = f' id="{ident}"' if ident else ""
    attrs += f' class="{cls}"' if cls else ""
    return f'<{tag}{attrs}><time datetime="{stamp}">t</time><p>{text}</p></{tag}>'


TALKS = "Delegations from Kyiv and Moscow sat down for talks near the border."
AIRSPACE = "The EU closed its airspace to Russian aircraft after a late meeting."
FLED = "More than half a million people have fled the country, the UN said."


@pytest.mark.parametrize(
    ("body", "expected_ids"),
    [
        pytest.param(
            post("block-61f0a1", "2022-02-28T10:00Z", TALKS)
            + post("block-61f0b2", "2022-02-28T11:00Z", AIRSPACE),
            ["block-61f0a1", "block-61f0b2"],
            id="article-elements",
        ),
        pytest.param(
            post("", "2022-02-28T10:00Z", TALKS, tag="div", cls="lx-stream-post")
            + post("", "2022-02-28T11:00Z", AIRSPACE, tag="div", cls="lx-stream-post"),
            ["hash", "hash"],
            id="class-named-posts-without-ids",
        ),
        pytest.param(
            post("update-1", "2022-02-28T10:00Z", TALKS, tag="li")
            + post("update-2", "2022-02-28T11:00Z", AIRSPACE, tag="li"),
            ["update-1", "update-2"],
            id="id-named-posts",
        ),
        pytest.param(
            "<article class='story'><h1>One article</h1>"
            + post("p1", "2022-02-28T10:00Z", TALKS, cls="liveblog-post")
            + post("p2", "2022-02-28T11:00Z", AIRSPACE, cls="liveblog-post")
            + post("p3", "2022-02-28T12:00Z", FLED, cls="liveblog-post")
            + "</article>",
            ["p1", "p2", "p3"],
            id="posts-inside-a-wrapping-article",
        ),
        pytest.param(
            post("same", "2022-02-28T10:00Z", TALKS, cls="entry")
            + post("same", "2022-02-28T11:00Z", AIRSPACE, cls="entry"),
            ["same", "hash"],
            id="reused-anchor-falls-back-to-hash",
        ),
    ],
)
def test_dom_post_shapes(body: str, expected_ids: list[str]) -> None:
    page = parse_page(f"<html><body><main>{body}</main></body></html>", "https://n.example/live")
    ids = [
        "hash" if len(e.id) == 16 and e.id.isalnum() and "-" not in e.id else e.id
        for e in page.entries
    ]
    assert ids == expected_ids


def test_hash_ids_ignore_spacing_and_quote_style() -> None:
    def only_id(text: str) -> str:
        body = post("", "2022-02-28T10:00Z", text, cls="post") + post(
            "", "2022-02-28T11:00Z", AIRSPACE, cls="post"
        )
        return parse_page(f"<main>{body}</main>", "https://n.example/live").entries[0].id

    assert only_id("Kyiv's  delegation \u2018returns\u2019 home for talks.") == only_id(
        "Kyiv\u2019s delegation 'returns' home for talks."
    )
    assert only_id("Kyiv's delegation returns home.") != only_id("Kyiv's delegation stays put.")


def test_jsonld_without_bodies_uses_the_dom() -> None:
    ld = {"@type": "LiveBlogPosting", "liveBlogUpdate": [{"headline": "Only a headline"}]}
    body = post("e1", "2022-02-28T10:00Z", TALKS, cls="post") + post(
        "e2", "2022-02-28T11:00Z", AIRSPACE, cls="post"
    )
    html = f'<script type="application/ld+json">{json.dumps(ld)}</script><main>{body}</main>'
    assert [e.id for e in parse_page(html, "https://n.example/live").entries] == ["e1", "e2"]


@pytest.mark.parametrize(
    "script",
    [
        pytest.param("{not json", id="broken-json"),
        pytest.param("[" * 50_000 + "]" * 50_000, id="deep-json"),
        pytest.param('{"@type": "LiveBlogPosting", "liveBlogUpdate": "nope"}', id="wrong-types"),
        pytest.param(
            '{"@type": ["LiveBlogPosting"], "liveBlogUpdate": [1, null, {"articleBody": 5}]}',
            id="junk-updates",
        ),
    ],
)
def test_bad_jsonld_is_ignored(script: str) -> None:
    body = post("e1", "2022-02-28T10:00Z", TALKS, cls="post") + post(
        "e2", "2022-02-28T11:00Z", AIRSPACE, cls="post"
    )
    html = f'<script type="application/ld+json">{script}</script><main>{body}</main>'
    assert [e.id for e in parse_page(html, "https://n.example/live").entries] == ["e1", "e2"]


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ('datetime="2022-02-28T10:05:00+02:00"', at("2022-02-28T08:05:00+00:00")),
        ('data-timestamp="1646042700"', at("2022-02-28T10:05:00+00:00")),
        ('data-timestamp="1646042700000"', at("2022-02-28T10:05:00+00:00")),
        ('datetime="10:05"', None),
    ],
)
def test_post_times(stamp: str, expected: datetime | None) -> None:
    body = "".join(
        f'<div class="post"><time {stamp}>x</time><p>{text}</p></div>' for text in (TALKS, FLED)
    )
    page = parse_page(f"<main>{body}</main>", "https://n.example/live")
    assert [e.published for e in page.entries] == [expected, expected]


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ('<html lang="EN_gb">', "en-GB"),
        ('<html><meta http-equiv="content-language" content="uk">', "uk"),
        ('<html><meta property="og:locale" content="ru_RU">', "ru-RU"),
        ('<html lang="not a language">', None),
    ],
)
def test_language(head: str, expected: str | None) -> None:
    page = parse_page(f"{head}<body><p>{TALKS}</p></body></html>", "https://n.example/live")
    assert page.language == expected


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b" \n\t ", id="blank"),
        pytest.param(random.Random(21).randbytes(5_000_000), id="5MB-random"),
        pytest.param(b"%PDF-1.7\n" + bytes(range(256)) * 200, id="pdf"),
    ],
)
def test_not_html_raises_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_page(data, "https://n.example/live")


@pytest.mark.parametrize(
    "html",
    [
        pytest.param("<div>" * 100_000 + "<p>deep</p>", id="deep-nesting"),
        pytest.param("<article><time datetime='2022-02-28'>" * 500, id="nested-timed-articles"),
        pytest.param("<html><body><article id='a'><time datetime='x'>", id="truncated"),
        pytest.param("<p>" + "word " * 200_000 + "</p>", id="one-huge-paragraph"),
    ],
)
def test_hostile_html_never_crashes(html: str) -> None:
    page = parse_page(html, "https://n.example/live")
    assert all(len(p) <= 20_000 for p in page.paragraphs)
