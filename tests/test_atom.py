"""The Atom document: valid for a real feed parser, and page text arrives as text, never markup."""

from __future__ import annotations

from datetime import UTC, datetime

import feedparser

from newswatch.atom import atom_feed, entry_id
from newswatch.feedfiles import feed_file
from newswatch.models import Development

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOSTILE = 'Talks <script>alert(1)</script> & "more" \u202eevil\u202c\x0b <b>bold</b>]]>'


def _dev(
    fingerprint: str, title: str = HOSTILE, url: str = "https://example.org/a?x=1&y=2"
) -> Development:
    return Development(
        fingerprint=fingerprint,
        kind="new_story",
        topic="talks",
        source="wire",
        url=url,
        title=title,
        text=(HOSTILE, "Second <img src=x onerror=alert(1)> sentence."),
        published=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        detected=NOW,
        terms=("talks",),
        outlets=("wire", "<i>paper</i>"),
        reason={"nearest": None, "similarity": None, "figures": []},
        links=(("<i>paper</i>", "https://paper.example/b"),),
    )


def test_hostile_page_text_round_trips_as_text() -> None:
    parsed = feedparser.parse(atom_feed([_dev("f1")], "all", "newswatch: all topics", NOW))
    assert not parsed.bozo, parsed.get("bozo_exception")
    (entry,) = parsed.entries
    assert entry.id == entry_id(_dev("f1")) == "urn:newswatch:development:f1"
    assert (
        entry.title
        == '[talks] New story: Talks <script>alert(1)</script> & "more" evil <b>bold</b>]]>'
    )
    assert entry.title_detail.type == "text/plain"
    assert entry.link == "https://example.org/a?x=1&y=2"
    assert entry.published == "2026-03-01T09:30:00+00:00"
    summary = entry.summary  # HTML in which every piece of page text is escaped
    assert "&lt;script&gt;" in summary and "<script" not in summary and "<img" not in summary
    assert "Outlets: wire, &lt;i&gt;paper&lt;/i&gt;" in summary
    assert "\u202e" not in summary and "\x0b" not in summary


def test_a_link_that_is_not_http_is_left_out() -> None:
    parsed = feedparser.parse(atom_feed([_dev("f2", url="javascript:alert(1)")], "x", "x", NOW))
    assert not parsed.bozo
    assert "javascript" not in str(parsed.entries[0].get("links"))


def test_an_empty_feed_is_valid_and_dated_now() -> None:
    parsed = feedparser.parse(atom_feed([], "topic:talks", "newswatch: talks", NOW))
    assert not parsed.bozo and parsed.entries == []
    assert parsed.feed.id == "urn:newswatch:feed:topic:talks"
    assert parsed.feed.updated == "2026-03-01T12:00:00+00:00"


def test_topic_file_names_are_safe() -> None:
    assert feed_file("talks") == "talks.atom"
    assert feed_file("../etc/passwd") == "etc-passwd.atom"
    assert feed_file("all") == "topic-all.atom"
