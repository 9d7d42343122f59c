"""Run reports: what each source did, what was found, what was sent; as text, dict and Markdown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from newswatch.models import ChannelResult, Development, RunKind, SourceKind
from newswatch.render import md_escape, safe_link

MAX_ITEM_ERRORS = 20


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

    def fail(self, exc: Exception) -> None:
        self.ok = False
        self.error = f"{exc.__class__.__name__}: {exc}"

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

    def summary(self) -> str:
        sent = sum(c.sent for c in self.deliveries)
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
                    "developments": [d.fingerprint for d in s.developments],
                }
                for s in self.sources
            ],
            "deliveries": [
                {
                    "channel": c.channel,
                    "mode": c.mode,
                    "sent": c.sent,
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


def _cell(text: str) -> str:
    return md_escape(text, 300)
