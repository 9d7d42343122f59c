"""A baseline that meets more links than it may fetch: none of the rest alerts later as news."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from newswatch import pipeline
from newswatch.config import load_config
from newswatch.demo import WebhookReceiver
from newswatch.pipeline import Runtime, run_cycle
from tests.httpfixture import LocalHTTPServer, Reply

ARTICLE = """<html><head><title>{t}</title></head><body><article><h1>{t}</h1>
<p>{body}</p></article></body></html>"""
PLACES = ["Gomel", "Istanbul", "Geneva", "Minsk", "Vienna", "Helsinki"]
SUBJECTS = [
    "grain exports",
    "prisoner exchanges",
    "a nuclear plant",
    "humanitarian corridors",
    "the Black Sea fleet",
    "energy supplies",
]
WHO = [
    "foreign ministers",
    "military officers",
    "parliamentary envoys",
    "UN mediators",
    "presidential advisers",
    "Red Cross officials",
]


def body(n: int) -> str:
    """A different story for each n (copies of one story would rightly be attached, not sent)."""
    return (
        f"In {PLACES[n]}, {WHO[n]} opened talks about {SUBJECTS[n]} on a day when "
        f"{WHO[(n + 2) % 6]} in {PLACES[(n + 3) % 6]} had predicted no progress on "
        f"{SUBJECTS[(n + 4) % 6]} at all, leaving observers in {PLACES[(n + 1) % 6]} surprised."
    )


def feed(base: str, count: int) -> bytes:
    now = datetime.now(UTC)
    items = "".join(
        f"<item><title>Talks {n}</title><link>{base}/a/{n}</link>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=count - n))}</pubDate></item>"
        for n in range(count)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'.encode()


def test_links_beyond_the_baseline_cap_never_alert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "MAX_BASELINE_FETCH", 2)
    with LocalHTTPServer() as site, WebhookReceiver() as hook:
        site.route("/robots.txt", Reply(404))
        for n in range(6):
            page = ARTICLE.format(t=f"Talks {n}", body=body(n)).encode()
            site.route(f"/a/{n}", Reply(body=page, headers=[("Content-Type", "text/html")]))
        site.route("/feed", Reply(body=feed(site.base, 5)))
        cfg = tmp_path / "c.yaml"
        cfg.write_text(
            f"store: sqlite:///{tmp_path}/nw.db\ndefaults:\n  per_host_delay: 0\n"
            f"sources:\n  - name: wire\n    feed: {site.url('/feed')}\n"
            "topics:\n  - name: talks\n    any: [talks]\n"
            f"channels:\n  - name: chat\n    url: {hook.url}\n    topics: [talks]\n",
            encoding="utf-8",
        )
        with Runtime.open(load_config(cfg)) as rt:
            first = run_cycle(rt)
            assert first.sources[0].baseline and first.sources[0].fetched == 2
            fetched = {s.path for s in site.seen() if s.path.startswith("/a/")}
            assert fetched == {"/a/3", "/a/4"}  # the newest two
            asked = len(site.seen())
            second = run_cycle(rt)  # the three left unfetched are known, not news
            assert second.developments == [] and hook.messages == []
            assert second.sources[0].new_items == 0 and not second.sources[0].baseline
            again = {s.path for s in site.seen()[asked:] if s.path.startswith("/a/")}
            assert again <= {"/a/3", "/a/4"}  # only the fetched two, rechecked; never the rest
            site.route("/feed", Reply(body=feed(site.base, 6)))
            third = run_cycle(rt)  # one genuinely new item: one alert
            assert [d.url for d in third.developments] == [site.url("/a/5")]
        assert len(hook.messages) == 1
