"""Rewrites the Atom files in `feeds_dir` after a run: all.atom and one per topic, atomically."""

from __future__ import annotations

import os
import re
import tempfile
from datetime import datetime
from pathlib import Path

from newswatch.atom import atom_feed
from newswatch.errors import NewswatchError
from newswatch.models import Config
from newswatch.store import Store

MAX_ENTRIES = 100
ALL = "all"
_UNSAFE_NAME = re.compile(r"[^\w.-]+")


def feed_file(topic: str) -> str:
    """The file name of a topic's feed: the name made safe; `topic-all` for a topic named all."""
    name = _UNSAFE_NAME.sub("-", topic).strip(".-") or "topic"
    return f"topic-{name}.atom" if name == ALL else f"{name}.atom"


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so a reader sees the old file or the new, never half of one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # served to readers: not private like mkstemp's default
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_feeds(store: Store, config: Config, now: datetime) -> None:
    """Rewrite every feed file from the store; raises OSError or NewswatchError on failure."""
    assert config.feeds_dir is not None
    folder = Path(config.feeds_dir)
    folder.mkdir(parents=True, exist_ok=True)
    latest = store.recent_developments(limit=MAX_ENTRIES)
    write_atomically(folder / f"{ALL}.atom", atom_feed(latest, ALL, "newswatch: all topics", now))
    for topic in config.topics:
        devs = store.recent_developments(topics=[topic.name], limit=MAX_ENTRIES)
        feed = atom_feed(devs, f"topic:{topic.name}", f"newswatch: {topic.name}", now)
        write_atomically(folder / feed_file(topic.name), feed)


def update_feeds(store: Store, config: Config, now: datetime) -> str | None:
    """Rewrite the feeds when `feeds_dir` is set; a failure is returned as a message, not raised.

    The store stays the source of truth: nothing is lost, and the next run writes the files
    again from it.
    """
    if not config.feeds_dir:
        return None
    try:
        write_feeds(store, config, now)
    except OSError as exc:
        problem = exc.strerror or str(exc)
        where = exc.filename or config.feeds_dir
        return f"feeds_dir {config.feeds_dir}: cannot write {where}: {problem}"
    except NewswatchError as exc:
        return f"feeds_dir {config.feeds_dir}: not rewritten: {exc}"
    return None
