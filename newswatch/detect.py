"""Decides what on a fetched article or page is a new development, against what the store knew."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from newswatch.matching import CompiledTopic, evidence_sentences, match_topics
from newswatch.models import Development, Match
from parsers.text import paragraph_key

MAX_UPDATE_PARAGRAPHS = 5
MAX_STORY_SENTENCES = 3


@dataclass(frozen=True, slots=True)
class Observation:
    """One fetched article or live page, as the pipeline hands it to detection."""

    source: str
    url: str
    kind: str  # article | page
    title: str
    paragraphs: tuple[str, ...]
    published: datetime | None = None
    updated: datetime | None = None
    canonical_url: str | None = None
    language: str | None = None
    authors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Known:
    """What the store knew about the URL before this fetch."""

    exists: bool = False
    topics: frozenset[str] = frozenset()
    paragraph_keys: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Detection:
    matches: tuple[Match, ...]
    developments: tuple[Development, ...]
    new_paragraphs: tuple[tuple[str, str], ...]  # (key, text) never seen on this URL
    content_hash: str


def key_of(paragraph: str) -> str:
    """Short stable hash of a paragraph's normalised text (what "seen before" compares)."""
    return hashlib.sha1(paragraph_key(paragraph).encode("utf-8")).hexdigest()[:20]


def content_hash(title: str, paragraphs: Sequence[str]) -> str:
    h = hashlib.sha256(title.encode("utf-8"))
    for p in paragraphs:
        h.update(b"\0" + p.encode("utf-8"))
    return h.hexdigest()


def detect(
    obs: Observation, known: Known, topics: Sequence[CompiledTopic], now: datetime
) -> Detection:
    """Match topics and turn what is new on the page into developments (not yet deduplicated).

    A topic an article never matched before gives a new story; a topic it matched before (or
    any topic on a known live page) gives an update carrying only evidence paragraphs never
    seen on this URL in any earlier version.
    """
    new_paragraphs = tuple(
        {
            k: p for p in obs.paragraphs if (k := key_of(p)) not in known.paragraph_keys
        }.items()
    )
    by_name = {t.name: t for t in topics}
    matches = tuple(match_topics(topics, obs.title, obs.paragraphs))
    devs: list[Development] = []
    for m in matches:
        # A live page already watched only ever gains text: what is new on it is an update,
        # also for a topic it never matched before. An article matching a topic anew is a story.
        if m.topic not in known.topics and not (obs.kind == "page" and known.exists):
            devs.append(_new_story(obs, m, by_name[m.topic], now))
            continue
        fresh = [
            p for p in m.evidence if p in obs.paragraphs and key_of(p) not in known.paragraph_keys
        ]
        if fresh:
            devs.append(_update(obs, m, fresh, now))
    return Detection(
        matches, tuple(devs), new_paragraphs, content_hash(obs.title, obs.paragraphs)
    )


def _reason(obs: Observation, m: Match, kind: str, **extra: object) -> dict[str, object]:
    return {
        "kind": kind,
        "topic": m.topic,
        "terms": list(m.terms),
        "sources": [obs.source],
        "nearest": None,
        "similarity": None,
        **extra,
    }


def _new_story(obs: Observation, m: Match, topic: CompiledTopic, now: datetime) -> Development:
    body = [p for p in m.evidence if p in obs.paragraphs] or list(obs.paragraphs[:1])
    sentences = evidence_sentences(topic, body, limit=MAX_STORY_SENTENCES) or body[:1]
    return Development(
        fingerprint=_fingerprint("new_story", m.topic, obs.url),
        kind="new_story",
        topic=m.topic,
        source=obs.source,
        url=obs.url,
        title=obs.title,
        text=tuple(sentences),
        published=obs.published,
        detected=now,
        terms=m.terms,
        outlets=(obs.source,),
        reason=_reason(obs, m, "new_story", evidence_paragraphs=len(m.evidence)),
    )


def _update(obs: Observation, m: Match, fresh: list[str], now: datetime) -> Development:
    fresh_keys = sorted(key_of(p) for p in fresh)
    return Development(
        fingerprint=_fingerprint("update", m.topic, obs.url, *fresh_keys),
        kind="update",
        topic=m.topic,
        source=obs.source,
        url=obs.url,
        title=obs.title,
        text=tuple(fresh[:MAX_UPDATE_PARAGRAPHS]),
        published=obs.updated or obs.published,
        detected=now,
        terms=m.terms,
        outlets=(obs.source,),
        reason=_reason(obs, m, "update", new_paragraphs=len(fresh)),
    )


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()
