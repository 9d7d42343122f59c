"""Finding known stories (by LSH band, by shared paragraphs) and figure readings; no decisions.

The store finds candidates; whether one is the same story is :mod:`newswatch.dedupe`'s call,
handed in as `same_story` where the store must re-check under a lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, func, select, text, union_all

from newswatch.models import (
    Attachment,
    FigureReading,
    History,
    Lookups,
    NewStory,
    SameStory,
    StoredStory,
)
from newswatch.store.schema import figures, stories, story_bands, story_paragraphs

# Fewer shared whole paragraphs than this never make two stories one (see newswatch.dedupe), so
# the lookup does not return them.
MIN_SHARED_PARAGRAPHS = 2


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


def history(conn: Connection, lookups: Lookups) -> History:
    """Everything detection asked for, read in one transaction."""
    candidates: dict[str, tuple[StoredStory, ...]] = {}
    sharing: dict[str, tuple[tuple[StoredStory, int], ...]] = {}
    for probe in lookups.stories:
        candidates[probe.topic] = tuple(find_candidates(conn, probe.topic, probe.bands))
        sharing[probe.topic] = tuple(sharing_paragraphs(conn, probe.topic, probe.keys))
    figures = {
        (topic, measure): tuple(figure_history(conn, topic, measure))
        for topic, measure in lookups.measures
    }
    return History(candidates, sharing, figures)


def figure_history(
    conn: Connection, topic: str, measure: str, limit: int = 50
) -> list[FigureReading]:
    """The latest readings of a measure, newest first."""
    rows = conn.execute(
        select(figures)
        .where(figures.c.topic == topic)
        .where(figures.c.measure == measure)
        .order_by(figures.c.id.desc())
        .limit(limit)
    ).all()
    return [
        FigureReading(r.topic, r.measure, r.value, r.qualifier, r.text, r.sentence, r.url, r.source)
        for r in rows
    ]


def late_duplicates(
    conn: Connection, new: Sequence[NewStory], same_story: SameStory
) -> dict[str, Attachment]:
    """New stories that another cycle recorded meanwhile, by development fingerprint.

    Detection looked for known stories before this transaction; a cycle running at the same
    time (another worker, another process) may have recorded a copy of the same story since.
    The candidates are found again here, under a per-topic lock on PostgreSQL (SQLite write
    transactions are already exclusive), and `same_story` (the detection's own rule) decides,
    so two copies detected at once still make one story and one alert.
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
        candidates = find_candidates(conn, story.topic, story.bands)
        sharing = sharing_paragraphs(conn, story.topic, story.keys)
        copy = same_story(story, candidates, sharing)
        if copy is not None:
            found[story.fingerprint] = copy
    return found
