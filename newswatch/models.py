"""Typed records passed between the stages: config objects, parsed documents, developments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

SourceKind = Literal["feed", "page", "sitemap", "listing"]
SOURCE_KINDS: tuple[SourceKind, ...] = ("feed", "page", "sitemap", "listing")
DevelopmentKind = Literal["new_story", "update", "figure"]
NotifyMode = Literal["digest", "none", "instant"]
ItemKind = Literal["article", "page"]  # what an observation is: a listed article or a live page
Origin = Literal["monitor", "backfill", "check"]  # which kind of run saw it
DeliveryMode = Literal["instant", "digest", "backfill", "health"]  # how a message is sent
RunKind = Literal["monitor", "backfill", "digest", "check"]


# --- configuration -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """Per-source fetch and monitoring settings; durations are in seconds."""

    interval: float = 600.0
    timeout: float = 20.0
    per_host_delay: float = 1.0
    max_age: float = 3 * 86400.0
    watch_for: float = 86400.0
    max_bytes: int = 5_000_000
    user_agent: str = "newswatch/0.1 (+https://github.com/newswatch/newswatch)"
    budget: float = 120.0  # the most one source may take in a cycle
    alarm_after: int = 3  # failing cycles in a row before a health alarm (0: never)
    silent_after: float = 2 * 86400.0  # no new item for this long: a health alarm (0: never)


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    kind: SourceKind
    url: str
    settings: FetchSettings
    links: str | None = None  # CSS selector for article links on a listing page


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    any: tuple[str, ...]
    all: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    measures: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (measure name, cue words)


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    url: str  # apprise URL with ${VAR} already expanded: a secret, never print it
    topics: tuple[str, ...]
    digest: str | None = None  # None = instant; "hourly" | "daily HH:MM" | a cron expression
    health: bool = False  # gets source health alarms and recovery notices

    @property
    def is_email(self) -> bool:
        return self.url.split(":", 1)[0].lower() in {"mailto", "mailtos"}


@dataclass(frozen=True, slots=True)
class Config:
    path: str
    store: str
    defaults: FetchSettings
    sources: tuple[Source, ...]
    topics: tuple[Topic, ...]
    channels: tuple[Channel, ...]
    feeds_dir: str | None = None  # Atom feeds of developments rewritten after each run

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(name)


# --- parsed documents (what parsers/ returns) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of an RSS/Atom/JSON feed."""

    url: str  # absolute link to the article
    title: str = ""
    guid: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    summary: str = ""  # plain text


@dataclass(frozen=True, slots=True)
class Feed:
    """A parsed feed: its entries, and the damage it was read through (none when it was whole)."""

    entries: tuple[FeedEntry, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    url: str
    lastmod: datetime | None = None
    title: str = ""  # news:title when present
    published: datetime | None = None  # news:publication_date when present


@dataclass(frozen=True, slots=True)
class Sitemap:
    """A parsed sitemap: page entries, or child sitemaps for a sitemap index."""

    entries: tuple[SitemapEntry, ...] = ()
    sitemaps: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()  # damage it was read through, skipped lines


@dataclass(frozen=True, slots=True)
class ListingLink:
    url: str
    title: str = ""


@dataclass(slots=True)
class Article:
    """An extracted article page (SPEC 8)."""

    title: str = ""
    paragraphs: list[str] = field(default_factory=list)
    published: datetime | None = None
    updated: datetime | None = None
    authors: list[str] = field(default_factory=list)
    language: str | None = None
    canonical_url: str | None = None
    url: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


@dataclass(frozen=True, slots=True)
class PageEntry:
    """One entry of a live page (a timestamped post), or the whole page body when it has none."""

    id: str  # stable anchor/id when the page gives one, else a hash of the entry text
    title: str = ""
    paragraphs: tuple[str, ...] = ()
    published: datetime | None = None


@dataclass(slots=True)
class LivePage:
    title: str = ""
    entries: list[PageEntry] = field(default_factory=list)
    canonical_url: str | None = None
    language: str | None = None
    updated: datetime | None = None

    @property
    def paragraphs(self) -> list[str]:
        return [p for e in self.entries for p in e.paragraphs]


# --- fetching ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Validators:
    """HTTP validators stored per URL for conditional requests."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int
    content: bytes = b""  # decoded (decompressed) body; empty when not modified
    content_type: str = ""
    validators: Validators = Validators()
    not_modified: bool = False
    elapsed: float = 0.0


# --- what a source yields -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    """A link a source lists, with what the source says about it."""

    url: str
    title: str = ""
    published: datetime | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """One fetched article or live page, as the pipeline hands it to detection and the store."""

    source: str
    url: str
    kind: ItemKind
    title: str
    paragraphs: tuple[str, ...]
    published: datetime | None = None
    updated: datetime | None = None
    canonical_url: str | None = None
    language: str | None = None
    authors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Known:
    """What the store knew about a URL before this fetch (one read: `Store.known(url)`)."""

    exists: bool = False
    topics: frozenset[str] = frozenset()
    paragraph_keys: frozenset[str] = frozenset()
    seen: frozenset[int] = frozenset()  # shingles of every paragraph ever seen on the URL
    content_hash: str | None = None  # of the last version stored
    article_id: int | None = None


# --- what the monitor decides --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    """A topic matching an article: the terms that matched and the evidence paragraphs."""

    topic: str
    terms: tuple[str, ...]
    evidence: tuple[str, ...]  # paragraphs (or title) containing an `any` term


@dataclass(frozen=True, slots=True)
class Development:
    """Something a reader did not know: a new story, an update, a figure change."""

    fingerprint: str  # unique key in the store: a re-run cannot record it twice
    kind: DevelopmentKind
    topic: str
    source: str
    url: str
    title: str
    text: tuple[str, ...]  # the sentences/paragraphs to show (new text only for updates)
    published: datetime | None
    detected: datetime
    terms: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()  # every source carrying the story
    reason: dict[str, object] = field(default_factory=dict)  # why it fired, stored as JSON
    links: tuple[tuple[str, str], ...] = ()  # (source, url) of other outlets carrying it


# --- what the store remembers about stories and figures -------------------------------------


@dataclass(frozen=True, slots=True)
class StoredStory:
    id: int
    topic: str
    url: str
    title: str
    signature: bytes
    development_id: int | None
    size: int | None = None  # shingle count; None for stories stored before it was kept


@dataclass(frozen=True, slots=True)
class NewStory:
    """A story started by the development with `fingerprint`, indexed by its LSH bands."""

    fingerprint: str | None  # None: a story known from a baseline, never alerted
    topic: str
    signature: bytes
    bands: tuple[tuple[int, int], ...]
    size: int = 0  # number of distinct shingles the signature summarises
    keys: tuple[str, ...] = ()  # normalised-text keys of its evidence paragraphs


@dataclass(frozen=True, slots=True)
class Attachment:
    """This article is another outlet's copy of a known story."""

    story_id: int
    similarity: float


@dataclass(frozen=True, slots=True)
class FigureReading:
    topic: str
    measure: str
    value: float
    qualifier: str | None
    text: str
    sentence: str
    url: str
    source: str


@dataclass(frozen=True, slots=True)
class History:
    """What the store knows that detection asked for: known stories and figure readings.

    Filled by the store from a detection's `Lookups`; detection itself never queries anything.
    """

    candidates: dict[str, tuple[StoredStory, ...]] = field(default_factory=dict)  # by topic
    sharing: dict[str, tuple[tuple[StoredStory, int], ...]] = field(default_factory=dict)
    figures: dict[tuple[str, str], tuple[FigureReading, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoryProbe:
    """A would-be new story of one topic: how to look for known copies of it."""

    topic: str
    bands: tuple[tuple[int, int], ...]  # (band, key) LSH pairs of its signature
    keys: tuple[str, ...]  # its evidence paragraphs' keys


@dataclass(frozen=True, slots=True)
class Lookups:
    """What detection needs to know: copies of would-be stories, past readings of measures."""

    stories: tuple[StoryProbe, ...] = ()
    measures: tuple[tuple[str, str], ...] = ()  # (topic, measure)


# Is `story` a copy of one of the known stories the store found (by LSH band, by shared whole
# paragraphs)? How to record it on that story if so. newswatch.dedupe.copy_of is the one rule.
SameStory = Callable[
    [NewStory, Sequence[StoredStory], Sequence[tuple[StoredStory, int]]], Attachment | None
]


# --- what the store is handed and hands back ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    """Where a development on one of `topics` goes, and from when it may be sent."""

    channel: str
    mode: DeliveryMode
    topics: frozenset[str]
    not_before: datetime


@dataclass(frozen=True, slots=True)
class SavedObservation:
    """An observation and what detection made of it, as the pipeline hands it to the store."""

    observation: Observation
    content_hash: str
    now: datetime
    history: bool = False  # older than max_age: recorded, never alerted on
    new_paragraphs: tuple[tuple[str, str], ...] = ()  # (key, text) never seen on this URL
    stories: tuple[NewStory, ...] = ()  # stories that developments of this observation start
    attachments: tuple[Attachment, ...] = ()  # known stories this article also carries
    figures: tuple[FigureReading, ...] = ()
    topics: tuple[str, ...] = ()
    developments: tuple[Development, ...] = ()
    routes: tuple[Route, ...] = ()
    run_id: int | None = None
    origin: Origin = "monitor"
    enqueue: bool = True
    # The HTTP validators of the response this came from, (requested URL, validators): kept in
    # the same transaction, so a re-check is answered 304 only about what was stored.
    validators: tuple[str, Validators] | None = None


@dataclass(frozen=True, slots=True)
class StoredArticle:
    id: int
    url: str
    source: str
    kind: ItemKind
    title: str
    published: datetime | None
    first_seen: datetime
    content_hash: str | None
    history: bool


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """An outbox row claimed for sending; `claim_token` proves the claim is still ours."""

    id: int
    development_id: int
    channel: str
    mode: DeliveryMode
    attempts: int
    claim_token: str


@dataclass(slots=True)
class ChannelResult:
    """What one channel did in a run: messages accepted, rows refused, why it is waiting."""

    channel: str
    mode: DeliveryMode
    sent: int = 0  # rows delivered (developments)
    failed: int = 0
    error: str | None = None
    messages: list[str] = field(default_factory=list)  # titles of the messages sent


# --- source health -------------------------------------------------------------------------

AlarmKind = Literal["failing", "silent"]
NoticeKind = Literal["alarm", "recovery"]


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """What the store knows about how a source has been doing (one row of source_state)."""

    name: str
    baselined_at: datetime | None = None
    last_run_at: datetime | None = None
    last_ok_at: datetime | None = None
    last_error: str | None = None
    failures: int = 0  # failing cycles in a row
    last_new_at: datetime | None = None  # last cycle that found an item never seen before
    last_development_at: datetime | None = None
    alarm: AlarmKind | None = None  # the alarm raised and not yet recovered from
    alarm_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HealthChange:
    """An alarm to raise or a recovery to announce for one source, with its message."""

    source: str
    kind: NoticeKind
    alarm: AlarmKind
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class HealthNotice:
    """A claimed health message for one channel; `claim_token` proves the claim is still ours."""

    id: int
    source: str
    channel: str
    title: str
    body: str
    attempts: int
    claim_token: str


# --- subscription lists (OPML) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscription:
    """One feed of an OPML subscription list."""

    url: str
    title: str = ""
    folder: str = ""  # the titles of the outlines it is nested in, joined by " / "
