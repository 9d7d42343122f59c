"""SPEC 5: a backfill leaves items published after a source's last monitor cycle to the monitor,
so a window reaching "now", run during live monitoring, does not take fresh news from instant
alerting."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from newswatch.config import load_config
from newswatch.demo import WebhookReceiver
from newswatch.pipeline import Runtime, plan_backfill, run_backfill, run_cycle
from tests.httpfixture import LocalHTTPServer, Reply
from tests.test_pipeline_caps import ARTICLE, body

HTML = [("Content-Type", "text/html")]


def rss(base: str, items: list[tuple[int, datetime]]) -> bytes:
    entries = "".join(
        f"<item><title>Talks {n}</title><link>{base}/a/{n}</link>"
        f"<pubDate>{format_datetime(when)}</pubDate></item>"
        for n, when in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel>{entries}</channel></rss>'.encode()


def test_a_backfill_reaching_now_leaves_fresh_items_to_the_monitor(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    old = [(n, now - timedelta(hours=5, minutes=n)) for n in range(2)]
    fresh = [(n, now - timedelta(minutes=10 - n)) for n in (2, 3)]
    with LocalHTTPServer() as site, WebhookReceiver() as hook:
        site.route("/robots.txt", Reply(404))
        for n in range(4):
            page = ARTICLE.format(t=f"Talks {n}", body=body(n)).encode()
            site.route(f"/a/{n}", Reply(body=page, headers=HTML))
        site.route("/feed", Reply(body=rss(site.base, old)))
        cfg = tmp_path / "c.yaml"
        cfg.write_text(
            "store: sqlite:///nw.db\ndefaults:\n  per_host_delay: 0\n"
            f"sources:\n  - name: wire\n    feed: {site.url('/feed')}\n"
            "topics:\n  - name: talks\n    any: [talks]\n"
            f"channels:\n  - name: chat\n    url: {hook.url}\n    topics: [talks]\n",
            encoding="utf-8",
        )
        config = load_config(cfg)
        with Runtime.open(config) as rt:
            assert run_cycle(rt).sources[0].baseline
        # The monitor's last cycle began 20 minutes ago; since then two items appeared.
        with sqlite3.connect(tmp_path / "nw.db") as conn:
            began = (now - timedelta(minutes=20)).replace(tzinfo=None).isoformat(" ")
            conn.execute("UPDATE source_state SET last_run_at = ?", (began,))
        site.route("/feed", Reply(body=rss(site.base, old + fresh)))
        with Runtime.open(config) as rt:
            plan = plan_backfill(config, "1d", None, notify="digest")
            report = run_backfill(rt, plan)
            assert report.developments == [], [d.title for d in report.developments]
            assert hook.messages == []  # no backfill digest took them
            cycle = run_cycle(rt)
        assert sorted(d.title for d in cycle.developments) == ["Talks 2", "Talks 3"]
        titles = sorted(str(m["title"]) for m in hook.messages)
        assert len(titles) == 2 and all("New story" in t for t in titles), titles
        assert cycle.messages_sent == 2
