"""Subscriptions → a `sources:` YAML block for the config, with unique, readable names."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from urllib.parse import urlsplit

from newswatch.errors import ParseError
from newswatch.models import Subscription
from parsers.opml import parse_opml

MAX_NAME = 60
MAX_OPML_BYTES = 20_000_000
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """Lower-case words joined by dashes: "BBC News - Évian" → "bbc-news-evian"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")[:MAX_NAME].rstrip("-")


def unique_names(subs: Sequence[Subscription]) -> list[str]:
    """A name per subscription from its title (else its host); repeats get -2, -3, …"""
    taken: set[str] = set()
    names = []
    for sub in subs:
        base = slug(sub.title) or slug(urlsplit(sub.url).hostname or "") or "feed"
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(name)
        names.append(name)
    return names


def _quoted(value: str) -> str:
    """A YAML double-quoted scalar; `${` doubled so the config loader does not expand it."""
    return json.dumps(value.replace("${", "$${"))


def _comment(sub: Subscription) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in sub.title)[:120].strip()
    folder = "".join(ch if ch.isprintable() else " " for ch in sub.folder)[:120].strip()
    where = f" (in {folder})" if folder else ""
    return f"  # {text}{where}\n" if text or where else ""


def sources_yaml(subs: Sequence[Subscription]) -> str:
    """The `sources:` block to paste into a config (comments carry titles and folders)."""
    lines = ["sources:\n"]
    for sub, name in zip(subs, unique_names(subs), strict=True):
        lines.append(_comment(sub))
        lines.append(f"  - name: {_quoted(name)}\n    feed: {_quoted(sub.url)}\n")
    return "".join(lines)


def read_subscriptions(path: str) -> tuple[list[Subscription], list[str]]:
    """The feeds of the OPML file at `path` and what was skipped; ParseError names the file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_OPML_BYTES + 1)
    except OSError as exc:
        raise ParseError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_OPML_BYTES:
        raise ParseError(f"{path}: larger than {MAX_OPML_BYTES} bytes")
    subs, skipped = parse_opml(data, path)
    if not subs:
        raise ParseError(f"{path}: no feeds in it (no outline has an xmlUrl)")
    return subs, skipped
