"""Run reports: what each source did, what was found, what was sent; as text, dict and Markdown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from newswatch.models import ChannelResult, Development, RunKind, SourceKind
from newswatch.render import md_escape, safe_link

MAX_ITEM_ERRORS = 20
PARTIAL = "Completed with failures"  # the state name of a run where some sources/channels failed

Level = Literal["ok", "partial", "failed"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """How a run went, in one word and one line: what a Prefect state and an exit code say."""

    level: Level
    message: str


@dataclass
class SourceReport:
    source: str
    kind: SourceKind
    baseline: bool = False
    ok: bool = True
    error: str | None = None
    items: int = 0
    fetched: int = 0
    not_modified: int = 0
    skipped_old: int = 0
    item_errors: list[str] = field(default_factory=list)
    developments: list[Development] = field(default_factory=list)
    store_failed: bool = False  # the error was the store's, not the source's
    new_items: int = 0  # listed items (or page versions) never seen before, fetched this cycle
    left: int = 0  # items the budget left for the next cycle
    budget_spent: bool = False
    seconds: float = 0.0  # how long the source's pass took

    def fail(self, exc: Exception) -> None:
        self.ok = False
        self.error = f"{exc.__class__.__name__}: {exc}"

    def store_failure(self, exc: Exception) -> None:
        self.fail(exc)
        self.store_failed = True

    def item_failed(self, url: str, exc: Exception) -> None:
        if len(self.item_errors) < MAX_ITEM_ERRORS:
            self.item_errors.append(f"{url}: {exc.__class__.__name__}: {exc}")

    def add_developments(self, devs: tuple[Development, ...] | list[Development]) -> None:
        self.developments.extend(devs)

    def line(self) -> str:
        if not self.ok:
            return f"{self.source}: FAILED {self.error}"
        parts = [f"{self.items} listed", f"{self.fetched} fetched"]
        if self.not_modified:
            parts.append(f"{self.not_modified} unchanged")
        if self.skipped_old:
            parts.append(f"{self.skipped_old} older than max_age")
        if self.item_errors:
            parts.append(f"{len(self.item_errors)} item errors")
        if self.budget_spent:
            parts.append(f"budget spent, {self.left} item(s) left for the next cycle")
        found = (
            "baseline recorded, no alerts"
            if self.baseline
            else (f"{len(self.developments)} development(s)")
        )
        return f"{self.source}: {', '.join(parts)}; {found}"


@dataclass
class RunReport:
    kind: RunKind
    started: datetime
    finished: datetime | None = None
    note: str = ""
    run_id: int | None = None  # the store's record of this run (None: a dry check)
    sources: list[SourceReport] = field(default_factory=list)
    deliveries: list[ChannelResult] = field(default_factory=list)
    store_error: str | None = None  # the store failed outside any one source (e.g. delivery)
    store: str = ""  # the store's name (URL without password), for messages
    health: list[str] = field(default_factory=list)  # alarms raised and recoveries announced

    feeds_error: str | None = None  # feeds_dir could not be rewritten (the store has it all)

    @property
    def developments(self) -> list[Development]:
        return [d for s in self.sources for d in s.developments]

    @property
    def failed_sources(self) -> list[SourceReport]:
        return [s for s in self.sources if not s.ok]

    @property
    def failed_channels(self) -> list[ChannelResult]:
        return [c for c in self.deliveries if c.error]

    @property
    def messages_sent(self) -> int:
        """Messages the channels accepted (a digest of five developments is one message)."""
        return sum(len(c.messages) for c in self.deliveries)

    @property
    def store_failure(self) -> str | None:
        """Why the store failed in this run, or None."""
        if self.store_error:
            return self.store_error
        return next((s.error for s in self.sources if s.store_failed), None)

    def verdict(self) -> Verdict:
        """failed: the store failed, or every source did; partial: some source or channel did."""
        if self.store_failure:
            return Verdict("failed", f"the store failed ({self.store}): {self.store_failure}")
        failed = self.failed_sources
        if self.sources and len(failed) == len(self.sources):
            names = ", ".join(f"{s.source} ({s.error})" for s in failed)
            return Verdict("failed", _cap(f"every source failed: {names}"))
        problems = []
        if failed:
            names = ", ".join(s.source for s in failed)
            problems.append(f"{len(failed)} of {len(self.sources)} source(s) failed: {names}")
        if self.failed_channels:
            names = ", ".join(c.channel for c in self.failed_channels)
            problems.append(f"channel(s) waiting for retry: {names}")
        if problems:
            return Verdict("partial", _cap("; ".join(problems)))
        return Verdict("ok", self.summary())

    def summary(self) -> str:
        sent = self.messages_sent
        failed = sum(c.failed for c in self.deliveries)
        return (
            f"{self.kind}: {len(self.sources)} source(s), {len(self.failed_sources)} failed; "
            f"{len(self.developments)} development(s); {sent} message(s) sent"
            + (f", {failed} waiting for retry" if failed else "")
            + (f"; feeds NOT written: {self.feeds_error}" if self.feeds_error else "")
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat() if self.finished else None,
            "note": self.note,
            "store_error": self.store_failure,
            "health": self.health,
            "feeds_error": self.feeds_error,
            "sources": [
                {
                    "source": s.source,
                    "ok": s.ok,
                    "error": s.error,
                    "baseline": s.baseline,
                    "items": s.items,
                    "fetched": s.fetched,
                    "item_errors": s.item_errors,
                    "new_items": s.new_items,
                    "left_for_next_cycle": s.left,
                    "developments": [d.fingerprint for d in s.developments],
                }
                for s in self.sources
            ],
            "deliveries": [
                {
                    "channel": c.channel,
                    "mode": c.mode,
                    "sent": c.sent,
                    "messages": len(c.messages),
                    "failed": c.failed,
                    "error": c.error,
                }
                for c in self.deliveries
            ],
        }

    def to_markdown(self) -> str:
        """The Prefect artifact: developments found and sources or channels that failed."""
        out = [f"# newswatch {self.kind}", "", self.summary(), ""]
        if self.developments:
            out += ["| topic | kind | title | source | why |", "|---|---|---|---|---|"]
            out += [
                f"| {_cell(d.topic)} | {d.kind} | [{_cell(d.title)}]({safe_link(d.url)}) | "
                f"{_cell(d.source)} | {_cell(', '.join(d.terms))} |"
                for d in self.developments
            ]
        if self.failed_sources:
            out += ["", "## Failed sources", "", "| source | error |", "|---|---|"]
            out += [f"| {_cell(s.source)} | {_cell(s.error or '')} |" for s in self.failed_sources]
        if self.failed_channels:
            out += ["", "## Channels waiting for retry", "", "| channel | error |", "|---|---|"]
            out += [
                f"| {_cell(c.channel)} | {_cell(c.error or '')} |" for c in self.failed_channels
            ]
        return "\n".join(out) + "\n"


def _cap(text: str, limit: int = 1500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell(text: str) -> str:
    return md_escape(text, 300)
