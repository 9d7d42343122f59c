"""Operating newswatch (SPEC 9) through the CLI: health alarms and recovery, `status`, `budget`
on a slow-drip host, a store that cannot be written, and a backfill leaving fresh news to the
monitor. Local HTTP servers and a local webhook; real subprocesses; no sleeps."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from newswatch.demo import WebhookReceiver
from tests.httpfixture import LocalHTTPServer, Reply
from tests.test_pipeline_caps import ARTICLE, body, feed

ROOT = Path(__file__).resolve().parents[1]
HTML = [("Content-Type", "text/html")]


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    return subprocess.run(
        [sys.executable, "-m", "newswatch.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def serve_articles(site: LocalHTTPServer, count: int) -> None:
    site.route("/robots.txt", Reply(404))
    for n in range(count):
        page = ARTICLE.format(t=f"Talks {n}", body=body(n % 6)).encode()
        site.route(f"/a/{n}", Reply(body=page, headers=HTML))


def write_config(folder: Path, sources: str, channels: str, defaults: str = "") -> Path:
    """A config whose store is given relatively: it must land next to the file."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / "nw.yaml"
    cfg.write_text(
        "store: sqlite:///state/nw.db\n"
        f"defaults:\n  per_host_delay: 0\n  timeout: 3s\n{defaults}"
        f"sources:\n{sources}"
        "topics:\n  - name: talks\n    any: [talks]\n"
        f"channels:\n{channels}",
        encoding="utf-8",
    )
    return cfg


def db(folder: Path) -> sqlite3.Connection:
    return sqlite3.connect(folder / "state" / "nw.db", timeout=30)


@pytest.mark.timeout(900)  # 15 CLI runs; a busy 2-core machine takes 5-20 s each
def test_health_alarm_once_recovery_once_durable_and_status(tmp_path: Path) -> None:
    with LocalHTTPServer() as site, WebhookReceiver() as hook:
        serve_articles(site, 3)
        site.route("/good", Reply(body=feed(site.base, 2)))
        site.route("/flaky", Reply(body=feed(site.base, 1)))
        conf = tmp_path / "conf"
        cfg = write_config(
            conf,
            f"  - name: good\n    feed: {site.url('/good')}\n"
            f"  - name: flaky\n    feed: {site.url('/flaky')}\n",
            f"  - name: ops\n    url: {hook.url}\n    health: true\n",
            "  alarm_after: 2\n  silent_after: 2d\n",
        )
        elsewhere = tmp_path / "elsewhere"  # the working directory must not matter
        elsewhere.mkdir()

        def run() -> subprocess.CompletedProcess[str]:
            done = cli(elsewhere, "run", "-c", str(cfg))
            assert done.returncode == 0, done.stdout + done.stderr
            return done

        run()  # baseline
        assert (conf / "state" / "nw.db").exists() and not (elsewhere / "state").exists()
        site.route("/flaky", Reply(500))
        first = run()
        assert "flaky: FAILED" in first.stdout and hook.messages == []
        run()  # the second failing cycle in a row: one alarm
        assert [m["title"] for m in hook.messages] == ["[health] flaky is failing"]
        assert "HTTP 500" in str(hook.messages[0]["body"])
        run()
        assert len(hook.messages) == 1  # never twice for one episode

        status = cli(elsewhere, "status", "-c", str(cfg))
        assert status.returncode == 0, status.stderr
        line = next(x for x in status.stdout.splitlines() if x.startswith("flaky:"))
        assert "3 failure(s) in a row" in line and "ALARM: failing" in line, status.stdout

        # Recovery, with the health channel refusing at first: kept, retried, sent once.
        site.route("/flaky", Reply(body=feed(site.base, 3)))
        hook.refuse(100)
        out = run()
        assert "waiting" in out.stdout and len(hook.messages) == 1
        table = json.loads(cli(elsewhere, "status", "--json", "-c", str(cfg)).stdout)
        flaky = next(s for s in table["sources"] if s["source"] == "flaky")
        assert flaky["failures_in_a_row"] == 0 and flaky["alarm"] is None
        assert flaky["last_new_item"] is not None
        (waiting,) = table["channels_waiting"]
        assert (waiting["channel"], waiting["mode"], waiting["waiting"]) == ("ops", "health", 1)
        hook.refuse(0)
        run()  # still inside the backoff: waits
        assert len(hook.messages) == 1
        with db(conf) as conn:
            conn.execute("UPDATE health_notices SET next_attempt_at = '2000-01-01 00:00:00'")
        run()
        run()
        assert [m["title"] for m in hook.messages] == [
            "[health] flaky is failing",
            "[health] flaky recovered",
        ]

        # Silent: no new item for `silent_after` (made to have passed), then a new one.
        with db(conf) as conn:
            conn.execute(
                "UPDATE source_state SET last_new_at = '2000-01-01 00:00:00' WHERE name = 'good'"
            )
        run()
        run()
        assert [m["title"] for m in hook.messages][2:] == ["[health] good is silent"]
        serve_articles(site, 5)
        site.route("/good", Reply(body=feed(site.base, 5)))  # /a/3 and /a/4 are new to all
        run()
        assert [m["title"] for m in hook.messages][2:] == [
            "[health] good is silent",
            "[health] good recovered",
        ]


def test_every_source_failing_exits_1_and_names_them(tmp_path: Path) -> None:
    with LocalHTTPServer() as site:
        site.route("/robots.txt", Reply(404))
        site.route("/feed", Reply(500))
        cfg = write_config(tmp_path, f"  - name: down\n    feed: {site.url('/feed')}\n", " []\n")
        done = cli(tmp_path, "run", "-c", str(cfg))
        assert done.returncode == 1, done.stdout + done.stderr
        assert "every source failed: down" in done.stderr


def test_budget_bounds_a_slow_drip_source_and_the_rest_waits_for_the_next_cycle(
    tmp_path: Path,
) -> None:
    """10 new links, each page dripping in four pieces a second apart (3 s, under the 9 s an
    attempt may take at timeout 3s): without a budget the cycle takes 30 s; a 4 s budget stops
    the source after the first item or two; the other host's source is done in full; the next
    cycle goes on with the links that waited."""
    with LocalHTTPServer() as slow, LocalHTTPServer() as fast:
        slow.route("/robots.txt", Reply(404))
        for n in range(10):
            page = ARTICLE.format(t=f"Talks {n}", body=body(n % 6)).encode()
            piece = len(page) // 4 + 1
            slow.route(f"/a/{n}", Reply(body=page, headers=HTML, piece=piece, pause=1.0))
        serve_articles(fast, 3)
        # "localhost": another host name, so per-host pacing does not queue it behind the drip.
        fast_base = fast.base.replace("127.0.0.1", "localhost")
        for site in (slow, fast):  # the baseline sees empty feeds: every link later is new
            site.route("/feed", Reply(body=feed(site.base, 0)))
        cfg = write_config(
            tmp_path,
            f"  - name: drip\n    feed: {slow.url('/feed')}\n    budget: 4s\n"
            f"  - name: quick\n    feed: {fast_base}/feed\n",
            " []\n",
        )
        assert cli(tmp_path, "run", "-c", str(cfg)).returncode == 0
        slow.route("/feed", Reply(body=feed(slow.base, 10)))
        fast.route("/feed", Reply(body=feed(fast_base, 3)))
        done = cli(tmp_path, "run", "-c", str(cfg))
        assert done.returncode == 0, done.stdout + done.stderr
        drip = next(x for x in done.stdout.splitlines() if "drip:" in x)
        assert "budget spent" in drip and "left for the next cycle" in drip, done.stdout
        started = {s.path for s in slow.seen() if s.path.startswith("/a/")}
        assert 1 <= len(started) <= 2, started  # not all ten
        quick = next(x for x in done.stdout.splitlines() if "quick:" in x)
        assert "3 fetched" in quick, done.stdout
        with db(tmp_path) as conn:
            kept = [u for (u,) in conn.execute("SELECT url FROM http_validators")]
            stored = conn.execute("SELECT COUNT(*) FROM articles WHERE source='drip'").fetchone()
        assert slow.url("/feed") not in kept  # the full listing is read again next cycle
        assert stored[0] < 10
        # The next cycle (a new budget) goes on with links that waited.
        again = cli(tmp_path, "run", "-c", str(cfg))
        assert again.returncode == 0, again.stdout + again.stderr
        with db(tmp_path) as conn:
            more = conn.execute("SELECT COUNT(*) FROM articles WHERE source='drip'").fetchone()
        assert more[0] > stored[0], again.stdout


def test_a_full_disk_exits_1_naming_the_store_and_keeps_what_was_stored(tmp_path: Path) -> None:
    """A real full file system: a 4 MB tmpfs holding the store (needs root to mount)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here: " + mounted.stderr.decode()[:200])
    try:
        with LocalHTTPServer() as site:
            serve_articles(site, 6)
            site.route("/feed", Reply(body=feed(site.base, 2)))
            cfg = write_config(disk, f"  - name: wire\n    feed: {site.url('/feed')}\n", " []\n")
            assert cli(tmp_path, "run", "-c", str(cfg)).returncode == 0
            with db(disk) as conn:
                before = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            filler = disk / "filler"
            try:
                with open(filler, "wb") as out:  # fill what is left of the disk
                    while True:
                        out.write(b"\0" * 4096)
                        out.flush()
            except OSError:
                pass
            site.route("/feed", Reply(body=feed(site.base, 6)))
            done = cli(tmp_path, "run", "-c", str(cfg))
            assert done.returncode == 1, done.stdout + done.stderr
            assert "store" in done.stderr and "nw.db" in done.stderr, done.stderr
            filler.unlink()
            with db(disk) as conn:
                assert conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0] >= before
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
def test_a_store_that_cannot_be_written_exits_1_naming_the_store(tmp_path: Path) -> None:
    with LocalHTTPServer() as site:
        serve_articles(site, 2)
        site.route("/feed", Reply(body=feed(site.base, 2)))
        cfg = write_config(tmp_path, f"  - name: wire\n    feed: {site.url('/feed')}\n", " []\n")
        assert cli(tmp_path, "run", "-c", str(cfg)).returncode == 0
        store_dir = tmp_path / "state"
        for f in store_dir.iterdir():
            f.chmod(0o444)
        store_dir.chmod(0o555)
        try:
            done = cli(tmp_path, "run", "-c", str(cfg))
        finally:
            store_dir.chmod(0o755)
            for f in store_dir.iterdir():
                f.chmod(0o644)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "store" in done.stderr and "nw.db" in done.stderr, done.stderr


def test_a_store_failing_mid_cycle_exits_1_naming_the_store(tmp_path: Path) -> None:
    """The disk fills after the run began: a trigger makes every article write fail. The run
    exits 1 naming the store, and what was stored before is still there."""
    with LocalHTTPServer() as site:
        serve_articles(site, 3)
        site.route("/feed", Reply(body=feed(site.base, 2)))
        cfg = write_config(tmp_path, f"  - name: wire\n    feed: {site.url('/feed')}\n", " []\n")
        assert cli(tmp_path, "run", "-c", str(cfg)).returncode == 0
        with db(tmp_path) as conn:
            before = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            conn.execute(
                "CREATE TRIGGER full BEFORE INSERT ON articles "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
        site.route("/feed", Reply(body=feed(site.base, 3)))
        done = cli(tmp_path, "run", "-c", str(cfg))
        assert done.returncode == 1, done.stdout + done.stderr
        assert "the store failed" in done.stderr and "nw.db" in done.stderr, done.stderr
        assert "disk is full" in done.stderr
        with db(tmp_path) as conn:
            assert conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == before


def test_an_unsupported_store_is_a_config_error_at_check(tmp_path: Path) -> None:
    cfg = tmp_path / "nw.yaml"
    cfg.write_text(
        'store: "mysql://u@db.example.org/nw"\n'
        "sources:\n  - name: a\n    feed: https://example.org/a.xml\n"
        "topics:\n  - name: talks\n    any: [talks]\n",
        encoding="utf-8",
    )
    done = cli(tmp_path, "check", "-c", str(cfg))
    assert done.returncode == 2 and "store" in done.stderr and "nw.yaml" in done.stderr
