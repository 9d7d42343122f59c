"""Is a source failing or silent, or has it recovered? Pure decisions over its stored state.

A source that failed `alarm_after` cycles in a row is *failing*; one with no new item for
`silent_after` is *silent*. Either raises one alarm; the condition clearing (a good cycle, a new
item) sends one recovery notice. One alarm per source at a time, so a source never alarms twice
for one episode.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from newswatch.models import FetchSettings, HealthChange, SourceHealth
from newswatch.redact import format_duration


def assess(state: SourceHealth, settings: FetchSettings, now: datetime) -> HealthChange | None:
    """The alarm or recovery this source's state calls for now, or None."""
    if state.alarm == "failing" and state.failures == 0:
        return _recovery(state, "failing", "is fetched again")
    if state.alarm == "silent" and _new_since(state, state.alarm_at):
        return _recovery(state, "silent", "has new items again")
    if state.alarm is not None:
        return None
    if settings.alarm_after and state.failures >= settings.alarm_after:
        return HealthChange(
            state.name,
            "alarm",
            "failing",
            f"[health] {state.name} is failing",
            f"{state.name} failed {state.failures} cycle(s) in a row. "
            f"Last error: {state.last_error or 'unknown'}. "
            f"Last success: {_when(state.last_ok_at)}.",
        )
    quiet_since = state.last_new_at or state.baselined_at
    if (
        settings.silent_after
        and state.failures == 0
        and quiet_since is not None
        and now - quiet_since >= timedelta(seconds=settings.silent_after)
    ):
        return HealthChange(
            state.name,
            "alarm",
            "silent",
            f"[health] {state.name} is silent",
            f"{state.name} has listed no new item for {format_duration(settings.silent_after)} "
            f"or more (last new item: {_when(state.last_new_at)}); it is fetched without errors.",
        )
    return None


def _new_since(state: SourceHealth, when: datetime | None) -> bool:
    return bool(state.last_new_at and when and state.last_new_at > when)


def _recovery(state: SourceHealth, alarm: str, what: str) -> HealthChange:
    return HealthChange(
        state.name,
        "recovery",
        "failing" if alarm == "failing" else "silent",
        f"[health] {state.name} recovered",
        f"{state.name} {what} (alarm raised {_when(state.alarm_at)}).",
    )


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "never"
