"""The store's tables (SQLAlchemy Core); the migrations in store/migrations produce these."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite (naive storage) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = UTCDateTime()

# One row per configured source: whether its baseline cycle is done, and how it last went.
source_state = Table(
    "source_state",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("baselined_at", TS, nullable=True),
    Column("last_run_at", TS, nullable=True),
    Column("last_ok_at", TS, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("last_new_at", TS, nullable=True),  # last cycle that found an item never seen before
    Column("last_development_at", TS, nullable=True),
    Column("alarm", String(20), nullable=True),  # failing | silent: raised, not yet recovered
    Column("alarm_at", TS, nullable=True),
)

# Health alarms and recovery notices, one row per (source, channel, notice, alarm episode):
# durable like alerts, and the unique key means one episode never notifies a channel twice.
health_notices = Table(
    "health_notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(200), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("kind", String(20), nullable=False),  # alarm | recovery
    Column("episode", TS, nullable=False),  # when the alarm was raised
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(20), nullable=False, default="pending"),  # pending | sent
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", TS, nullable=False),
    Column("next_attempt_at", TS, nullable=False),
    Column("claimed_until", TS, nullable=True),
    Column("claim_token", String(40), nullable=True),
    Column("sent_at", TS, nullable=True),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("source", "channel", "kind", "episode"),
    Index("ix_health_notices_channel_status_next", "channel", "status", "next_attempt_at"),
)

# ETag / Last-Modified per URL, for conditional requests on the next fetch.
http_validators = Table(
    "http_validators",
    metadata,
    Column("url", String(2048), primary_key=True),
    Column("etag", String(1024), nullable=True),
    Column("last_modified", String(200), nullable=True),
    Column("updated_at", TS, nullable=False),
)

# One row per article or live page URL, whatever number of sources list it.
articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", String(2048), nullable=False, unique=True),
    Column("source", String(200), nullable=False),
    Column("kind", String(20), nullable=False),  # article | page
    Column("title", Text, nullable=False, default=""),
    Column("canonical_url", String(2048), nullable=True),
    Column("language", String(40), nullable=True),
    Column("authors", Text, nullable=False, default="[]"),  # JSON list
    Column("published", TS, nullable=True),
    Column("updated", TS, nullable=True),
    Column("first_seen", TS, nullable=False),
    Column("last_checked", TS, nullable=True),
    Column("last_changed", TS, nullable=True),
    Column("content_hash", String(64), nullable=True),
    Column("history", Integer, nullable=False, default=0),  # 1: older than max_age when found
    Index("ix_articles_source_first_seen", "source", "first_seen"),
)

# Each distinct content an article had (title + paragraphs), for audit and re-detection.
article_versions = Table(
    "article_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("seen_at", TS, nullable=False),
    Column("title", Text, nullable=False, default=""),
    Column("body", Text, nullable=False, default=""),
    UniqueConstraint("article_id", "content_hash"),
)

# Every paragraph ever seen on a URL (by normalised-text hash): "new text" means new to this set.
paragraphs = Table(
    "paragraphs",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(40), primary_key=True),
    Column("first_seen", TS, nullable=False),
    Column("text", Text, nullable=True),  # kept so cosmetic edits can be told from new text
)

# Which topics an article has matched: the first match of a topic is what makes a new story.
topic_matches = Table(
    "topic_matches",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("topic", String(200), primary_key=True),
    Column("first_matched", TS, nullable=False),
)

# A development is recorded once, whatever the number of runs that find it (unique fingerprint).
developments = Table(
    "developments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("source", String(200), nullable=False),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="SET NULL"), nullable=True),
    Column("url", String(2048), nullable=False),
    Column("title", Text, nullable=False, default=""),
    Column("text", Text, nullable=False, default="[]"),  # JSON list of sentences/paragraphs
    Column("published", TS, nullable=True),
    Column("detected", TS, nullable=False),
    Column("terms", Text, nullable=False, default="[]"),
    Column("outlets", Text, nullable=False, default="[]"),
    Column("reason", Text, nullable=False, default="{}"),
    Column("run_id", Integer, nullable=True),
    Column("origin", String(20), nullable=False, default="monitor"),  # monitor | backfill
    Index("ix_developments_topic_detected", "topic", "detected"),
)

# The alert outbox: one row per (development, channel); a row leaves only when the channel took it.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "development_id",
        Integer,
        ForeignKey("developments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("channel", String(200), nullable=False),
    Column("mode", String(20), nullable=False),  # instant | digest
    Column("status", String(20), nullable=False, default="pending"),  # pending | sent | dropped
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", TS, nullable=False),
    Column("next_attempt_at", TS, nullable=False),
    Column("claimed_until", TS, nullable=True),
    Column("claim_token", String(40), nullable=True),
    Column("claimed_by", String(255), nullable=True),  # host:pid:start of the claim's holder
    Column("sent_at", TS, nullable=True),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("development_id", "channel"),
    Index("ix_outbox_channel_status_next", "channel", "status", "next_attempt_at"),
)

# A story is what several outlets' articles on one topic have in common; the first one alerted.
stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic", String(200), nullable=False),
    Column("development_id", Integer, ForeignKey("developments.id", ondelete="SET NULL")),
    Column("url", String(2048), nullable=False),
    Column("title", Text, nullable=False, default=""),
    Column("created", TS, nullable=False),
    Column("signature", LargeBinary, nullable=False),  # MinHash of the evidence text
    Column("size", Integer, nullable=True),  # distinct shingles behind the signature
)

# Locality-sensitive hashing bands of each story's signature: a near-duplicate shares a band,
# so finding candidates is an indexed equality lookup, whatever the size of the history.
story_bands = Table(
    "story_bands",
    metadata,
    Column("topic", String(200), primary_key=True),
    Column("band", Integer, primary_key=True),
    Column("key", BigInteger, primary_key=True),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
)

# Normalised-text keys of a story's evidence paragraphs: a trimmed copy that keeps some of them
# word for word is found here even when its whole-text similarity is too low for the bands.
story_paragraphs = Table(
    "story_paragraphs",
    metadata,
    Column("topic", String(200), primary_key=True),
    Column("key", String(40), primary_key=True),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
)

# Every outlet article carrying a story (the first one included).
story_sources = Table(
    "story_sources",
    metadata,
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
    Column("url", String(2048), primary_key=True),
    Column("source", String(200), nullable=False),
    Column("similarity", Float, nullable=True),
    Column("added", TS, nullable=False),
)

# Readings of a topic's measures ("fled: more than 660,000"), in the order they were seen.
figures = Table(
    "figures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic", String(200), nullable=False),
    Column("measure", String(200), nullable=False),
    Column("value", Float, nullable=False),
    Column("qualifier", String(40), nullable=True),
    Column("text", String(200), nullable=False),
    Column("sentence", Text, nullable=False),
    Column("url", String(2048), nullable=False),
    Column("source", String(200), nullable=False),
    Column("seen_at", TS, nullable=False),
    Index("ix_figures_topic_measure_id", "topic", "measure", "id"),
)

# One row per monitor / backfill / digest run, with its report as JSON.
runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("started", TS, nullable=False),
    Column("finished", TS, nullable=True),
    Column("report", Text, nullable=False, default="{}"),
)

# Per-host request slots shared by every process using this store (store/pacing.py): the start
# of the latest slot any process reserved, in seconds since the epoch by the database's clock.
host_pacing = Table(
    "host_pacing",
    metadata,
    Column("host", String(255), primary_key=True),
    Column("last_at", Float, nullable=False),
)
