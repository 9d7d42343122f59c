"""The bundled news day as typed records: steps, stories and live-page entries from newsday.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from newswatch.errors import ConfigError

LIVE_ID = "live"  # how steps, expectations and related links name the live page
COSMETICS = frozenset({"consent-banner", "related-reorder", "typo-fix", "live-truncated"})
KINDS = frozenset({"new_story", "update", "figure"})
OUTLET_KINDS = frozenset({"broadcaster", "wire"})
# The last step is placed this long before the site starts, so no item is ever in the future.
LEAD = timedelta(minutes=2)
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class Outlet:
    """A publisher; a broadcaster offers an RSS feed, a wire a news sitemap and a listing page."""

    key: str
    name: str
    short: str
    language: str
    kind: str  # one of OUTLET_KINDS


@dataclass(frozen=True, slots=True)
class Edit:
    """A paragraph rewritten in place from a later step on."""

    step: int
    index: int
    text: str


@dataclass(frozen=True, slots=True)
class Story:
    id: str
    outlet: str
    step: int  # the first step it is published in
    clock: int  # minutes after midnight on the news-day clock
    slug: str
    section: str
    author: str
    headline: str
    summary: str
    caption: str
    paragraphs: tuple[str, ...]
    related: tuple[str, ...]
    edits: tuple[Edit, ...] = ()

    def paragraphs_at(self, step: int) -> tuple[str, ...]:
        paragraphs = list(self.paragraphs)
        for edit in self.edits:
            if edit.step <= step:
                paragraphs[edit.index] = edit.text
        return tuple(paragraphs)

    def modified_step(self, step: int) -> int:
        """The last step up to `step` at which the text changed."""
        return max([self.step, *(e.step for e in self.edits if e.step <= step)])


@dataclass(frozen=True, slots=True)
class LiveEntry:
    id: str
    step: int
    clock: int
    title: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LiveSpec:
    outlet: str
    slug: str
    title: str
    summary: str
    related: tuple[str, ...]
    entries: tuple[LiveEntry, ...]


@dataclass(frozen=True, slots=True)
class Expectation:
    """A development a correct pipeline reports at a step; `item` is a story id or "live"."""

    topic: str
    kind: str
    item: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Step:
    index: int
    clock: int
    summary: str
    cosmetic: tuple[str, ...] = ()
    expect: tuple[Expectation, ...] = ()


@dataclass(frozen=True, slots=True)
class Timeline:
    """Maps news-day clock minutes onto real time, the last step lying just before `end`."""

    end: datetime
    end_clock: int

    def at(self, clock: int) -> datetime:
        return self.end - timedelta(minutes=self.end_clock - clock)


@dataclass(frozen=True, slots=True)
class NewsDay:
    outlets: tuple[Outlet, ...]
    steps: tuple[Step, ...]
    stories: tuple[Story, ...]
    live: LiveSpec

    def outlet(self, key: str) -> Outlet:
        return next(o for o in self.outlets if o.key == key)

    def story(self, story_id: str) -> Story:
        return next(s for s in self.stories if s.id == story_id)

    def stories_at(self, step: int, outlet: str | None = None) -> list[Story]:
        """Stories published by `step` (of one outlet when given), newest first."""
        chosen = [s for s in self.stories if s.step <= step and outlet in (None, s.outlet)]
        return sorted(chosen, key=lambda s: s.clock, reverse=True)

    def live_entries_at(self, step: int) -> list[LiveEntry]:
        """Live-page entries posted by `step`, newest first as the page shows them."""
        chosen = [e for e in self.live.entries if e.step <= step]
        return sorted(chosen, key=lambda e: e.clock, reverse=True)

    def cosmetic_count(self, name: str, step: int) -> int:
        """How many steps up to `step` made the cosmetic edit `name`."""
        return sum(name in s.cosmetic for s in self.steps[: step + 1])

    def timeline(self, started: datetime) -> Timeline:
        end = started.replace(second=0, microsecond=0) - LEAD
        return Timeline(end=end, end_clock=self.steps[-1].clock)


def clock_text(clock: int) -> str:
    return f"{clock // 60:02d}:{clock % 60:02d}"


@cache
def _bundled() -> NewsDay:
    source = resources.files("newswatch.demo").joinpath("newsday.yaml")
    return _build(yaml.safe_load(source.read_text(encoding="utf-8")), "newswatch/demo/newsday.yaml")


def load_newsday(path: str | Path | None = None) -> NewsDay:
    """The bundled news day, or another one written in the same YAML layout."""
    if path is None:
        return _bundled()
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read news day: {exc}", path=str(path)) from exc
    return _build(raw, str(path))


class _Reader:
    """Typed access to the raw YAML with errors naming the file and the key."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(problem, path=self.path, key=key)

    def map(self, raw: object, key: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise self.fail(key, "expected a mapping")
        return raw

    def list(self, raw: object, key: str) -> list[Any]:
        if not isinstance(raw, list):
            raise self.fail(key, "expected a list")
        return raw

    def text(self, raw: dict[str, Any], name: str, key: str, default: str | None = None) -> str:
        value = raw.get(name, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{key}.{name}", "expected a non-empty string")
        return value.strip()

    def texts(self, raw: dict[str, Any], name: str, key: str) -> tuple[str, ...]:
        values = self.list(raw.get(name, []), f"{key}.{name}")
        if not all(isinstance(v, str) and v.strip() for v in values):
            raise self.fail(f"{key}.{name}", "expected a list of non-empty strings")
        return tuple(v.strip() for v in values)

    def clock(self, raw: dict[str, Any], key: str) -> int:
        match = _CLOCK.match(str(raw.get("clock", "")))
        if not match:
            raise self.fail(f"{key}.clock", "expected HH:MM")
        return int(match[1]) * 60 + int(match[2])

    def step(self, raw: dict[str, Any], key: str, steps: int, earliest: int = 0) -> int:
        value = raw.get("step")
        if not isinstance(value, int) or isinstance(value, bool) or not earliest <= value < steps:
            raise self.fail(f"{key}.step", f"expected a step number from {earliest} to {steps - 1}")
        return value


def _build(raw: object, path: str) -> NewsDay:
    r = _Reader(path)
    top = r.map(raw, "(top)")
    outlets = tuple(
        _outlet(r, key, r.map(value, f"outlets.{key}"))
        for key, value in r.map(top.get("outlets"), "outlets").items()
    )
    steps = _steps(r, r.list(top.get("steps"), "steps"))
    keys = {o.key for o in outlets}
    stories = tuple(
        _story(r, r.map(item, f"stories[{i}]"), f"stories[{i}]", steps, keys)
        for i, item in enumerate(r.list(top.get("stories"), "stories"))
    )
    live = _live(r, r.map(top.get("live"), "live"), steps, keys)
    day = NewsDay(outlets=outlets, steps=steps, stories=stories, live=live)
    _check_references(r, day)
    return day


def _outlet(r: _Reader, key: str, raw: dict[str, Any]) -> Outlet:
    where = f"outlets.{key}"
    kind = r.text(raw, "kind", where)
    if kind not in OUTLET_KINDS:
        raise r.fail(f"{where}.kind", f"expected one of {sorted(OUTLET_KINDS)}")
    language = r.text(raw, "language", where, "en")
    return Outlet(key, r.text(raw, "name", where), r.text(raw, "short", where), language, kind)


def _steps(r: _Reader, raw: list[Any]) -> tuple[Step, ...]:
    steps: list[Step] = []
    for i, item in enumerate(raw):
        key = f"steps[{i}]"
        item = r.map(item, key)
        clock = r.clock(item, key)
        if steps and clock <= steps[-1].clock:
            raise r.fail(f"{key}.clock", "steps must follow one another in time")
        cosmetic = r.texts(item, "cosmetic", key)
        if unknown := set(cosmetic) - COSMETICS:
            raise r.fail(f"{key}.cosmetic", f"unknown cosmetic edits {sorted(unknown)}")
        expect = tuple(
            _expectation(r, r.map(e, f"{key}.expect[{j}]"), f"{key}.expect[{j}]")
            for j, e in enumerate(r.list(item.get("expect", []), f"{key}.expect"))
        )
        steps.append(
            Step(i, clock, " ".join(r.text(item, "summary", key).split()), cosmetic, expect)
        )
    if len(steps) < 2:
        raise r.fail("steps", "a news day needs at least two steps")
    return tuple(steps)


def _expectation(r: _Reader, raw: dict[str, Any], key: str) -> Expectation:
    kind = r.text(raw, "kind", key)
    if kind not in KINDS:
        raise r.fail(f"{key}.kind", f"expected one of {sorted(KINDS)}")
    note = raw.get("note", "")
    return Expectation(r.text(raw, "topic", key), kind, r.text(raw, "item", key), str(note))


def _check_window(r: _Reader, key: str, clock: int, step: int, steps: tuple[Step, ...]) -> None:
    """An item's time must fall inside its step, so that later steps carry newer items."""
    after = steps[step - 1].clock if step else -1
    if not after < clock <= steps[step].clock:
        raise r.fail(f"{key}.clock", f"must fall after step {step - 1} and by step {step}")


def _story(
    r: _Reader, raw: dict[str, Any], key: str, steps: tuple[Step, ...], outlets: set[str]
) -> Story:
    outlet = r.text(raw, "outlet", key)
    if outlet not in outlets:
        raise r.fail(f"{key}.outlet", f"unknown outlet {outlet!r}")
    step, clock = r.step(raw, key, len(steps)), r.clock(raw, key)
    _check_window(r, key, clock, step, steps)
    paragraphs = r.texts(raw, "paragraphs", key)
    edits = []
    for j, e in enumerate(r.list(raw.get("edits", []), f"{key}.edits")):
        ekey = f"{key}.edits[{j}]"
        e = r.map(e, ekey)
        index = e.get("index")
        if not isinstance(index, int) or not 0 <= index < len(paragraphs):
            raise r.fail(f"{ekey}.index", "expected the index of an existing paragraph")
        edits.append(Edit(r.step(e, ekey, len(steps), step + 1), index, r.text(e, "text", ekey)))
    return Story(
        id=r.text(raw, "id", key),
        outlet=outlet,
        step=step,
        clock=clock,
        slug=r.text(raw, "slug", key),
        section=r.text(raw, "section", key),
        author=r.text(raw, "author", key),
        headline=r.text(raw, "headline", key),
        summary=r.text(raw, "summary", key),
        caption=str(raw.get("caption", "")).strip(),
        paragraphs=paragraphs,
        related=r.texts(raw, "related", key),
        edits=tuple(edits),
    )


def _live(r: _Reader, raw: dict[str, Any], steps: tuple[Step, ...], outlets: set[str]) -> LiveSpec:
    entries = []
    for i, item in enumerate(r.list(raw.get("entries"), "live.entries")):
        key = f"live.entries[{i}]"
        item = r.map(item, key)
        step, clock = r.step(item, key, len(steps)), r.clock(item, key)
        _check_window(r, key, clock, step, steps)
        paragraphs = r.texts(item, "paragraphs", key)
        entries.append(
            LiveEntry(r.text(item, "id", key), step, clock, r.text(item, "title", key), paragraphs)
        )
    outlet = r.text(raw, "outlet", "live")
    if outlet not in outlets:
        raise r.fail("live.outlet", f"unknown outlet {outlet!r}")
    return LiveSpec(
        outlet,
        r.text(raw, "slug", "live"),
        r.text(raw, "title", "live"),
        r.text(raw, "summary", "live"),
        r.texts(raw, "related", "live"),
        tuple(entries),
    )


def _check_references(r: _Reader, day: NewsDay) -> None:
    ids = [s.id for s in day.stories]
    if len(set(ids)) != len(ids) or LIVE_ID in ids:
        raise r.fail("stories", f"story ids must be unique and not {LIVE_ID!r}")
    entry_ids = [e.id for e in day.live.entries]
    if len(set(entry_ids)) != len(entry_ids):
        raise r.fail("live.entries", "entry ids must be unique")
    known = {*ids, LIVE_ID}
    for key, related in [("live", day.live.related)] + [
        (f"stories.{s.id}", s.related) for s in day.stories
    ]:
        if missing := set(related) - known:
            raise r.fail(f"{key}.related", f"unknown items {sorted(missing)}")
    for step in day.steps:
        for e in step.expect:
            if e.item not in known:
                raise r.fail(f"steps[{step.index}].expect", f"unknown item {e.item!r}")
