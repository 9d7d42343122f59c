"""`newswatch status`: each source's health and the channels waiting for retry, as data and text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from newswatch.models import Config, SourceHealth
from newswatch.store import Store


def status_table(config: Config, store: Store) -> dict[str, Any]:
    """What `status --json` prints: one entry per configured source, then waiting channels."""
    known = {s.name: s for s in store.health.states([s.name for s in config.sources])}
    sources = [_source(known.get(s.name) or SourceHealth(s.name)) for s in config.sources]
    channels = [
        {
            "channel": channel,
            "mode": mode,
            "waiting": count,
            "next_try": _iso(next_try),
            "last_error": error,
        }
        for channel, mode, count, next_try, error in store.channels_waiting()
    ]
    return {"store": store.name, "sources": sources, "channels_waiting": channels}


def _source(h: SourceHealth) -> dict[str, Any]:
    return {
        "source": h.name,
        "last_success": _iso(h.last_ok_at),
        "failures_in_a_row": h.failures,
        "last_error": h.last_error,
        "last_new_item": _iso(h.last_new_at),
        "last_development": _iso(h.last_development_at),
        "alarm": h.alarm,
        "alarm_since": _iso(h.alarm_at),
        "last_run": _iso(h.last_run_at),
    }


def status_lines(table: dict[str, Any]) -> list[str]:
    """The table as one line per source, then one per waiting channel."""
    lines = []
    for s in table["sources"]:
        if s["last_run"] is None:
            lines.append(f"{s['source']}: never run")
            continue
        line = (
            f"{s['source']}: last success {_short(s['last_success'])}; "
            f"{s['failures_in_a_row']} failure(s) in a row; "
            f"last new item {_short(s['last_new_item'])}; "
            f"last development {_short(s['last_development'])}"
        )
        if s["alarm"]:
            line += f"; ALARM: {s['alarm']} since {_short(s['alarm_since'])}"
        if s["failures_in_a_row"] and s["last_error"]:
            line += f"; last error: {s['last_error']}"
        lines.append(line)
    waiting = table["channels_waiting"]
    if not waiting:
        lines.append("channels: none waiting for retry")
    for c in waiting:
        lines.append(
            f"channel {c['channel']} ({c['mode']}): {c['waiting']} waiting for retry, next try "
            f"{_short(c['next_try'])}; last error: {c['last_error'] or 'unknown'}"
        )
    return lines


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _short(iso: str | None) -> str:
    return "never" if iso is None else iso[:16].replace("T", " ") + " UTC"
