"""`newswatch developments` and `feeds_dir` through the CLI against the local news-day site."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from newswatch.demo import NewsDaySite, WebhookReceiver
from newswatch.export import CSV_FIELDS

ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = ROOT / "config" / "demo.yaml"
FIELDS = {
    "fingerprint", "kind", "topic", "title", "url", "source", "outlets", "links", "published",
    "detected", "terms", "nearest", "similarity", "figures", "text",
}  # fmt: skip


class Desk:
    """The site, a chat receiver, and a working folder whose config writes feeds to `feeds/`."""

    def __init__(self, site: NewsDaySite, hook: WebhookReceiver, cwd: Path) -> None:
        self.site, self.hook, self.cwd = site, hook, cwd
        self.config = self.write_config("newswatch.yaml", "feeds")

    def write_config(self, name: str, feeds_dir: str) -> Path:
        text = DEMO_CONFIG.read_text(encoding="utf-8")
        path = self.cwd / name
        path.write_text(f"{text}\nfeeds_dir: {feeds_dir}\n", encoding="utf-8")
        return path

    def cli(self, *args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
        env.update(
            NEWSWATCH_DEMO_SITE=self.site.base_url,
            NEWSWATCH_DEMO_HOOK=self.hook.url,
            NEWSWATCH_DEMO_MAIL="json://127.0.0.1:9/",
        )
        return subprocess.run(
            [sys.executable, "-m", "newswatch", *args, "-c", str(config or self.config)],
            cwd=self.cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )

    def ok(self, *args: str, config: Path | None = None) -> str:
        done = self.cli(*args, config=config)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def developments(self, *args: str) -> list[dict[str, object]]:
        found: list[dict[str, object]] = json.loads(
            self.ok("developments", "--format", "json", *args)
        )
        return found


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with NewsDaySite() as site, WebhookReceiver() as hook:
        desk = Desk(site, hook, tmp_path_factory.mktemp("desk"))
        for step in (0, 1, 2):
            site.set_step(step)
            desk.ok("run")
        yield desk


def test_json_lists_every_development_newest_first_with_why(desk: Desk) -> None:
    devs = desk.developments()
    assert len(devs) >= 4
    assert all(set(d) == FIELDS for d in devs)
    detected = [str(d["detected"]) for d in devs]
    assert detected == sorted(detected, reverse=True)
    assert {d["topic"] for d in devs} >= {"talks", "sanctions"}
    story = next(d for d in devs if d["kind"] == "new_story" and d["topic"] == "sanctions")
    assert story["terms"] and story["outlets"] and str(story["url"]).startswith("http://")
    assert str(story["detected"]).endswith("+00:00")
    # Every development alerted on chat is in the export, once.
    assert len({d["fingerprint"] for d in devs}) == len(devs) == len(desk.hook.messages)


def test_topic_and_since_filter_and_csv_carries_the_same_rows(desk: Desk) -> None:
    everything = desk.developments()
    sanctions = desk.developments("--topic", "sanctions")
    assert sanctions and {d["topic"] for d in sanctions} == {"sanctions"}
    both = desk.developments("--topic", "sanctions", "--topic", "talks")
    assert len(both) == len([d for d in everything if d["topic"] in ("sanctions", "talks")])
    assert desk.developments("--since", "1d") == everything
    assert desk.developments("--since", "2999-01-01") == []
    rows = list(csv.DictReader(io.StringIO(desk.ok("developments", "--format", "csv"))))
    assert rows and tuple(rows[0]) == CSV_FIELDS
    assert [r["fingerprint"] for r in rows] == [d["fingerprint"] for d in everything]
    table = desk.ok("developments", "--topic", "talks")
    assert "why: terms" in table and "[talks]" in table and "[sanctions]" not in table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--topic", "weather"], "--topic weather: no such topic in"),
        (["--since", "last tuesday"], "bad time 'last tuesday'"),
    ],
)
def test_bad_filters_are_usage_errors(desk: Desk, args: list[str], message: str) -> None:
    done = desk.cli("developments", *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr


def _feed(path: Path) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def test_feeds_hold_each_development_once_with_stable_ids(desk: Desk) -> None:
    feeds = desk.cwd / "feeds"
    devs = desk.developments()
    everything = _feed(feeds / "all.atom")
    assert [e.id for e in everything.entries] == [
        f"urn:newswatch:development:{d['fingerprint']}" for d in devs
    ]
    assert [e.link for e in everything.entries] == [d["url"] for d in devs]
    first = everything.entries[0]
    assert first.title.endswith(str(devs[0]["title"])) and "Why: terms" in first.summary
    for topic in ("talks", "sanctions", "refugees"):
        entries = _feed(feeds / f"{topic}.atom").entries
        assert [e.id.rsplit(":", 1)[1] for e in entries] == [
            d["fingerprint"] for d in devs if d["topic"] == topic
        ]
    before = (feeds / "all.atom").read_bytes()
    desk.ok("run")  # nothing new at the same step: the feed is rewritten byte for byte
    assert (feeds / "all.atom").read_bytes() == before
    assert not [p.name for p in feeds.iterdir() if p.name.endswith(".tmp")]


def test_an_unwritable_feeds_dir_is_reported_and_nothing_is_lost(desk: Desk) -> None:
    (desk.cwd / "a-file").write_text("not a folder")
    broken = desk.write_config("broken.yaml", "a-file/feeds")
    desk.site.set_step(3)
    done = desk.cli("run", config=broken)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "feeds NOT written: feeds_dir" in done.stdout and "a-file/feeds" in done.stdout
    assert "newswatch: warning: feeds_dir" in done.stderr and "Not a directory" in done.stderr
    found = desk.developments()
    assert any(d["topic"] == "refugees" for d in found)  # the run's findings are stored
    desk.ok("run")  # a later run with a good feeds_dir writes them all
    ids = [e.id for e in _feed(desk.cwd / "feeds" / "all.atom").entries]
    assert ids == [f"urn:newswatch:development:{d['fingerprint']}" for d in desk.developments()]
