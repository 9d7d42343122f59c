"""parse_sitemap: urlsets with Google News data, indexes, gzip, text sitemaps, hostile input."""

from __future__ import annotations

import gzip
import random
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newswatch.errors import ParseError
from newswatch.models import Sitemap, SitemapEntry
from parsers.sitemaps import gunzip, parse_sitemap

FIXTURES = Path(__file__).parent / "fixtures" / "sitemaps"
AGENCY = "https://www.agency.example/sitemap-news.xml"
BROADCASTER = "https://www.broadcaster.example/sitemap-index.xml"


def load(name: str, url: str = AGENCY) -> Sitemap:
    return parse_sitemap((FIXTURES / name).read_bytes(), url)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_google_news_sitemap() -> None:
    sitemap = load("news-sitemap.xml")
    assert sitemap.sitemaps == ()
    assert sitemap.entries == (
        SitemapEntry(
            url="https://www.agency.example/world/europe/russia-ukraine-talks-end-belarus-border-2022-02-28/",
            lastmod=at("2022-02-28T17:48:02+00:00"),
            title="Russia, Ukraine talks end with plan to meet again",
            published=at("2022-02-28T16:55:00+00:00"),
        ),
        SitemapEntry(
            url="https://www.agency.example/business/finance/rouble-record-low-central-bank-rate-2022-02-28/",
            lastmod=at("2022-02-28T12:01:00+00:00"),
            title="Rouble hits record low; central bank more than doubles key rate",
            published=at("2022-02-28T07:15:00+00:00"),
        ),
        SitemapEntry(
            url="https://www.agency.example/world/europe/refugees-poland-border-queues-2022-02-28/",
            lastmod=None,
            title="Refugees & volunteers crowd Polish border towns",
            published=at("2022-02-28T00:00:00+00:00"),
        ),
    )


def test_sitemap_index_children_resolved_and_deduplicated() -> None:
    sitemap = load("sitemap-index.xml", BROADCASTER)
    assert sitemap.entries == ()
    assert sitemap.sitemaps == (
        "https://www.broadcaster.example/sitemaps/news-2022-02-28.xml.gz",
        "https://www.broadcaster.example/sitemaps/news-2022-02-27.xml.gz",
    )


def test_gzip_child_detected_by_magic_bytes() -> None:
    # The index names a .gz child; whatever its name, the bytes decide.
    sitemap = load("news-2022-02-28.xml.gz", "https://www.broadcaster.example/sitemaps/child")
    assert [e.url for e in sitemap.entries] == [
        "https://www.broadcaster.example/news/ukraine/2022/0228/1283563-ukraine-russia-talks/",
        "https://www.broadcaster.example/news/ukraine/2022/0228/1283512-refugees-un/",
    ]
    assert sitemap.entries[0].lastmod == at("2022-02-28T17:35:00+00:00")


def test_uncompressed_bytes_named_gz_still_parse() -> None:
    data = gzip.decompress((FIXTURES / "news-2022-02-28.xml.gz").read_bytes())
    assert len(parse_sitemap(data, "https://www.broadcaster.example/x.xml.gz").entries) == 2


def test_wrong_namespace_and_case_matched_on_local_names() -> None:
    sitemap = load("no-namespace.xml", "https://www.kyivpost.example/sitemap.xml")
    assert [(e.url, e.lastmod) for e in sitemap.entries] == [
        ("https://www.kyivpost.example/post/68123", at("2022-02-28T00:00:00+00:00")),
        ("https://www.kyivpost.example/post/68124", at("2022-02-28T14:00:00+02:00")),
    ]


def test_text_sitemap() -> None:
    sitemap = load("sitemap.txt")
    assert [e.url for e in sitemap.entries] == [
        "https://www.agency.example/world/europe/ukraine-talks-2022-02-28/",
        "https://www.agency.example/world/europe/refugees-moldova-2022-02-28/",
    ]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        pytest.param(
            b"<urlset><url><loc>https://a.example/1</loc></url></urlset>",
            ["https://a.example/1"],
            id="no-namespace",
        ),
        pytest.param(
            b'<s:urlset xmlns:s="http://www.sitemaps.org/schemas/sitemap/0.9">'
            b"<s:url><s:loc>https://a.example/2</s:loc></s:url></s:urlset>",
            ["https://a.example/2"],
            id="prefixed",
        ),
        pytest.param(b"<urlset/>", [], id="empty-urlset"),
        pytest.param(
            b"<urlset><url><loc>relative/3</loc></url><url><loc>data:,x</loc></url></urlset>",
            ["https://a.example/relative/3"],
            id="relative-and-unsafe",
        ),
        pytest.param(
            b'<rss version="2.0"><channel><item><title>Fled</title>'
            b"<link>https://a.example/4</link></item></channel></rss>",
            ["https://a.example/4"],
            id="rss-as-sitemap",
        ),
    ],
)
def test_urlset_variants(doc: bytes, expected: list[str]) -> None:
    assert [e.url for e in parse_sitemap(doc, "https://a.example/sitemap.xml").entries] == expected


def test_multi_member_gzip() -> None:
    part_one = gzip.compress(b"https://a.example/1\n")
    part_two = gzip.compress(b"https://a.example/2\n")
    sitemap = parse_sitemap(part_one + part_two, "https://a.example/s.txt.gz")
    assert [e.url for e in sitemap.entries] == ["https://a.example/1", "https://a.example/2"]


# --- damaged sitemaps keep what they finished (issue 8) ------------------------------------

GAZETTE = "https://www.harbour-gazette.example/sitemap.xml"
FERRY = "https://www.harbour-gazette.example/news/ferry-strike-off"
BARRIER = "https://www.harbour-gazette.example/news/flood-barrier"
PORT = "https://www.harbour-gazette.example/news/port-expansion"
CHILDREN = (
    "https://www.harbour-gazette.example/sitemaps/news-2022-03-01.xml",
    "https://www.harbour-gazette.example/sitemaps/news-2022-02-28.xml",
)


@pytest.mark.parametrize(
    ("name", "entries", "sitemaps", "problem"),
    [
        pytest.param(
            "damaged-news-sitemap.xml", [FERRY, BARRIER], (), "cut off unfinished: 1", id="urlset"
        ),
        pytest.param("damaged-index.xml", [], CHILDREN, "cut off unfinished: 1", id="index"),
        pytest.param(
            "text-with-notes.txt", [FERRY, BARRIER, PORT], (), "skipped 2 line(s)", id="text"
        ),
    ],
)
def test_damaged_sitemaps_keep_complete_entries(
    name: str, entries: list[str], sitemaps: tuple[str, ...], problem: str
) -> None:
    sitemap = load(name, GAZETTE)
    assert [e.url for e in sitemap.entries] == entries
    assert sitemap.sitemaps == sitemaps
    (reported,) = sitemap.problems
    assert problem in reported


def test_damaged_sitemap_keeps_news_fields_with_undeclared_prefix() -> None:
    ferry, _ = load("damaged-news-sitemap.xml", GAZETTE).entries
    assert ferry.title == "Ferry strike called off after overnight talks"
    assert ferry.published == at("2022-03-01T06:00:00+00:00")
    assert ferry.lastmod == at("2022-03-01T06:10:00+00:00")


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        pytest.param(
            b"<urlset><url><loc>https://a.example/1</loc></url><url><loc>https://a.example/2",
            ["https://a.example/1"],
            id="cut-in-second-url",
        ),
        pytest.param(
            b"<urlset><url><loc>https://a.example/1</loc></url></urlset",
            ["https://a.example/1"],
            id="final-gt",
        ),
        pytest.param(
            gzip.compress(b"<urlset><url><loc>https://a.example/1</loc></url><url><lo"),
            ["https://a.example/1"],
            id="gzip-of-truncated",
        ),
        pytest.param(
            b'<rss version="2.0"><channel><item><link>https://a.example/1</link></item>'
            b"<item><link>https://a.example/2",
            ["https://a.example/1"],
            id="truncated-feed-as-sitemap",
        ),
    ],
)
def test_truncated_sitemaps(doc: bytes, expected: list[str]) -> None:
    sitemap = parse_sitemap(doc, "https://a.example/sitemap.xml")
    assert [e.url for e in sitemap.entries] == expected
    assert sitemap.problems and sitemap.problems[0].startswith("damaged XML")


def test_whole_sitemaps_report_no_problems() -> None:
    assert load("news-sitemap.xml").problems == ()
    assert load("sitemap.txt").problems == ()


# --- hostile and broken input --------------------------------------------------------------


def _bomb_member(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\0" * 1_000_000
    return b"".join(packer.compress(chunk) for _ in range(size // len(chunk))) + packer.flush()


@pytest.mark.timeout(30)
def test_gzip_bomb_refused_at_default_cap() -> None:
    # 120 copies of a 10 MB member: about 1.2 GB once inflated, from about 1.2 MB of input.
    bomb = _bomb_member(10_000_000) * 120
    assert len(bomb) < 2_000_000
    with pytest.raises(ParseError, match="50000000 bytes"):
        parse_sitemap(bomb, "https://a.example/bomb.xml.gz")


@pytest.mark.parametrize("cap", [1, 1000, 999_999])
def test_gzip_cap_is_exact(cap: int) -> None:
    data = gzip.compress(b"x" * 1_000_000)
    with pytest.raises(ParseError, match=f"more than {cap} bytes"):
        gunzip(data, "https://a.example/s.gz", max_bytes=cap)
    assert len(gunzip(data, "https://a.example/s.gz", max_bytes=1_000_000)) == 1_000_000


def test_plain_input_over_cap_refused() -> None:
    with pytest.raises(ParseError, match="larger than"):
        parse_sitemap(b"<urlset/>" + b" " * 100, "https://a.example/s.xml", max_bytes=50)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\n\n", id="blank"),
        pytest.param(
            gzip.compress(b"<urlset><url><loc>https://a.example/1</loc>")[:-12], id="gzip-truncated"
        ),
        pytest.param(b"\x1f\x8b\x08\x00garbage", id="gzip-corrupt"),
        pytest.param(b"<urlset><url><loc>https://a.example/1</loc>", id="xml-truncated-in-url"),
        pytest.param(b"<html><body><a href='/x'>x</a></body></html>", id="html"),
        pytest.param(b"<!DOCTYPE html><html><body><p>Not found<br></body></html>", id="html-404"),
        pytest.param(
            b"https://a.example/1\nthis is not a url\nnor is this\n", id="text-with-prose"
        ),
        pytest.param(b"Not found\n", id="text-error-page"),
        pytest.param(b"\xff\xfe\x00\x00garbage\x80\x81", id="binary"),
        pytest.param(b"<urlset>" + b"<url>" * 50_000, id="deep-tags"),
        pytest.param(random.Random(3).randbytes(5_000_000), id="5MB-random"),
        pytest.param(b"<" + random.Random(4).randbytes(5_000_000), id="5MB-random-after-lt"),
        pytest.param(gzip.compress(random.Random(5).randbytes(1_000_000)), id="gzip-of-random"),
        pytest.param(
            b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "aaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><urlset><url><loc>&b;</loc></url></urlset>',
            id="entity-bomb",
        ),
    ],
)
def test_bad_input_raises_parse_error_only(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_sitemap(data, "https://a.example/sitemap.xml")
