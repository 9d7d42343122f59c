"""The demo news day: what the replay site serves per step, its validators, configs, receivers."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import apprise
import pytest
import requests
from protego import Protego

from newswatch.demo import NewsDaySite, SmtpReceiver, WebhookReceiver, load_newsday
from newswatch.demo.newsday import NewsDay, Story
from newswatch.demo.receivers import decode_post
from parsers.dates import parse_date

DAY: NewsDay = load_newsday()
LAST = len(DAY.steps) - 1
ROOT = Path(__file__).resolve().parents[1]
FEED, LIVE = "northlight-news", "northlight-live"
SITEMAP, LISTING = "meridian-sitemap", "meridian-latest"
_PUB_DATE = re.compile(r"<pubDate>([^<]+)</pubDate>")
_NEWS_DATE = re.compile(r"<news:publication_date>([^<]+)</news:publication_date>")
_ENTRY = re.compile(r'<article id="entry-([^"]+)"[^>]*>')
_DEFAULT = re.compile(r"\$\{[A-Z_]+:-([^}]*)\}")


@pytest.fixture(scope="module")
def running_site() -> Iterator[NewsDaySite]:
    with NewsDaySite() as s:
        yield s


@pytest.fixture
def site(running_site: NewsDaySite) -> NewsDaySite:
    running_site.set_step(0)
    return running_site


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as h:
        yield h


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as s:
        yield s


def get(site: NewsDaySite, path: str, **headers: str) -> requests.Response:
    return requests.get(site.url(path), headers=headers, timeout=5)


def source_path(site: NewsDaySite, name: str) -> str:
    return site.source_urls()[name].removeprefix(site.base_url)


def visible(step: int, outlet: str) -> list[Story]:
    return DAY.stories_at(step, outlet)


# --- the news day itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fact",
    ["Belarus", "second round", "airspace", "Aeroflot", "SWIFT", "half a million",
     "UN refugee agency", "660,000", "at least 102 civilians", "Almost 6,000", "Zelensky",
     "Kharkiv", "pay talks", "football"],
)  # fmt: skip
def test_the_news_day_carries_the_facts_the_demo_needs(fact: str) -> None:
    texts = [p for s in DAY.stories for p in s.paragraphs] + [
        p for e in DAY.live.entries for p in (e.title, *e.paragraphs)
    ]
    assert any(fact.lower() in t.lower() for t in texts)


def test_later_steps_carry_newer_items_and_step_zero_has_stories_per_outlet() -> None:
    assert len(DAY.steps) >= 6
    for outlet in DAY.outlets:
        assert len(visible(0, outlet.key)) >= 2
    for earlier, later in zip(DAY.steps, DAY.steps[1:], strict=False):
        new = [s.clock for s in DAY.stories if s.step == later.index]
        old = [s.clock for s in DAY.stories if s.step <= earlier.index]
        assert all(n > o for n in new for o in old)


# --- documents per step -------------------------------------------------------------------------


@pytest.mark.parametrize("step", range(LAST + 1))
def test_each_step_serves_exactly_its_items(site: NewsDaySite, step: int) -> None:
    site.set_step(step)
    feed = get(site, source_path(site, FEED))
    sitemap = get(site, source_path(site, SITEMAP))
    listing = get(site, source_path(site, LISTING))
    assert feed.headers["Content-Type"].startswith("application/rss+xml")
    assert sitemap.headers["Content-Type"].startswith("application/xml")
    assert listing.headers["Content-Type"].startswith("text/html")
    for story in DAY.stories:
        path = site.pages.story_path(story)
        shown = story.step <= step
        index = feed.text if story.outlet == "northlight" else sitemap.text + listing.text
        assert (path in index) is shown, story.id
        assert get(site, path).status_code == (200 if shown else 404), story.id


@pytest.mark.parametrize("step", range(LAST + 1))
def test_the_live_page_gains_entries_and_is_truncated_only_on_its_step(
    site: NewsDaySite, step: int
) -> None:
    site.set_step(step)
    page = get(site, source_path(site, LIVE)).text
    expected = [e.id for e in DAY.live_entries_at(step)]
    truncated = "live-truncated" in DAY.steps[step].cosmetic
    assert _ENTRY.findall(page) == (expected[:4] if truncated else expected)
    assert page.rstrip().endswith("</html>") is not truncated


def test_published_times_are_recent_past_and_follow_the_steps(site: NewsDaySite) -> None:
    site.set_step(LAST)
    now = datetime.now(UTC)
    feed = get(site, source_path(site, FEED)).text
    sitemap = get(site, source_path(site, SITEMAP)).text
    times = [parse_date(t) for t in _PUB_DATE.findall(feed) + _NEWS_DATE.findall(sitemap)]
    assert len(times) == len(DAY.stories)
    for when in times:
        assert when is not None and now - timedelta(hours=12) < when <= now
    by_step = [site.time_of_step(s.index) for s in DAY.steps]
    assert by_step == sorted(by_step) and by_step[-1] <= now


def test_robots_allows_the_sources_and_disallows_a_path_the_demo_never_needs(
    site: NewsDaySite,
) -> None:
    reply = get(site, "/robots.txt")
    robots = Protego.parse(reply.text)
    assert reply.status_code == 200
    for url in site.source_urls().values():
        assert robots.can_fetch(url, "newswatch")
    assert not robots.can_fetch(site.url("/meridian/search?q=ukraine"), "newswatch")
    assert not robots.can_fetch(site.url("/northlight/account/"), "newswatch")


def test_unknown_paths_are_404_and_head_matches_get(site: NewsDaySite) -> None:
    assert get(site, "/nowhere/").status_code == 404
    path = source_path(site, FEED)
    head = requests.head(site.url(path), timeout=5)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) == len(get(site, path).content)


# --- conditional requests ----------------------------------------------------------------------


@pytest.mark.parametrize("validator", ["etag", "last-modified"])
@pytest.mark.parametrize("source", [FEED, LIVE, SITEMAP, LISTING])
def test_unchanged_documents_answer_304_and_changed_ones_200(
    site: NewsDaySite, source: str, validator: str
) -> None:
    path = source_path(site, source)
    first = get(site, path)
    ask = (
        {"If-None-Match": first.headers["ETag"]}
        if validator == "etag"
        else {"If-Modified-Since": first.headers["Last-Modified"]}
    )
    again = get(site, path, **ask)
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["ETag"] == first.headers["ETag"]
    site.set_step(LAST)  # every index gains items by the last step
    changed = get(site, path, **ask)
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert site.hits[-1].conditional and site.hits[-1].status == 200


def test_an_article_untouched_by_later_steps_keeps_its_validators(site: NewsDaySite) -> None:
    path = site.pages.story_path(DAY.story("mw-chips"))
    first = get(site, path)
    site.set_step(LAST)
    again = get(site, path, **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Last-Modified"] == first.headers["Last-Modified"]


@pytest.mark.parametrize(
    ("story", "step", "before", "after"),
    [
        ("nl-delegations", "consent-banner", "We use cookies", "and its partners use cookies"),
        ("nl-talks-end", "typo-fix", "negotiatons", "negotiations difficult"),
    ],
)
def test_cosmetic_steps_change_the_bytes_of_known_articles(
    site: NewsDaySite, story: str, step: str, before: str, after: str
) -> None:
    at = next(s.index for s in DAY.steps if step in s.cosmetic)
    path = site.pages.story_path(DAY.story(story))
    site.set_step(at - 1)
    old = get(site, path)
    site.set_step(at)
    new = get(site, path, **{"If-None-Match": old.headers["ETag"]})
    assert new.status_code == 200
    assert before in old.text and before not in new.text and after in new.text


def test_related_links_are_reordered_on_reorder_steps(site: NewsDaySite) -> None:
    at = next(s.index for s in DAY.steps if "related-reorder" in s.cosmetic)
    path = site.pages.story_path(DAY.story("nl-delegations"))
    aside = re.compile(r'<aside class="related">.*?</aside>', re.S)
    site.set_step(at - 1)
    old = aside.findall(get(site, path).text)
    site.set_step(at)
    new = aside.findall(get(site, path).text)
    assert old and new and old != new and sorted(old[0]) == sorted(new[0])


# --- step control -------------------------------------------------------------------------------


def test_steps_are_described_and_bounded(site: NewsDaySite) -> None:
    lines = [site.describe_step(n) for n in range(site.steps)]
    assert len(set(lines)) == site.steps and all("\n" not in line for line in lines)
    assert all(line.startswith(f"step {n} ") for n, line in enumerate(lines))
    while site.step < LAST:
        site.advance()
    for bad in (lambda: site.advance(), lambda: site.set_step(LAST + 1), lambda: site.set_step(-1)):
        with pytest.raises(ValueError):
            bad()


# --- configs ------------------------------------------------------------------------------------


def test_demo_config_sources_are_the_paths_the_site_serves(site: NewsDaySite) -> None:
    text = (ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
    expanded = _DEFAULT.sub(lambda m: m[1], text)
    fallback = "http://127.0.0.1:8765"
    for name, url in site.source_urls().items():
        assert f"- name: {name}" in expanded
        assert url.replace(site.base_url, fallback) in expanded


@pytest.mark.parametrize("name", ["demo.yaml", "newswatch.yaml"])
def test_configs_load(name: str, site: NewsDaySite) -> None:
    config_module = pytest.importorskip("newswatch.config")
    env = {"NEWSWATCH_DEMO_SITE": site.base_url}
    config = config_module.load_config(ROOT / "config" / name, env=env)
    assert {t.name for t in config.topics} == {"talks", "sanctions", "refugees"}
    if name == "demo.yaml":
        assert {s.name: s.url for s in config.sources} == site.source_urls()
        channels = {c.name: set(c.topics) for c in config.channels}
        assert channels == {
            "desk-chat": {"talks", "sanctions", "refugees"},
            "editor-email": {"refugees", "sanctions"},
        }
        for source in config.sources:
            assert requests.get(source.url, timeout=5).status_code == 200


# --- receivers ----------------------------------------------------------------------------------


def notify(url: str, title: str, body: str, body_format: str) -> bool:
    sender = apprise.Apprise()
    assert sender.add(url), url
    return bool(sender.notify(title=title, body=body, body_format=body_format))


@pytest.mark.parametrize("scheme", ["json", "form", "xml"])
def test_apprise_delivers_to_the_webhook_receiver(hook: WebhookReceiver, scheme: str) -> None:
    url = hook.url.replace("json://", f"{scheme}://")
    body = "**talks** · Update: delegations head home"
    assert notify(url, "talks: second round planned", body, apprise.NotifyFormat.MARKDOWN)
    [message] = hook.messages
    assert message["title"] == "talks: second round planned"
    assert message["body"] == message["message"] == body
    assert (message["format"], message["type"]) == (scheme, "info")


def test_refuse_fails_one_delivery_and_the_next_succeeds(hook: WebhookReceiver) -> None:
    hook.refuse(1)
    assert not notify(hook.url, "first", "refused", apprise.NotifyFormat.MARKDOWN)
    assert notify(hook.url, "second", "accepted", apprise.NotifyFormat.MARKDOWN)
    assert [m["title"] for m in hook.messages] == ["second"] and hook.refused == 1


def test_webhook_keeps_raw_and_malformed_bodies_and_calls_back() -> None:
    seen: list[dict[str, Any]] = []
    with WebhookReceiver(on_message=seen.append) as hook:
        for data, kind in [(b"plain words", "text/plain"), (b"{not json", "application/json")]:
            reply = requests.post(hook.http_url, data=data, headers={"Content-Type": kind})
            assert reply.status_code == 200
        assert [(m["format"], m["body"]) for m in seen] == [
            ("raw", "plain words"),
            ("raw", "{not json"),
        ]
        assert seen == hook.messages and hook.wait_for(2, timeout=0)


def test_webhook_refuses_oversized_posts(hook: WebhookReceiver) -> None:
    host, port = hook.address
    conn = http.client.HTTPConnection(host, port, timeout=5)
    conn.putrequest("POST", "/")
    conn.putheader("Content-Length", str(10**9))
    conn.endheaders()
    assert conn.getresponse().status == 413 and hook.messages == []
    conn.close()


@pytest.mark.parametrize(
    ("data", "kind", "title"),
    [
        (b'{"title": "t", "message": "m", "type": "info"}', "application/json", "t"),
        (b"title=t&message=m&type=info", "application/x-www-form-urlencoded", "t"),
        (b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", "application/xml", ""),
        (b"\xff\xfe broken", "application/json", ""),
    ],
)
def test_decode_post_never_raises(data: bytes, kind: str, title: str) -> None:
    assert decode_post(data, kind)["title"] == title


def test_apprise_delivers_html_email_to_the_smtp_receiver(smtp: SmtpReceiver) -> None:
    url = smtp.apprise_url(to="editor@example.org")
    html = "<p>More than <b>660,000</b> have fled &amp; crossed.</p>"
    assert notify(url, "refugees: fled 500,000 → 660,000", html, apprise.NotifyFormat.HTML)
    [mail] = smtp.messages
    assert mail["to"] == ["editor@example.org"] and "newswatch@example.org" in mail["from"]
    assert mail["subject"] == "refugees: fled 500,000 → 660,000"
    assert "<b>660,000</b>" in mail["html"]
    assert "660,000 have fled & crossed" in mail["text"] and "<b>" not in mail["text"]


def test_smtp_refuse_fails_one_delivery(smtp: SmtpReceiver) -> None:
    smtp.refuse(1)
    url = smtp.apprise_url()
    assert not notify(url, "first", "<p>refused</p>", apprise.NotifyFormat.HTML)
    assert notify(url, "second", "<p>accepted</p>", apprise.NotifyFormat.HTML)
    assert [m["subject"] for m in smtp.messages] == ["second"]


def test_receivers_get_distinct_free_ports_and_stop_cleanly() -> None:
    with WebhookReceiver() as a, WebhookReceiver() as b, SmtpReceiver() as c, SmtpReceiver() as d:
        ports = {a.address[1], b.address[1], c.address[1], d.address[1]}
        assert len(ports) == 4 and 0 not in ports
    with pytest.raises(RuntimeError):
        _ = a.url
    with pytest.raises(RuntimeError):
        _ = c.apprise_url()


# --- the team's parsers read the site's documents ------------------------------------------------


def _body(site: NewsDaySite, name: str) -> bytes:
    return get(site, source_path(site, name)).content


@pytest.mark.parametrize("step", [0, LAST])
def test_parse_feed_reads_the_feed(site: NewsDaySite, step: int) -> None:
    feeds = pytest.importorskip("parsers.feeds")
    site.set_step(step)
    entries = feeds.parse_feed(_body(site, FEED), site.source_urls()[FEED])
    wanted = {site.url(site.pages.story_path(s)) for s in visible(step, "northlight")}
    assert {e.url for e in entries} == wanted
    assert all(e.published is not None for e in entries)


@pytest.mark.parametrize("step", [0, LAST])
def test_parse_sitemap_and_listing_read_the_wire(site: NewsDaySite, step: int) -> None:
    sitemaps = pytest.importorskip("parsers.sitemaps")
    listings = pytest.importorskip("parsers.listings")
    site.set_step(step)
    wanted = {site.url(site.pages.story_path(s)) for s in visible(step, "meridian")}
    sitemap = sitemaps.parse_sitemap(_body(site, SITEMAP), site.source_urls()[SITEMAP])
    assert {e.url for e in sitemap.entries} == wanted
    links = listings.parse_listing(
        _body(site, LISTING), site.source_urls()[LISTING], "article.teaser h2 a"
    )
    assert {link.url for link in links} == wanted


@pytest.mark.parametrize("step", range(LAST + 1))
def test_parse_page_reads_the_live_page(site: NewsDaySite, step: int) -> None:
    pages = pytest.importorskip("parsers.pages")
    site.set_step(step)
    live = pages.parse_page(_body(site, LIVE), site.source_urls()[LIVE])
    entries = DAY.live_entries_at(step)
    if "live-truncated" in DAY.steps[step].cosmetic:
        entries = entries[:3]
    for entry in entries:
        assert set(entry.paragraphs) <= set(live.paragraphs), entry.id
    assert not any("cookies" in p for p in live.paragraphs)


@pytest.mark.parametrize("story", DAY.stories, ids=lambda s: s.id)
def test_parse_article_reads_every_article(site: NewsDaySite, story: Story) -> None:
    articles = pytest.importorskip("parsers.articles")
    site.set_step(LAST)
    url = site.url(site.pages.story_path(story))
    article = articles.parse_article(get(site, site.pages.story_path(story)).content, url)
    assert article.title == story.headline and article.canonical_url == url
    assert set(story.paragraphs_at(LAST)) <= set(article.paragraphs)
    assert article.published == site.pages.timeline.at(story.clock)
    assert not any("cookies" in p or "Read more" in p for p in article.paragraphs)
