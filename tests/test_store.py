"""The store: migrations, idempotent developments, outbox claims that two processes cannot share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from newswatch.dedupe import copy_of
from newswatch.models import Development, Observation, Route, SavedObservation, Validators
from newswatch.store import Store
from newswatch.store.schema import metadata

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def dev(fp: str = "fp1", topic: str = "talks") -> Development:
    return Development(
        fingerprint=fp,
        kind="new_story",
        topic=topic,
        source="s",
        url="https://e.org/a",
        title="T",
        text=("x",),
        published=NOW,
        detected=NOW,
    )


def obs(*devs: Development, routes: tuple[Route, ...] = ()) -> SavedObservation:
    return SavedObservation(
        Observation(
            source="s", url="https://e.org/a", kind="article", title="T", paragraphs=("x",)
        ),
        content_hash="h",
        now=NOW,
        new_paragraphs=(("k1", "x"),),
        topics=("talks",),
        developments=devs,
        routes=routes,
    )


ROUTES = (
    Route("chat", "instant", frozenset({"talks"}), NOW),
    Route("mail", "instant", frozenset({"refugees"}), NOW),
)


def test_new_store_matches_schema_and_reopens(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/a/b/nw.db"
    Store.open(url).close()
    s = Store.open(url)  # second open runs the upgrade path on an existing store
    with s.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    s.close()


def test_development_recorded_and_enqueued_once(store: Store) -> None:
    first = store.save_observation(obs(dev(), routes=ROUTES), copy_of)
    again = store.save_observation(obs(dev(), routes=ROUTES), copy_of)
    assert len(first) == 1 and again == []
    counts = store.outbox.counts()
    assert counts == {("chat", "pending"): 1}  # routed by topic: "mail" takes refugees only


def test_claim_is_exclusive_until_lease_expires(store: Store) -> None:
    store.save_observation(obs(dev("a"), dev("b"), routes=ROUTES), copy_of)
    lease = timedelta(minutes=10)
    first = store.outbox.claim_due("chat", "instant", NOW, lease)
    second = store.outbox.claim_due("chat", "instant", NOW, lease)
    assert len(first) == 2 and second == []
    # a crashed claimer's rows come back after the lease
    later = store.outbox.claim_due("chat", "instant", NOW + lease + timedelta(seconds=1), lease)
    assert [i.id for i in later] == [i.id for i in first]


def test_sent_rows_never_come_back_and_stale_token_cannot_mark(store: Store) -> None:
    store.save_observation(obs(dev(), routes=ROUTES), copy_of)
    lease = timedelta(minutes=1)
    stale = store.outbox.claim_due("chat", "instant", NOW, lease)
    fresh = store.outbox.claim_due("chat", "instant", NOW + timedelta(minutes=2), lease)
    store.outbox.mark_sent(stale, NOW)  # the old claimer finishing late must not count
    assert store.outbox.counts() == {("chat", "pending"): 1}
    store.outbox.mark_sent(fresh, NOW)
    assert store.outbox.counts() == {("chat", "sent"): 1}
    assert store.outbox.claim_due("chat", "instant", NOW + timedelta(days=1), lease) == []


def test_failed_row_waits_for_backoff(store: Store) -> None:
    store.save_observation(obs(dev(), routes=ROUTES), copy_of)
    items = store.outbox.claim_due("chat", "instant", NOW, timedelta(minutes=5))
    store.outbox.mark_failed(items, NOW, "refused", NOW + timedelta(minutes=1))
    assert (
        store.outbox.claim_due("chat", "instant", NOW + timedelta(seconds=30), timedelta(minutes=5))
        == []
    )
    retry = store.outbox.claim_due(
        "chat", "instant", NOW + timedelta(minutes=1), timedelta(minutes=5)
    )
    assert len(retry) == 1 and retry[0].attempts == 1


def test_baseline_flag_and_validators(store: Store) -> None:
    assert not store.is_baselined("s")
    store.record_source_run("s", NOW, "FetchError: down", baseline=True)
    assert not store.is_baselined("s")  # a failed first cycle is not a baseline
    store.record_source_run("s", NOW, None, baseline=True)
    assert store.is_baselined("s")
    from newswatch.models import Validators

    store.save_validators("https://e.org/f", Validators(etag='"1"'), NOW)
    store.save_validators("https://e.org/f", Validators(etag='"2"', last_modified="x"), NOW)
    assert store.validators("https://e.org/f") == Validators(etag='"2"', last_modified="x")


def test_validators_of_many_urls_read_at_once(store: Store) -> None:
    """validators_for gives exactly what validators() gives, URL by URL, past one IN chunk."""
    from newswatch.models import Validators
    from newswatch.store import _IN_CHUNK

    urls = [f"https://e.org/a/{i}" for i in range(_IN_CHUNK + 20)]
    for i, url in enumerate(urls):
        if i % 3:
            store.save_validators(url, Validators(etag=f'"{i}"', last_modified=None), NOW)
    found = store.validators_for([*urls, "https://e.org/never"])
    assert found == {u: v for u in urls if (v := store.validators(u)) is not None}
    assert len(found) == sum(1 for i in range(len(urls)) if i % 3)
    assert store.validators_for([]) == {}


def test_a_store_from_the_first_release_is_upgraded_keeping_its_data(tmp_path: Path) -> None:
    """A store created by revision 0001 (before stories, figures, paragraph texts) upgrades."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import (
        Column,
        ForeignKey,
        Integer,
        MetaData,
        String,
        Table,
        insert,
        select,
    )

    from newswatch.store import MIGRATIONS
    from newswatch.store.schema import TS

    v1 = MetaData(naming_convention=metadata.naming_convention)
    new_tables = {
        "stories",
        "story_bands",
        "story_sources",
        "story_paragraphs",
        "figures",
        "paragraphs",
        "health_notices",  # came in 0006_source_health
        "host_pacing",  # came in 0007
    }
    for name, table in metadata.tables.items():
        if name not in new_tables:
            table.to_metadata(v1)
    Table(
        "paragraphs",
        v1,
        Column(
            "article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
        ),
        Column("key", String(40), primary_key=True),
        Column("first_seen", TS, nullable=False),
    )
    url = f"sqlite:///{tmp_path}/old.db"
    engine = create_engine(url)
    with engine.begin() as conn:
        v1.create_all(conn)
        conn.exec_driver_sql("ALTER TABLE outbox DROP COLUMN claimed_by")  # came in 0005
        for column in ("last_new_at", "last_development_at", "alarm", "alarm_at"):  # 0006
            conn.exec_driver_sql(f"ALTER TABLE source_state DROP COLUMN {column}")
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", MIGRATIONS)
        cfg.attributes["connection"] = conn
        command.stamp(cfg, "0001")
        conn.execute(insert(v1.tables["source_state"]).values(name="kept", consecutive_failures=0))
    engine.dispose()

    s = Store.open(url)
    with s.db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        names = conn.execute(select(metadata.tables["source_state"].c.name)).scalars().all()
    assert names == ["kept"]
    s.close()


def test_another_outlet_attached_to_a_story_is_listed_on_its_development(store: Store) -> None:
    from dataclasses import replace

    from newswatch.models import Attachment, NewStory

    first = replace(
        obs(replace(dev("story"), outlets=("s",)), routes=ROUTES),
        stories=(NewStory("story", "talks", b"\0" * 8 * 128, ((0, 11), (1, 22))),),
    )
    (dev_id,) = store.save_observation(first, copy_of)
    (story,) = store.story_candidates("talks", [(1, 22)])
    assert store.story_candidates("talks", [(1, 23)]) == []
    base = obs()
    copy = replace(
        base,
        observation=replace(base.observation, source="wire", url="https://w.example/b"),
        developments=(),
        new_paragraphs=(),
        attachments=(Attachment(story.id, 0.8),),
    )
    store.save_observation(copy, copy_of)
    store.save_observation(copy, copy_of)  # seen again next cycle: listed once
    d = store.outbox.development(dev_id)
    assert d.outlets == ("s", "wire")
    assert d.links == (("wire", "https://w.example/b"),)


def test_stories_are_found_by_shared_evidence_paragraphs(store: Store) -> None:
    from dataclasses import replace

    from newswatch.models import NewStory

    keys = ("k1", "k2", "k3")
    first = replace(
        obs(dev("story"), routes=ROUTES),
        stories=(NewStory("story", "talks", b"\0" * 8 * 128, ((0, 11),), 50, keys),),
    )
    store.save_observation(first, copy_of)
    ((found, shared),) = store.stories_sharing("talks", ["k2", "k3", "x"])
    assert shared == 2 and found.url == "https://e.org/a"
    assert store.stories_sharing("talks", ["k1", "x"]) == []  # one shared paragraph is not enough
    assert store.stories_sharing("sanctions", ["k1", "k2"]) == []  # per topic


def test_rows_held_by_a_process_that_is_gone_are_taken_at_once(store: Store) -> None:
    """A claim names its holder; a holder on this host that no longer runs holds nothing."""
    import os
    import socket
    import subprocess
    import sys

    from sqlalchemy import update

    from newswatch.store.claims import _start_ticks
    from newswatch.store.schema import outbox

    store.save_observation(obs(dev("a"), dev("b"), routes=ROUTES), copy_of)
    lease = timedelta(minutes=2)
    held = store.outbox.claim_due("chat", "instant", NOW, lease)
    assert len(held) == 2
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    host = socket.gethostname()
    cases = {
        f"{host}:{dead.stdout.strip()}:1": 2,  # this host, the process has exited: taken at once
        f"{host}:{os.getppid()}:{_start_ticks(os.getppid())}": 0,  # this host, still running
        f"elsewhere.example:{dead.stdout.strip()}:1": 0,  # another host: its lease decides
    }
    for holder, expected in cases.items():
        with store.db.tx() as conn:
            conn.execute(update(outbox).values(claimed_by=holder, claimed_until=NOW + lease))
        taken = store.outbox.claim_due("chat", "instant", NOW + timedelta(seconds=1), lease)
        assert len(taken) == expected, holder
        store.outbox.release(taken)


def test_every_read_and_write_failure_is_a_store_error_naming_the_store(tmp_path: Path) -> None:
    """Reads too: a broken table surfaces as StoreError, never a raw SQLAlchemy exception."""
    from newswatch.errors import StoreError

    s = Store.open(f"sqlite:///{tmp_path}/broken.db")
    with s.db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE http_validators")
    calls = [
        lambda: s.validators("https://e.org/"),  # a read
        lambda: s.save_validators("https://e.org/", Validators(etag='"x"'), NOW),  # a write
    ]
    for call in calls:
        with pytest.raises(StoreError, match="broken.db"):
            call()
    s.close()


def test_a_store_at_the_newest_revision_opens_without_alembic(tmp_path: Path) -> None:
    """The version check that every run makes is one read; alembic loads only to migrate."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path}/nw.db"
    Store.open(url).close()  # created and stamped at the newest revision
    code = (
        "import sys; from newswatch.store import Store; "
        f"Store.open({url!r}).close(); print('alembic' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False", done.stderr
    from newswatch.store.db import head_revision

    with Store.open(url).db.engine.connect() as conn:
        (version,) = conn.exec_driver_sql("SELECT version_num FROM alembic_version").one()
    assert version == head_revision()
