"""A source read through damage over HTTP: failing child sitemaps and cut-off feeds are reported
on the source, and what could be read is still processed (SPEC 9, issue 8)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newswatch import acquire
from newswatch.config import load_config
from newswatch.models import Feed
from newswatch.pipeline import Runtime, run_cycle
from newswatch.report import SourceReport
from tests.httpfixture import LocalHTTPServer, Reply

PAGE = "<html><head><title>{0}</title></head><body><article><h1>{0}</h1><p>{1}</p></article>"
XML = [("Content-Type", "application/xml")]


@pytest.fixture
def site() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        server.route("/robots.txt", Reply(404))
        for n in range(6):
            body = f"Story {n} tells of harbour works, ferries and the weather on day {n}."
            page = PAGE.format(f"Story {n}", body).encode()
            server.route(f"/a/{n}", Reply(body=page, headers=[("Content-Type", "text/html")]))
        yield server


def urlset(site: LocalHTTPServer, *numbers: int) -> bytes:
    urls = "".join(f"<url><loc>{site.url(f'/a/{n}')}</loc></url>" for n in numbers)
    return f"<urlset>{urls}</urlset>".encode()


def index(site: LocalHTTPServer, *paths: str) -> bytes:
    children = "".join(f"<sitemap><loc>{site.url(p)}</loc></sitemap>" for p in paths)
    return f"<sitemapindex>{children}</sitemapindex>".encode()


def run_source(tmp_path: Path, kind: str, url: str) -> SourceReport:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"store: sqlite:///{tmp_path}/nw.db\ndefaults:\n  per_host_delay: 0\n"
        f"sources:\n  - name: gazette\n    {kind}: {url}\n"
        "topics:\n  - name: harbour\n    any: [harbour]\n",
        encoding="utf-8",
    )
    with Runtime.open(load_config(cfg)) as rt:
        (report,) = run_cycle(rt).sources
    return report


def test_index_with_a_404_child_keeps_the_good_children(
    tmp_path: Path, site: LocalHTTPServer
) -> None:
    site.route("/sitemap.xml", Reply(body=index(site, "/s1.xml", "/gone.xml", "/s2.xml")))
    site.route("/s1.xml", Reply(body=urlset(site, 0, 1), headers=XML))
    site.route("/s2.xml", Reply(body=urlset(site, 2), headers=XML))  # /gone.xml answers 404
    report = run_source(tmp_path, "sitemap", site.url("/sitemap.xml"))
    assert report.ok, report.error
    assert report.items == 3 and report.fetched == 3
    (error,) = report.item_errors
    assert error.startswith(site.url("/gone.xml")) and "404" in error
    assert "1 item errors" in report.line()


def test_index_with_a_child_that_is_not_a_sitemap(tmp_path: Path, site: LocalHTTPServer) -> None:
    site.route("/sitemap.xml", Reply(body=index(site, "/s1.xml", "/html.xml")))
    site.route("/s1.xml", Reply(body=urlset(site, 0), headers=XML))
    site.route("/html.xml", Reply(body=b"<html><body>Maintenance</body></html>", headers=XML))
    report = run_source(tmp_path, "sitemap", site.url("/sitemap.xml"))
    assert report.ok and report.items == 1
    (error,) = report.item_errors
    assert error.startswith(site.url("/html.xml")) and "ParseError" in error


def test_index_whose_children_all_fail_fails_the_source(
    tmp_path: Path, site: LocalHTTPServer
) -> None:
    site.route("/sitemap.xml", Reply(body=index(site, "/gone.xml", "/also-gone.xml")))
    report = run_source(tmp_path, "sitemap", site.url("/sitemap.xml"))
    assert not report.ok and "404" in (report.error or "")


def test_cut_off_feed_keeps_its_finished_items_and_reports_the_damage(
    tmp_path: Path, site: LocalHTTPServer
) -> None:
    items = "".join(
        f"<item><title>Story {n}</title><link>{site.url(f'/a/{n}')}</link></item>" for n in (0, 1)
    )
    cut = f'<rss version="2.0"><channel>{items}<item><title>Story 2</title><link>{site.url("/a/")}'
    site.route("/feed", Reply(body=cut.encode(), headers=[("Content-Type", "application/rss+xml")]))
    report = run_source(tmp_path, "feed", site.url("/feed"))
    assert report.ok and report.items == 2
    (error,) = report.item_errors
    assert error.startswith(site.url("/feed")) and "damaged XML" in error


def test_a_source_whose_pass_crashes_fails_alone(
    tmp_path: Path, site: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug met while reading one source (here an unexpected KeyError from its feed's parser)
    fails that source, with the error in its report, and the others are processed as usual."""
    feed = "".join(
        f"<item><title>S{n}</title><link>{site.url(f'/a/{n}')}</link></item>" for n in (0, 1)
    )
    site.route("/good.xml", Reply(body=f"<rss><channel>{feed}</channel></rss>".encode()))
    site.route("/buggy.xml", Reply(body=b"<rss><channel></channel></rss>"))
    real = acquire.read_feed

    def read_feed(data: bytes, url: str, **kw: bool) -> Feed:
        if url.endswith("/buggy.xml"):
            raise KeyError("a bug")
        return real(data, url, **kw)

    monkeypatch.setattr(acquire, "read_feed", read_feed)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"store: sqlite:///{tmp_path}/nw.db\ndefaults:\n  per_host_delay: 0\n"
        f"sources:\n  - name: buggy\n    feed: {site.url('/buggy.xml')}\n"
        f"  - name: good\n    feed: {site.url('/good.xml')}\n"
        "topics:\n  - name: harbour\n    any: [harbour]\n",
        encoding="utf-8",
    )
    with Runtime.open(load_config(cfg)) as rt:
        report = run_cycle(rt)
    by_name = {s.source: s for s in report.sources}
    assert not by_name["buggy"].ok
    assert by_name["buggy"].error == "KeyError: 'a bug'"
    assert by_name["good"].ok and by_name["good"].fetched == 2
    assert {s.path for s in site.seen()} >= {"/a/0", "/a/1"}
