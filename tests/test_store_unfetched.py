"""Links a baseline did not fetch, remembered many at once: the same rows one history
observation each used to write, known to the next cycle, never rechecked; and which URLs are
known, asked for many at once. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

import newswatch.store
from newswatch.dedupe import copy_of
from newswatch.models import Item, Observation, SavedObservation
from newswatch.store import Store
from newswatch.store.schema import (
    article_versions,
    articles,
    developments,
    outbox,
    paragraphs,
    stories,
    topic_matches,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(hours=5)
PUBLISHED = NOW - timedelta(days=2)


def one_by_one(store: Store, items: list[Item], now: datetime) -> None:
    """How a baseline remembered its unfetched links before: one history observation each."""
    for item in items:
        obs = Observation("wire", item.url, "article", item.title, (), item.published)
        saved = SavedObservation(obs, content_hash="", now=now, history=True, enqueue=False)
        store.save_observation(saved, copy_of)


def fetched(store: Store, url: str) -> None:
    """The link was fetched and recorded with its text before (by another source's cycle)."""
    obs = Observation("other", url, "article", "Fetched", ("Talks resumed.",), EARLIER)
    saved = SavedObservation(
        obs,
        content_hash="h1",
        now=EARLIER,
        new_paragraphs=(("k1", "Talks resumed."),),
        topics=("talks",),
    )
    store.save_observation(saved, copy_of)


def remembered(store: Store, url: str) -> None:
    """The link was remembered unfetched before (the old way)."""
    one_by_one(store, [Item(url, "Remembered", None)], EARLIER)


def nothing(_store: Store, _url: str) -> None:
    return None


BEFORE: dict[str, Callable[[Store, str], None]] = {
    "new": nothing,
    "fetched": fetched,
    "remembered": remembered,
}

# (what the store held about each listed link before, in listing order), links per IN list,
# links per transaction
CASES = [
    (["new"], 500, 5000),
    (["new", "new", "new", "new", "new"], 2, 4),  # two transactions, of two and one IN lists
    (["new", "new", "new", "new", "new"], 2, 3),  # a transaction is not a whole number of lists
    (["fetched"], 500, 5000),
    (["remembered"], 500, 5000),
    (["new", "fetched", "new", "remembered", "new", "fetched", "new"], 2, 5),
    (["remembered", "fetched", "new"], 500, 5000),
]


def listing(prefix: str, before: list[str]) -> list[Item]:
    return [
        Item(
            f"{prefix}/{n}-{state}",
            f"Title {n}",
            PUBLISHED + timedelta(minutes=n) if n % 2 else None,
        )
        for n, state in enumerate(before)
    ]


def state(store: Store, prefix: str) -> dict[str, list[dict[str, Any]]]:
    """Every row about URLs under `prefix`, ids replaced by URLs and the prefix removed."""
    tables = {
        "articles": articles,
        "article_versions": article_versions,
        "paragraphs": paragraphs,
        "topic_matches": topic_matches,
    }
    out: dict[str, list[dict[str, Any]]] = {}
    with store.db.read() as conn:
        for name, table in tables.items():
            query = select(table, articles.c.url.label("link"))
            if table is not articles:
                query = query.join(articles, articles.c.id == table.c.article_id)
            query = query.where(articles.c.url.startswith(prefix)).order_by(*table.primary_key)
            rows = conn.execute(query).mappings().all()
            out[name] = [
                {
                    k: (v.removeprefix(prefix) if isinstance(v, str) else v)
                    for k, v in row.items()
                    if k not in ("id", "article_id")
                }
                for row in rows
            ]
        for table in (developments, outbox, stories):
            out[table.name] = conn.execute(select(table)).mappings().all()  # type: ignore[assignment]
    return out


def raw(store: Store, prefix: str) -> list[tuple[Any, ...]]:
    """Articles as the database holds them (bypassing the column types: same text on SQLite)."""
    with store.db.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT url, source, kind, title, canonical_url, language, authors, published, "
            "updated, first_seen, last_checked, last_changed, content_hash, history "
            "FROM articles ORDER BY id"
        ).all()
    return [(r[0].removeprefix(prefix), *r[1:]) for r in rows if r[0].startswith(prefix)]


@pytest.mark.parametrize(("before", "in_list", "per_tx"), CASES)
def test_remembered_in_bulk_as_one_history_observation_each(
    store: Store, monkeypatch: pytest.MonkeyPatch, before: list[str], in_list: int, per_tx: int
) -> None:
    monkeypatch.setattr(newswatch.store, "_IN_CHUNK", in_list)
    monkeypatch.setattr(newswatch.store, "_UNFETCHED_PER_TX", per_tx)
    old, new = listing("https://old.example", before), listing("https://new.example", before)
    for items in (old, new):
        for item, held in zip(items, before, strict=True):
            BEFORE[held](store, item.url)
    one_by_one(store, old, NOW)
    store.remember_unfetched("wire", new, NOW)
    expected, got = state(store, "https://old.example"), state(store, "https://new.example")
    assert got == expected
    assert raw(store, "https://new.example") == raw(store, "https://old.example")
    assert len(got["articles"]) == len(before)
    assert len(got["article_versions"]) == len(before) + before.count("fetched")


def test_remembered_links_are_known_history_and_never_rechecked(store: Store) -> None:
    items = listing("https://e.org", ["new"] * 7)
    store.remember_unfetched("wire", items, NOW)
    assert store.known_urls(i.url for i in items) == {i.url for i in items}
    assert store.articles_to_recheck("wire", NOW - timedelta(days=1)) == []
    known = store.known(items[0].url)
    assert known.exists and known.content_hash == "" and known.paragraph_keys == frozenset()
    store.remember_unfetched("wire", items, NOW + timedelta(hours=1))  # a retried baseline
    with store.db.read() as conn:
        assert len(conn.execute(select(articles.c.id)).all()) == 7
        assert len(conn.execute(select(article_versions.c.id)).all()) == 7


def test_a_link_listed_twice_is_remembered_once_as_first_listed(store: Store) -> None:
    first, again = Item("https://e.org/a", "First", PUBLISHED), Item("https://e.org/a", "Again")
    store.remember_unfetched("wire", [first, again], NOW)
    with store.db.read() as conn:
        rows = conn.execute(select(articles.c.title, articles.c.published)).all()
    assert [tuple(r) for r in rows] == [("First", PUBLISHED)]


STORED = ["https://e.org/1", "https://e.org/2", "https://e.org/3"]

# (URLs asked about, IN-list size, those of them known)
KNOWN_CASES = [
    ([], 1000, set()),
    (["https://e.org/9"], 1000, set()),
    (["https://e.org/2"], 1000, {"https://e.org/2"}),
    (["https://e.org/1", "https://e.org/1", "https://e.org/9"], 1000, {"https://e.org/1"}),
    (["https://e.org/3", "https://e.org/8", "https://e.org/1", "https://e.org/2"], 1, set(STORED)),
    (
        ["https://e.org/2", "https://e.org/9", "https://e.org/3"],
        2,
        {"https://e.org/2", "https://e.org/3"},
    ),
    (["https://e.org/1/", "HTTPS://E.ORG/1", "https://e.org/1?x"], 1000, set()),  # exact URLs only
]


@pytest.mark.parametrize(("asked", "chunk", "known"), KNOWN_CASES)
def test_known_urls(
    store: Store, monkeypatch: pytest.MonkeyPatch, asked: list[str], chunk: int, known: set[str]
) -> None:
    fetched(store, STORED[0])
    remembered(store, STORED[1])
    store.remember_unfetched("wire", [Item(STORED[2], "T")], NOW)
    monkeypatch.setattr(newswatch.store, "_IN_CHUNK", chunk)
    assert store.known_urls(iter(asked)) == known
