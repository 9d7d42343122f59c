"""Recording one observation in one transaction (article, paragraphs, developments, stories),
and many links a baseline did not fetch at once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from newswatch.models import (
    Attachment,
    Development,
    Item,
    SameStory,
    SavedObservation,
    Validators,
)
from newswatch.store.db import insert_ignore, insert_many
from newswatch.store.schema import (
    article_versions,
    articles,
    developments,
    figures,
    http_validators,
    outbox,
    paragraphs,
    stories,
    story_bands,
    story_paragraphs,
    story_sources,
    topic_matches,
)
from newswatch.store.stories import late_duplicates


def write_observation(conn: Connection, obs: SavedObservation, same_story: SameStory) -> list[int]:
    """Write everything about one observation; returns the ids of developments recorded now.

    New stories are checked again with `same_story` against what other cycles recorded since
    detection looked (see `late_duplicates`).
    """
    article_id = _upsert_article(conn, obs)
    insert_ignore(
        conn,
        article_versions,
        {
            "article_id": article_id,
            "content_hash": obs.content_hash,
            "seen_at": obs.now,
            "title": obs.observation.title,
            "body": "\n".join(obs.observation.paragraphs),
        },
    )
    # Rows whose count nobody needs go through insert_many (the driver's executemany): an
    # article has dozens of paragraphs and its stories dozens of band keys.
    insert_many(
        conn,
        paragraphs,
        ("key", "text"),
        list(obs.new_paragraphs),
        {"article_id": article_id, "first_seen": obs.now},
    )
    insert_many(
        conn,
        topic_matches,
        ("topic",),
        [(t,) for t in obs.topics],
        {"article_id": article_id, "first_matched": obs.now},
    )
    late = late_duplicates(conn, obs.stories, same_story)
    recorded = {}
    for dev in obs.developments:
        if dev.fingerprint in late:
            continue  # another cycle recorded this story first: attach instead of alerting
        dev_id = _record_development(conn, dev, article_id, obs)
        if dev_id is not None:
            recorded[dev.fingerprint] = dev_id
    _save_stories(conn, obs, recorded)
    _save_attachments(conn, obs, tuple(late.values()))
    if obs.figures:
        conn.execute(
            figures.insert(),
            [{**asdict(f), "seen_at": obs.now} for f in obs.figures],
        )
    if obs.validators is not None:
        write_validators(conn, *obs.validators, obs.now)
    return list(recorded.values())


def write_validators(conn: Connection, url: str, v: Validators, now: datetime) -> None:
    """Keep the ETag and Last-Modified of `url` for its next conditional request."""
    if not (v.etag or v.last_modified):
        return
    values = {"etag": v.etag, "last_modified": v.last_modified, "updated_at": now}
    if not insert_ignore(conn, http_validators, {"url": url, **values}):
        conn.execute(update(http_validators).where(http_validators.c.url == url).values(values))


def _upsert_article(conn: Connection, obs: SavedObservation) -> int:
    values = {
        "title": obs.observation.title,
        "canonical_url": obs.observation.canonical_url,
        "language": obs.observation.language,
        "authors": json.dumps(list(obs.observation.authors)),
        "published": obs.observation.published,
        "updated": obs.observation.updated,
        "last_checked": obs.now,
        "content_hash": obs.content_hash,
    }
    row = conn.execute(
        select(articles.c.id, articles.c.content_hash).where(articles.c.url == obs.observation.url)
    ).first()
    if row is None:
        insert_ignore(
            conn,
            articles,
            {
                "url": obs.observation.url,
                "source": obs.observation.source,
                "kind": obs.observation.kind,
                "first_seen": obs.now,
                "last_changed": obs.now,
                "history": int(obs.history),
                **values,
            },
        )
        row = conn.execute(
            select(articles.c.id, articles.c.content_hash).where(
                articles.c.url == obs.observation.url
            )
        ).one()
        return int(row.id)
    if row.content_hash != obs.content_hash:
        values["last_changed"] = obs.now
    conn.execute(update(articles).where(articles.c.id == row.id).values(values))
    return int(row.id)


def write_unfetched(conn: Connection, source: str, items: Sequence[Item], now: datetime) -> None:
    """Record links a baseline listed but did not fetch, a few statements for all of them.

    The rows are those `write_observation` writes for each as a history observation without
    text: its article (updated instead when another cycle recorded the URL meanwhile) and one
    empty version. Each URL must appear once in `items`.
    """
    urls = [item.url for item in items]
    known = {
        row.url: row.content_hash
        for row in conn.execute(
            select(articles.c.url, articles.c.content_hash).where(articles.c.url.in_(urls))
        )
    }
    fresh = [(i.url, i.title, i.published) for i in items if i.url not in known]
    first_seen = {"source": source, "kind": "article", "first_seen": now, "last_changed": now}
    shared = {**first_seen, "history": 1, **_unfetched(now)}
    insert_many(conn, articles, ("url", "title", "published"), fresh, shared)
    _update_unfetched(conn, [item for item in items if item.url in known], known, now)
    ids = dict(
        conn.execute(select(articles.c.url, articles.c.id).where(articles.c.url.in_(urls))).all()
    )
    versions = [(ids[i.url], i.title) for i in items if i.url in ids]
    shared = {"content_hash": "", "seen_at": now, "body": ""}
    insert_many(conn, article_versions, ("article_id", "title"), versions, shared)


def _unfetched(now: datetime) -> dict[str, Any]:
    """The article values `_upsert_article` writes for a text-less observation of a link,
    besides its title and published date."""
    return {
        "canonical_url": None,
        "language": None,
        "authors": "[]",
        "updated": None,
        "last_checked": now,
        "content_hash": "",
    }


def _update_unfetched(
    conn: Connection, items: Sequence[Item], known: dict[str, str | None], now: datetime
) -> None:
    """Articles recorded before: updated as `_upsert_article` would (last_changed when the
    stored content hash was not the empty one)."""
    changed: list[dict[str, Any]] = []
    same: list[dict[str, Any]] = []
    for item in items:
        row = {"link": item.url, "title": item.title, "published": item.published}
        row.update(_unfetched(now))
        if known[item.url] != "":
            changed.append({**row, "last_changed": now})
        else:
            same.append(row)
    stmt = update(articles).where(articles.c.url == bindparam("link"))
    for rows in (changed, same):  # executemany: every row must set the same columns
        if rows:
            conn.execute(stmt, rows)


def _record_development(
    conn: Connection, dev: Development, article_id: int, obs: SavedObservation
) -> int | None:
    inserted = insert_ignore(
        conn,
        developments,
        {
            "fingerprint": dev.fingerprint,
            "kind": dev.kind,
            "topic": dev.topic,
            "source": dev.source,
            "article_id": article_id,
            "url": dev.url,
            "title": dev.title,
            "text": json.dumps(list(dev.text)),
            "published": dev.published,
            "detected": dev.detected,
            "terms": json.dumps(list(dev.terms)),
            "outlets": json.dumps(list(dev.outlets)),
            "reason": json.dumps(dev.reason, default=str),
            "run_id": obs.run_id,
            "origin": obs.origin,
        },
    )
    if not inserted:
        return None
    dev_id = int(
        conn.execute(
            select(developments.c.id).where(developments.c.fingerprint == dev.fingerprint)
        ).scalar_one()
    )
    if obs.enqueue:
        insert_ignore(
            conn,
            outbox,
            [
                {
                    "development_id": dev_id,
                    "channel": r.channel,
                    "mode": r.mode,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": obs.now,
                    "next_attempt_at": r.not_before,
                }
                for r in obs.routes
                if dev.topic in r.topics
            ],
        )
    return dev_id


def _save_stories(conn: Connection, obs: SavedObservation, recorded: dict[str, int]) -> None:
    for story in obs.stories:
        dev_id = recorded.get(story.fingerprint) if story.fingerprint else None
        if story.fingerprint and dev_id is None:
            continue  # another cycle recorded this development (and its story) first
        story_id = conn.execute(  # type: ignore[index]
            stories.insert().values(
                topic=story.topic,
                development_id=dev_id,
                url=obs.observation.url,
                title=obs.observation.title,
                created=obs.now,
                signature=story.signature,
                size=story.size or None,
            )
        ).inserted_primary_key[0]
        shared = {"topic": story.topic, "story_id": story_id}
        insert_many(conn, story_bands, ("band", "key"), list(story.bands), shared)
        insert_many(conn, story_paragraphs, ("key",), [(k,) for k in set(story.keys)], shared)
        insert_ignore(
            conn,
            story_sources,
            {
                "story_id": story_id,
                "url": obs.observation.url,
                "source": obs.observation.source,
                "similarity": 1.0,
                "added": obs.now,
            },
        )


def _save_attachments(
    conn: Connection, obs: SavedObservation, late: tuple[Attachment, ...] = ()
) -> None:
    """Record another outlet carrying a story, and list it on the story's development."""
    for att in (*obs.attachments, *late):
        added = insert_ignore(
            conn,
            story_sources,
            {
                "story_id": att.story_id,
                "url": obs.observation.url,
                "source": obs.observation.source,
                "similarity": att.similarity,
                "added": obs.now,
            },
        )
        dev_id = conn.execute(
            select(stories.c.development_id).where(stories.c.id == att.story_id)
        ).scalar()
        if not added or dev_id is None:
            continue
        current = conn.execute(
            select(developments.c.outlets).where(developments.c.id == dev_id)
        ).scalar()
        outlets = json.loads(current or "[]")
        if obs.observation.source not in outlets:
            outlets.append(obs.observation.source)
            conn.execute(
                update(developments)
                .where(developments.c.id == dev_id)
                .values(outlets=json.dumps(outlets))
            )
