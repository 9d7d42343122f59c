"""parse_feed and parse_xml: every feed format, link rules, text cleaning, and hostile input."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import random
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newswatch.errors import ParseError
from newswatch.models import FeedEntry
from parsers import feeds
from parsers.feeds import SUMMARY_LIMIT, parse_feed, read_feed
from parsers.xmlsafe import parse_xml, read_xml

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
BROADCASTER = "https://www.broadcaster.example/feeds/rss/?index=/news/world/"
AGENCY = "https://www.agency.example/feeds/europe.atom"
ZEITUNG = "https://www.zeitung.example/politik/index.rss"
RELIEF = "https://relief.example/feed.json"
BLOG = "http://blog.example/atom.xml"


def load(name: str, url: str) -> list[FeedEntry]:
    return parse_feed((FIXTURES / name).read_bytes(), url)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# --- fixtures: which links come out, in which order ----------------------------------------


@pytest.mark.parametrize(
    ("name", "url", "expected"),
    [
        pytest.param(
            "broadcaster-world.rss",
            BROADCASTER,
            [
                "https://www.broadcaster.example/news/ukraine/2022/0228/1283563-ukraine-russia-talks/",
                "https://www.broadcaster.example/news/ukraine/2022/0228/1283540-eu-airspace-sanctions/",
                "https://www.broadcaster.example/news/ukraine/2022/0228/1283512-refugees-un/",
                "https://www.broadcaster.example/news/world/2022/0227/1283400-putin-nuclear-alert/",
            ],
            id="rss2",
        ),
        pytest.param(
            "atom-xmlbase.atom",
            AGENCY,
            [
                "https://www.agency.example/en/europe/ukraine-talks-second-round",
                "https://www.agency.example/en/markets/rouble-slides-sanctions",
                "https://www.agency.example/en/europe/medyka-crossing-refugees",
            ],
            id="atom1",
        ),
        pytest.param(
            "dcdate.rdf",
            ZEITUNG,
            [
                "https://www.zeitung.example/politik/ausland/ukraine-verhandlungen-a-1001.html",
                "https://www.zeitung.example/politik/ausland/fluechtlinge-polen-a-1002.html",
            ],
            id="rss1-rdf",
        ),
        pytest.param(
            "desk.json",
            RELIEF,
            [
                "https://relief.example/updates/2022/02/28/border-crossings",
                "https://relief.example/updates/2022/02/28/moldova-reception-centres",
                "https://www.unhcr.example/news/press/2022/2/28/statement",
                "https://relief.example/updates/2022/02/27/hungary-border",
            ],
            id="jsonfeed",
        ),
        pytest.param(
            "atom03.xml",
            BLOG,
            ["http://blog.example/2022/02/notes-from-the-polish-border.html"],
            id="atom03",
        ),
    ],
)
def test_fixture_links(name: str, url: str, expected: list[str]) -> None:
    assert [e.url for e in load(name, url)] == expected


def test_rss2_fields() -> None:
    first, airspace, refugees, putin = load("broadcaster-world.rss", BROADCASTER)
    assert first.title == "Russian and Ukrainian delegations end first round of talks"
    assert first.guid == "1283563"
    assert first.published == at("2022-02-28T17:35:00+00:00")
    # CDATA HTML becomes text; the image and the <b> leave no trace.
    assert first.summary.startswith("Negotiators met near the Belarus border")
    assert "second round." in first.summary and "<" not in first.summary
    assert airspace.title == "EU closes its airspace to Russian aircraft & widens sanctions"
    assert "the Commission said. Further measures" in airspace.summary
    # A guid that is a permalink stands in for the missing <link>; escaped HTML is stripped.
    assert refugees.guid == refugees.url
    assert refugees.summary.startswith("The UN refugee agency said")
    assert "track(" not in putin.summary
    assert putin.published == at("2022-02-27T14:21:00+00:00")


def test_atom_fields() -> None:
    talks, rouble, medyka = load("atom-xmlbase.atom", AGENCY)
    assert talks.title == "Ukraine and Russia agree to a second round of talks"
    assert talks.guid == "tag:agency.example,2022-02-28:/en/europe/ukraine-talks-second-round"
    assert talks.published == at("2022-02-28T15:40:00+00:00")
    assert talks.updated == at("2022-02-28T16:05:00+00:00")
    assert talks.summary.startswith("Delegations will return")
    # xhtml content: block boundaries keep the words apart.
    assert rouble.summary == (
        "The currency lost almost a third of its value. The central bank doubled its key rate."
    )
    assert rouble.published is None and rouble.updated == at("2022-02-28T09:30:00+00:00")
    assert medyka.summary == "Thousands waited in the cold to cross into Poland."


def test_rdf_fields_and_declared_encoding() -> None:
    talks, refugees = load("dcdate.rdf", ZEITUNG)
    assert talks.published == at("2022-02-28T18:10:00+01:00")
    assert talks.summary == "Die Delegationen kehren zu Beratungen zurück."
    assert talks.guid == talks.url  # rdf:about
    assert refugees.summary == "An den Grenzübergängen bilden sich lange Schlangen."


def test_json_feed_fields() -> None:
    crossings, moldova, statement, hungary = load("desk.json", RELIEF)
    assert crossings.summary.startswith("Aid groups reported waits of up to 60 hours")
    assert crossings.updated == at("2022-02-28T16:20:00+00:00")
    assert moldova.summary.startswith("Moldova said it had received")  # summary beats content
    assert moldova.guid == "2022-02-28-moldova"
    assert statement.summary == "Statement text across lines."
    assert statement.published == at("2022-02-28T00:00:00+00:00")
    assert hungary.guid == hungary.url


def test_atom03_dates() -> None:
    (entry,) = load("atom03.xml", BLOG)
    assert entry.published == at("2022-02-28T19:00:00+00:00")
    assert entry.updated == at("2022-02-28T19:30:00+00:00")
    assert entry.summary == "Volunteers hand out soup and SIM cards."


# --- link rules ----------------------------------------------------------------------------


def rss(items: str, prolog: str = "") -> bytes:
    return f'{prolog}<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("<link>/news/a-1</link>", "https://feed.example/news/a-1"),
        ("<link>  https://feed.example/b\n</link>", "https://feed.example/b"),
        ("<link>javascript:alert(1)</link>", None),
        ("<link>data:text/html,hi</link>", None),
        ("<link>mailto:desk@feed.example</link>", None),
        ("<link>ftp://feed.example/file</link>", None),
        ("<guid>https://feed.example/from-guid</guid>", "https://feed.example/from-guid"),
        ('<guid isPermaLink="false">https://feed.example/not-a-link</guid>', None),
        ("<guid>relative-id-123</guid>", None),
        (
            "<link>https://feed.example/c?utm_source=rss&amp;id=7</link>",
            "https://feed.example/c?id=7",
        ),
        (
            "<link>http://[::1/broken</link><guid>https://feed.example/g</guid>",
            "https://feed.example/g",
        ),
    ],
)
def test_rss_link_rules(item: str, expected: str | None) -> None:
    entries = parse_feed(rss(f"<item><title>x</title>{item}</item>"), "https://feed.example/rss")
    assert [e.url for e in entries] == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("links", "expected"),
    [
        ('<link href="a"/>', "https://feed.example/base/a"),
        ('<link rel="alternate" type="text/html" href="b"/>', "https://feed.example/base/b"),
        (
            '<link rel="self" href="s"/><link rel="alternate" href="c"/>',
            "https://feed.example/base/c",
        ),
        ('<link rel="enclosure" href="e.mp3"/><link rel="related" href="r"/>', None),
        ('<link rel="alternate" type="application/pdf" href="d.pdf"/>', None),
        ('<link xml:base="/other/" href="d"/>', "https://feed.example/other/d"),
    ],
)
def test_atom_link_rules(links: str, expected: str | None) -> None:
    doc = (
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://feed.example/base/">'
        f"<entry><id>urn:x</id><title>t</title>{links}</entry></feed>"
    ).encode()
    entries = parse_feed(doc, "https://elsewhere.example/feed")
    assert [e.url for e in entries] == ([expected] if expected else [])


def test_duplicates_keep_first() -> None:
    items = "".join(
        f"<item><title>{t}</title><link>https://feed.example/{u}</link></item>"
        for t, u in [("one", "a"), ("two", "b"), ("three", "a"), ("four", "a?utm_medium=x")]
    )
    entries = parse_feed(rss(items), "https://feed.example/rss")
    assert [(e.title, e.url) for e in entries] == [
        ("one", "https://feed.example/a"),
        ("two", "https://feed.example/b"),
    ]


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("<![CDATA[<p>One</p><p>Two&nbsp;three</p>]]>", "One Two three"),
        ("&lt;p&gt;Escaped &amp;amp; once&lt;/p&gt;", "Escaped & once"),
        ("&amp;lt;b&amp;gt;Escaped twice&amp;lt;/b&amp;gt;", "Escaped twice"),
        ("<![CDATA[<style>p{}</style><script>x()</script>Ke<!-- gone -->pt text]]>", "Kept text"),
        ("  lots \n\n of\t space  ", "lots of space"),
        ("Plain &lt; 5 and &gt; 2", "Plain < 5 and > 2"),
    ],
)
def test_summary_is_plain_text(description: str, expected: str) -> None:
    item = (
        f"<item><link>https://feed.example/a</link><description>{description}</description></item>"
    )
    (entry,) = parse_feed(rss(item), "https://feed.example/rss")
    assert entry.summary == expected


def test_summary_is_capped() -> None:
    body = "word " * 5000
    item = f"<item><link>https://feed.example/a</link><description>{body}</description></item>"
    (entry,) = parse_feed(rss(item), "https://feed.example/rss")
    assert len(entry.summary) <= SUMMARY_LIMIT
    assert entry.summary.endswith("…")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            "\ufeff \n".encode() + rss("<item><link>https://feed.example/a</link></item>"), id="bom"
        ),
        pytest.param(
            rss("<item><link>https://feed.example/a</link></item>", '<?xml version="1.0"?>\n'),
            id="prolog",
        ),
        pytest.param(
            (
                '<?xml version="1.0" encoding="UTF-16"?>'
                + rss("<item><link>https://feed.example/a</link></item>").decode()
            ).encode("utf-16"),
            id="utf16",
        ),
        pytest.param(
            rss(
                "<item><link>https://feed.example/a</link><title>AT&T &nbsp;&eacute;</title></item>"
            ),
            id="bad-entities",
        ),
    ],
)
def test_tolerated_quirks(data: bytes) -> None:
    assert [e.url for e in parse_feed(data, "https://feed.example/rss")] == [
        "https://feed.example/a"
    ]


def test_html_entities_repaired_in_title() -> None:
    data = rss(
        "<item><link>https://feed.example/a</link><title>AT&T &nbsp;caf&eacute;</title></item>"
    )
    (entry,) = parse_feed(data, "https://feed.example/rss")
    assert entry.title == "AT&T café"


# --- damaged feeds and the quirks feedparser reads (issue 8) ------------------------------

GAZETTE = "https://www.harbour-gazette.example/feeds/latest.rss"
FERRY = "https://www.harbour-gazette.example/news/ferry-strike-off"
BARRIER = "https://www.harbour-gazette.example/news/flood-barrier"
BRIDGE = "https://valley-radio.example/news/bridge-reopens"
BULLETIN = "https://valley-radio.example/audio/morning-bulletin"
TRUCKS = "http://notebook.example/2022/03/supply-trucks.html"
BLINK = "http://notebook.example/2022/03/blink.html"
GENEVA = "https://desk.example/a/ministers-geneva"
ESCAPED = "https://desk.example/a/escaped-headline"
STORM = "https://coast-tv.example/clips/storm-surge"
LIFEBOAT = "https://coast-tv.example/clips/lifeboat"
HARBOUR_WALL = "https://coast-tv.example/clips/harbour-wall"
AIRPORT = "https://wire.example/2022/03/01/airport-reopens"


@pytest.mark.parametrize(
    ("name", "expected", "damage"),
    [
        pytest.param("damaged-truncated-gt.rss", [FERRY, BARRIER], "expected '>'", id="final-gt"),
        pytest.param("damaged-cut-in-item.rss", [FERRY], "cut off unfinished: 1", id="cut-item"),
        pytest.param("undeclared-prefixes.rss", [BRIDGE, BULLETIN], None, id="undeclared"),
        pytest.param("hex-references.atom", [AIRPORT], None, id="hex-refs"),
        pytest.param("atom03-modes.xml", [TRUCKS, BLINK], None, id="atom03-modes"),
        pytest.param("atom10-base64-xhtml.atom", [GENEVA, ESCAPED], None, id="atom10-base64"),
        pytest.param("media-title.rss", [STORM, LIFEBOAT, HARBOUR_WALL], None, id="media-title"),
    ],
)
def test_damage_keeps_finished_entries_and_is_reported(
    name: str, expected: list[str], damage: str | None
) -> None:
    data = (FIXTURES / name).read_bytes()
    feed = read_feed(data, GAZETTE)
    assert [e.url for e in feed.entries] == expected
    if damage is None:  # repaired without losing anything: nothing to report
        assert feed.problems == ()
    else:
        (problem,) = feed.problems
        assert problem.startswith("damaged XML") and damage in problem
    assert parse_feed(data, GAZETTE) == list(feed.entries)


@pytest.mark.parametrize(
    ("name", "link", "title"),
    [
        ("damaged-cut-in-item.rss", FERRY, "Ferry strike called off after overnight talks"),
        ("undeclared-prefixes.rss", BRIDGE, "Bridge reopens to traffic"),
        ("undeclared-prefixes.rss", BULLETIN, "Morning bulletin, 1 March"),  # media:title
        ("hex-references.atom", AIRPORT, "Airport reopens \u2014 flights resume"),
        ("atom03-modes.xml", TRUCKS, "Supply trucks cross at dawn \u2014 a diary"),  # base64
        ("atom03-modes.xml", BLINK, "Why the <blink> tag still matters"),  # escaped in xhtml
        ("atom10-base64-xhtml.atom", GENEVA, "Ministers meet in Geneva"),
        ("atom10-base64-xhtml.atom", ESCAPED, "Escaped <script> in a headline is text"),
        ("media-title.rss", STORM, "Storm surge floods the promenade"),
        ("media-title.rss", LIFEBOAT, "Lifeboat crew rescues two fishermen"),  # title wins
        ("media-title.rss", HARBOUR_WALL, "Harbour wall repairs begin"),  # in media:group
    ],
)
def test_titles_read_as_feedparser_reads_them(name: str, link: str, title: str) -> None:
    entries = {e.url: e for e in load(name, GAZETTE)}
    assert entries[link].title == title


def test_undeclared_prefixes_keep_their_meaning() -> None:
    bridge, bulletin = load("undeclared-prefixes.rss", GAZETTE)
    assert bridge.published == at("2022-03-01T08:30:00+01:00")  # dc:date
    assert bridge.summary == "The bridge reopened at dawn."  # content:encoded
    assert bulletin.published == at("2022-03-01T07:00:00+01:00")


def test_atom03_escaped_mode_summary() -> None:
    trucks, _ = load("atom03-modes.xml", GAZETTE)
    assert trucks.summary == "Forty trucks crossed."
    assert trucks.published == at("2022-03-01T09:00:00+00:00")


ITEM = "<item><title>{0}</title><link>https://feed.example/{0}</link></item>"


def items(*names: str) -> str:
    return "".join(ITEM.format(n) for n in names)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(rss(items("one", "two"))[:-1], ["one", "two"], id="final-gt"),
        pytest.param(rss(items("one", "two"))[:-12], ["one", "two"], id="cut-in-closing-tags"),
        pytest.param(rss(items("one", "two"))[:-23], ["one"], id="cut-before-end-of-item"),
        pytest.param(rss(items("one") + "<item><title>two</title><li"), ["one"], id="cut-in-tag"),
        pytest.param(
            b'<rss version="2.0"><channel>'
            + items("one").encode()
            + b"<item><title>two</title><link>https://feed.example/two",
            ["one"],
            id="cut-in-link",
        ),
        pytest.param(
            rss(items("one") + "<item><title>t<b>wo</title>" + items("three")),
            ["one"],
            id="crossed-tags",
        ),
        pytest.param(
            b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>one</title>'
            b'<link href="https://feed.example/one"/></entry><entry><title>two</title>'
            b'<link href="https://feed.example/two"/>',
            ["one"],
            id="atom-cut-in-entry",
        ),
        pytest.param(
            rss(items("one", "two")).replace(b"<title>t</title>", b"<!-- a -- b --><title>t"),
            ["one", "two"],
            id="bad-comment-and-unclosed-title",
        ),
        pytest.param(
            rss(items("one", "two")) + b"\n<b>Warning</b>: database unavailable",
            ["one", "two"],
            id="junk-after-the-feed",
        ),
        pytest.param(
            b"<br />\n<b>Warning</b>: feed.php on line 3<br />\n"
            + rss(items("one", "two"), '<?xml version="1.0"?>'),
            ["one", "two"],
            id="junk-before-the-declaration",
        ),
    ],
)
def test_truncated_and_broken_documents(data: bytes, expected: list[str]) -> None:
    feed = read_feed(data, "https://feed.example/rss")
    got = [e.url.rsplit("/", 1)[1] for e in feed.entries]
    assert got[: len(expected)] == expected
    assert "two" not in got or "two" in expected  # an entry cut off is never kept half-read
    assert feed.problems and feed.problems[0].startswith("damaged XML")


@pytest.mark.parametrize(
    ("item", "title", "summary"),
    [
        pytest.param("<title>5 < 6, says poll</title>", "5 < 6, says poll", "", id="bare-lt"),
        pytest.param(
            "<title>t</title><description>One<br>two<hr><img src='x.jpg'></description>",
            "t",
            "Onetwo",
            id="open-html-empty-tags",
        ),
        pytest.param("<title>t\x00\x00it\x0ble</title>", "title", "", id="control-characters"),
    ],
)
def test_broken_text_repaired_quietly(item: str, title: str, summary: str) -> None:
    data = rss(items("one") + f"<item>{item}<link>https://feed.example/two</link></item>")
    feed = read_feed(data, "https://feed.example/rss")
    assert [(e.title, e.summary) for e in feed.entries] == [("one", ""), (title, summary)]
    assert feed.problems == ()


def rss_bytes(title: str, description: str, encoding: str, prolog: str = "") -> bytes:
    text = (
        prolog
        + rss(
            f"<item><title>{title}</title><link>https://feed.example/a</link>"
            f"<description>{description}</description></item>"
        ).decode()
    )
    return text.encode(encoding)


WESTERN = ("Café owners welcome the “new” market hall", "The façade’s restoration was overdue.")
CYRILLIC = (
    "Новый мост открыт для движения транспорта",
    "Городские власти сообщили, что ремонт моста завершён раньше срока.",
)


@pytest.mark.parametrize(
    ("words", "encoding", "prolog"),
    [
        pytest.param(WESTERN, "cp1252", "", id="undeclared-windows-1252"),
        pytest.param(CYRILLIC, "cp1251", "", id="undeclared-windows-1251"),
        pytest.param(CYRILLIC, "koi8-r", "", id="undeclared-koi8-r"),
        pytest.param(WESTERN, "cp1252", '<?xml version="1.0" encoding="utf-8"?>', id="false-utf-8"),
        pytest.param(
            ("Ça va, señor", "Déjà vu"),
            "cp437",
            '<?xml version="1.0" encoding="cp437"?>',
            id="declared-cp437-unknown-to-libxml2",
        ),
        pytest.param(
            ("Ça va, señor", "Déjà vu"),
            "cp850",
            '<?xml version="1.0" encoding="850"?>',
            id="declared-850",
        ),
    ],
)
def test_legacy_encodings_read_right(words: tuple[str, str], encoding: str, prolog: str) -> None:
    data = rss_bytes(*words, encoding, prolog)
    (entry,) = parse_feed(data, "https://feed.example/rss")
    assert (entry.title, entry.summary) == words


def test_stray_byte_in_utf8_keeps_the_rest_utf8() -> None:
    data = rss_bytes(*WESTERN, "utf-8").replace(b"overdue", b"overd\xfce")
    (entry,) = parse_feed(data, "https://feed.example/rss")
    assert entry.title == WESTERN[0]
    assert entry.summary == "The façade’s restoration was overd\ufffde."


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'<rss version="2.0"><channel><item><title>cut', id="no-complete-entry"),
        pytest.param(rss("<item><title>no link</title></item>")[:-1], id="no-linked-entry"),
        pytest.param(b'<rss version="2.0"><channel></rss', id="empty-and-cut"),
    ],
)
def test_damage_that_leaves_nothing_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError, match="damaged feed"):
        read_feed(data, "https://feed.example/rss")


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'<?xml version="1.0"?>' + b" " * 200_000 + b"x<a:b>", id="spaces-in-prolog"),
        pytest.param(b"<?a?>" * 50_000 + b"<rss><dc:x>", id="many-pis"),
        pytest.param(b"<!--a-->" * 50_000 + b"<rss><dc:x>", id="many-comments"),
        pytest.param(rss(items("one")) + b"<br" + b" " * 1_000_000 + b"x", id="open-br-spaces"),
        pytest.param(b"<rss>" + b"<br " * 300_000, id="many-open-br"),
    ],
)
def test_repairs_take_linear_time(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        read_feed(data, "https://feed.example/rss")


@pytest.mark.timeout(20)
def test_entity_bomb_refused_also_when_damaged() -> None:
    with pytest.raises(ParseError, match="entities"):
        read_feed(BILLION_LAUGHS.rstrip()[:-1], "https://feed.example/rss")


# --- not feeds, and hostile input ----------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"   \n ", id="blank"),
        pytest.param(b"<html><body><p>Not a feed</p></body></html>", id="xhtml"),
        pytest.param(b"<!DOCTYPE html><html><body><p>Unclosed<br></body></html>", id="html"),
        pytest.param(b'<rss version="2.0"><channel><item><title>cut', id="truncated"),
        pytest.param(b'{"items": []}', id="json-not-feed"),
        pytest.param(b"[1, 2, 3]", id="json-list"),
        pytest.param(
            b'{"version": "https://jsonfeed.org/version/1.1", "items": 5}', id="json-bad-items"
        ),
        pytest.param(
            b'{"version": "https://jsonfeed.org/version/1", "items": [', id="json-truncated"
        ),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="json-deep"),
        pytest.param(b'{"version": "' + b"9" * 5000 + b'"}', id="json-odd"),
        pytest.param(b"<svg xmlns='http://www.w3.org/2000/svg'/>", id="other-xml"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", id="png"),
        pytest.param(b"<a>" * 100_000, id="deep-tags"),
        pytest.param(random.Random(1).randbytes(5_000_000), id="5MB-random"),
        pytest.param(b"<" + random.Random(2).randbytes(5_000_000), id="5MB-random-after-lt"),
    ],
)
def test_not_a_feed_raises_parse_error_only(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_feed(data, "https://feed.example/rss")


def test_json_feed_with_hostile_item_types() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            None,
            {"url": ["https://feed.example/list"], "title": {"x": 1}},
            {"url": "https://feed.example/ok", "title": 7, "date_published": 12},
            {"id": True, "url": 3},
        ],
    }
    entries = parse_feed(json.dumps(doc).encode(), "https://feed.example/feed.json")
    assert [(e.url, e.title, e.published) for e in entries] == [
        ("https://feed.example/ok", "", None)
    ]


def test_many_items() -> None:
    items = "".join(f"<item><link>https://feed.example/{i}</link></item>" for i in range(20_000))
    entries = parse_feed(rss(items), "https://feed.example/rss")
    assert len(entries) == 20_000
    assert entries[-1].url == "https://feed.example/19999"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
  <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
  <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
  <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
]>
<rss version="2.0"><channel><item><link>https://feed.example/a</link><title>&g;</title></item></channel></rss>
"""


@pytest.mark.timeout(20)
def test_entity_bomb_refused() -> None:
    with pytest.raises(ParseError, match="entities"):
        parse_feed(BILLION_LAUGHS, "https://feed.example/rss")


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-MARKER")
    return path


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{path}">]>',
        '<!DOCTYPE rss [<!ENTITY % p SYSTEM "file://{path}"> %p;]>',
        '<!doctype rss [ <!entity xxe SYSTEM "file://{path}"> ]>',
    ],
)
@pytest.mark.parametrize("cut", [0, 1], ids=["whole", "damaged"])
def test_external_entity_declarations_refused(secret_file: Path, doctype: str, cut: int) -> None:
    doc = doctype.format(path=secret_file) + (
        '<rss version="2.0"><channel><item><link>https://feed.example/a</link>'
        "<title>&xxe;</title></item></channel></rss>"
    )
    with pytest.raises(ParseError):
        parse_feed(doc[: len(doc) - cut].encode(), "https://feed.example/rss")


@pytest.mark.parametrize("cut", [0, 1], ids=["whole", "damaged"])
def test_external_dtd_is_not_loaded(tmp_path: Path, secret_file: Path, cut: int) -> None:
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY xxe SYSTEM "file://{secret_file}">')
    doc = (
        f'<!DOCTYPE rss SYSTEM "file://{dtd}">'
        '<rss version="2.0"><channel><item><link>https://feed.example/a</link>'
        "<title>before &xxe; after</title><description>&xxe;</description></item></channel></rss>"
    )
    entries = parse_feed(doc[: len(doc) - cut].encode(), "https://feed.example/rss")
    assert "TOP-SECRET-MARKER" not in repr(entries)
    # Whole, the undefined reference is dropped; damaged, the repair leaves it as text.
    assert entries[0].title == ("before &xxe; after" if cut else "before after")


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        type(self).hits += 1
        body = b'<!ENTITY xxe "FETCHED-OVER-HTTP">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def dtd_server() -> Iterator[str]:
    _CountingHandler.hits = 0
    server = http.server.HTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/evil.dtd"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("cut", [0, 1], ids=["whole", "damaged"])
def test_no_network_for_external_dtd(dtd_server: str, cut: int) -> None:
    doc = (
        f'<!DOCTYPE rss SYSTEM "{dtd_server}"><rss version="2.0"><channel><item>'
        "<link>https://feed.example/a</link><title>&xxe;</title></item></channel></rss>"
    )
    entries = parse_feed(doc[: len(doc) - cut].encode(), "https://feed.example/rss")
    assert "FETCHED" not in repr(entries)
    assert _CountingHandler.hits == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"not xml", "not XML"),
        (b"<a><b></a>", "malformed XML"),
        (b"<a>" * 1000, "malformed XML"),
        (b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', "declares entities"),
        (
            b'<?xml version="1.0" encoding="UTF-7"?>'
            b'+ADw-!DOCTYPE a +AFs-+ADw-!ENTITY x "y"+AD4-+AF0-+AD4-+ADw-a+AD4-&x;+ADw-/a+AD4-',
            "encoding",
        ),
    ],
)
def test_parse_xml_errors_name_the_document(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message) as caught:
        parse_xml(data, "https://feed.example/doc.xml")
    assert "https://feed.example/doc.xml" in str(caught.value)


def test_parse_xml_declared_encoding() -> None:
    root = parse_xml('<?xml version="1.0" encoding="windows-1252"?><a>€</a>'.encode("cp1252"), "x")
    assert root.text == "€"


# --- a well-formed feed is read entry by entry, never as a whole tree -----------------------

# Fixtures read whole: damaged (recovered) or repairable (repaired, then parsed whole).
READ_WHOLE = {
    "damaged-cut-in-item.rss",
    "damaged-truncated-gt.rss",
    "hex-references.atom",
    "undeclared-prefixes.rss",
}
LINKED = "<item><title>T{n}</title><link>https://e.org/{n}</link></item>"
FIFTY = "".join(LINKED.format(n=n) for n in range(50))
STREAM_CASES = [
    *[
        pytest.param((FIXTURES / f).read_bytes(), f not in READ_WHOLE, id=f)
        for f in sorted(os.listdir(FIXTURES))
        if not f.endswith(".json")
    ],
    pytest.param(f"<rss><channel>{FIFTY}</channel></rss>".encode(), True, id="many"),
    pytest.param(
        f"<rss><channel><title>x</title>{LINKED.format(n=1)}</channel>{LINKED.format(n=2)}"
        f"<channel>{LINKED.format(n=3)}</channel></rss>".encode(),
        True,
        id="root-level-items-and-two-channels",
    ),
    pytest.param(
        f"<rss><channel><item><link>https://e.org/1</link>{LINKED.format(n=2)}</item>"
        f"<x>{LINKED.format(n=3)}</x></channel></rss>".encode(),
        True,
        id="items-inside-items-or-others-are-not-entries",
    ),
    pytest.param(
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        b'xmlns="http://purl.org/rss/1.0/"><channel><title>c</title></channel>'
        + (LINKED.format(n=1) * 2).encode()
        + b"</rdf:RDF>",
        True,
        id="rdf-duplicate",
    ),
    pytest.param(
        b'<CHANNEL BASE="https://e.org/base/"><ITEM HREF="a.html"><TITLE>A</TITLE></ITEM>'
        b"</CHANNEL>",
        True,
        id="cdf-base",
    ),
    pytest.param(
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://e.org/x/"><title>f</title>'
        b'<entry><id>1</id><link href="one"/></entry><entry><id>2</id><link href="two"/></entry>'
        b"</feed>",
        True,
        id="atom-xml-base",
    ),
    pytest.param(f"<rss><channel>{FIFTY}</channel>".encode(), False, id="cut-after-50"),
    pytest.param(f"<rss><channel>{FIFTY} & </channel></rss>".encode(), False, id="bare-amp"),
    pytest.param(b"<html><body><p>not a feed</p></body></html>", False, id="not-a-feed"),
]


@pytest.mark.parametrize(("data", "streams"), STREAM_CASES)
def test_streamed_reading_gives_what_the_whole_tree_gives(data: bytes, streams: bool) -> None:
    url = "https://e.org/feed"
    streamed = feeds._streamed_feed(data, url)
    if not streams:  # read whole instead, which repairs, recovers or says why it can't
        assert streamed is None
        return
    assert streamed is not None and streamed != []
    assert (streamed, ()) == feeds._xml_feed(read_xml(data, url), url)
    assert read_feed(data, url).entries == tuple(streamed)


@pytest.mark.parametrize("name", sorted(os.listdir(FIXTURES)))
def test_without_summaries_only_the_summaries_are_left_out(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    full = read_feed(data, GAZETTE)
    lean = read_feed(data, GAZETTE, summaries=False)
    assert lean.entries == tuple(replace(e, summary="") for e in full.entries)
    assert lean.problems == full.problems
