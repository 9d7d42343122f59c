"""Beyond one process: shards that split the sources, and per-host pacing shared through the store.

The multi-process tests run real `newswatch run` processes against a real PostgreSQL and a farm
of local feeds on several loopback hosts, whose request log is the judge of politeness.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from newswatch.cli import main
from newswatch.config import load_config
from newswatch.demo.receivers import WebhookReceiver
from newswatch.errors import StoreError, TransientFetchError, UsageError
from newswatch.fetch import SHARED_GAP_MARGIN, Fetcher
from newswatch.models import FetchSettings
from newswatch.pipeline import Runtime
from newswatch.shards import Shard, parse_shard, shard_of
from newswatch.store import Store
from tests.feedfarm import FeedFarm, Request
from tests.httpfixture import LocalHTTPServer, Reply
from tests.pgserver import fresh_database

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT = 240
NAMES = [f"source-{i}" for i in range(200)] + ["rte-world", "Ünïcode name", ""]

# --- shards ------------------------------------------------------------------------------------


def test_a_shard_is_sha256_of_the_name_so_every_machine_agrees() -> None:
    # Pinned values: a change of hash (or Python's salted hash() sneaking in) breaks these.
    names = ("rte-world", "agency-world", "alpha", "beta", "gamma")
    assert [shard_of(n, 2) for n in names] == [1, 2, 1, 2, 1]
    assert [shard_of(n, 7) for n in names] == [6, 4, 1, 4, 3]
    code = "from newswatch.shards import shard_of; print([shard_of(f's{i}', 5) for i in range(50)])"
    other = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert other.stdout.strip() == str([shard_of(f"s{i}", 5) for i in range(50)])


@pytest.mark.parametrize("count", [1, 2, 3, 5, 16])
def test_every_source_is_in_exactly_one_shard(count: int) -> None:
    shards = [Shard(i, count) for i in range(1, count + 1)]
    for name in NAMES:
        assert sum(s.takes(name) for s in shards) == 1, name
    if count > 1:  # and the split is not degenerate
        sizes = Counter(shard_of(n, count) for n in NAMES)
        assert len(sizes) == count and min(sizes.values()) >= len(NAMES) / count / 3


@pytest.mark.parametrize(
    "text", ["0/2", "3/2", "1/0", "0/0", "a/b", "1", "1/2/3", "-1/2", "", "/2"]
)
def test_bad_shard_forms_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="shard"):
        parse_shard(text)


def test_good_shard_forms() -> None:
    assert parse_shard("1/2") == Shard(1, 2)
    assert parse_shard(" 3 / 3 ") == Shard(3, 3)
    assert parse_shard(None) is None


def small_config(tmp_path: Path, sources: list[dict[str, str]], **extra: object) -> Path:
    data = {
        "store": f"sqlite:///{tmp_path}/nw.db",
        "defaults": {"per_host_delay": 0},
        "sources": sources,
        "topics": [{"name": "talks", "any": ["ceasefire", "sanctions", "refugees"]}],
        "channels": [],
        **extra,
    }
    path = tmp_path / "newswatch.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("text", ["0/2", "2/1", "x", "1/2/"])
def test_run_with_a_bad_shard_exits_2_naming_it(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = small_config(tmp_path, [{"name": "a", "feed": "http://127.0.0.1:9/feed"}])
    assert main(["run", "-c", str(config), "--shard", text]) == 2
    assert "--shard" in capsys.readouterr().err
    assert not (tmp_path / "nw.db").exists()  # refused before anything was opened


def test_a_shard_selects_its_sources_and_combines_with_names(tmp_path: Path) -> None:
    sources = [{"name": n, "feed": f"http://127.0.0.1:9/{i}"} for i, n in enumerate(NAMES[:40])]
    with Runtime.open(load_config(str(small_config(tmp_path, sources)))) as rt:
        one = [s.name for s in rt.selected(None, "1/3")]
        parts = [one] + [[s.name for s in rt.selected(None, f"{i}/3")] for i in (2, 3)]
        assert sorted(sum(parts, [])) == sorted(NAMES[:40])
        assert [s.name for s in rt.selected([one[0], parts[1][0]], "1/3")] == [one[0]]
        with pytest.raises(UsageError):
            rt.selected(None, "4/3")


# --- the pacing rows ---------------------------------------------------------------------------


def test_slots_for_one_host_are_a_gap_apart_and_hosts_are_independent(store: Store) -> None:
    pacing = store.pacing
    assert pacing.claim("a.example", 10.0, 0.0) == 0.0  # the first request goes at once
    second = pacing.claim("a.example", 10.0, 0.0)
    third = pacing.claim("a.example", 10.0, 0.0)
    assert 9.0 < second <= 10.0 and 19.0 < third <= 20.0  # queued: each a gap after the last
    assert pacing.claim("b.example", 10.0, 0.0) == 0.0
    assert 4.0 < pacing.claim("c.example", 1.0, 5.0) <= 5.0  # not before what the caller asks


def test_an_abandoned_slot_holds_a_host_for_one_gap_at_most(store: Store) -> None:
    """A process killed right after claiming leaves a timestamp, not a lock: the next claim
    waits for the rest of that one gap, and a later one (after the gap) not at all.
    """
    store.pacing.claim("dead.example", 0.3, 0.0)  # claimed, then "killed": never used
    assert 0.0 < store.pacing.claim("dead.example", 0.3, 0.0) <= 0.3
    time.sleep(0.7)  # both slots are over
    assert store.pacing.claim("dead.example", 0.3, 0.0) == 0.0


# --- many processes on one PostgreSQL store ----------------------------------------------------


def farm_config(folder: Path, farm: FeedFarm, store: str, hook: str, delay: float) -> Path:
    data = {
        "store": store,
        "defaults": {"per_host_delay": delay, "timeout": "20s"},
        "sources": farm.sources(),
        "topics": [{"name": "talks", "any": ["ceasefire", "sanctions", "refugees"]}],
        "channels": [{"name": "chat", "url": hook, "topics": ["talks"]}],
    }
    path = folder / "farm.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_together(config: Path, *shards: str | None) -> None:
    """One `newswatch run` process per entry (a shard, or None for all sources), all at once."""
    procs = []
    for shard in shards:
        args = [sys.executable, "-m", "newswatch.cli", "run", "-c", str(config)]
        procs.append(
            subprocess.Popen(
                args + (["--shard", shard] if shard else []),
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=RUN_TIMEOUT)[0] for p in procs]
    for proc, out in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out
        assert ", 0 failed;" in out, out


def feeds_fetched(log: list[Request]) -> Counter[str]:
    return Counter(r.host + r.path for r in log if r.path.startswith("/feed/"))


def too_close(log: list[Request], delay: float, crawl: dict[str, float]) -> list[str]:
    """Pairs of requests to one host closer than its gap (robots.txt itself: per_host_delay)."""
    bad = []
    for host in {r.host for r in log}:
        seen = sorted((r for r in log if r.host == host), key=lambda r: r.arrived)
        for a, b in zip(seen, seen[1:], strict=False):
            gap = delay if b.path == "/robots.txt" else max(delay, crawl.get(host, 0.0))
            if b.arrived - a.arrived < gap:
                bad.append(f"{host}: {a.path} → {b.path} {b.arrived - a.arrived:.3f}s < {gap}")
    return bad


def test_two_shard_processes_fetch_every_source_once_and_alert_once(
    postgres_url: str, tmp_path: Path
) -> None:
    with FeedFarm(12, 4, initial=2, per_step=1) as farm, WebhookReceiver() as hook:
        config = farm_config(tmp_path, farm, fresh_database(postgres_url), hook.url, 0.02)
        run_together(config, "1/2", "2/2")  # the baseline: recorded, nothing sent
        first = feeds_fetched(farm.log())
        expected = {farm.address(farm.host_of(k)) + f"/feed/{k}.xml" for k in range(12)}
        assert set(first) == expected
        assert set(first.values()) == {1}, first
        assert hook.messages == []

        farm.clear()
        farm.advance()  # one new article on every feed
        run_together(config, "1/2", "2/2")
        assert set(feeds_fetched(farm.log()).values()) == {1}
        assert len(feeds_fetched(farm.log())) == 12
        assert hook.wait_for(12)
        time.sleep(0.5)  # nothing more arrives
        titles = Counter(m["title"] for m in hook.messages)
        assert len(titles) == 12 and set(titles.values()) == {1}, titles


def test_two_unsharded_processes_keep_every_hosts_gap(postgres_url: str, tmp_path: Path) -> None:
    """Both processes fetch everything at once; per_host_delay and one host's Crawl-delay hold
    across them (the issue measured gaps of 0.000 s without the shared slots).
    """
    delay, crawl = 0.15, 0.4
    with FeedFarm(6, 3, initial=2, crawl_delay={1: crawl}) as farm, WebhookReceiver() as hook:
        config = farm_config(tmp_path, farm, fresh_database(postgres_url), hook.url, delay)
        run_together(config, None, None)
        log = farm.log()
        per_host = Counter(r.host for r in log)
        assert len(per_host) == 3 and min(per_host.values()) >= 8, per_host  # both processes ran
        assert too_close(log, delay, {FeedFarm.address(1): crawl}) == []
        assert hook.messages == []  # a baseline, however many processes run it


# --- the fetcher's side of shared pacing --------------------------------------------------------


class FakePacing:
    """Records claims; the first `slow` claims take `delay` seconds to answer."""

    def __init__(self, slow: int = 0, delay: float = 0.0, fail: bool = False) -> None:
        self.claims: list[tuple[str, float, float]] = []
        self.slow, self.delay, self.fail = slow, delay, fail

    def claim(self, host: str, gap: float, earliest: float) -> float:
        self.claims.append((host, gap, earliest))
        if self.fail:
            raise StoreError("store down")
        if len(self.claims) <= self.slow:
            time.sleep(self.delay)
        return 0.0


@pytest.fixture
def site() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as srv:
        srv.route("/robots.txt", Reply(404))
        srv.route("/a", Reply(200, b"a"))
        yield srv


def test_each_paced_request_claims_one_slot_with_the_margin(site: LocalHTTPServer) -> None:
    pacing = FakePacing()
    with Fetcher(user_agent="t/1", pacing=pacing) as f:
        f.fetch(site.url("/a"), FetchSettings(per_host_delay=0.2))
        f.fetch(site.url("/a"), FetchSettings(per_host_delay=0.2))
    assert [c[0] for c in pacing.claims] == ["127.0.0.1"] * 3  # robots.txt, then two GETs
    assert {c[1] for c in pacing.claims} == {0.2 + SHARED_GAP_MARGIN}
    assert pacing.claims[-1][2] > 0.1  # this process's own gap is passed on as the earliest


def test_an_unpaced_host_claims_nothing(site: LocalHTTPServer) -> None:
    pacing = FakePacing()
    with Fetcher(user_agent="t/1", pacing=pacing) as f:
        f.fetch(site.url("/a"), FetchSettings(per_host_delay=0))
    assert pacing.claims == []


def test_a_slot_answered_too_late_is_given_up_for_a_new_one(site: LocalHTTPServer) -> None:
    pacing = FakePacing(slow=1, delay=SHARED_GAP_MARGIN)  # the first answer comes late
    with Fetcher(user_agent="t/1", pacing=pacing) as f:
        f.fetch(site.url("/a"), FetchSettings(per_host_delay=0.01))
    assert len(pacing.claims) == 3  # robots.txt twice (late once), then the page
    assert len(site.seen()) == 2


def test_a_pacing_store_that_fails_fails_the_fetch_as_transient(site: LocalHTTPServer) -> None:
    with (
        Fetcher(user_agent="t/1", pacing=FakePacing(fail=True), max_retries=0) as f,
        pytest.raises(TransientFetchError),  # robots.txt could not be asked for: unavailable
    ):
        f.fetch(site.url("/a"), FetchSettings(per_host_delay=0.01))
    assert site.seen() == []  # nothing was sent unpaced
