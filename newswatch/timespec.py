"""Durations ("10m", "3d") and digest schedules ("hourly", "daily 08:00", cron), all in UTC."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from cronsim import CronSim, CronSimError

from newswatch.errors import ConfigError

_DURATION = re.compile(r"(?:\d+(?:\.\d+)? ?[smhd] ?)+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?) ?([smhd])")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DAILY = re.compile(r"daily (\d{1,2}):(\d{2})")
_CRON_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)


class DurationError(ConfigError, ValueError):
    """A bad duration: a ConfigError for the CLI (exit 2), a ValueError for argparse ``type=``."""


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
