"""Times a user writes: durations ("10m"), moments ("2022-02-28", "7d"), digest schedules; UTC."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from cronsim import CronSim, CronSimError

from newswatch.errors import ConfigError, DurationError, UsageError

_DURATION = re.compile(r"(?:\d+(?:\.\d+)? ?[smhd] ?)+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?) ?([smhd])")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DAILY = re.compile(r"daily (\d{1,2}):(\d{2})")
_CRON_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)


def parse_duration(value: object) -> float:
    """Seconds from ``30s``, ``10m``, ``24h``, ``3d``, ``1h30m`` or a plain number of seconds.

    Raises DurationError for negatives and garbage.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise DurationError(f"not a duration: {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            seconds = float(text)
        elif _DURATION.fullmatch(text):
            seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text))
        else:
            raise DurationError(f"not a duration: {value!r} (use 30s, 10m, 24h, 3d or seconds)")
    else:
        seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise DurationError(f"not a duration: {value!r} (must be zero or more seconds)")
    return seconds


def parse_digest(value: str) -> str:
    """The normalised digest spec; ValueError unless hourly, daily HH:MM or 5-field cron."""
    text = " ".join(value.split())
    if text.lower() == "hourly":
        return "hourly"
    daily = _DAILY.fullmatch(text.lower())
    if daily:
        hour, minute = int(daily.group(1)), int(daily.group(2))
        if hour < 24 and minute < 60:
            return f"daily {hour:02d}:{minute:02d}"
        raise ValueError(f"{text!r} is not a time of day (daily HH:MM, 24-hour clock, UTC)")
    if len(text.split()) == 5:
        try:
            CronSim(text, _CRON_ORIGIN)
        except (CronSimError, ValueError, IndexError, KeyError) as exc:
            raise ValueError(f"{text!r} is not a valid cron expression: {exc}") from None
        return text
    raise ValueError(f"{text!r}: use hourly, daily HH:MM (UTC) or a 5-field cron expression")


def digest_cron(spec: str) -> str:
    """The 5-field cron expression (UTC) for a spec returned by :func:`parse_digest`."""
    if spec == "hourly":
        return "0 * * * *"
    if spec.startswith("daily "):
        hour, minute = spec[6:].split(":")
        return f"{int(minute)} {int(hour)} * * *"
    return spec


def digest_due_at(spec: str | None, after: datetime) -> datetime:
    """When a digest collected at `after` is due: the schedule's next time (UTC) after it."""
    if not spec:
        return after
    start = after.astimezone(UTC).replace(second=0, microsecond=0)
    return next(CronSim(digest_cron(spec), start))


def parse_when(value: str, now: datetime | None = None) -> datetime:
    """ISO 8601 date or datetime (UTC when no offset) or a relative age like `7d`, `12h`."""
    now = now or datetime.now(UTC)
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?\s*[smhd]", text):
        try:
            return now - timedelta(seconds=parse_duration(text))
        except ConfigError as exc:
            raise UsageError(f"bad time {value!r}: {exc.problem}") from exc
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(
            f"bad time {value!r}: use an ISO 8601 date or datetime (2022-02-28, "
            "2022-02-28T14:00) or a relative age (7d, 12h)"
        ) from exc
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def parse_window(
    since: str, until: str | None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """A backfill window: `until` defaults to now, and a bare date there means its whole day."""
    now = now or datetime.now(UTC)
    start = parse_when(since, now)
    end = now
    if until is not None and until.strip():
        end = parse_when(until, now)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", until.strip()):
            end += timedelta(days=1) - timedelta(microseconds=1)
    if start > end:
        raise UsageError(f"backfill: since {since!r} is after until {until or 'now'!r}")
    return start, end
