"""Reads developments back out of the store for export: newest first, with every outlet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection, select

from newswatch.models import Development
from newswatch.store.outbox import development_from_row
from newswatch.store.schema import developments, stories, story_sources

_IN_CHUNK = 500  # ids per IN (...) list: well under every database's parameter limit


def recent_developments(
    conn: Connection,
    since: datetime | None = None,
    topics: Sequence[str] = (),
    limit: int | None = None,
) -> list[Development]:
    """Developments detected at or after `since` (all when None), newest first.

    Only those of `topics` when some are given. Each carries every outlet known to carry its
    story now, as an alert sent at this moment would.
    """
    query = select(developments).order_by(developments.c.detected.desc(), developments.c.id.desc())
    if since is not None:
        query = query.where(developments.c.detected >= since)
    if topics:
        query = query.where(developments.c.topic.in_(list(topics)))
    if limit is not None:
        query = query.limit(limit)
    rows = conn.execute(query).all()
    carriers = _carriers(conn, [r.id for r in rows])
    return [_with_carriers(development_from_row(r), carriers.get(r.id, [])) for r in rows]


def _carriers(conn: Connection, ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """(source, url) of every outlet article attached to the stories these developments began."""
    found: dict[int, list[tuple[str, str]]] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        rows = conn.execute(
            select(stories.c.development_id, story_sources.c.source, story_sources.c.url)
            .join(stories, stories.c.id == story_sources.c.story_id)
            .where(stories.c.development_id.in_(ids[start : start + _IN_CHUNK]))
            .order_by(story_sources.c.added, story_sources.c.source)
        ).all()
        for dev_id, source, url in rows:
            found.setdefault(dev_id, []).append((source, url))
    return found


def _with_carriers(dev: Development, carriers: list[tuple[str, str]]) -> Development:
    others = [(source, url) for source, url in carriers if url != dev.url]
    if not others:
        return dev
    names = tuple(dict.fromkeys((*dev.outlets, *(source for source, _ in others))))
    return replace(dev, outlets=names, links=tuple(others))
