"""End to end through the CLI: a local news site over many cycles, real SMTP and webhooks."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from newswatch.demo import NewsDaySite, SmtpReceiver, WebhookReceiver
from tests.e2e_support import demo_config_in, demo_text

ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = ROOT / "config" / "demo.yaml"


class World:
    """The site, both receivers and a working directory holding the store."""

    def __init__(self, site: NewsDaySite, hook: WebhookReceiver, smtp: SmtpReceiver, cwd: Path):
        self.site, self.hook, self.smtp, self.cwd = site, hook, smtp, cwd

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
        env.update(
            NEWSWATCH_DEMO_SITE=self.site.base_url,
            NEWSWATCH_DEMO_HOOK=self.hook.url,
            NEWSWATCH_DEMO_MAIL=self.smtp.apprise_url(to="desk@example.org"),
        )
        return env

    def cli(self, *args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
        config = config or demo_config_in(self.cwd)
        return subprocess.run(
            [sys.executable, "-m", "newswatch.cli", *args, "-c", str(config)],
            cwd=self.cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=180,
        )

    def run_step(self, step: int) -> subprocess.CompletedProcess[str]:
        self.site.set_step(step)
        done = self.cli("run")
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def chat_titles(self) -> list[str]:
        return [str(m["title"]) for m in self.hook.messages]

    def mail_subjects(self) -> list[str]:
        return [str(m["subject"]) for m in self.smtp.messages]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with NewsDaySite() as site, WebhookReceiver() as hook, SmtpReceiver() as smtp:
        yield World(site, hook, smtp, tmp_path_factory.mktemp("e2e"))


def test_a_news_day_through_the_cli(world: World) -> None:
    # Step 0: the baseline records everything and sends nothing.
    out = world.run_step(0)
    assert "baseline" in out.stdout
    assert world.hook.messages == [] and world.smtp.messages == []

    # Step 1: the talks story is new. Talks go to chat only (email is routed refugees+sanctions).
    world.run_step(1)
    chat = world.chat_titles()
    assert any("[talks] New story" in t and "second round" in t.lower() for t in chat), chat
    assert any("[talks] Update" in t for t in chat), chat  # new entry on the live page
    assert len(chat) == 2 and world.smtp.messages == []

    # A re-run of the same step sends nothing: everything is already recorded and sent.
    world.run_step(1)
    assert len(world.hook.messages) == 2 and world.smtp.messages == []

    # Step 2: sanctions go to both channels; the nurses' pay-talks story matches nothing.
    world.run_step(2)
    new_chat = world.chat_titles()[2:]
    assert any("[sanctions] New story" in t for t in new_chat), new_chat
    assert all("[sanctions]" in t for t in new_chat), new_chat
    mails = world.mail_subjects()
    assert mails and all("[sanctions]" in s for s in mails), mails
    assert len(mails) == len(new_chat)  # each development once on each routed channel
    everything = " ".join(str(m.get("body")) for m in world.hook.messages).lower()
    assert "nurse" not in everything and "pay talks" not in everything

    # The email has an HTML part and a plain-text part, and carries the article link.
    mail = world.smtp.messages[0]
    assert mail["html"] and mail["text"]
    assert world.site.base_url in str(mail["html"])


def test_a_refusing_channel_is_retried_and_nothing_is_lost_or_repeated(world: World) -> None:
    world.site.set_step(2)
    world.run_step(2)  # make sure steps up to 2 are done (the module fixture is shared)
    chat_before, mail_before = len(world.hook.messages), len(world.smtp.messages)
    world.hook.refuse(100)
    out = world.run_step(3)  # refugees: chat refuses, email is not held up
    assert "waiting" in out.stdout
    assert len(world.hook.messages) == chat_before
    refugee_mails = [s for s in world.mail_subjects()[mail_before:] if "[refugees]" in s]
    assert refugee_mails, world.mail_subjects()
    world.hook.refuse(0)
    # The next cycle runs before the backoff has passed: the row waits, still nothing lost.
    world.run_step(3)
    assert len(world.hook.messages) == chat_before
    # Force the backoff to be over by moving the retry time, as time passing would.
    _expire_backoff(world.cwd)
    world.run_step(3)
    new_titles = world.chat_titles()[chat_before:]
    assert new_titles and all("[refugees]" in t for t in new_titles), new_titles
    assert len(new_titles) == len(set(new_titles))  # each once
    world.run_step(3)
    assert world.chat_titles()[chat_before:] == new_titles  # and never again


def _expire_backoff(cwd: Path) -> None:
    import sqlite3

    with sqlite3.connect(cwd / "state" / "demo" / "newswatch.db") as db:
        db.execute(
            "UPDATE outbox SET next_attempt_at = '2000-01-01 00:00:00' WHERE status='pending'"
        )


def test_a_failing_source_is_reported_and_the_others_go_on(world: World, tmp_path: Path) -> None:
    text = demo_text(world.cwd).replace(
        "sources:\n",
        'sources:\n  - name: broken\n    feed: "${NEWSWATCH_DEMO_SITE}/no/such/feed.rss"\n',
        1,
    )
    cfg = tmp_path / "with-broken.yaml"
    cfg.write_text(text, encoding="utf-8")
    world.site.set_step(3)
    done = world.cli("run", config=cfg)
    assert done.returncode == 0, done.stderr
    assert "broken: FAILED" in done.stdout and "404" in done.stdout
    assert "northlight-news:" in done.stdout and "1 failed" in done.stdout


@pytest.mark.parametrize(
    "args,code,needle",
    [
        (["check"], 0, "northlight-news"),
        (["backfill", "--since", "yesterday"], 2, "bad time"),
        (["digest", "--channel", "nope"], 2, "no such channel"),
        (["digest", "--channel", "desk-chat"], 2, "an instant channel"),
    ],
)
def test_cli_usage(world: World, args: list[str], code: int, needle: str) -> None:
    done = world.cli(*args)
    assert done.returncode == code, done.stdout + done.stderr
    assert needle in done.stdout + done.stderr


def test_bad_config_exits_2_naming_file_and_key(world: World, tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("sources:\n  - name: a\n    feed: ftp://x\ntopics: []\n", encoding="utf-8")
    done = world.cli("run", config=cfg)
    assert done.returncode == 2
    assert "bad.yaml" in done.stderr and "sources[0]" in done.stderr


def test_two_cycles_at_once_on_postgresql_send_each_alert_once(
    tmp_path: Path, postgres_url: str
) -> None:
    """Scaled out: the store on PostgreSQL, two monitor processes racing at every step."""
    from tests.pgserver import fresh_database

    text = DEMO_CONFIG.read_text(encoding="utf-8")
    store_line = next(line for line in text.splitlines() if line.startswith("store:"))
    cfg = tmp_path / "pg.yaml"
    cfg.write_text(text.replace(store_line, f"store: {fresh_database(postgres_url)}"), "utf-8")
    with NewsDaySite() as site, WebhookReceiver() as hook, SmtpReceiver() as smtp:
        world = World(site, hook, smtp, tmp_path)
        for step in range(4):
            site.set_step(step)
            procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "newswatch.cli", "run", "-c", str(cfg)],
                    cwd=tmp_path,
                    env=world.env(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                for _ in range(2)
            ]
            for p in procs:
                out, _ = p.communicate(timeout=180)
                assert p.returncode == 0, out
        chat, mail = world.chat_titles(), world.mail_subjects()
        assert chat and mail
        assert len(chat) == len(set(chat)), chat  # nothing twice
        assert len(mail) == len(set(mail)), mail
        assert any("[talks] New story" in t for t in chat)
        assert any("[sanctions] New story" in t for t in chat)
        assert any("[refugees] New story" in t for t in chat)


def test_check_fetch_shows_reasons_and_changes_nothing(tmp_path: Path) -> None:
    import sqlite3

    with NewsDaySite() as site, WebhookReceiver() as hook, SmtpReceiver() as smtp:
        world = World(site, hook, smtp, tmp_path)
        # On a fresh install: matches are shown as such, and no store is created.
        site.set_step(1)
        done = world.cli("check", "--fetch")
        assert done.returncode == 0, done.stderr
        assert "baseline" in done.stdout and "matches [talks] new_story" in done.stdout
        assert not (tmp_path / "state").exists()
        # After a baseline: what would alert, and why, with the store and channels untouched.
        world.run_step(1)
        site.set_step(2)
        db = tmp_path / "state" / "demo" / "newswatch.db"

        def snapshot() -> list[tuple[str, int]]:
            with sqlite3.connect(db) as conn:
                names = [
                    r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
                ]
                return [(n, conn.execute(f"SELECT count(*) FROM {n}").fetchone()[0]) for n in names]

        before = snapshot()
        done = world.cli("check", "--fetch")
        assert done.returncode == 0, done.stderr
        assert "would alert [sanctions] new_story" in done.stdout
        assert "why: terms" in done.stdout and "nearest known story" in done.stdout
        assert snapshot() == before
        assert hook.messages == [] and smtp.messages == []


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0"><channel><title>&lol3;</title><item><link>http://x/</link></item></channel></rss>"""


def test_hostile_sources_fail_alone_and_the_run_goes_on(tmp_path: Path) -> None:
    import gzip

    from tests.httpfixture import LocalHTTPServer, Reply

    with (
        LocalHTTPServer() as bad,
        NewsDaySite() as site,
        WebhookReceiver() as hook,
        SmtpReceiver() as smtp,
    ):
        bad.route("/robots.txt", Reply(404))
        bad.route("/bomb.rss", Reply(body=BOMB, headers=[("Content-Type", "application/rss+xml")]))
        bad.route("/huge.rss", Reply(body=b"<rss>" + b"x" * 3_000_000, chunked=True))
        zipped = gzip.compress(b"<urlset>" + b" " * 50_000_000 + b"</urlset>")
        bad.route("/zip.xml", Reply(body=zipped, headers=[("Content-Encoding", "gzip")]))
        bad.route("/garbage", Reply(body=bytes(range(256)) * 4000))
        bad.route("/slow", Reply(stall=30))
        hostile = "".join(
            f'  - name: {name}\n    {kind}: "{bad.url(path)}"\n{extra}'
            for name, kind, path, extra in [
                ("bomb", "feed", "/bomb.rss", ""),
                ("huge", "feed", "/huge.rss", ""),
                ("zipbomb", "sitemap", "/zip.xml", ""),
                ("garbage", "listing", "/garbage", ""),
                ("slow", "page", "/slow", "    timeout: 1s\n"),
            ]
        )
        text = demo_text(tmp_path).replace("sources:\n", "sources:\n" + hostile, 1)
        cfg = tmp_path / "hostile.yaml"
        cfg.write_text(text, encoding="utf-8")
        world = World(site, hook, smtp, tmp_path)
        for step in (0, 1):
            site.set_step(step)
            done = world.cli("run", config=cfg)
            assert done.returncode == 0, done.stdout + done.stderr
            for name in ("bomb", "huge", "zipbomb", "garbage", "slow"):
                assert f"{name}: FAILED" in done.stdout, (name, done.stdout)
        # the healthy sources went on: step 1's talks story reached the chat
        assert any("[talks] New story" in str(m["title"]) for m in hook.messages)
