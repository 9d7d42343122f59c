"""Finding known stories by LSH band, and re-checking under a lock before a new one is recorded."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, func, select, text, union_all

from newswatch.models import Attachment, NewStory, StoredStory
from newswatch.schema import stories, story_bands, story_paragraphs
from newswatch.similarity import (
    MIN_SHARED_PARAGRAPHS,
    shares_enough,
    signature_from_bytes,
    story_likeness,
)


@lru_cache(maxsize=8)
def _candidates_statement(bands: int) -> Select[Any]:
    """One statement for all bands (built once per band count): each arm is an index search.

    A single `(band, key) IN (...)` would let SQLite search on the topic alone and read the
    topic's whole index range; a UNION ALL of equality arms stays flat as history grows.
    """
    arms = [
        select(story_bands.c.story_id).where(
            and_(
                story_bands.c.topic == bindparam("topic"),
                story_bands.c.band == bindparam(f"b{i}"),
                story_bands.c.key == bindparam(f"k{i}"),
            )
        )
        for i in range(bands)
    ]
    ids = union_all(*arms).subquery()
    return select(stories).where(stories.c.id.in_(select(ids.c.story_id)))


def find_candidates(
    conn: Connection, topic: str, bands: Sequence[tuple[int, int]]
) -> list[StoredStory]:
    """Stories of `topic` sharing at least one (band, key) with a signature."""
    if not bands:
        return []
    params: dict[str, Any] = {"topic": topic}
    for i, (band, key) in enumerate(bands):
        params[f"b{i}"], params[f"k{i}"] = band, key
    rows = conn.execute(_candidates_statement(len(bands)), params).all()
    return [
        StoredStory(r.id, r.topic, r.url, r.title, r.signature, r.development_id, r.size)
        for r in rows
    ]


def sharing_paragraphs(
    conn: Connection, topic: str, keys: Sequence[str]
) -> list[tuple[StoredStory, int]]:
    """Known stories of `topic` with evidence paragraphs equal to some of `keys`, with counts."""
    wanted = sorted(set(keys))
    if len(wanted) < MIN_SHARED_PARAGRAPHS:
        return []
    counts: dict[int, int] = dict(
        conn.execute(
            select(story_paragraphs.c.story_id, func.count())
            .where(story_paragraphs.c.topic == topic)
            .where(story_paragraphs.c.key.in_(wanted))
            .group_by(story_paragraphs.c.story_id)
            .having(func.count() >= MIN_SHARED_PARAGRAPHS)
        ).all()
    )
    if not counts:
        return []
    rows = conn.execute(select(stories).where(stories.c.id.in_(counts))).all()
    return [
        (
            StoredStory(r.id, r.topic, r.url, r.title, r.signature, r.development_id, r.size),
            int(counts[r.id]),
        )
        for r in rows
    ]


def late_duplicates(conn: Connection, new: Sequence[NewStory]) -> dict[str, Attachment]:
    """New stories that another cycle recorded meanwhile, by development fingerprint.

    Detection looked for known stories before this transaction; a cycle running at the same
    time (another worker, another process) may have recorded a copy of the same story since.
    Checked again here, under a per-topic lock on PostgreSQL (SQLite write transactions are
    already exclusive), so two copies detected at once still make one story and one alert.
    """
    found: dict[str, Attachment] = {}
    for story in new:
        if story.fingerprint is None:
            continue
        if conn.dialect.name == "postgresql":
            conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                {"k": f"newswatch-story:{story.topic}"},
            )
        sig = signature_from_bytes(story.signature)
        best = max(
            (
                (story_likeness(sig, story.size, signature_from_bytes(c.signature), c.size), c.id)
                for c in find_candidates(conn, story.topic, story.bands)
            ),
            default=((False, 0.0), 0),
        )
        (same, score), story_id = best
        if same:
            found[story.fingerprint] = Attachment(story_id, round(score, 3))
            continue
        for other, shared in sharing_paragraphs(conn, story.topic, story.keys):
            if shares_enough(shared, story.keys):
                found[story.fingerprint] = Attachment(other.id, round(score, 3))
                break
    return found
